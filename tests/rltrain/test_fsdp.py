"""The shared loop under FSDP2 with two CPU processes (gloo): same parameters as one process, and
checkpoints and a final model that hold the full (unsharded) state, and an exact resume.

accelerate 1.15 does not shard on a CPU: ``accelerate launch --use_fsdp`` there gives
``Accelerator(cpu=True)`` the ``MULTI_CPU`` type and wraps the model in DDP (FSDP1's plugin
refuses to start without an accelerator device). torch 2.13's FSDP2 (``fully_shard``) does run on
gloo, so the worker below turns on accelerate's own FSDP2 path explicitly — the one line a GPU
launch with ``--use_fsdp --fsdp_version 2`` sets — and everything after it (accelerate's
``prepare``, our loop, clipping, checkpoints) is the code a GPU run executes.

This file is also the worker: ``python test_fsdp.py MODEL DATA OUT PER_DEVICE MAX_STEPS
[--fsdp] [--resume]``, run alone or under ``accelerate launch``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

WORKER = Path(__file__)
# Two ranks see half the batch each, so float sums run in a different order: measured max
# difference 1.2e-7 after two AdamW steps at lr 1e-3 (the DDP test allows the same tolerance).
ATOL, RTOL = 1e-5, 1e-4


def _trainable(out: Path, step: int) -> dict[str, torch.Tensor]:
    path = out / "checkpoints" / f"step-{step:08d}" / "trainable.pt"
    return torch.load(path, weights_only=True)  # type: ignore[no-any-return]


def _run(args: list[str], processes: int, port: int) -> None:
    if processes == 1:
        cmd = [sys.executable, str(WORKER), *args]
    else:
        accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
        if accelerate is None:
            pytest.skip("the accelerate CLI is not installed beside this interpreter")
        cmd = [
            accelerate,
            "launch",
            "--multi_gpu",
            "--num_processes",
            str(processes),
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            str(port),
            str(WORKER),
            *args,
        ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    # a failing rank's own traceback comes first, the launcher's report last: show both ends
    err = (
        done.stderr
        if len(done.stderr) <= 6000
        else done.stderr[:3000] + "\n...\n" + done.stderr[-3000:]
    )
    assert done.returncode == 0, err


def _equal_length_chats(n: int) -> list[dict[str, Any]]:
    """Chats of 31 tokens with 12 assistant tokens each (words of 3 tokens in the tiny tokenizer).

    SFT's loss is a token mean per process; with equal counts the mean of the two processes'
    means is the one-process mean, so the two runs see the same gradients.
    """
    words = ["apple", "stone", "green", "light", "ocean"]
    rows = []
    for i in range(n):
        a, b = words[i % 5], words[(3 * i + 1) % 5]
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": f"say {a} and {b}"},
                    {"role": "assistant", "content": f"{a} {b} {a} {b}"},
                ]
            }
        )
    return rows


@pytest.fixture(scope="module")
def runs(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One process (no FSDP) and two FSDP processes, 2 SFT steps each, same global batch."""
    from rl_helpers import write_rows

    root = tmp_path_factory.mktemp("fsdp")
    data = str(write_rows(root / "sft.jsonl", _equal_length_chats(16)))
    model = str(tiny_model_dir)
    one, two = root / "one", root / "two"
    _run([model, data, str(one), "8", "2"], 1, 0)
    _run([model, data, str(two), "4", "2", "--fsdp"], 2, 29541)
    return {"one": one, "two": two, "data": Path(data), "root": root}


@pytest.mark.slow
def test_two_process_fsdp_matches_one_process(runs: dict[str, Path], tiny_model_dir: Path) -> None:
    a, b = _trainable(runs["one"], 2), _trainable(runs["two"], 2)
    assert a.keys() == b.keys()
    for name in a:
        # Saved unsharded: the full shapes, not one rank's shard.
        assert a[name].shape == b[name].shape, name
        torch.testing.assert_close(b[name], a[name], atol=ATOL, rtol=RTOL, msg=name)
    from transformers import AutoModelForCausalLM

    init = dict(AutoModelForCausalLM.from_pretrained(tiny_model_dir).named_parameters())
    moved = sum(int(not torch.allclose(init[n], a[n])) for n in a)
    assert moved > len(a) // 2
    # The final model is written whole (every process joins the gather) and loads as usual.
    final = AutoModelForCausalLM.from_pretrained(runs["two"] / "final").state_dict()
    for name in a:
        torch.testing.assert_close(final[name], b[name], atol=0.0, rtol=0.0, msg=name)


