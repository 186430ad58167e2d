"""A Penn-Treebank-style word tokenizer matching ``nltk.word_tokenize`` token boundaries.

IFEval's ``change_case:capital_word_frequency`` counts the all-capital tokens that
``nltk.word_tokenize`` yields: Punkt sentences, then the "improved Treebank" rules (quotes,
punctuation, brackets, dashes, clitics such as ``n't``/``'s`` and a few fused forms such as
``cannot``). This module applies those conventions as a sequence of regex rewrites over each
sentence and splits on whitespace. It is written for Python >= 3.10 (no possessive
quantifiers) and is checked against NLTK in the tests when NLTK is installed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ifrl.constraints.nlp.sentences import split_sentences

# (pattern, replacement, characters of which one must occur for the pattern to match)
_Rule = tuple["re.Pattern[str]", "str | Callable[[re.Match[str]], str]", str]


def _rules(*triples: tuple[str, str, str], flags: int = 0) -> list[_Rule]:
    return [(re.compile(p, flags), r, needs) for p, r, needs in triples]


# Characters that may follow a text-final period: the first rule also allows typographic
# closers and spaces, the second only ASCII closers.
_CLOSERS_WIDE = "])}>\"'»”’ "
_CLOSERS_ASCII = "\\]\\)}>\"'"

# 1. Opening quotes: typographic/backtick quotes are padded, a leading '"' and a '"' after an
#    opening bracket or space become ``, and a quote that opens a word (not a clitic) is cut off.
_OPENING = _rules(
    ("([«“‘„]|`+)", r" \1 ", "«“‘„`"),
    ('^"', "``", '"'),
    ("(``)", r" \1 ", "`"),
    ("([ (\\[{<])(\"|'{2})", r"\1 `` ", "\"'"),
    ("(?i)(?<!\\w)(')(?!(?:re|ve|ll|m|t|s|d|n)\\b)(?=\\w)", r"\1 ", "'"),
)

# 2. Punctuation. The final period of the text (before closing quotes/brackets) is split off
#    twice over, as the reference does: once allowing spaces among the closers (done by
#    _split_final_period, as a regex would backtrack quadratically on long runs of spaces),
#    once not.
_PUNCT = _rules(
    ("([:,])([^\\d])", r" \1 \2", ":,"),
    ("([:,])$", r" \1 ", ":,"),
    ("\\.{2,}", r" \g<0> ", "."),
    ("[;@#$%&]", r" \g<0> ", ";@#$%&"),
    ("[\u2012-\u2015]", r" \g<0> ", "\u2012\u2013\u2014\u2015"),
    (f"([^.])(\\.)([{_CLOSERS_ASCII}]*)\\s*$", r"\1 \2\3 ", "."),
    ("[?!]", r" \g<0> ", "?!"),
    ("([^'])' ", r"\1 ' ", "'"),
    ("[*]", r" \g<0> ", "*"),
    ("[\\][(){}<>]", r" \g<0> ", "[](){}<>"),
    ("--", r" -- ", "-"),
)

# 3. Closing quotes and clitics (run on the text padded with a space at each end).
_CLOSING = _rules(
    ("([»”’])", r" \1 ", "»”’"),
    ("''", " '' ", "'"),
    ('"', " '' ", '"'),
    ("\\s+", " ", ""),
    ("([^' ])('[sS]|'[mM]|'[dD]|') ", r"\1 \2 ", "'"),
    ("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", r"\1 \2 ", "'"),
)

# 4. Fused forms split in two ("cannot" -> "can not", "gonna" -> "gon na", "'tis" -> "'t is").
_FUSED = _rules(
    ("\\b(can)(not)\\b", r" \1 \2 ", ""),
    ("\\b(d)('ye)\\b", r" \1 \2 ", ""),
    ("\\b(gim)(me)\\b", r" \1 \2 ", ""),
    ("\\b(gon)(na)\\b", r" \1 \2 ", ""),
    ("\\b(got)(ta)\\b", r" \1 \2 ", ""),
    ("\\b(lem)(me)\\b", r" \1 \2 ", ""),
    ("\\b(more)('n)\\b", r" \1 \2 ", ""),
    ("\\b(wan)(na)(?=\\s)", r" \1 \2 ", ""),
    (" ('t)(is)\\b", r" \1 \2 ", ""),
    (" ('t)(was)\\b", r" \1 \2 ", ""),
    flags=re.IGNORECASE,
)


def _split_final_period(text: str) -> str:
    """``re.sub(r"([^.])(\\.)([CLOSERS ]*)\\s*$", r"\\1 \\2 \\3 ", text)`` in linear time.

    Only the last period can match (nothing after it may be a period); it must follow a
    non-period character and be followed by closers/spaces, then whitespace to the end.
    """
    p = text.rfind(".")
    if p < 1 or text[p - 1] == ".":
        return text
    tail = text[p + 1 :]
    k = 0
    while k < len(tail) and tail[k] in _CLOSERS_WIDE:
        k += 1
    if tail[k:] and not tail[k:].isspace():
        return text
    return text[:p] + " . " + tail[:k] + " "


def _apply(rules: list[_Rule], text: str) -> str:
    # A rule runs only when one of the characters it needs is present. The rewrites add no
    # character but spaces, backticks and apostrophes, so the text's characters at the start
    # plus those three are a superset of what any later rule can meet.
    chars = set(text)
    chars.update(" `'")
    for pattern, repl, needs in rules:
        if not needs or not chars.isdisjoint(needs):
            text = pattern.sub(repl, text)
    return text


_FUSED_WORDS = ("cannot", "d'ye", "gimme", "gonna", "gotta", "lemme", "more'n", "wanna", "'t")


def splits_letters(sentence: str) -> bool:
    """Whether a rule may split ``sentence`` (ASCII) inside a run of letters: a clitic such
    as ``n't`` or a fused form such as ``cannot``."""
    lower = sentence.lower()
    return any(w in lower for w in _FUSED_WORDS)


def tokenize_sentence(sentence: str) -> list[str]:
    """Treebank tokens of one sentence."""
    return list(sentence_tokens(sentence))


def clear_caches() -> None:
    """Forget the memoised tokens of sentences (for benchmarks)."""
    sentence_tokens.cache_clear()


@lru_cache(maxsize=8192)
def sentence_tokens(sentence: str) -> tuple[str, ...]:
    """Treebank tokens of one sentence, memoised (a response's loose variants share most of
    their sentences)."""
    text = _apply(_PUNCT, _split_final_period(_apply(_OPENING, sentence)))
    text = _apply(_CLOSING, " " + text + " ")
    # The fused forms match case-insensitively; for ASCII text a lower-cased substring test
    # decides whether any can match (non-ASCII text always runs them: Unicode case folding
    # has equivalents such as the Kelvin sign for "k").
    if not text.isascii() or any(w in text.lower() for w in _FUSED_WORDS):
        text = _apply(_FUSED, text)
    return tuple(text.split())


def word_tokenize(text: str) -> list[str]:
    """Treebank tokens of ``text`` after Punkt sentence splitting (``nltk.word_tokenize``)."""
    return [tok for sentence in split_sentences(text) for tok in sentence_tokens(sentence)]
