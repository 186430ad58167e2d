"""TrainingAudit: the judge audit on the policy's own samples during training, logged with
TRL's log_metric; unparseable verdicts count as the reward counts them."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ifrl.constraints import HackableJudge, JudgeQuery, JudgeVerdict, TrainingAudit
from ifrl.constraints.training_audit import audit_metrics

COLS = {
    "constraints": [
        [{"id": "punctuation:no_comma", "kwargs": {}, "kind": "soft"}],
        [
            {"id": "punctuation:no_comma", "kwargs": {}, "kind": "hard"},
            {"id": "soft:tone", "kwargs": {"tone": "formal"}, "kind": "soft"},
        ],
    ]
}


def test_metrics_of_a_batch() -> None:
    m = audit_metrics([True, False, False, True], [True, True, False, False])
    assert m == {
        "precision": 0.5,
        "recall_noncompliant": 0.5,
        "recall_compliant": 0.5,
        "judge_pass_rate": 0.5,
        "true_pass_rate": 0.5,
        "gap": 0.0,
        "pairs": 4.0,
    }


def test_logs_every_k_calls_and_returns_no_reward() -> None:
    audit = TrainingAudit(HackableJudge(min_words=3), every=2)
    logged: list[dict[str, float]] = []

    def call(completions: list[str]) -> list[float | None]:
        got: dict[str, float] = {}
        out = audit(["p", "p"], completions, log_metric=got.__setitem__, **COLS)
        logged.append(got)
        return out

    # long answers with commas: the judge passes both, the truth fails both
    assert call(["a, b, c, d", "e, f, g, h"]) == [None, None]
    assert call(["a b", "c d"]) == [None, None]
    assert logged[0]["audit/recall_noncompliant"] == 0.0
    assert logged[0]["audit/gap"] == 1.0 and logged[0]["audit/pairs"] == 2.0
    assert logged[1] == {}  # not an audit call
    assert [h["call"] for h in audit.history] == [1]
    # audited="soft": only the constraint marked soft (the soft:tone type has no code truth)
    soft = TrainingAudit(HackableJudge(min_words=3), audited="soft")
    assert soft.audit(["p", "p"], ["a, b", "c, d"], **COLS)["pairs"] == 1.0


class Garbled:
    name = "garbled"

    def judge(self, queries: Sequence[JudgeQuery]) -> list[list[JudgeVerdict]]:
        return [[JudgeVerdict("unparseable") for _ in q.constraints] for q in queries]


def test_unparseable_verdicts_count_as_fails() -> None:
    m = TrainingAudit(Garbled()).audit(["p", "p"], ["no commas", "a, b"], **COLS)
    assert m["unparseable"] == 2.0 and m["judge_pass_rate"] == 0.0
    assert m["recall_compliant"] == 0.0 and m["recall_noncompliant"] == 1.0
    with pytest.raises(ValueError, match="every"):
        TrainingAudit(Garbled(), every=0)
