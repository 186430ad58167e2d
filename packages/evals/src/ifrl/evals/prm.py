"""The ``prm`` benchmark: process reward model evaluation from scored files.

Two kinds of lines, told apart by their fields (a file may hold both):

* **First-error identification** (ProcessBench): ``{"id", "label", "prediction"}`` or
  ``{"id", "label", "step_scores": [...]}``, where ``label`` is the index of the first wrong
  step (``-1``: all steps right). From step scores, the predicted first error is the first step
  scored below ``threshold`` (``-1`` if none). Metrics: accuracy on erroneous samples, accuracy
  on correct samples, and their harmonic mean, ProcessBench's **F1**.
* **Best-of-N** (GSM8K-style): ``{"id", "gold", "candidates": [{"response", "score"}...]}``
  (a candidate may give ``"answer"`` instead of a response to extract from, and ``"correct"``
  when the writer graded it with its own checker; otherwise its answer is compared with
  ``gold``). Metrics (:func:`best_of_n_metrics`): ``best_of_n_acc`` (the top-scored candidate is
  right, the first one on ties), ``random_acc`` (the exact expectation of a random pick),
  ``best_of_n_gain`` (their difference), ``oracle_acc`` (any candidate right), ``majority_acc``
  (the most frequent answer, first seen on ties, is right), ``auroc`` (how well the scores,
  pooled over questions, separate right from wrong candidates; left out when one class is
  absent) and ``ranking_acc`` (within-question ranking accuracy: over the questions holding both
  right and wrong candidates, the share of their (right, wrong) pairs scored right above wrong,
  ties half, averaged over those questions; left out when there is none), each with a seeded
  percentile-bootstrap 95% interval over *questions*, all on the same resamples so that the
  gain's interval is paired; and ``random_pick_acc`` (one seeded random pick per question,
  Wilson interval).

Scores come from ``ifrl prm score`` (ifrl.prm) or any other PRM, or any other score per candidate
(``score_field``, e.g. the policy's confidence); this package never imports a PRM.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ifrl.core.answers import answers_match, extract_answer
from ifrl.core.errors import IfrlError, JSONLError
from ifrl.core.jsonl import read_jsonl
from ifrl.core.stats import Metric, auroc, bootstrap, majority_vote, proportion
from ifrl.evals.benchmark import Example, Responses, register_benchmark
from ifrl.evals.results import EvalResult

__all__ = [
    "PRMBenchmark",
    "QuestionOutcome",
    "best_of_n_metrics",
    "first_error",
    "first_error_f1",
]


def first_error(step_scores: Sequence[float], threshold: float = 0.5) -> int:
    """The index of the first step scored below ``threshold``; ``-1`` when there is none."""
    for i, score in enumerate(step_scores):
        if score < threshold:
            return i
    return -1


def _f1_of(pairs: Sequence[tuple[int, int]]) -> float:
    """ProcessBench F1 of ``(label, prediction)`` pairs (0 when a side has no samples)."""
    err = [p == lab for lab, p in pairs if lab != -1]
    ok = [p == lab for lab, p in pairs if lab == -1]
    acc_err = sum(err) / len(err) if err else 0.0
    acc_ok = sum(ok) / len(ok) if ok else 0.0
    return 2 * acc_err * acc_ok / (acc_err + acc_ok) if acc_err + acc_ok else 0.0


def first_error_f1(labels: Sequence[int], predictions: Sequence[int]) -> dict[str, Metric]:
    """ProcessBench's metrics: ``error_acc``, ``correct_acc`` and their harmonic mean ``f1``."""
    pairs = list(zip(labels, predictions))
    err = [p == lab for lab, p in pairs if lab != -1]
    ok = [p == lab for lab, p in pairs if lab == -1]
    return {
        "f1": bootstrap(pairs, _f1_of),
        "error_acc": proportion(sum(err), len(err)),
        "correct_acc": proportion(sum(ok), len(ok)),
    }


