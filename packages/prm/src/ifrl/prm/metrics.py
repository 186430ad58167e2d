"""Reranking metrics over questions with ``n`` scored solutions each, with bootstrap intervals.

For every question the caller gives each solution's correctness, its PRM score and its final
answer (for majority voting). :func:`rerank_metrics` reports

* ``auroc``: how well the score separates correct from incorrect solutions, pooled over questions;
* ``bon_accuracy``: Best-of-N, the highest-scoring solution is correct (first one on ties);
* ``random_accuracy``: the expected accuracy of picking one of the ``n`` at random;
* ``bon_gain``: ``bon_accuracy - random_accuracy``;
* ``oracle_accuracy``: any of the ``n`` is correct (the ceiling of any reranker);
* ``majority_accuracy``: the most frequent final answer is correct (no PRM).

Each comes with a seeded percentile-bootstrap 95% interval that resamples *questions* (all
metrics on the same resample, so the gain's interval is paired).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ifrl.core.stats import auroc


@dataclass(frozen=True)
class QuestionOutcome:
    """One question's ``n`` solutions: correct or not, PRM score, final answer (and, optionally,
    the step scores the PRM score aggregates and the policy's confidence in each solution)."""

    correct: tuple[bool, ...]
    scores: tuple[float, ...]
    answers: tuple[str | None, ...]
    reference: str | None
    step_scores: tuple[tuple[float, ...], ...] = ()
    confidence: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.correct:
            raise ValueError("a question needs at least one solution")
        if not len(self.correct) == len(self.scores) == len(self.answers):
            raise ValueError(
                f"correct, scores and answers differ in length: {len(self.correct)}, "
                f"{len(self.scores)}, {len(self.answers)}"
            )
        if self.confidence and len(self.confidence) != len(self.correct):
            raise ValueError(
                f"{len(self.confidence)} confidences for {len(self.correct)} solutions"
            )

    @property
    def chosen(self) -> int:
        """Index of the highest score (the first one on ties)."""
        return max(range(len(self.scores)), key=lambda i: (self.scores[i], -i))

    @property
    def majority_correct(self) -> bool:
        """Whether the most frequent non-empty answer (first seen on ties) is correct."""
        counts = Counter(a for a in self.answers if a is not None)
        if not counts:
            return False
        top = max(counts.values())
        answer = next(a for a in self.answers if a is not None and counts[a] == top)
        return next(ok for a, ok in zip(self.answers, self.correct) if a == answer)


def _point(outcomes: Sequence[QuestionOutcome]) -> dict[str, float]:
    nq = len(outcomes)
    bon = sum(o.correct[o.chosen] for o in outcomes) / nq
    rand = sum(sum(o.correct) / len(o.correct) for o in outcomes) / nq
    scores = [s for o in outcomes for s in o.scores]
    labels = [c for o in outcomes for c in o.correct]
    return {
        "auroc": auroc(scores, labels),
        "bon_accuracy": bon,
        "random_accuracy": rand,
        "bon_gain": bon - rand,
        "oracle_accuracy": sum(any(o.correct) for o in outcomes) / nq,
        "majority_accuracy": sum(o.majority_correct for o in outcomes) / nq,
    }


def rerank_metrics(
    outcomes: Sequence[QuestionOutcome], *, resamples: int = 1000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Every metric of the module docstring as ``{"value", "ci95": [low, high], "n"}``.

    ``n`` is the number of questions (solutions for ``auroc``). Raises ``ValueError`` on no
    questions.
    """
    if not outcomes:
        raise ValueError("no questions to evaluate")
    point = _point(outcomes)
    rng = random.Random(seed)
    nq = len(outcomes)
    draws: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(max(0, resamples)):
        sample = [outcomes[rng.randrange(nq)] for _ in range(nq)]
        for k, v in _point(sample).items():
            if not math.isnan(v):
                draws[k].append(v)
    solutions = sum(len(o.correct) for o in outcomes)
    out: dict[str, dict[str, Any]] = {}
    for k, v in point.items():
        d = sorted(draws[k])
        ci = (
            [d[int(0.025 * (len(d) - 1))], d[math.ceil(0.975 * (len(d) - 1))]]
            if d
            else [float("nan"), float("nan")]
        )
        out[k] = {"value": v, "ci95": ci, "n": solutions if k == "auroc" else nq}
    return out


__all__ = ["QuestionOutcome", "auroc", "rerank_metrics"]
