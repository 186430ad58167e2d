"""Seconds per DPO optimizer step: ifrl.rltrain's DPOTrainer vs TRL's DPOTrainer, same run.

Usage: python bench/dpo_vs_trl.py [--steps 8] [--batch 8] [--pairs 64]

Both train the seeded tiny Qwen2 model (ifrl.core.tiny) on CPU on the same preference pairs
(tokenised identically: TRL's prompt / prompt+chosen+EOS / prompt+rejected+EOS scheme), with the
same batch size, ``sigmoid`` loss, ``beta = 0.1``, a frozen reference model evaluated per batch
(no precomputation), AdamW at the same learning rate and gradient clipping at 1.0. The first step
is a warm-up and is not counted (median of the rest); ``--rounds`` repeats both runs,
alternating their order, and the fastest round of each is reported. Needs ``pip install trl``.
Times are CPU seconds of the process (``time.process_time``) with ``--threads`` torch threads
(default 1), so a busy shared machine does not distort them; wall seconds per step are in our
``metrics.jsonl``. The last line is ``ratio=<our seconds per step / TRL's>``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

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
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["step_cpu_seconds"] for r in rows[1:])


def run_trl(
    model_dir: Path, pairs: list[dict[str, str]], args: argparse.Namespace, out: Path
) -> float:
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from transformers.trainer_callback import PrinterCallback
    from trl import DPOConfig, DPOTrainer

    times: list[float] = []

    class Timer(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self.t0 = time.process_time()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            times.append(time.process_time() - self.t0)

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="float32")
    ref = AutoModelForCausalLM.from_pretrained(model_dir, dtype="float32")
    cfg = DPOConfig(
        output_dir=str(out),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch,
        learning_rate=1e-6,
        beta=0.1,
        loss_type=["sigmoid"],
        report_to="none",
        use_cpu=True,
        bf16=False,
        logging_steps=1,
        save_strategy="no",
        max_grad_norm=1.0,
        max_length=None,
        disable_tqdm=True,
    )
    trainer = DPOTrainer(
        model=model,
        ref_model=ref,
        args=cfg,
        train_dataset=datasets.Dataset.from_list(pairs),
        processing_class=tok,
        callbacks=[Timer()],
    )
    trainer.remove_callback(PrinterCallback)  # keep TRL's per-step log dicts off stdout
    trainer.train()
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch
    import trl

    # CPU seconds of one thread: on a shared machine wall time measures the neighbours' load.
    torch.set_num_threads(args.threads)

    from ifrl.core.tiny import build_tiny_model

    model_dir = build_tiny_model()
    pairs = make_pairs(args.pairs)
    ours_runs: list[float] = []
    theirs_runs: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            # Alternate which trainer goes first so load changes on a shared machine hit both.
            order = ["ours", "trl"] if r % 2 == 0 else ["trl", "ours"]
            for who in order:
                if who == "ours":
                    ours_runs.append(run_ours(model_dir, pairs, args, Path(tmp) / f"ours{r}"))
                else:
                    theirs_runs.append(run_trl(model_dir, pairs, args, Path(tmp) / f"trl{r}"))
    # The least-disturbed round of each (per-round medians), as timing under contention only adds.
    ours, theirs = min(ours_runs), min(theirs_runs)
    print(f"per-round medians (CPU s/step): ours {ours_runs}, TRL {theirs_runs}")
    print(
        f"settings: tiny qwen2, CPU, {args.pairs} pairs, batch {args.batch}, {args.steps} steps "
        f"(first is warm-up), {args.rounds} rounds, sigmoid, beta 0.1, TRL {trl.__version__}"
    )
    print(f"ifrl.rltrain DPO: {ours:.4f} CPU s/step")
    print(f"TRL DPO:          {theirs:.4f} CPU s/step")
    print(f"ratio={ours / theirs:.3f}")


if __name__ == "__main__":
    main()
