"""Two GRPO steps, run either as one process or under ``accelerate launch`` (gloo, CPU).

Usage: python ddp_worker.py MODEL_DIR DATA OUT_DIR PER_DEVICE_BATCH [dynamic]
(``dynamic``: dynamic sampling with the ``by_kind`` reward, whose ``flat`` rows give
zero-variance groups). Rollouts use a per-prompt seeded generator so a prompt's completions do not depend on which
process samples it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
from collections.abc import Sequence
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))


class PerPromptSeeded:
    """Wraps a generator: each prompt gets a seed from its text and the call count."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.eos_ids = inner.eos_ids
        self.calls = 0

    def generate(self, prompts: Sequence[Any], params: Any) -> list[list[Any]]:
        self.calls += 1
        out = []
        for p in prompts:
            digest = hashlib.sha256(f"{p}:{self.calls}".encode()).digest()
            seed = int.from_bytes(digest[:8], "little") >> 1
            out.append(self.inner.generate([p], dataclasses.replace(params, seed=seed))[0])
        return out


def main() -> None:
    from ifrl.core.backends.hf import HFGenerator
    from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer

    model, data, out, per_device = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    dynamic = sys.argv[5:] == ["dynamic"]
    cfg = GRPOConfig(
        model=model,
        data=data,
        output_dir=out,
        max_steps=2,
        per_device_batch_size=per_device,
        num_generations=4,
        max_completion_length=6,
        learning_rate=1e-3,
        # Adam divides by sqrt(v) + eps: a larger eps keeps float noise in near-zero gradients
        # (batch 8 vs 2 x 4 forward passes) from being amplified into lr-sized updates.
        adam_epsilon=1e-4,
        beta=0.05,
        loss_type="dapo",
        reward_funcs=(
            ("rl_helpers:by_kind",) if dynamic else ("rl_helpers:no_comma", "rl_helpers:lowercase")
        ),
        dynamic_sampling=dynamic,
        progress=False,
        save_final_model=False,
    )
    trainer = GRPOTrainer(cfg)
    trainer.generator = PerPromptSeeded(HFGenerator(trainer.policy, tokenizer=trainer.tokenizer))
    trainer.train()


if __name__ == "__main__":
    main()
