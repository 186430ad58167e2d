"""IFEval ``change_case:*``: all-capital words count; English in all capitals / lowercase.

"English" is langdetect's verdict with seed 0; a text without language features counts as
following the instruction (as IFEval). Capital words are Treebank tokens (after Punkt
sentence splitting) for which ``str.isupper()`` holds.
"""

from __future__ import annotations

from typing import ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifeval._common import compare, relation_param
from ifrl.constraints.params import Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict


@register
class CapitalWordFrequency(Constraint):
    """Fewer than / at least N all-capital words."""

    id: ClassVar[str] = "change_case:capital_word_frequency"
    params = (
        Param(
            "capital_frequency",
            "int",
            "the threshold",
            minimum=0,
            sample=lambda rng: rng.randint(1, 10),
        ),
        relation_param("capital_relation"),
    )
    conflicts = frozenset(
        {
            "change_case:capital_word_frequency",
            "change_case:english_lowercase",
            "change_case:english_capital",
        }
    )
    phrasings = (
        "Use words written entirely in capital letters {capital_relation} {capital_frequency} times.",
        "Your answer should contain {capital_relation} {capital_frequency} words in ALL CAPS.",
    )

    def _check(self, text: Text) -> Verdict:
        n = text.capital_token_count
        ok = compare(n, self.kwargs["capital_relation"], self.kwargs["capital_frequency"])
        return Verdict.of(ok, f"{n} all-capital words")


def _english(lang: str | None) -> tuple[bool, str]:
    if lang is None:
        return True, "no language features found; counted as English"
    return lang == "en", f"detected {lang!r}"


@register
class EnglishCapital(Constraint):
    """English, and ``str.isupper()`` holds for the whole response.

    Reference: langdetect (seed 0) reads only the first letter of each word written in
    capitals, so English in capitals is often taken for another language. Fixed: the language
    of the lower-cased response (every n-gram scored).
    """

    id: ClassVar[str] = "change_case:english_capital"
    conflicts = frozenset(
        {
            "change_case:english_capital",
            "change_case:english_lowercase",
            "language:response_language",
        }
    )
    phrasings = (
        "Write your entire answer in English using only capital letters.",
        "Respond in English, and in ALL CAPITAL LETTERS throughout.",
    )

    def _check(self, text: Text) -> Verdict:
        if not text.raw.isupper():
            return Verdict.of(False, "not all capitals")
        return Verdict.of(*_english(text.language))

    def _check_fixed(self, text: Text) -> Verdict:
        if not text.raw.isupper():
            return Verdict.of(False, "not all capitals")
        return Verdict.of(*_english(text.fixed_language))


@register
class EnglishLowercase(Constraint):
    """English, and ``str.islower()`` holds for the whole response (fixed: the language from
    every n-gram, no random draws)."""

    id: ClassVar[str] = "change_case:english_lowercase"
    conflicts = frozenset(
        {
            "change_case:english_lowercase",
            "change_case:english_capital",
            "language:response_language",
        }
    )
    phrasings = (
        "Write your whole response in English, in lowercase letters only; no capitals at all.",
        "Answer in English using only lowercase letters.",
    )

    def _check(self, text: Text) -> Verdict:
        if not text.raw.islower():
            return Verdict.of(False, "contains capital letters (or no cased letters)")
        return Verdict.of(*_english(text.language))

    def _check_fixed(self, text: Text) -> Verdict:
        if not text.raw.islower():
            return Verdict.of(False, "contains capital letters (or no cased letters)")
        return Verdict.of(*_english(text.fixed_language))
