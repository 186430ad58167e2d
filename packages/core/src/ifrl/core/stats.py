"""Metrics with sample counts and 95% confidence intervals, and majority voting.

* :func:`proportion` — an accuracy ``k / n`` with its Wilson score interval (well behaved at
  0% and 100% and for small ``n``, unlike the normal approximation).
* :func:`bootstrap` — any statistic of per-item values with a seeded percentile bootstrap interval.
* :func:`cluster_bootstrap` / :func:`bootstrap_difference` — a statistic averaged over seeds'
  runs on the same items, and the difference of two arms, with a two-level (seeds, items)
  bootstrap interval.
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
    "bootstrap_difference",
    "cluster_bootstrap",
    "majority_vote",
    "mean_of_proportions",
    "proportion",
    "wilson_interval",
]

T = TypeVar("T", bound=Hashable)
R = TypeVar("R")
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


def _draws(
    n_seeds: int, n_prompts: int, resamples: int, seed: int
) -> list[tuple[list[int], list[int]]]:
    rng = random.Random(seed)
    return [
        (
            [rng.randrange(n_seeds) for _ in range(n_seeds)],
            [rng.randrange(n_prompts) for _ in range(n_prompts)],
        )
        for _ in range(resamples)
    ]


def _value(
    runs: Sequence[Sequence[R]],
    stat: Callable[[Sequence[R]], float],
    seeds: Sequence[int],
    prompts: Sequence[int] | None,
) -> float:
    vals = [stat(runs[s] if prompts is None else [runs[s][i] for i in prompts]) for s in seeds]
    return sum(vals) / len(vals)


def _interval(value: float, stats: list[float], n: int) -> Metric:
    stats.sort()
    lo = stats[int(0.025 * (len(stats) - 1))]
    hi = stats[math.ceil(0.975 * (len(stats) - 1))]
    return Metric(value, n, min(lo, value), max(hi, value))


# Seeds x items: each training seed's run answers the same items; the intervals resample both.


def cluster_bootstrap(
    runs: Sequence[Sequence[R]],
    stat: Callable[[Sequence[R]], float],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> Metric:
    """Mean of ``stat`` over the seeds' ``runs`` with a two-level bootstrap 95% interval;
    ``n`` is the number of answers (seeds × prompts)."""
    n_prompts = min(len(r) for r in runs)
    cut = [list(r)[:n_prompts] for r in runs]
    value = _value(cut, stat, range(len(cut)), None)
    stats = [_value(cut, stat, s, p) for s, p in _draws(len(cut), n_prompts, resamples, seed)]
    return _interval(value, stats, len(runs) * n_prompts)


def bootstrap_difference(
    a: Sequence[Sequence[R]],
    b: Sequence[Sequence[R]],
    stat: Callable[[Sequence[R]], float],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> Metric:
    """Mean of ``stat`` over ``a``'s seeds minus ``b``'s, with a bootstrap interval (each
    arm's seeds resampled, one prompt draw shared by both arms)."""
    n_prompts = min(min(len(r) for r in a), min(len(r) for r in b))
    value = _value(a, stat, range(len(a)), None) - _value(b, stat, range(len(b)), None)
    rng = random.Random(seed)
    stats = []
    for _ in range(resamples):
        prompts = [rng.randrange(n_prompts) for _ in range(n_prompts)]
        sa = [rng.randrange(len(a)) for _ in range(len(a))]
        sb = [rng.randrange(len(b)) for _ in range(len(b))]
        stats.append(_value(a, stat, sa, prompts) - _value(b, stat, sb, prompts))
    return _interval(value, stats, (len(a) + len(b)) * n_prompts)