@pytest.mark.slow
def test_fsdp_checkpoint_resumes_to_the_same_parameters(
    runs: dict[str, Path], tiny_model_dir: Path
) -> None:
    model, data = str(tiny_model_dir), str(runs["data"])
    out = runs["root"] / "resumed"
    _run([model, data, str(out), "4", "1", "--fsdp"], 2, 29543)
    _run([model, data, str(out), "4", "2", "--fsdp", "--resume"], 2, 29545)
    full, resumed = _trainable(runs["two"], 2), _trainable(out, 2)
    assert full.keys() == resumed.keys()
    for name in full:
        torch.testing.assert_close(resumed[name], full[name], atol=0.0, rtol=0.0, msg=name)
    # The optimizer state is saved by parameter name, unsharded.
    opt = torch.load(out / "checkpoints" / "step-00000002" / "optimizer.pt", weights_only=True)
    assert set(opt["state"]) == set(full)


@pytest.mark.slow
def test_two_process_fsdp_grpo_with_an_engine_copy_matches_one_process(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """GRPO under FSDP samples from an engine holding its own model copy (as vLLM does): every
    rank gathers the full weights for it before each rollout."""
    from rl_helpers import PROMPTS, write_rows

    data = str(write_rows(tmp_path / "prompts.jsonl", PROMPTS))
    one, two = tmp_path / "one", tmp_path / "two"
    _run([str(tiny_model_dir), data, str(one), "8", "2", "--grpo"], 1, 0)
    _run([str(tiny_model_dir), data, str(two), "4", "2", "--grpo", "--fsdp"], 2, 29547)
    a, b = _trainable(one, 2), _trainable(two, 2)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(b[name], a[name], atol=ATOL, rtol=RTOL, msg=name)
    # Step 2's rollouts came from the weights after step 1 in both runs: same rewards.
    r1 = [json.loads(x)["reward"] for x in (one / "metrics.jsonl").read_text().splitlines()]
    r2 = [json.loads(x)["reward"] for x in (two / "metrics.jsonl").read_text().splitlines()]
    assert r1 == pytest.approx(r2)


class _EngineCopy:
    """Samples from its own model copy, which receives the policy's weights (like vLLM)."""

    def __init__(self, model_dir: str, tokenizer: Any) -> None:
        from ddp_worker import PerPromptSeeded
        from transformers import AutoModelForCausalLM

        from ifrl.core.backends.hf import HFGenerator

        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        self.inner = PerPromptSeeded(HFGenerator(self.model, tokenizer=tokenizer))
        self.eos_ids = self.inner.eos_ids
        self.loads = 0

    def load_weights(self, weights: dict[str, torch.Tensor]) -> None:
        missing, unexpected = self.model.load_state_dict(weights, strict=False)
        assert not unexpected and all("lm_head" in m for m in missing), (missing, unexpected)
        self.loads += 1

    def generate(self, prompts: Any, params: Any) -> Any:
        return self.inner.generate(prompts, params)


def _worker() -> None:
    import argparse

    sys.path.insert(0, str(WORKER.parent))
    from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer
    from ifrl.rltrain.loop import Trainer
    from ifrl.rltrain.sft import SFTConfig, SFTTrainer

    ap = argparse.ArgumentParser()
    for name in ("model", "data", "out"):
        ap.add_argument(name)
    ap.add_argument("per_device", type=int)
    ap.add_argument("max_steps", type=int)
    ap.add_argument("--fsdp", action="store_true")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--grpo", action="store_true")
    args = ap.parse_args()
    common: dict[str, Any] = dict(
        model=args.model,
        data=args.data,
        output_dir=args.out,
        max_steps=args.max_steps,
        per_device_batch_size=args.per_device,
        learning_rate=1e-3,
        adam_epsilon=1e-4,  # as in the DDP test: float noise in tiny gradients stays small
        save_steps=1,
        save_total_limit=0,
        resume=args.resume,
        progress=False,
    )
    trainer: Trainer
    if args.grpo:
        cfg = GRPOConfig(
            **common,
            save_final_model=False,
            num_generations=4,
            max_completion_length=6,
            beta=0.05,
            reward_funcs=("rl_helpers:no_comma", "rl_helpers:lowercase"),
        )
        trainer = GRPOTrainer(cfg)
        engine = _EngineCopy(args.model, trainer.tokenizer)
        trainer.generator = engine
        trainer._external_generator = True
    else:
        trainer = SFTTrainer(SFTConfig(**common, save_final_model=True))
    if args.fsdp:
        from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

        state = trainer.accelerator.state
        state.fsdp_plugin = FullyShardedDataParallelPlugin(fsdp_version=2)
        state.distributed_type = DistributedType.FSDP
    trainer.train()
    if args.fsdp:
        from ifrl.rltrain.checkpoint import is_sharded

        assert is_sharded(trainer.policy), "FSDP2 did not shard the policy"
    if args.grpo:
        assert engine.loads == args.max_steps, engine.loads  # once per rollout phase
    # Leave the process group before exit: tearing gloo down in interpreter shutdown can abort
    # a rank ("terminate called without an active exception") after the work is done.
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    # Everything is written; skip interpreter teardown, where gloo's threads have still been
    # seen to abort a rank after destroy_process_group (CI, 2026-12-05).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    _worker()
