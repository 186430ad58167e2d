"""The ``edu-prm`` recipe: questions with answers → EDU branching → Monte Carlo step labels → PRMs
(several seeds) → Best-of-N and step-level evaluation, with the uniform Monte Carlo
(Math-Shepherd) baseline labelling the same solutions beside EDU.

Stages: ``policy`` (``synthetic``: the tiny model warmed up on the synthetic arithmetic task,
cached; or any causal LM), ``questions`` (synthetic arithmetic or a GSM8K-format JSONL →
``questions/train.jsonl``, ``questions/eval.jsonl``; with ``policy.task.holdout`` the held-out
synthetic questions come from the share the warm-up never saw), ``branch`` (entropy-anchored
trees, in resumable chunks, each tree with its query cost), ``label`` (MC step labels from the
trees' leaves, cut at ``labels.split``: lines by default, where solutions are scored),
``uniform`` (the baseline on leaves of the same trees: what each labeler costs per labelled line
step and per question, and, on the synthetic task, Cohen's kappa of both labelers' hard labels
against exact step truth), ``train`` (``prm.seeds`` PRMs, their backbone the policy, optionally
frozen under fresh layers) and ``bon`` (the policy's greedy accuracy, then ``n`` samples per
held-out question scored by every PRM and evaluated by ``ifrl.evals``' ``prm`` benchmark:
Best-of-N accuracy beside a random pick, majority vote and the oracle, the AUROC and the
within-question ranking accuracy of the PRM score, each with a question-bootstrap 95% interval;
on the synthetic task also first-error F1 on those samples (exact truth: the first wrong line)
and on planted errors in gold solutions; per seed, and their mean with a t-interval over seeds.
The same samples reranked by the policy's own confidence are the reference without a PRM).

Stages that decode close their engine when done (a vLLM engine holds its GPU memory until then);
``policy.tensor_parallel_size``, ``gpu_memory_utilization`` and ``max_model_len`` reach vLLM.

``examples/edu-prm-synthetic.yaml`` holds the settings of the synthetic experiment in the
``ifrl-edu-prm`` README. The labelling cost–quality study with PRMs trained at matched budgets is
the ``edu-prm-study`` recipe (:mod:`ifrl.pipelines.recipes.eduprm_study`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ifrl.core.config import ConfigError, check_choice, opt
from ifrl.core.jsonl import JSONLWriter, read_jsonl, write_json, write_jsonl
from ifrl.core.records import Cost, SamplingParams, StepSample
from ifrl.core.stats import proportion
from ifrl.evals import get_benchmark, run
from ifrl.pipelines.recipe import RECIPES, Recipe, Stage, StageContext
from ifrl.prm import (
    AGGREGATIONS,
    DEFAULT_TEMPLATE,
    ArithmeticTask,
    BranchConfig,
    BranchTree,
    LabelKind,
    PolicyConfig,
    PRMTrainConfig,
    ProcessRewardModel,
    Question,
    StepProblem,
    StepSplit,
    UniformConfig,
    aggregate,
    build_trees,
    first_wrong_line,
    get_checker,
    grade_leaves,
    label_solutions,
    labelling_report,
    line_truth,
    load_questions,
    policy_confidence,
    score_items,
    split_solution,
    step_decoder_for,
    step_samples,
    synthetic_policy,
    train_prm,
)


@dataclass
class PolicySection:
    path: str = opt(
        "The policy: 'synthetic' (the tiny model warmed up on the synthetic arithmetic task, "
        "trained once and cached), or a causal LM directory / hub id.",
        "synthetic",
    )
    backend: Literal["hf", "vllm"] = opt(
        "Decoding backend: hf (exact entropies) or vllm (top-k entropies).", "hf"
    )
    batch_size: int = opt("Sequences per forward pass (hf).", 64)
    stop: tuple[str, ...] = opt("Stop strings ending a solution.", ())
    tensor_parallel_size: int = opt("vllm: GPUs per model (0: vLLM's default).", 0)
    gpu_memory_utilization: float = opt(
        "vllm: share of the GPU memory the engine may take (0: vLLM's default).", 0.0
    )
    max_model_len: int = opt("vllm: context length (0: the model's).", 0)
    warmup_problems: int = opt(
        "synthetic: gold solutions the warm-up trains on (0: ifrl.prm's default).", 0
    )
    warmup_epochs: float = opt("synthetic: warm-up epochs (0: ifrl.prm's default).", 0.0)
    warmup_lr: float = opt("synthetic: warm-up learning rate (0: ifrl.prm's default).", 0.0)
    seed: int = opt("synthetic: warm-up seed.", 0)
    task: ArithmeticTask = opt(
        "synthetic: the arithmetic task; the warm-up and the synthetic questions both use it.",
        factory=ArithmeticTask,
    )

    def warmup_config(self) -> PolicyConfig:
        """The ``ifrl.prm`` policy warm-up config (section values of 0 keep its defaults)."""
        default = PolicyConfig()
        return PolicyConfig(
            problems=self.warmup_problems or default.problems,
            epochs=self.warmup_epochs or default.epochs,
            lr=self.warmup_lr or default.lr,
            seed=self.seed,
            task=self.task,
        )

    def engine_options(self) -> dict[str, Any]:
        """vLLM engine options set (non-zero) in this section."""
        if self.backend != "vllm":
            return {}
        options = {
            "tensor_parallel_size": self.tensor_parallel_size,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "max_model_len": self.max_model_len,
        }
        return {k: v for k, v in options.items() if v}


@dataclass
class QuestionsSection:
    source: str = opt(
        "'synthetic' (arithmetic chains) or a JSONL of questions with answers (GSM8K: "
        "question + answer ending '#### 42').",
        "synthetic",
    )
    train: int = opt("Training questions (labeled).", 80)
    eval: int = opt("Held-out questions (Best-of-N).", 40)
    eval_source: str = opt(
        "JSONL of held-out questions; empty: synthetic ones, or the lines of source after the "
        "training ones.",
        "",
    )
    template: str = opt("Prompt template around the question text.", DEFAULT_TEMPLATE)
    checker: str = opt("Answer checker: gsm8k, exact or regex.", "gsm8k")
    seed: int = opt("Seed of the synthetic questions.", 0)
    distinct: bool = opt(
        "synthetic: distinct training questions (a repeated one only repeats its EDU tree).",
        False,
    )

    def validate(self) -> None:
        if self.train < 1 or self.eval < 1:
            raise ConfigError("", "train", "need at least one training and one eval question")
        if self.source == "synthetic" and self.template != DEFAULT_TEMPLATE:
            raise ConfigError("", "template", "the synthetic task fixes its template")
        try:
            get_checker(self.checker)
        except Exception as err:  # the registry's "did you mean" error
            raise ConfigError("", "checker", f"{err}") from None


@dataclass(frozen=True)
class BranchSection(BranchConfig):
    """EDU's :class:`~ifrl.prm.BranchConfig` (its defaults sized for the tiny policy)."""

    max_depth: int = opt("Anchors (branchings) along one path.", 3)
    max_branches: int = opt("Leaves (solutions) per question.", 8)
    max_new_tokens: int = opt("Tokens per solution (branching, baseline and samples).", 64)
    chunk: int = opt("Questions branched together (and saved together, for resuming).", 32)


