"""The ``edu-prm`` recipe: questions with answers → EDU branching → Monte Carlo step labels → PRM
training → Best-of-N eval, with the uniform Monte Carlo (Math-Shepherd) baseline's labeling cost
beside EDU's.

Stages: ``policy`` (``synthetic``: the tiny model warmed up on the synthetic arithmetic task,
cached; or any causal LM), ``questions`` (synthetic arithmetic or a GSM8K-format JSONL →
``questions/train.jsonl``, ``questions/eval.jsonl``), ``branch`` (entropy-anchored trees, in
resumable chunks, with their query cost), ``label`` (MC step labels from the trees' leaves),
``uniform`` (the baseline on the same training questions: its cost per labeled step, and how
often its hard labels agree with EDU's on shared steps), ``train`` (the PRM, its backbone
initialised from the policy) and ``bon`` (``n`` samples per held-out question scored by the PRM:
Best-of-N accuracy beside a random pick, majority vote and the oracle, and the AUROC of the PRM
score, each with a question-bootstrap 95% interval from ``ifrl.prm.metrics``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, opt
from ifrl.core.jsonl import JSONLWriter, read_jsonl, write_json, write_jsonl
from ifrl.pipelines.recipe import RECIPES, Recipe, Stage, StageContext


@dataclass
class PolicySection:
    path: str = opt(
        "The policy: 'synthetic' (the tiny model warmed up on the synthetic arithmetic task, "
        "trained once and cached), or a causal LM directory / hub id.",
        "synthetic",
    )
    backend: str = opt("Decoding backend: hf (exact entropies) or vllm (top-k entropies).", "hf")
    batch_size: int = opt("Sequences per forward pass (hf).", 64)
    stop: tuple[str, ...] = opt("Stop strings ending a solution.", ())
    warmup_problems: int = opt(
        "synthetic: gold solutions the warm-up trains on (0: ifrl.prm's default).", 0
    )
    warmup_epochs: float = opt("synthetic: warm-up epochs (0: ifrl.prm's default).", 0.0)
    warmup_lr: float = opt("synthetic: warm-up learning rate (0: ifrl.prm's default).", 0.0)
    seed: int = opt("synthetic: warm-up seed.", 0)
    task: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "synthetic: the arithmetic task (ifrl.prm.synthetic.ArithmeticTask fields: "
            "min_ops, max_ops, max_value, max_operand); the warm-up and the synthetic "
            "questions both use it. Empty: its defaults."
        },
    )

    def validate(self) -> None:
        if self.backend not in ("hf", "vllm"):
            raise ConfigError("", "backend", f"expected hf or vllm, got {self.backend!r}")
        synthetic_task(self)

    def warmup_config(self) -> Any:
        """The ``ifrl.prm`` policy warm-up config (section values of 0 keep its defaults)."""
        from ifrl.prm.synthetic import PolicyConfig

        given = {
            "problems": self.warmup_problems,
            "epochs": self.warmup_epochs,
            "lr": self.warmup_lr,
        }
        return PolicyConfig(
            seed=self.seed,
            task=synthetic_task(self),
            **{k: v for k, v in given.items() if v},  # type: ignore[arg-type]
        )


def synthetic_task(section: PolicySection) -> Any:
    """The section's ``ArithmeticTask`` (errors name the field)."""
    from ifrl.prm.synthetic import ArithmeticTask

    try:
        return ArithmeticTask(**section.task)
    except TypeError as err:
        raise ConfigError("", "task", f"{err}") from None


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
    template: str = opt("Prompt template around the question text.", "Question: {question}\n")
    checker: str = opt("Answer checker: gsm8k, exact or regex.", "gsm8k")
    seed: int = opt("Seed of the synthetic questions.", 0)

    def validate(self) -> None:
        if self.train < 1 or self.eval < 1:
            raise ConfigError("", "train", "need at least one training and one eval question")


@dataclass
class BranchSection:
    tau: float = opt("Entropy threshold (nats) of an anchor.", 1.0)
    top_k: int = opt("Tokens branched on at an anchor.", 2)
    max_depth: int = opt("Anchors along one path.", 3)
    max_branches: int = opt("Leaves (solutions) per question.", 8)
    max_new_tokens: int = opt("Tokens per solution.", 64)
    exclude_digits: bool = opt("Digit-only tokens are no anchors.", False)
    chunk: int = opt("Questions branched together (and saved together, for resuming).", 32)


