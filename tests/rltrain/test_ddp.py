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
@pytest.mark.parametrize("dynamic", [False, True])
def test_two_process_grpo_matches_one_process(
    dynamic: bool, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """With ``dynamic``: dynamic sampling drops the ``flat`` rows' zero-variance groups; both
    runs keep the same groups (the two processes gather each other's completions) and the
    reward's per-kind ``log_metric`` values (different kinds on each process) are averaged."""
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    if accelerate is None:
        pytest.skip("the accelerate CLI is not installed beside this interpreter")
    rows = [
        {**p, "kind": "lower" if i % 3 == 0 else "flat"} if dynamic else p
        for i, p in enumerate(PROMPTS)
    ]
    extra = ["dynamic"] if dynamic else []
    data = write_rows(tmp_path / "prompts.jsonl", rows)
    one, two = tmp_path / "one", tmp_path / "two"
    single = subprocess.run(
        [sys.executable, str(WORKER), str(tiny_model_dir), str(data), str(one), "8", *extra],
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
            *extra,
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
    m1 = [json.loads(x) for x in (one / "metrics.jsonl").read_text().splitlines()]
    m2 = [json.loads(x) for x in (two / "metrics.jsonl").read_text().splitlines()]
    keys = ["reward", "frac_reward_zero_std"]
    if dynamic:
        # Per-call log_metric means are averaged over calls (as TRL does), so only the flat
        # rows' rate (always 1) is the same with one or two processes; both must have it.
        keys += [
            "dynamic_sampling/rounds",
            "dynamic_sampling/filled_groups",
            "kinds/flat/pass_rate",
        ]
        # Two rows in three are flat: extra rounds replaced their groups.
        assert sum(m["dynamic_sampling/rounds"] for m in m1) > len(m1)
        assert all(m["frac_reward_zero_std"] < 0.5 for m in m1)
    for key in keys:
        assert [m[key] for m in m1] == pytest.approx([m[key] for m in m2]), key
