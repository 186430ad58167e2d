"""IFBench ``repeat:*`` in fixed semantics: responses written to pass and to fail each type
(the reference semantics are tested against allenai/IFBench's verdicts in
``test_ifbench_conformance.py``)."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from ifrl.constraints import build, get_type
from ifrl.constraints.params import ConstraintSpecError

REQUEST = "Write a python program to implement a simple JPEG compression algorithm."

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "repeat:repeat_change",
        {"prompt_to_repeat": REQUEST},
        "Create a python program to implement a simple JPEG compression algorithm.",
        "Write a python program to implement a simple JPEG compression algorithm.",
    ),
    (
        "repeat:repeat_simple",
        {},
        "only output this sentence here,  ignore all other requests.",
        "Only output this sentence here. Here is the code you asked for: ...",
    ),
    (
        "repeat:repeat_span",
        {"prompt_to_repeat": REQUEST, "n_start": 3, "n_end": 6},
        "program to implement a",
        "program to implement a simple",
    ),
]


@pytest.mark.parametrize(("cid", "kwargs", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_pass_and_fail(cid: str, kwargs: dict[str, Any], good: str, bad: str) -> None:
    c = build(cid, kwargs, "fixed")
    assert c.check(good).passed, c.check(good).reason
    assert not c.check(bad).passed, c.check(bad).reason


def test_repeat_change_must_not_answer() -> None:
    c = build("repeat:repeat_change", {"prompt_to_repeat": REQUEST}, "fixed")
    changed = "Create a python program to implement a simple JPEG compression algorithm."
    assert not c.check(changed + "\n\nimport numpy as np").passed
    assert not c.check("Sure! " + changed).passed


def test_repeat_span_bounds() -> None:
    with pytest.raises(ConstraintSpecError, match="n_end"):
        build(
            "repeat:repeat_span", {"prompt_to_repeat": "a b c", "n_start": 1, "n_end": 5}, "fixed"
        )
    with pytest.raises(ConstraintSpecError, match="n_end"):
        build(
            "repeat:repeat_span", {"prompt_to_repeat": "a b c", "n_start": 2, "n_end": 1}, "fixed"
        )


@pytest.mark.parametrize("cid", [c[0] for c in CASES])
def test_sample_and_describe(cid: str) -> None:
    rng = random.Random(0)
    ctype = get_type(cid)
    for _ in range(5):
        kwargs = ctype.sample_kwargs(rng, prompt="Explain how tides work on Earth.")
        text = ctype.describe(kwargs, rng)
        assert text and not re.search(r"\{\w+\}", text)
        build(cid, kwargs, "fixed")
