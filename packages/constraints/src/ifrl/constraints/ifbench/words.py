"""IFBench ``words:*``: letter, syllable, length and position rules on the response's words.

Reference: words are whitespace tokens (most rules delete punctuation first) or, for the
position rules, ``nltk.word_tokenize`` tokens. Fixed: words are those of
:func:`ifrl.constraints.ifbench._common.words` (letters/digits joined across inner hyphens and
apostrophes); rules about letters look at a word's letters only, with accents removed (``é``
is an ``e``).
"""

from __future__ import annotations

import itertools
import string
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifbench import resources
from ifrl.constraints.ifbench._common import (
    alnum_tokens,
    drop_punct,
    ordinal,
    paragraphs,
    sentences,
    strip_punct,
    words,
)
from ifrl.constraints.ifeval._common import sample_words
from ifrl.constraints.params import ConstraintSpecError, Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

VOWELS = frozenset("aeiou")
CONSONANTS = frozenset("bcdfghjklmnpqrstvwxyz")
_ALPHABET = string.ascii_lowercase
_SMALL_PRIMES = frozenset(p for p in range(2, 98) if all(p % d for d in range(2, p)))
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


_STRIP = string.punctuation + " "


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
    """Each word starts with the letter after the previous word's first letter (Z wraps to A).

    Reference: whitespace tokens of the text with punctuation deleted; the first must start
    with an ASCII letter; one word passes. Fixed: at least two words; accents stripped.
    """

    id: ClassVar[str] = "words:alphabet"
    params = ()
    conflicts = _WORD_RULES
    phrasings = (
        "Each word in your response must start with the next letter of the alphabet, looping "
        "back to 'A' after 'Z'.",
    )

    def _check(self, text: Text) -> Verdict:
        ws = drop_punct(text.raw).strip(" ").split()
        if not ws:
            return Verdict.of(False, "no words")
        letter = ws[0][0].lower()
        if letter not in _ALPHABET:
            return Verdict.of(False, f"first word {ws[0][:20]!r} does not start with a-z")
        for i, w in enumerate(ws[1:], 2):
            w = strip_punct(w).lower()
            if not w:
                continue
            letter = _ALPHABET[(_ALPHABET.index(letter) + 1) % 26]
            if w[0] != letter:
                return Verdict.of(False, f"word {i} {w[:20]!r} does not start with {letter!r}")
        return Verdict.of(True, f"{len(ws)} words in alphabetical sequence")

    def _check_fixed(self, text: Text) -> Verdict:
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
    """Every word contains a consonant cluster: two consonant letters in a row.

    Reference: every lower-cased whitespace token, punctuation and numbers included, has two
    adjacent letters of ``bcdfghjklmnpqrstvwxyz``. Fixed: words only (numbers aside), accents
    stripped, ``y`` a consonant only first or before a vowel.
    """

    id: ClassVar[str] = "words:consonants"
    params = ()
    conflicts = frozenset({"words:alphabet", "words:prime_lengths", "words:vowel"})
    phrasings = (
        "Ensure each word in your response has at least one consonant cluster (two or more "
        "consonants together).",
    )

    def _check(self, text: Text) -> Verdict:
        for w in text.lower.strip().split():
            if not any(a in CONSONANTS and b in CONSONANTS for a, b in itertools.pairwise(w)):
                return Verdict.of(False, f"{w[:30]!r} has no consonant cluster")
        return Verdict.of(True, "every token has a consonant cluster")

    def _check_fixed(self, text: Text) -> Verdict:
        ws = _letter_words(text.raw)
        bad = next((w for w in ws if not has_consonant_cluster(w)), None)
        if bad is not None:
            return Verdict.of(False, f"{bad!r} has no consonant cluster")
        return Verdict.of(bool(ws), f"{len(ws)} words, each with a consonant cluster")


def _eq(a: str, b: str) -> bool:
    return a.lower().replace("’", "'") == b.lower().replace("’", "'")


