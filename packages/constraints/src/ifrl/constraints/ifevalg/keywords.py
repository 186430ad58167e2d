"""IFEvalG's keyword types: a keyword once, N times, not at all, at a position; no adjacent
words with consecutive initials; a palindrome; the same first and last word."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, Semantics, register
from ifrl.constraints.ifeval._common import compare, relation_param, sample_words
from ifrl.constraints.ifevalg._common import count_matches, rule_sentences
from ifrl.constraints.params import Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict


def first_of_list(kwargs: Mapping[str, Any] | None, name: str) -> Mapping[str, Any] | None:
    """``kwargs`` with a list value of ``name`` replaced by its first item (the reference
    accepts a list there and uses its first word)."""
    if isinstance(kwargs, Mapping):
        value = kwargs.get(name)
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
            return {**kwargs, name: value[0]}
    return kwargs


def _keyword_param(name: str = "keyword") -> Param:
    return Param(name, "str", "the keyword", sample=lambda rng: sample_words(rng, 1)[0])


@register
class WordOnce(Constraint):
    """The keyword occurs exactly once (case-insensitive substring count)."""

    id: ClassVar[str] = "keywords:word_once"
    params = (_keyword_param(),)
    conflicts = frozenset({"keywords:word_once"})
    phrasings = (
        "Use the word '{keyword}' in your answer, exactly once.",
        "Mention '{keyword}' one time (and only one time).",
    )

    def _check(self, text: Text) -> Verdict:
        n = count_matches(self.kwargs["keyword"], text.raw)
        return Verdict.of(n == 1, f"{self.kwargs['keyword']!r} occurs {n} times")


@register
class WordCountDifferentNumbers(Constraint):
    """The keyword occurs fewer than / at least ``frequency`` times (case-insensitive)."""

    id: ClassVar[str] = "keywords:word_count_different_numbers"
    params = (
        _keyword_param(),
        Param("frequency", "int", "the threshold", minimum=0, sample=lambda rng: rng.randint(1, 3)),
        relation_param(),
    )
    conflicts = frozenset({"keywords:word_count_different_numbers"})
    phrasings = (
        "The word '{keyword}' should appear {relation} {frequency} times in your answer.",
        "Use '{keyword}' {relation} {frequency} times.",
    )

    def _check(self, text: Text) -> Verdict:
        n = count_matches(self.kwargs["keyword"], text.raw)
        ok = compare(n, self.kwargs["relation"], self.kwargs["frequency"])
        return Verdict.of(ok, f"{self.kwargs['keyword']!r} occurs {n} times")


@register
class ExcludeWordHarder(Constraint):
    """The keyword never stands between two spaces (``" keyword "`` is not in the response;
    case-sensitive, so it may start or end the response or touch punctuation)."""

    id: ClassVar[str] = "keywords:exclude_word_harder"
    params = (
        _keyword_param(),
        Param("instruction", "str", "the request a keyword is drawn from (unused)", required=False),
    )
    conflicts = frozenset({"keywords:exclude_word_harder"})
    phrasings = (
        "Do not use the word '{keyword}' in your answer.",
        "Avoid the keyword '{keyword}' entirely.",
    )

    @classmethod
    def sample_kwargs(cls, rng, prompt=""):  # type: ignore[no-untyped-def]
        words = [w.strip(".,!?;:'\"") for w in prompt.split()]
        words = [w for w in words if len(w) > 3]
        return {"keyword": rng.choice(words) if words else sample_words(rng, 1)[0]}

    def _check(self, text: Text) -> Verdict:
        found = f" {self.kwargs['keyword']} " in text.raw
        return Verdict.of(not found, "keyword used" if found else "keyword not used")


@register
class NoAdjacentConsecutive(Constraint):
    """No two neighbouring whitespace-separated words start with consecutive letters of the
    alphabet (``cat dog``); compared lower-cased by code point, so ``a`` then ``b`` fails and
    ``b`` then ``a`` passes. A first letter that lower-cases to two characters fails."""

    id: ClassVar[str] = "keywords:no_adjacent_consecutive"
    params = ()
    conflicts = frozenset({"keywords:no_adjacent_consecutive"})
    phrasings = (
        "No two words next to each other may begin with letters that follow each other in the "
        "alphabet.",
    )

    def _check(self, text: Text) -> Verdict:
        words = text.raw.split()
        for left, right in itertools.pairwise(words):
            a, b = left[0].lower(), right[0].lower()
            if len(a) != 1 or len(b) != 1:
                return Verdict.of(False, f"{left!r} {right!r}: a first letter lower-cases to two")
            if ord(b) - ord(a) == 1:
                return Verdict.of(False, f"{left!r} {right!r} start with consecutive letters")
        return Verdict.of(True, "no consecutive initials")


@register
class Palindrome(Constraint):
    """Some whitespace-separated word reads the same backwards (one character counts: ``a``,
    ``I``, ``-``)."""

    id: ClassVar[str] = "keywords:palindrome"
    params = ()
    conflicts = frozenset({"keywords:palindrome"})
    phrasings = ("Work a palindrome into your answer.", "Include a word that is a palindrome.")

    def _check(self, text: Text) -> Verdict:
        found = next((w for w in text.raw.split() if w == w[::-1]), None)
        return Verdict.of(found is not None, f"palindrome {found!r}" if found else "none")


@register
class KeywordSpecificPosition(Constraint):
    """The ``m``-th word (``nltk.word_tokenize`` token) of the ``n``-th sentence (IFEvalG's
    rule-based sentences) is exactly ``keyword`` (case-sensitive). A list ``keyword`` uses its
    first item."""

    id: ClassVar[str] = "keywords:keyword_specific_position"
    params = (
        _keyword_param(),
        Param(
            "n", "int", "sentence number (1-based)", minimum=1, sample=lambda rng: rng.randint(1, 3)
        ),
        Param("m", "int", "word number (1-based)", minimum=1, sample=lambda rng: rng.randint(1, 6)),
    )
    conflicts = frozenset({"keywords:keyword_specific_position"})
    phrasings = (
        "Make '{keyword}' word number {m} of sentence number {n}.",
        "In sentence {n}, the {m}-th word must be '{keyword}'.",
    )

    def __init__(
        self, kwargs: Mapping[str, Any] | None = None, semantics: Semantics = "reference"
    ) -> None:
        super().__init__(first_of_list(kwargs, "keyword"), semantics)

    def _check(self, text: Text) -> Verdict:
        from ifrl.constraints.nlp.treebank import word_tokenize

        n, m = self.kwargs["n"], self.kwargs["m"]
        sentences = rule_sentences(text.raw)
        if len(sentences) < n:
            return Verdict.of(False, f"{len(sentences)} sentences, fewer than {n}")
        words = word_tokenize(sentences[n - 1])
        if len(words) < m:
            return Verdict.of(False, f"sentence {n} has {len(words)} words, fewer than {m}")
        ok = words[m - 1] == self.kwargs["keyword"]
        return Verdict.of(ok, f"word {m} of sentence {n} is {words[m - 1]!r}")


@register
class StartEnd(Constraint):
    """The first and last ``nltk.word_tokenize`` tokens are equal (case-insensitive); at least
    two tokens (a final period is a token of its own, so it fails)."""

    id: ClassVar[str] = "keywords:start_end"
    params = ()
    conflicts = frozenset({"keywords:start_end"})
    phrasings = (
        "Begin and end your answer with the same word, with nothing at all after that last "
        "word, not even a period.",
    )

    def _check(self, text: Text) -> Verdict:
        tokens = text.tokens
        if len(tokens) < 2:
            return Verdict.of(False, f"{len(tokens)} tokens")
        ok = tokens[0].lower() == tokens[-1].lower()
        return Verdict.of(ok, f"starts {tokens[0]!r}, ends {tokens[-1]!r}")


__all__ = [
    "ExcludeWordHarder",
    "KeywordSpecificPosition",
    "NoAdjacentConsecutive",
    "Palindrome",
    "StartEnd",
    "WordCountDifferentNumbers",
    "WordOnce",
    "first_of_list",
]
