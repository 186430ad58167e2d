"""Train a small PRM in a subprocess, optionally SIGKILLing itself mid-run.

Usage: python prm_resume_worker.py MODEL_DIR OUT_DIR [--kill-at STEP]
(``--kill-at k`` kills the process while optimizer step k (0-based) is about to be computed,
after the checkpoints of the steps before it were written).
"""

from __future__ import annotations

import argparse
import os
import signal

from ifrl.core.records import StepSample
from ifrl.prm.train import PRMTrainConfig, train_prm


def samples() -> list[StepSample]:
    out = []
    for i in range(10):
        a, b = i % 7 + 1, i % 5 + 2
        good = i % 2 == 0
        steps = (
            f"Step 1: {a} + {b} = {a + b}\n",
            f"Step 2: that is {'right' if good else 'wrong'}",
        )
        out.append(StepSample(f"Question: {a} + {b}\n", steps, (1.0, 1.0 if good else 0.0)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--kill-at", type=int, default=-1)
    args = ap.parse_args()
    config = PRMTrainConfig(
        epochs=2.0, batch_size=2, grad_accum=2, lr=1e-3, save_steps=2, device="cpu", seed=3
    )

    def on_step(step: int) -> None:
        if step == args.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    train_prm(samples(), args.model, config, out_dir=args.out, progress=False, on_step=on_step)


if __name__ == "__main__":
    main()
