"""IFEval ``keywords:*``: required words, word frequency, forbidden words, letter frequency.

Keywords are matched literally (regex metacharacters are escaped) and case-insensitively;
``existence`` and ``frequency`` match substrings, ``forbidden_words`` whole words.
"""

from __future__ import annotations

import re
import string
from typing import ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifeval._common import (
    compare,
    quoted_list,
    relation_param,
    sample_words,
)
from ifrl.constraints.params import ConstraintSpecError, Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_LANGUAGE = "language:response_language"


@register
class KeywordExistence(Constraint):
    """Every keyword must occur (case-insensitive substring)."""

    id: ClassVar[str] = "keywords:existence"
    params = (
        Param(
            "keywords",
            "str_list",
            "words that must appear",
            minimum=1,
            sample=lambda rng: sample_words(rng, rng.randint(1, 3)),
            render=quoted_list,
        ),
    )
    conflicts = frozenset({"keywords:existence", _LANGUAGE})
    phrasings = (
        "Make sure your answer uses the words {keywords}.",
        "Your response must mention {keywords}.",
        "Work the keywords {keywords} into your reply.",
    )

    def setup(self) -> None:
        self._patterns = [
            (k, re.compile(re.escape(k), re.IGNORECASE)) for k in self.kwargs["keywords"]
        ]

    def _check(self, text: Text) -> Verdict:
        missing = [k for k, p in self._patterns if not p.search(text.raw)]
        if missing:
            return Verdict.of(False, f"missing keywords {missing}")
        return Verdict.of(True, "all keywords present")


@register
class KeywordFrequency(Constraint):
    """A keyword must occur fewer than / at least N times (case-insensitive substring count)."""

    id: ClassVar[str] = "keywords:frequency"
    params = (
        Param("keyword", "str", "the counted word", sample=lambda rng: sample_words(rng, 1)[0]),
        Param("frequency", "int", "the threshold", minimum=0, sample=lambda rng: rng.randint(1, 5)),
        relation_param(),
    )
    conflicts = frozenset({"keywords:frequency", _LANGUAGE})
    phrasings = (
        "Use the word '{keyword}' {relation} {frequency} times.",
        "The word '{keyword}' should appear {relation} {frequency} times in your answer.",
        "Mention '{keyword}' {relation} {frequency} times.",
    )

    def setup(self) -> None:
        self._pattern = re.compile(re.escape(self.kwargs["keyword"].strip()), re.IGNORECASE)

    def _check(self, text: Text) -> Verdict:
        n = sum(1 for _ in self._pattern.finditer(text.raw))
        ok = compare(n, self.kwargs["relation"], self.kwargs["frequency"])
        return Verdict.of(ok, f"{self.kwargs['keyword']!r} occurs {n} times")


@register
class ForbiddenWords(Constraint):
    """None of the words may occur as a whole word (case-insensitive)."""

    id: ClassVar[str] = "keywords:forbidden_words"
    params = (
        Param(
            "forbidden_words",
            "str_list",
            "words that must not appear",
            minimum=1,
            sample=lambda rng: sample_words(rng, rng.randint(1, 3)),
            render=quoted_list,
        ),
    )
    conflicts = frozenset({"keywords:forbidden_words", _LANGUAGE})
    phrasings = (
        "Do not use the words {forbidden_words} anywhere in your answer.",
        "Avoid the words {forbidden_words}.",
        "Your reply must not contain {forbidden_words}.",
    )

    def setup(self) -> None:
        words = sorted(set(self.kwargs["forbidden_words"]))
        self._patterns = [
            (w, re.compile(r"\b" + re.escape(w) + r"\b", re.IGNORECASE)) for w in words
        ]

    def _check(self, text: Text) -> Verdict:
        found = [w for w, p in self._patterns if p.search(text.raw)]
        if found:
            return Verdict.of(False, f"contains forbidden words {found}")
        return Verdict.of(True, "no forbidden word")


@register
class LetterFrequency(Constraint):
    """A character must occur fewer than / at least N times (case-insensitive).

    Defined behaviour where IFEval is random: IFEval replaces a ``letter`` that is not an
    ASCII letter by a random one; here the given character (any single character, e.g. ``#``)
    is counted literally.
    """

    id: ClassVar[str] = "keywords:letter_frequency"
    params = (
        Param(
            "letter", "str", "one character", sample=lambda rng: rng.choice(string.ascii_lowercase)
        ),
        Param(
            "let_frequency",
            "int",
            "the threshold",
            minimum=0,
            sample=lambda rng: rng.randint(1, 12),
        ),
        relation_param("let_relation"),
    )
    conflicts = frozenset({"keywords:letter_frequency"})
    phrasings = (
        "The letter '{letter}' should appear {let_relation} {let_frequency} times in your response.",
        "Use the letter '{letter}' {let_relation} {let_frequency} times.",
        "Count your '{letter}'s: there must be {let_relation} {let_frequency} of them.",
    )

    def setup(self) -> None:
        letter = self.kwargs["letter"].strip() or self.kwargs["letter"]
        if len(letter) != 1:
            raise ConstraintSpecError(self.id, "letter", f"must be one character, got {letter!r}")
        self._letter = letter.lower()

    def _check(self, text: Text) -> Verdict:
        n = text.lower.count(self._letter)
        ok = compare(n, self.kwargs["let_relation"], self.kwargs["let_frequency"])
        return Verdict.of(ok, f"{self._letter!r} occurs {n} times")
