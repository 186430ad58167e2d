"""Run a short seeded training in a subprocess, optionally SIGKILLing itself mid-run.

Usage: python resume_worker.py ALGO MODEL_DIR DATA OUT_DIR [--resume] [--kill-at STEP]
(``--kill-at k`` kills the process with SIGKILL while optimizer step k+1 is being computed,
after checkpoint k-1 or earlier was written).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("algo")
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--kill-at", type=int, default=-1)
    args = ap.parse_args()
    common: dict[str, Any] = dict(
        model=args.model,
        data=args.data,
        output_dir=args.out,
        max_steps=5,
        save_steps=2,
        save_total_limit=0,
        resume=args.resume,
        progress=False,
        save_final_model=False,
        learning_rate=1e-3,
        per_device_batch_size=2,
        gradient_accumulation_steps=2,
        lr_scheduler="cosine",
        warmup_steps=1,
    )
    if args.algo == "sft":
        from ifrl.rltrain.sft import SFTConfig, SFTTrainer

        base: Any = SFTTrainer
        cfg: Any = SFTConfig(**common)
    elif args.algo == "grpo":
        from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer

        base = GRPOTrainer
        cfg = GRPOConfig(
            **common,
            num_generations=2,
            max_completion_length=6,
            num_iterations=2,
            beta=0.05,
            reward_funcs=("rl_helpers:no_comma", "rl_helpers:lowercase"),
        )
    else:
        from ifrl.rltrain.dpo import DPOConfig, DPOTrainer

        base = DPOTrainer
        cfg = DPOConfig(**common)

    class Killable(base):  # type: ignore[misc, valid-type]
        def compute_loss(self, batch: Any) -> Any:
            if self.step == args.kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return super().compute_loss(batch)

    Killable(cfg).train()


if __name__ == "__main__":
    main()