@register
class KeywordSpecificPosition(Constraint):
    """``keyword`` is word ``m`` of sentence ``n`` (1-based, case-insensitive).

    Reference: the words of a sentence (``nltk.sent_tokenize``) are its Treebank tokens that
    hold a letter or digit, so ``don't`` is two words (``do``, ``n't``). Fixed: sentences end
    at line breaks, ``don't`` is one word.
    """

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
        sents = text.sentences
        if len(sents) < n:
            return Verdict.of(False, f"only {len(sents)} sentences")
        ws = alnum_tokens(sents[n - 1])
        if len(ws) < m:
            return Verdict.of(False, f"sentence {n} has only {len(ws)} words")
        ok = ws[m - 1].lower() == kw.lower()
        return Verdict.of(ok, f"word {m} of sentence {n} is {ws[m - 1]!r}")

    def _check_fixed(self, text: Text) -> Verdict:
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
    """Each sentence's last word is the next sentence's first word (case-insensitive).

    Reference: whitespace tokens of ``nltk.sent_tokenize`` sentences, outer punctuation
    stripped; one sentence passes. Fixed: at least two sentences, line breaks end sentences.
    """

    id: ClassVar[str] = "words:last_first"
    params = ()
    conflicts = frozenset({"words:alphabet", "words:no_consecutive"})
    phrasings = (
        "In your response, the last word of each sentence must become the first word of the next "
        "sentence.",
    )

    def _check(self, text: Text) -> Verdict:
        sents = text.sentences
        for i in range(len(sents) - 1):
            last = sents[i].rstrip(_STRIP).split()
            first = sents[i + 1].lstrip(_STRIP).split()
            if not last or not first:
                return Verdict.of(False, f"sentence {i + 1} or {i + 2} has no word")
            if last[-1].lower() != first[0].lower():
                return Verdict.of(
                    False, f"sentence {i + 1} ends {last[-1]!r}, next starts {first[0]!r}"
                )
        return Verdict.of(True, f"{len(sents)} sentences chained")

    def _check_fixed(self, text: Text) -> Verdict:
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
    """No two consecutive words start with the same letter (case-insensitive).

    Reference: whitespace tokens of the lower-cased text with punctuation deleted, numbers
    included. Fixed: words' first letters, accents stripped; numbers do not count.
    """

    id: ClassVar[str] = "words:no_consecutive"
    params = ()
    conflicts = frozenset({"words:alphabet", "sentence:alliteration_increment"})
    phrasings = ("No two consecutive words can share the same first letter.",)

    def _check(self, text: Text) -> Verdict:
        ws = drop_punct(text.lower).split()
        for a, b in itertools.pairwise(ws):
            if a[0] == b[0]:
                return Verdict.of(False, f"{a[:20]!r} and {b[:20]!r} share {a[0]!r}")
        return Verdict.of(True, f"{len(ws)} tokens, no consecutive pair shares a first character")

    def _check_fixed(self, text: Text) -> Verdict:
        ws = words(text.raw)
        for a, b in itertools.pairwise(ws):
            fa, fb = letters(a[0]), letters(b[0])
            if fa and fa == fb:
                return Verdict.of(False, f"{a!r} and {b!r} share {fa!r}")
        return Verdict.of(True, f"{len(ws)} words, no consecutive pair shares a first letter")


