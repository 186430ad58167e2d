"""The ``prm`` benchmark: process reward model evaluation from scored files.

Two kinds of lines, told apart by their fields (a file may hold both):

* **First-error identification** (ProcessBench): ``{"id", "label", "prediction"}`` or
  ``{"id", "label", "step_scores": [...]}``, where ``label`` is the index of the first wrong
  step (``-1``: all steps right). From step scores, the predicted first error is the first step
  scored below ``threshold`` (``-1`` if none). Metrics: accuracy on erroneous samples, accuracy
  on correct samples, and their harmonic mean, ProcessBench's **F1**.
* **Best-of-N** (GSM8K-style): ``{"id", "gold", "candidates": [{"response", "score"}...]}``
  (a candidate may give ``"answer"`` instead of a response to extract from). Metrics: accuracy
  of the PRM's top-scored candidate, of the majority answer, of a random candidate (the exact
  expectation), and the oracle (any candidate right).

Scores come from ``ifrl prm score`` (ifrl.prm) or any other PRM; this package never imports one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ifrl.core.answers import answers_match, extract_answer
from ifrl.core.errors import IfrlError, JSONLError
from ifrl.core.jsonl import read_jsonl
from ifrl.core.stats import Metric, bootstrap, majority_vote, proportion
from ifrl.evals.benchmark import Example, Responses, register_benchmark
from ifrl.evals.results import EvalResult

__all__ = ["PRMBenchmark", "first_error", "first_error_f1"]


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


@register_benchmark("prm")
class PRMBenchmark:
    """PRM metrics from a scored file (``read_responses`` loads it; no generation)."""

    name = "prm"

    def __init__(self, threshold: float = 0.5, *, seed: int = 0, limit: int | None = None) -> None:
        self.threshold = threshold
        self.seed = seed
        self.limit = limit
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
                _check_bon(row, name, lineno)
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
        import random

        rng = random.Random(self.seed)
        labels: list[int] = []
        predictions: list[int] = []
        bon: list[bool] = []
        maj: list[bool] = []
        rand_expected: list[float] = []
        rand_pick: list[bool] = []
        oracle: list[bool] = []
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
                correct = [answers_match(a, gold) for a in answers]
                best = max(range(len(cands)), key=lambda i: (float(cands[i]["score"]), -i))
                voted = majority_vote(answers)
                bon.append(correct[best])
                maj.append(answers_match(voted, gold))
                rand_expected.append(sum(correct) / len(correct))
                rand_pick.append(correct[rng.randrange(len(correct))])
                oracle.append(any(correct))
                samples.append(
                    {
                        "id": example.id,
                        "kind": "best_of_n",
                        "gold": gold,
                        "answers": answers,
                        "correct": correct,
                        "best": best,
                        "majority": voted,
                        "valid": correct[best],
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
        if bon:
            n = len(bon)
            metrics["best_of_n_acc"] = proportion(sum(bon), n)
            metrics["majority_acc"] = proportion(sum(maj), n)
            metrics["random_acc"] = bootstrap(
                rand_expected, lambda v: sum(v) / len(v), seed=self.seed
            )
            metrics["random_pick_acc"] = proportion(sum(rand_pick), n)
            metrics["oracle_acc"] = proportion(sum(oracle), n)
        if not metrics:
            raise IfrlError("no scored lines to evaluate")
        result = EvalResult(
            benchmark="prm",
            metrics=metrics,
            config={"threshold": self.threshold, "seed": self.seed},
            info={"first_error_samples": len(labels), "best_of_n_problems": len(bon)},
            primary="f1" if labels else "best_of_n_acc",
        )
        return result, samples


def _check_bon(row: dict[str, Any], name: str, lineno: int) -> None:
    if "gold" not in row:
        raise JSONLError(name, lineno, "gold", "missing (the reference answer)")
    cands = row["candidates"]
    if not isinstance(cands, list) or not cands:
        raise JSONLError(name, lineno, "candidates", "must be a non-empty list")
    for i, c in enumerate(cands):
        if not isinstance(c, dict) or not isinstance(c.get("score"), (int, float)):
            raise JSONLError(name, lineno, f"candidates[{i}].score", "missing or not a number")
        if not isinstance(c.get("response"), str) and c.get("answer") is None:
            raise JSONLError(name, lineno, f"candidates[{i}]", "give 'response' or 'answer'")
