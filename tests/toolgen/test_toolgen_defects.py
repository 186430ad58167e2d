"""Planted defects, every class of the issue: each is caught by its rule code, or, where only a
judge can see it, by a perfect judge (a scripted Generator answering from the known truth)."""

from __future__ import annotations

import random

import pytest
from toolgen_helpers import pool, scripted_judge

from ifrl.toolgen import DEFECTS, DialogGenerator, JudgeVerifier, Planner, plant, verify_records
from ifrl.toolgen.dialog import Dialog
from ifrl.toolgen.judges import CODES, render
from ifrl.toolgen.verify import rule_issues

SEMANTIC = (
    "swapped_arguments",
    "contradicting_answer",
    "contradicting_status",
    "result_id_mismatch",
    "swapped_results",
    "wrong_clarification",
    "integer_as_float",
)
SCHEMA = (
    "unknown_function",
    "missing_required",
    "unknown_argument",
    "wrong_type",
    "not_in_enum",
    "bad_format",
    "out_of_range",
    "ungrounded_value",
)


@pytest.fixture(scope="module")
def clean() -> list[Dialog]:
    made = [r.dialog for r in DialogGenerator(Planner(pool(150), 2)).run(range(350)) if r.dialog]
    assert all(rule_issues(d) == [] for d in made)
    return made


def _planted(clean: list[Dialog], name: str, n: int = 12) -> list[Dialog]:
    rng = random.Random(name)
    out = [p for d in clean if (p := plant(d, name, rng)) is not None][:n]
    assert len(out) >= 5, f"{name} found too few places to plant"
    return out


def test_the_classes_are_the_issues() -> None:
    assert set(DEFECTS) == set(SEMANTIC) | set(SCHEMA)
    assert {n for n, d in DEFECTS.items() if d.semantic} == set(SEMANTIC)
    judge_only = {n for n, d in DEFECTS.items() if d.rule_code is None}
    assert judge_only == {"swapped_arguments", "contradicting_status"}
    assert all(DEFECTS[n].judge_check for n in judge_only)


@pytest.mark.parametrize("name", [n for n, d in DEFECTS.items() if d.rule_code])
def test_rule_detectable_defects_get_their_code(clean: list[Dialog], name: str) -> None:
    for d in _planted(clean, name):
        codes = {i.code for i in rule_issues(d)}
        assert DEFECTS[name].rule_code in codes, (name, codes, d.messages)
        assert d.meta["planted"] == name


@pytest.mark.parametrize("name", ["swapped_arguments", "contradicting_status"])
def test_judge_only_defects_pass_the_rules_and_the_perfect_judge_fails_them(
    clean: list[Dialog], name: str
) -> None:
    planted = _planted(clean, name)
    check = DEFECTS[name].judge_check
    bad = {render(d) for d in planted}
    perfect = scripted_judge(lambda c, dialog: not (c == check and dialog in bad))
    records = [(i, d.to_json()) for i, d in enumerate([*planted, *clean[:20]])]
    verdicts = verify_records(records, judge=JudgeVerifier(perfect))
    for v in verdicts[: len(planted)]:
        assert [i.code for i in v.issues] == [CODES[check or ""]]  # only the judge sees it
    assert all(v.kept for v in verdicts[len(planted) :])


def test_planting_is_seeded_and_leaves_the_original_alone(clean: list[Dialog]) -> None:
    d = next(x for x in clean if x.type == "clarify")
    a = plant(d, "wrong_clarification", random.Random(1))
    b = plant(d, "wrong_clarification", random.Random(1))
    assert a == b and a != d and rule_issues(d) == []
    assert (
        plant(next(x for x in clean if x.type == "non_tool"), "swapped_results", random.Random(0))
        is None
    )
    with pytest.raises(ValueError, match="unknown defect 'typo'"):
        plant(d, "typo", random.Random(0))
