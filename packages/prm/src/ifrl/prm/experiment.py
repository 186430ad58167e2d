"""The end-to-end EDU-PRM experiment on the synthetic arithmetic task.

1. Warm up the tiny policy on the task (:func:`ifrl.prm.synthetic.synthetic_policy`), so its
   solutions are step-by-step and right on part of the questions.
2. Label training questions with EDU trees (:func:`~ifrl.prm.branching.build_trees`, Monte
   Carlo labels). On the first ``uniform_questions`` of them, also run the uniform
   (Math-Shepherd) labeler: cost per labeled step of both, their ratio and the agreement of hard
   labels on shared steps (:func:`compare_labelers`).
3. Train a PRM on the EDU labels: by default the policy's backbone, frozen, with three fresh
   identity-initialised decoder layers on top (:func:`ifrl.prm.model.add_fresh_layers`) and the
   two-class head. Fine-tuning the policy's own layers instead gave a PRM that ranked questions
   by difficulty but could not tell a slipped digit inside a question; the head at a separator
   needs a layer above the policy's last one to compare the digit written with the digit the
   policy computed one position earlier.
4. On held-out questions, sample ``n`` solutions each, score every solution with the PRM
   (aggregated step scores) and report, with question-bootstrap 95% intervals
   (:func:`ifrl.prm.metrics.rerank_metrics`): the AUROC of that score for telling correct from
   incorrect solutions, Best-of-N accuracy, random choice among the ``n`` (the mean
   correctness), their difference, the oracle (any of the ``n`` correct) and majority vote.
5. As a reference that needs no PRM, rerank the same solutions by the policy's own confidence
   (the lowest log-probability among a solution's tokens): when that reference separates right
   from wrong solutions and the PRM does not, the PRM's backbone or training, not the
   information in the samples, is what limits it.

The default policy is warmed up until it is mostly right on two- and three-step chains: the
Monte Carlo labels of a weak policy mostly say which *questions* it fails, and it reaches the
right answer from wrong steps often enough (a third of its correct solutions on two-step
chains) that its step labels contradict the arithmetic.

:func:`run_synthetic` runs all of it; the stages are public for callers that compose their own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ifrl.core.records import SamplingParams, StepSample
from ifrl.prm.answers import Checker, extract_answer, get_checker
from ifrl.prm.branching import BranchConfig, Question, Tree, build_trees
from ifrl.prm.compare import agreement
from ifrl.prm.decoding import HFStepDecoder, StepDecoder
from ifrl.prm.labels import LabelKind, StepSplit, grade_leaves, mc_labels, step_samples
from ifrl.prm.loop import LoopConfig
from ifrl.prm.metrics import QuestionOutcome, rerank_metrics
from ifrl.prm.model import ProcessRewardModel
from ifrl.prm.score import aggregate, split_solution
from ifrl.prm.synthetic import ArithmeticTask, PolicyConfig, synthetic_policy
from ifrl.prm.train import PRMTrainConfig, train_prm
from ifrl.prm.uniform import UniformConfig, uniform_label


def _default_policy() -> PolicyConfig:
    # Three-step chains (about 7,000 distinct questions, enough for thousands of EDU trees),
    # warmed up until the policy is mostly right: its Monte Carlo labels then say which step
    # broke a solution, rather than which question it tends to fail (see the module docstring).
    return PolicyConfig(problems=19_200, lr=1e-3, task=ArithmeticTask(max_ops=3))


@dataclass(frozen=True)
class ExperimentConfig:
    """Sizes and settings of the synthetic experiment."""

    train_questions: int = 3000
    eval_questions: int = 600
    n: int = 8
    temperature: float = 1.0
    aggregation: str = "product"
    label: LabelKind = "hard"
    split: StepSplit = "newline"
    branch: BranchConfig = field(
        default_factory=lambda: BranchConfig(
            tau=0.3, max_depth=4, max_branches=16, max_new_tokens=64
        )
    )
    prm_loop: LoopConfig = field(
        default_factory=lambda: LoopConfig(epochs=8, batch_size=16, lr=1e-3, seed=0)
    )
    # The PRM's backbone: a causal LM directory, or None for the policy itself.
    prm_base: str | None = None
    # Identity-initialised decoder layers stacked on that backbone, and whether the backbone's
    # own layers stay frozen (see ifrl.prm.model.add_fresh_layers).
    prm_extra_layers: int = 3
    prm_freeze_base: bool = True
    policy: PolicyConfig = field(default_factory=_default_policy)
    seed: int = 0
    uniform_questions: int = 20
    uniform_rollouts: int = 8
    bootstrap: int = 1000


@dataclass
class LabelerComparison:
    """EDU against uniform Monte Carlo on the same questions (see :func:`compare_labelers`)."""

    questions: int
    edu_steps: int
    edu_cost: dict[str, int]
    uniform_steps: int
    uniform_cost: dict[str, int]
    cost_ratio: float
    forward_ratio: float
    query_ratio: float
    shared_steps: int
    agreement: float


@dataclass
class ExperimentResult:
    """The numbers the experiment reports (``metrics`` holds the bootstrap intervals)."""

    edu_samples: int
    edu_steps_labeled: int
    edu_leaf_accuracy: float
    edu_cost: dict[str, int]
    prm_final_loss: float
    eval_solutions: int
    eval_accuracy: float
    auroc: float
    bon_accuracy: float
    random_accuracy: float
    oracle_accuracy: float
    per_question: list[dict[str, Any]]
    majority_accuracy: float = float("nan")
    greedy_accuracy: float = float("nan")
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    confidence_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    comparison: LabelerComparison | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("per_question")
        return out


def edu_label(
    decoder: StepDecoder,
    questions: Sequence[Question],
    config: BranchConfig,
    checker: Checker,
    *,
    label: LabelKind = "hard",
    split: StepSplit = "anchor",
    progress: bool = False,
) -> tuple[list[Tree], list[StepSample], dict[str, int]]:
    """EDU trees, one labeled sample per leaf (steps cut as ``split`` says, see
    :func:`ifrl.prm.labels.step_samples`), and counts (tree steps, leaves, correct leaves)."""
    trees = build_trees(decoder, questions, config, progress=progress)
    samples: list[StepSample] = []
    steps = leaves = correct = 0
    for tree in trees:
        graded = grade_leaves(tree, decoder.tokenizer, checker)
        leaves += len(graded)
        correct += sum(graded.values())
        samples += step_samples(tree, decoder.tokenizer, graded, label=label, split=split)
        steps += sum(1 for n in tree.nodes if n.token_ids and not n.pruned)
    return trees, samples, {"steps": steps, "leaves": leaves, "correct": correct}


def compare_labelers(
    generator: Any,
    questions: Sequence[Question],
    branch: BranchConfig,
    checker: Checker,
    *,
    rollouts: int = 8,
    seed: int = 0,
    progress: bool = False,
) -> LabelerComparison:
    """Label ``questions`` with EDU and with uniform Monte Carlo on one HF ``generator``.

    Cost per labeled step counts every step each method labels (EDU: tree nodes; uniform: the
    newline-separated steps of the greedy solution); ``cost_ratio`` is uniform's generated tokens
    per labeled step over EDU's, ``agreement`` the fraction of shared steps whose hard labels
    agree (:func:`ifrl.prm.compare.agreement`).
    """
    edu = HFStepDecoder(generator)
    trees = build_trees(edu, questions, branch, progress=progress)
    labels = [mc_labels(t, grade_leaves(t, edu.tokenizer, checker)) for t in trees]
    edu_steps = sum(1 for t, lab in zip(trees, labels) for nid in lab if t.nodes[nid].token_ids)
    uni = HFStepDecoder(generator)
    ucfg = UniformConfig(rollouts=rollouts, max_new_tokens=branch.max_new_tokens, seed=seed)
    results = uniform_label(uni, questions, checker, ucfg, progress=progress)
    uni_steps = sum(len(r.spans) for r in results)
    e, u = edu.cost.per(edu_steps), uni.cost.per(uni_steps)
    agree = agreement(trees, labels, results)

    def ratio(key: str) -> float:
        return u[key] / e[key] if e[key] else float("nan")

    return LabelerComparison(
        questions=len(questions),
        edu_steps=edu_steps,
        edu_cost=edu.cost.to_dict(),
        uniform_steps=uni_steps,
        uniform_cost=uni.cost.to_dict(),
        cost_ratio=ratio("generated_tokens"),
        forward_ratio=ratio("forward_tokens"),
        query_ratio=ratio("calls"),
        shared_steps=agree.shared,
        agreement=agree.hard_rate,
    )


def evaluate_reranking(
    prm: ProcessRewardModel,
    generator: Any,
    questions: Sequence[Question],
    checker: Checker,
    *,
    n: int = 8,
    temperature: float = 1.0,
    max_new_tokens: int = 64,
    aggregation: str = "last",
    seed: int = 0,
    max_length: int = 256,
) -> list[QuestionOutcome]:
    """Sample ``n`` solutions per question, grade them and score them with the PRM.

    Solutions are split into steps at newlines and scored with ``aggregation`` of their step
    scores; each question's outcome also holds every solution's extracted final answer and its
    policy confidence (:func:`policy_confidence`).
    """
    params = SamplingParams(n=n, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed)
    rows = generator.generate([q.prompt for q in questions], params)
    outcomes = []
    for q, row in zip(questions, rows):
        if q.reference is None:
            raise ValueError(f"question {q.id!r} has no reference answer to check against")
        texts = [c.text for c in row]
        step_lists = [split_solution(t) or [t] for t in texts]
        step_scores = prm.score_batch([(q.prompt, s) for s in step_lists], max_length=max_length)
        outcomes.append(
            QuestionOutcome(
                correct=tuple(checker(t, q.reference) for t in texts),
                scores=tuple(aggregate(s, aggregation) for s in step_scores),
                answers=tuple(extract_answer(t) for t in texts),
                reference=q.reference,
                step_scores=tuple(tuple(s) for s in step_scores),
                confidence=tuple(policy_confidence(c.logprobs) for c in row),
            )
        )
    return outcomes


def policy_confidence(logprobs: Sequence[float]) -> float:
    """The lowest token log-probability of a sampled solution (``-inf`` when none is known).

    A reranking reference without any PRM: a solution holding one token the policy found
    unlikely (a slipped digit) scores low.
    """
    return min(logprobs) if logprobs else float("-inf")


def greedy_accuracy(
    generator: Any, questions: Sequence[Question], checker: Checker, **kw: Any
) -> float:
    """The fraction of questions whose greedy solution is correct."""
    params = SamplingParams(n=1, temperature=0.0, **kw)
    rows = generator.generate([q.prompt for q in questions], params)
    ok = [checker(r[0].text, q.reference or "") for q, r in zip(questions, rows)]
    return sum(ok) / max(1, len(ok))


def run_synthetic(
    config: ExperimentConfig | None = None,
    *,
    work_dir: str | Path | None = None,
    progress: bool = True,
) -> ExperimentResult:
    """Run the whole experiment; the PRM is saved under ``work_dir`` when given."""
    config = config or ExperimentConfig()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 2)
        clock = now

    policy = synthetic_policy(config.policy, progress=progress)
    lap("policy")
    decoder = HFStepDecoder.from_pretrained(policy, batch_size=64)
    checker = get_checker("gsm8k")
    task = config.policy.task
    # Distinct questions: a repeated question would only repeat its (deterministic) EDU tree.
    train_problems = task.held_out(
        config.train_questions, seed=20_000 + config.seed, prefix="train"
    )
    train_q = [p.to_question() for p in train_problems]
    _, samples, counts = edu_label(
        decoder,
        train_q,
        config.branch,
        checker,
        label=config.label,
        split=config.split,
        progress=progress,
    )
    edu_cost = decoder.cost.to_dict()
    lap("edu_labels")
    comparison = None
    if config.uniform_questions > 0:
        comparison = compare_labelers(
            decoder.generator,
            train_q[: config.uniform_questions],
            config.branch,
            checker,
            rollouts=config.uniform_rollouts,
            seed=config.seed,
            progress=progress,
        )
        lap("edu_vs_uniform")
    prm, stats = train_prm(
        samples,
        config.prm_base or policy,
        PRMTrainConfig(
            loop=config.prm_loop,
            max_length=256,
            extra_layers=config.prm_extra_layers,
            freeze_base=config.prm_freeze_base,
        ),
        out_dir=Path(work_dir) / "prm" if work_dir is not None else None,
        progress=progress,
    )
    lap("prm_training")

    # Held out from the PRM: distinct questions that are not among its training questions.
    eval_q = [
        p.to_question()
        for p in task.held_out(
            config.eval_questions,
            seed=30_000 + config.seed,
            exclude=[t.question for t in train_problems],
        )
    ]
    greedy = greedy_accuracy(
        decoder.generator, eval_q, checker, max_new_tokens=config.branch.max_new_tokens
    )
    outcomes = evaluate_reranking(
        prm,
        decoder.generator,
        eval_q,
        checker,
        n=config.n,
        temperature=config.temperature,
        max_new_tokens=config.branch.max_new_tokens,
        aggregation=config.aggregation,
        seed=config.seed,
    )
    metrics = rerank_metrics(outcomes, resamples=config.bootstrap, seed=config.seed)
    by_confidence = [replace(o, scores=o.confidence) for o in outcomes]
    confidence = rerank_metrics(by_confidence, resamples=config.bootstrap, seed=config.seed)
    lap("evaluation")
    per_question = [
        {
            "id": q.id,
            "correct": list(o.correct),
            "scores": list(o.scores),
            "answers": list(o.answers),
            "step_scores": [list(s) for s in o.step_scores],
            "confidence": list(o.confidence),
            "chosen": o.chosen,
        }
        for q, o in zip(eval_q, outcomes)
    ]
    solutions = [c for o in outcomes for c in o.correct]
    return ExperimentResult(
        edu_samples=len(samples),
        edu_steps_labeled=counts["steps"],
        edu_leaf_accuracy=counts["correct"] / max(1, counts["leaves"]),
        edu_cost=edu_cost,
        prm_final_loss=stats.losses[-1],
        eval_solutions=len(solutions),
        eval_accuracy=sum(solutions) / max(1, len(solutions)),
        auroc=metrics["auroc"]["value"],
        bon_accuracy=metrics["bon_accuracy"]["value"],
        random_accuracy=metrics["random_accuracy"]["value"],
        oracle_accuracy=metrics["oracle_accuracy"]["value"],
        per_question=per_question,
        majority_accuracy=metrics["majority_accuracy"]["value"],
        greedy_accuracy=greedy,
        metrics=metrics,
        confidence_metrics=confidence,
        comparison=comparison,
        seconds=seconds,
    )


__all__ = [
    "ExperimentConfig",
    "ExperimentResult",
    "LabelerComparison",
    "compare_labelers",
    "edu_label",
    "evaluate_reranking",
    "greedy_accuracy",
    "policy_confidence",
    "run_synthetic",
]
