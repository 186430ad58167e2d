"""The judge audit measured against scripted judges (Generator fakes answering each check's
prompt): a perfect judge, a yes-sayer and a noisy one. Precision, recall and false alarms per
check, with Wilson intervals, must come out as each judge was scripted to behave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from toolgen_helpers import ScriptedGenerator, pool, scripted_judge

from ifrl.core.jsonl import write_jsonl
from ifrl.toolgen import (
    DEFECTS,
    DialogGenerator,
    JudgeAuditConfig,
    JudgeVerifier,
    Planner,
    plant_items,
    run_judge_audit,
)
from ifrl.toolgen.judge_audit import AuditItem, expected_verdict
from ifrl.toolgen.judges import JUDGE_CHECKS, render

CONFIG = JudgeAuditConfig(dialogs=120, per_class=15, seed=0)


@pytest.fixture(scope="module")
def items() -> list[AuditItem]:
    clean = [r.dialog for r in DialogGenerator(Planner(pool(150), 4)).run(range(120)) if r.dialog]
    return plant_items(clean, CONFIG)


def _truth(items: list[AuditItem]) -> dict[tuple[str, str], bool]:
    return {(c, render(i.dialog)): expected_verdict(i, c) for i in items for c in JUDGE_CHECKS}


def test_items_hold_every_class(items: list[AuditItem]) -> None:
    kinds = {i.defect for i in items}
    assert kinds == {None, *DEFECTS}
    assert sum(i.defect is None for i in items) == 120
    assert all(sum(i.defect == k for i in items) <= 15 for k in DEFECTS)


def test_perfect_judge(items: list[AuditItem]) -> None:
    truth = _truth(items)
    report = run_judge_audit(items, JudgeVerifier(scripted_judge(lambda c, d: truth[(c, d)])))
    out = report.to_dict()
    assert set(out["checks"]) == set(JUDGE_CHECKS)
    for check, row in out["checks"].items():
        assert row["precision"]["value"] == row["recall"]["value"] == 1.0, check
        assert row["false_alarm_rate"]["value"] == 0.0 and row["unparseable"] == 0
        assert row["recall"]["n"] > 0 and row["recall"]["ci95"][1] == pytest.approx(1.0)
    for name, row in out["classes"].items():
        if DEFECTS[name].rule_code:
            assert row["rule_recall"]["value"] == 1.0, name
        if DEFECTS[name].judge_check:
            assert row["judge_recall"]["value"] == 1.0, name
    assert out["clean"] == {"n": 120, "rule_alarms": 0}


def test_yes_sayer(items: list[AuditItem]) -> None:
    report = run_judge_audit(items, JudgeVerifier(scripted_judge(lambda c, d: True))).to_dict()
    for row in report["checks"].values():
        assert row["recall"]["value"] == 0.0 and row["recall"]["ci95"][0] == pytest.approx(0.0)
        assert row["precision"]["value"] is None and row["precision"]["n"] == 0
        assert row["false_alarm_rate"]["value"] == 0.0


def test_noisy_judge_is_measured_within_its_intervals(items: list[AuditItem]) -> None:
    """A judge wrong on a random quarter of its verdicts: recall 0.75 and false alarms 0.25
    lie within the intervals of the pooled counts; each check is clearly between the perfect
    judge and chance."""
    from ifrl.core.stats import wilson_interval

    truth = _truth(items)
    flip = 0.25
    judge = scripted_judge(lambda c, d: truth[(c, d)], flip=flip, seed=3)
    report = run_judge_audit(items, JudgeVerifier(judge))
    tallies = report.checks.values()
    tp, fn = sum(t.tp for t in tallies), sum(t.fn for t in tallies)
    fp, tn = sum(t.fp for t in tallies), sum(t.tn for t in tallies)
    low, high = wilson_interval(tp, tp + fn)
    assert low <= 1 - flip <= high, (tp, fn)
    low, high = wilson_interval(fp, fp + tn)
    assert low <= flip <= high, (fp, tn)
    for check, row in report.to_dict()["checks"].items():
        assert 0.3 < row["recall"]["value"] < 1.0, (check, row)
        assert 0.1 < row["false_alarm_rate"]["value"] < 0.4, (check, row)
        assert 0 < row["precision"]["value"] < 1


def test_unparseable_verdicts_are_counted_not_scored(items: list[AuditItem]) -> None:
    report = run_judge_audit(items[:40], JudgeVerifier(ScriptedGenerator(lambda p, i: "pass")))
    rows = report.to_dict()["checks"]
    assert all(r["unparseable"] > 0 and r["recall"]["n"] == 0 for r in rows.values())
    assert "n/a (n=0)" in report.to_markdown()


def test_audit_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ifrl.toolgen import cli as cli_module

    dialogs = [r.dialog for r in DialogGenerator(Planner(pool(80), 1)).run(range(40)) if r.dialog]
    src = tmp_path / "verified.jsonl"
    write_jsonl(src, [d.to_json() for d in dialogs])
    judge = scripted_judge(lambda c, d: True)
    monkeypatch.setattr(cli_module, "_model", lambda options: judge)
    args = ["audit", str(src), "-o", str(tmp_path / "audit"), "--dialogs", "30", "--per-class", "4"]
    result = CliRunner().invoke(cli_module.cli, [*args, "--judge-backend", "hf", "--model", "m"])
    assert result.exit_code == 0, result.output
    assert "| hallucination | n/a (n=0) | 0.00" in result.output
    saved = json.loads((tmp_path / "audit/audit.json").read_text())
    assert saved["clean"]["n"] == 30 and (tmp_path / "audit/audit.md").is_file()
    bad = CliRunner().invoke(cli_module.cli, [*args, "--checks", "vibes", "--model", "m"])
    assert bad.exit_code == 2 and "checks: unknown check 'vibes'" in bad.output
