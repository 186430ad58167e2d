"""IFBench ``sentence:*``: growing alliteration, growing word counts, a keyword in sentence N.

Reference: sentences are ``nltk.sent_tokenize`` of the whole text and a sentence's words its
whitespace tokens. Fixed: sentences are Punkt sentences of each non-blank, non-heading line
and a sentence's words those of :func:`ifrl.constraints.ifbench._common.words`.
"""

from __future__ import annotations

import re
import string
from itertools import pairwise
from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifbench._common import (
    drop_punct,
    ordinal,
    sentences,
    words,
)
from ifrl.constraints.ifbench.words import letters
from ifrl.constraints.ifeval._common import sample_words
from ifrl.constraints.params import ConstraintSpecError, Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_STRIP = string.punctuation + " "


def alliteration_score(sentence: str) -> int:
    """The reference's alliteration of a sentence: over its lower-cased whitespace tokens
    (leading punctuation stripped, empty ones dropped), each adjacent pair sharing a first
    character adds 2 when it starts a run and 1 when it extends one."""
    tokens = [t for t in (w.lstrip(_STRIP) for w in sentence.lower().split()) if t]
    score = 0
    in_run = False
    for a, b in pairwise(tokens):
        if a[0] == b[0]:
            score += 1 if in_run else 2
            in_run = True
        else:
            in_run = False
    return score


def longest_alliteration(sentence: str) -> int:
    """Length of the longest run of consecutive words starting with the same letter (>= 1 when
    the sentence has a word; numbers break runs)."""
    best = run = 0
    prev = ""
    for w in words(sentence):
        first = letters(w[0])
        run = run + 1 if first and first == prev else 1
        prev = first
        best = max(best, run)
    return best


@register
class AlliterationIncrement(Constraint):
    """Each sentence has a longer sequence of consecutive alliterative words than the one before.

    Reference: :func:`alliteration_score` (all alliterative pairs of the sentence, not its
    longest run) grows strictly; one sentence passes. Fixed: at least two sentences, each with
    a strictly longer run of consecutive words sharing a first letter.
    """

    id: ClassVar[str] = "sentence:alliteration_increment"
    params = ()
    conflicts = frozenset({"words:no_consecutive", "words:alphabet", "sentence:increment"})
    phrasings = (
        "Each sentence must have a longer sequence of consecutive alliterative words than the "
        "previous one.",
    )

    def _check(self, text: Text) -> Verdict:
        scores = [alliteration_score(s) for s in text.sentences]
        ok = all(b > a for a, b in pairwise([-1, *scores]))
        return Verdict.of(ok, f"alliteration scores {scores[:12]}")

    def _check_fixed(self, text: Text) -> Verdict:
        runs = [longest_alliteration(s) for s in sentences(text.raw) if words(s)]
        if len(runs) < 2:
            return Verdict.of(False, "fewer than two sentences")
        for i in range(1, len(runs)):
            if runs[i] <= runs[i - 1]:
                return Verdict.of(False, f"alliteration runs {runs}: sentence {i + 1} not longer")
        return Verdict.of(True, f"alliteration runs {runs}")


@register
class Increment(Constraint):
    """Each sentence has exactly ``small_n`` more words than the one before.

    Reference: whitespace tokens after deleting punctuation; one sentence passes. Fixed: at
    least two sentences; line breaks end sentences and headings are not sentences.
    """

    id: ClassVar[str] = "sentence:increment"
    params = (
        Param("small_n", "int", "the increment", minimum=1, sample=lambda r: r.randint(1, 5)),
    )
    conflicts = frozenset({"sentence:alliteration_increment", "ratio:sentence_words"})
    phrasings = (
        "Each sentence in your response must contain exactly {small_n} more words than the "
        "previous one.",
    )

    def _check(self, text: Text) -> Verdict:
        counts = [len(drop_punct(s).split()) for s in text.sentences]
        step = self.kwargs["small_n"]
        ok = all(b == a + step for a, b in pairwise(counts))
        return Verdict.of(ok, f"words per sentence {counts[:12]}")

    def _check_fixed(self, text: Text) -> Verdict:
        counts = [len(words(s)) for s in sentences(text.raw)]
        counts = [c for c in counts if c]
        if len(counts) < 2:
            return Verdict.of(False, "fewer than two sentences")
        step = self.kwargs["small_n"]
        ok = all(b - a == step for a, b in pairwise(counts))
        return Verdict.of(ok, f"words per sentence {counts}")


@register
class Keyword(Constraint):
    """Sentence ``N`` (``nltk.sent_tokenize``; a line without a final period runs into the next
    line) contains ``word`` as a whole word (case-insensitive). No fix."""

    id: ClassVar[str] = "sentence:keyword"
    params = (
        Param("word", "str", "the keyword", sample=lambda rng: sample_words(rng, 1)[0]),
        Param("N", "int", "sentence number (1-based)", minimum=1, sample=lambda r: r.randint(1, 8)),
    )
    phrasings = ("The response must include keyword {word} in the {nth} sentence.",)

    def setup(self) -> None:
        word = self.kwargs["word"].strip()
        if not word:
            raise ConstraintSpecError(self.id, "word", "must not be blank")
        self._bounded = re.compile(r"\b" + re.escape(self.kwargs["word"]) + r"\b", re.IGNORECASE)

    @classmethod
    def render_kwargs(cls, kwargs: Any) -> dict[str, Any]:
        o = ordinal(kwargs["N"])
        return {**kwargs, "nth": f"{o[:-2]}-{o[-2:]}"}

    def _check(self, text: Text) -> Verdict:
        n = self.kwargs["N"]
        sents = text.sentences
        if len(sents) < n:
            return Verdict.of(False, f"only {len(sents)} sentences")
        ok = bool(self._bounded.search(sents[n - 1]))
        return Verdict.of(ok, f"sentence {n} {'has' if ok else 'lacks'} {self.kwargs['word']!r}")