@register
class OddEvenSyllables(Constraint):
    """Consecutive words alternate between odd and even syllable counts.

    Reference: syllables of each whitespace token (punctuation deleted) as ``syllapy`` counts
    them (its word table, else its vowel-group rule; a token with a digit has 0); one word
    passes. Fixed: the CMU Pronouncing Dictionary (``syllapy``'s table has errors such as
    ``added`` = 1), at least two words, numbers skipped.
    """

    id: ClassVar[str] = "words:odd_even_syllables"
    params = ()
    conflicts = _WORD_RULES
    phrasings = ("Alternate between words with odd and even numbers of syllables.",)

    def _check(self, text: Text) -> Verdict:
        ws = [w for w in drop_punct(text.raw).lower().split() if w.strip()]
        counts = [resources.reference_syllables(w) for w in ws]
        for i in range(1, len(ws)):
            if counts[i] % 2 == counts[i - 1] % 2:
                return Verdict.of(
                    False,
                    f"{ws[i - 1]!r} ({counts[i - 1]}) and {ws[i]!r} ({counts[i]}) same parity",
                )
        return Verdict.of(True, f"{len(ws)} words alternate odd/even syllables")

    def _check_fixed(self, text: Text) -> Verdict:
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
    """At least 10 single-word palindromes of 5+ characters.

    Reference: lower-cased whitespace tokens (punctuation deleted) that read the same
    backwards, repeats counted (``level`` ten times passes). Fixed: 10 different palindromes.
    """

    id: ClassVar[str] = "words:palindrome"
    params = ()
    phrasings = ("Include at least 10 single-word palindromes, each at least 5 characters long.",)

    def _check(self, text: Text) -> Verdict:
        found = [w for w in drop_punct(text.raw).lower().split() if len(w) >= 5 and w == w[::-1]]
        return Verdict.of(len(found) >= 10, f"{len(found)} palindrome tokens")

    def _check_fixed(self, text: Text) -> Verdict:
        found = set()
        for w in words(text.raw):
            lw = letters(w)
            if len(lw) >= 5 and lw == lw[::-1]:
                found.add(lw)
        return Verdict.of(len(found) >= 10, f"{len(found)} different palindromes {sorted(found)}")


@register
class ParagraphLastFirst(Constraint):
    """Every paragraph (line) ends with the word it starts with (case-insensitive).

    Reference: a line's whitespace tokens once outer punctuation is stripped, inner
    punctuation kept (``Hello, my friend, hello`` starts ``hello,``: fails); a one-word line
    passes. Fixed: words, at least two per paragraph.
    """

    id: ClassVar[str] = "words:paragraph_last_first"
    params = ()
    conflicts = frozenset({"format:newline", "format:line_indent", "words:alphabet"})
    phrasings = (
        "Each paragraph of your response must end with the same word it started with, separate "
        "paragraphs with a newline.",
    )

    def _check(self, text: Text) -> Verdict:
        for i, line in enumerate(text.raw.split("\n"), 1):
            ws = strip_punct(line.strip().lower()).split()
            if ws and ws[0] != ws[-1]:
                return Verdict.of(False, f"line {i} starts {ws[0]!r} but ends {ws[-1]!r}")
        return Verdict.of(True, "every line ends with its first word")

    def _check_fixed(self, text: Text) -> Verdict:
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
    """Every word's length is a prime number.

    Reference: whitespace tokens with punctuation deleted, lengths up to 97. Fixed: words'
    letters and digits (a stand-alone dash or emoji is not a word).
    """

    id: ClassVar[str] = "words:prime_lengths"
    params = ()
    conflicts = _WORD_RULES
    phrasings = ("Use only words with lengths that are prime numbers.",)

    def _check(self, text: Text) -> Verdict:
        for w in drop_punct(text.raw).split():
            if len(w) not in _SMALL_PRIMES:
                return Verdict.of(False, f"{w[:30]!r} has {len(w)} characters")
        return Verdict.of(True, "every token has a prime length")

    def _check_fixed(self, text: Text) -> Verdict:
        ws = words(text.raw)
        for w in ws:
            n = sum(1 for c in w if c.isalnum())
            if n not in _PRIMES:
                return Verdict.of(False, f"{w!r} has {n} characters")
        return Verdict.of(True, f"{len(ws)} words of prime length")


@register
class Repeats(Constraint):
    """No word occurs more than ``small_n`` times (case-insensitive).

    Reference: lower-cased whitespace tokens with punctuation deleted. Fixed: words.
    """

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
        counts = Counter(drop_punct(text.lower).split())
        if not counts:
            return Verdict.of(True, "no words")
        word, n = counts.most_common(1)[0]
        return Verdict.of(n <= self.kwargs["small_n"], f"most repeated: {word!r} {n} times")

    def _check_fixed(self, text: Text) -> Verdict:
        counts = Counter(w.lower().replace("’", "'") for w in words(text.raw))
        if not counts:
            return Verdict.of(True, "no words")
        word, n = counts.most_common(1)[0]
        return Verdict.of(n <= self.kwargs["small_n"], f"most repeated: {word!r} {n} times")


