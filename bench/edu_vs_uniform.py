"""EDU-PRM's entropy-anchored labelling against uniform (Math-Shepherd) Monte Carlo: cost and
quality on the same solutions, and PRMs trained at a matched labelling budget.

``--task synthetic`` (the default) runs the ``edu-prm-study`` recipe of ``ifrl-pipelines`` at a
size that takes minutes here: a policy warmed up on arithmetic chains of 2 to 14 operations
(3 to 15 lines; trained once and cached), a sweep over solution length, EDU trees on the training
questions with uniform MC on leaves of the same trees until it has spent what EDU spent, and
``--seeds`` PRMs per labeler evaluated on held-out questions (exact first wrong line known). It
prints the sweep, then::

    cost_ratio_line=<uniform / EDU generated tokens per labelled line step>
    cost_ratio_question=<the same per question>
    kappa_edu=<Cohen's kappa of EDU's hard labels vs exact step truth> kappa_uniform=<...>
    f1_prm_edu=<first-error F1 of PRMs on EDU labels> f1_prm_uniform=<... on uniform labels>

(F1: mean over seeds, at the matched full budget; the run directory's ``results.json`` holds the
intervals, the per-budget table and the plots.) ``--task gsm8k`` measures cost only (no step
truth) on GSM8K questions with ``--model``.

    .venv/bin/python bench/edu_vs_uniform.py [--task synthetic|gsm8k] [--run-dir DIR] [--full]
        [--lengths 3,7,11] [--sweep-questions 8] [--questions N] [--seeds K]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GSM8K = ROOT.parent / "shared" / "data" / "gsm8k" / "test.jsonl"

# Sized for minutes on 2 CPU cores (--full: the study of the ifrl-edu-prm README; --lengths and
# --sweep-questions widen the length sweep alone: the README's sweep is --lengths 3,7,11
# --sweep-questions 8, about 20 minutes here).
QUICK: dict[str, Any] = {
    "policy": {"warmup_problems": 9600},  # 300 warm-up steps (the study's default: 800)
    "study": {
        "questions": 8,
        "budgets": [1.0],
        "lengths": [3],
        "sweep_questions": 4,
        "eval_questions": 16,
        "eval_n": 4,
        "bootstrap": 300,
    },
    "prm": {"seeds": 3, "epochs": 2.0},
}
FULL: dict[str, Any] = {
    "study": {
        "questions": 200,
        "budgets": [0.25, 0.5, 1.0],
        "lengths": [3, 5, 7, 9, 11, 13, 15],
        "sweep_questions": 20,
        "eval_questions": 100,
        "eval_n": 8,
    },
    "prm": {"seeds": 3, "epochs": 4.0},
}


def _fmt(x: Any) -> str:
    return "nan" if x is None else f"{x:.3f}"


def synthetic(args: argparse.Namespace) -> int:
    from ifrl.core.config import from_mapping
    from ifrl.pipelines.recipe import get_recipe, run_recipe
    from ifrl.pipelines.recipes.eduprm_study import EduPrmStudyConfig

    mapping = json.loads(json.dumps(FULL if args.full else QUICK))
    mapping["study"]["seed"] = args.seed
    if args.seeds:
        mapping["prm"]["seeds"] = args.seeds
    if args.questions:
        mapping["study"]["questions"] = args.questions
    if args.lengths:
        mapping["study"]["lengths"] = [int(x) for x in args.lengths.split(",")]
    if args.sweep_questions:
        mapping["study"]["sweep_questions"] = args.sweep_questions
    cfg = from_mapping(EduPrmStudyConfig, mapping, "bench")
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="edu-vs-uniform-"))
    t0 = time.perf_counter()
    run_recipe(get_recipe("edu-prm-study"), cfg, run_dir, echo=lambda s: print(s, flush=True))
    wall = time.perf_counter() - t0
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    head = results["headline"]
    print(f"run directory: {run_dir} ({wall:.0f} s)")
    print("length sweep (same solutions; per line step and per question, uniform / EDU):")
    print(
        f"{'lines':>5} {'q':>3} {'ratio/line':>10} {'ratio/q':>8} {'calls/line':>10} "
        f"{'kappa EDU':>18} {'kappa uniform':>18} {'EDU 1-leaf':>10}"
    )
    for r in results["sweep"]:
        ke, ku = r["kappa_edu_ci95"] or [None, None], r["kappa_uniform_ci95"] or [None, None]
        print(
            f"{r['lines']:5d} {r['questions']:3d} {_fmt(r['cost_ratio_line']):>10} "
            f"{_fmt(r['cost_ratio_question']):>8} {_fmt(r['calls_ratio_line']):>10} "
            f"{_fmt(r['kappa_edu'])} [{_fmt(ke[0])}, {_fmt(ke[1])}] "
            f"{_fmt(r['kappa_uniform'])} [{_fmt(ku[0])}, {_fmt(ku[1])}] "
            f"{_fmt(r['edu_single_leaf_step_share']):>10}"
        )
    print(
        f"training questions: EDU {head['questions_edu']}, uniform {head['questions_uniform']} "
        f"at the matched budget; {head['seeds']} PRM seeds per labeler"
    )
    print(f"cost_ratio_line={_fmt(head['cost_ratio_line'])}")
    print(f"cost_ratio_question={_fmt(head['cost_ratio_question'])}")
    print(f"kappa_edu={_fmt(head['kappa_edu'])} kappa_uniform={_fmt(head['kappa_uniform'])}")
    print(f"f1_prm_edu={_fmt(head['f1_prm_edu'])} f1_prm_uniform={_fmt(head['f1_prm_uniform'])}")
    return 0


def gsm8k(args: argparse.Namespace) -> int:
    """Cost only: EDU trees and uniform MC on leaves of the same trees (no step truth)."""
    from ifrl.core.records import Cost
    from ifrl.prm import (
        BranchConfig,
        HFStepDecoder,
        UniformConfig,
        build_trees,
        get_checker,
        label_solutions,
        labelling_report,
        load_questions,
    )
    from ifrl.prm.study import sampling_cost, uniform_set

    if not args.data.is_file():
        print(f"GSM8K data not found at {args.data}; pass --data", file=sys.stderr)
        return 2
    if not args.model:
        print("--task gsm8k needs --model (a causal LM directory)", file=sys.stderr)
        return 2
    questions = load_questions(args.data, limit=args.questions or 10)
    decoder = HFStepDecoder.from_pretrained(args.model, batch_size=32)
    config = BranchConfig(max_depth=4, max_branches=8, max_new_tokens=256)
    trees = build_trees(decoder, questions, config, progress=True)
    checker = get_checker("gsm8k")
    sets = {}
    for tree, q in zip(trees, questions):
        leaves = sorted((n.id for n in tree.leaves()), key=tree.branch_choices)[:4]
        sols = [tree.solution_ids(leaf) for leaf in leaves]
        before = decoder.cost
        results = label_solutions(decoder, q, sols, checker, UniformConfig(seed=args.seed))
        after = decoder.cost
        spent = Cost(
            after.calls - before.calls,
            after.generated_tokens - before.generated_tokens,
            after.forward_tokens - before.forward_tokens,
        )
        sets[q.id] = uniform_set(results, spent + sampling_cost(len(tree.prompt_ids), sols))
    head = labelling_report(trees, sets, decoder.tokenizer, checker)["headline"]
    print(f"cost_ratio_line={_fmt(head['cost_ratio_line'])}")
    print(f"cost_ratio_question={_fmt(head['cost_ratio_question'])}")
    print("kappa_edu=nan kappa_uniform=nan (no step truth on GSM8K)")
    print("f1_prm_edu=nan f1_prm_uniform=nan (no step truth on GSM8K)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=["synthetic", "gsm8k"], default="synthetic")
    parser.add_argument("--run-dir", default=None, help="recipe run directory (resumes)")
    parser.add_argument("--full", action="store_true", help="the README's larger study")
    parser.add_argument("--questions", type=int, default=0, help="training questions")
    parser.add_argument("--seeds", type=int, default=0, help="PRM seeds per labeler")
    parser.add_argument("--lengths", default="", help="sweep: solution lengths, e.g. 3,7,11")
    parser.add_argument("--sweep-questions", type=int, default=0, help="sweep: per length")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=GSM8K, help="gsm8k: questions JSONL")
    parser.add_argument("--model", default=None, help="gsm8k: the policy")
    args = parser.parse_args(argv)
    return synthetic(args) if args.task == "synthetic" else gsm8k(args)


if __name__ == "__main__":
    raise SystemExit(main())
