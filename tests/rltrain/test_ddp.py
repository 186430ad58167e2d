"""Two CPU processes (gloo, accelerate launch) give the same parameters as one with the same global batch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from rl_helpers import PROMPTS, write_rows

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.slow
def test_two_process_grpo_matches_one_process(tiny_model_dir: Path, tmp_path: Path) -> None:
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    if accelerate is None:
        pytest.skip("the accelerate CLI is not installed beside this interpreter")
    data = write_rows(tmp_path / "prompts.jsonl", PROMPTS)
    one, two = tmp_path / "one", tmp_path / "two"
    single = subprocess.run(
        [sys.executable, str(WORKER), str(tiny_model_dir), str(data), str(one), "8"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert single.returncode == 0, single.stderr[-3000:]
    launched = subprocess.run(
        [
            accelerate,
            "launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            "29517",
            str(WORKER),
            str(tiny_model_dir),
            str(data),
            str(two),
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    meta = json.loads((two / "checkpoints" / "step-00000002" / "state.json").read_text())
    assert meta["world_size"] == 2
    a = torch.load(one / "checkpoints" / "step-00000002" / "trainable.pt", weights_only=True)
    b = torch.load(two / "checkpoints" / "step-00000002" / "trainable.pt", weights_only=True)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=1e-4, msg=name)
    from transformers import AutoModelForCausalLM

    init = dict(AutoModelForCausalLM.from_pretrained(tiny_model_dir).named_parameters())
    moved = sum(int(not torch.allclose(init[n], a[n])) for n in a)
    assert moved > len(a) // 2
    r1 = [json.loads(x)["reward"] for x in (one / "metrics.jsonl").read_text().splitlines()]
    r2 = [json.loads(x)["reward"] for x in (two / "metrics.jsonl").read_text().splitlines()]
    assert r1 == pytest.approx(r2)
