"""IFEvalG's layout types: sentences joined by hyphens, every word in square brackets, word
bigrams in ``<< >>``, two paragraphs (``***`` or a blank line between them), no dots, no
exclamation marks."""

from __future__ import annotations

import re
from typing import ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifevalg._common import paragraph_count, rule_sentences
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_DIVIDER = re.compile(r"\s?\*\*\*\s?")


@register
class SentenceHyphens(Constraint):
    """Sentences joined by hyphens with no spaces around them.

    Reference rule: the pieces of the response split on ``-`` are compared, in order, with the
    IFEvalG sentences of the response with each ``-`` replaced by a space; every compared piece
    must equal its sentence and have no surrounding whitespace (extra pieces or sentences are
    not compared).
    """

    id: ClassVar[str] = "detectable_format:sentence_hyphens"
    params = ()
    conflicts = frozenset({"detectable_format:sentence_hyphens"})
    phrasings = ("Join all your sentences with hyphens and put no spaces between them.",)

    def _check(self, text: Text) -> Verdict:
        gold = rule_sentences(text.raw.replace("-", " "))
        for piece, sentence in zip(text.raw.split("-"), gold):
            if piece.strip() != piece or piece != sentence:
                return Verdict.of(False, f"piece {piece[:40]!r} is not a sentence joined by '-'")
        return Verdict.of(True, "sentences joined by hyphens")


@register
class SquareBrackets(Constraint):
    """Every whitespace-separated word starts with ``[`` and ends with ``]``."""

    id: ClassVar[str] = "detectable_format:square_brackets"
    params = ()
    conflicts = frozenset({"detectable_format:square_brackets"})
    phrasings = ("Put every single word of your answer inside square brackets.",)

    def _check(self, text: Text) -> Verdict:
        bad = next((w for w in text.raw.split() if not (w[0] == "[" and w[-1] == "]")), None)
        return Verdict.of(bad is None, f"{bad!r} not in brackets" if bad else "all in brackets")


@register
class BigramWrapping(Constraint):
    """Words 1-2, 3-4, ... (whitespace-separated) are wrapped: the first of each pair starts
    with ``<<`` and the second ends with ``>>``; an odd last word is not checked."""

    id: ClassVar[str] = "detectable_format:bigram_wrapping"
    params = ()
    conflicts = frozenset({"detectable_format:bigram_wrapping"})
    phrasings = (
        "Wrap each pair of consecutive words in double angle brackets, like <<the sea>> "
        "<<is calm>>.",
    )

    def _check(self, text: Text) -> Verdict:
        words = text.raw.split()
        for i in range(0, len(words) - 1, 2):
            if not (words[i].startswith("<<") and words[i + 1].endswith(">>")):
                return Verdict.of(False, f"{words[i]!r} {words[i + 1]!r} not wrapped")
        return Verdict.of(True, "every bigram wrapped")


class _TwoParagraphs(Constraint):
    params = ()
    conflicts = frozenset({"paragraphs:paragraphs", "paragraphs:paragraphs2"})
    _splitter: ClassVar[re.Pattern[str]]

    def _check(self, text: Text) -> Verdict:
        n = paragraph_count(self._splitter.split(text.raw))
        if n is None:
            return Verdict.of(False, "an empty paragraph between two others")
        return Verdict.of(n == 2, f"{n} paragraphs")


@register
class ParagraphsDivider(_TwoParagraphs):
    """Exactly two paragraphs separated by the markdown divider ``***`` (one optional
    whitespace character on each side is part of the divider)."""

    id: ClassVar[str] = "paragraphs:paragraphs"
    phrasings = ("Write two paragraphs with the markdown divider *** between them.",)
    _splitter = _DIVIDER


@register
class ParagraphsBlankLine(_TwoParagraphs):
    """Exactly two paragraphs separated by ``\\n\\n`` (and no other ``\\n\\n``)."""

    id: ClassVar[str] = "paragraphs:paragraphs2"
    phrasings = (
        "Write two paragraphs, separated from each other (and only each other) by a blank line.",
    )
    _splitter = re.compile(r"\n\n")


@register
class NoDots(Constraint):
    """No ``.`` anywhere."""

    id: ClassVar[str] = "punctuation:punctuation_dot"
    params = ()
    conflicts = frozenset({"punctuation:punctuation_dot"})
    phrasings = ("Do not use a single dot (.) anywhere in your answer.",)

    def _check(self, text: Text) -> Verdict:
        n = text.raw.count(".")
        return Verdict.of(n == 0, f"{n} dots")


@register
class NoExclamations(Constraint):
    """No ``!`` anywhere."""

    id: ClassVar[str] = "punctuation:punctuation_exclamation"
    params = ()
    conflicts = frozenset({"punctuation:punctuation_exclamation"})
    phrasings = ("Do not use any exclamation mark (!) in your answer.",)

    def _check(self, text: Text) -> Verdict:
        n = text.raw.count("!")
        return Verdict.of(n == 0, f"{n} exclamation marks")


__all__ = [
    "BigramWrapping",
    "NoDots",
    "NoExclamations",
    "ParagraphsBlankLine",
    "ParagraphsDivider",
    "SentenceHyphens",
    "SquareBrackets",
]
