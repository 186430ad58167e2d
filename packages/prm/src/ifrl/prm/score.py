"""Using a PRM: step scores, solution-level aggregation, and Best-of-N reranking.

A solution's score aggregates its step scores: ``min`` (the weakest step, the usual choice),
``last``, ``product`` or ``mean``. :func:`best_of_n` picks the candidate with the highest
aggregate (the first one on ties).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

from ifrl.core.registry import Registry
from ifrl.core.stats import auroc
from ifrl.prm.model import ProcessRewardModel

Aggregation = Literal["min", "last", "product", "mean"]

AGGREGATIONS: Registry[Callable[[Sequence[float]], float]] = Registry("aggregation")
AGGREGATIONS.add("min", lambda s: min(s))
AGGREGATIONS.add("last", lambda s: s[-1])
AGGREGATIONS.add("product", lambda s: math.prod(s))
AGGREGATIONS.add("mean", lambda s: sum(s) / len(s))


def aggregate(scores: Sequence[float], how: str = "min") -> float:
    """One number for a solution from its step scores; an empty solution scores 0."""
    if not scores:
        return 0.0
    return float(AGGREGATIONS.get(how)(list(scores)))


def split_solution(text: str) -> list[str]:
    """Steps of a solution text: one per line, each keeping its newline; blank lines merge."""
    steps: list[str] = []
    for line in text.splitlines(keepends=True):
        if steps and not line.strip():
            steps[-1] += line
        else:
            steps.append(line)
    return steps


def score(prm: ProcessRewardModel, question: str, steps: Sequence[str]) -> list[float]:
    """The PRM's score (positive-class probability) for every step."""
    return prm.score_batch([(question, list(steps))])[0]


def best_of_n(
    prm: ProcessRewardModel,
    question: str,
    candidates: Sequence[Sequence[str]],
    how: str = "min",
    batch_size: int = 16,
) -> tuple[int, list[float]]:
    """The index of the best candidate (a list of steps each) and every candidate's score."""
    if not candidates:
        raise ValueError("best_of_n needs at least one candidate")
    totals: list[float] = []
    for start in range(0, len(candidates), batch_size):
        chunk = candidates[start : start + batch_size]
        for steps in prm.score_batch([(question, list(c)) for c in chunk]):
            totals.append(aggregate(steps, how))
    best = max(range(len(totals)), key=lambda i: (totals[i], -i))
    return best, totals


def prm_pruner(prm: ProcessRewardModel, how: str = "min") -> Callable[[str, Sequence[str]], float]:
    """A P-EDU pruner for :func:`ifrl.prm.branching.build_trees`: the path's aggregated score."""

    def prune_score(prompt: str, steps: Sequence[str]) -> float:
        return aggregate(prm.score_batch([(prompt, list(steps))])[0], how)

    return prune_score


__all__ = [
    "AGGREGATIONS",
    "Aggregation",
    "aggregate",
    "auroc",
    "best_of_n",
    "prm_pruner",
    "score",
    "split_solution",
]
