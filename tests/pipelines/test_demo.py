"""`ifrl demo --quick` runs the four recipes end to end offline and writes its report."""

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
        "## Tool use: ToolACE SFT, then an iTool iteration",
        "## EDU-PRM: label cost against uniform Monte Carlo, and Best-of-N",
        "## Time",
    ):
        assert section in report
    summary = json.loads((run / "summary.json").read_text())
    # Every stage of the five runs (four recipes) has a recorded wall and CPU time.
    stages = {
        "toolace/sft",
        "itool/mcts-1",
        "itool/simpo-1",
        "itool/eval-1",
        "if-rlvr-hard/grpo",
        "if-rlvr-noisy/grpo",
        "edu-prm/branch",
        "edu-prm/uniform",
        "edu-prm/bon",
    }
    assert stages <= set(summary["stage_seconds"]) and stages <= set(summary["stage_cpu_seconds"])
    assert list(summary["recipe_seconds"]) == [
        "toolace",
        "itool",
        "if-rlvr-hard",
        "if-rlvr-noisy",
        "edu-prm",
    ]
    assert summary["total_cpu_seconds"] > 0
    # Tool calls: base and SFT (toolace), SFT and after one iTool iteration (itool).
    assert [r["iteration"] for r in summary["itool"]["rows"]] == [0, 1]
    for key in ("base_score", "sft_score", "seen_sft_score"):
        assert 0.0 <= summary["toolace"][key] <= 1.0
    assert summary["itool"]["mcts"]["model_calls"] > 0
    # EDU-PRM: both labelers' costs, the ratio, Best-of-N beside random and oracle.
    edu = summary["edu_prm"]
    assert edu["edu_cost"]["generated_tokens"] > 0 and edu["uniform_cost"]["generated_tokens"] > 0
    assert edu["cost_ratio"] > 0
    bon = edu["bon"]
    assert bon["random_accuracy"] <= bon["oracle_accuracy"]
    assert bon["bon_accuracy"] <= bon["oracle_accuracy"]
    assert "| uniform MC |" in report and "PRM Best-of-N" in report
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
    assert len(images) == 9  # the overview and eight plots
    for img in images:
        assert base64.b64decode(img.split('"', 1)[0]).startswith(PNG)
    pngs = [*(run / "plots").glob("*.png"), run / "report-overview.png"]
    assert len(pngs) == 9
    for png in pngs:
        assert png.read_bytes().startswith(PNG) and png.stat().st_size > 5000
