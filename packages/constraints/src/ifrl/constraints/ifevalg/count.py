"""IFEvalG's counting types: lower-case words, letters, letter frequency, a 3-paragraph
composition, unique words, a keyword once and another twice."""

from __future__ import annotations

import re
from typing import ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifeval._common import compare, relation_param, sample_words
from ifrl.constraints.ifeval.keywords import LetterFrequency
from ifrl.constraints.ifevalg._common import count_matches, paragraph_count, rule_sentences
from ifrl.constraints.nlp.treebank import word_tokenize
from ifrl.constraints.params import Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_LOWER_WORD = re.compile(r"\b[a-z]+\b")
_LETTER = re.compile(r"[a-zA-Z]")
_DIVIDER = re.compile(r"\s?\*\*\*\s?")


@register
class LowercaseCounting(Constraint):
    """At most ``N`` all-lower-case ASCII words (``\\b[a-z]+\\b`` runs)."""

    id: ClassVar[str] = "count:lowercase_counting"
    params = (Param("N", "int", "the most", minimum=0, sample=lambda rng: rng.randint(2, 3)),)
    conflicts = frozenset({"count:lowercase_counting"})
    phrasings = ("Write at most {N} words in lower case.",)

    def _check(self, text: Text) -> Verdict:
        n = len(_LOWER_WORD.findall(text.raw))
        return Verdict.of(n <= self.kwargs["N"], f"{n} lower-case words")


@register
class LetterCounting(Constraint):
    """Fewer than / at least ``N`` ASCII letters."""

    id: ClassVar[str] = "letters:letter_counting"
    params = (
        Param("N", "int", "the threshold", minimum=0, sample=lambda rng: rng.randint(20, 80)),
        relation_param(),
    )
    conflicts = frozenset({"letters:letter_counting"})
    phrasings = ("Answer using {relation} {N} letters.",)

    def _check(self, text: Text) -> Verdict:
        n = len(_LETTER.findall(text.raw))
        return Verdict.of(compare(n, self.kwargs["relation"], self.kwargs["N"]), f"{n} letters")


@register
class LetterCounting2(LetterFrequency):
    """IFEval's ``keywords:letter_frequency`` under IFEvalG's second id (the reference maps
    both to one checker)."""

    id: ClassVar[str] = "letters:letter_counting2"
    conflicts = frozenset({"letters:letter_counting2"})


@register
class CountingComposition(Constraint):
    """Three paragraphs split on ``***`` (one whitespace character around it absorbed), each of
    ``n_sent`` IFEvalG sentences of ``n_words`` ``nltk.word_tokenize`` tokens (punctuation
    included). Reference quirks kept: the instruction shows the divider as ``* * *`` but only
    ``***`` divides, and a blank first or last piece (a leading or trailing divider) fails,
    since it has no sentences.
    """

    id: ClassVar[str] = "count:counting_composition"
    params = (
        Param(
            "n_sent",
            "int",
            "sentences per paragraph",
            minimum=1,
            sample=lambda rng: rng.randint(2, 3),
        ),
        Param(
            "n_words", "int", "tokens per sentence", minimum=1, sample=lambda rng: rng.randint(2, 3)
        ),
    )
    conflicts = frozenset(
        {
            "count:counting_composition",
            "count:count_unique",
            "count:count_increment_word",
            "paragraphs:paragraphs",
            "paragraphs:paragraphs2",
            "keywords:letter_frequency",
            "keywords:frequency",
        }
    )
    phrasings = (
        "Write 3 paragraphs separated by the markdown divider ***, each of exactly {n_sent} "
        "sentences of exactly {n_words} words.",
    )

    def _check(self, text: Text) -> Verdict:
        pieces = _DIVIDER.split(text.raw)
        if paragraph_count(pieces) is None:
            return Verdict.of(False, "an empty paragraph between two others")
        n_sent, n_words = self.kwargs["n_sent"], self.kwargs["n_words"]
        for i, piece in enumerate(pieces, start=1):
            sentences = rule_sentences(piece)
            if len(sentences) != n_sent:
                return Verdict.of(False, f"paragraph {i} has {len(sentences)} sentences")
            for sentence in sentences:
                k = len(word_tokenize(sentence))
                if k != n_words:
                    return Verdict.of(False, f"paragraph {i}: a sentence of {k} tokens")
        n = paragraph_count(pieces)
        return Verdict.of(n == 3, f"{n} paragraphs")


@register
class CountUnique(Constraint):
    """No ``nltk.word_tokenize`` token repeats (case-sensitive; punctuation tokens count)."""

    id: ClassVar[str] = "count:count_unique"
    params = ()
    conflicts = frozenset({"count:count_unique"})
    phrasings = ("Never repeat a word: every word in your answer must be different.",)

    def _check(self, text: Text) -> Verdict:
        tokens = text.tokens
        repeated = len(tokens) - len(set(tokens))
        return Verdict.of(repeated == 0, f"{repeated} repeated tokens")


@register
class CountIncrementWord(Constraint):
    """``keyword1`` occurs exactly once and ``keyword2`` exactly twice (case-insensitive
    substring counts)."""

    id: ClassVar[str] = "count:count_increment_word"
    params = (
        Param("keyword1", "str", "the word used once", sample=lambda rng: sample_words(rng, 1)[0]),
        Param("keyword2", "str", "the word used twice", sample=lambda rng: sample_words(rng, 1)[0]),
    )
    conflicts = frozenset({"count:count_increment_word"})
    phrasings = ("Use the word '{keyword1}' once and the word '{keyword2}' twice.",)

    @classmethod
    def sample_kwargs(cls, rng, prompt=""):  # type: ignore[no-untyped-def]
        one, two = sample_words(rng, 2)
        return {"keyword1": one, "keyword2": two}

    def _check(self, text: Text) -> Verdict:
        a = count_matches(self.kwargs["keyword1"], text.raw)
        b = count_matches(self.kwargs["keyword2"], text.raw)
        return Verdict.of(a == 1 and b == 2, f"{a} and {b} occurrences")


__all__ = [
    "CountIncrementWord",
    "CountUnique",
    "CountingComposition",
    "LetterCounting",
    "LetterCounting2",
    "LowercaseCounting",
]