@dataclass
class LabelsSection:
    kind: LabelKind = opt(
        "Step labels the PRM trains on: hard (any leaf correct) or soft (share).", "hard"
    )
    split: StepSplit = opt(
        "Steps: newline (lines, as solutions are scored) or anchor (the tree's nodes).", "newline"
    )


@dataclass
class UniformSection:
    enabled: bool = opt("Run the uniform Monte Carlo baseline for the cost comparison.", True)
    rollouts: int = opt("Completions sampled from every step prefix.", 8)
    questions: int = opt("Training questions it labels (0: all).", 0)
    solutions: int = opt(
        "Leaves of each question's EDU tree it labels (0: all; the greedy leaf first).", 4
    )
    temperature: float = opt("Rollout temperature.", 1.0)
    seed: int = opt("Rollout seed.", 0)


@dataclass(frozen=True)
class PRMSection(PRMTrainConfig):
    """The PRM's :class:`~ifrl.prm.PRMTrainConfig`, its backbone and how many seeds."""

    base: str = opt("Backbone of the PRM; empty: the policy.", "")
    seeds: int = opt(
        "PRMs trained, seeds seed, seed+1, ...: figures per seed and their mean over seeds.",
        3,
        minimum=1,
    )
    epochs: float = opt("Passes over the labeled solutions.", 4.0)
    lr: float = opt("Peak learning rate.", 1e-3)
    batch_size: int = opt("Labeled solutions per step.", 16)
    max_length: int = opt("Tokens per sample (truncated).", 256)

    def for_seed(self, index: int) -> PRMSection:
        """This section with the ``index``-th seed."""
        return dataclasses.replace(self, seed=self.seed + index)


