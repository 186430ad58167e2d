"""`ifrl demo --quick` runs the recipes end to end offline and writes its report."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ifrl.core.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_demo_quick_writes_report(tmp_path: Path, tiny_model_dir: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    runs = list(tmp_path.glob("demo-*"))
    assert len(runs) == 1
    run = runs[0]
    last = result.output.strip().splitlines()[-1]
    assert last == f"report: {run / 'report.md'} (and {run / 'report.html'})"

    report = (run / "report.md").read_text()
    for section in (
        "## GRPO reward curves and the hard-only vs NoisyJudge experiment",
        "## Held-out constraint compliance",
        "## Tool use (ToolACE recipe)",
        "## Wall time per stage",
    ):
        assert section in report
    summary = json.loads((run / "summary.json").read_text())
    # Every stage of the three runs has a recorded wall time.
    assert {"toolace/sft", "if-rlvr-hard/grpo", "if-rlvr-noisy/grpo"} <= set(
        summary["stage_seconds"]
    )
    noisy = summary["noisy_judge"]
    assert len(noisy["judge_reward"]) == len(noisy["true_compliance"]) == 2  # two GRPO steps
    # The judge (recall 1 on compliant responses) never scores below the truth.
    assert all(j >= t for j, t in zip(noisy["judge_reward"], noisy["true_compliance"]))
    assert 0.0 <= summary["toolace"]["sft_accuracy"] <= 1.0
    audit = summary["if_rlvr"]["audit"]
    assert audit["pairs"] >= summary["if_rlvr"]["train_prompts"] * 2  # 2 samples, >= 1 constraint
    refined = summary["if_rlvr"]["refine"]
    assert refined["kept"] + refined["dropped"] == summary["if_rlvr"]["train_prompts"]
    assert "Judge audit on the base model's samples" in report
    assert len(summary["toolace"]["sft_loss"]) == 2

    page = (run / "report.html").read_text()
    images = page.split('src="data:image/png;base64,')[1:]
    assert len(images) == 4
    for img in images:
        assert base64.b64decode(img.split('"', 1)[0]).startswith(PNG)
    for png in (run / "plots").glob("*.png"):
        assert png.read_bytes().startswith(PNG) and png.stat().st_size > 5000
