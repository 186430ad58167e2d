"""IFBench ``words:*``: letter, syllable, length and position rules on the response's words.

Words are those of :func:`ifrl.constraints.ifbench._common.words` (letters/digits joined across
inner hyphens and apostrophes); rules about letters look at a word's letters only, with
accents removed (``é`` is an ``e``).
"""

from __future__ import annotations

import itertools
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifbench import resources
from ifrl.constraints.ifbench._common import ordinal, paragraphs, sentences, words
from ifrl.constraints.ifeval._common import sample_words
from ifrl.constraints.params import ConstraintSpecError, Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

VOWELS = frozenset("aeiou")
_WORD_RULES = frozenset(
    {
        "words:alphabet",
        "words:consonants",
        "words:no_consecutive",
        "words:odd_even_syllables",
        "words:prime_lengths",
        "words:vowel",
        "format:newline",
    }
)


@lru_cache(maxsize=65536)
def letters(word: str) -> str:
    """The lower-case ASCII base letters of ``word`` (accents stripped, other chars dropped)."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if c.isalpha() and c.isascii())


def _letter_words(text: str) -> list[str]:
    """Words that contain a letter (numbers are not words for letter rules)."""
    return [w for w in words(text) if any(c.isalpha() for c in w)]


@register
class Alphabet(Constraint):
    """Each word starts with the letter after the previous word's first letter (Z wraps to A);
    at least two words; a word not starting with a letter breaks the chain."""

    id: ClassVar[str] = "words:alphabet"
    params = ()
    conflicts = _WORD_RULES
    phrasings = (
        "Each word in your response must start with the next letter of the alphabet, looping "
        "back to 'A' after 'Z'.",
    )

    def _check(self, text: Text) -> Verdict:
        ws = words(text.raw)
        if len(ws) < 2:
            return Verdict.of(False, "fewer than two words")
        prev = ""
        for i, w in enumerate(ws):
            first = letters(w[0])
            if not first:
                return Verdict.of(False, f"word {i + 1} {w!r} does not start with a letter")
            if prev and first != chr((ord(prev) - ord("a") + 1) % 26 + ord("a")):
                return Verdict.of(False, f"word {i + 1} {w!r} does not follow {prev!r}")
            prev = first
        return Verdict.of(True, f"{len(ws)} words in alphabetical sequence")


def has_consonant_cluster(word: str) -> bool:
    """Two adjacent consonant letters; ``y`` is a consonant only before a vowel or first."""
    w = letters(word)
    cons = []
    for i, c in enumerate(w):
        if c in VOWELS:
            cons.append(False)
        elif c == "y":
            cons.append(i == 0 or (i + 1 < len(w) and w[i + 1] in VOWELS))
        else:
            cons.append(True)
    return any(a and b for a, b in itertools.pairwise(cons))


@register
class Consonants(Constraint):
    """Every word (numbers aside) contains a consonant cluster: two consonant letters in a row."""

    id: ClassVar[str] = "words:consonants"
    params = ()
    conflicts = frozenset({"words:alphabet", "words:prime_lengths", "words:vowel"})
    phrasings = (
        "Ensure each word in your response has at least one consonant cluster (two or more "
        "consonants together).",
    )

    def _check(self, text: Text) -> Verdict:
        ws = _letter_words(text.raw)
        bad = next((w for w in ws if not has_consonant_cluster(w)), None)
        if bad is not None:
            return Verdict.of(False, f"{bad!r} has no consonant cluster")
        return Verdict.of(bool(ws), f"{len(ws)} words, each with a consonant cluster")


def _eq(a: str, b: str) -> bool:
    return a.lower().replace("’", "'") == b.lower().replace("’", "'")


@register
class KeywordSpecificPosition(Constraint):
    """``keyword`` is word ``m`` of sentence ``n`` (1-based; sentences as in the module doc)."""

    id: ClassVar[str] = "words:keywords_specific_position"
    params = (
        Param("keyword", "str", "the word", sample=lambda rng: sample_words(rng, 1)[0]),
        Param("n", "int", "sentence number (1-based)", minimum=1, sample=lambda r: r.randint(1, 8)),
        Param("m", "int", "word number (1-based)", minimum=1, sample=lambda r: r.randint(1, 12)),
    )
    conflicts = frozenset({"words:keywords_specific_position"}) | _WORD_RULES
    phrasings = (
        "Include keyword {keyword} in the {nth} sentence, as the {mth} word of that sentence.",
    )

    def setup(self) -> None:
        if not self.kwargs["keyword"].strip():
            raise ConstraintSpecError(self.id, "keyword", "must not be blank")

    @classmethod
    def render_kwargs(cls, kwargs: Any) -> dict[str, Any]:
        return {**kwargs, "nth": _hyphen_ordinal(kwargs["n"]), "mth": _hyphen_ordinal(kwargs["m"])}

    def _check(self, text: Text) -> Verdict:
        n, m, kw = self.kwargs["n"], self.kwargs["m"], self.kwargs["keyword"].strip()
        sents = sentences(text.raw)
        if len(sents) < n:
            return Verdict.of(False, f"only {len(sents)} sentences")
        ws = words(sents[n - 1])
        if len(ws) < m:
            return Verdict.of(False, f"sentence {n} has only {len(ws)} words")
        ok = _eq(ws[m - 1], kw)
        return Verdict.of(ok, f"word {m} of sentence {n} is {ws[m - 1]!r}")


def _hyphen_ordinal(n: int) -> str:
    """IFBench writes ``22-nd``, ``23-rd``, ``8-th``."""
    o = ordinal(n)
    return f"{o[:-2]}-{o[-2:]}"


@register
class LastFirst(Constraint):
    """At least two sentences; each sentence's last word is the next sentence's first word."""

    id: ClassVar[str] = "words:last_first"
    params = ()
    conflicts = frozenset({"words:alphabet", "words:no_consecutive"})
    phrasings = (
        "In your response, the last word of each sentence must become the first word of the next "
        "sentence.",
    )

    def _check(self, text: Text) -> Verdict:
        sents = [s for s in sentences(text.raw) if words(s)]
        if len(sents) < 2:
            return Verdict.of(False, "fewer than two sentences")
        for i in range(len(sents) - 1):
            last, first = words(sents[i])[-1], words(sents[i + 1])[0]
            if not _eq(last, first):
                return Verdict.of(False, f"sentence {i + 1} ends {last!r}, next starts {first!r}")
        return Verdict.of(True, f"{len(sents)} sentences chained")


@register
class NoConsecutive(Constraint):
    """No two consecutive words start with the same letter (case-insensitive)."""

    id: ClassVar[str] = "words:no_consecutive"
    params = ()
    conflicts = frozenset({"words:alphabet", "sentence:alliteration_increment"})
    phrasings = ("No two consecutive words can share the same first letter.",)

    def _check(self, text: Text) -> Verdict:
        ws = words(text.raw)
        for a, b in itertools.pairwise(ws):
            fa, fb = letters(a[0]), letters(b[0])
            if fa and fa == fb:
                return Verdict.of(False, f"{a!r} and {b!r} share {fa!r}")
        return Verdict.of(True, f"{len(ws)} words, no consecutive pair shares a first letter")


@register
class OddEvenSyllables(Constraint):
    """Consecutive words alternate between odd and even syllable counts (CMU dictionary);
    at least two words; numbers are skipped."""

    id: ClassVar[str] = "words:odd_even_syllables"
    params = ()
    conflicts = _WORD_RULES
    phrasings = ("Alternate between words with odd and even numbers of syllables.",)

    def _check(self, text: Text) -> Verdict:
        ws = _letter_words(text.raw)
        if len(ws) < 2:
            return Verdict.of(False, "fewer than two words")
        parity = [resources.syllables(w) % 2 for w in ws]
        for i in range(1, len(ws)):
            if parity[i] == parity[i - 1]:
                a, b = ws[i - 1], ws[i]
                return Verdict.of(
                    False,
                    f"{a!r} ({resources.syllables(a)}) and {b!r} ({resources.syllables(b)}) "
                    "have the same parity",
                )
        return Verdict.of(True, f"{len(ws)} words alternate odd/even syllables")


@register
class Palindromes(Constraint):
    """At least 10 different words of 5+ letters that read the same backwards."""

    id: ClassVar[str] = "words:palindrome"
    params = ()
    phrasings = ("Include at least 10 single-word palindromes, each at least 5 characters long.",)

    def _check(self, text: Text) -> Verdict:
        found = set()
        for w in words(text.raw):
            lw = letters(w)
            if len(lw) >= 5 and lw == lw[::-1]:
                found.add(lw)
        return Verdict.of(len(found) >= 10, f"{len(found)} different palindromes {sorted(found)}")


@register
class ParagraphLastFirst(Constraint):
    """Every paragraph (non-blank line) has at least two words, and its last word equals its
    first word (case-insensitive)."""

    id: ClassVar[str] = "words:paragraph_last_first"
    params = ()
    conflicts = frozenset({"format:newline", "format:line_indent", "words:alphabet"})
    phrasings = (
        "Each paragraph of your response must end with the same word it started with, separate "
        "paragraphs with a newline.",
    )

    def _check(self, text: Text) -> Verdict:
        paras = paragraphs(text.raw)
        for i, p in enumerate(paras, 1):
            ws = words(p)
            if len(ws) < 2:
                return Verdict.of(False, f"paragraph {i} has fewer than two words")
            if not _eq(ws[0], ws[-1]):
                return Verdict.of(False, f"paragraph {i} starts {ws[0]!r} but ends {ws[-1]!r}")
        return Verdict.of(bool(paras), f"{len(paras)} paragraphs")


_PRIMES = frozenset(p for p in range(2, 200) if all(p % d for d in range(2, int(p**0.5) + 1)))


@register
class PrimeLengths(Constraint):
    """Every word's length (letters and digits, not hyphens/apostrophes) is a prime number."""

    id: ClassVar[str] = "words:prime_lengths"
    params = ()
    conflicts = _WORD_RULES
    phrasings = ("Use only words with lengths that are prime numbers.",)

    def _check(self, text: Text) -> Verdict:
        ws = words(text.raw)
        for w in ws:
            n = sum(1 for c in w if c.isalnum())
            if n not in _PRIMES:
                return Verdict.of(False, f"{w!r} has {n} characters")
        return Verdict.of(True, f"{len(ws)} words of prime length")


