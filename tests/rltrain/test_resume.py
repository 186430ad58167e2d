"""A run killed with SIGKILL and resumed ends bitwise equal to an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from rl_helpers import PROMPTS, conversations, write_rows

WORKER = Path(__file__).with_name("resume_worker.py")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(WORKER), *args], capture_output=True, text=True, timeout=300
    )


def _final(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoints" / "step-00000005" / "trainable.pt", weights_only=True)


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["sft", "grpo", "dpo"])
def test_sigkill_then_resume_matches_uninterrupted(
    algo: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    rows: list[dict[str, Any]]
    if algo == "sft":
        rows = conversations(12, tools=True)
    elif algo == "grpo":
        rows = PROMPTS
    else:
        rows = [
            {"prompt": f"Q{i}", "chosen": " yes indeed", "rejected": " no, never"} for i in range(6)
        ]
    data = write_rows(tmp_path / "data.jsonl", rows)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    ok = _run(algo, str(tiny_model_dir), str(data), str(straight))
    assert ok.returncode == 0, ok.stderr[-3000:]
    # Killed while computing step 4 (0-based 3): checkpoint 2 exists, step 3's metrics line too.
    dead = _run(algo, str(tiny_model_dir), str(data), str(killed), "--kill-at", "3")
    assert dead.returncode == -signal.SIGKILL
    assert (killed / "checkpoints" / "step-00000002").is_dir()
    assert not (killed / "checkpoints" / "step-00000004").exists()
    again = _run(algo, str(tiny_model_dir), str(data), str(killed), "--resume")
    assert again.returncode == 0, again.stderr[-3000:]
    a, b = _final(straight), _final(killed)
    assert a.keys() == b.keys() and a
    for name in a:
        assert torch.equal(a[name], b[name]), name
    steps = [json.loads(x)["step"] for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]
    losses_a = [
        json.loads(x)["loss"] for x in (straight / "metrics.jsonl").read_text().splitlines()
    ]
    losses_b = [json.loads(x)["loss"] for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert losses_a == losses_b
