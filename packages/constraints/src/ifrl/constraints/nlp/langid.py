"""Deterministic language identification, giving exactly ``langdetect.detect``'s answers.

IFEval checks ``language:response_language`` and the ``change_case:english_*`` types with
``langdetect`` seeded with 0. This module runs the same algorithm on ``langdetect``'s own
profiles (n-gram extraction, seven seeded random-walk trials with the same float operations
in the same order, so the same random draws and the same result) but faster: characters are
normalised once through a cache, n-grams are read word by word (cached per word), a draw
looks up only the drawn n-gram's profile vector (a NumPy array: the same IEEE operations,
element by element, as langdetect's Python loop), the draws are ``Random.choice``'s own
(``getrandbits`` until below the count) without its call overhead, and results are memoised
per text.

The seed is always 0: the answer for a text never changes between runs or processes.

:func:`score_language` is the deterministic alternative of the fixed semantics: every n-gram
of the text scored once against every profile (naive Bayes with langdetect's mean smoothing),
no random draws, so the answer depends on the whole text and on nothing else.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from itertools import chain
from operator import add
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # NumPy is imported when the profiles load (it is slow to import)
    import numpy as np

_URL = re.compile(r"https?://[-_.?&~;+=/#0-9A-Za-z]{1,2076}")
_MAIL = re.compile(r"[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}")
_SPACES = re.compile(" {2,}")
_LATIN = re.compile("[A-z]")  # langdetect's 'A' <= ch <= 'z' (includes [\\]^_`)
# Characters from U+0300 on, except the Latin Extended Additional block (U+1E00-U+1EFF).
_NON_LATIN = re.compile("[^\x00-\u02ff\u1e00-\u1eff]")
_MAX_CHARS = 10000
_MARGIN = 2100  # longer than any URL/e-mail match (2,084 characters)
_TRIALS = 7
_ALPHA = 0.5
_ALPHA_WIDTH = 0.05
_BASE_FREQ = 10000
_CONVERGED = 0.99999
_MAX_ITERATIONS = 1000
_PROB_THRESHOLD = 0.1
_MAX_WORDS = 200_000  # words whose n-grams are kept
SEED = 0


class _Profiles:
    """langdetect's profiles (same files, same language order) plus caches.

    Profile vectors (one probability per language for an n-gram) are built on first use, as
    langdetect computes them (``count / n_words[len - 1]``, ``0.0`` where a language lacks the
    n-gram), instead of for all 180k n-grams up front: loading is a JSON read and memory stays
    small.
    """

    def __init__(self) -> None:
        import numpy  # slow to import: loaded with the profiles, on the first detection
        from langdetect.detector_factory import PROFILES_DIRECTORY
        from langdetect.utils.ngram import NGram

        self.np = numpy
        self.langs: list[str] = []
        self._freqs: list[dict[str, int]] = []
        self._totals: list[list[int]] = []
        # os.listdir order, as langdetect's DetectorFactory.load_profile (it fixes how
        # probabilities are summed, hence the exact floats)
        for name in os.listdir(PROFILES_DIRECTORY):
            path = os.path.join(PROFILES_DIRECTORY, name)
            if name.startswith(".") or not os.path.isfile(path):
                continue
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            self.langs.append(data["name"])
            self._freqs.append(data["freq"])
            self._totals.append(data["n_words"])
        self.known: frozenset[str] = frozenset().union(*self._freqs)
        self._vectors: dict[str, np.ndarray] = {}
        self._factors: dict[float, dict[str, np.ndarray]] = {}
        self.normalize_vi = NGram.normalize_vi
        self._table = _NormTable(NGram.normalize)
        self._words: dict[str, tuple[list[str], list[str]]] = {}
        self.prior = numpy.full(len(self.langs), 1.0 / len(self.langs))

    def vector(self, gram: str) -> np.ndarray:
        """langdetect's per-language probabilities of ``gram`` (a known n-gram)."""
        vec = self._vectors.get(gram)
        if vec is None:
            k = len(gram) - 1
            if 0 <= k < 3:
                vec = self.np.array(
                    [
                        1.0 * f[gram] / t[k] if gram in f else 0.0
                        for f, t in zip(self._freqs, self._totals)
                    ]
                )
            else:
                vec = self.np.zeros(len(self.langs))
            self._vectors[gram] = vec
        return vec

    def factors(self, weight: float) -> tuple[dict[str, np.ndarray], Callable[[str], np.ndarray]]:
        """A table ``gram -> weight + vector(gram)`` and the function that fills it, cached
        per weight (at most a few weights are kept across texts: only the first two trials'
        weights recur)."""
        table = self._factors.get(weight)
        if table is None:
            if len(self._factors) >= 4:
                self._factors.clear()
            table = self._factors[weight] = {}
        return table, _filler(table, weight, self.vector)

    def normalize(self, text: str) -> str:
        return text.translate(self._table)

    def word_ngrams(self, word: str) -> tuple[list[str], list[str]]:
        """(n-grams read inside `` word`` and those a following space adds, the inside ones
        alone), cached."""
        got = self._words.get(word)
        if got is None:
            if len(self._words) > _MAX_WORDS:
                self._words.clear()
            core, tail = _word_ngrams(word, self.known)
            got = self._words[word] = (core + tail, core)
        return got