@register
class Repeats(Constraint):
    """No word occurs more than ``small_n`` times (case-insensitive)."""

    id: ClassVar[str] = "words:repeats"
    params = (
        Param("small_n", "int", "maximum repetitions", minimum=1, sample=lambda r: r.randint(2, 5)),
    )
    conflicts = frozenset({"count:keywords_multiple"})
    phrasings = (
        "The response should not repeat any word more than {small_n} times.",
        "Do not use any word more than {small_n} times.",
    )

    def _check(self, text: Text) -> Verdict:
        counts = Counter(w.lower().replace("’", "'") for w in words(text.raw))
        if not counts:
            return Verdict.of(True, "no words")
        word, n = counts.most_common(1)[0]
        return Verdict.of(n <= self.kwargs["small_n"], f"most repeated: {word!r} {n} times")


@register
class StartVerb(Constraint):
    """The first word can be read as a verb (lemminflect's lexicon lists a verb form for it)."""

    id: ClassVar[str] = "words:start_verb"
    params = ()
    conflicts = frozenset({"words:alphabet", "repeat:repeat_simple"})
    phrasings = ("The response must start with a verb.", "Begin your answer with a verb.")

    def _check(self, text: Text) -> Verdict:
        ws = words(text.raw)
        if not ws:
            return Verdict.of(False, "no words")
        ok = resources.can_be_verb(ws[0])
        return Verdict.of(ok, f"first word {ws[0]!r} {'is' if ok else 'is not'} a verb")


