"""IFBench ``ratio:*`` in fixed semantics: responses written to pass and to fail each type
(the reference semantics are tested against allenai/IFBench's verdicts in
``test_ifbench_conformance.py``)."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from ifrl.constraints import build, get_type

REFERENCE = "the quick brown fox jumps over the lazy dog"

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "ratio:overlap",
        {"reference_text": REFERENCE, "percentage": 60},
        # 5 trigrams, 3 in the reference: the quick brown, quick brown fox, brown fox jumps
        "The quick brown fox jumps high now.",
        "A quick red fox leaps over a sleepy hound.",
    ),
    (
        "ratio:sentence_balance",
        {},
        "It rained. Did it stop? What a storm! It cleared. Why? Hooray!",
        "It rained. Did it stop? What a storm! It cleared.",
    ),
    (
        "ratio:sentence_type",
        {},
        "## Notes\nWhat do we call it? It is paraphrasing. It keeps meaning.",
        "What do we call it? It is paraphrasing.",
    ),
    (
        "ratio:sentence_words",
        {},
        "Arya wears faces.\nMasks hid truths.\nDeath gods watch!",
        "Arya wears faces.\nMasks hide faces.\nDeath gods watch!",
    ),
    (
        "ratio:stop_words",
        {"percentage": 30},
        "Financial literacy: budgeting, saving, investing wisely, tracking expenses.",
        "It is the case that you should be saving some of your money for the future.",
    ),
]


@pytest.mark.parametrize(("cid", "kwargs", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_pass_and_fail(cid: str, kwargs: dict[str, Any], good: str, bad: str) -> None:
    c = build(cid, kwargs, "fixed")
    assert c.check(good).passed, c.check(good).reason
    assert not c.check(bad).passed, c.check(bad).reason


def test_sentence_type_is_not_vacuous() -> None:
    c = build("ratio:sentence_type", {}, "fixed")
    assert not c.check("Heading without any sentence mark").passed
    assert not c.check("## A\n## B").passed
    assert not build("ratio:sentence_balance", {}, "fixed").check("No marks here").passed


def test_sentence_types_read_past_quotes_and_emoji() -> None:
    c = build("ratio:sentence_type", {}, "fixed")
    assert c.check("It ended. 🎉\nDid it? 🤔\nYes. ✅").passed
    assert not c.check("It ended! 🎉\nDid it? 🤔\nYes. ✅").passed
    assert c.check('Was it "fine?" It was. Yes, "really." ').passed


def test_sentence_words_needs_equal_lengths() -> None:
    c = build("ratio:sentence_words", {}, "fixed")
    assert not c.check("Arya wears faces.\nMasks hide all truths.\nDeath gods watch!").passed


@pytest.mark.parametrize("cid", [c[0] for c in CASES])
def test_sample_and_describe(cid: str) -> None:
    rng = random.Random(0)
    ctype = get_type(cid)
    for _ in range(5):
        kwargs = ctype.sample_kwargs(rng, prompt="Explain tides to a child.")
        text = ctype.describe(kwargs, rng)
        assert text and not re.search(r"\{\w+\}", text)
        build(cid, kwargs, "fixed")