@dataclass
class BoNSection:
    n: int = opt("Solutions sampled per held-out question.", 8, minimum=1)
    temperature: float = opt("Sampling temperature.", 1.0)
    aggregation: str = opt("Step scores → solution score: min, last, product or mean.", "last")
    seed: int = opt("Sampling and bootstrap seed.", 0)
    bootstrap: int = opt("Question-bootstrap resamples of the 95% intervals.", 1000)
    threshold: float = opt("First-error F1: a step scored below this is an error.", 0.5)

    def validate(self) -> None:
        check_choice("aggregation", self.aggregation, AGGREGATIONS.names())


@dataclass
class EduPrmConfig:
    """The ``edu-prm`` recipe's YAML file."""

    policy: PolicySection = opt("Stage policy: the model that solves.", factory=PolicySection)
    questions: QuestionsSection = opt("Stage questions.", factory=QuestionsSection)
    branch: BranchSection = opt("Stage branch: EDU trees.", factory=BranchSection)
    labels: LabelsSection = opt("Stage label: MC step labels.", factory=LabelsSection)
    uniform: UniformSection = opt("Stage uniform: the baseline labeler.", factory=UniformSection)
    prm: PRMSection = opt("Stage train: the PRMs.", factory=PRMSection)
    bon: BoNSection = opt("Stage bon: Best-of-N and step-level evaluation.", factory=BoNSection)


# -- helpers (the edu-prm-study recipe uses them too) ------------------------------------------


def make_decoder(policy: PolicySection, model: str) -> Any:
    """The policy's step decoder (close it when done)."""
    return step_decoder_for(
        policy.backend,
        model,
        batch_size=policy.batch_size,
        stop=policy.stop,
        **policy.engine_options(),
    )


def close(decoder: Any) -> None:
    """Release a decoder's engine (a no-op for transformers)."""
    closer = getattr(decoder, "close", None)
    if callable(closer):
        closer()


def _decoder(ctx: StageContext) -> Any:
    cfg: EduPrmConfig = ctx.config
    return make_decoder(cfg.policy, str(ctx.results["policy"]["model"]))


def read_questions(path: Path) -> list[Question]:
    return list(read_jsonl(path, Question.from_dict))


def is_synthetic(cfg: Any) -> bool:
    return bool(cfg.questions.source == "synthetic")


T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def over_seeds(values: Sequence[float]) -> dict[str, Any]:
    """The mean of per-seed values with a t-based 95% interval over seeds (the spread a new seed
    would show; None with one seed)."""
    k = len(values)
    mean = sum(values) / k
    if k < 2:
        return {"value": mean, "ci95": None, "n_seeds": k, "values": list(values)}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1))
    half = T95.get(k - 1, 1.96) * sd / math.sqrt(k)
    return {"value": mean, "ci95": [mean - half, mean + half], "n_seeds": k, "values": list(values)}


