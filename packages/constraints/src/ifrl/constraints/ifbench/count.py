"""IFBench ``count:*``: conjunctions, keyword counts, numbers, names, pronouns, punctuation,
unique words, a word-count range and every N-th word in Japanese.

``_check`` decides as allenai/IFBench does; ``_check_fixed`` (``semantics="fixed"``) counts
what the instruction names where the reference counts something else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifbench._common import (
    PUNCT,
    drop_punct,
    is_japanese_char,
    ordinal,
    strip_punct,
    word_list,
    word_tokens,
    words,
)
from ifrl.constraints.ifeval._common import sample_words
from ifrl.constraints.params import ConstraintSpecError, Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

COORDINATING_CONJUNCTIONS = ("for", "and", "nor", "but", "or", "yet", "so")


def _n_param(name: str, help: str, lo: int, hi: int, minimum: int = 0) -> Param:
    return Param(name, "int", help, minimum=minimum, sample=lambda rng: rng.randint(lo, hi))


@register
class Conjunctions(Constraint):
    """At least ``small_n`` different coordinating conjunctions (FANBOYS).

    Reference: whitespace tokens that are a conjunction once punctuation is stripped, distinct
    as written (``and``, ``And`` and ``and,`` count as three). Fixed: distinct conjunctions,
    case and punctuation ignored.
    """

    id: ClassVar[str] = "count:conjunctions"
    params = (_n_param("small_n", "minimum number of different conjunctions", 2, 6),)
    phrasings = (
        "Use at least {small_n} different coordinating conjunctions in the response.",
        "Your answer must contain at least {small_n} distinct coordinating conjunctions "
        "(for, and, nor, but, or, yet, so).",
    )

    def _check(self, text: Text) -> Verdict:
        found = {w for w in text.raw.split() if strip_punct(w).lower() in COORDINATING_CONJUNCTIONS}
        ok = len(found) >= self.kwargs["small_n"]
        return Verdict.of(ok, f"{len(found)} different conjunction tokens {sorted(found)}")

    def _check_fixed(self, text: Text) -> Verdict:
        found = {w.lower() for w in words(text.raw)} & set(COORDINATING_CONJUNCTIONS)
        ok = len(found) >= self.kwargs["small_n"]
        return Verdict.of(ok, f"{len(found)} different conjunctions {sorted(found)}")


_MULTIPLE: tuple[tuple[str, int, str], ...] = (
    ("keyword1", 1, "once"),
    ("keyword2", 2, "twice"),
    ("keyword3", 3, "three times"),
    ("keyword4", 5, "five times"),
    ("keyword5", 7, "seven times"),
)


@register
class KeywordsMultiple(Constraint):
    """keyword1..keyword5 exactly 1, 2, 3, 5 and 7 times, any case.

    Reference: occurrences as substrings (``river`` is counted in ``rivers``). Fixed: whole
    words only.
    """

    id: ClassVar[str] = "count:keywords_multiple"
    params = tuple(Param(name, "str", f"occurs exactly {n} times") for name, n, _ in _MULTIPLE)
    conflicts = frozenset({"count:words_japanese"})
    phrasings = (
        "Include keyword {keyword1} once in your response, keyword {keyword2} twice in your "
        "response, keyword {keyword3} three times in your response, keyword {keyword4} five "
        "times in your response, and keyword {keyword5} seven times in your response.",
    )

    def setup(self) -> None:
        self._patterns = []
        for name, n, _ in _MULTIPLE:
            word = self.kwargs[name].strip()
            if not word:
                raise ConstraintSpecError(self.id, name, "must not be blank")
            pattern = re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE)
            self._patterns.append((word, n, pattern))
        lowered = [w.lower() for w, _, _ in self._patterns]
        if len(set(lowered)) != len(lowered):
            raise ConstraintSpecError(self.id, "keyword1", "the five keywords must differ")

    @classmethod
    def sample_kwargs(cls, rng: Any, prompt: str = "") -> dict[str, Any]:
        return dict(zip((name for name, _, _ in _MULTIPLE), sample_words(rng, 5)))

    def _check(self, text: Text) -> Verdict:
        wrong = []
        for word, n, _ in self._patterns:
            got = text.lower.count(word.lower())
            if got != n:
                wrong.append(f"{word!r} {got}x (want {n})")
        return Verdict.of(not wrong, "; ".join(wrong) or "all keyword counts exact")

    def _check_fixed(self, text: Text) -> Verdict:
        wrong = []
        for word, n, pattern in self._patterns:
            got = sum(1 for _ in pattern.finditer(text.raw))
            if got != n:
                wrong.append(f"{word!r} {got}x (want {n})")
        return Verdict.of(not wrong, "; ".join(wrong) or "all keyword counts exact")


# A numeral: digits with optional thousands separators / decimals ("1,000", "3.14", "2:30" is
# two numbers), not part of a longer alphanumeric token's digits counted twice.
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_DIGITS = re.compile(r"\d+")


@register
class Numbers(Constraint):
    """Exactly ``N`` numbers written with digits.

    Reference: digit runs once every punctuation mark is deleted ("1,000" and "3.14" are one
    number, but so are "12-15" and "2:30"). Fixed: "1,000" and "3.14" are one number, "12-15"
    and "2:30" two. Numbers spelled out in words are not counted in either.
    """

    id: ClassVar[str] = "count:numbers"
    params = (_n_param("N", "exact count of numbers", 1, 8),)
    phrasings = (
        "Include exactly {N} numbers in the response.",
        "Your response must contain exactly {N} numbers, written with digits.",
    )

    def _check(self, text: Text) -> Verdict:
        n = len(_DIGITS.findall(drop_punct(text.raw)))
        return Verdict.of(n == self.kwargs["N"], f"{n} digit runs without punctuation")

    def _check_fixed(self, text: Text) -> Verdict:
        n = sum(1 for _ in _NUMBER.finditer(text.raw))
        return Verdict.of(n == self.kwargs["N"], f"{n} numbers")


PERSON_NAMES = word_list(
    "Emma Liam Sophia Jackson Olivia Noah Ava Lucas Isabella Mason Mia Ethan Charlotte "
    "Alexander Amelia Benjamin Harper Leo Zoe Daniel Chloe Samuel Lily Matthew Grace Owen "
    "Abigail Gabriel Ella Jacob Scarlett Nathan Victoria Elijah Layla Nicholas Audrey David "
    "Hannah Christopher Penelope Thomas Nora Andrew Aria Joseph Claire Ryan Stella Jonathan"
)
_NAMES = tuple((name, re.compile(rf"\b{name}\b")) for name in PERSON_NAMES)


@register
class PersonNames(Constraint):
    """At least ``N`` different names from the 50 listed in the instruction (capitalised,
    whole words; "grace" or "Graceland" do not count). No fix."""

    id: ClassVar[str] = "count:person_names"
    params = (_n_param("N", "minimum number of different names", 2, 20, minimum=0),)
    phrasings = (
        "Mention at least {N} different person names in the response, from this list of person "
        "names: " + ", ".join(PERSON_NAMES) + " .",
    )

    def _check(self, text: Text) -> Verdict:
        found = [name for name, pattern in _NAMES if pattern.search(text.raw)]
        ok = len(found) >= self.kwargs["N"]
        return Verdict.of(ok, f"{len(found)} different listed names")


# The reference's pronoun list: personal, possessive (determiners included), reflexive,
# demonstrative, interrogative and relative, and indefinite words, quantifiers included.
REFERENCE_PRONOUNS = frozenset(
    word_list(
        """
    i me we us you he him she her it they them
    my mine our ours your yours his hers its their theirs
    myself ourselves yourself yourselves himself herself itself themselves
    this that these those who whom whose which what whoever whomever whatever whichever
    anybody anyone anything everybody everyone everything nobody nothing somebody someone
    something each either neither both all some any none
    """
    )
)

# Fixed: pronouns proper: personal, possessive (incl. possessive determiners, as school grammar
# counts them), reflexive, reciprocal parts, relative/interrogative who-forms and indefinite
# compounds.
# Words that are usually determiners or conjunctions ("that", "this", "which", "all", "some")
# are left out: counting every "that" would pass responses a reader would not.
PRONOUNS = frozenset(
    word_list(
        """
    i me my mine myself we us our ours ourselves you your yours yourself yourselves
    he him his himself she her hers herself it its itself they them their theirs themselves
    themself one's oneself who whom whose whoever whomever whatever whichever
    anybody anyone anything everybody everyone everything nobody nothing somebody someone
    something none
    """
    )
)


@register
class Pronouns(Constraint):
    """At least ``N`` pronouns (occurrences, any case).

    Reference: Treebank tokens of the lower-cased text (``/`` read as a space) found in
    :data:`REFERENCE_PRONOUNS`, which holds determiners and conjunctions too (``this``,
    ``that``, ``all``, ``each``). Fixed: words in :data:`PRONOUNS`, clitics included
    (``I'm``).
    """

    id: ClassVar[str] = "count:pronouns"
    params = (_n_param("N", "minimum number of pronouns", 5, 40),)
    phrasings = (
        "The response should include at least {N} pronouns.",
        "Use at least {N} pronouns in your answer.",
    )

    def _check(self, text: Text) -> Verdict:
        tokens = word_tokens(text.raw.replace("/", " ").lower())
        n = sum(1 for t in tokens if t in REFERENCE_PRONOUNS)
        return Verdict.of(n >= self.kwargs["N"], f"{n} pronoun tokens")

    def _check_fixed(self, text: Text) -> Verdict:
        n = 0
        for w in words(text.raw.replace("/", " ")):
            lw = w.lower().replace("’", "'")
            # a pronoun, or one with a clitic: I'm, you're, it's
            if lw in PRONOUNS or ("'" in lw and lw.split("'", 1)[0] in PRONOUNS):
                n += 1
        return Verdict.of(n >= self.kwargs["N"], f"{n} pronouns")


# The marks a style guide lists as standard punctuation, each with the characters accepted for
# it, plus the interrobang.
PUNCTUATION_MARKS: tuple[tuple[str, str], ...] = (
    ("period", "."),
    ("comma", ","),
    ("question mark", "?"),
    ("exclamation mark", "!"),
    ("semicolon", ";"),
    ("colon", ":"),
    ("apostrophe", "'’"),
    ("quotation marks", '"“”'),
    ("hyphen or dash", "-–—"),
    ("parentheses", "()"),
)
_INTERROBANG = re.compile(r"\?!|!\?|‽")
_KANA_KANJI = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")


@register
class Punctuation(Constraint):
    """Every standard punctuation mark at least once, plus an interrobang.

    Reference: an interrobang (``?!``, ``!?`` or ``‽``), and, once the first ``?!`` (else
    ``!?``) is taken out, each of ``. , ! ? ; :``. Fixed: each mark of
    :data:`PUNCTUATION_MARKS` (quotation marks, apostrophe, dash and parentheses too), the
    interrobang taken out first.
    """

    id: ClassVar[str] = "count:punctuation"
    params = ()
    phrasings = (
        "Use every standard punctuation mark at least once, including semicolons, colons, and "
        "the interrobang (?!).",
    )

    def _check(self, text: Text) -> Verdict:
        raw = text.raw
        if "?!" not in raw and "!?" not in raw and "‽" not in raw:
            return Verdict.of(False, "no interrobang (?!, !? or ‽)")
        rest = raw.replace("?!", "", 1)
        if len(rest) == len(raw):
            rest = raw.replace("!?", "", 1)
        missing = [c for c in ".,!?;:" if c not in rest]
        return Verdict.of(not missing, f"missing {missing}" if missing else "all marks used")

    def _check_fixed(self, text: Text) -> Verdict:
        raw = text.raw
        if not _INTERROBANG.search(raw):
            return Verdict.of(False, "no interrobang (?! or ‽)")
        rest = _INTERROBANG.sub(" ", raw, count=1)
        missing = [name for name, chars in PUNCTUATION_MARKS if not any(c in rest for c in chars)]
        return Verdict.of(not missing, f"missing {missing}" if missing else "all marks used")


@register
class UniqueWordCount(Constraint):
    """At least ``N`` different words (case-insensitive).

    Reference: distinct lower-cased whitespace tokens with punctuation stripped, where a token
    of punctuation only (``-``, ``...``) counts as the word ``""``. Fixed: distinct words.
    """

    id: ClassVar[str] = "count:unique_word_count"
    params = (_n_param("N", "minimum number of different words", 20, 150),)
    phrasings = (
        "Use at least {N} unique words in the response.",
        "Your answer must contain at least {N} different words.",
    )

    def _check(self, text: Text) -> Verdict:
        n = len({strip_punct(w) for w in text.lower.split()})
        return Verdict.of(n >= self.kwargs["N"], f"{n} unique tokens")

    def _check_fixed(self, text: Text) -> Verdict:
        n = len({w.lower() for w in words(text.raw)})
        return Verdict.of(n >= self.kwargs["N"], f"{n} unique words")


@register
class WordCountRange(Constraint):
    """Between ``min_words`` and ``max_words`` words, both included.

    Reference: ``\\w+`` runs (``don't`` is two words, ``well-known`` two). Fixed: words
    joined across inner apostrophes and hyphens.
    """

    id: ClassVar[str] = "count:word_count_range"
    params = (
        Param("min_words", "int", "minimum (inclusive)", minimum=0),
        Param("max_words", "int", "maximum (inclusive)", minimum=0),
    )
    conflicts = frozenset({"length_constraints:number_words"})
    phrasings = (
        "The response must contain between {min_words} and {max_words} words.",
        "Write between {min_words} and {max_words} words.",
    )

    def setup(self) -> None:
        if self.kwargs["min_words"] > self.kwargs["max_words"]:
            raise ConstraintSpecError(self.id, "max_words", "must be >= min_words")

    @classmethod
    def sample_kwargs(cls, rng: Any, prompt: str = "") -> dict[str, Any]:
        lo = rng.randint(20, 300)
        return {"min_words": lo, "max_words": lo + rng.randint(max(2, lo // 20), max(3, lo // 10))}

    def _check(self, text: Text) -> Verdict:
        n = text.word_count
        ok = self.kwargs["min_words"] <= n <= self.kwargs["max_words"]
        return Verdict.of(ok, f"{n} \\w+ words")

    def _check_fixed(self, text: Text) -> Verdict:
        n = len(words(text.raw))
        ok = self.kwargs["min_words"] <= n <= self.kwargs["max_words"]
        return Verdict.of(ok, f"{n} words")


@register
class WordsJapanese(Constraint):
    """Every ``N``-th word is Japanese.

    Reference: every ``N``-th whitespace token (punctuation stripped; empty tokens and numbers
    pass) contains a kana or CJK ideograph; a response shorter than ``N`` tokens passes.
    Fixed: tokens that are only punctuation are not words; a word is Japanese when all its
    letters are kana or kanji; there must be at least one ``N``-th word.
    """

    id: ClassVar[str] = "count:words_japanese"
    params = (_n_param("N", "period of the Japanese words", 2, 30, minimum=1),)
    conflicts = frozenset({"language:response_language", "change_case:english_lowercase"})
    phrasings = (
        "Every {nth} word of your response must be in Japanese.",
        "Make every {nth} word of your answer a Japanese word.",
    )

    @classmethod
    def render_kwargs(cls, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        return {**kwargs, "nth": ordinal(kwargs["N"])}

    def _check(self, text: Text) -> Verdict:
        n = self.kwargs["N"]
        for i, token in enumerate(text.raw.split()):
            word = strip_punct(token)
            if (i + 1) % n == 0 and word and not word.isdigit() and not _KANA_KANJI.search(word):
                return Verdict.of(False, f"token {i + 1} {word[:30]!r} has no Japanese character")
        return Verdict.of(True, f"every {ordinal(n)} token has a Japanese character")

    def _check_fixed(self, text: Text) -> Verdict:
        n = self.kwargs["N"]
        tokens = [t.strip(PUNCT) for t in text.raw.split()]
        tokens = [t for t in tokens if t]
        if len(tokens) < n:
            return Verdict.of(False, f"only {len(tokens)} words, no {ordinal(n)} word")
        for i in range(n - 1, len(tokens), n):
            letters = [c for c in tokens[i] if c.isalpha()]
            if not letters or not all(is_japanese_char(c) for c in letters):
                return Verdict.of(False, f"word {i + 1} {tokens[i][:30]!r} is not Japanese")
        return Verdict.of(True, f"every {ordinal(n)} word is Japanese")
