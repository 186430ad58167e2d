"""IFEvalG's first- and last-word types, of the response and of each sentence."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, Semantics, register
from ifrl.constraints.ifeval._common import sample_words
from ifrl.constraints.ifevalg._common import rule_sentences
from ifrl.constraints.ifevalg.keywords import first_of_list
from ifrl.constraints.params import Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_NOT_WORD = re.compile(r"[^\w\s]")
_FIRST = frozenset({"first_word:first_word_sent", "first_word:first_word_answer"})


def _word(name: str) -> Param:
    return Param(name, "str", "the word", sample=lambda rng: sample_words(rng, 1)[0])


def _bare(word: str) -> str:
    """A word without its punctuation (``\\w`` and whitespace kept), lower-cased."""
    return _NOT_WORD.sub("", word.strip()).lower()


class _ListWord(Constraint):
    """Accepts a list for the word kwarg and uses its first item, as the reference does."""

    _word_kwarg: ClassVar[str] = ""

    def __init__(
        self, kwargs: Mapping[str, Any] | None = None, semantics: Semantics = "reference"
    ) -> None:
        super().__init__(first_of_list(kwargs, self._word_kwarg), semantics)


@register
class FirstWordOfSentences(_ListWord):
    """Every IFEvalG sentence's first whitespace-separated word is ``first_word``
    (case-insensitive, punctuation included); an empty sentence fails."""

    id: ClassVar[str] = "first_word:first_word_sent"
    params = (_word("first_word"),)
    conflicts = _FIRST
    phrasings = ("Start every sentence with the word '{first_word}'.",)
    _word_kwarg = "first_word"

    def _check(self, text: Text) -> Verdict:
        want = self.kwargs["first_word"].strip().lower()
        for sentence in rule_sentences(text.raw):
            if not sentence.strip():
                return Verdict.of(False, "an empty sentence")
            if sentence.split()[0].lower() != want:
                return Verdict.of(False, f"a sentence starts {sentence.split()[0]!r}")
        return Verdict.of(True, "every sentence starts with the word")


@register
class FirstWordOfAnswer(Constraint):
    """The response's first whitespace-separated word is ``first_word`` (case-insensitive,
    punctuation included)."""

    id: ClassVar[str] = "first_word:first_word_answer"
    params = (_word("first_word"),)
    conflicts = _FIRST
    phrasings = ("The very first word of your answer must be '{first_word}'.",)

    def _check(self, text: Text) -> Verdict:
        first = text.raw.split()[0]
        ok = first.lower() == self.kwargs["first_word"].strip().lower()
        return Verdict.of(ok, f"first word {first!r}")


@register
class LastWordOfSentences(_ListWord):
    """Every IFEvalG sentence's last whitespace-separated word, without punctuation, is
    ``last_word`` (case-insensitive); an empty sentence fails."""

    id: ClassVar[str] = "last_word:last_word_sent"
    params = (_word("last_word"),)
    conflicts = frozenset({"last_word:last_word_sent"})
    phrasings = ("End every sentence with the word '{last_word}' (before its punctuation).",)
    _word_kwarg = "last_word"

    def _check(self, text: Text) -> Verdict:
        want = self.kwargs["last_word"].strip().lower()
        for sentence in rule_sentences(text.raw):
            if not sentence.strip():
                return Verdict.of(False, "an empty sentence")
            if _bare(sentence.split()[-1]) != want:
                return Verdict.of(False, f"a sentence ends {sentence.split()[-1]!r}")
        return Verdict.of(True, "every sentence ends with the word")


@register
class LastWordOfAnswer(Constraint):
    """The response's last whitespace-separated word, without punctuation, is ``last_word``
    (case-insensitive)."""

    id: ClassVar[str] = "last_word:last_word_answer"
    params = (_word("last_word"),)
    conflicts = frozenset({"last_word:last_word_answer"})
    phrasings = ("The last word of your answer must be '{last_word}'.",)

    def _check(self, text: Text) -> Verdict:
        last = text.raw.split()[-1]
        ok = _bare(last) == self.kwargs["last_word"].strip().lower()
        return Verdict.of(ok, f"last word {last!r}")


__all__ = ["FirstWordOfAnswer", "FirstWordOfSentences", "LastWordOfAnswer", "LastWordOfSentences"]
