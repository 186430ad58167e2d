"""Seconds per DPO optimizer step: ifrl.rltrain's DPOTrainer vs TRL's DPOTrainer, same run.

Usage: python bench/dpo_vs_trl.py [--steps 8] [--batch 8] [--pairs 64] [--rounds 2] [--threads 1]

Both train the seeded tiny Qwen2 model (ifrl.core.tiny) on CPU on the same preference pairs
(tokenised identically: TRL's prompt / prompt+chosen+EOS / prompt+rejected+EOS scheme), with the
same batch size, ``sigmoid`` loss, ``beta = 0.1``, a frozen reference model evaluated per batch
(no precomputation), AdamW at the same learning rate and gradient clipping at 1.0. Needs
``pip install trl``. Timing (CPU seconds of the process, warm-up step skipped, median per round,
fastest round of each side) is described in ``_trl_common``; wall seconds per step are in our
``metrics.jsonl``. The last line is ``ratio=<our seconds per step / TRL's>``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

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


def make_pairs(n: int) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        a, b, c = WORDS[i % 10], WORDS[(3 * i + 1) % 10], WORDS[(7 * i + 2) % 10]
        out.append(
            {
                "prompt": f"Question {i}: describe the {a} and the {b} in one short sentence.",
                "chosen": f" the {a} is next to the {b} and the {c} is far away from both of them",
                "rejected": f" The {a}, the {b}, AND the {c}: they are all here, or maybe not at all",
            }
        )
    return out


def run_ours(
    model_dir: Path, pairs: list[dict[str, str]], args: argparse.Namespace, out: Path
) -> float:
    from ifrl.rltrain.dpo import DPOConfig, DPOTrainer

    cfg = DPOConfig(
        model=str(model_dir),
        output_dir=str(out),
        max_steps=args.steps,
        per_device_batch_size=args.batch,
        learning_rate=1e-6,
        beta=0.1,
        loss_type="sigmoid",
        progress=False,
        save_final_model=False,
        max_grad_norm=1.0,
    )
    DPOTrainer(cfg, train_data=pairs).train()
    return our_step_seconds(out)[0]


def run_theirs(
    model_dir: Path, pairs: list[dict[str, str]], args: argparse.Namespace, out: Path
) -> float:
    import datasets
    from transformers import AutoModelForCausalLM
    from trl import DPOConfig, DPOTrainer

    cfg = DPOConfig(
        output_dir=str(out),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch,
        learning_rate=1e-6,
        beta=0.1,
        loss_type=["sigmoid"],
        max_grad_norm=1.0,
        max_length=None,
        **trl_cpu_args(),
    )
    return run_trl(
        DPOTrainer,
        model_dir,
        ref_model=AutoModelForCausalLM.from_pretrained(model_dir, dtype="float32"),
        args=cfg,
        train_dataset=datasets.Dataset.from_list(pairs),
    )[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=64)
    add_common_args(parser)
    args = parser.parse_args()

    import trl

    model_dir = prepare(args.threads)
    pairs = make_pairs(args.pairs)
    with tempfile.TemporaryDirectory() as tmp:
        ours_runs, theirs_runs = alternate(
            args.rounds,
            lambda r: run_ours(model_dir, pairs, args, Path(tmp) / f"ours{r}"),
            lambda r: run_theirs(model_dir, pairs, args, Path(tmp) / f"trl{r}"),
        )
    report(
        "DPO",
        ours_runs,
        theirs_runs,
        [
            f"settings: tiny qwen2, CPU, {args.pairs} pairs, batch {args.batch}, {args.steps} "
            f"steps (first is warm-up), {args.rounds} rounds, {args.threads} thread(s), sigmoid, "
            f"beta 0.1, TRL {trl.__version__}"
        ],
    )


if __name__ == "__main__":
    main()
