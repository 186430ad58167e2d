"""IFEval ``length_constraints:*``: sentences, paragraphs, words, first word of paragraph n.

Sentences are Punkt (English) sentences, words are ``\\w+`` runs, paragraphs are separated by
the markdown divider ``***`` (``number_paragraphs``) or by a blank line ``\\n\\n``
(``nth_paragraph_first_word``), all as IFEval counts them.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifeval._common import compare, relation_param, sample_words
from ifrl.constraints.params import ConstraintSpecError, Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_DIVIDER = re.compile(r"\s?\*\*\*\s?")
_BLANK_LINE = re.compile(r"\n\n")
_FIRST_WORD_STOP = frozenset(".,?!'\"")


@register
class NumberSentences(Constraint):
    """Fewer than / at least N Punkt sentences."""

    id: ClassVar[str] = "length_constraints:number_sentences"
    params = (
        Param(
            "num_sentences",
            "int",
            "the threshold",
            minimum=0,
            sample=lambda rng: rng.randint(2, 20),
        ),
        relation_param(),
    )
    conflicts = frozenset({"length_constraints:number_sentences"})
    phrasings = (
        "Your answer should have {relation} {num_sentences} sentences.",
        "Write {relation} {num_sentences} sentences.",
        "Use {relation} {num_sentences} sentences in total.",
    )

    def _check(self, text: Text) -> Verdict:
        threshold = self.kwargs["num_sentences"]
        bound = text.sentence_bound
        if bound < threshold:  # decided without splitting: fewer than the threshold for sure
            ok = compare(bound, self.kwargs["relation"], threshold)
            return Verdict.of(ok, f"at most {bound} sentences")
        n = text.sentence_count
        ok = compare(n, self.kwargs["relation"], threshold)
        return Verdict.of(ok, f"{n} sentences")


@register
class NumberParagraphs(Constraint):
    """Exactly N paragraphs separated by ``***``; an empty paragraph inside fails."""

    id: ClassVar[str] = "length_constraints:number_paragraphs"
    params = (
        Param(
            "num_paragraphs", "int", "exact number", minimum=0, sample=lambda rng: rng.randint(2, 5)
        ),
    )
    conflicts = frozenset(
        {
            "length_constraints:number_paragraphs",
            "length_constraints:nth_paragraph_first_word",
            "length_constraints:number_sentences",
            "combination:two_responses",
        }
    )
    phrasings = (
        "Write exactly {num_paragraphs} paragraphs and put the markdown divider *** between them.",
        "Your answer must consist of {num_paragraphs} paragraphs, separated from each other by ***.",
        "Split your response into {num_paragraphs} paragraphs using *** as the separator.",
    )

    def _check(self, text: Text) -> Verdict:
        parts = _DIVIDER.split(text.raw)
        n = len(parts)
        last = len(parts) - 1
        for i, part in enumerate(parts):
            if not part.strip():
                if i in (0, last):
                    n -= 1
                else:
                    return Verdict.of(False, f"paragraph {i + 1} is empty")
        return Verdict.of(n == self.kwargs["num_paragraphs"], f"{n} paragraphs")


@register
class NumberWords(Constraint):
    """Fewer than / at least N words (``\\w+`` runs)."""

    id: ClassVar[str] = "length_constraints:number_words"
    params = (
        Param(
            "num_words",
            "int",
            "the threshold",
            minimum=0,
            sample=lambda rng: rng.choice((50, 100, 150, 200, 300, 400)),
        ),
        relation_param(),
    )
    conflicts = frozenset({"length_constraints:number_words"})
    phrasings = (
        "Answer with {relation} {num_words} words.",
        "Your response should be {relation} {num_words} words long.",
        "Use {relation} {num_words} words.",
    )

    def _check(self, text: Text) -> Verdict:
        n = text.word_count
        return Verdict.of(
            compare(n, self.kwargs["relation"], self.kwargs["num_words"]), f"{n} words"
        )


@register
class NthParagraphFirstWord(Constraint):
    """Exactly N blank-line-separated paragraphs, paragraph ``nth_paragraph`` starting with a word.

    The first word is the paragraph's first whitespace token, leading quotes removed, cut at
    the first of ``.,?!'"``, compared lower-cased (as IFEval). Reference: paragraphs are
    counted without the blank pieces of the ``\n\n`` split but indexed with them, so a
    response opening with a blank line (or three newlines between two paragraphs) has the
    wrong paragraph checked. Fixed: the nth non-blank paragraph is checked.
    """

    id: ClassVar[str] = "length_constraints:nth_paragraph_first_word"
    params = (
        Param(
            "num_paragraphs",
            "int",
            "exact number of paragraphs",
            minimum=1,
            sample=lambda rng: rng.randint(2, 5),
        ),
        Param("nth_paragraph", "int", "which paragraph (1-based)", minimum=1, sample=lambda rng: 1),
        Param(
            "first_word",
            "str",
            "the required first word",
            sample=lambda rng: sample_words(rng, 1)[0],
        ),
    )
    conflicts = frozenset(
        {
            "length_constraints:nth_paragraph_first_word",
            "length_constraints:number_paragraphs",
            "combination:two_responses",
            "combination:repeat_prompt",
            "startend:quotation",
            "detectable_format:json_format",
            "detectable_format:constrained_response",
        }
    )
    phrasings = (
        "Write {num_paragraphs} paragraphs separated by blank lines (two newlines); paragraph "
        "{nth_paragraph} must begin with the word '{first_word}'.",
        "Your answer needs exactly {num_paragraphs} paragraphs, each separated by an empty line, "
        "and paragraph number {nth_paragraph} has to start with '{first_word}'.",
    )

    def setup(self) -> None:
        if self.kwargs["nth_paragraph"] > self.kwargs["num_paragraphs"]:
            raise ConstraintSpecError(
                self.id,
                "nth_paragraph",
                f"must be <= num_paragraphs ({self.kwargs['num_paragraphs']}), "
                f"got {self.kwargs['nth_paragraph']}",
            )
        self._word = self.kwargs["first_word"].lower()

    @classmethod
    def sample_kwargs(cls, rng: Any, prompt: str = "") -> dict[str, Any]:
        n = rng.randint(2, 5)
        return {
            "num_paragraphs": n,
            "nth_paragraph": rng.randint(1, n),
            "first_word": sample_words(rng, 1)[0],
        }

    def _check(self, text: Text) -> Verdict:
        return self._first_word(_BLANK_LINE.split(text.raw))

    def _check_fixed(self, text: Text) -> Verdict:
        return self._first_word([p for p in _BLANK_LINE.split(text.raw) if p.strip()])

    def _first_word(self, parts: list[str]) -> Verdict:
        """The verdict with paragraph ``nth_paragraph`` read as ``parts[nth - 1]``."""
        n = sum(1 for p in parts if p.strip())
        nth = self.kwargs["nth_paragraph"]
        if nth > n:
            return Verdict.of(False, f"only {n} paragraphs")
        para = parts[nth - 1].strip()
        if not para:
            return Verdict.of(False, f"paragraph {nth} is empty")
        token = para.split()[0].lstrip("'").lstrip('"')
        word = []
        for ch in token:
            if ch in _FIRST_WORD_STOP:
                break
            word.append(ch.lower())
        first = "".join(word)
        ok = n == self.kwargs["num_paragraphs"] and first == self._word
        return Verdict.of(ok, f"{n} paragraphs; paragraph {nth} starts with {first!r}")
