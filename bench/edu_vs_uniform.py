"""Query cost of EDU-PRM's entropy-anchored labeling against uniform (Math-Shepherd) Monte Carlo.

Same model, same questions, same answer checker. EDU grows one tree per question (greedy
decoding, branching on the top-k tokens at entropy anchors) and labels every tree node by the
fraction of its leaves that are correct. The uniform baseline decodes the greedy solution, splits
it at newlines and samples ``--rollouts`` completions from every step prefix. For each method
the script prints the labeled steps and the model usage (queries, generated tokens, forward
tokens) per labeled step and per question, then the cost ratio and the agreement of hard labels
on shared steps (uniform step boundaries on the common greedy solution, see
``ifrl.prm.label_agreement``). Its last line is::

    cost_ratio=<uniform's generated tokens per labeled step / EDU's> agreement=<fraction>

Tasks: ``gsm8k`` (questions from ``../shared/data/gsm8k/test.jsonl`` or ``--data``) and
``synthetic`` (single-digit addition/subtraction chains, ``ifrl.prm.ArithmeticTask``). The default
model is the tiny model warmed up on the synthetic task (trained once, then cached), so that its
solutions are step-by-step and sometimes right; ``--model`` takes any causal LM directory.

    .venv/bin/python bench/edu_vs_uniform.py [--task gsm8k|synthetic] [--questions 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GSM8K = ROOT.parent / "shared" / "data" / "gsm8k" / "test.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=["gsm8k", "synthetic"], default="gsm8k")
    parser.add_argument("--data", type=Path, default=GSM8K, help="GSM8K-style JSONL")
    parser.add_argument("--model", default=None, help="model directory (default: tiny policy)")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--rollouts", type=int, default=8, help="uniform: rollouts per step")
    parser.add_argument("--tau", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=2)
    parser.add_argument("--max-depth", type=int, default=4)
    parser.add_argument("--max-branches", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from ifrl.core.backends.hf import HFGenerator
    from ifrl.prm import (
        ArithmeticTask,
        BranchConfig,
        HFStepDecoder,
        UniformConfig,
        build_trees,
        get_checker,
        grade_leaves,
        label_agreement,
        load_questions,
        mc_labels,
        synthetic_policy,
        uniform_label,
    )

    if args.task == "gsm8k":
        if not args.data.is_file():
            print(f"GSM8K data not found at {args.data}; pass --data", file=sys.stderr)
            return 2
        questions = load_questions(args.data, limit=args.questions)
    else:
        problems = ArithmeticTask().problems(
            args.questions, seed=10_000 + args.seed, prefix="bench"
        )
        questions = [p.to_question() for p in problems]
    model = args.model or str(synthetic_policy())
    generator = HFGenerator(model, batch_size=args.batch_size)
    checker = get_checker("gsm8k")
    print(f"task={args.task} questions={len(questions)} model={model}")

    edu = HFStepDecoder(generator)
    t0 = time.perf_counter()
    config = BranchConfig(
        tau=args.tau,
        top_k=args.top_k,
        max_depth=args.max_depth,
        max_branches=args.max_branches,
        max_new_tokens=args.max_new_tokens,
    )
    trees = build_trees(edu, questions, config, progress=True)
    graded = [grade_leaves(t, generator.tokenizer, checker) for t in trees]
    labels = [mc_labels(t, g) for t, g in zip(trees, graded)]
    edu_steps = sum(1 for t, lab in zip(trees, labels) for nid in lab if t.nodes[nid].token_ids)
    edu_time = time.perf_counter() - t0
    leaves = sum(len(g) for g in graded)
    edu_correct = sum(sum(g.values()) for g in graded)

    uni = HFStepDecoder(generator)
    t0 = time.perf_counter()
    ucfg = UniformConfig(rollouts=args.rollouts, max_new_tokens=args.max_new_tokens, seed=args.seed)
    results = uniform_label(uni, questions, checker, ucfg, progress=True)
    uni_steps = sum(len(r.spans) for r in results)
    uni_time = time.perf_counter() - t0
    greedy_ok = sum(r.labels[-1].correct for r in results if r.labels)

    n = len(questions)
    print(f"greedy solutions correct: {greedy_ok}/{n}; EDU leaves correct: {edu_correct}/{leaves}")
    header = f"{'method':8} {'steps':>6} {'queries':>8} {'gen tok':>9} {'fwd tok':>9} "
    header += f"{'q/step':>7} {'gen/step':>9} {'fwd/step':>9} {'gen/question':>12} {'wall s':>7}"
    print(header)
    for name, dec, steps, wall in (
        ("edu", edu, edu_steps, edu_time),
        ("uniform", uni, uni_steps, uni_time),
    ):
        c = dec.cost
        per = c.per(steps)
        print(
            f"{name:8} {steps:6d} {c.calls:8d} {c.generated_tokens:9d} {c.forward_tokens:9d} "
            f"{per['calls']:7.2f} {per['generated_tokens']:9.1f} {per['forward_tokens']:9.1f} "
            f"{c.generated_tokens / max(1, n):12.1f} {wall:7.1f}"
        )
    edu_per = edu.cost.per(edu_steps)
    uni_per = uni.cost.per(uni_steps)
    ratio = uni_per["generated_tokens"] / edu_per["generated_tokens"]
    fwd_ratio = uni_per["forward_tokens"] / edu_per["forward_tokens"]
    q_ratio = uni_per["calls"] / edu_per["calls"]
    agree = label_agreement(trees, labels, results)
    print(
        f"per labeled step, uniform / EDU: generated tokens {ratio:.2f}x, forward tokens "
        f"{fwd_ratio:.2f}x, queries {q_ratio:.2f}x (EDU saves {100 * (1 - 1 / ratio):.1f}% "
        "of generated tokens per labeled step)"
    )
    print(
        f"shared steps: {agree.shared} (questions skipped: {agree.skipped_questions}); hard labels "
        f"agree on {agree.hard_agree}; mean |soft EDU - soft uniform| = {agree.mean_soft_diff:.3f}"
    )
    print(f"cost_ratio={ratio:.3f} agreement={agree.hard_rate:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
