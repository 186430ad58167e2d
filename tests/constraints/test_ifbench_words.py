"""IFBench ``words:*`` in fixed semantics: responses written to pass and to fail each type
(the reference semantics are tested against allenai/IFBench's verdicts in
``test_ifbench_conformance.py``)."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from ifrl.constraints import build, get_type
from ifrl.constraints.ifbench.resources import can_be_verb, syllables

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "words:alphabet",
        {},
        "Xylophones yield zany artful bright colours.",
        "Xylophones yield zany bright colours.",
    ),
    (
        "words:consonants",
        {},
        "Strong blizzards crush brittle branches.",
        "Strong blizzards hit the branches.",
    ),
    (
        "words:keywords_specific_position",
        {"keyword": "giggle", "n": 2, "m": 3},
        "It began. Then a giggle rang out. Done.",
        "It began. Then a loud giggle rang out. Done.",
    ),
    (
        "words:last_first",
        {},
        "I saw a dog. Dog days are long. Long live summer!",
        "I saw a dog. Cats days are long. Long live summer!",
    ),
    (
        "words:no_consecutive",
        {},
        "Every copyright judge needs a fair hearing.",
        "Every copyright case can need judges.",
    ),
    (
        "words:odd_even_syllables",
        {},
        "Strong people build houses",
        "Strong strong people build houses",
    ),
    (
        "words:palindrome",
        {},
        "level radar civic kayak refer rotor madam racecar stats tenet sagas",
        "level radar civic kayak refer rotor madam racecar stats level level",
    ),
    (
        "words:paragraph_last_first",
        {},
        "Sets are open, but infinite intersections of sets\nOpen intervals shrink to a point, still open",
        "Sets are open, but infinite intersections of sets\nOpen intervals shrink to a point",
    ),
    ("words:prime_lengths", {}, "We see the great sky.", "We see the very great sky."),
    (
        "words:repeats",
        {"small_n": 2},
        "The cat and the dog ran.",
        "The cat and the dog saw THE bird.",
    ),
    (
        "words:start_verb",
        {},
        "**Imagine** an empire of endless suffering.",
        "Galois theory explains symmetry.",
    ),
    (
        "words:vowel",
        {},
        "A cat sat at a mat and ate grass.",
        "A cat sat at a mat and ate grass quickly; dogs followed.",
    ),
    (
        "words:words_position",
        {"keyword": "despite"},
        "Art, despite everything, grew; despite all.",
        "Art, despite everything, grew despite all odds.",
    ),
]


@pytest.mark.parametrize(("cid", "kwargs", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_pass_and_fail(cid: str, kwargs: dict[str, Any], good: str, bad: str) -> None:
    c = build(cid, kwargs, "fixed")
    assert c.check(good).passed, c.check(good).reason
    assert not c.check(bad).passed, c.check(bad).reason


def test_language_resources() -> None:
    assert [syllables(w) for w in ("cat", "people", "tomorrow", "beautiful")] == [1, 2, 3, 3]
    assert syllables("blorptastic") >= 2  # not in the dictionary: the heuristic answers
    assert can_be_verb("consider") and can_be_verb("Running") and can_be_verb("was")
    assert not can_be_verb("the") and not can_be_verb("galois")


def test_single_sentence_or_word_does_not_pass_vacuously() -> None:
    assert not build("words:last_first", {}, "fixed").check("Just one sentence here.").passed
    assert not build("words:alphabet", {}, "fixed").check("Alone").passed
    assert not build("words:vowel", {}, "fixed").check("A cat.\nA bat.").passed


@pytest.mark.parametrize("cid", [c[0] for c in CASES])
def test_sample_and_describe(cid: str) -> None:
    rng = random.Random(0)
    ctype = get_type(cid)
    for _ in range(5):
        kwargs = ctype.sample_kwargs(rng)
        text = ctype.describe(kwargs, rng)
        assert text and not re.search(r"\{\w+\}", text)
        build(cid, kwargs, "fixed")
