"""MCTS preference collection: batched expansion across trees versus one tree at a time.

Usage: python bench/mcts_throughput.py [--trees 16] [--iterations 3] [--actions 3] [--tokens 32]
       [--model DIR] [--device cpu] [--reward similarity|match]

Prompts are turns of synthetic tool dialogs (``ifrl.toolgen``, programmatic backend) rendered with
the model's chat template; the model defaults to the seeded tiny model (``ifrl.core.tiny``).
Both modes run the same :func:`ifrl.rltrain.search` on the same trees through the same
``HFGenerator``; the only difference is ``batch_trees`` (0: every tree's expansion in one
``generate`` call per iteration; 1: one call per tree). The untrained tiny model never writes a
valid tool call, so the default reward is the character similarity of the response to the gold
response (any ``RewardFn`` plugs in; ``--reward match`` uses the tool-call matcher). Prints
trees/s, generated tokens/s and pairs/s per mode. Both modes do the same work per tree (the same
iterations and actions), but sampling draws from the RNG in a different order, so the sampled
texts, and hence the number of preference pairs, differ between them: pairs/s is printed for
information only (the untrained model is never correct, so its pairs choose the gold response). The last line is ``speedup=<batched trees/s / one-at-a-time trees/s>``.
"""

from __future__ import annotations

import argparse
import difflib
import time
from collections.abc import Sequence
from typing import Any


def similarity_reward(
    prompts: Sequence[str], completions: Sequence[str], **cols: Any
) -> list[float | None]:
    """Character similarity (difflib ratio) of each completion to its ``gold_response``."""
    return [
        difflib.SequenceMatcher(None, c, g, autojunk=False).ratio()
        for c, g in zip(completions, cols["gold_response"])
    ]


def zero_reward(
    prompts: Sequence[str], completions: Sequence[str], **cols: Any
) -> list[float | None]:
    """0 for every completion (the warm-up search)."""
    return [0.0] * len(completions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--actions", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--model", default="")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--reward", choices=("similarity", "match"), default="similarity")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from ifrl.core import ToolCallReward, build_tiny_model
    from ifrl.core.backends.hf import HFGenerator
    from ifrl.rltrain import (
        MCTSConfig,
        SearchTree,
        collect_pairs,
        samples_from_conversation,
        search,
    )
    from ifrl.rltrain.itool import reference_text
    from ifrl.toolgen import DialogGenerator, Planner, ProgrammaticApiGenerator

    torch.manual_seed(args.seed)
    model = args.model or str(build_tiny_model())
    gen = HFGenerator(model, device=args.device, batch_size=max(1, args.trees * args.actions))
    apis = list(ProgrammaticApiGenerator(seed=args.seed).generate(8))
    planner = Planner(apis, seed=args.seed, max_tools=2)
    planner.weights = {
        "single": 1.0,
        "parallel": 1.0,
        "dependent": 0.0,
        "non_tool": 0.0,
        "clarify": 0.0,
    }
    samples = []
    for r in DialogGenerator(planner).run(list(range(4 * args.trees))):
        if r.dialog is None or not r.dialog.calls():
            continue
        conv = r.dialog.conversation()
        samples += [
            s for s in samples_from_conversation(gen.tokenizer, conv, str(r.index)) if s.gold_calls
        ]
        if len(samples) >= args.trees:
            break
    samples = samples[: args.trees]
    cfg = MCTSConfig(
        iterations=args.iterations,
        num_actions=args.actions,
        max_new_tokens=args.tokens,
        seed=args.seed,
    )
    reward = similarity_reward if args.reward == "similarity" else ToolCallReward()
    # Warm-up: the first forward passes allocate and tune; do not time them.
    search(
        [SearchTree(samples[0].prompt, {})],
        gen,
        MCTSConfig(iterations=1, num_actions=1, max_new_tokens=2),
        zero_reward,
    )

    results = {}
    for label, batch_trees in (("batched", 0), ("one-at-a-time", 1)):
        trees = [
            SearchTree(
                s.prompt,
                {"gold_calls": list(s.gold_calls), "gold_response": s.response},
                sample_id=s.id,
                reference=reference_text(s, gen.tokenizer),  # pairs choose it when no sample is
            )
            for s in samples
        ]
        t0 = time.perf_counter()
        cost = search(trees, gen, cfg, reward, batch_trees=batch_trees)
        seconds = time.perf_counter() - t0
        pairs = collect_pairs(trees)
        results[label] = (len(trees) / seconds, cost.generated_tokens / seconds)
        print(
            f"{label}: {len(trees)} trees, {len(pairs)} pairs, {cost.calls} model calls, "
            f"{cost.generated_tokens} tokens, {cost.batches} generate calls in {seconds:.1f}s -> "
            f"trees/s={len(trees) / seconds:.3f} tokens/s={cost.generated_tokens / seconds:.1f} "
            f"pairs/s={len(pairs) / seconds:.3f}"
        )
    b, o = results["batched"], results["one-at-a-time"]
    print(f"tokens_speedup={b[1] / o[1]:.2f}")
    print(f"speedup={b[0] / o[0]:.2f}")


if __name__ == "__main__":
    main()
