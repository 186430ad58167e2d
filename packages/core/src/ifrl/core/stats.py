"""Metrics with sample counts and 95% confidence intervals, and majority voting.

* :func:`proportion` — an accuracy ``k / n`` with its Wilson score interval (well behaved at
  0% and 100% and for small ``n``, unlike the normal approximation).
* :func:`bootstrap` — any statistic of per-item values with a seeded percentile bootstrap interval.
* :func:`majority_vote` — the most frequent answer (ties go to the answer seen first).
* :func:`auroc` — how well scores separate positives from negatives (Mann-Whitney, ties half).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "Metric",
    "auroc",
    "bootstrap",
    "majority_vote",
    "mean_of_proportions",
    "proportion",
    "wilson_interval",
]

T = TypeVar("T", bound=Hashable)
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric value over ``n`` samples with a 95% interval ``[ci_low, ci_high]``."""

    value: float
    n: int
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "n": self.n, "ci95": [self.ci_low, self.ci_high]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Metric:
        low, high = data.get("ci95", [data["value"], data["value"]])
        return cls(float(data["value"]), int(data["n"]), float(low), float(high))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (``(0, 0)`` when ``n == 0``)."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(successes: int, n: int) -> Metric:
    """``successes / n`` (0 when ``n == 0``) with its Wilson 95% interval."""
    low, high = wilson_interval(successes, n)
    return Metric(successes / n if n else 0.0, n, low, high)


def mean_of_proportions(metrics: Sequence[Metric]) -> Metric:
    """The unweighted mean of independent accuracies, with a normal-approximation 95% interval.

    ``n`` is the total sample count; the interval uses ``sqrt(sum p(1-p)/n_i) / k``.
    """
    if not metrics:
        return Metric(0.0, 0, 0.0, 0.0)
    k = len(metrics)
    value = sum(m.value for m in metrics) / k
    var = sum(m.value * (1 - m.value) / m.n for m in metrics if m.n) / (k * k)
    half = Z95 * math.sqrt(var)
    return Metric(value, sum(m.n for m in metrics), max(0.0, value - half), min(1.0, value + half))


def bootstrap(
    values: Sequence[Any],
    statistic: Callable[[Sequence[Any]], float],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> Metric:
    """``statistic(values)`` with a seeded percentile-bootstrap 95% interval over items."""
    n = len(values)
    value = statistic(values) if n else 0.0
    if n == 0:
        return Metric(0.0, 0, 0.0, 0.0)
    rng = random.Random(seed)
    stats = sorted(
        statistic([values[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples)
    )
    low = stats[int(0.025 * (resamples - 1))]
    high = stats[math.ceil(0.975 * (resamples - 1))]
    return Metric(value, n, min(low, value), max(high, value))


def auroc(scores: Sequence[float], positives: Sequence[bool]) -> float:
    """Area under the ROC curve (ties count one half); NaN when one class is absent.

    The Mann-Whitney statistic from average ranks, ``O(n log n)``.
    """
    if len(scores) != len(positives):
        raise ValueError(f"{len(scores)} scores for {len(positives)} labels")
    n_pos = sum(1 for y in positives if y)
    n_neg = len(positives) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mid = (i + j) / 2 + 1  # average 1-based rank of the tied block
        rank_sum += mid * sum(1 for k in order[i : j + 1] if positives[k])
        i = j + 1
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def majority_vote(answers: Sequence[T | None]) -> T | None:
    """The most common non-``None`` answer; ties go to the one that appears first."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    best = max(counts.values())
    for answer in answers:
        if answer is not None and counts[answer] == best:
            return answer
    return None  # pragma: no cover - unreachable
