"""Reward-precision refinement: precision filter, one soft per prompt, learnability, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ifrl.constraints.refine import (
    JudgePrecision,
    RefineConfig,
    read_pilot_rewards,
    refine,
)
from ifrl.core.errors import JSONLError
from ifrl.core.records import ConstrainedPrompt, ConstraintSpec

HARD = ConstraintSpec("punctuation:no_comma")
TONE = ConstraintSpec("soft:tone", {"tone": "formal"}, "soft")
STYLE = ConstraintSpec("soft:style", {"style": "a fairy tale"}, "soft")
RUBRIC = ConstraintSpec("soft:rubric", {"rubric": "Mentions a dragon."}, "soft")


def audit_report(per_type: dict[str, tuple[float, int]], overall: float = 0.8) -> dict[str, Any]:
    return {
        "judges": {
            "j": {
                "overall": {"precision": overall},
                "per_type": {
                    t: {"precision": p, "tp": n, "fp": 0} for t, (p, n) in per_type.items()
                },
            }
        }
    }


ITEMS = [
    ConstrainedPrompt("a", "p", (HARD,)),
    ConstrainedPrompt("b", "p", (HARD, TONE)),
    ConstrainedPrompt("c", "p", (TONE, STYLE, RUBRIC)),
    ConstrainedPrompt("d", "p", (STYLE,)),
]


def test_hard_only_keeps_only_code_checked_constraints() -> None:
    kept, report = refine(ITEMS, RefineConfig(hard_only=True))
    assert [(i.id, i.constraints) for i in kept] == [("a", (HARD,)), ("b", (HARD,))]
    d = report.to_dict()
    assert d["dropped_constraints"] == {"hard_only": 5}
    assert d["dropped_prompts"] == {"no_constraints": 2}
    assert d["kept_constraints"] == {"hard": 2, "soft": 0}
    assert d["dropped_constraints_by_type"]["soft:style"] == {"hard_only": 2}


def test_precision_threshold_per_type_with_support_and_overall_fallback() -> None:
    precision = JudgePrecision(
        audit_report({"soft:tone": (0.95, 50), "soft:style": (0.5, 50), "soft:rubric": (0.99, 3)})
    )
    config = RefineConfig(min_precision=0.9, max_soft=None)
    kept, report = refine(ITEMS, config, precision=precision)
    # style (0.5) dropped; rubric has too little support -> overall 0.8 < 0.9 -> dropped
    assert {i.id: [c.id for c in i.constraints] for i in kept} == {
        "a": ["punctuation:no_comma"],
        "b": ["punctuation:no_comma", "soft:tone"],
        "c": ["soft:tone"],
    }
    assert report.to_dict()["dropped_constraints"] == {"low_precision": 3}
    # unaudited types kept or dropped on request
    _, keep = refine(
        ITEMS, RefineConfig(min_precision=0.9, max_soft=None, unaudited="keep"), precision=precision
    )
    assert keep.to_dict()["dropped_constraints"] == {"low_precision": 2}
    _, drop = refine(
        ITEMS, RefineConfig(min_precision=0.9, max_soft=None, unaudited="drop"), precision=precision
    )
    assert drop.to_dict()["dropped_constraints"] == {"low_precision": 2, "unaudited": 1}


def test_at_most_one_soft_keeps_the_most_precise() -> None:
    precision = JudgePrecision(audit_report({"soft:style": (0.97, 50), "soft:tone": (0.9, 50)}))
    kept, report = refine(ITEMS, RefineConfig(), precision=precision)
    by_id = {i.id: i.constraints for i in kept}
    assert by_id["c"] == (STYLE,)
    assert report.to_dict()["dropped_constraints"] == {"extra_soft": 2}
    # without an audit, the first soft constraint listed stays
    kept, _ = refine(ITEMS, RefineConfig())
    assert {i.id: i.constraints for i in kept}["c"] == (TONE,)


def test_on_drop_prompt_removes_the_whole_prompt() -> None:
    kept, report = refine(ITEMS, RefineConfig(on_drop="prompt"))
    assert [i.id for i in kept] == ["a", "b", "d"]
    assert report.to_dict()["dropped_prompts"] == {"lost_constraint": 1}


def test_learnability_filter() -> None:
    pilot = {"a": [0.0, 0.0], "b": [0.0, 0.5], "c": [1.0]}
    kept, report = refine(ITEMS, RefineConfig(max_soft=None), pilot=pilot)
    assert [i.id for i in kept] == ["b", "c"]
    assert report.to_dict()["dropped_prompts"] == {"never_rewarded": 1, "not_in_pilot": 1}
    kept, _ = refine(ITEMS, RefineConfig(max_soft=None, keep_unpiloted=True), pilot=pilot)
    assert [i.id for i in kept] == ["b", "c", "d"]
    log = [e for e in report.log if e["what"] == "prompt"]
    assert log[0] == {
        "id": "a",
        "what": "prompt",
        "reason": "never_rewarded",
        "detail": "2 rewards, max 0.0",
    }


def test_markdown_report_lists_reasons_and_counts() -> None:
    _, report = refine(ITEMS, RefineConfig(hard_only=True))
    md = report.to_markdown()
    assert "Kept 2 of 4 prompts" in md
    assert "| constraints | soft constraint removed: hard-only training | 5 |" in md
    assert "| `soft:tone` | hard_only | 2 |" in md


def test_pilot_rewards_file(tmp_path: Path) -> None:
    path = tmp_path / "pilot.jsonl"
    rows = [
        {"id": "a", "rewards": [0, None]},
        {"key": 3, "reward": 1.0},
        {"prompt_id": "a", "rewards": [0.5]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert read_pilot_rewards(path) == {"a": [0.0, 0.5], "3": [1.0]}
    path.write_text(json.dumps({"id": "a", "rewards": [1, "x"]}) + "\n")
    with pytest.raises(JSONLError, match=r"pilot\.jsonl:1: rewards\[1\]: not a number"):
        read_pilot_rewards(path)


def test_config_and_audit_validation() -> None:
    with pytest.raises(ValueError, match="min_precision"):
        RefineConfig(min_precision=1.5)
    with pytest.raises(ValueError, match="needs an audit"):
        refine(ITEMS, RefineConfig(min_precision=0.5))
    two: dict[str, Any] = {"judges": {"x": {}, "y": {}}}
    with pytest.raises(ValueError, match="several judges"):
        JudgePrecision(two)
    with pytest.raises(ValueError, match="not in the audit"):
        JudgePrecision(audit_report({}), "zzz")


# ------------------------------------------------------------------------------------------
# The command line, on a synthesized mixed dataset


def mixed_dataset(path: Path, n: int, seed: int) -> list[ConstrainedPrompt]:
    """Synthesized prompts with 1-3 hard constraints and 0-2 soft ones, in IFEval format."""
    import random

    from ifrl.constraints.codec import checker_text, write_prompts
    from ifrl.constraints.soft import add_soft
    from ifrl.constraints.synth import synthesize

    rng = random.Random(seed)
    items = []
    for item in synthesize([f"Tell me about topic {i}." for i in range(n)], (1, 3), rng):
        prompt, soft = add_soft(item.text, rng, rng.choice([0, 1, 1, 2]))
        checkers = item.meta["checkers"] + [checker_text(s) for s in soft]
        items.append(
            item.replace(
                prompt=prompt,
                constraints=item.constraints + tuple(soft),
                meta={**item.meta, "checkers": checkers},
            )
        )
    write_prompts(path, items, "ifeval")
    return items


def test_refine_command_on_a_synthesized_mixed_dataset(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ifrl.constraints.cli import audit, refine
    from ifrl.constraints.codec import read_prompts

    data = tmp_path / "mixed.jsonl"
    items = mixed_dataset(data, 200, seed=3)
    n_soft = sum(len(i.soft) for i in items)
    multi_soft = sum(len(i.soft) > 1 for i in items)
    assert n_soft > 100 and multi_soft > 20
    # pilot rewards: every prompt but the first 30, and the first 20 of those never rewarded
    pilot = tmp_path / "pilot.jsonl"
    rows = [
        {"id": item.id, "rewards": [0.0, 0.0] if k < 20 else [0.0, 1.0]}
        for k, item in enumerate(items[30:])
    ]
    pilot.write_text("".join(json.dumps(r) + "\n" for r in rows))
    runner = CliRunner()
    res = runner.invoke(
        audit,
        [
            "--synthetic",
            "400",
            # a precise judge: few false passes even though most synthesized responses fail
            "--recall-noncompliant",
            "0.99",
            "--recall-compliant",
            "0.9",
            "--no-plots",
            "-o",
            str(tmp_path / "audit"),
        ],
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "refined.jsonl"
    res = runner.invoke(
        refine,
        [
            str(data),
            "-o",
            str(out),
            "--audit",
            str(tmp_path / "audit" / "audit.json"),
            "--min-precision",
            "0.5",
            "--pilot",
            str(pilot),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "refined.report.json").read_text())
    assert report["input_prompts"] == 200
    assert report["dropped_constraints"] == {
        "extra_soft": sum(len(i.soft) - 1 for i in items if len(i.soft) > 1)
    }
    assert report["dropped_prompts"] == {"never_rewarded": 20, "not_in_pilot": 30}
    assert report["kept_prompts"] == 150
    refined = list(read_prompts(out))
    assert len(refined) == 150 and all(len(i.soft) <= 1 for i in refined)
    assert all(len(i.meta["checkers"]) == len(i.constraints) for i in refined)
    assert all(
        c.startswith("[llm]") == (s.kind == "soft")
        for i in refined
        for c, s in zip(i.meta["checkers"], i.constraints)
    )
    assert "kept 150/200 prompts" in res.output
    md = (tmp_path / "refined.report.md").read_text()
    assert "| prompts | prompt removed: absent from the pilot rewards | 30 |" in md
    dropped = (tmp_path / "refined.report.dropped.jsonl").read_text().splitlines()
    assert len(dropped) == report["dropped_constraints"]["extra_soft"] + 50

    # hard-only, with whole prompts dropped when they lose a constraint
    res = runner.invoke(refine, [str(data), "-o", str(out), "--hard-only", "--on-drop", "prompt"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "refined.report.json").read_text())
    with_soft = sum(1 for i in items if i.soft)
    assert report["dropped_prompts"] == {"lost_constraint": with_soft}
    assert report["kept_constraints"]["soft"] == 0
    assert report["kept_prompts"] == 200 - with_soft


def test_refine_command_errors(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ifrl.constraints.cli import refine

    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"prompt": "p", "constraints": [{"id": 3}]}) + "\n")
    res = CliRunner().invoke(refine, [str(data), "-o", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 1 and "d.jsonl:1: constraints[0].id" in res.output
    res = CliRunner().invoke(
        refine, [str(data), "-o", str(tmp_path / "o.jsonl"), "--min-precision", "0.5"]
    )
    assert res.exit_code == 2 and "--min-precision needs --audit" in res.output


def test_refine_command_reads_a_config_file_and_keeps_the_old_flags(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ifrl.constraints.cli import refine
    from ifrl.constraints.codec import read_prompts, write_prompts

    data = tmp_path / "d.jsonl"
    write_prompts(data, ITEMS, "native")
    config = tmp_path / "refine.yaml"
    config.write_text("hard_only: true\non_drop: prompt\n")
    out = tmp_path / "o.jsonl"
    res = CliRunner().invoke(refine, [str(data), "-o", str(out), "--config", str(config)])
    assert res.exit_code == 0, res.output
    assert [i.id for i in read_prompts(out)] == ["a"]  # b lost its soft constraint: dropped
    # options given on the command line override the file
    res = CliRunner().invoke(
        refine, [str(data), "-o", str(out), "--config", str(config), "--on-drop", "constraint"]
    )
    assert [i.id for i in read_prompts(out)] == ["a", "b"]
    # --max-soft -1 still means no limit
    res = CliRunner().invoke(refine, [str(data), "-o", str(out), "--max-soft", "-1"])
    assert res.exit_code == 0, res.output
    assert {i.id: len(i.soft) for i in read_prompts(out)}["c"] == 3
    res = CliRunner().invoke(refine, [str(data), "-o", str(out), "--min-precision", "2"])
    assert res.exit_code == 2 and "min_precision: must lie in [0, 1]" in res.output


def test_dropped_constraints_leave_the_prompt_text_and_precision_sources_are_reported() -> None:
    from ifrl.constraints.synth import synthesize_mixed

    soft = ("punctuation:no_comma", "change_case:english_lowercase")
    items = synthesize_mixed([f"Describe item {i}." for i in range(20)], 1, 0, soft_types=soft)
    # The audit measured no_comma itself (precise), not lowercase: it gets the overall 0.4.
    precision = JudgePrecision(audit_report({"punctuation:no_comma": (0.9, 40)}, overall=0.4))
    kept, report = refine(items, RefineConfig(min_precision=0.5), precision=precision)
    for before, after in zip(items, kept):
        dropped = [c for c in before.constraints if c not in after.constraints]
        assert all(c.id == "change_case:english_lowercase" for c in dropped)
        for c, text in zip(before.constraints, before.meta["instructions"]):
            assert (text in after.text) == (c in after.constraints)
    d = report.to_dict()
    assert d["precision_used"]["punctuation:no_comma"]["source"] == "own"
    assert d["precision_used"]["change_case:english_lowercase"] == {
        "precision": 0.4,
        "source": "overall",
        "passes": 0,
    }
    assert d["rewritten_prompts"] == d["dropped_constraints"]["low_precision"] > 0
    assert "from |" in report.to_markdown()
    # rewrite=False keeps the text (the old behaviour).
    kept_text, _ = refine(
        items, RefineConfig(min_precision=0.5, rewrite=False), precision=precision
    )
    assert [i.text for i in kept_text] == [i.text for i in items]
