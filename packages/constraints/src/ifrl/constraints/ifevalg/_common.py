"""Shared pieces of the IFEvalG types: their ids, the rule-based sentence splitter and word
helpers the reference checkers use.

open-instruct's IFEvalG splits sentences with a rule-based splitter (not NLTK's Punkt): the text
is padded, line breaks become spaces, periods that do not end a sentence (titles such as ``Mr.``,
web suffixes such as ``.com``, decimals, ellipses, initials, acronyms, company suffixes) are
protected, a closing quote after a final mark is moved before it, and the text is cut after
every remaining ``.``, ``?`` and ``!``. :func:`rule_sentences` applies the same rewrites in the
same order; an ellipsis both stays in its sentence and ends it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ifrl.constraints.ifeval.ids import IFEVAL_IDS

IFEVALG_IDS = (
    "copy:repeat_phrase",
    "copy:copy",
    "new:copy_span_idx",
    "detectable_format:sentence_hyphens",
    "keywords:no_adjacent_consecutive",
    "detectable_format:square_brackets",
    "keywords:word_once",
    "keywords:word_count_different_numbers",
    "keywords:exclude_word_harder",
    "paragraphs:paragraphs",
    "paragraphs:paragraphs2",
    "first_word:first_word_sent",
    "first_word:first_word_answer",
    "last_word:last_word_sent",
    "last_word:last_word_answer",
    "detectable_format:bigram_wrapping",
    "copy:copying_simple",
    "copy:copying_multiple",
    "punctuation:punctuation_dot",
    "punctuation:punctuation_exclamation",
    "count:lowercase_counting",
    "letters:letter_counting",
    "letters:letter_counting2",
    "count:counting_composition",
    "count:count_unique",
    "count:count_increment_word",
    "keywords:palindrome",
    "keywords:keyword_specific_position",
    "keywords:start_end",
)
"""The 29 instruction types open-instruct's IFEvalG adds to IFEval's 25 (its ``New
Constraints!`` block, in its order)."""

# Types whose answer is a given text (copies of the prompt): IFEvalG lets them share a prompt
# with nothing else.
EXCLUSIVE = frozenset(IFEVAL_IDS) | frozenset(IFEVALG_IDS)

# The reference marks protected periods and cuts with these tags, so a text that contains a tag
# itself is cut there too; we use the same tags to decide the same.
_STOP, _PRD = "<stop>", "<prd>"
_STARTERS = (
    r"(Mr|Mrs|Ms|Dr|Prof|Capt|Cpt|Lt|He\s|She\s|It\s|They\s|Their\s|Our\s|We\s|But\s"
    r"|However\s|That\s|This\s|Wherever)"
)
_LETTER = "([A-Za-z])"
_SUFFIXES = "(Inc|Ltd|Jr|Sr|Co)"
_Rewrite = tuple["re.Pattern[str]", "str | Callable[[re.Match[str]], str]"]


def _rule(pattern: str, replacement: str | Callable[[re.Match[str]], str]) -> _Rewrite:
    return re.compile(pattern), replacement


# (pattern, replacement) in the reference's order; \1, \2 keep the captured letters.
_BEFORE_SPECIAL = (
    _rule(r"(Mr|St|Mrs|Ms|Dr)[.]", rf"\1{_PRD}"),
    _rule(r"[.](com|net|org|io|gov|edu|me)", rf"{_PRD}\1"),
    _rule(r"([0-9])[.]([0-9])", rf"\1{_PRD}\2"),
    _rule(r"\.{2,}", lambda m: _PRD * len(m.group(0)) + _STOP),
)
_AFTER_SPECIAL = (
    _rule(r"\s" + _LETTER + "[.] ", rf" \1{_PRD} "),
    _rule(r"([A-Z][.][A-Z][.](?:[A-Z][.])?) " + _STARTERS, rf"\1{_STOP} \2"),
    _rule(_LETTER + "[.]" + _LETTER + "[.]" + _LETTER + "[.]", rf"\1{_PRD}\2{_PRD}\3{_PRD}"),
    _rule(_LETTER + "[.]" + _LETTER + "[.]", rf"\1{_PRD}\2{_PRD}"),
    _rule(" " + _SUFFIXES + "[.] " + _STARTERS, rf" \1{_STOP} \2"),
    _rule(" " + _SUFFIXES + "[.]", rf" \1{_PRD}"),
    _rule(" " + _LETTER + "[.]", rf" \1{_PRD}"),
)


@lru_cache(maxsize=1024)
def rule_sentences(text: str) -> tuple[str, ...]:
    """IFEvalG's sentences of ``text`` (see the module docstring), stripped; a trailing empty
    piece is dropped, empty pieces elsewhere are kept (the reference keeps them)."""
    work = " " + text + "  "
    work = work.replace("\n", " ")
    for pattern, replacement in _BEFORE_SPECIAL:
        work = pattern.sub(replacement, work)
    if "Ph.D" in work:
        work = work.replace("Ph.D.", f"Ph{_PRD}D{_PRD}")
    for pattern, replacement in _AFTER_SPECIAL:
        work = pattern.sub(replacement, work)
    for closer in ("”", '"'):
        if closer in work:
            work = work.replace("." + closer, closer + ".")
    if "!" in work:
        work = work.replace('!"', '"!')
    if "?" in work:
        work = work.replace('?"', '"?')
    for mark in ".?!":
        work = work.replace(mark, mark + _STOP)
    work = work.replace(_PRD, ".")
    pieces = [p.strip() for p in work.split(_STOP)]
    if pieces and not pieces[-1]:
        pieces.pop()
    return tuple(pieces)


def count_matches(keyword: str, text: str) -> int:
    """Case-insensitive occurrences of ``keyword`` in ``text`` (non-overlapping substrings;
    the reference compiles the keyword as a regular expression, we match it literally: the
    two agree on every keyword without regex metacharacters)."""
    return len(re.findall(re.escape(keyword), text, flags=re.IGNORECASE))


def paragraph_count(pieces: list[str]) -> int | None:
    """The reference's paragraph count of split ``pieces``: blank first and last pieces are not
    paragraphs, a blank piece in the middle makes the count ``None`` (the check fails)."""
    n = len(pieces)
    for i, piece in enumerate(pieces):
        if not piece.strip():
            if i in (0, len(pieces) - 1):
                n -= 1
            else:
                return None
    return n


__all__ = ["EXCLUSIVE", "IFEVALG_IDS", "count_matches", "paragraph_count", "rule_sentences"]
