"""IFBench ``count:*`` in fixed semantics: responses written to pass and to fail each type
(the reference semantics are tested against allenai/IFBench's verdicts in
``test_ifbench_conformance.py``)."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from ifrl.constraints import build, get_type
from ifrl.constraints.params import ConstraintSpecError

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "count:conjunctions",
        {"small_n": 3},
        "I wanted tea, but the pot was cold, so I made coffee and toast.",
        "I wanted tea and toast and jam and honey. Andrew sold them, but I forgot.",
    ),
    (
        "count:keywords_multiple",
        {
            "keyword1": "door",
            "keyword2": "bread",
            "keyword3": "blue",
            "keyword4": "lamp",
            "keyword5": "river",
        },
        "A door. Bread, bread. Blue blue BLUE. Lamp lamp lamp lamp lamp. "
        "River river river river river river river.",
        "A door. Bread, bread. Blue blue BLUE. Lamp lamp lamp lamp lamp. "
        "River river river river river river rivers.",
    ),
    (
        "count:numbers",
        {"N": 3},
        "We sold 1,000 units at 3.14 dollars over 12 days.",
        "We sold 1,000 units at 3.14 dollars over twelve days.",
    ),
    (
        "count:person_names",
        {"N": 3},
        "Emma met Liam, and later Noah joined Emma.",
        "Emma met Liam; grace and Graceland are not names from the list.",
    ),
    (
        "count:pronouns",
        {"N": 5},
        "She told him that they would meet us; I'm sure.",
        "The committee met the board and discussed that matter, which was resolved.",
    ),
    (
        "count:punctuation",
        {},
        'Wait?! Really: yes; the (small) dog\'s "bark" was loud, well-timed. Why? Wow!',
        'Wait?! Really: yes; the dog\'s "bark" was loud, well-timed. Why? Wow!',
    ),
    (
        "count:unique_word_count",
        {"N": 6},
        "Red green blue yellow purple orange.",
        "Red red RED green green blue.",
    ),
    (
        "count:word_count_range",
        {"min_words": 4, "max_words": 6},
        "Don't panic, it's well-known.",
        "This sentence has far too many words to fit in the range.",
    ),
    (
        "count:words_japanese",
        {"N": 3},
        "This is 日本語 a nice ひらがな example カタカナ",
        "This is 日本語 a nice word example カタカナ",
    ),
]


@pytest.mark.parametrize(("cid", "kwargs", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_pass_and_fail(cid: str, kwargs: dict[str, Any], good: str, bad: str) -> None:
    c = build(cid, kwargs, "fixed")
    assert c.check(good).passed, c.check(good).reason
    assert not c.check(bad).passed, c.check(bad).reason


def test_punctuation_interrobang_does_not_supply_question_and_exclamation() -> None:
    c = build("count:punctuation", {}, "fixed")
    text = 'Really?! yes; (a) "b" c\'s x-y, z: end.'
    assert not c.check(text).passed
    assert "question mark" in c.check(text).reason
    assert c.check(text + " Why? Wow!").passed


def test_words_japanese_needs_an_nth_word() -> None:
    c = build("count:words_japanese", {"N": 5}, "fixed")
    assert not c.check("Too short here").passed


def test_word_count_range_rejects_inverted_bounds() -> None:
    with pytest.raises(ConstraintSpecError, match="max_words"):
        build("count:word_count_range", {"min_words": 10, "max_words": 5}, "fixed")


def test_keywords_multiple_rejects_duplicate_keywords() -> None:
    kw = {f"keyword{i}": "same" if i < 3 else f"w{i}" for i in range(1, 6)}
    with pytest.raises(ConstraintSpecError):
        build("count:keywords_multiple", kw, "fixed")


@pytest.mark.parametrize("cid", [c[0] for c in CASES])
def test_sample_and_describe(cid: str) -> None:
    rng = random.Random(0)
    ctype = get_type(cid)
    for _ in range(5):
        kwargs = ctype.sample_kwargs(rng)
        text = ctype.describe(kwargs, rng)
        assert text and not re.search(r"\{\w+\}", text)
        build(cid, kwargs, "fixed")
