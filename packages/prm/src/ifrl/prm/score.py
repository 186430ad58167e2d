"""Using a PRM: step scores, solution-level aggregation, Best-of-N picks and P-EDU pruning.

A solution text is cut into steps at newlines (:func:`split_solution`, the cut the PRM is trained
at with ``step_samples(split="newline")``). Its score aggregates its step scores: ``min`` (the
weakest step, the usual choice), ``last``, ``product`` or ``mean``. :func:`best_of_n` picks the
candidate with the highest aggregate (the first one on ties). :func:`policy_confidence` is a
solution score that needs no PRM: the policy's lowest token log-probability.

Metrics over scored solutions (Best-of-N accuracy, AUROC, ...) are :mod:`ifrl.evals.prm`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

from ifrl.core.registry import Registry
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


def score_steps(prm: ProcessRewardModel, question: str, steps: Sequence[str]) -> list[float]:
    """The PRM's score (positive-class probability) for every step."""
    return prm.score_batch([(question, list(steps))])[0]


def score_items(
    prm: ProcessRewardModel,
    items: Sequence[tuple[str, Sequence[str]]],
    *,
    batch_size: int = 32,
    max_length: int | None = None,
    progress: bool = False,
) -> list[list[float]]:
    """Step scores of many ``(prompt, steps)`` items, ``batch_size`` per forward pass, batched
    by length (less padding); returned in the items' order."""
    from tqdm.auto import tqdm

    order = sorted(range(len(items)), key=lambda i: sum(len(s) for s in items[i][1]))
    out: list[list[float]] = [[] for _ in items]
    starts = range(0, len(order), max(1, batch_size))
    for start in tqdm(starts, desc="scoring", unit="batch", disable=not progress):
        chunk = order[start : start + batch_size]
        scored = prm.score_batch([(items[i][0], list(items[i][1])) for i in chunk], max_length)
        for i, scores in zip(chunk, scored):
            out[i] = scores
    return out


def score_candidates(
    prm: ProcessRewardModel,
    question: str,
    candidates: Sequence[Sequence[str]],
    *,
    batch_size: int = 16,
    max_length: int | None = None,
) -> list[list[float]]:
    """Step scores of every candidate (a list of steps each; a solution text becomes one with
    ``split_solution(text) or [text]``), ``batch_size`` candidates per forward pass."""
    out: list[list[float]] = []
    for start in range(0, len(candidates), batch_size):
        chunk = candidates[start : start + batch_size]
        out += prm.score_batch([(question, list(c)) for c in chunk], max_length=max_length)
    return out


def best_of_n(
    prm: ProcessRewardModel,
    question: str,
    candidates: Sequence[Sequence[str]],
    how: str = "min",
    batch_size: int = 16,
) -> tuple[int, list[float]]:
    """The index of the best candidate (a list of steps each; the first one on ties) and every
    candidate's aggregated score."""
    if not candidates:
        raise ValueError("best_of_n needs at least one candidate")
    totals = [
        aggregate(s, how)
        for s in score_candidates(prm, question, candidates, batch_size=batch_size)
    ]
    return max(range(len(totals)), key=lambda i: (totals[i], -i)), totals


def policy_confidence(logprobs: Sequence[float]) -> float:
    """The lowest token log-probability of a sampled solution (``-inf`` when none is known).

    A reranking reference without any PRM: a solution holding one token the policy found
    unlikely (a slipped digit) scores low.
    """
    return min(logprobs) if logprobs else float("-inf")


def prm_pruner(prm: ProcessRewardModel, how: str = "min") -> Callable[[str, Sequence[str]], float]:
    """A P-EDU pruner for :func:`ifrl.prm.branching.build_trees`: the path's aggregated score."""

    def prune_score(prompt: str, steps: Sequence[str]) -> float:
        return aggregate(score_steps(prm, prompt, steps), how)

    return prune_score


__all__ = [
    "AGGREGATIONS",
    "Aggregation",
    "aggregate",
    "best_of_n",
    "policy_confidence",
    "prm_pruner",
    "score_candidates",
    "score_items",
    "score_steps",
    "split_solution",
]
