"""Shared pieces of the IFBench families: words, sentences, paragraphs, ids, phrasing helpers.

Reference conventions (allenai/IFBench's checkers, which the default semantics reproduce):
``string.punctuation`` is what gets stripped or deleted (:func:`strip_punct`,
:func:`drop_punct`), sentences are ``nltk.sent_tokenize`` of the whole text
(:attr:`Text.sentences`) and tokens ``nltk.word_tokenize`` (:attr:`Text.tokens`,
:func:`word_tokens`).

Fixed conventions (``semantics="fixed"``): words are runs of letters/digits, joined across
inner hyphens and apostrophes (``don't``, ``well-known`` are one word) and across the
separators of a number (``3.14``, ``1,000``); sentences are the Punkt (English) sentences of
each non-blank line: a line break always ends a sentence, as a reader sees a list item as its
own unit; headings (markdown ``#`` lines and wholly bold lines) are not sentences.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

from ifrl.constraints.ifeval.ids import IFEVAL_IDS
from ifrl.constraints.nlp.sentences import split_sentences
from ifrl.constraints.nlp.treebank import word_tokenize

# a markdown heading, or a line that is wholly bold (a common heading style)
HEADING = re.compile(r"^\s{0,3}#{1,6}\s|^\s*\*\*[^*\n]+\*\*:?\s*$")
WORD = re.compile(r"\d+(?:[.,:]\d+)+|[^\W_]+(?:[-'’][^\W_]+)*")
PUNCT = string.punctuation + "“”‘’«»…–—"
_STRIP = string.punctuation + " "
_DELETE = str.maketrans("", "", string.punctuation)


def strip_punct(text: str) -> str:
    """``text.strip(string.punctuation + " ")``: the reference's way to clean a word."""
    return text.strip(_STRIP)


def drop_punct(text: str) -> str:
    """``text`` without any ``string.punctuation`` character (the reference's ``translate``)."""
    return text.translate(_DELETE)


def word_tokens(text: str) -> list[str]:
    """``nltk.word_tokenize(text)`` (Punkt sentences, then Treebank tokens)."""
    return word_tokenize(text)


def alnum_tokens(text: str) -> list[str]:
    """The reference's words of ``text``: its Treebank tokens that contain a letter or digit."""
    return [t for t in word_tokenize(text) if any(ch.isalnum() for ch in t)]


# Every IFBench id, by family (the order of IFBench's own listing).
IFBENCH_IDS = (
    "count:conjunctions",
    "count:keywords_multiple",
    "count:numbers",
    "count:person_names",
    "count:pronouns",
    "count:punctuation",
    "count:unique_word_count",
    "count:word_count_range",
    "count:words_japanese",
    "custom:character_reverse",
    "custom:csv_city",
    "custom:csv_quotes",
    "custom:csv_special_character",
    "custom:date_format_list",
    "custom:european_capitals_sort",
    "custom:mcq_count_length",
    "custom:multiples",
    "custom:reverse_newline",
    "custom:sentence_alphabet",
    "custom:word_reverse",
    "format:emoji",
    "format:line_indent",
    "format:list",
    "format:newline",
    "format:no_bullets_bullets",
    "format:no_whitespace",
    "format:options",
    "format:output_template",
    "format:parentheses",
    "format:quote_unquote",
    "format:quotes",
    "format:sub-bullets",
    "format:thesis",
    "format:title_case",
    "ratio:overlap",
    "ratio:sentence_balance",
    "ratio:sentence_type",
    "ratio:sentence_words",
    "ratio:stop_words",
    "repeat:repeat_change",
    "repeat:repeat_simple",
    "repeat:repeat_span",
    "sentence:alliteration_increment",
    "sentence:increment",
    "sentence:keyword",
    "words:alphabet",
    "words:consonants",
    "words:keywords_specific_position",
    "words:last_first",
    "words:no_consecutive",
    "words:odd_even_syllables",
    "words:palindrome",
    "words:paragraph_last_first",
    "words:prime_lengths",
    "words:repeats",
    "words:start_verb",
    "words:vowel",
    "words:words_position",
)

# Types whose answer has a fixed shape (a given text, CSV, a list of dates...): combined with
# any other constraint they would contradict it, so synthesis keeps them alone.
EXCLUSIVE = frozenset(
    cid for cid in IFBENCH_IDS if cid.startswith(("custom:", "repeat:"))
) | frozenset({"format:options", "format:no_whitespace"})


def exclusive_conflicts() -> frozenset[str]:
    """Every IFEval and IFBench id: what an exclusive type conflicts with."""
    return frozenset(IFBENCH_IDS) | frozenset(IFEVAL_IDS)


@lru_cache(maxsize=512)
def words(text: str) -> tuple[str, ...]:
    """The words of ``text`` in order (see the module docstring)."""
    return tuple(m.group() for m in WORD.finditer(text))


@lru_cache(maxsize=512)
def sentences(text: str) -> tuple[str, ...]:
    """The sentences of ``text``: Punkt sentences of each non-blank, non-heading line, stripped."""
    out: list[str] = []
    for line in text.split("\n"):
        if line.strip() and not HEADING.match(line):
            out.extend(s.strip() for s in split_sentences(line) if s.strip())
    return tuple(out)


def paragraphs(text: str, separator: str = "\n") -> list[str]:
    """Non-blank chunks of ``text`` split on ``separator``, stripped."""
    return [p.strip() for p in text.split(separator) if p.strip()]


def word_list(text: str) -> tuple[str, ...]:
    """The whitespace-separated items of a word-list literal."""
    return tuple(text.split())


_SUFFIX = {1: "st", 2: "nd", 3: "rd"}


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``22nd``."""
    suffix = "th" if 10 <= n % 100 <= 20 else _SUFFIX.get(n % 10, "th")
    return f"{n}{suffix}"


def is_japanese_char(ch: str) -> bool:
    """Hiragana, katakana (incl. half-width), CJK ideographs, the iteration mark and ``ー``."""
    o = ord(ch)
    return (
        0x3040 <= o <= 0x30FF  # hiragana, katakana, ー
        or 0x31F0 <= o <= 0x31FF  # katakana phonetic extensions
        or 0xFF66 <= o <= 0xFF9F  # half-width katakana
        or 0x4E00 <= o <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= o <= 0x4DBF  # extension A
        or ch in "々〆ヵヶ"
    )