@register
class Vowel(Constraint):
    """One paragraph (a single non-blank line) whose words use at most three different vowel
    letters (a, e, i, o, u; accents stripped)."""

    id: ClassVar[str] = "words:vowel"
    params = ()
    conflicts = _WORD_RULES | {"length_constraints:number_paragraphs", "format:sub-bullets"}
    phrasings = ("Write a paragraph using words that contain only three types of vowels.",)

    def _check(self, text: Text) -> Verdict:
        paras = paragraphs(text.raw)
        if len(paras) != 1:
            return Verdict.of(False, f"{len(paras)} paragraphs, not one")
        used = {c for w in words(paras[0]) for c in letters(w) if c in VOWELS}
        return Verdict.of(len(used) <= 3, f"vowels used: {''.join(sorted(used))}")


@register
class WordsPosition(Constraint):
    """The second word and the second-to-last word are both ``keyword`` (case-insensitive)."""

    id: ClassVar[str] = "words:words_position"
    params = (Param("keyword", "str", "the word", sample=lambda rng: sample_words(rng, 1)[0]),)
    conflicts = _WORD_RULES
    phrasings = (
        "The second word in your response and the second to last word in your response should "
        "be the word {keyword}.",
    )

    def setup(self) -> None:
        if not self.kwargs["keyword"].strip():
            raise ConstraintSpecError(self.id, "keyword", "must not be blank")

    def _check(self, text: Text) -> Verdict:
        ws = words(text.raw)
        if len(ws) < 2:
            return Verdict.of(False, "fewer than two words")
        kw = self.kwargs["keyword"].strip()
        ok = _eq(ws[1], kw) and _eq(ws[-2], kw)
        return Verdict.of(ok, f"second word {ws[1]!r}, second to last {ws[-2]!r}")
