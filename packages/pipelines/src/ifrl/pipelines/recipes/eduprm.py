"""The ``edu-prm`` recipe: questions with answers → EDU branching → Monte Carlo step labels → PRM
training → Best-of-N eval, with the uniform Monte Carlo (Math-Shepherd) baseline's labeling cost
beside EDU's.

Stages: ``policy`` (``synthetic``: the tiny model warmed up on the synthetic arithmetic task,
cached; or any causal LM), ``questions`` (synthetic arithmetic or a GSM8K-format JSONL →
``questions/train.jsonl``, ``questions/eval.jsonl``), ``branch`` (entropy-anchored trees, in
resumable chunks, with their query cost), ``label`` (MC step labels from the trees' leaves),
``uniform`` (the baseline on the same training questions: its cost per labeled step, and how
often its hard labels agree with EDU's on shared steps), ``train`` (the PRM, its backbone
initialised from the policy, optionally frozen under fresh layers) and ``bon`` (the policy's
greedy accuracy, then ``n`` samples per held-out question scored by the PRM and evaluated by
``ifrl.evals``' ``prm`` benchmark: Best-of-N accuracy beside a random pick, majority vote and
the oracle, and the AUROC of the PRM score, each with a question-bootstrap 95% interval; the
same samples reranked by the policy's own confidence are the reference without a PRM).

``examples/edu-prm-synthetic.yaml`` holds the settings of the synthetic experiment in the
``ifrl-edu-prm`` README (3,000 distinct training questions, 600 held-out, a PRM on the frozen
policy plus three fresh layers, ``product`` aggregation).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ifrl.core.config import ConfigError, opt
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
    StepSplit,
    UniformConfig,
    aggregate,
    build_trees,
    get_checker,
    grade_leaves,
    label_agreement,
    load_questions,
    mc_labels,
    policy_confidence,
    score_candidates,
    split_solution,
    step_decoder_for,
    step_samples,
    synthetic_policy,
    train_prm,
    uniform_label,
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
        "Steps: anchor (the tree's nodes) or newline (lines, as solutions are scored).", "anchor"
    )


@dataclass
class UniformSection:
    enabled: bool = opt("Run the uniform Monte Carlo baseline for the cost comparison.", True)
    rollouts: int = opt("Completions sampled from every step prefix.", 8)
    questions: int = opt("Training questions it labels (0: all).", 0)
    temperature: float = opt("Rollout temperature.", 1.0)
    seed: int = opt("Rollout seed.", 0)


@dataclass(frozen=True)
class PRMSection(PRMTrainConfig):
    """The PRM's :class:`~ifrl.prm.PRMTrainConfig` and its backbone."""

    base: str = opt("Backbone of the PRM; empty: the policy.", "")
    epochs: float = opt("Passes over the labeled solutions.", 4.0)
    lr: float = opt("Peak learning rate.", 1e-3)
    batch_size: int = opt("Labeled solutions per step.", 16)
    max_length: int = opt("Tokens per sample (truncated).", 256)


