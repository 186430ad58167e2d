"""Compose your own pipeline from three packages, without the recipe runner.

Synthesize constraint prompts (ifrl.constraints), train a few GRPO steps on the tiny model with
the hard verifiers as the reward (ifrl.rltrain), and score held-out prompts before and after
(ifrl.evals). Offline, on a CPU, in about a minute:

    python examples/compose_your_own.py --out runs/compose
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ifrl.constraints import strict_fraction, synthesize, training_row, write_prompts
from ifrl.core import SamplingParams, build_tiny_model, make_generator
from ifrl.evals import get_benchmark, run
from ifrl.rltrain import GRPOConfig, GRPOTrainer

SEEDS = [f"Write a short note about {t}." for t in ("rivers", "owls", "trains", "tea", "snow")]


def prompt_level(model: str | Path, data: Path, out: Path) -> float:
    """Held-out prompt-level strict accuracy of ``model`` (greedy, 32 new tokens)."""
    bench = get_benchmark("ifeval", data=str(data))
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=32)
    result = run(bench, out, generator=make_generator("hf", model=model), params=params)
    return result.metrics["prompt_level_strict_acc"].value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="runs/compose")
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    out = Path(args.out)
    model = build_tiny_model()

    items = synthesize(SEEDS * 2, n_constraints=1, rng=0)
    train, held = items[:8], items[8:]
    write_prompts(out / "heldout.jsonl", held, "ifeval")

    config = GRPOConfig(
        model=str(model),
        output_dir=str(out / "grpo"),
        max_steps=args.steps,
        num_generations=4,
        per_device_batch_size=8,
        max_completion_length=16,
        learning_rate=1e-3,
        progress=False,
    )
    rows = [training_row(p) for p in train]
    trained = GRPOTrainer(config, reward_funcs=[strict_fraction], train_data=rows).train()

    before = prompt_level(model, out / "heldout.jsonl", out / "eval-before")
    after = prompt_level(trained.final_model or model, out / "heldout.jsonl", out / "eval-after")
    summary = {"reward": trained.metrics.get("reward"), "before": before, "after": after}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
