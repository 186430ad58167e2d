"""Killing `ifrl pipeline run toolace` mid-SFT and rerunning resumes from the last checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ifrl.core.cli import main

CONFIG = """\
apis: {n: 24, heldout: 10}
dialogs: {n: 16, max_tools: 2}
sft:
  curriculum: tool_calls
  curriculum_stages: 2
  trainer: {max_steps: 6, per_device_batch_size: 2, learning_rate: 1.0e-3, save_steps: 2,
            max_length: 1400, progress: false}
eval: {n: 2, max_new_tokens: 8}
"""


def _state(run_dir: Path) -> dict:
    return json.loads((run_dir / "state.json").read_text())["stages"]


@pytest.mark.slow
def test_kill_during_sft_then_rerun_resumes(tmp_path: Path, tiny_model_dir: Path) -> None:
    config = tmp_path / "toolace.yaml"
    config.write_text(CONFIG)
    run_dir = tmp_path / "run"
    args = ["pipeline", "run", "toolace", "--config", str(config), "--run-dir", str(run_dir)]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from ifrl.core.cli import main; main()", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ckpts = run_dir / "sft" / "model" / "checkpoints"
    deadline = time.monotonic() + 300
    try:
        while not (ckpts.exists() and any(ckpts.glob("step-*"))):
            assert proc.poll() is None, "the run ended before SFT wrote a checkpoint"
            assert time.monotonic() < deadline, "no SFT checkpoint within 300 s"
            time.sleep(0.1)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    killed = _state(run_dir)
    assert killed["sft"]["status"] == "running"
    assert "eval" not in killed
    assert not (run_dir / "sft" / "model" / "final").exists()
    first_ckpt = min(int(p.name.split("-")[1]) for p in ckpts.glob("step-*"))

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for stage in ("apis", "dialogs", "verify"):
        assert f"{stage} — up to date, skipped" in result.output
    done = _state(run_dir)
    for stage in ("apis", "dialogs", "verify"):
        assert done[stage] == killed[stage]  # not rerun: same start time, attempts, result
    assert done["sft"]["status"] == "done" and done["sft"]["attempts"] == 2
    assert done["sft"]["result"]["resumed_from_step"] >= first_ckpt >= 2
    steps = [json.loads(line)["step"] for line in (ckpts.parent / "metrics.jsonl").open()]
    assert steps == [1, 2, 3, 4, 5, 6]  # truncated to the checkpoint, then continued
    assert done["eval"]["status"] == "done"
    assert (run_dir / "sft" / "model" / "final").is_dir()

    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert again.output.count("up to date, skipped") == 5
