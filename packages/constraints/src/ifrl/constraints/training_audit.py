"""The judge audit during training: precision and recall of a judge on the current policy's
samples, every ``every`` rollout batches, so reward hacking is seen as it starts.

A one-off audit on base samples does not predict whether a policy will learn to fool a judge
(:mod:`ifrl.constraints.calibration`). :class:`TrainingAudit` re-runs it on what the policy
writes now: passed to a GRPO trainer as one more reward function (weight 0; it returns
``None`` for every completion, so it never changes an advantage), it judges each completion's
constraints that have a code truth and compares the verdicts with the verifiers'. With TRL's
``log_metric`` keyword (TRL's and ifrl's ``GRPOTrainer`` pass it) it logs, under ``audit/``:

- ``precision``: of the pairs the judge passed, the share truly compliant;
- ``recall_noncompliant``: of the non-compliant pairs, the share the judge failed (falls when
  the policy learns what fools the judge);
- ``recall_compliant``, ``judge_pass_rate``, ``true_pass_rate`` and ``gap`` (judge pass rate
  minus true pass rate), ``pairs`` and ``unparseable``.

An unparseable verdict counts as a fail, as :class:`~ifrl.constraints.JudgedReward` counts it.
Each audit is also kept in :attr:`TrainingAudit.history` (with the call number). Sharing the
judge instance of the reward makes an ``LLMJudge`` answer from its cache (same prompt text,
response and constraint text), so the audit costs no extra judge calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from ifrl.constraints.base import REGISTRY, Semantics, check_semantics
from ifrl.constraints.codec import batch_specs
from ifrl.constraints.judge import Judge, JudgedConstraint, JudgeQuery
from ifrl.constraints.rewards import Strictness, completion_text, prompt_text, strip_thinking
from ifrl.constraints.scoring import check_hard_all
from ifrl.constraints.soft import HardDescriber, judge_text
from ifrl.core.config import check_choice

Audited = Literal["soft", "verifiable"]


def audit_metrics(truth: Sequence[bool], said: Sequence[bool]) -> dict[str, float | None]:
    """Precision, recalls, pass rates and gap of judge verdicts ``said`` against ``truth``."""
    tp = sum(t and s for t, s in zip(truth, said))
    fp = sum(s and not t for t, s in zip(truth, said))
    fn = sum(t and not s for t, s in zip(truth, said))
    tn = sum(not t and not s for t, s in zip(truth, said))
    n = len(truth)

    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    judge_rate, true_rate = ratio(tp + fp, n), ratio(tp + fn, n)
    return {
        "precision": ratio(tp, tp + fp),
        "recall_noncompliant": ratio(tn, tn + fp),
        "recall_compliant": ratio(tp, tp + fn),
        "judge_pass_rate": judge_rate,
        "true_pass_rate": true_rate,
        "gap": None if judge_rate is None or true_rate is None else judge_rate - true_rate,
        "pairs": float(n),
    }


class TrainingAudit:
    """A weight-0 "reward" that audits ``judge`` on the batch every ``every`` calls (see the
    module docstring). ``audited="soft"`` audits only the constraints marked soft (those a
    ``JudgedReward(judged="soft")`` sends to the judge), ``"verifiable"`` every constraint
    with a registered verifier."""

    def __init__(
        self,
        judge: Judge,
        *,
        audited: Audited = "verifiable",
        every: int = 1,
        column: str = "constraints",
        strictness: Strictness = "strict",
        semantics: Semantics = "reference",
        strip_think: bool = False,
        describe: HardDescriber | None = None,
        name: str = "judge_audit",
        prefix: str = "audit/",
    ) -> None:
        check_choice("audited", audited, ("soft", "verifiable"))
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.judge = judge
        self.audited: Audited = audited
        self.every = every
        self.column = column
        self.strictness: Strictness = strictness
        self.semantics = check_semantics(semantics)
        self.strip_think = strip_think
        self.describe = describe
        self.__name__ = name
        self.prefix = prefix
        self.calls = 0
        self.history: list[dict[str, Any]] = []

    def audit(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> dict[str, float | None]:
        """The audit metrics of one batch (nothing logged)."""
        queries: list[JudgeQuery] = []
        truths: list[list[bool]] = []
        for i, completion in enumerate(completions):
            specs = [
                s
                for s in batch_specs(columns, i, self.column)
                if s.id in REGISTRY and (self.audited == "verifiable" or s.kind == "soft")
            ]
            if not specs:
                continue
            text = completion_text(completion)
            if self.strip_think:
                text = strip_thinking(text)
            prompt = prompt_text(prompts[i]) if i < len(prompts) else ""
            constraints = tuple(JudgedConstraint(s, judge_text(s, self.describe)) for s in specs)
            queries.append(JudgeQuery(prompt, text, constraints))
            hard = [s.replace(kind="hard") for s in specs]
            truths.append(check_hard_all(text, hard, self.strictness, self.semantics))
        truth: list[bool] = []
        said: list[bool] = []
        unparseable = 0
        if queries:
            for row_truth, verdicts in zip(truths, self.judge.judge(queries)):
                truth += row_truth
                said += [v.status == "yes" for v in verdicts]
                unparseable += sum(v.status == "unparseable" for v in verdicts)
        metrics = audit_metrics(truth, said)
        metrics["unparseable"] = float(unparseable)
        return metrics

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        log_metric: Callable[[str, float], None] | None = columns.pop("log_metric", None)
        self.calls += 1
        if (self.calls - 1) % self.every == 0:
            metrics = self.audit(prompts, completions, **columns)
            self.history.append({"call": self.calls, **metrics})
            if log_metric is not None:
                for key, value in metrics.items():
                    if value is not None:
                        log_metric(self.prefix + key, value)
        return [None] * len(completions)


__all__ = ["Audited", "TrainingAudit", "audit_metrics"]