@dataclass(frozen=True)
class QuestionOutcome:
    """One question's ``n`` candidates: right or not, score, final answer (for majority vote)."""

    correct: tuple[bool, ...]
    scores: tuple[float, ...]
    answers: tuple[str | None, ...]

    def __post_init__(self) -> None:
        if not self.correct:
            raise ValueError("a question needs at least one candidate")
        if not len(self.correct) == len(self.scores) == len(self.answers):
            raise ValueError(
                f"correct, scores and answers differ in length: {len(self.correct)}, "
                f"{len(self.scores)}, {len(self.answers)}"
            )

    @property
    def chosen(self) -> int:
        """Index of the highest score (the first one on ties)."""
        return max(range(len(self.scores)), key=lambda i: (self.scores[i], -i))

    @property
    def majority(self) -> str | None:
        """The most frequent non-empty answer (the first seen on ties)."""
        return majority_vote(self.answers)

    @property
    def mixed(self) -> bool:
        """Whether the question holds both right and wrong candidates."""
        return any(self.correct) and not all(self.correct)

    @property
    def ranking(self) -> float:
        """The share of (right, wrong) candidate pairs scored right above wrong (ties half);
        NaN unless :attr:`mixed`."""
        right = [s for s, ok in zip(self.scores, self.correct) if ok]
        wrong = [s for s, ok in zip(self.scores, self.correct) if not ok]
        if not right or not wrong:
            return float("nan")
        wins = sum(1.0 if r > w else 0.5 if r == w else 0.0 for r in right for w in wrong)
        return wins / (len(right) * len(wrong))

    @property
    def majority_correct(self) -> bool:
        """Whether the majority answer is right (as the first candidate giving it is)."""
        voted = self.majority
        return voted is not None and self.correct[self.answers.index(voted)]


def _best_of_n_point(outcomes: Sequence[QuestionOutcome]) -> dict[str, float]:
    nq = len(outcomes)
    bon = sum(o.correct[o.chosen] for o in outcomes) / nq
    rand = sum(sum(o.correct) / len(o.correct) for o in outcomes) / nq
    mixed = [o.ranking for o in outcomes if o.mixed]
    return {
        "ranking_acc": sum(mixed) / len(mixed) if mixed else float("nan"),
        "best_of_n_acc": bon,
        "random_acc": rand,
        "best_of_n_gain": bon - rand,
        "oracle_acc": sum(any(o.correct) for o in outcomes) / nq,
        "majority_acc": sum(o.majority_correct for o in outcomes) / nq,
        "auroc": auroc(
            [s for o in outcomes for s in o.scores], [c for o in outcomes for c in o.correct]
        ),
    }


def best_of_n_metrics(
    outcomes: Sequence[QuestionOutcome], *, resamples: int = 1000, seed: int = 0
) -> dict[str, Metric]:
    """The Best-of-N metrics of the module docstring, each with its question-bootstrap interval.

    ``n`` is the number of questions (candidates for ``auroc``, questions with right and wrong
    candidates for ``ranking_acc``). Every metric is computed on the same resamples (a resample
    where ``auroc`` or ``ranking_acc`` is undefined is skipped for it). Raises ``ValueError`` on
    no questions.
    """
    if not outcomes:
        raise ValueError("no questions to evaluate")
    point = _best_of_n_point(outcomes)
    rng = random.Random(seed)
    nq = len(outcomes)
    draws: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(max(0, resamples)):
        sample = [outcomes[rng.randrange(nq)] for _ in range(nq)]
        for k, v in _best_of_n_point(sample).items():
            if not math.isnan(v):
                draws[k].append(v)
    counts = {
        "auroc": sum(len(o.correct) for o in outcomes),
        "ranking_acc": sum(1 for o in outcomes if o.mixed),
    }
    out: dict[str, Metric] = {}
    for k, v in point.items():
        if math.isnan(v):
            continue
        d = sorted(draws[k]) or [v]
        low, high = d[int(0.025 * (len(d) - 1))], d[math.ceil(0.975 * (len(d) - 1))]
        out[k] = Metric(v, counts.get(k, nq), low, high)
    return out


