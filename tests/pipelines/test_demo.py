"""`ifrl demo --quick` runs end to end offline and writes its report."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ifrl.core.cli import main


def test_demo_quick_writes_report(tmp_path: Path, tiny_model_dir: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    runs = list(tmp_path.glob("demo-*"))
    assert len(runs) == 1
    report = (runs[0] / "report.md").read_text()
    assert "prompt-level accuracy, strict" in report and "Wall time per stage" in report
    assert result.output.strip().splitlines()[-1] == f"report: {runs[0] / 'report.md'}"
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["if_prompts"] * summary["samples_per_prompt"] == sum(
        1 for _ in (runs[0] / "samples.jsonl").open()
    )
    assert 0.0 <= summary["prompt_level_strict"] <= summary["prompt_level_loose"] <= 1.0
    assert summary["mean_token_entropy_nats"] > 0.0