class _NormTable(dict):  # type: ignore[type-arg]
    """``str.translate`` table filled on demand with langdetect's per-character normalisation."""

    def __init__(self, normalize: Any) -> None:
        super().__init__()
        self._normalize = normalize

    def __missing__(self, code: int) -> str:
        value: str = self._normalize(chr(code))
        self[code] = value
        return value


@lru_cache(maxsize=1)
def _profiles() -> _Profiles:
    return _Profiles()


def _clean(text: str, prof: _Profiles) -> str:
    """URLs and e-mail addresses replaced by a space, Vietnamese diacritics normalised."""
    return prof.normalize_vi(_MAIL.sub(" ", _URL.sub(" ", text)))


def _head(text: str, prof: _Profiles) -> str:
    """``_clean(text)[:10000]`` without cleaning all of a long text.

    A match is at most 2,084 characters long and becomes one space, so when cleaning a prefix
    yields at least ``10000 + _MARGIN`` characters, its first 10,000 come from input before any
    match the cut could have changed: they equal those of the cleaned whole text.
    """
    size = _MAX_CHARS + 2 * _MARGIN
    while size < len(text):
        cleaned = _clean(text[:size], prof)
        if len(cleaned) >= _MAX_CHARS + _MARGIN:
            return cleaned[:_MAX_CHARS]
        size *= 2
    return _clean(text, prof)[:_MAX_CHARS]


def _prepare(text: str, prof: _Profiles) -> str:
    """langdetect's text cleaning: URLs/e-mails out, Vietnamese normalised, 10k chars, spaces
    collapsed, and Latin letters dropped when non-Latin characters dominate."""
    text = _head(text, prof)
    if "  " in text:
        text = _SPACES.sub(" ", text)
    if _NON_LATIN.search(text):  # else no non-Latin character: nothing to compare
        latin = len(_LATIN.findall(text))
        nonlatin = len(_NON_LATIN.findall(text))
        if latin * 2 < nonlatin:
            text = _LATIN.sub("", text)
    return text


def _word_ngrams(word: str, vectors: frozenset[str]) -> tuple[list[str], list[str]]:
    """The n-grams langdetect's rolling buffer yields while reading `` word``, and the extra
    ones it yields when a space follows the word."""
    padded = " " + word
    tail = [g for g in (padded[-1] + " ", padded[-2:] + " ") if g in vectors]
    if len(word) > 1 and word[0].isupper() and all(map(str.isupper, word[1:])):
        # a word in capitals: from its second letter on the buffer is inside a capital word,
        # so only the first letter's 1- and 2-gram are read
        return [g for g in (word[0], padded[:2]) if g in vectors], tail
    if not any(map(str.isupper, word[1:])):
        # Fast path: with no upper-case letter after the first, the buffer is never inside a
        # capital word, so every position yields its 1-, 2- and 3-gram (in that order).
        pairs = map(add, padded, word)
        triples = chain(("",), map(add, map(add, padded, padded[1:]), word[1:]))
        grams = chain.from_iterable(zip(word, pairs, triples))
        return [g for g in grams if g in vectors], tail
    out: list[str] = []
    capital = False
    prev = " "
    for k in range(1, len(padded)):
        ch = padded[k]
        if ch.isupper():
            if prev.isupper():
                capital = True
        else:
            capital = False
        prev = ch
        if capital:
            continue
        if ch in vectors:
            out.append(ch)
        two = padded[k - 1 : k + 1]
        if two in vectors:
            out.append(two)
        if k >= 2:
            three = padded[k - 2 : k + 1]
            if three in vectors:
                out.append(three)
    return out, tail


def _ngrams(text: str, prof: _Profiles) -> list[str]:
    """The n-grams langdetect reads from ``text`` (prepared), in order."""
    parts = prof.normalize(text).split(" ")
    known = prof._words
    missing = set(parts).difference(known)
    if len(known) + len(missing) > _MAX_WORDS:
        known.clear()  # before filling, so no word of this text is dropped
    for w in missing:
        if w:
            prof.word_ngrams(w)  # fills the table
    out = list(chain.from_iterable(known[w][0] for w in parts[:-1] if w))
    if parts[-1]:
        out += known[parts[-1]][1]
    return out