@register_benchmark("prm")
class PRMBenchmark:
    """PRM metrics from a scored file (``read_responses`` loads it; no generation)."""

    name = "prm"

    def __init__(
        self,
        threshold: float = 0.5,
        *,
        seed: int = 0,
        limit: int | None = None,
        resamples: int = 1000,
        score_field: str = "score",
    ) -> None:
        self.threshold = threshold
        self.seed = seed
        self.limit = limit
        self.resamples = resamples
        self.score_field = score_field
        self._rows: list[dict[str, Any]] = []

    def examples(self) -> list[Example]:
        rows = self._rows[: self.limit] if self.limit is not None else self._rows
        return [Example(str(r["id"]), "", r) for r in rows]

    def read_responses(self, path: str | os.PathLike[str]) -> dict[str, list[Any]]:
        name = os.fspath(path)
        rows = []
        for lineno, row in enumerate(read_jsonl(path), start=1):
            if "id" not in row:
                row = {**row, "id": str(lineno - 1)}
            if "candidates" in row:
                _check_bon(row, name, lineno, self.score_field)
            elif "label" in row:
                if not isinstance(row["label"], int) or isinstance(row["label"], bool):
                    raise JSONLError(name, lineno, "label", "must be an integer (-1: no error)")
                if "prediction" not in row and not isinstance(row.get("step_scores"), list):
                    raise JSONLError(
                        name, lineno, "prediction", "give 'prediction' or 'step_scores'"
                    )
            else:
                raise JSONLError(
                    name, lineno, "", "expected 'label' (first error) or 'candidates' (Best-of-N)"
                )
            rows.append(row)
        if not rows:
            raise IfrlError(f"{name}: no lines")
        self._rows = rows
        return {str(r["id"]): [r] for r in rows}

    def score(
        self, examples: Sequence[Example], responses: Responses
    ) -> tuple[EvalResult, list[dict[str, Any]]]:
        rng = random.Random(self.seed)
        labels: list[int] = []
        predictions: list[int] = []
        outcomes: list[QuestionOutcome] = []
        rand_pick: list[bool] = []
        samples: list[dict[str, Any]] = []
        for example in examples:
            row = example.data
            if "candidates" in row:
                gold = str(row["gold"])
                cands = row["candidates"]
                answers = [
                    str(c["answer"])
                    if c.get("answer") is not None
                    else extract_answer(str(c.get("response", "")))
                    for c in cands
                ]
                outcome = QuestionOutcome(
                    correct=tuple(
                        bool(c["correct"]) if "correct" in c else answers_match(a, gold)
                        for c, a in zip(cands, answers)
                    ),
                    scores=tuple(float(c[self.score_field]) for c in cands),
                    answers=tuple(answers),
                )
                outcomes.append(outcome)
                rand_pick.append(outcome.correct[rng.randrange(len(cands))])
                best = outcome.chosen
                samples.append(
                    {
                        "id": example.id,
                        "kind": "best_of_n",
                        "gold": gold,
                        "answers": answers,
                        "correct": list(outcome.correct),
                        "best": best,
                        "majority": outcome.majority,
                        "valid": outcome.correct[best],
                        "reason": f"PRM picks candidate {best} (answer {answers[best]}), gold {gold}",
                    }
                )
            else:
                label = int(row["label"])
                if "prediction" in row:
                    pred = int(row["prediction"])
                else:
                    pred = first_error([float(s) for s in row["step_scores"]], self.threshold)
                labels.append(label)
                predictions.append(pred)
                samples.append(
                    {
                        "id": example.id,
                        "kind": "first_error",
                        "label": label,
                        "prediction": pred,
                        "valid": pred == label,
                        "reason": f"first error predicted at step {pred}, labelled at {label}"
                        " (-1: none)",
                    }
                )
        metrics: dict[str, Metric] = {}
        if labels:
            metrics.update(first_error_f1(labels, predictions))
        if outcomes:
            metrics.update(best_of_n_metrics(outcomes, resamples=self.resamples, seed=self.seed))
            metrics["random_pick_acc"] = proportion(sum(rand_pick), len(rand_pick))
        if not metrics:
            raise IfrlError("no scored lines to evaluate")
        result = EvalResult(
            benchmark="prm",
            metrics=metrics,
            config={
                "threshold": self.threshold,
                "seed": self.seed,
                "resamples": self.resamples,
                "score_field": self.score_field,
            },
            info={"first_error_samples": len(labels), "best_of_n_problems": len(outcomes)},
            primary="f1" if labels else "best_of_n_acc",
        )
        return result, samples


def _check_bon(row: dict[str, Any], name: str, lineno: int, score_field: str) -> None:
    if "gold" not in row:
        raise JSONLError(name, lineno, "gold", "missing (the reference answer)")
    cands = row["candidates"]
    if not isinstance(cands, list) or not cands:
        raise JSONLError(name, lineno, "candidates", "must be a non-empty list")
    for i, c in enumerate(cands):
        where = f"candidates[{i}]"
        if not isinstance(c, dict) or not isinstance(c.get(score_field), (int, float)):
            raise JSONLError(name, lineno, f"{where}.{score_field}", "missing or not a number")
        if not isinstance(c.get("response"), str) and c.get("answer") is None:
            raise JSONLError(name, lineno, where, "give 'response' or 'answer'")
        if not isinstance(c.get("correct", False), bool):
            raise JSONLError(name, lineno, f"{where}.correct", "must be true or false")
