"""IFBench ``ratio:*``: trigram overlap with a reference, sentence-type ratios, three
equal-length sentences, and the share of stop words.

A sentence's type is read from its final mark, looking past closing quotes, brackets,
markdown and emoji: ``.`` (or an ellipsis) declarative, ``?`` interrogative, ``!``
exclamatory; a fragment without one (a heading) has no type and is not counted.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifbench import resources
from ifrl.constraints.ifbench._common import sentences, words
from ifrl.constraints.params import Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_ENDS = {".": "declarative", "…": "declarative", "?": "interrogative", "!": "exclamatory"}


def sentence_type(sentence: str) -> str | None:
    """``"declarative"``, ``"interrogative"``, ``"exclamatory"`` or ``None`` (no final mark)."""
    for ch in reversed(sentence):
        if ch in _ENDS:
            return _ENDS[ch]
        if ch.isalnum():
            return None
    return None


def type_counts(text: str) -> dict[str, int]:
    counts = {"declarative": 0, "interrogative": 0, "exclamatory": 0}
    for s in sentences(text):
        kind = sentence_type(s)
        if kind:
            counts[kind] += 1
    return counts


def trigrams(text: str) -> set[tuple[str, str, str]]:
    """Distinct lower-cased word trigrams (punctuation ignored)."""
    ws = [w.lower().replace("’", "'") for w in words(text)]
    return set(zip(ws, ws[1:], ws[2:]))


@register
class Overlap(Constraint):
    """The share of the response's distinct word trigrams found in ``reference_text`` is within
    ``percentage`` ± 2 points; a response with no trigram fails."""

    id: ClassVar[str] = "ratio:overlap"
    params = (
        Param("reference_text", "str", "the text to overlap with", sample=lambda r: ""),
        Param("percentage", "int", "target overlap in %", minimum=0, maximum=100),
    )
    phrasings = (
        "Maintain a trigram overlap of {percentage}% (±2%) with the provided reference text.",
    )

    @classmethod
    def sample_kwargs(cls, rng: Any, prompt: str = "") -> dict[str, Any]:
        return {
            "reference_text": prompt or "Describe the water cycle in a few sentences.",
            "percentage": rng.randint(5, 95),
        }

    def setup(self) -> None:
        self._ref = trigrams(self.kwargs["reference_text"])

    def _check(self, text: Text) -> Verdict:
        grams = trigrams(text.raw)
        if not grams:
            return Verdict.of(False, "no trigram")
        pct = 100 * len(grams & self._ref) / len(grams)
        target = self.kwargs["percentage"]
        ok = target - 2 <= pct <= target + 2
        return Verdict.of(ok, f"trigram overlap {pct:.1f}% (target {target}±2%)")


@register
class SentenceBalance(Constraint):
    """As many declarative as interrogative as exclamatory sentences, at least one of each."""

    id: ClassVar[str] = "ratio:sentence_balance"
    params = ()
    conflicts = frozenset({"ratio:sentence_type", "format:no_bullets_bullets"})
    phrasings = (
        "Ensure that the ratio of sentence types (declarative, interrogative, exclamatory) in "
        "your response is balanced.",
    )

    def _check(self, text: Text) -> Verdict:
        c = type_counts(text.raw)
        ok = c["declarative"] == c["interrogative"] == c["exclamatory"] >= 1
        return Verdict.of(ok, ", ".join(f"{v} {k}" for k, v in c.items()))


@register
class SentenceType(Constraint):
    """Exactly twice as many declarative as interrogative sentences, at least one question
    (an answer with no sentence, or no question, does not pass)."""

    id: ClassVar[str] = "ratio:sentence_type"
    params = ()
    conflicts = frozenset({"ratio:sentence_balance"})
    phrasings = (
        "Maintain a 2:1 ratio of declarative to interrogative sentences in your response.",
    )

    def _check(self, text: Text) -> Verdict:
        c = type_counts(text.raw)
        d, q = c["declarative"], c["interrogative"]
        ok = q >= 1 and d == 2 * q
        return Verdict.of(ok, f"{d} declarative, {q} interrogative")


@register
class SentenceWords(Constraint):
    """Exactly three sentences of the same length, no word used twice across them.

    Length is counted in characters of the stripped sentence; counting without spaces is also
    accepted (both readings of "the same number of characters").
    """

    id: ClassVar[str] = "ratio:sentence_words"
    params = ()
    conflicts = frozenset(
        {"ratio:sentence_balance", "ratio:sentence_type", "sentence:increment", "words:repeats"}
    )
    phrasings = (
        "Respond with three sentences, all containing the same number of characters but using "
        "all different words.",
    )

    def _check(self, text: Text) -> Verdict:
        sents = sentences(text.raw)
        if len(sents) != 3:
            return Verdict.of(False, f"{len(sents)} sentences, not 3")
        full = [len(s) for s in sents]
        compact = [sum(1 for c in s if not c.isspace()) for s in sents]
        if len(set(full)) != 1 and len(set(compact)) != 1:
            return Verdict.of(False, f"sentence lengths {full} (without spaces {compact})")
        seen: set[str] = set()
        for w in words(" ".join(sents)):
            lw = w.lower().replace("’", "'")
            if lw in seen:
                return Verdict.of(False, f"{w!r} is used twice")
            seen.add(lw)
        return Verdict.of(True, f"3 sentences of {full[0]} characters, all words different")


@register
class StopWords(Constraint):
    """Stop words (our function-word list) are at most ``percentage`` % of all words."""

    id: ClassVar[str] = "ratio:stop_words"
    params = (
        Param(
            "percentage",
            "int",
            "maximum share of stop words in %",
            minimum=0,
            maximum=100,
            sample=lambda r: r.randint(20, 50),
        ),
    )
    phrasings = (
        "Ensure that stop words constitute no more than {percentage}% of the total words in your "
        "response.",
    )

    def _check(self, text: Text) -> Verdict:
        ws = [w.lower().replace("’", "'") for w in words(text.raw)]
        if not ws:
            return Verdict.of(False, "no words")
        stops = resources.stop_words()
        pct = 100 * sum(1 for w in ws if w in stops) / len(ws)
        return Verdict.of(pct <= self.kwargs["percentage"], f"{pct:.1f}% stop words")
