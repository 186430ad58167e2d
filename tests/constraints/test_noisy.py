"""NoisyJudge: set recalls, seeded and order independent; simulated audit items."""

from __future__ import annotations

import pytest

from ifrl.constraints.judge import JudgedConstraint, JudgeQuery
from ifrl.constraints.noisy import NoisyJudge, hard_oracle, simulate_audit_items
from ifrl.constraints.scoring import check_hard_all
from ifrl.core.records import ConstraintSpec

NO_COMMA = ConstraintSpec("punctuation:no_comma")


def queries(n: int) -> list[JudgeQuery]:
    # even i comply with "no comma", odd i do not
    return [
        JudgeQuery(
            "p",
            f"response {i}" + ("," if i % 2 else ""),
            (JudgedConstraint(NO_COMMA, "no commas"),),
        )
        for i in range(n)
    ]


def test_perfect_judge_reports_the_truth() -> None:
    out = NoisyJudge().judge(queries(10))
    assert [row[0].status for row in out] == ["yes", "no"] * 5


def test_recalls_hold_on_large_samples() -> None:
    judge = NoisyJudge(recall_compliant=0.8, recall_noncompliant=0.3, seed=3)
    out = judge.judge(queries(4000))
    said = [row[0].passed for row in out]
    compliant = said[0::2]
    noncompliant = said[1::2]
    assert sum(bool(s) for s in compliant) / len(compliant) == pytest.approx(0.8, abs=0.03)
    assert sum(not s for s in noncompliant) / len(noncompliant) == pytest.approx(0.3, abs=0.03)


def test_seeded_and_independent_of_order_and_batching() -> None:
    qs = queries(50)
    judge = NoisyJudge(recall_compliant=0.5, recall_noncompliant=0.5, seed=1)
    whole = [row[0].status for row in judge.judge(qs)]
    piecewise = [judge.judge([q])[0][0].status for q in reversed(qs)][::-1]
    assert whole == piecewise
    assert whole == [
        row[0].status
        for row in NoisyJudge(recall_compliant=0.5, recall_noncompliant=0.5, seed=1).judge(qs)
    ]
    other = [
        row[0].status
        for row in NoisyJudge(recall_compliant=0.5, recall_noncompliant=0.5, seed=2).judge(qs)
    ]
    assert other != whole


def test_scores_follow_the_verdict() -> None:
    out = NoisyJudge(recall_noncompliant=0.5, scores=True).judge(queries(40))
    for row in out:
        v = row[0]
        assert v.p_yes is not None and (v.p_yes >= 0.5) == (v.status == "yes")


def test_precision_parameterisation() -> None:
    judge = NoisyJudge.from_precision(0.9, base_rate=0.5, recall_compliant=0.9)
    assert judge.precision_at(0.5) == pytest.approx(0.9)
    assert judge.recall_noncompliant == pytest.approx(0.9)
    with pytest.raises(ValueError, match="unreachable"):
        NoisyJudge.from_precision(0.2, base_rate=0.5)
    with pytest.raises(ValueError, match="recall_noncompliant"):
        NoisyJudge(recall_noncompliant=1.5)


def test_soft_constraints_need_an_oracle() -> None:
    soft = ConstraintSpec("soft:tone", {"tone": "formal"}, "soft")
    q = JudgeQuery("p", "r", (JudgedConstraint(soft, "formal tone"),))
    with pytest.raises(ValueError, match="pass an oracle"):
        NoisyJudge().judge([q])
    assert NoisyJudge(lambda query, j: True).judge([q])[0][0].status == "yes"
    assert hard_oracle("loose")(queries(2)[1], 0) is False


def test_simulated_items_are_seeded_and_mixed() -> None:
    items = simulate_audit_items(300, seed=4)
    assert items == simulate_audit_items(300, seed=4)
    assert items != simulate_audit_items(300, seed=5)
    truths = [t for item in items for t in check_hard_all(item.response or "", item.constraints)]
    share = sum(truths) / len(truths)
    assert 0.1 < share < 0.6  # both classes well represented
    assert all(1 <= len(i.constraints) <= 3 and i.response for i in items)
