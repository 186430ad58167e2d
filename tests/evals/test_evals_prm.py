"""PRM evaluations through ifrl.evals: first-error F1 and Best-of-N (AUROC, Best-of-N, random,
oracle, majority vote, with paired question-bootstrap intervals)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from ifrl.core.stats import auroc, bootstrap
from ifrl.evals.cli import cli
from ifrl.evals.prm import (
    PRMBenchmark,
    QuestionOutcome,
    best_of_n_metrics,
    first_error,
    first_error_f1,
)


def test_prm_first_error_f1_and_best_of_n(tmp_path: Path) -> None:
    assert first_error([0.9, 0.4, 0.1]) == 1
    assert first_error([0.9, 0.8]) == -1
    metrics = first_error_f1([-1, 1, 0], [-1, 1, 1])
    assert metrics["error_acc"].value == 0.5
    assert metrics["correct_acc"].value == 1.0
    assert metrics["f1"].value == pytest.approx(2 * 0.5 / 1.5)

    lines = [
        {"id": "a", "label": -1, "step_scores": [0.9, 0.8]},
        {"id": "b", "label": 1, "step_scores": [0.9, 0.2, 0.1]},
        {"id": "c", "label": 0, "prediction": 1},
        # The PRM picks the lone right answer that majority vote misses.
        {
            "id": "d",
            "gold": "18",
            "candidates": [
                {"response": "#### 18", "score": 0.9},
                {"response": "#### 17", "score": 0.1},
                {"answer": "17", "score": 0.2},
                {"response": "The answer is 17", "score": 0.3},
            ],
        },
    ]
    path = tmp_path / "scored.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    bench = PRMBenchmark(threshold=0.5)
    responses = bench.read_responses(path)
    result, samples = bench.score(bench.examples(), responses)
    assert result.metrics["f1"].value == pytest.approx(2 / 3)
    assert result.metrics["best_of_n_acc"].value == 1.0
    assert result.metrics["majority_acc"].value == 0.0
    assert result.metrics["random_acc"].value == 0.25
    assert result.metrics["oracle_acc"].value == 1.0
    assert result.metrics["best_of_n_gain"].value == 0.75
    assert result.metrics["auroc"].value == 1.0 and result.metrics["auroc"].n == 4
    assert [s["valid"] for s in samples] == [True, True, False, True]

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "gold": "1", "candidates": [{"response": "1"}]}) + "\n")
    result_cli = CliRunner().invoke(
        cli, ["prm", "--responses", str(bad), "--out", str(tmp_path / "o")]
    )
    assert result_cli.exit_code != 0
    assert "bad.jsonl:1: candidates[0].score" in result_cli.output


def _pairwise_auroc(scores: list[float], labels: list[bool]) -> float:
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]), st.booleans()),
        min_size=2,
        max_size=40,
    )
)
def test_rank_auroc_equals_the_pairwise_definition(rows: list[tuple[float, bool]]) -> None:
    scores, labels = [s for s, _ in rows], [y for _, y in rows]
    if all(labels) or not any(labels):
        assert math.isnan(auroc(scores, labels))
    else:
        assert auroc(scores, labels) == pytest.approx(_pairwise_auroc(scores, labels))


def test_auroc_edge_cases() -> None:
    assert auroc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert auroc([0.1, 0.8, 0.9], [True, True, False]) == 0.0
    assert auroc([0.5, 0.5], [True, False]) == 0.5
    assert math.isnan(auroc([0.5], [True]))
    with pytest.raises(ValueError, match="3 scores for 2 labels"):
        auroc([0.1, 0.2, 0.3], [True, False])


def _q(correct: list[bool], scores: list[float], answers: list[str | None]) -> QuestionOutcome:
    return QuestionOutcome(tuple(correct), tuple(scores), tuple(answers))


def test_per_question_choices() -> None:
    q = _q([False, True, True], [0.2, 0.9, 0.9], ["6", "7", "7"])
    assert q.chosen == 1  # the first of the tied best
    assert q.majority_correct
    assert not _q([False, False, True], [0, 0, 1], ["6", "6", "7"]).majority_correct
    assert _q([True, False], [0, 1], ["7", "6"]).majority_correct  # tie: first seen wins
    assert not _q([False, False], [0, 1], [None, None]).majority_correct
    with pytest.raises(ValueError, match="differ in length"):
        _q([True], [0.1, 0.2], ["7"])


def test_best_of_n_metrics_values_and_paired_intervals() -> None:
    outcomes = [
        _q([True, False, False, False], [0.9, 0.1, 0.2, 0.3], ["7", "1", "2", "3"]),
        _q([False, True, True, False], [0.1, 0.8, 0.7, 0.9], ["1", "7", "7", "3"]),
        _q([False, False, False, False], [0.5, 0.5, 0.5, 0.5], ["1", "1", "2", "3"]),
        _q([True, True, True, False], [0.6, 0.7, 0.8, 0.2], ["7", "7", "7", "5"]),
    ]
    m = best_of_n_metrics(outcomes, resamples=300, seed=1)
    assert m["best_of_n_acc"].value == pytest.approx(2 / 4)  # q1 and q4 pick right
    assert m["random_acc"].value == pytest.approx((0.25 + 0.5 + 0 + 0.75) / 4)
    assert m["best_of_n_gain"].value == pytest.approx(0.5 - 1.5 / 4)
    assert m["oracle_acc"].value == pytest.approx(3 / 4)
    # q1: all answers tie, the first ("7") wins; q2 and q4: "7" is the most frequent
    assert m["majority_acc"].value == pytest.approx(3 / 4)
    scores = [s for o in outcomes for s in o.scores]
    labels = [c for o in outcomes for c in o.correct]
    assert m["auroc"].value == pytest.approx(_pairwise_auroc(scores, labels))
    assert m["auroc"].n == 16 and m["best_of_n_acc"].n == 4
    for metric in m.values():
        assert metric.ci_low <= metric.value <= metric.ci_high
    assert m["oracle_acc"].ci_low < m["oracle_acc"].ci_high
    assert best_of_n_metrics(outcomes, resamples=300, seed=1) == m  # seeded
    # Paired: the gain's interval is the bootstrap of the per-question gains on the same
    # resamples (core.stats.bootstrap draws the same questions for the same seed).
    gains = [o.correct[o.chosen] - sum(o.correct) / len(o.correct) for o in outcomes]
    paired = bootstrap(gains, lambda v: sum(v) / len(v), resamples=300, seed=1)
    gain = m["best_of_n_gain"]
    assert (gain.ci_low, gain.ci_high) == pytest.approx((paired.ci_low, paired.ci_high))
    with pytest.raises(ValueError, match="no questions"):
        best_of_n_metrics([])
    # One class only: the AUROC and the ranking accuracy are undefined and left out.
    only_right = best_of_n_metrics([_q([True, True], [0.1, 0.2], ["7", "7"])])
    assert "auroc" not in only_right and "ranking_acc" not in only_right


def test_within_question_ranking_accuracy() -> None:
    """Per mixed question, the share of (right, wrong) pairs scored right above wrong (ties
    half), averaged over mixed questions: a score that only tells questions apart gets no credit
    for it, unlike the pooled AUROC."""
    q1 = _q([True, False, False], [0.9, 0.1, 0.9], ["7", "1", "2"])  # pairs: win, tie
    q2 = _q([False, True], [0.8, 0.2], ["1", "7"])  # loss
    q3 = _q([False, False], [0.5, 0.4], ["1", "2"])  # no right candidate: not counted
    assert q1.ranking == pytest.approx(0.75) and q2.ranking == 0.0 and math.isnan(q3.ranking)
    m = best_of_n_metrics([q1, q2, q3], resamples=200, seed=0)
    assert m["ranking_acc"].value == pytest.approx((0.75 + 0.0) / 2)
    assert m["ranking_acc"].n == 2
    assert m["ranking_acc"].ci_low <= m["ranking_acc"].value <= m["ranking_acc"].ci_high
    # Mostly right answers on an easy question scored high, mostly wrong ones on a hard one
    # scored low: the pooled AUROC is above chance, yet within each question the ranking is
    # backwards.
    easy = _q([True, True, True, False], [0.9, 0.9, 0.9, 0.95], ["7", "7", "7", "1"])
    hard = _q([True, False, False, False], [0.1, 0.15, 0.15, 0.15], ["7", "1", "2", "3"])
    m = best_of_n_metrics([easy, hard], resamples=50)
    assert m["ranking_acc"].value == 0.0 and m["auroc"].value == pytest.approx(9 / 16)


def test_candidates_graded_by_the_writer_and_ranked_by_any_score_field(tmp_path: Path) -> None:
    """A candidate's ``correct`` (from the writer's own checker) wins over comparing its answer
    with ``gold``; ``score_field`` ranks by another number, e.g. the policy's confidence."""
    line = {
        "id": "q",
        "gold": "x+1",
        "candidates": [
            {"response": "x + 1", "score": 0.2, "confidence": -0.1, "correct": True},
            {"response": "x - 1", "score": 0.9, "confidence": -3.0, "correct": False},
        ],
    }
    path = tmp_path / "scored.jsonl"
    path.write_text(json.dumps(line) + "\n")
    by_score = PRMBenchmark(resamples=10)
    responses = by_score.read_responses(path)
    result, _ = by_score.score(by_score.examples(), responses)
    assert result.metrics["best_of_n_acc"].value == 0.0 and result.metrics["oracle_acc"].value == 1
    by_confidence = PRMBenchmark(resamples=10, score_field="confidence")
    responses = by_confidence.read_responses(path)
    result, _ = by_confidence.score(by_confidence.examples(), responses)
    assert result.metrics["best_of_n_acc"].value == 1.0 and result.config["score_field"] == (
        "confidence"
    )
    del line["candidates"][0]["confidence"]  # type: ignore[attr-defined]
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(Exception, match=r"scored.jsonl:1: candidates\[0\]\.confidence"):
        by_confidence.read_responses(path)
