"""Calibrating simulated judges with the audit: a hackable judge tuned to a target recall on
non-compliant base samples, and the ``NoisyJudge`` with the same audited numbers.

A one-off audit on base samples measures a judge's precision and its recall on non-compliant
responses; it does not say whether a policy can learn to fool it. To show that, two simulated
judges are given *the same* audit numbers on the same base samples: a
:class:`~ifrl.constraints.hackable.HackableJudge` whose threshold (``min_words`` or
``prefix_words``) is chosen by :func:`calibrate_judge` so that its audited recall on
non-compliant pairs is closest to a target, and the
:class:`~ifrl.constraints.noisy.NoisyJudge` of :func:`matched_noisy_judge`, which flips the
truth at random with exactly the audited recalls. Trained against, only the first can be hacked.

Every constraint with a registered verifier is audited, whatever its ``kind``: constraints
marked ``soft`` to be judged in training (a verifiable type standing in for a judged one) have a
code truth too (:func:`audit_view`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ifrl.constraints.audit import run_audit
from ifrl.constraints.base import REGISTRY, Semantics
from ifrl.constraints.hackable import HackableJudge, word_count
from ifrl.constraints.noisy import NoisyJudge, hard_oracle
from ifrl.constraints.scoring import check_hard_all
from ifrl.core.records import ConstrainedPrompt

Feature = Literal["min_words", "prefix_words"]
FEATURES: tuple[Feature, ...] = ("min_words", "prefix_words")


def audit_view(items: Iterable[ConstrainedPrompt]) -> list[ConstrainedPrompt]:
    """``items`` with every constraint that has a registered verifier marked ``hard`` (so the
    audit, which judges hard constraints against the verifiers, covers judged ones too)."""
    out = []
    for item in items:
        specs = tuple(
            s.replace(kind="hard") if s.kind == "soft" and s.id in REGISTRY else s
            for s in item.constraints
        )
        out.append(item.replace(constraints=specs))
    return out


@dataclass(frozen=True)
class Calibration:
    """The judge :func:`calibrate_judge` chose, its audit on the base samples, and every
    candidate's audited recall on non-compliant pairs (``table``: value → recall)."""

    judge: HackableJudge
    feature: Feature
    value: int
    target_recall_noncompliant: float
    audit: dict[str, Any]
    table: dict[int, float | None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "value": self.value,
            "target_recall_noncompliant": self.target_recall_noncompliant,
            "judge": self.judge.features(),
            "audit": self.audit,
            "table": {str(k): v for k, v in self.table.items()},
        }


def _candidates(items: Sequence[ConstrainedPrompt], feature: Feature) -> list[int]:
    most = max((word_count(i.response or "") for i in items), default=0)
    values = list(range(1, most + 2))
    if feature == "prefix_words" and len(values) > 48:  # each value is a full audit: a grid
        step = len(values) / 48
        values = sorted({values[int(k * step)] for k in range(48)} | {values[-1]})
    return values


def _length_table(
    items: Sequence[ConstrainedPrompt], values: Sequence[int], semantics: Semantics
) -> dict[int, float | None]:
    """Recall on non-compliant pairs for each ``min_words``: such a pair is failed exactly
    when its response is shorter than the threshold (the truth does not depend on it)."""
    lengths: list[int] = []
    for item in items:
        hard = item.hard
        if not hard or item.response is None:
            continue
        n = word_count(item.response)
        truths = check_hard_all(item.response, hard, "strict", semantics)
        lengths += [n for t in truths if not t]
    if not lengths:
        return {v: None for v in values}
    return {v: sum(n < v for n in lengths) / len(lengths) for v in values}


def _make(
    feature: Feature,
    value: int,
    recall_compliant: float,
    semantics: Semantics,
    seed: int,
    name: str,
) -> HackableJudge:
    settings: dict[str, Any] = {feature: value}
    return HackableJudge(
        hard_oracle("strict", semantics),
        recall_compliant=recall_compliant,
        seed=seed,
        name=name,
        **settings,
    )


def calibrate_judge(
    items: Sequence[ConstrainedPrompt],
    target_recall_noncompliant: float,
    *,
    feature: Feature = "min_words",
    candidates: Sequence[int] | None = None,
    recall_compliant: float = 1.0,
    semantics: Semantics = "reference",
    seed: int = 0,
    name: str = "hackable",
) -> Calibration:
    """The :class:`HackableJudge` whose audited recall on non-compliant pairs of ``items``
    (responses with constraints, e.g. base-policy samples) is closest to the target.

    ``feature`` is the threshold tuned (``min_words`` or ``prefix_words``); ``candidates`` the
    values tried (default 1 to one more than the longest response's word count, for
    ``prefix_words`` at most 48 of them; ties go to the first). ``min_words`` needs no audit
    per candidate: a non-compliant pair is failed exactly when its response is shorter than
    the threshold. The chosen judge is audited on the items (``audit``). Raises ``ValueError``
    when the items hold no non-compliant pair.
    """
    if feature not in FEATURES:
        raise ValueError(f"feature must be one of {list(FEATURES)}, got {feature!r}")
    if not 0.0 <= target_recall_noncompliant <= 1.0:
        raise ValueError(f"target must lie in [0, 1], got {target_recall_noncompliant}")
    audited = audit_view(items)
    values = list(candidates) if candidates is not None else _candidates(audited, feature)
    if not values:
        raise ValueError("no candidate values to calibrate over")
    table: dict[int, float | None]
    if feature == "min_words":
        table = _length_table(audited, values, semantics)
    else:
        table = {}
        for value in values:
            judge = _make(feature, value, recall_compliant, semantics, seed, name)
            report, _ = run_audit(audited, {name: judge}, semantics=semantics)
            table[value] = report["judges"][name]["overall"]["recall_noncompliant"]
    scored = [
        (abs(r - target_recall_noncompliant), i, v)
        for i, (v, r) in enumerate(table.items())
        if r is not None
    ]
    if not scored:
        raise ValueError("the items hold no non-compliant pair: nothing to calibrate on")
    _, _, value = min(scored)
    judge = _make(feature, value, recall_compliant, semantics, seed, name)
    report, _ = run_audit(audited, {name: judge}, semantics=semantics)
    overall = report["judges"][name]["overall"]
    return Calibration(judge, feature, value, target_recall_noncompliant, overall, table)


def matched_noisy_judge(
    audit: dict[str, Any],
    *,
    semantics: Semantics = "reference",
    seed: int = 0,
    name: str = "noisy",
) -> NoisyJudge:
    """The ``NoisyJudge`` with the recalls of an audit entry (``report["judges"][name]["overall"]``):
    on the same samples it has, in expectation, the same precision and recalls."""
    rc, rnc = audit.get("recall_compliant"), audit.get("recall_noncompliant")
    if rc is None or rnc is None:
        raise ValueError("the audit has no compliant or no non-compliant pair to match")
    return NoisyJudge(
        hard_oracle("strict", semantics),
        recall_compliant=float(rc),
        recall_noncompliant=float(rnc),
        seed=seed,
        name=name,
    )


__all__ = [
    "FEATURES",
    "Calibration",
    "Feature",
    "audit_view",
    "calibrate_judge",
    "matched_noisy_judge",
]
