"""The ``edu-prm-study`` recipe: what EDU labelling costs and what its labels are worth, against
uniform Monte Carlo (Math-Shepherd) labelling of the same solutions, on the synthetic task where
the first wrong line of every solution is known.

Stages and what they write in the run directory:

* ``policy`` — the synthetic policy (by default warmed up on chains of 2 to 14 operations, so
  its solutions run 3 to 15 lines; a fifth of the questions reserved for evaluation).
* ``sweep`` — per solution length (``study.lengths``, in lines): ``study.sweep_questions``
  questions of exactly that length, EDU trees, uniform MC on ``study.solutions`` of each tree's
  leaves, and :func:`ifrl.prm.labelling_report`: generated tokens and calls per labelled line
  step and per question for each labeler, and Cohen's kappa of each one's hard labels against
  exact step truth on the same line steps (``sweep.json``, ``sweep.png``).
* ``label`` — ``study.questions`` training questions (lengths as the policy's task): EDU trees and
  labels, then uniform MC on the same trees' leaves, question after question until it has spent
  what EDU spent on all of them (``labels/``; the labelling report of the questions both labelled
  in ``label.json``).
* ``eval`` — held-out questions (the reserved share, never in the warm-up): ``study.eval_n``
  sampled solutions each with their exact first wrong line and correctness, and a planted-error
  set from their gold solutions (``eval/``).
* ``train`` — for every budget (``study.budgets``, shares of EDU's generated tokens), each labeler
  and each of ``prm.seeds`` seeds: a PRM trained on the labels that budget bought (the first
  questions whose labelling fits in it), scored on the eval set and evaluated by ``ifrl.evals``'
  ``prm`` benchmark (first-error F1 on sampled and planted solutions, Best-of-N, AUROC,
  within-question ranking), one result file per PRM (``train/``), so a rerun resumes.
* ``report`` — ``results.json`` (the headline: cost ratios per line step and per question with
  bootstrap intervals over questions, kappa of both labelers, and first-error F1 of the PRMs at
  the full matched budget, as the mean over seeds with a t-interval; per budget and labeler the
  same), ``cost_quality.png``.

The paper's "98% reduction in query cost" has two readings (``../shared/PAPERS.md`` §4): (a)
training data, PRM quality per training question, here the questions each labeler covers at a
matched budget and the PRMs trained on them; (b) labelling compute, here tokens and calls per
labelled line step on the same solutions. ``results.json`` keeps them apart.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from ifrl.core.config import ConfigError, check_choice, opt
from ifrl.core.jsonl import read_jsonl, write_json, write_jsonl
from ifrl.core.records import SamplingParams, StepSample
from ifrl.evals.plots import pyplot
from ifrl.pipelines.recipe import Recipe, Stage, StageContext
from ifrl.pipelines.recipes.eduprm import (
    BranchSection,
    PolicySection,
    PRMSection,
    branch_in_chunks,
    close,
    evaluate_file,
    make_decoder,
    over_seeds,
    read_questions,
    score_eval_set,
    stage_policy,
    synthetic_questions,
    uniform_on_trees,
)
from ifrl.prm import (
    AGGREGATIONS,
    ArithmeticTask,
    BranchTree,
    ProcessRewardModel,
    Question,
    StepProblem,
    UniformConfig,
    first_wrong_line,
    get_checker,
    grade_leaves,
    labelling_report,
    line_truth,
    policy_confidence,
    split_solution,
    step_samples,
    train_prm,
)


def _long_task() -> ArithmeticTask:
    return ArithmeticTask(min_ops=2, max_ops=14, holdout=0.2)


@dataclass
class StudyPolicySection(PolicySection):
    warmup_problems: int = opt("synthetic: gold solutions the warm-up trains on.", 25_600)
    warmup_lr: float = opt("synthetic: warm-up learning rate.", 1e-3)
    task: ArithmeticTask = opt(
        "synthetic: the arithmetic task (2 to 14 operations: 3 to 15 lines).", factory=_long_task
    )


@dataclass(frozen=True)
class StudyBranchSection(BranchSection):
    tau: float = opt("Entropy threshold (nats) of an anchor.", 1.0)
    max_depth: int = opt("Anchors (branchings) along one path.", 4)
    max_branches: int = opt("Leaves (solutions) per question.", 8)
    max_new_tokens: int = opt("Tokens per solution.", 256)
    chunk: int = opt("Questions branched together (and saved together, for resuming).", 64)


@dataclass(frozen=True)
class StudyPRMSection(PRMSection):
    epochs: float = opt("Passes over the labeled solutions.", 4.0)
    extra_layers: int = opt("Identity-initialised decoder layers stacked on the base.", 3)
    freeze_base: bool = opt("Train only the extra layers, the final norm and the head.", True)
    max_length: int = opt("Tokens per sample (truncated).", 320)


@dataclass
class StudySection:
    questions: int = opt(
        "Training questions EDU labels (uniform: as many as the budget buys).", 200, minimum=1
    )
    budgets: tuple[float, ...] = opt(
        "Matched budgets: shares of EDU's generated tokens on all training questions.", (0.5, 1.0)
    )
    solutions: int = opt("Leaves of each tree uniform MC labels (0: all; greedy first).", 4)
    rollouts: int = opt("Uniform MC: completions from every line prefix.", 8, minimum=1)
    temperature: float = opt("Uniform MC rollout and eval sampling temperature.", 1.0)
    lengths: tuple[int, ...] = opt(
        "Sweep: solution lengths in lines (2 to the policy task's max_ops + 1).",
        (3, 5, 7, 9, 11, 13, 15),
    )
    sweep_questions: int = opt("Sweep: questions per length.", 20)
    eval_questions: int = opt("Held-out questions.", 100, minimum=1)
    eval_n: int = opt("Sampled solutions per held-out question.", 8, minimum=1)
    aggregation: str = opt("Step scores → solution score (Best-of-N).", "min")
    threshold: float = opt("First-error F1: a step scored below this is an error.", 0.5)
    bootstrap: int = opt("Bootstrap resamples of the 95% intervals.", 1000)
    seed: int = opt("Seed of questions, rollouts and sampling.", 0)

    def validate(self) -> None:
        check_choice("aggregation", self.aggregation, AGGREGATIONS.names())
        if not self.budgets or any(not 0 < b <= 1 for b in self.budgets):
            raise ConfigError("", "budgets", f"need shares in (0, 1], got {self.budgets}")
        if any(n < 2 for n in self.lengths):
            raise ConfigError("", "lengths", f"a solution has at least 2 lines, got {self.lengths}")


@dataclass
class EduPrmStudyConfig:
    """The ``edu-prm-study`` recipe's YAML file."""

    policy: StudyPolicySection = opt("Stage policy.", factory=StudyPolicySection)
    branch: StudyBranchSection = opt("EDU branching.", factory=StudyBranchSection)
    prm: StudyPRMSection = opt("The PRMs trained on each label set.", factory=StudyPRMSection)
    study: StudySection = opt("Sizes, budgets and the sweep.", factory=StudySection)

    def validate(self) -> None:
        if self.policy.path != "synthetic":
            raise ConfigError(
                "", "policy.path", "the study needs exact step truth: the synthetic policy"
            )
        top = self.policy.task.max_ops + 1
        if any(n > top for n in self.study.lengths):
            raise ConfigError(
                "", "study.lengths", f"the policy's task has at most {top} lines per solution"
            )


