"""Seconds per GRPO optimizer step: ifrl.rltrain's GRPOTrainer vs TRL's GRPOTrainer, same run.

Usage: python bench/grpo_vs_trl.py [--steps 6] [--prompts 4] [--generations 8] [--tokens 32]
[--rounds 2] [--threads 1]

Both train the seeded tiny Qwen2 model (ifrl.core.tiny) on CPU with identical settings: the same
prompts, ``prompts x generations`` completions of at most ``tokens`` new tokens per step (sampled
at temperature 1 with transformers on the current weights), the same reward (no commas +
lowercase), loss ``dapo``, ``beta = 0``, one optimizer step per rollout, AdamW at the same
learning rate, gradient clipping at 1.0. Each step's time covers rollout, reward, loss, backward
and optimizer step. Needs ``pip install trl``. Timing (CPU seconds of the process, warm-up step
skipped, median per round, fastest round of each side) is described in ``_trl_common``; wall
seconds per step are in our ``metrics.jsonl``. The last line is
``ratio=<our seconds per step / TRL's>``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from _trl_common import (
    add_common_args,
    alternate,
    our_step_seconds,
    prepare,
    report,
    run_trl,
    trl_cpu_args,
)

WORDS = ["apple", "river", "stone", "green", "cloud", "music", "bread", "light", "ocean", "paper"]


def no_comma(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
    return [0.0 if "," in c else 1.0 for c in completions]


def lowercase(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
    return [0.0 if any(ch.isupper() for ch in c) else 1.0 for c in completions]


def run_ours(
    model_dir: Path, prompts: list[dict[str, Any]], args: argparse.Namespace, out: Path
) -> tuple[float, float]:
    from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer

    cfg = GRPOConfig(
        model=str(model_dir),
        output_dir=str(out),
        max_steps=args.steps,
        per_device_batch_size=args.prompts * args.generations,
        num_generations=args.generations,
        max_completion_length=args.tokens,
        learning_rate=1e-5,
        beta=0.0,
        loss_type="dapo",
        progress=False,
        save_final_model=False,
        max_grad_norm=1.0,
    )
    GRPOTrainer(cfg, reward_funcs=[no_comma, lowercase], train_data=prompts).train()
    seconds, rows = our_step_seconds(out)
    return seconds, statistics.mean(r["completion_length"] for r in rows)


def run_theirs(
    model_dir: Path, prompts: list[dict[str, Any]], args: argparse.Namespace, out: Path
) -> tuple[float, float]:
    import datasets
    from trl import GRPOConfig, GRPOTrainer

    cfg = GRPOConfig(
        output_dir=str(out),
        max_steps=args.steps,
        per_device_train_batch_size=args.prompts * args.generations,
        num_generations=args.generations,
        max_completion_length=args.tokens,
        learning_rate=1e-5,
        beta=0.0,
        loss_type="dapo",
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        max_grad_norm=1.0,
        **trl_cpu_args(),
    )
    seconds, lengths = run_trl(
        GRPOTrainer,
        model_dir,
        log_key="completions/mean_length",
        reward_funcs=[no_comma, lowercase],
        args=cfg,
        train_dataset=datasets.Dataset.from_list(prompts),
    )
    return seconds, statistics.mean(lengths) if lengths else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=32)
    add_common_args(parser)
    args = parser.parse_args()

    import trl

    model_dir = prepare(args.threads)
    prompts = [{"prompt": f"Write about the {w}, Then Stop."} for w in WORDS] * 4
    lengths = {"ours": 0.0, "trl": 0.0}
    with tempfile.TemporaryDirectory() as tmp:

        def ours(r: int) -> float:
            t, lengths["ours"] = run_ours(model_dir, prompts, args, Path(tmp) / f"ours{r}")
            return t

        def theirs(r: int) -> float:
            t, lengths["trl"] = run_theirs(model_dir, prompts, args, Path(tmp) / f"trl{r}")
            return t

        ours_runs, theirs_runs = alternate(args.rounds, ours, theirs)
    report(
        "GRPO",
        ours_runs,
        theirs_runs,
        [
            f"settings: tiny qwen2, CPU, {args.prompts} prompts x {args.generations} completions, "
            f"<= {args.tokens} new tokens, {args.steps} steps (first is warm-up), "
            f"{args.rounds} rounds, {args.threads} thread(s), TRL {trl.__version__}",
            f"mean completion length: ours {lengths['ours']:.1f}, TRL {lengths['trl']:.1f}",
        ],
    )


if __name__ == "__main__":
    main()