@dataclass
class LabelsSection:
    kind: str = opt(
        "Step labels the PRM trains on: hard (any leaf correct) or soft (share).", "hard"
    )

    def validate(self) -> None:
        if self.kind not in ("hard", "soft"):
            raise ConfigError("", "kind", f"expected hard or soft, got {self.kind!r}")


@dataclass
class UniformSection:
    enabled: bool = opt("Run the uniform Monte Carlo baseline for the cost comparison.", True)
    rollouts: int = opt("Completions sampled from every step prefix.", 8)
    questions: int = opt("Training questions it labels (0: all).", 0)
    temperature: float = opt("Rollout temperature.", 1.0)
    seed: int = opt("Rollout seed.", 0)


@dataclass
class PRMSection:
    base: str = opt("Backbone of the PRM; empty: the policy.", "")
    epochs: float = opt("Passes over the labeled solutions.", 4.0)
    lr: float = opt("Peak learning rate.", 1e-3)
    batch_size: int = opt("Labeled solutions per step.", 16)
    max_length: int = opt("Tokens per sample (truncated).", 256)
    lora_r: int = opt("LoRA rank (0: full fine-tuning).", 0)
    seed: int = opt("Shuffling seed.", 0)


@dataclass
class BoNSection:
    n: int = opt("Solutions sampled per held-out question.", 8)
    temperature: float = opt("Sampling temperature.", 1.0)
    aggregation: str = opt("Step scores → solution score: min, last, product or mean.", "last")
    seed: int = opt("Sampling seed.", 0)

    def validate(self) -> None:
        if self.aggregation not in ("min", "last", "product", "mean"):
            raise ConfigError(
                "", "aggregation", f"expected min, last, product or mean, got {self.aggregation!r}"
            )
        if self.n < 1:
            raise ConfigError("", "n", f"must be at least 1, got {self.n}")


@dataclass
class EduPrmConfig:
    """The ``edu-prm`` recipe's YAML file."""

    policy: PolicySection = field(
        default_factory=PolicySection, metadata={"help": "Stage policy: the model that solves."}
    )
    questions: QuestionsSection = field(
        default_factory=QuestionsSection, metadata={"help": "Stage questions."}
    )
    branch: BranchSection = field(
        default_factory=BranchSection, metadata={"help": "Stage branch: EDU trees."}
    )
    labels: LabelsSection = field(
        default_factory=LabelsSection, metadata={"help": "Stage label: MC step labels."}
    )
    uniform: UniformSection = field(
        default_factory=UniformSection, metadata={"help": "Stage uniform: the baseline labeler."}
    )
    prm: PRMSection = field(default_factory=PRMSection, metadata={"help": "Stage train: the PRM."})
    bon: BoNSection = field(default_factory=BoNSection, metadata={"help": "Stage bon: Best-of-N."})

    def validate(self) -> None:
        from ifrl.prm.answers import get_checker

        try:
            get_checker(self.questions.checker)
        except Exception as err:  # the registry's "did you mean" error
            raise ConfigError("", "questions.checker", f"{err}") from None
        branch_config(self.branch)


def branch_config(b: BranchSection) -> Any:
    """The ``ifrl.prm`` branching config of the section (its errors name the field)."""
    from ifrl.core.errors import RecordError
    from ifrl.prm.branching import BranchConfig

    try:
        return BranchConfig(
            tau=b.tau,
            top_k=b.top_k,
            max_depth=b.max_depth,
            max_branches=b.max_branches,
            max_new_tokens=b.max_new_tokens,
            exclude_digits=b.exclude_digits,
        )
    except RecordError as err:
        raise ConfigError("", f"branch.{err.field}", err.problem) from None


# -- helpers ---------------------------------------------------------------------------------


def _fresh(ctx: StageContext, *relative: str) -> None:
    if ctx.resume:
        return
    for rel in relative:
        p = ctx.run_dir / rel
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def _decoder(ctx: StageContext) -> Any:
    from ifrl.prm.decoding import step_decoder_for

    cfg: EduPrmConfig = ctx.config
    return step_decoder_for(
        cfg.policy.backend,
        str(ctx.results["policy"]["model"]),
        batch_size=cfg.policy.batch_size,
        stop=cfg.policy.stop,
    )


def _questions(path: Path) -> list[Any]:
    from ifrl.prm.branching import Question

    return [Question(str(r["id"]), str(r["prompt"]), r.get("reference")) for r in read_jsonl(path)]


