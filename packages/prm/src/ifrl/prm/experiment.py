"""The end-to-end EDU-PRM experiment on the synthetic arithmetic task.

1. Warm up the tiny policy on the task (:func:`ifrl.prm.synthetic.synthetic_policy`), so its
   solutions are step-by-step and sometimes right.
2. Label training questions with EDU trees (:func:`~ifrl.prm.branching.build_trees`, Monte
   Carlo soft labels).
3. Train a PRM on those labels, its backbone initialised from the policy.
4. On held-out questions, sample ``n`` solutions each, score every solution with the PRM
   (aggregated step scores) and report the AUROC of that score for telling correct from incorrect
   solutions, and Best-of-N accuracy against picking one of the ``n`` at random (the mean
   correctness) and against the oracle (any of the ``n`` correct).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ifrl.core.records import SamplingParams
from ifrl.prm.answers import get_checker
from ifrl.prm.branching import BranchConfig, build_trees
from ifrl.prm.decoding import HFStepDecoder
from ifrl.prm.labels import LabelKind, grade_leaves, step_samples
from ifrl.prm.loop import LoopConfig
from ifrl.prm.score import aggregate, auroc, split_solution
from ifrl.prm.synthetic import PolicyConfig, make_problems, synthetic_policy
from ifrl.prm.train import PRMTrainConfig, train_prm


@dataclass(frozen=True)
class ExperimentConfig:
    """Sizes and settings of the synthetic experiment."""

    train_questions: int = 80
    eval_questions: int = 40
    n: int = 8
    temperature: float = 1.0
    aggregation: str = "last"
    label: LabelKind = "hard"
    branch: BranchConfig = field(
        default_factory=lambda: BranchConfig(
            tau=1.0, max_depth=3, max_branches=8, max_new_tokens=64
        )
    )
    prm_loop: LoopConfig = field(
        default_factory=lambda: LoopConfig(epochs=4, batch_size=16, lr=1e-3, seed=0)
    )
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    seed: int = 0


@dataclass
class ExperimentResult:
    """The numbers the experiment reports."""

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

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("per_question")
        return out


def run_synthetic(
    config: ExperimentConfig | None = None,
    *,
    work_dir: str | Path | None = None,
    progress: bool = True,
) -> ExperimentResult:
    """Run the whole experiment; the PRM is saved under ``work_dir`` when given."""
    config = config or ExperimentConfig()
    policy = synthetic_policy(config.policy, progress=progress)
    decoder = HFStepDecoder.from_pretrained(policy, batch_size=64)
    tok = decoder.tokenizer
    checker = get_checker("gsm8k")

    train_q = [
        p.to_question()
        for p in make_problems(config.train_questions, seed=20_000 + config.seed, prefix="train")
    ]
    trees = build_trees(decoder, train_q, config.branch, progress=progress)
    samples = []
    steps_labeled = 0
    correct = total = 0
    for tree in trees:
        graded = grade_leaves(tree, tok, checker)
        correct += sum(graded.values())
        total += len(graded)
        samples += step_samples(tree, tok, graded, label=config.label)
        steps_labeled += sum(1 for n in tree.nodes if n.token_ids and not n.pruned)
    prm, stats = train_prm(
        samples,
        policy,
        PRMTrainConfig(loop=config.prm_loop, max_length=256),
        out_dir=Path(work_dir) / "prm" if work_dir is not None else None,
        progress=progress,
    )

    eval_problems = make_problems(config.eval_questions, seed=30_000 + config.seed, prefix="eval")
    prompts = [p.to_question() for p in eval_problems]
    params = SamplingParams(
        n=config.n,
        temperature=config.temperature,
        max_new_tokens=config.branch.max_new_tokens,
        seed=config.seed,
    )
    rows = decoder.generator.generate([q.prompt for q in prompts], params)
    scores: list[float] = []
    labels: list[bool] = []
    per_question = []
    bon = rand = oracle = 0.0
    for q, row in zip(prompts, rows):
        assert q.reference is not None
        texts = [c.text for c in row]
        ok = [checker(t, q.reference) for t in texts]
        step_lists = [split_solution(t) or [t] for t in texts]
        step_scores = prm.score_batch([(q.prompt, s) for s in step_lists], max_length=256)
        agg = [aggregate(s, config.aggregation) for s in step_scores]
        best = max(range(len(agg)), key=lambda i: (agg[i], -i))
        bon += ok[best]
        rand += sum(ok) / len(ok)
        oracle += any(ok)
        scores += agg
        labels += ok
        per_question.append(
            {
                "id": q.id,
                "correct": ok,
                "scores": agg,
                "chosen": best,
            }
        )
    nq = max(1, len(prompts))
    return ExperimentResult(
        edu_samples=len(samples),
        edu_steps_labeled=steps_labeled,
        edu_leaf_accuracy=correct / max(1, total),
        edu_cost=decoder.cost.to_dict(),
        prm_final_loss=stats.losses[-1],
        eval_solutions=len(labels),
        eval_accuracy=sum(labels) / max(1, len(labels)),
        auroc=auroc(scores, labels),
        bon_accuracy=bon / nq,
        random_accuracy=rand / nq,
        oracle_accuracy=oracle / nq,
        per_question=per_question,
    )


__all__ = ["ExperimentConfig", "ExperimentResult", "run_synthetic"]