@dataclass
class BoNSection:
    n: int = opt("Solutions sampled per held-out question.", 8)
    temperature: float = opt("Sampling temperature.", 1.0)
    aggregation: str = opt("Step scores → solution score: min, last, product or mean.", "last")
    seed: int = opt("Sampling and bootstrap seed.", 0)
    bootstrap: int = opt("Question-bootstrap resamples of the 95% intervals.", 1000)

    def validate(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise ConfigError(
                "", "aggregation", f"expected min, last, product or mean, got {self.aggregation!r}"
            )
        if self.n < 1:
            raise ConfigError("", "n", f"must be at least 1, got {self.n}")


@dataclass
class EduPrmConfig:
    """The ``edu-prm`` recipe's YAML file."""

    policy: PolicySection = opt("Stage policy: the model that solves.", factory=PolicySection)
    questions: QuestionsSection = opt("Stage questions.", factory=QuestionsSection)
    branch: BranchSection = opt("Stage branch: EDU trees.", factory=BranchSection)
    labels: LabelsSection = opt("Stage label: MC step labels.", factory=LabelsSection)
    uniform: UniformSection = opt("Stage uniform: the baseline labeler.", factory=UniformSection)
    prm: PRMSection = opt("Stage train: the PRM.", factory=PRMSection)
    bon: BoNSection = opt("Stage bon: Best-of-N.", factory=BoNSection)


# -- helpers ---------------------------------------------------------------------------------


def _decoder(ctx: StageContext) -> Any:
    cfg: EduPrmConfig = ctx.config
    return step_decoder_for(
        cfg.policy.backend,
        str(ctx.results["policy"]["model"]),
        batch_size=cfg.policy.batch_size,
        stop=cfg.policy.stop,
    )


def _questions(path: Path) -> list[Question]:
    return list(read_jsonl(path, Question.from_dict))


def _cost_dict(cost: Cost, steps: int, questions: int) -> dict[str, Any]:
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
    cfg: EduPrmConfig = ctx.config
    model = cfg.policy.path
    if model == "synthetic":
        pc = cfg.policy.warmup_config()
        ctx.echo(f"    synthetic policy: warm-up on {pc.problems} solutions (cached)")
        model = str(synthetic_policy(pc))
    write_json(ctx.path("policy.json"), {"model": model})
    return {"model": model}


def _synthetic_questions(cfg: EduPrmConfig) -> tuple[list[Question], list[Question]]:
    """Training and held-out questions of the synthetic task; the held-out ones are distinct
    and none of them is a training question."""
    q, task = cfg.questions, cfg.policy.task
    try:
        if q.distinct:
            train = task.held_out(q.train, 20_000 + q.seed, "train")
        else:
            train = task.problems(q.train, 20_000 + q.seed, "train")
        held = task.held_out(q.eval, 30_000 + q.seed, exclude=[p.question for p in train])
    except ValueError as err:
        raise ConfigError("", "questions", str(err)) from None
    return [p.to_question() for p in train], [p.to_question() for p in held]


def stage_questions(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmConfig = ctx.config
    q = cfg.questions
    if q.source == "synthetic":
        train, held = _synthetic_questions(cfg)
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


def stage_branch(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmConfig = ctx.config
    if not ctx.resume:  # a fresh run: earlier chunks are stale
        shutil.rmtree(ctx.run_dir / "branch", ignore_errors=True)
    questions = _questions(ctx.run_dir / "questions/train.jsonl")
    size = max(1, cfg.branch.chunk)
    chunks = [questions[i : i + size] for i in range(0, len(questions), size)]
    decoder: Any = None
    total = Cost()
    trees: list[BranchTree] = []
    for c, chunk in enumerate(chunks):
        done = ctx.run_dir / f"branch/chunk_{c:05d}.json"
        if not done.exists():
            decoder = decoder or _decoder(ctx)
            decoder.cost = Cost()
            made = build_trees(decoder, chunk, cfg.branch, progress=True)
            write_jsonl(ctx.path(f"branch/chunk_{c:05d}.jsonl"), [t.to_dict() for t in made])
            write_json(done, decoder.cost.to_dict())
        total = total + Cost(**json.loads(done.read_text(encoding="utf-8")))
        trees += read_jsonl(ctx.run_dir / f"branch/chunk_{c:05d}.jsonl", BranchTree.from_dict)
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
        "cost": _cost_dict(cost, steps, int(ctx.results["branch"]["trees"])),
    }


def _uniform_row(r: Any) -> dict[str, Any]:
    return {
        "question_id": r.question.id,
        "solution_ids": list(r.solution_ids),
        "spans": [list(s) for s in r.spans],
        "labels": [[s.leaves, s.correct] for s in r.labels],
    }


def stage_uniform(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmConfig = ctx.config
    u = cfg.uniform
    questions = _questions(ctx.run_dir / "questions/train.jsonl")
    if u.questions:
        questions = questions[: u.questions]
    decoder = _decoder(ctx)
    checker = get_checker(cfg.questions.checker)
    ucfg = UniformConfig(
        rollouts=u.rollouts,
        temperature=u.temperature,
        max_new_tokens=cfg.branch.max_new_tokens,
        seed=u.seed,
        stop=cfg.policy.stop,
    )
    results = uniform_label(decoder, questions, checker, ucfg, progress=True)
    write_jsonl(ctx.path("uniform/results.jsonl"), [_uniform_row(r) for r in results])
    steps = sum(len(r.spans) for r in results)
    ucost = _cost_dict(decoder.cost, steps, len(results))
    # EDU's cost on the same questions (its trees are per question), and label agreement.
    ids = {q.id for q in questions}
    trees = [
        t
        for t in read_jsonl(ctx.run_dir / "trees.jsonl", BranchTree.from_dict)
        if t.question_id in ids
    ]
    tok = decoder.tokenizer
    labels = [mc_labels(t, grade_leaves(t, tok, checker, cfg.policy.stop)) for t in trees]
    agree = label_agreement(trees, labels, results)
    edu = ctx.results["label"]["cost"]
    ratio = (
        ucost["generated_tokens_per_step"] / edu["generated_tokens_per_step"]
        if edu["generated_tokens_per_step"]
        else None
    )
    result = {
        "cost": ucost,
        "edu_cost": edu,
        "generated_tokens_per_step_ratio": ratio,
        "greedy_correct": sum(r.labels[-1].correct for r in results if r.labels),
        "agreement": {
            "shared_steps": agree.shared,
            "hard_agree": agree.hard_agree,
            "hard_rate": agree.hard_rate if agree.shared else None,
            "mean_soft_diff": agree.mean_soft_diff if agree.shared else None,
            "skipped_questions": agree.skipped_questions,
        },
    }
    write_json(ctx.path("uniform.json"), result)
    return result


def stage_train(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmConfig = ctx.config
    samples = list(read_jsonl(ctx.run_dir / "labels.jsonl", StepSample))
    if not samples:
        raise ConfigError("", "label", "no labeled solutions to train the PRM on")
    base = cfg.prm.base or str(ctx.results["policy"]["model"])
    _prm, stats = train_prm(samples, base, cfg.prm, out_dir=ctx.run_dir / "prm", progress=True)
    result = {
        "samples": stats.samples,
        "skipped": stats.skipped,
        "labels": stats.labels,
        "first_loss": stats.losses[0],
        "final_loss": stats.losses[-1],
        "losses": stats.losses,
    }
    write_json(ctx.path("train.json"), result)
    return {k: v for k, v in result.items() if k != "losses"}


# The recipe's result keys for the ``prm`` benchmark's Best-of-N metrics.
BON_METRICS = {
    "auroc": "auroc",
    "bon_accuracy": "best_of_n_acc",
    "random_accuracy": "random_acc",
    "bon_gain": "best_of_n_gain",
    "oracle_accuracy": "oracle_acc",
    "majority_accuracy": "majority_acc",
}


def _evaluate(ctx: StageContext, name: str, score_field: str) -> dict[str, Any]:
    """``bon/candidates.jsonl`` ranked by ``score_field`` through ``ifrl.evals``' ``prm``
    benchmark (run written to ``bon/<name>``): each metric's value and 95% interval (None when
    undefined, e.g. the AUROC of one class)."""
    b: BoNSection = ctx.config.bon
    bench = get_benchmark("prm", seed=b.seed, resamples=b.bootstrap, score_field=score_field)
    metrics = run(bench, ctx.path(f"bon/{name}"), responses=ctx.run_dir / "bon/candidates.jsonl")
    out: dict[str, Any] = {}
    for key, metric in BON_METRICS.items():
        m = metrics.metrics.get(metric)
        out[key] = m.value if m else None
        out[f"{key}_ci95"] = [m.ci_low, m.ci_high] if m else [None, None]
    return out


def stage_bon(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmConfig = ctx.config
    b = cfg.bon
    questions = _questions(ctx.run_dir / "questions/eval.jsonl")
    generator = _decoder(ctx).generator
    prompts = [q.prompt for q in questions]
    params = SamplingParams(
        temperature=0.0, max_new_tokens=cfg.branch.max_new_tokens, stop=cfg.policy.stop
    )
    greedy = generator.generate(prompts, params)
    rows = generator.generate(
        prompts, params.replace(n=b.n, temperature=b.temperature, seed=b.seed)
    )
    prm = ProcessRewardModel.load(ctx.run_dir / "prm")
    checker = get_checker(cfg.questions.checker)
    greedy_ok = solutions = right = 0
    with JSONLWriter(ctx.path("bon/candidates.jsonl")) as w:
        for q, first, row in zip(questions, greedy, rows):
            assert q.reference is not None
            greedy_ok += checker(first[0].text, q.reference)
            texts = [c.text for c in row]
            steps = [split_solution(t) or [t] for t in texts]
            step_scores = score_candidates(
                prm, q.prompt, steps, batch_size=len(steps), max_length=cfg.prm.max_length
            )
            cands = [
                {
                    "response": c.text,
                    "correct": checker(c.text, q.reference),
                    "score": aggregate(s, b.aggregation),
                    "confidence": policy_confidence(c.logprobs),
                    "step_scores": s,
                }
                for c, s in zip(row, step_scores)
            ]
            solutions += len(cands)
            right += sum(c["correct"] for c in cands)
            w.write({"id": q.id, "prompt": q.prompt, "gold": q.reference, "candidates": cands})
    greedy_acc = proportion(greedy_ok, len(questions))
    result: dict[str, Any] = {
        "questions": len(questions),
        "n": b.n,
        "aggregation": b.aggregation,
        **_evaluate(ctx, "prm", "score"),
        "solution_accuracy": right / max(1, solutions),
        "greedy_accuracy": greedy_acc.value,
        "greedy_accuracy_ci95": [greedy_acc.ci_low, greedy_acc.ci_high],
        "confidence": _evaluate(ctx, "confidence", "confidence"),
    }
    write_json(ctx.path("bon/results.json"), result)
    return result


def build() -> Recipe:
    """The ``edu-prm`` recipe."""
    return Recipe(
        "edu-prm",
        "questions → EDU branching → MC step labels (uniform-MC cost beside) → PRM → Best-of-N",
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
                "uniform Monte Carlo baseline (cost, agreement)",
                enabled=lambda c: bool(c.uniform.enabled),
            ),
            Stage(
                "train",
                stage_train,
                ("prm", "train.json"),
                ("prm",),
                ("label",),
                "PRM training",
            ),
            Stage(
                "bon",
                stage_bon,
                ("bon/results.json",),
                ("bon",),
                ("train", "questions"),
                "Best-of-N on held-out questions, evaluated by ifrl.evals",
            ),
        ),
    )


RECIPES.add("edu-prm", build)

__all__ = ["EduPrmConfig", "build"]
