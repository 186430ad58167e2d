"""IFBench ``ratio:*``: trigram overlap with a reference, sentence-type ratios, three
equal-length sentences, and the share of stop words.

Reference: a sentence (``nltk.sent_tokenize``) is declarative, interrogative or exclamatory
when its last character is ``.``, ``?`` or ``!``. Fixed: a sentence's type is read from its
final mark, looking past closing quotes, brackets, markdown and emoji (``.`` or an ellipsis
declarative, ``?`` interrogative, ``!`` exclamatory); a fragment without one (a heading) has
no type and is not counted.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifbench import resources
from ifrl.constraints.ifbench._common import sentences, words
from ifrl.constraints.params import Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_WORD_RUN = re.compile(r"\w+")
_ENDS = {".": "declarative", "…": "declarative", "?": "interrogative", "!": "exclamatory"}


def sentence_type(sentence: str) -> str | None:
    """``"declarative"``, ``"interrogative"``, ``"exclamatory"`` or ``None`` (no final mark)."""
    for ch in reversed(sentence):
        if ch in _ENDS:
            return _ENDS[ch]
        if ch.isalnum():
            return None
    return None


def ending_counts(sentences: list[str]) -> tuple[int, int, int]:
    """The reference's (declarative, interrogative, exclamatory) counts: sentences whose last
    character is ``.``, ``?``, ``!``."""
    ends = [s[-1:] for s in sentences]
    return ends.count("."), ends.count("?"), ends.count("!")


def type_counts(text: str) -> dict[str, int]:
    counts = {"declarative": 0, "interrogative": 0, "exclamatory": 0}
    for s in sentences(text):
        kind = sentence_type(s)
        if kind:
            counts[kind] += 1
    return counts


def char_trigrams(text: str) -> set[tuple[str, str, str]]:
    """Distinct character trigrams (the reference's ``nltk.ngrams(text, 3)`` on a string)."""
    return set(zip(text, text[1:], text[2:]))


def trigrams(text: str) -> set[tuple[str, str, str]]:
    """Distinct lower-cased word trigrams (punctuation ignored)."""
    ws = [w.lower().replace("’", "'") for w in words(text)]
    return set(zip(ws, ws[1:], ws[2:]))


@register
class Overlap(Constraint):
    """The share of the response's distinct trigrams found in ``reference_text`` is within
    ``percentage`` ± 2 points; a response with no trigram fails.

    Reference: character trigrams. Fixed: word trigrams (lower-cased, punctuation ignored), as
    the instruction ("trigram overlap") means.
    """

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
        if self.semantics == "fixed":
            self._ref = trigrams(self.kwargs["reference_text"])
        else:
            self._ref = char_trigrams(self.kwargs["reference_text"])

    def _check(self, text: Text) -> Verdict:
        grams = char_trigrams(text.raw)
        if not grams:
            return Verdict.of(False, "no trigram")
        overlap = len(grams & self._ref) / len(grams)
        target = self.kwargs["percentage"]
        ok = target - 2 <= overlap * 100 <= target + 2
        return Verdict.of(ok, f"character trigram overlap {overlap:.1%} (target {target}±2%)")

    def _check_fixed(self, text: Text) -> Verdict:
        grams = trigrams(text.raw)
        if not grams:
            return Verdict.of(False, "no trigram")
        pct = 100 * len(grams & self._ref) / len(grams)
        target = self.kwargs["percentage"]
        ok = target - 2 <= pct <= target + 2
        return Verdict.of(ok, f"trigram overlap {pct:.1f}% (target {target}±2%)")


@register
class SentenceBalance(Constraint):
    """As many declarative as interrogative as exclamatory sentences.

    Reference: counts by last character, so a response with none of the three passes (0:0:0).
    Fixed: at least one of each, types read past closing quotes and emoji.
    """

    id: ClassVar[str] = "ratio:sentence_balance"
    params = ()
    conflicts = frozenset({"ratio:sentence_type", "format:no_bullets_bullets"})
    phrasings = (
        "Ensure that the ratio of sentence types (declarative, interrogative, exclamatory) in "
        "your response is balanced.",
    )

    def _check(self, text: Text) -> Verdict:
        d, q, e = ending_counts(text.sentences)
        return Verdict.of(d == q == e, f"{d} '.', {q} '?', {e} '!' sentences")

    def _check_fixed(self, text: Text) -> Verdict:
        c = type_counts(text.raw)
        ok = c["declarative"] == c["interrogative"] == c["exclamatory"] >= 1
        return Verdict.of(ok, ", ".join(f"{v} {k}" for k, v in c.items()))


@register
class SentenceType(Constraint):
    """Exactly twice as many declarative as interrogative sentences.

    Reference: counts by last character, so a response without ``.`` or ``?`` sentences passes
    (0 = 2 x 0). Fixed: at least one question, types read past closing quotes and emoji.
    """

    id: ClassVar[str] = "ratio:sentence_type"
    params = ()
    conflicts = frozenset({"ratio:sentence_balance"})
    phrasings = (
        "Maintain a 2:1 ratio of declarative to interrogative sentences in your response.",
    )

    def _check(self, text: Text) -> Verdict:
        d, q, _ = ending_counts(text.sentences)
        return Verdict.of(d == 2 * q, f"{d} '.' and {q} '?' sentences")

    def _check_fixed(self, text: Text) -> Verdict:
        c = type_counts(text.raw)
        d, q = c["declarative"], c["interrogative"]
        ok = q >= 1 and d == 2 * q
        return Verdict.of(ok, f"{d} declarative, {q} interrogative")


@register
class SentenceWords(Constraint):
    """Three sentences of the same number of characters, using all different words.

    Reference: exactly three sentences of equal stripped length; words are not checked (``Cat.
    Cat. Cat.`` passes). Fixed: no word used twice across them, and lengths counted with or
    without spaces (both readings of "the same number of characters").
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
        sents = text.sentences
        lengths = [len(s.strip()) for s in sents]
        ok = len(sents) == 3 and len(set(lengths)) == 1
        return Verdict.of(ok, f"{len(sents)} sentences of {lengths} characters")

    def _check_fixed(self, text: Text) -> Verdict:
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
    """Stop words are at most ``percentage`` % of the ``\\w+`` words (a response without words
    fails). The reference takes NLTK's English stop-word corpus, which is not installable
    offline; ours is our own function-word list (:func:`resources.stop_words`), so verdicts
    near the threshold may differ from the reference's. No fix."""

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
        ws = [w.lower() for w in _WORD_RUN.findall(text.raw)]
        if not ws:
            return Verdict.of(False, "no words")
        stops = resources.stop_words()
        pct = (sum(1 for w in ws if w in stops) / len(ws)) * 100
        return Verdict.of(pct <= self.kwargs["percentage"], f"{pct:.1f}% stop words")
