"""`ifrl demo --quick` runs the four recipes end to end offline and writes its report."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ifrl.core.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> tuple[Path, str]:
    """One uninterrupted `ifrl demo --quick`: its run directory and its output."""
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    runs = list(out.glob("demo-*"))
    assert len(runs) == 1
    return runs[0], result.output


@pytest.mark.slow
def test_demo_quick_writes_report(quick_run: tuple[Path, str]) -> None:
    run, output = quick_run
    last = output.strip().splitlines()[-1]
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
        "toolace-rejected",
        "itool",
        "if-rlvr-hard",
        "if-rlvr-noisy",
        "edu-prm",
    ]
    assert summary["total_cpu_seconds"] > 0
    assert summary["commit"]  # the code the run was made with (publish_demo quotes it)
    # ToolACE's verification value: the same SFT on as many dialogs that failed verification.
    kept, failed = summary["toolace"]["verified"], summary["toolace_rejected"]["verified"]
    assert kept["sft_rows"] == failed["sft_rows"] == 3
    assert summary["toolace_rejected"]["dialogs"]["defective"] == 4
    effect = summary["toolace_verification"]
    assert effect["n"] == summary["toolace"]["seen_n"]
    assert effect["ci95"][0] <= effect["seen_score_difference"] <= effect["ci95"][1]
    # The tool and IF-RLVR runs start from the micro policies' -tiny builds (cached by hash).
    assert json.loads((run / "toolace.config.json").read_text())["model"] == {
        "path": "micro:tool-tiny"
    }
    trained = json.loads((run / "if-rlvr-hard/grpo/config.json").read_text())["model"]
    assert Path(trained).parent.name == "micro" and Path(trained).name.startswith("if-tiny-")
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


TIMING_KEYS = ("seconds", "wall", "cpu", "per_second", "estimate")


def _comparable(run: Path) -> Any:
    """A run's summary with its own directory written as ``<run>`` and its timings dropped."""
    text = (run / "summary.json").read_text().replace(str(run), "<run>")
    return _without_timings(json.loads(text))


def _differences(a: Any, b: Any, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted(set(a) | set(b))
            for d in _differences(a.get(k), b.get(k), f"{where}.{k}")
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{where}[{i}]")
        ]
    return [] if a == b else [f"{where}: {a!r:.80} != {b!r:.80}"]


def _without_timings(value: Any) -> Any:
    """``value`` with every timing entry (wall/CPU seconds) dropped, recursively."""
    if isinstance(value, dict):
        return {
            k: _without_timings(v) for k, v in value.items() if not any(t in k for t in TIMING_KEYS)
        }
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _report_without_timings(text: str, run: Path) -> str:
    body = text.replace(str(run), "<run>").split("\n## Time\n", 1)[0]
    return re.sub(r"total \d+s wall, \d+s CPU", "total", body)


@pytest.mark.slow
def test_killed_demo_resumes_to_the_same_report(
    quick_run: tuple[Path, str], tmp_path: Path
) -> None:
    """`ifrl demo --quick` killed (SIGKILL) in the middle of a stage, then rerun with the same
    --run-dir: the finished stages are not rerun, and the report equals an uninterrupted run's
    (timings aside)."""
    reference, _ = quick_run
    run_dir = tmp_path / "demo"
    cmd = [sys.executable, "-m", "ifrl.pipelines", "demo", "--quick", "--run-dir", str(run_dir)]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    seen: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:  # kill a second into the toolace SFT stage
        seen.append(line)
        if "toolace: sft —" in line:
            time.sleep(1.0)
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    assert not (run_dir / "summary.json").exists()

    resumed = CliRunner().invoke(main, ["demo", "--quick", "--run-dir", str(run_dir)])
    assert resumed.exit_code == 0, resumed.output
    # The stages that had finished are not run again; the killed one runs to its end.
    assert "toolace: verify — up to date, skipped" in resumed.output
    assert "toolace: sft — SFT" in resumed.output
    differences = _differences(_comparable(reference), _comparable(run_dir))
    assert not differences, "\n".join(differences)
    assert _report_without_timings((run_dir / "report.md").read_text(), run_dir) == (
        _report_without_timings((reference / "report.md").read_text(), reference)
    )


@pytest.mark.slow
def test_every_headline_figure_comes_from_the_summary_and_its_table(
    quick_run: tuple[Path, str],
) -> None:
    """Each headline figure is the summary's number at its source, carries n and an interval
    around it, is written in the headline as shown, and stands in the report's tables."""
    from ifrl.pipelines.demo.headlines import headlines, lookup

    run, _ = quick_run
    summary = json.loads((run / "summary.json").read_text())
    report = (run / "report.md").read_text()
    tables = report.split("## GRPO reward curves", 1)[1]  # the report below the headline
    found = headlines(summary)
    names = {h.name for h in found}
    assert names >= {"toolace", "toolace_verification", "itool", "if_rlvr", "bon"}
    # The random judge's reward-truth gap is built in by construction: no headline claims it.
    assert "noisy_judge" not in names
    for h in found:
        assert f"- {h.text}" in report
        for f in h.figures:
            assert lookup(summary, f.source) == pytest.approx(f.value), f.source
            assert f.n > 0 and f.low <= f.value <= f.high, f.source
            assert f.shown() in h.text
            number = f"{f.value:.2f}x" if f.unit == "ratio" else f"{f.value:.3f}"
            assert number in tables, f"{h.name}: {f.source}={number} is in no table"


@pytest.mark.slow
def test_missing_micro_policies_are_built_at_once_and_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's first run builds its missing micro policies in parallel processes, one thread
    each: the same weights as a build in this process."""
    from ifrl.pipelines.demo.run import _config, _prepare_micro
    from ifrl.pipelines.micro import build_micro
    from ifrl.pipelines.micro.build import is_built
    from ifrl.pipelines.recipe import get_recipe

    monkeypatch.setenv("IFRL_CACHE", str(tmp_path / "cache"))
    planned = [
        (name, get_recipe(recipe), _config(name, recipe, True, tmp_path / "run"))
        for name, recipe in (("toolace", "toolace"), ("if-rlvr-hard", "if-rlvr"))
    ]
    assert not is_built("tool-tiny") and not is_built("if-tiny")
    said: list[str] = []
    _prepare_micro(planned, said.append)
    assert is_built("tool-tiny") and is_built("if-tiny")
    assert any("at the same time (2 processes" in line for line in said), said
    for name in ("tool-tiny", "if-tiny"):
        cached = build_micro(name)
        assert cached.cached
        here = build_micro(name, out_dir=tmp_path / f"here-{name}", force=True)
        weights = "model.safetensors"
        assert (here.path / weights).read_bytes() == (cached.path / weights).read_bytes(), name
