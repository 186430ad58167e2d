"""Soft constraint types: validation, instruction and rubric text, sampling, judge text."""

from __future__ import annotations

import random

import pytest

from ifrl.constraints.scoring import check_hard, check_hard_all
from ifrl.constraints.soft import (
    SOFT_CONSTRAINTS,
    SoftConstraintError,
    SoftConstraintType,
    describe_hard,
    is_soft,
    judge_text,
    register_soft,
    soft_type,
)
from ifrl.core.records import ConstraintSpec
from ifrl.core.registry import UnknownNameError


def test_builtin_types_describe_rubric_and_sample() -> None:
    assert SOFT_CONSTRAINTS.names() == ["soft:audience", "soft:rubric", "soft:style", "soft:tone"]
    rng = random.Random(0)
    for cid in ("soft:tone", "soft:style", "soft:audience"):
        t = SOFT_CONSTRAINTS.get(cid)
        kwargs = t.sample_kwargs(rng)
        (value,) = kwargs.values()
        assert value in t.describe(kwargs, rng)
        assert value in t.rubric(kwargs)
        assert t.samplable and cid in t.conflicts
    tone = SOFT_CONSTRAINTS.get("soft:tone")
    assert tone.describe({"tone": "formal"}) == "Write in a formal tone."
    assert tone.spec(tone="formal") == ConstraintSpec("soft:tone", {"tone": "formal"}, "soft")


def test_free_text_rubric_cannot_be_sampled_but_judges_its_text() -> None:
    rubric = SOFT_CONSTRAINTS.get("soft:rubric")
    assert not rubric.samplable
    with pytest.raises(SoftConstraintError, match="free text"):
        rubric.sample_kwargs(random.Random(0))
    spec = ConstraintSpec("soft:rubric", {"rubric": "Mentions two risks."}, "soft")
    assert judge_text(spec) == "Mentions two risks."


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "soft:tone.tone"),
        ({"tone": ""}, "soft:tone.tone"),
        ({"tone": "x", "y": 1}, "soft:tone.y"),
    ],
)
def test_bad_kwargs_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(SoftConstraintError) as err:
        SOFT_CONSTRAINTS.get("soft:tone").rubric(kwargs)
    assert err.value.field == field


def test_unknown_soft_id_suggests_and_registration_rules() -> None:
    with pytest.raises(UnknownNameError, match="soft:tone"):
        soft_type(ConstraintSpec("soft:tones", {}, "soft"))
    with pytest.raises(ValueError, match="start with"):
        register_soft(SoftConstraintType("tone2", "tone", {}, ("x",), "x"))


def test_hard_constraints_read_their_instruction_and_are_checked_by_code() -> None:
    spec = ConstraintSpec("punctuation:no_comma")
    assert not is_soft(spec)
    assert judge_text(spec) == describe_hard(spec) and "comma" in judge_text(spec)
    assert judge_text(spec, lambda s: "custom") == "custom"
    assert check_hard("no commas here", spec) is True
    assert check_hard("one, comma", spec) is False
    lower = ConstraintSpec("change_case:english_lowercase")
    assert check_hard_all("Hello\nall lower here", [spec, lower], "strict") == [True, False]
    # loose drops the first line, as IFEval's loose scoring does
    assert check_hard_all("Hello\nall lower here", [spec, lower], "loose") == [True, True]
    with pytest.raises(ValueError, match="mode"):
        check_hard("x", spec, "lenient")  # type: ignore[arg-type]
