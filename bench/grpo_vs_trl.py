"""Seconds per GRPO optimizer step: ifrl.rltrain's GRPOTrainer vs TRL's GRPOTrainer, same run.

Usage: python bench/grpo_vs_trl.py [--steps 6] [--prompts 4] [--generations 8] [--tokens 32]

Both train the seeded tiny Qwen2 model (ifrl.core.tiny) on CPU with identical settings: the same
prompts, ``prompts x generations`` completions of at most ``tokens`` new tokens per step (sampled
at temperature 1 with transformers on the current weights), the same reward (no commas +
lowercase), loss ``dapo``, ``beta = 0``, one optimizer step per rollout, AdamW at the same
learning rate. Each step's time covers rollout, reward, loss, backward and optimizer step; the
first step is a warm-up and is not counted (median of the rest); ``--rounds`` repeats both
runs, alternating their order, and the fastest round of each is reported. Needs ``pip install trl``.
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
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["step_cpu_seconds"] for r in rows[1:]), statistics.mean(
        r["completion_length"] for r in rows
    )


def run_trl(
    model_dir: Path, prompts: list[dict[str, Any]], args: argparse.Namespace, out: Path
) -> tuple[float, float]:
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    times: list[float] = []
    lengths: list[float] = []

    class Timer(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self.t0 = time.process_time()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            times.append(time.process_time() - self.t0)

        def on_log(
            self, _args: Any, _state: Any, _control: Any, logs: Any = None, **k: Any
        ) -> None:
            if logs and "completions/mean_length" in logs:
                lengths.append(float(logs["completions/mean_length"]))

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="float32")
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
        report_to="none",
        use_cpu=True,
        bf16=False,
        logging_steps=1,
        save_strategy="no",
        max_grad_norm=1.0,
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[no_comma, lowercase],
        args=cfg,
        train_dataset=datasets.Dataset.from_list(prompts),
        processing_class=tok,
        callbacks=[Timer()],
    )
    trainer.remove_callback(PrinterCallback)  # keep TRL's per-step log dicts off stdout
    trainer.train()
    return statistics.median(times[1:]), statistics.mean(lengths) if lengths else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch
    import trl

    # CPU seconds of one thread: on a shared machine wall time measures the neighbours' load.
    torch.set_num_threads(args.threads)

    from ifrl.core.tiny import build_tiny_model

    model_dir = build_tiny_model()
    prompts = [{"prompt": f"Write about the {w}, Then Stop."} for w in WORDS] * 4
    ours_runs: list[float] = []
    theirs_runs: list[float] = []
    our_len = their_len = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            # Alternate which trainer goes first so load changes on a shared machine hit both.
            order = ["ours", "trl"] if r % 2 == 0 else ["trl", "ours"]
            for who in order:
                if who == "ours":
                    t, our_len = run_ours(model_dir, prompts, args, Path(tmp) / f"ours{r}")
                    ours_runs.append(t)
                else:
                    t, their_len = run_trl(model_dir, prompts, args, Path(tmp) / f"trl{r}")
                    theirs_runs.append(t)
    # The least-disturbed round of each (per-round medians), as timing under contention only adds.
    ours, theirs = min(ours_runs), min(theirs_runs)
    print(f"per-round medians (CPU s/step): ours {ours_runs}, TRL {theirs_runs}")
    print(
        f"settings: tiny qwen2, CPU, {args.prompts} prompts x {args.generations} completions, "
        f"<= {args.tokens} new tokens, {args.steps} steps (first is warm-up), {args.rounds} rounds, TRL {trl.__version__}"
    )
    print(f"mean completion length: ours {our_len:.1f}, TRL {their_len:.1f}")
    print(f"ifrl.rltrain GRPO: {ours:.3f} CPU s/step")
    print(f"TRL GRPO:          {theirs:.3f} CPU s/step")
    print(f"ratio={ours / theirs:.3f}")


if __name__ == "__main__":
    main()