def _probabilities(grams: list[str], prof: _Profiles) -> list[float]:
    """langdetect's averaged trial probabilities, stopping early once the leader is certain.

    The same float operations run in the same order as langdetect (``p * (weight + q)`` one
    n-gram at a time), so every computed trial is bit-identical. Two shortcuts keep it exact:

    * the first two trials' weights are the same for every text (the first pair of normals
      drawn from ``Random(0)``), so their ``weight + q`` vectors are cached across texts;
    * after each trial, if the leading language's running total exceeds every other's by more
      than the remaining trials could add (each adds at most ``1/7``), the rest are skipped.
    """
    rng = random.Random(SEED)
    total = [0.0] * len(prof.langs)
    for trial in range(_TRIALS):
        weight = (_ALPHA + rng.gauss(0.0, 1.0) * _ALPHA_WIDTH) / _BASE_FREQ
        if trial < 2:
            table, fill = prof.factors(weight)
        else:  # the text's own weight: a table for this trial only
            table = {}
            fill = _filler(table, weight, prof.vector)
        prob = _walk(grams, table, fill, prof.prior, rng)
        total = [t + p / _TRIALS for t, p in zip(total, prob)]
        left = _TRIALS - trial - 1
        if left:
            ordered = sorted(total, reverse=True)
            if ordered[0] > _PROB_THRESHOLD and ordered[0] - ordered[1] > left / _TRIALS + 1e-9:
                break
    return total


def _filler(
    table: dict[str, np.ndarray], weight: float, vector: Callable[[str], np.ndarray]
) -> Callable[[str], np.ndarray]:
    """The function that computes ``weight + vector(gram)`` into ``table``."""

    def fill(gram: str) -> np.ndarray:
        f = table[gram] = weight + vector(gram)
        return f

    return fill


def _walk(
    grams: list[str],
    table: dict[str, np.ndarray],
    fill: Callable[[str], np.ndarray],
    prior: np.ndarray,
    rng: random.Random,
) -> list[float]:
    """One trial: iteration 0 normalises after one draw, then every fifth draw; each draw
    multiplies every language's probability by its factor ``weight + q`` (``table``, filled
    by ``fill``; NumPy applies the same IEEE operation to each element as langdetect's loop).
    Normalisation sums the probabilities as Python floats, as langdetect does, and the
    convergence test ``max(p) / s`` equals the maximum of the quotients (division by a
    positive number is monotonic under rounding).

    A draw is ``rng.choice(grams)``: ``getrandbits(k)`` repeated until below ``len(grams)``
    (CPython's ``Random._randbelow``), here inlined.
    """
    n = len(grams)
    bits = rng.getrandbits
    get = table.get
    k = n.bit_length()
    r = bits(k)
    while r >= n:
        r = bits(k)
    f = get(grams[r])
    prob = prior * (fill(grams[r]) if f is None else f)
    i = 0
    while True:
        values = prob.tolist()
        s = sum(values)
        if max(values) / s > _CONVERGED or i >= _MAX_ITERATIONS:
            return [p / s for p in values]
        prob /= s
        drawn = 0
        while drawn < 5:  # five draws, each repeating getrandbits until accepted
            r = bits(k)
            if r < n:
                f = get(grams[r])
                prob *= fill(grams[r]) if f is None else f
                drawn += 1
        i += 5


@lru_cache(maxsize=4096)
def detect_language(text: str) -> str | None:
    """The ISO code langdetect (seed 0) gives ``text``; ``None`` when it finds no features.

    ``"unknown"`` when no language reaches probability 0.1 (as langdetect).
    """
    prof = _profiles()
    grams = _ngrams(_prepare(text, prof), prof)
    if not grams:
        return None
    probs = _probabilities(grams, prof)
    best: tuple[float, str] | None = None
    for lang, p in zip(prof.langs, probs):
        if p > _PROB_THRESHOLD and (best is None or p > best[0]):
            best = (p, lang)
    return best[1] if best else "unknown"


@lru_cache(maxsize=4096)
def score_language(text: str) -> str | None:
    """The language whose profile gives the text's n-grams (as :func:`detect_language` reads
    them) the highest likelihood, each n-gram's probability smoothed by langdetect's mean
    weight (``0.5 / 10000``); ``None`` when the text has no language features."""
    prof = _profiles()
    grams = Counter(_ngrams(_prepare(text, prof), prof))
    if not grams:
        return None
    weight = _ALPHA / _BASE_FREQ
    np = prof.np
    counts = np.array(list(grams.values()), dtype=float)
    logs = np.log(weight + np.stack([prof.vector(g) for g in grams]))
    return prof.langs[int(np.argmax(counts @ logs))]


def clear_caches() -> None:
    """Forget the memoised answers per text (for benchmarks). The profiles stay loaded, with
    the tables derived from them: each profile n-gram's vector and each word's n-grams."""
    detect_language.cache_clear()
    score_language.cache_clear()