def evaluate_file(
    path: Path, out_dir: Path, *, seed: int, resamples: int, score_field: str, threshold: float
) -> dict[str, Any]:
    """A scored file through ``ifrl.evals``' ``prm`` benchmark (the run written to ``out_dir``):
    every metric's value, ``n`` and 95% interval."""
    bench = get_benchmark(
        "prm", seed=seed, resamples=resamples, score_field=score_field, threshold=threshold
    )
    result = run(bench, out_dir, responses=path)
    return {k: m.to_dict() for k, m in result.metrics.items()}


def cost_dict(cost: Cost, steps: int, questions: int) -> dict[str, Any]:
    per = cost.per(steps)
    return {
        **cost.to_dict(),
        "labeled_steps": steps,
        "questions": questions,
        "calls_per_step": per["calls"],
        "generated_tokens_per_step": per["generated_tokens"],
        "forward_tokens_per_step": per["forward_tokens"],
    }


# -- stages ----------------------------------------------------------------------------------


def stage_policy(ctx: StageContext) -> dict[str, Any]:
    policy: PolicySection = ctx.config.policy
    model = policy.path
    if model == "synthetic":
        pc = policy.warmup_config()
        ctx.echo(f"    synthetic policy: warm-up on {pc.problems} solutions (cached)")
        model = str(synthetic_policy(pc))
    write_json(ctx.path("policy.json"), {"model": model})
    return {"model": model}


def synthetic_questions(
    task: ArithmeticTask, train: int, held: int, seed: int, distinct: bool
) -> tuple[list[Question], list[Question]]:
    """Training and held-out questions of the synthetic task: the held-out ones are distinct,
    none of them is a training question, and with ``task.holdout`` they come from the reserved
    share the policy warm-up never saw (the training ones from the rest)."""
    try:
        if distinct:
            chosen = task.held_out(train, 20_000 + seed, "train", part="train")
        else:
            stream = task.stream(20_000 + seed, "train")
            chosen = []
            for p in stream:
                if len(chosen) == train:
                    break
                if task.in_part(p.question, "train"):
                    chosen.append(p)
        kept = task.held_out(held, 30_000 + seed, exclude=[p.question for p in chosen], part="eval")
    except ValueError as err:
        raise ConfigError("", "questions", str(err)) from None
    return [p.to_question() for p in chosen], [p.to_question() for p in kept]


