"""Reranking metrics: AUROC, Best-of-N, random, oracle, majority vote, bootstrap intervals."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifrl.prm.metrics import QuestionOutcome, auroc, rerank_metrics


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


def test_auroc_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="3 scores for 2 labels"):
        auroc([0.1, 0.2, 0.3], [True, False])


def _q(correct: list[bool], scores: list[float], answers: list[str | None]) -> QuestionOutcome:
    return QuestionOutcome(tuple(correct), tuple(scores), tuple(answers), "7")


def test_per_question_choices() -> None:
    q = _q([False, True, True], [0.2, 0.9, 0.9], ["6", "7", "7"])
    assert q.chosen == 1  # the first of the tied best
    assert q.majority_correct
    assert not _q([False, False, True], [0, 0, 1], ["6", "6", "7"]).majority_correct
    assert _q([True, False], [0, 1], ["7", "6"]).majority_correct  # tie: first seen wins
    assert not _q([False, False], [0, 1], [None, None]).majority_correct
    with pytest.raises(ValueError, match="differ in length"):
        _q([True], [0.1, 0.2], ["7"])


def test_rerank_metrics_values_and_intervals() -> None:
    outcomes = [
        _q([True, False, False, False], [0.9, 0.1, 0.2, 0.3], ["7", "1", "2", "3"]),
        _q([False, True, True, False], [0.1, 0.8, 0.7, 0.9], ["1", "7", "7", "3"]),
        _q([False, False, False, False], [0.5, 0.5, 0.5, 0.5], ["1", "1", "2", "3"]),
        _q([True, True, True, False], [0.6, 0.7, 0.8, 0.2], ["7", "7", "7", "5"]),
    ]
    m = rerank_metrics(outcomes, resamples=300, seed=1)
    assert m["bon_accuracy"]["value"] == pytest.approx(2 / 4)  # q1 and q4 pick right
    assert m["random_accuracy"]["value"] == pytest.approx((0.25 + 0.5 + 0 + 0.75) / 4)
    assert m["bon_gain"]["value"] == pytest.approx(0.5 - 1.5 / 4)
    assert m["oracle_accuracy"]["value"] == pytest.approx(3 / 4)
    # q1: all answers tie, the first ("7") wins; q2 and q4: "7" is the most frequent
    assert m["majority_accuracy"]["value"] == pytest.approx(3 / 4)
    scores = [s for o in outcomes for s in o.scores]
    labels = [c for o in outcomes for c in o.correct]
    assert m["auroc"]["value"] == pytest.approx(_pairwise_auroc(scores, labels))
    assert m["auroc"]["n"] == 16 and m["bon_accuracy"]["n"] == 4
    for metric in m.values():
        low, high = metric["ci95"]
        assert low <= metric["value"] <= high
    assert m["oracle_accuracy"]["ci95"][0] < m["oracle_accuracy"]["ci95"][1]
    assert rerank_metrics(outcomes, resamples=300, seed=1) == m  # seeded
    with pytest.raises(ValueError, match="no questions"):
        rerank_metrics([])


def test_outcome_rejects_confidences_that_do_not_match_the_solutions() -> None:
    with pytest.raises(ValueError, match="1 confidences for 2 solutions"):
        QuestionOutcome((True, False), (0.5, 0.1), ("1", "2"), "1", confidence=(-0.1,))


def test_policy_confidence_is_the_lowest_token_logprob() -> None:
    from ifrl.prm.experiment import policy_confidence

    assert policy_confidence([-0.1, -2.5, -0.3]) == -2.5
    assert policy_confidence([]) == float("-inf")  # unknown logprobs rank last