def _cost_dict(cost: Any, steps: int, questions: int) -> dict[str, Any]:
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
    p = cfg.policy
    if p.path == "synthetic":
        from ifrl.core.tiny import build_tiny_model
        from ifrl.prm.synthetic import default_policy_dir, train_policy

        pc = p.warmup_config()
        base = build_tiny_model("qwen2", seed=0)
        ctx.echo(f"    synthetic policy: warm-up on {pc.problems} solutions (cached)")
        model = str(train_policy(base, default_policy_dir(pc), pc))
    else:
        model = p.path
    write_json(ctx.path("policy.json"), {"model": model})
    return {"model": model}


def stage_questions(ctx: StageContext) -> dict[str, Any]:
    cfg: EduPrmConfig = ctx.config
    q = cfg.questions
    if q.source == "synthetic":
        task = synthetic_task(cfg.policy)
        train_p = task.problems(q.train, 20_000 + q.seed, "train")
        # Held-out questions never seen in training (small tasks repeat questions).
        seen = {p.question for p in train_p}
        pool = task.problems(q.eval * 20, 30_000 + q.seed, "eval")
        fresh = []
        for p in pool:
            if p.question not in seen:
                seen.add(p.question)
                fresh.append(p)
        if len(fresh) < q.eval:
            raise ConfigError(
                "",
                "questions.eval",
                f"the task has only {len(fresh)} questions left unseen in training",
            )
        train = [p.to_question() for p in train_p]
        held = [p.to_question() for p in fresh[: q.eval]]
        if q.template != "Question: {question}\n":
            raise ConfigError("", "questions.template", "the synthetic task fixes its template")
    else:
        from ifrl.prm.data import load_questions

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
        write_jsonl(
            ctx.path(f"questions/{name}.jsonl"),
            [{"id": x.id, "prompt": x.prompt, "reference": x.reference} for x in qs],
        )
    return {"train": len(train), "eval": len(held)}


def stage_branch(ctx: StageContext) -> dict[str, Any]:
    from ifrl.prm.branching import Tree, build_trees
    from ifrl.prm.decoding import Cost

    cfg: EduPrmConfig = ctx.config
    _fresh(ctx, "branch")
    questions = _questions(ctx.run_dir / "questions/train.jsonl")
    size = max(1, cfg.branch.chunk)
    chunks = [questions[i : i + size] for i in range(0, len(questions), size)]
    decoder: Any = None
    total = Cost()
    trees: list[Any] = []
    for c, chunk in enumerate(chunks):
        done = ctx.run_dir / f"branch/chunk_{c:05d}.json"
        if not done.exists():
            decoder = decoder or _decoder(ctx)
            before = Cost(**decoder.cost.to_dict())
            made = build_trees(decoder, chunk, branch_config(cfg.branch), progress=True)
            spent = Cost(
                decoder.cost.calls - before.calls,
                decoder.cost.generated_tokens - before.generated_tokens,
                decoder.cost.forward_tokens - before.forward_tokens,
            )
            write_jsonl(ctx.path(f"branch/chunk_{c:05d}.jsonl"), [t.to_dict() for t in made])
            write_json(done, spent.to_dict())
        total = total + Cost(**json.loads(done.read_text(encoding="utf-8")))
        trees += list(read_jsonl(ctx.run_dir / f"branch/chunk_{c:05d}.jsonl", Tree.from_dict))
    write_jsonl(ctx.path("trees.jsonl"), [t.to_dict() for t in trees])
    leaves = sum(len(t.leaves()) for t in trees)
    result = {"trees": len(trees), "leaves": leaves, "cost": total.to_dict()}
    write_json(ctx.path("branch.json"), result)
    return result


def _tokenizer(ctx: StageContext) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(ctx.results["policy"]["model"]))


