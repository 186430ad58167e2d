"""IFBench ``sentence:*`` in fixed semantics: responses written to pass and to fail each type
(the reference semantics are tested against allenai/IFBench's verdicts in
``test_ifbench_conformance.py``)."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from ifrl.constraints import build, get_type

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "sentence:alliteration_increment",
        {},
        "Art heals. Many minds mend. Brave bold bright brushes bloom.",
        "Art heals. Many minds mend. Brave artists paint.",
    ),
    (
        "sentence:increment",
        {"small_n": 2},
        "Harambe lived. The world changed slightly. Memes faded and politics took turns.",
        "Harambe lived. The world changed. Memes faded and politics took another path.",
    ),
    (
        "sentence:keyword",
        {"word": "giraffe", "N": 2},
        "Jungles are dense. A giraffe would hate a jungle city. Deserts are open.",
        "Jungles are dense. Giraffes would hate it. A giraffe likes deserts.",
    ),
]


@pytest.mark.parametrize(("cid", "kwargs", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_pass_and_fail(cid: str, kwargs: dict[str, Any], good: str, bad: str) -> None:
    c = build(cid, kwargs, "fixed")
    assert c.check(good).passed, c.check(good).reason
    assert not c.check(bad).passed, c.check(bad).reason


def test_one_sentence_is_not_an_increment() -> None:
    assert not build("sentence:increment", {"small_n": 1}, "fixed").check("Only one here.").passed
    assert (
        not build("sentence:alliteration_increment", {}, "fixed")
        .check("Silly snakes slide.")
        .passed
    )


def test_keyword_sentence_must_exist() -> None:
    assert (
        not build("sentence:keyword", {"word": "eat", "N": 6}, "fixed").check("We eat. Yes.").passed
    )


def test_line_breaks_end_sentences() -> None:
    c = build("sentence:increment", {"small_n": 1}, "fixed")
    assert c.check("Title here\nThree words now\nFour words right here").passed


@pytest.mark.parametrize("cid", [c[0] for c in CASES])
def test_sample_and_describe(cid: str) -> None:
    rng = random.Random(0)
    ctype = get_type(cid)
    for _ in range(5):
        kwargs = ctype.sample_kwargs(rng)
        text = ctype.describe(kwargs, rng)
        assert text and not re.search(r"\{\w+\}", text)
        build(cid, kwargs, "fixed")


def test_headings_are_not_sentences() -> None:
    c = build("sentence:keyword", {"word": "eat", "N": 2}, "fixed")
    assert c.check("# Food\nWe cook. We eat.").passed
    inc = build("sentence:increment", {"small_n": 1}, "fixed")
    assert inc.check("**Plan**\nTwo words.\nNow three words.").passed
