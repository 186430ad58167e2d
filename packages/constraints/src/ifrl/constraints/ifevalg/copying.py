"""IFEvalG's copying types: repeat a phrase with one word changed, copy the request (once, a
span of it, several times).

The request to copy is a kwarg (``prompt_to_repeat``), as in open-instruct's data; copies are
compared stripped and case-insensitively.
"""

from __future__ import annotations

import re
from typing import ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifevalg._common import EXCLUSIVE
from ifrl.constraints.params import ConstraintSpecError, Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

# Our own proverb-like phrases for synthesis (first and last words distinct).
PHRASES = (
    "Every morning brings a brand new chance",
    "Small steps lead to long journeys",
    "A quiet river carves deep valleys",
    "Good friends make the road shorter",
    "Patience turns ordinary grapes into wine",
    "Bright stars guide the lonely sailor",
)


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _request(prompt: str) -> str:
    return prompt.strip() or "Describe your favourite place."


def _repeat_param() -> Param:
    return Param("prompt_to_repeat", "str", "the request to copy")


@register
class RepeatPhrase(Constraint):
    """Repeat ``phrase`` exactly ``small_n`` times, each copy with exactly one word changed.

    Reference rule: the copies are the non-overlapping, shortest matches of ``FIRST .*? LAST``
    (first and last word of the phrase, within a line); there must be ``small_n`` of them and
    each must have the phrase's word count and differ from it in exactly one position (the
    first and last word included).
    """

    id: ClassVar[str] = "copy:repeat_phrase"
    params = (
        Param("phrase", "str", "the phrase to repeat", sample=lambda rng: rng.choice(PHRASES)),
        Param("small_n", "int", "how many copies", minimum=1, sample=lambda rng: rng.randint(2, 3)),
    )
    conflicts = frozenset({"copy:repeat_phrase"})
    phrasings = (
        "Write the phrase '{phrase}' {small_n} times, each time swapping only one word in the "
        "middle of it for another.",
        "Repeat '{phrase}' exactly {small_n} times, changing a single central word in each copy.",
    )

    def setup(self) -> None:
        words = self.kwargs["phrase"].split()
        if not words:
            raise ConstraintSpecError(self.id, "phrase", "must contain a word")
        self._words = words
        first, last = re.escape(words[0]), re.escape(words[-1])
        self._pattern = re.compile(rf"{first} .*? {last}")

    def _check(self, text: Text) -> Verdict:
        found = self._pattern.findall(text.raw)
        n = self.kwargs["small_n"]
        if len(found) != n:
            return Verdict.of(False, f"{len(found)} copies of the phrase, wanted {n}")
        for copy in found:
            words = copy.split()
            if len(words) != len(self._words):
                return Verdict.of(False, f"copy {copy!r} has {len(words)} words")
            changed = sum(a != b for a, b in zip(words, self._words))
            if changed != 1:
                return Verdict.of(False, f"copy {copy!r} changes {changed} words")
        return Verdict.of(True, f"{n} copies, one word changed in each")


class _Copy(Constraint):
    params = (_repeat_param(),)
    conflicts = EXCLUSIVE

    @classmethod
    def sample_kwargs(cls, rng, prompt=""):  # type: ignore[no-untyped-def]
        return {"prompt_to_repeat": _request(prompt)}

    def _check(self, text: Text) -> Verdict:
        ok = _same(text.raw, self.kwargs["prompt_to_repeat"])
        return Verdict.of(ok, "the request copied" if ok else "not the request, verbatim")


@register
class CopyRequest(_Copy):
    """The response is the request, verbatim (stripped, case-insensitive)."""

    id: ClassVar[str] = "copy:copy"
    phrasings = (
        "Do not carry out the request above: reproduce it word for word instead (leave out "
        "this sentence).",
    )


@register
class CopyingSimple(_Copy):
    """The response is the request, verbatim (stripped, case-insensitive)."""

    id: ClassVar[str] = "copy:copying_simple"
    phrasings = (
        "Only write out the request above exactly as given, without answering it and without "
        "this sentence.",
    )


@register
class CopyingMultiple(Constraint):
    """The response is ``N`` copies of the request separated by ``******`` (each stripped and
    compared case-insensitively)."""

    id: ClassVar[str] = "copy:copying_multiple"
    params = (
        _repeat_param(),
        Param("N", "int", "how many copies", minimum=1, sample=lambda rng: rng.randint(2, 3)),
    )
    conflicts = EXCLUSIVE
    phrasings = (
        "Write the request above {N} times, unchanged, with ****** between the copies; do not "
        "answer it and do not include this sentence.",
    )

    @classmethod
    def sample_kwargs(cls, rng, prompt=""):  # type: ignore[no-untyped-def]
        return {"prompt_to_repeat": _request(prompt), "N": rng.randint(2, 3)}

    def _check(self, text: Text) -> Verdict:
        parts = text.raw.split("******")
        n = self.kwargs["N"]
        if len(parts) != n:
            return Verdict.of(False, f"{len(parts)} parts, wanted {n}")
        ok = all(_same(p, self.kwargs["prompt_to_repeat"]) for p in parts)
        return Verdict.of(ok, f"{n} copies" if ok else "a part is not the request")


@register
class CopySpanIdx(Constraint):
    """The response is the request's characters ``n_start`` to ``n_end`` (end excluded, as a
    Python slice), stripped and compared case-insensitively.

    Where the reference is random: it draws a new index when ``n_start`` or ``n_end`` is 0;
    here 0 means 0.
    """

    id: ClassVar[str] = "new:copy_span_idx"
    params = (
        _repeat_param(),
        Param("n_start", "int", "first character index", minimum=0),
        Param("n_end", "int", "end character index", minimum=0),
    )
    conflicts = EXCLUSIVE
    phrasings = (
        "Copy out the part of the request above between character positions {n_start} and "
        "{n_end} (counting characters from 0), and nothing else.",
    )

    @classmethod
    def sample_kwargs(cls, rng, prompt=""):  # type: ignore[no-untyped-def]
        request = _request(prompt)
        start = rng.randint(0, max(0, len(request) - 2))
        end = rng.randint(start + 1, max(start + 1, len(request) - 1))
        return {"prompt_to_repeat": request, "n_start": start, "n_end": end}

    def _check(self, text: Text) -> Verdict:
        span = self.kwargs["prompt_to_repeat"][self.kwargs["n_start"] : self.kwargs["n_end"]]
        ok = _same(text.raw, span)
        return Verdict.of(ok, "the span copied" if ok else f"not the span {span.strip()!r}")


__all__ = ["CopyRequest", "CopySpanIdx", "CopyingMultiple", "CopyingSimple", "RepeatPhrase"]