def stage_label(ctx: StageContext) -> dict[str, Any]:
    from ifrl.prm.answers import get_checker
    from ifrl.prm.branching import Tree
    from ifrl.prm.decoding import Cost
    from ifrl.prm.labels import LabelKind, grade_leaves, step_samples

    cfg: EduPrmConfig = ctx.config
    tok = _tokenizer(ctx)
    checker = get_checker(cfg.questions.checker)
    kind: LabelKind = "hard" if cfg.labels.kind == "hard" else "soft"
    steps = correct = total = 0
    with JSONLWriter(ctx.path("labels.jsonl")) as w:
        for tree in read_jsonl(ctx.run_dir / "trees.jsonl", Tree.from_dict):
            graded = grade_leaves(tree, tok, checker, cfg.policy.stop)
            correct += sum(graded.values())
            total += len(graded)
            steps += sum(1 for n in tree.nodes if n.token_ids and not n.pruned)
            for s in step_samples(tree, tok, graded, label=kind):
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
    from ifrl.prm.answers import get_checker
    from ifrl.prm.branching import Tree
    from ifrl.prm.compare import agreement
    from ifrl.prm.labels import grade_leaves, mc_labels
    from ifrl.prm.uniform import UniformConfig, uniform_label

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
        t for t in read_jsonl(ctx.run_dir / "trees.jsonl", Tree.from_dict) if t.question_id in ids
    ]
    tok = decoder.tokenizer
    labels = [mc_labels(t, grade_leaves(t, tok, checker, cfg.policy.stop)) for t in trees]
    agree = agreement(trees, labels, results)
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
    from ifrl.core.records import StepSample
    from ifrl.prm.loop import LoopConfig
    from ifrl.prm.train import PRMTrainConfig, train_prm

    cfg: EduPrmConfig = ctx.config
    p = cfg.prm
    samples = list(read_jsonl(ctx.run_dir / "labels.jsonl", StepSample))
    if not samples:
        raise ConfigError("", "label", "no labeled solutions to train the PRM on")
    config = PRMTrainConfig(
        loop=LoopConfig(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, seed=p.seed),
        max_length=p.max_length,
        lora={"r": p.lora_r, "alpha": 2 * p.lora_r} if p.lora_r > 0 else None,
    )
    base = p.base or str(ctx.results["policy"]["model"])
    _prm, stats = train_prm(samples, base, config, out_dir=ctx.run_dir / "prm", progress=True)
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


def stage_bon(ctx: StageContext) -> dict[str, Any]:
    from ifrl.core.answers import extract_answer
    from ifrl.core.records import SamplingParams
    from ifrl.prm.answers import get_checker
    from ifrl.prm.metrics import QuestionOutcome, rerank_metrics
    from ifrl.prm.model import ProcessRewardModel
    from ifrl.prm.score import aggregate, split_solution

    cfg: EduPrmConfig = ctx.config
    b = cfg.bon
    questions = _questions(ctx.run_dir / "questions/eval.jsonl")
    decoder = _decoder(ctx)
    params = SamplingParams(
        n=b.n,
        temperature=b.temperature,
        max_new_tokens=cfg.branch.max_new_tokens,
        seed=b.seed,
        stop=cfg.policy.stop,
    )
    rows = decoder.generator.generate([q.prompt for q in questions], params)
    prm = ProcessRewardModel.load(ctx.run_dir / "prm")
    checker = get_checker(cfg.questions.checker)
    outcomes: list[QuestionOutcome] = []
    with JSONLWriter(ctx.path("bon/candidates.jsonl")) as w:
        for q, row in zip(questions, rows):
            assert q.reference is not None
            texts = [c.text for c in row]
            steps = [split_solution(t) or [t] for t in texts]
            step_scores = prm.score_batch(
                [(q.prompt, s) for s in steps], max_length=cfg.prm.max_length
            )
            outcome = QuestionOutcome(
                correct=tuple(checker(t, q.reference) for t in texts),
                scores=tuple(aggregate(s, b.aggregation) for s in step_scores),
                answers=tuple(extract_answer(t) for t in texts),
                reference=q.reference,
            )
            outcomes.append(outcome)
            w.write(
                {
                    "id": q.id,
                    "prompt": q.prompt,
                    "reference": q.reference,
                    "candidates": texts,
                    "correct": list(outcome.correct),
                    "scores": list(outcome.scores),
                    "chosen": outcome.chosen,
                }
            )
    metrics = rerank_metrics(outcomes, seed=b.seed)
    result: dict[str, Any] = {"questions": len(questions), "n": b.n, "aggregation": b.aggregation}
    for name, m in metrics.items():
        value = m["value"]
        result[name] = None if value != value else value  # NaN (one class only) → null
        result[f"{name}_ci95"] = [None if v != v else v for v in m["ci95"]]
    result["solution_accuracy"] = sum(sum(o.correct) for o in outcomes) / max(
        1, sum(len(o.correct) for o in outcomes)
    )
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
                "Best-of-N on held-out questions",
            ),
        ),
    )


RECIPES.add("edu-prm", build)

__all__ = ["EduPrmConfig", "build"]