def stage_questions(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmConfig = ctx.config
    q = cfg.questions
    if q.source == "synthetic":
        train, held = synthetic_questions(cfg.policy.task, q.train, q.eval, q.seed, q.distinct)
    else:
        train = load_questions(q.source, limit=q.train, template=q.template)
        if q.eval_source:
            held = load_questions(q.eval_source, limit=q.eval, template=q.template)
        else:
            held = load_questions(q.source, offset=q.train, limit=q.eval, template=q.template)
        if len(train) < q.train or len(held) < q.eval:
            raise ConfigError(
                "",
                "questions",
                f"{q.source} holds {len(train)} training and {len(held)} held-out "
                f"questions, asked {q.train} and {q.eval}",
            )
    for name, qs in (("train", train), ("eval", held)):
        missing = [x.id for x in qs if x.reference is None]
        if missing:
            raise ConfigError("", "questions", f"{missing[0]!r} has no answer to check against")
        write_jsonl(ctx.path(f"questions/{name}.jsonl"), [x.to_dict() for x in qs])
    return {"train": len(train), "eval": len(held)}


def branch_in_chunks(
    ctx: StageContext,
    questions: Sequence[Question],
    config: BranchConfig,
    chunk: int,
    folder: str,
    decoder_factory: Any,
) -> tuple[list[BranchTree], Cost]:
    """EDU trees for ``questions``, ``chunk`` at a time, each chunk saved in ``folder`` and
    skipped when a rerun finds it; the decoder is built only when needed and closed after."""
    if not ctx.resume:  # a fresh run: earlier chunks are stale
        shutil.rmtree(ctx.run_dir / folder, ignore_errors=True)
    size = max(1, chunk)
    chunks = [questions[i : i + size] for i in range(0, len(questions), size)]
    decoder: Any = None
    total = Cost()
    trees: list[BranchTree] = []
    try:
        for c, part in enumerate(chunks):
            done = ctx.run_dir / f"{folder}/chunk_{c:05d}.json"
            if not done.exists():
                decoder = decoder or decoder_factory()
                decoder.cost = Cost()
                made = build_trees(decoder, part, config, progress=True)
                write_jsonl(ctx.path(f"{folder}/chunk_{c:05d}.jsonl"), [t.to_dict() for t in made])
                write_json(done, decoder.cost.to_dict())
            total = total + Cost(**json.loads(done.read_text(encoding="utf-8")))
            trees += read_jsonl(ctx.run_dir / f"{folder}/chunk_{c:05d}.jsonl", BranchTree.from_dict)
    finally:
        if decoder is not None:
            close(decoder)
    return trees, total


def stage_branch(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmConfig = ctx.config
    questions = read_questions(ctx.run_dir / "questions/train.jsonl")
    trees, total = branch_in_chunks(
        ctx, questions, cfg.branch, cfg.branch.chunk, "branch", lambda: _decoder(ctx)
    )
    write_jsonl(ctx.path("trees.jsonl"), [t.to_dict() for t in trees])
    leaves = sum(len(t.leaves()) for t in trees)
    result = {"trees": len(trees), "leaves": leaves, "cost": total.to_dict()}
    write_json(ctx.path("branch.json"), result)
    return result


def stage_label(ctx: StageContext) -> dict[str, Any]:
    from transformers import AutoTokenizer  # heavy: loaded when the stage runs

    cfg: EduPrmConfig = ctx.config
    tok = AutoTokenizer.from_pretrained(str(ctx.results["policy"]["model"]))
    checker = get_checker(cfg.questions.checker)
    steps = correct = total = 0
    with JSONLWriter(ctx.path("labels.jsonl")) as w:
        for tree in read_jsonl(ctx.run_dir / "trees.jsonl", BranchTree.from_dict):
            graded = grade_leaves(tree, tok, checker, cfg.policy.stop)
            correct += sum(graded.values())
            total += len(graded)
            steps += sum(1 for n in tree.nodes if n.token_ids and not n.pruned)
            for s in step_samples(tree, tok, graded, label=cfg.labels.kind, split=cfg.labels.split):
                w.write(s.to_dict())
    cost = Cost(**ctx.results["branch"]["cost"])
    return {
        "solutions": total,
        "leaf_accuracy": correct / max(1, total),
        "split": cfg.labels.split,
        "cost": cost_dict(cost, steps, int(ctx.results["branch"]["trees"])),
    }


def uniform_on_trees(
    decoder: Any,
    trees: Sequence[BranchTree],
    questions: dict[str, Question],
    checker: Any,
    config: UniformConfig,
    solutions: int,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Uniform MC on (up to ``solutions``, greedy first) leaves of each tree: the
    :class:`~ifrl.prm.study.UniformSet` of each question and one row per labelled solution."""
    from ifrl.prm.study import sampling_cost, uniform_set

    sets: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for tree in trees:
        leaves = sorted((n.id for n in tree.leaves()), key=tree.branch_choices)
        leaves = leaves[:solutions] if solutions else leaves
        sols = [tree.solution_ids(leaf) for leaf in leaves]
        before = decoder.cost
        q = questions[tree.question_id]
        results = label_solutions(decoder, q, sols, checker, config, leaves=leaves)
        spent = decoder.cost + Cost(
            -before.calls, -before.generated_tokens, -before.forward_tokens, -before.batches
        )
        spent = spent + sampling_cost(len(tree.prompt_ids), sols)
        sets[tree.question_id] = uniform_set(results, spent)
        for r in results:
            rows.append(
                {
                    "question_id": q.id,
                    "leaf": r.leaf,
                    "solution_ids": list(r.solution_ids),
                    "spans": [list(s) for s in r.spans],
                    "labels": [[s.leaves, s.correct] for s in r.labels],
                }
            )
    return sets, rows


def stage_uniform(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmConfig = ctx.config
    u = cfg.uniform
    questions = read_questions(ctx.run_dir / "questions/train.jsonl")
    if u.questions:
        questions = questions[: u.questions]
    ids = {q.id for q in questions}
    trees = [
        t
        for t in read_jsonl(ctx.run_dir / "trees.jsonl", BranchTree.from_dict)
        if t.question_id in ids
    ]
    checker = get_checker(cfg.questions.checker)
    ucfg = UniformConfig(
        rollouts=u.rollouts,
        temperature=u.temperature,
        max_new_tokens=cfg.branch.max_new_tokens,
        seed=u.seed,
        stop=cfg.policy.stop,
    )
    decoder = _decoder(ctx)
    try:
        sets, rows = uniform_on_trees(
            decoder, trees, {q.id: q for q in questions}, checker, ucfg, u.solutions
        )
        report = labelling_report(
            trees,
            sets,
            decoder.tokenizer,
            checker,
            truth=line_truth if is_synthetic(cfg) else None,
            stop=cfg.policy.stop,
            seed=u.seed,
        )
    finally:
        close(decoder)
    shared = [t for t in trees if t.question_id in sets]
    report["per_question"] = {
        "question_ids": [t.question_id for t in shared],
        "edu_generated_tokens": [t.cost.generated_tokens for t in shared],
        "uniform_generated_tokens": [sets[t.question_id].cost.generated_tokens for t in shared],
    }
    write_jsonl(ctx.path("uniform/results.jsonl"), rows)
    write_json(ctx.path("uniform.json"), report)
    return report["headline"]


def stage_train(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmConfig = ctx.config
    samples = list(read_jsonl(ctx.run_dir / "labels.jsonl", StepSample))
    if not samples:
        raise ConfigError("", "label", "no labeled solutions to train the PRM on")
    base = cfg.prm.base or str(ctx.results["policy"]["model"])
    per_seed = []
    for i in range(cfg.prm.seeds):
        config = cfg.prm.for_seed(i)
        out = ctx.run_dir / prm_dir(i)
        done = ctx.run_dir / f"train/seed-{config.seed}.json"
        if ctx.resume and out.is_dir() and done.is_file():
            per_seed.append(json.loads(done.read_text(encoding="utf-8")))
            continue
        _prm, stats = train_prm(samples, base, config, out_dir=out, progress=True)
        result = {
            "seed": config.seed,
            "dir": prm_dir(i),
            **stats.summary(),
            "losses": stats.losses,
        }
        write_json(ctx.path(f"train/seed-{config.seed}.json"), result)
        per_seed.append(result)
    write_json(ctx.path("train.json"), {"seeds": per_seed})
    first = per_seed[0]
    return {
        "seeds": [s["seed"] for s in per_seed],
        **{k: first[k] for k in ("samples", "skipped", "labels", "first_loss", "final_loss")},
    }


def prm_dir(index: int) -> str:
    """The run-directory folder of the ``index``-th seed's PRM (``prm`` for the first)."""
    return "prm" if index == 0 else f"prm-seed{index}"


# The recipe's result keys for the ``prm`` benchmark's metrics.
BON_METRICS = {
    "auroc": "auroc",
    "bon_accuracy": "best_of_n_acc",
    "random_accuracy": "random_acc",
    "bon_gain": "best_of_n_gain",
    "oracle_accuracy": "oracle_acc",
    "majority_accuracy": "majority_acc",
    "ranking_accuracy": "ranking_acc",
}
STEP_METRICS = {"f1": "f1", "error_accuracy": "error_acc", "correct_accuracy": "correct_acc"}


def _pick(metrics: dict[str, Any], names: dict[str, str], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, metric in names.items():
        m = metrics.get(metric)
        out[prefix + key] = m["value"] if m else None
        out[f"{prefix}{key}_ci95"] = m["ci95"] if m else [None, None]
    return out


def score_eval_set(
    prm: ProcessRewardModel,
    candidates: Sequence[dict[str, Any]],
    planted: Sequence[StepProblem],
    aggregation: str,
    max_length: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Score held-out candidates (one line per question: ``candidates`` with ``steps``, and
    ``first_error`` where known) and planted items with ``prm``: Best-of-N and first-error lines
    for ``ifrl eval prm``, then the planted items' first-error lines."""
    items = [(c["prompt"], c["steps"]) for line in candidates for c in line["candidates"]]
    scores = iter(score_items(prm, items, batch_size=64, max_length=max_length))
    bon_lines: list[dict[str, Any]] = []
    step_lines: list[dict[str, Any]] = []
    for line in candidates:
        cands = []
        for j, c in enumerate(line["candidates"]):
            s = next(scores)
            cands.append({**c, "score": aggregate(s, aggregation), "step_scores": s})
            if c.get("first_error") is not None:
                step_lines.append(
                    {"id": f"{line['id']}-{j}", "label": c["first_error"], "step_scores": s}
                )
        bon_lines.append({**line, "candidates": cands})
    pscores = score_items(
        prm, [(p.problem, list(p.steps)) for p in planted], batch_size=64, max_length=max_length
    )
    planted_lines = [
        {"id": p.id, "label": p.label, "step_scores": s} for p, s in zip(planted, pscores)
    ]
    return [*bon_lines, *step_lines], planted_lines


def stage_bon(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmConfig = ctx.config
    b = cfg.bon
    questions = read_questions(ctx.run_dir / "questions/eval.jsonl")
    decoder = _decoder(ctx)
    try:
        generator = decoder.generator
        prompts = [q.prompt for q in questions]
        params = SamplingParams(
            temperature=0.0, max_new_tokens=cfg.branch.max_new_tokens, stop=cfg.policy.stop
        )
        greedy = generator.generate(prompts, params)
        rows = generator.generate(
            prompts, params.replace(n=b.n, temperature=b.temperature, seed=b.seed)
        )
    finally:
        close(decoder)
    checker = get_checker(cfg.questions.checker)
    synthetic = is_synthetic(cfg)
    greedy_ok = solutions = right = 0
    candidates: list[dict[str, Any]] = []
    for q, first, row in zip(questions, greedy, rows):
        assert q.reference is not None
        greedy_ok += checker(first[0].text, q.reference)
        cands = []
        for c in row:
            steps = split_solution(c.text) or [c.text]
            cands.append(
                {
                    "response": c.text,
                    "prompt": q.prompt,
                    "steps": steps,
                    "correct": checker(c.text, q.reference),
                    "confidence": policy_confidence(c.logprobs),
                    "first_error": first_wrong_line(q.prompt, steps) if synthetic else None,
                }
            )
        solutions += len(cands)
        right += sum(c["correct"] for c in cands)
        candidates.append(
            {"id": q.id, "prompt": q.prompt, "gold": q.reference, "candidates": cands}
        )
    planted: list[StepProblem] = []
    if synthetic:
        from ifrl.prm.synthetic import Problem, gold_lines, planted_problems

        problems = []
        for q in questions:
            lines = gold_lines(q.prompt)
            expr = q.prompt.strip()[len("Question:") :].strip()
            problems.append(Problem(q.id, expr, "\n".join(lines), int(lines[-1].split()[-1])))
        planted = planted_problems(problems, seed=b.seed)
    per_seed = []
    first_scored: list[dict[str, Any]] = []
    for i in range(cfg.prm.seeds):
        prm = ProcessRewardModel.load(ctx.run_dir / prm_dir(i))
        scored, planted_lines = score_eval_set(
            prm, candidates, planted, b.aggregation, cfg.prm.max_length
        )
        folder = f"bon/seed-{cfg.prm.seed + i}"
        write_jsonl(ctx.path(f"{folder}/scored.jsonl"), scored)
        common: dict[str, Any] = {
            "seed": b.seed,
            "resamples": b.bootstrap,
            "threshold": b.threshold,
        }
        metrics = evaluate_file(
            ctx.run_dir / f"{folder}/scored.jsonl",
            ctx.path(f"{folder}/eval"),
            score_field="score",
            **common,
        )
        result = {"seed": cfg.prm.seed + i, **_pick(metrics, BON_METRICS)}
        if synthetic:
            result.update(_pick(metrics, STEP_METRICS, "samples_"))
            write_jsonl(ctx.path(f"{folder}/planted.jsonl"), planted_lines)
            pm = evaluate_file(
                ctx.run_dir / f"{folder}/planted.jsonl",
                ctx.path(f"{folder}/planted_eval"),
                score_field="score",
                **common,
            )
            result.update(_pick(pm, STEP_METRICS, "planted_"))
        per_seed.append(result)
        if i == 0:
            first_scored = scored
    # bon/candidates.jsonl: the first seed's scores, as `ifrl eval prm` reads them.
    write_jsonl(ctx.path("bon/candidates.jsonl"), [r for r in first_scored if "candidates" in r])
    confidence = evaluate_file(
        ctx.run_dir / "bon/candidates.jsonl",
        ctx.path("bon/confidence"),
        seed=b.seed,
        resamples=b.bootstrap,
        score_field="confidence",
        threshold=b.threshold,
    )
    greedy_acc = proportion(greedy_ok, len(questions))
    keys = [k for k in per_seed[0] if k != "seed" and not k.endswith("_ci95")]
    mean = {
        k: over_seeds([float(s[k]) for s in per_seed])
        for k in keys
        if all(s[k] is not None for s in per_seed)
    }
    result_all: dict[str, Any] = {
        "questions": len(questions),
        "n": b.n,
        "aggregation": b.aggregation,
        "seeds": [s["seed"] for s in per_seed],
        **{k: v["value"] for k, v in mean.items()},
        **{f"{k}_seeds_ci95": v["ci95"] for k, v in mean.items()},
        "per_seed": per_seed,
        "planted_items": len(planted),
        "solution_accuracy": right / max(1, solutions),
        "greedy_accuracy": greedy_acc.value,
        "greedy_accuracy_ci95": [greedy_acc.ci_low, greedy_acc.ci_high],
        "confidence": _pick(confidence, BON_METRICS),
    }
    write_json(ctx.path("bon/results.json"), result_all)
    return {k: v for k, v in result_all.items() if k != "per_seed"}


def build() -> Recipe:
    """The ``edu-prm`` recipe."""
    return Recipe(
        "edu-prm",
        "questions → EDU branching → MC step labels (uniform MC on the same solutions beside) → "
        "PRMs → Best-of-N and step-level eval",
        EduPrmConfig,
        (
            Stage("policy", stage_policy, ("policy.json",), ("policy",), (), "the policy model"),
            Stage(
                "questions",
                stage_questions,
                ("questions/train.jsonl", "questions/eval.jsonl"),
                ("questions",),
                ("policy",),
                "training and held-out questions",
            ),
            Stage(
                "branch",
                stage_branch,
                ("trees.jsonl", "branch.json"),
                ("branch",),
                ("policy", "questions"),
                "EDU entropy-anchored branching",
            ),
            Stage(
                "label",
                stage_label,
                ("labels.jsonl",),
                ("labels",),
                ("branch",),
                "Monte Carlo step labels from the leaves",
            ),
            Stage(
                "uniform",
                stage_uniform,
                ("uniform.json", "uniform/results.jsonl"),
                ("uniform",),
                ("branch", "label"),
                "uniform Monte Carlo on the same solutions (cost, label quality)",
                enabled=lambda c: bool(c.uniform.enabled),
            ),
            Stage(
                "train",
                stage_train,
                ("prm", "train.json"),
                ("prm",),
                ("label",),
                "PRM training (one per seed)",
            ),
            Stage(
                "bon",
                stage_bon,
                ("bon/results.json",),
                ("bon",),
                ("train", "questions"),
                "Best-of-N and step-level evaluation on held-out questions, by ifrl.evals",
            ),
        ),
    )


def _build_study() -> Recipe:
    from ifrl.pipelines.recipes.eduprm_study import build as build_study

    return build_study()


RECIPES.add("edu-prm", build)
RECIPES.add("edu-prm-study", _build_study)

__all__ = ["EduPrmConfig", "build"]