def _uniform_config(cfg: EduPrmStudyConfig) -> UniformConfig:
    s = cfg.study
    return UniformConfig(
        rollouts=s.rollouts,
        temperature=s.temperature,
        max_new_tokens=cfg.branch.max_new_tokens,
        seed=s.seed,
        stop=cfg.policy.stop,
    )


def _decoder_factory(ctx: StageContext) -> Any:
    cfg: EduPrmStudyConfig = ctx.config
    return lambda: make_decoder(cfg.policy, str(ctx.results["policy"]["model"]))


def _task(cfg: EduPrmStudyConfig, ops: int | None = None) -> ArithmeticTask:
    t = cfg.policy.task
    low, high = (t.min_ops, t.max_ops) if ops is None else (ops, ops)
    return ArithmeticTask(low, high, t.max_value, t.max_operand, t.holdout)


# -- sweep ------------------------------------------------------------------------------------


def stage_sweep(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmStudyConfig = ctx.config
    s = cfg.study
    checker = get_checker("gsm8k")
    rows = []
    for lines in s.lengths:
        done = ctx.run_dir / f"sweep/lines-{lines:02d}.json"
        if ctx.resume and done.is_file():
            rows.append(json.loads(done.read_text(encoding="utf-8")))
            continue
        task = _task(cfg, lines - 1)
        questions, _ = synthetic_questions(task, s.sweep_questions, 1, s.seed + lines, True)
        trees, _ = branch_in_chunks(
            ctx,
            questions,
            cfg.branch,
            cfg.branch.chunk,
            f"sweep/trees-{lines:02d}",
            _decoder_factory(ctx),
        )
        decoder = _decoder_factory(ctx)()
        try:
            sets, _rows = uniform_on_trees(
                decoder,
                trees,
                {q.id: q for q in questions},
                checker,
                _uniform_config(cfg),
                s.solutions,
            )
            report = labelling_report(
                trees,
                sets,
                decoder.tokenizer,
                checker,
                truth=line_truth,
                resamples=s.bootstrap,
                seed=s.seed,
            )
        finally:
            close(decoder)
        row = {"lines": lines, **report["headline"], "report": report}
        write_json(ctx.path(f"sweep/lines-{lines:02d}.json"), row)
        rows.append(row)
    write_json(ctx.path("sweep.json"), {"lengths": [_sweep_summary(r) for r in rows]})
    _plot_sweep(rows, ctx.path("sweep.png"))
    return {"lengths": [_sweep_summary(r) for r in rows]}


def _sweep_summary(row: dict[str, Any]) -> dict[str, Any]:
    report = row["report"]
    return {
        "lines": row["lines"],
        "questions": row["questions"],
        "cost_ratio_line": row["cost_ratio_line"],
        "cost_ratio_line_ci95": row.get("cost_ratio_line_ci95"),
        "cost_ratio_question": row["cost_ratio_question"],
        "cost_ratio_question_ci95": row.get("cost_ratio_question_ci95"),
        "calls_ratio_line": row["calls_ratio_line"],
        "calls_ratio_question": row["calls_ratio_question"],
        "kappa_edu": row.get("kappa_edu"),
        "kappa_edu_ci95": row.get("kappa_edu_ci95"),
        "kappa_uniform": row.get("kappa_uniform"),
        "kappa_uniform_ci95": row.get("kappa_uniform_ci95"),
        "edu_single_leaf_step_share": report["edu_single_leaf_step_share"],
        "edu_per_line_step": report["edu"]["per_line_step"],
        "uniform_per_line_step": report["uniform"]["per_line_step"],
        "edu_per_question": report["edu"]["per_question"],
        "uniform_per_question": report["uniform"]["per_question"],
        "uniform_false_positive_rate": report.get("quality", {})
        .get("uniform", {})
        .get("false_positive_rate"),
        "edu_false_positive_rate": report.get("quality", {})
        .get("edu", {})
        .get("false_positive_rate"),
    }


def _plot_sweep(rows: list[dict[str, Any]], path: Any) -> None:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    try:
        x = [r["lines"] for r in rows]
        left.plot(x, [r["cost_ratio_line"] for r in rows], "o-", label="per line step")
        left.plot(x, [r["cost_ratio_question"] for r in rows], "s-", label="per question")
        left.set_xlabel("solution length (lines)")
        left.set_ylabel("uniform / EDU generated tokens")
        left.legend()
        left.grid(alpha=0.3)
        for key, label in (("kappa_edu", "EDU"), ("kappa_uniform", "uniform MC")):
            ys = [r.get(key) or 0.0 for r in rows]
            ci = [r.get(f"{key}_ci95") or [y, y] for r, y in zip(rows, ys)]
            err = [[y - c[0] for y, c in zip(ys, ci)], [c[1] - y for y, c in zip(ys, ci)]]
            right.errorbar(x, ys, yerr=err, marker="o", capsize=3, label=label)
        right.set_xlabel("solution length (lines)")
        right.set_ylabel("Cohen's kappa vs exact step truth")
        right.legend()
        right.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


# -- labels at a matched budget ---------------------------------------------------------------


def stage_label(ctx: StageContext) -> dict[str, Any]:
    from transformers import AutoTokenizer

    cfg: EduPrmStudyConfig = ctx.config
    s = cfg.study
    checker = get_checker("gsm8k")
    questions, _ = synthetic_questions(_task(cfg), s.questions, 1, s.seed, True)
    write_jsonl(ctx.path("labels/questions.jsonl"), [q.to_dict() for q in questions])
    trees, _ = branch_in_chunks(
        ctx, questions, cfg.branch, cfg.branch.chunk, "labels/trees", _decoder_factory(ctx)
    )
    tok = AutoTokenizer.from_pretrained(str(ctx.results["policy"]["model"]))
    edu_rows = []
    for tree in trees:
        graded = grade_leaves(tree, tok, checker, cfg.policy.stop)
        samples = step_samples(tree, tok, graded, label="hard", split="newline")
        edu_rows.append(
            {
                "question_id": tree.question_id,
                "cost": tree.cost.to_dict(),
                "samples": [x.to_dict() for x in samples],
            }
        )
    write_jsonl(ctx.path("labels/edu.jsonl"), edu_rows)
    edu_total = sum(t.cost.generated_tokens for t in trees)
    # Uniform MC on the same trees, question after question, until it has spent EDU's total.
    by_id = {q.id: q for q in questions}
    decoder = _decoder_factory(ctx)()
    spent = 0
    uni_rows: list[dict[str, Any]] = []
    sets: dict[str, Any] = {}
    try:
        for tree in trees:
            if spent >= edu_total:
                break
            one, _ = uniform_on_trees(
                decoder, [tree], by_id, checker, _uniform_config(cfg), s.solutions
            )
            uset = one[tree.question_id]
            sets[tree.question_id] = uset
            spent += uset.cost.generated_tokens
            results = _uniform_samples(tree, uset, by_id[tree.question_id], tok)
            uni_rows.append(
                {
                    "question_id": tree.question_id,
                    "cost": uset.cost.to_dict(),
                    "samples": [x.to_dict() for x in results],
                }
            )
        report = labelling_report(
            trees, sets, tok, checker, truth=line_truth, resamples=s.bootstrap, seed=s.seed
        )
    finally:
        close(decoder)
    write_jsonl(ctx.path("labels/uniform.jsonl"), uni_rows)
    result = {
        **report["headline"],
        "edu_questions": len(trees),
        "edu_generated_tokens": edu_total,
        "uniform_questions": len(uni_rows),
        "uniform_generated_tokens": spent,
        "report": report,
    }
    write_json(ctx.path("label.json"), result)
    return {k: v for k, v in result.items() if k != "report"}


def _uniform_samples(tree: BranchTree, uset: Any, question: Question, tok: Any) -> list[StepSample]:
    """Hard-labelled training samples of uniform MC's solutions (one per solution)."""
    from ifrl.prm.study import line_prefixes

    out = []
    for sol in uset.solutions:
        prefixes = line_prefixes(sol, tok)
        bounds = [0, *[len(p) for p in prefixes]]
        steps = tuple(
            str(tok.decode(sol[a:b], skip_special_tokens=True))
            for a, b in itertools.pairwise(bounds)
        )
        labels = tuple(uset.labels[p].hard for p in prefixes)
        meta = {"method": "uniform", "split": "newline", "question_id": question.id}
        out.append(StepSample(question.prompt, steps, labels, meta))
    return out


# -- eval set -----------------------------------------------------------------------------------


def stage_eval(ctx: StageContext) -> dict[str, Any]:
    from ifrl.prm.synthetic import Problem, gold_lines, planted_problems

    cfg: EduPrmStudyConfig = ctx.config
    s = cfg.study
    train = read_questions(ctx.run_dir / "labels/questions.jsonl")
    task = _task(cfg)
    try:
        held = task.held_out(
            s.eval_questions,
            40_000 + s.seed,
            "eval",
            exclude=[q.prompt.strip()[len("Question:") :].strip() for q in train],
            part="eval",
        )
    except ValueError as err:
        raise ConfigError("", "study.eval_questions", str(err)) from None
    questions = [p.to_question() for p in held]
    checker = get_checker("gsm8k")
    decoder = _decoder_factory(ctx)()
    try:
        params = SamplingParams(
            n=s.eval_n,
            temperature=s.temperature,
            max_new_tokens=cfg.branch.max_new_tokens,
            stop=cfg.policy.stop,
            seed=s.seed,
        )
        rows = decoder.generator.generate([q.prompt for q in questions], params)
    finally:
        close(decoder)
    lines = []
    right = wrong_steps = 0
    for q, row in zip(questions, rows):
        assert q.reference is not None
        cands = []
        for c in row:
            steps = split_solution(c.text) or [c.text]
            ok = checker(c.text, q.reference)
            first = first_wrong_line(q.prompt, steps)
            right += ok
            wrong_steps += first >= 0
            cands.append(
                {
                    "response": c.text,
                    "prompt": q.prompt,
                    "steps": steps,
                    "correct": ok,
                    "confidence": policy_confidence(c.logprobs),
                    "first_error": first,
                }
            )
        lines.append({"id": q.id, "prompt": q.prompt, "gold": q.reference, "candidates": cands})
    write_jsonl(ctx.path("eval/candidates.jsonl"), lines)
    problems = []
    for q in questions:
        gold = gold_lines(q.prompt)
        expr = q.prompt.strip()[len("Question:") :].strip()
        problems.append(Problem(q.id, expr, "\n".join(gold), int(gold[-1].split()[-1])))
    planted = planted_problems(problems, seed=s.seed)
    write_jsonl(ctx.path("eval/planted.jsonl"), [p.to_dict() for p in planted])
    n = len(questions) * s.eval_n
    return {
        "questions": len(questions),
        "solutions": n,
        "solution_accuracy": right / max(1, n),
        "solutions_with_a_wrong_line": wrong_steps,
        "planted_items": len(planted),
    }


# -- PRMs at matched budgets -------------------------------------------------------------------


def _within_budget(rows: list[dict[str, Any]], budget: float) -> list[StepSample]:
    """The samples of the first questions whose cumulative generated tokens fit ``budget``."""
    out: list[StepSample] = []
    spent = 0
    for row in rows:
        spent += int(row["cost"]["generated_tokens"])
        if spent > budget:
            break
        out += [StepSample.from_dict(x) for x in row["samples"]]
    return out


def _questions_within(rows: list[dict[str, Any]], budget: float) -> int:
    spent = count = 0
    for row in rows:
        spent += int(row["cost"]["generated_tokens"])
        if spent > budget:
            break
        count += 1
    return count


def stage_train(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmStudyConfig = ctx.config
    s = cfg.study
    label = ctx.results["label"]
    total = float(label["edu_generated_tokens"])
    rows = {
        "edu": list(read_jsonl(ctx.run_dir / "labels/edu.jsonl")),
        "uniform": list(read_jsonl(ctx.run_dir / "labels/uniform.jsonl")),
    }
    candidates = list(read_jsonl(ctx.run_dir / "eval/candidates.jsonl"))
    planted = list(read_jsonl(ctx.run_dir / "eval/planted.jsonl", StepProblem.from_dict))
    base = str(ctx.results["policy"]["model"])
    done = 0
    for budget in s.budgets:
        for method in ("edu", "uniform"):
            samples = _within_budget(rows[method], budget * total)
            for i in range(cfg.prm.seeds):
                config = cfg.prm.for_seed(i)
                name = f"train/b{budget:g}-{method}-seed{config.seed}"
                out = ctx.run_dir / f"{name}.json"
                if ctx.resume and out.is_file():
                    done += 1
                    continue
                result: dict[str, Any] = {
                    "budget": budget,
                    "budget_tokens": budget * total,
                    "method": method,
                    "seed": config.seed,
                    "questions": _questions_within(rows[method], budget * total),
                    "samples": len(samples),
                }
                if samples:
                    ctx.echo(f"    {name}: {len(samples)} samples")
                    prm, stats = train_prm(samples, base, config, progress=True)
                    result["steps"] = len(stats.losses)
                    result.update(_evaluate(ctx, prm, candidates, planted, name))
                write_json(ctx.path(f"{name}.json"), result)
                done += 1
    return {"prms": done}


def _evaluate(
    ctx: StageContext,
    prm: ProcessRewardModel,
    candidates: list[dict[str, Any]],
    planted: list[StepProblem],
    name: str,
) -> dict[str, Any]:
    s: StudySection = ctx.config.study
    scored, planted_lines = score_eval_set(
        prm, candidates, planted, s.aggregation, ctx.config.prm.max_length
    )
    write_jsonl(ctx.path(f"{name}/scored.jsonl"), scored)
    write_jsonl(ctx.path(f"{name}/planted.jsonl"), planted_lines)
    common: dict[str, Any] = {"seed": s.seed, "resamples": s.bootstrap, "threshold": s.threshold}
    m = evaluate_file(
        ctx.run_dir / f"{name}/scored.jsonl",
        ctx.path(f"{name}/eval"),
        score_field="score",
        **common,
    )
    p = evaluate_file(
        ctx.run_dir / f"{name}/planted.jsonl",
        ctx.path(f"{name}/planted_eval"),
        score_field="score",
        **common,
    )
    return {
        "f1": m["f1"]["value"],
        "f1_ci95": m["f1"]["ci95"],
        "planted_f1": p["f1"]["value"],
        "planted_f1_ci95": p["f1"]["ci95"],
        "auroc": (m.get("auroc") or {}).get("value"),
        "ranking_accuracy": (m.get("ranking_acc") or {}).get("value"),
        "bon_gain": m["best_of_n_gain"]["value"],
        "bon_gain_ci95": m["best_of_n_gain"]["ci95"],
        "bon_accuracy": m["best_of_n_acc"]["value"],
    }


# -- report ------------------------------------------------------------------------------------

HEADLINE_METRICS = ("f1", "planted_f1", "bon_gain", "auroc", "ranking_accuracy")


def stage_report(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmStudyConfig = ctx.config
    s = cfg.study
    label = json.loads((ctx.run_dir / "label.json").read_text(encoding="utf-8"))
    per_budget = []
    for budget in s.budgets:
        entry: dict[str, Any] = {"budget": budget}
        for method in ("edu", "uniform"):
            runs = [
                json.loads(
                    (ctx.run_dir / f"train/b{budget:g}-{method}-seed{seed}.json").read_text()
                )
                for seed in range(cfg.prm.seed, cfg.prm.seed + cfg.prm.seeds)
            ]
            block: dict[str, Any] = {
                "questions": runs[0]["questions"],
                "samples": runs[0]["samples"],
                "budget_tokens": runs[0]["budget_tokens"],
            }
            for metric in HEADLINE_METRICS:
                values = [r.get(metric) for r in runs]
                if all(v is not None for v in values):
                    block[metric] = over_seeds([float(v) for v in values])
            block["per_seed"] = runs
            entry[method] = block
        per_budget.append(entry)
    full = next(e for e in per_budget if e["budget"] == max(s.budgets))

    def value(method: str, metric: str) -> Any:
        m = full[method].get(metric)
        return m["value"] if m else None

    def interval(method: str, metric: str) -> Any:
        m = full[method].get(metric)
        return m["ci95"] if m else None

    sweep = ctx.results.get("sweep", {}).get("lengths", [])
    headline = {
        "cost_ratio_line": label["cost_ratio_line"],
        "cost_ratio_line_ci95": label.get("cost_ratio_line_ci95"),
        "cost_ratio_question": label["cost_ratio_question"],
        "cost_ratio_question_ci95": label.get("cost_ratio_question_ci95"),
        "cost_questions": label.get("questions"),
        "calls_ratio_line": label["calls_ratio_line"],
        "calls_ratio_question": label["calls_ratio_question"],
        "kappa_edu": label["kappa_edu"],
        "kappa_edu_ci95": label["kappa_edu_ci95"],
        "kappa_uniform": label["kappa_uniform"],
        "kappa_uniform_ci95": label["kappa_uniform_ci95"],
        "budget": max(s.budgets),
        "f1_prm_edu": value("edu", "f1"),
        "f1_prm_edu_seeds_ci95": interval("edu", "f1"),
        "f1_prm_uniform": value("uniform", "f1"),
        "f1_prm_uniform_seeds_ci95": interval("uniform", "f1"),
        "planted_f1_prm_edu": value("edu", "planted_f1"),
        "planted_f1_prm_uniform": value("uniform", "planted_f1"),
        "questions_edu": full["edu"]["questions"],
        "questions_uniform": full["uniform"]["questions"],
        "seeds": cfg.prm.seeds,
    }
    results = {
        "headline": headline,
        "readings": {
            "a_training_data": "questions each labeler covers at the matched budget "
            "(questions_edu, questions_uniform) and the quality of the PRM trained on them "
            "(per_budget)",
            "b_labelling_compute": "generated tokens and calls per labelled line step and per "
            "question on the same solutions (cost_ratio_line, cost_ratio_question, sweep)",
        },
        "labelling": label,
        "per_budget": per_budget,
        "sweep": sweep,
    }
    write_json(ctx.path("results.json"), results)
    _plot_budgets(per_budget, ctx.path("cost_quality.png"))
    return headline


def _plot_budgets(per_budget: list[dict[str, Any]], path: Any) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    try:
        for ax, metric, title in (
            (axes[0], "f1", "first-error F1 (sampled solutions)"),
            (axes[1], "planted_f1", "first-error F1 (planted errors)"),
        ):
            for method, label in (("edu", "EDU labels"), ("uniform", "uniform MC labels")):
                xs, ys, lo, hi = [], [], [], []
                for e in per_budget:
                    m = e[method].get(metric)
                    if not m:
                        continue
                    xs.append(e[method]["budget_tokens"])
                    ys.append(m["value"])
                    ci = m["ci95"] or [m["value"], m["value"]]
                    lo.append(m["value"] - ci[0])
                    hi.append(ci[1] - m["value"])
                ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=label)
            ax.set_xlabel("labelling budget (generated tokens)")
            ax.set_ylabel("F1 (mean over seeds, t-interval)")
            ax.set_title(title)
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def build() -> Recipe:
    """The ``edu-prm-study`` recipe."""
    return Recipe(
        "edu-prm-study",
        "EDU vs uniform MC labelling on the same solutions: cost per line step and per "
        "question, kappa against exact step truth, a length sweep, PRMs at matched budgets",
        EduPrmStudyConfig,
        (
            Stage("policy", stage_policy, ("policy.json",), ("policy",), (), "the policy model"),
            Stage(
                "sweep",
                stage_sweep,
                ("sweep.json",),
                ("branch", "study"),
                ("policy",),
                "cost and label quality per solution length",
                enabled=lambda c: bool(c.study.lengths),
            ),
            Stage(
                "label",
                stage_label,
                ("label.json", "labels/edu.jsonl", "labels/uniform.jsonl"),
                ("branch", "study"),
                ("policy",),
                "EDU and uniform MC labels of the training questions",
            ),
            Stage(
                "eval",
                stage_eval,
                ("eval/candidates.jsonl", "eval/planted.jsonl"),
                ("study",),
                ("policy", "label"),
                "held-out solutions with exact first errors; planted errors",
            ),
            Stage(
                "train",
                stage_train,
                ("train",),
                ("prm", "study"),
                ("label", "eval"),
                "PRMs per budget, labeler and seed, evaluated by ifrl.evals",
            ),
            Stage(
                "report",
                stage_report,
                ("results.json",),
                ("study",),
                ("sweep", "label", "train"),
                "headline, per-budget table and plots",
            ),
        ),
    )


__all__ = ["EduPrmStudyConfig", "build"]