@register
class StartVerb(Constraint):
    """The response starts with a verb.

    Reference: the first ``nltk.word_tokenize`` token; the reference asks NLTK's
    part-of-speech tagger (not installable offline), ours whether lemminflect's lexicon lists
    a verb reading for the token, so a word that *can* be a verb passes whatever its role
    here ("Design is key"). Fixed: the first word, markdown and quotes skipped.
    """

    id: ClassVar[str] = "words:start_verb"
    params = ()
    conflicts = frozenset({"words:alphabet", "repeat:repeat_simple"})
    phrasings = ("The response must start with a verb.", "Begin your answer with a verb.")

    def _check(self, text: Text) -> Verdict:
        tokens = text.tokens
        if not tokens:
            return Verdict.of(False, "no tokens")
        ok = resources.can_be_verb(tokens[0])
        return Verdict.of(ok, f"first token {tokens[0]!r} {'is' if ok else 'is not'} a verb")

    def _check_fixed(self, text: Text) -> Verdict:
        ws = words(text.raw)
        if not ws:
            return Verdict.of(False, "no words")
        ok = resources.can_be_verb(ws[0])
        return Verdict.of(ok, f"first word {ws[0]!r} {'is' if ok else 'is not'} a verb")


@register
class Vowel(Constraint):
    """One paragraph (a single line) using at most three different vowels (a, e, i, o, u).

    Reference: the stripped text has no line break and at most three of ``aeiou`` occur in it
    (``é`` is not a vowel). Fixed: a single non-blank line; accented vowels count as their
    base letter.
    """

    id: ClassVar[str] = "words:vowel"
    params = ()
    conflicts = _WORD_RULES | {"length_constraints:number_paragraphs", "format:sub-bullets"}
    phrasings = ("Write a paragraph using words that contain only three types of vowels.",)

    def _check(self, text: Text) -> Verdict:
        lines = text.raw.strip().split("\n")
        if len(lines) != 1:
            return Verdict.of(False, f"{len(lines)} lines, not one paragraph")
        used = VOWELS.intersection(lines[0].lower())
        return Verdict.of(len(used) <= 3, f"vowels used: {''.join(sorted(used))}")

    def _check_fixed(self, text: Text) -> Verdict:
        paras = paragraphs(text.raw)
        if len(paras) != 1:
            return Verdict.of(False, f"{len(paras)} paragraphs, not one")
        used = {c for w in words(paras[0]) for c in letters(w) if c in VOWELS}
        return Verdict.of(len(used) <= 3, f"vowels used: {''.join(sorted(used))}")


@register
class WordsPosition(Constraint):
    """The second word and the second-to-last word are both ``keyword`` (case-insensitive).

    Reference: ``nltk.word_tokenize`` tokens, punctuation tokens counted as words except one
    final mark (``Yes, keyword ...`` has ``,`` as its second word). Fixed: words.
    """

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
        tokens, kw = text.tokens, self.kwargs["keyword"].strip().lower()
        if tokens and tokens[-1] in string.punctuation:
            tokens = tokens[:-1]
        if len(tokens) < 2:
            return Verdict.of(False, "fewer than two tokens")
        ok = tokens[1].lower() == tokens[-2].lower() == kw
        return Verdict.of(ok, f"second token {tokens[1]!r}, second to last {tokens[-2]!r}")

    def _check_fixed(self, text: Text) -> Verdict:
        ws = words(text.raw)
        if len(ws) < 2:
            return Verdict.of(False, "fewer than two words")
        kw = self.kwargs["keyword"].strip()
        ok = _eq(ws[1], kw) and _eq(ws[-2], kw)
        return Verdict.of(ok, f"second word {ws[1]!r}, second to last {ws[-2]!r}")
