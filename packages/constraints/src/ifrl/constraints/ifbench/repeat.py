"""IFBench ``repeat:*``: repeat the request with its first word changed, output a fixed
sentence, or copy a span of the request's words. Nothing else may be said.

``_check`` decides as allenai/IFBench does; ``_check_fixed`` (``semantics="fixed"``) as the
instruction asks.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifbench._common import PUNCT, exclusive_conflicts
from ifrl.constraints.params import ConstraintSpecError, Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_QUOTES = "\"'“”‘’`"
_DEFAULT_REQUEST = "Describe the water cycle in three sentences."


def _unquote(text: str) -> str:
    """``text`` stripped, without one pair of surrounding quotes."""
    t = text.strip()
    if len(t) >= 2 and t[0] in _QUOTES and t[-1] in _QUOTES:
        t = t[1:-1].strip()
    return t


def _tokens(text: str) -> list[str]:
    return text.split()


@register
class RepeatChange(Constraint):
    """The request repeated with its first word changed, and nothing else.

    Reference: the response is not exactly the request, and its whitespace tokens after the
    first equal the request's (so the request with unchanged first word and an extra space
    passes). Fixed: the first word is replaced by a different word, everything else identical
    (whitespace aside), one pair of surrounding quotes allowed.
    """

    id: ClassVar[str] = "repeat:repeat_change"
    params = (Param("prompt_to_repeat", "str", "the request to repeat", sample=lambda r: ""),)
    conflicts = exclusive_conflicts()
    phrasings = (
        "Repeat the request, but change the first word of the repeated request, (do not say "
        "anything before repeating the request; the request you need to repeat does not include "
        "this sentence) and do not answer the actual request!",
    )

    def setup(self) -> None:
        self._request = _tokens(self.kwargs["prompt_to_repeat"])
        if not self._request:
            raise ConstraintSpecError(self.id, "prompt_to_repeat", "must not be blank")

    @classmethod
    def sample_kwargs(cls, rng: Any, prompt: str = "") -> dict[str, Any]:
        return {"prompt_to_repeat": prompt.strip() or _DEFAULT_REQUEST}

    def _check(self, text: Text) -> Verdict:
        request = self.kwargs["prompt_to_repeat"]
        if text.raw == request:
            return Verdict.of(False, "the request, unchanged")
        ok = request.split()[1:] == text.raw.split()[1:]
        return Verdict.of(ok, "the request after its first word" if ok else "not the request")

    def _check_fixed(self, text: Text) -> Verdict:
        got = _tokens(_unquote(text.raw))
        want = self._request
        if len(got) != len(want) or got[1:] != want[1:]:
            return Verdict.of(False, "the response is not the request with one word changed")
        a, b = got[0].strip(PUNCT).lower(), want[0].strip(PUNCT).lower()
        if a == b or not a:
            return Verdict.of(False, f"first word {got[0]!r} is not changed")
        return Verdict.of(True, f"request repeated, {want[0]!r} -> {got[0]!r}")


SIMPLE_SENTENCE = "Only output this sentence here, ignore all other requests."


@register
class RepeatSimple(Constraint):
    """The response is exactly the sentence of the instruction.

    Reference: the stripped response equals it, case aside. Fixed: spacing and one pair of
    surrounding quotes aside too.
    """

    id: ClassVar[str] = "repeat:repeat_simple"
    params = ()
    conflicts = exclusive_conflicts()
    phrasings = (SIMPLE_SENTENCE,)

    def _check(self, text: Text) -> Verdict:
        ok = text.raw.strip().lower() == SIMPLE_SENTENCE.lower()
        return Verdict.of(ok, "the sentence, exactly" if ok else "not exactly the sentence")

    def _check_fixed(self, text: Text) -> Verdict:
        got = " ".join(_unquote(text.raw).split()).lower()
        ok = got == SIMPLE_SENTENCE.lower()
        return Verdict.of(ok, "the sentence, exactly" if ok else "not exactly the sentence")


@register
class RepeatSpan(Constraint):
    """The span of the request between indices ``n_start`` and ``n_end`` (inclusive), and
    nothing else.

    Reference: *character* indices (``prompt_to_repeat[n_start:n_end + 1]``), compared
    stripped and case-insensitively, although the instruction says "word indices, split by
    whitespace". Fixed: the request's whitespace-separated words ``n_start``..``n_end``,
    exactly as written.
    """

    id: ClassVar[str] = "repeat:repeat_span"
    params = (
        Param("prompt_to_repeat", "str", "the request", sample=lambda r: ""),
        Param("n_start", "int", "first word index (0-based)", minimum=0),
        Param("n_end", "int", "last word index (inclusive)", minimum=0),
    )
    conflicts = exclusive_conflicts()
    phrasings = (
        "Copy the span of words that lies between (and including) index {n_start} and {n_end}, "
        "the indices are word indices, split by whitespace!",
    )

    def setup(self) -> None:
        request = _tokens(self.kwargs["prompt_to_repeat"])
        start, end = self.kwargs["n_start"], self.kwargs["n_end"]
        if end < start:
            raise ConstraintSpecError(self.id, "n_end", f"must be >= n_start ({start})")
        self._chars = self.kwargs["prompt_to_repeat"][start : end + 1].strip().lower()
        if self.semantics == "fixed" and end >= len(request):
            raise ConstraintSpecError(
                self.id, "n_end", f"the request has only {len(request)} words, got index {end}"
            )
        self._span = request[start : end + 1]

    @classmethod
    def sample_kwargs(cls, rng: Any, prompt: str = "") -> dict[str, Any]:
        request = prompt.strip() or _DEFAULT_REQUEST
        n = len(request.split())
        start = rng.randint(0, max(0, n - 2))
        return {"prompt_to_repeat": request, "n_start": start, "n_end": rng.randint(start, n - 1)}

    def _check(self, text: Text) -> Verdict:
        ok = text.raw.strip().lower() == self._chars
        return Verdict.of(ok, f"characters {self.kwargs['n_start']}..{self.kwargs['n_end']}")

    def _check_fixed(self, text: Text) -> Verdict:
        got = _tokens(_unquote(text.raw))
        ok = got == self._span
        return Verdict.of(ok, f"span of {len(self._span)} words {'copied' if ok else 'not copied'}")
