"""Reward-precision refinement of constrained-prompt datasets ("Precision over Diversity").

Three filters, applied in this order, each recording what it dropped and why:

1. **Judge precision** (``hard_only`` or ``min_precision``): soft (judged) constraints are
   dropped outright with ``hard_only``; otherwise those whose judge precision, read from an
   audit report (:mod:`ifrl.constraints.audit`), is below ``min_precision``. A type's own
   precision is used when the audit saw at least ``min_support`` judge passes of it; else the
   ``unaudited`` policy applies: the judge's ``overall`` precision (default), ``keep`` or ``drop``.
2. **At most** ``max_soft`` **soft constraints per prompt** (default 1): the most precise
   types are kept (ties: the first listed).
3. **Learnability**: with rewards from a pilot run, keep prompts whose reward was above 0 at
   least once; prompts absent from the pilot are dropped unless ``keep_unpiloted``.

``semantics`` names the checkers the refined data's rewards use (``reference`` or ``fixed``);
the judge precisions must come from an audit against the same checkers (the audit report
records its ``semantics``; reports without it were made with the reference ones), and the
report says which was used.

Where a soft type's precision comes from is recorded per type (``precision_used`` in the
report: ``own`` when the audit measured the type itself, ``overall`` when the judge's overall
precision stood in for it). An audit measures a type only if it has a code truth: audit judged
constraints of verifiable types through :func:`ifrl.constraints.calibration.audit_view`, or
the ``overall`` fallback decides every soft type by the judge's precision on *other* types.

Hard constraints are checked by code and are never dropped by filters 1-2. With
``on_drop="prompt"`` a prompt loses all of itself when it loses any constraint; with
``"constraint"`` (default) only the constraint goes and, with ``rewrite`` (default), a
synthesized prompt's text is written again without the dropped instructions
(:func:`ifrl.constraints.synth.rewrite_prompt`), so it no longer asks for what is no longer
rewarded; a prompt whose text cannot be rewritten (not composed by synthesis) keeps its text and
is counted in ``not_rewritten``. A prompt left with no constraint is dropped. A ``checkers``
list kept in ``meta`` (as synthesis writes beside IFEval columns) is filtered along with the
constraints.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ifrl.constraints.base import Semantics
from ifrl.core.config import ConfigError, check_fields, opt, to_dict
from ifrl.core.errors import RecordError
from ifrl.core.jsonl import read_jsonl
from ifrl.core.records import ConstrainedPrompt, ConstraintSpec

OnDrop = Literal["constraint", "prompt"]
Unaudited = Literal["overall", "keep", "drop"]

REASONS = {
    "hard_only": "soft constraint removed: hard-only training",
    "low_precision": "soft constraint removed: judge precision below the threshold",
    "unaudited": "soft constraint removed: its type was not audited (unaudited=drop)",
    "extra_soft": "soft constraint removed: more than the allowed soft constraints per prompt",
    "lost_constraint": "prompt removed: it lost a constraint (on_drop=prompt)",
    "no_constraints": "prompt removed: no constraint left",
    "never_rewarded": "prompt removed: reward never above 0 in the pilot run",
    "not_in_pilot": "prompt removed: absent from the pilot rewards",
}


@dataclass(frozen=True)
class RefineConfig:
    """Which filters to apply (see the module docstring); checked when built."""

    hard_only: bool = opt("Drop every soft (judged) constraint.", False)
    min_precision: float | None = opt(
        "Drop soft constraints whose audited judge precision is below this.", None
    )
    min_support: int = opt("Judge passes a type needs in the audit to use its own precision.", 20)
    unaudited: Unaudited = opt(
        "Precision of types the audit did not cover: overall, keep or drop.", "overall"
    )
    max_soft: int | None = opt(
        "Soft constraints kept per prompt (-1 or none: no limit).", 1, minimum=0
    )
    keep_unpiloted: bool = opt("Keep prompts absent from the pilot rewards.", False)
    on_drop: OnDrop = opt(
        "What a dropped constraint takes with it: the constraint or the whole prompt.",
        "constraint",
    )
    semantics: Semantics = opt(
        "Checkers the rewards use (reference or fixed); the audit must be against the same.",
        "reference",
    )
    rewrite: bool = opt(
        "Rewrite a synthesized prompt's text without the instructions of dropped constraints.",
        True,
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        check_fields(self)
        if self.min_precision is not None and not (0.0 <= self.min_precision <= 1.0):
            raise ConfigError("", "min_precision", f"must lie in [0, 1], got {self.min_precision}")


class JudgePrecision:
    """Per-type judge precision from one judge's entry of an audit report."""

    def __init__(self, report: Mapping[str, Any], judge: str | None = None) -> None:
        judges = report.get("judges")
        if not isinstance(judges, Mapping) or not judges:
            raise RecordError("judges", "the audit report has no judges")
        if judge is None:
            if len(judges) > 1:
                raise ValueError(f"the audit has several judges {sorted(judges)}: name one")
            judge = next(iter(judges))
        if judge not in judges:
            raise ValueError(f"judge {judge!r} is not in the audit (it has {sorted(judges)})")
        self.judge = judge
        self.semantics: str = str(report.get("semantics", "reference"))
        entry = judges[judge]
        self.overall: float | None = entry["overall"]["precision"]
        self.per_type: dict[str, tuple[float | None, int]] = {
            t: (row["precision"], row["tp"] + row["fp"]) for t, row in entry["per_type"].items()
        }

    def of(self, type_id: str, min_support: int) -> float | None:
        """The type's precision when the audit saw ``min_support`` passes of it, else None."""
        precision, passes = self.per_type.get(type_id, (None, 0))
        return precision if passes >= min_support else None


def read_pilot_rewards(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """Pilot rewards by prompt id from JSONL lines ``{"id": ..., "rewards": [...]}``.

    ``key`` or ``prompt_id`` may name the prompt instead of ``id``, and ``reward`` may hold a
    single number; several lines for one id accumulate. ``null`` rewards are skipped.
    """

    def convert(row: dict[str, Any]) -> tuple[str, list[float]]:
        pid = next((row[k] for k in ("id", "key", "prompt_id") if k in row), None)
        if isinstance(pid, bool) or not isinstance(pid, (str, int)):
            raise RecordError("id", "missing or not a string/integer (also read: key, prompt_id)")
        if "rewards" in row:
            raw, name = row["rewards"], "rewards"
            if not isinstance(raw, list):
                raise RecordError("rewards", "not a list of numbers")
        elif "reward" in row:
            raw, name = [row["reward"]], "reward"
        else:
            raise RecordError("rewards", "missing (give rewards: [...] or reward: x)")
        values: list[float] = []
        for i, r in enumerate(raw):
            if r is None:
                continue
            if isinstance(r, bool) or not isinstance(r, (int, float)):
                raise RecordError(f"{name}[{i}]" if name == "rewards" else name, "not a number")
            values.append(float(r))
        return str(pid), values

    out: dict[str, list[float]] = defaultdict(list)
    for pid, values in read_jsonl(path, convert):
        out[pid] += values
    return dict(out)


@dataclass
class RefineReport:
    """What refinement kept and dropped, with reasons and counts."""

    config: RefineConfig
    judge: str | None
    input_prompts: int = 0
    kept_prompts: int = 0
    kept_hard: int = 0
    kept_soft: int = 0
    dropped_prompts: Counter[str] = field(default_factory=Counter)
    dropped_constraints: Counter[str] = field(default_factory=Counter)
    dropped_by_type: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    precision_used: dict[str, dict[str, Any]] = field(default_factory=dict)
    rewritten: int = 0
    not_rewritten: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)

    def drop_constraint(
        self, item: ConstrainedPrompt, spec: ConstraintSpec, reason: str, detail: str
    ) -> None:
        self.dropped_constraints[reason] += 1
        self.dropped_by_type[spec.id][reason] += 1
        self.log.append(
            {
                "id": item.id,
                "what": "constraint",
                "constraint": spec.to_dict(),
                "reason": reason,
                "detail": detail,
            }
        )

    def drop_prompt(self, item: ConstrainedPrompt, reason: str, detail: str) -> None:
        self.dropped_prompts[reason] += 1
        self.log.append({"id": item.id, "what": "prompt", "reason": reason, "detail": detail})

    def to_dict(self) -> dict[str, Any]:
        """JSON data: config, totals, drops per reason (prompts, constraints) and per type."""
        return {
            "config": to_dict(self.config),
            "semantics": self.config.semantics,
            "judge": self.judge,
            "input_prompts": self.input_prompts,
            "kept_prompts": self.kept_prompts,
            "kept_constraints": {"hard": self.kept_hard, "soft": self.kept_soft},
            "dropped_prompts": dict(sorted(self.dropped_prompts.items())),
            "dropped_constraints": dict(sorted(self.dropped_constraints.items())),
            "dropped_constraints_by_type": {
                t: dict(sorted(c.items())) for t, c in sorted(self.dropped_by_type.items())
            },
            "precision_used": dict(sorted(self.precision_used.items())),
            "rewritten_prompts": self.rewritten,
            "not_rewritten_prompts": self.not_rewritten,
            "reasons": {
                r: REASONS[r]
                for r in sorted(set(self.dropped_prompts) | set(self.dropped_constraints))
            },
        }

    def to_markdown(self) -> str:
        """A short human-readable report."""
        d = self.to_dict()
        lines = [
            "# Refinement report",
            "",
            f"Kept {d['kept_prompts']} of {d['input_prompts']} prompts, with "
            f"{d['kept_constraints']['hard']} hard and {d['kept_constraints']['soft']} soft "
            "constraints.",
            "",
            "| dropped | reason | count |",
            "|---|---|---|",
        ]
        for reason, count in d["dropped_constraints"].items():
            lines.append(f"| constraints | {REASONS[reason]} | {count} |")
        for reason, count in d["dropped_prompts"].items():
            lines.append(f"| prompts | {REASONS[reason]} | {count} |")
        if d["dropped_constraints_by_type"]:
            lines += ["", "## Dropped constraints per type", "", "| type | reason | count |"]
            lines.append("|---|---|---|")
            for t, reasons in d["dropped_constraints_by_type"].items():
                for reason, count in reasons.items():
                    lines.append(f"| `{t}` | {reason} | {count} |")
        if d["precision_used"]:
            lines += [
                "",
                "## Judge precision used per soft type",
                "",
                "| type | precision | from |",
            ]
            lines.append("|---|---|---|")
            for t, used in d["precision_used"].items():
                p = used["precision"]
                shown = "–" if p is None else f"{p:.3f}"
                lines.append(f"| `{t}` | {shown} | {used['source']} |")
        if d["rewritten_prompts"] or d["not_rewritten_prompts"]:
            lines += [
                "",
                f"Prompt texts rewritten without dropped instructions: {d['rewritten_prompts']}"
                f" (not rewritable: {d['not_rewritten_prompts']}).",
            ]
        settings = ", ".join(f"{k}={v}" for k, v in d["config"].items())
        lines += ["", f"Settings: {settings}; judge: {d['judge']} ({d['semantics']} checkers)."]
        return "\n".join(lines) + "\n"


def refine(
    items: Iterable[ConstrainedPrompt],
    config: RefineConfig,
    *,
    precision: JudgePrecision | None = None,
    pilot: Mapping[str, Sequence[float]] | None = None,
) -> tuple[list[ConstrainedPrompt], RefineReport]:
    """Apply the filters of ``config`` to ``items``; return the kept prompts and the report.

    ``precision`` (from an audit) is needed for ``min_precision``; ``pilot`` (prompt id →
    rewards) enables the learnability filter.
    """
    if config.min_precision is not None and precision is None and not config.hard_only:
        raise ValueError("min_precision needs an audit report (precision=JudgePrecision(...))")
    if precision is not None and precision.semantics != config.semantics:
        raise ValueError(
            f"the audit measured the judge against the {precision.semantics} checkers; refine "
            f"with semantics={precision.semantics!r} or audit with --semantics {config.semantics}"
        )
    report = RefineReport(config, precision.judge if precision else None)
    kept: list[ConstrainedPrompt] = []
    for item in items:
        report.input_prompts += 1
        result = _refine_one(item, config, precision, pilot, report)
        if result is not None:
            kept.append(result)
            report.kept_prompts += 1
            report.kept_hard += len(result.hard)
            report.kept_soft += len(result.soft)
    return kept, report


def _type_precision(
    spec: ConstraintSpec,
    config: RefineConfig,
    precision: JudgePrecision | None,
    report: RefineReport | None = None,
) -> float | None:
    if precision is None:
        return None
    own = precision.of(spec.id, config.min_support)
    value, source = (own, "own") if own is not None else (None, "none")
    if own is None and config.unaudited == "overall":
        value, source = precision.overall, "overall"
    if report is not None:
        _, passes = precision.per_type.get(spec.id, (None, 0))
        report.precision_used[spec.id] = {"precision": value, "source": source, "passes": passes}
    return value


def _refine_one(
    item: ConstrainedPrompt,
    config: RefineConfig,
    precision: JudgePrecision | None,
    pilot: Mapping[str, Sequence[float]] | None,
    report: RefineReport,
) -> ConstrainedPrompt | None:
    keep: list[ConstraintSpec] = []
    soft_scores: list[tuple[float, int, ConstraintSpec]] = []
    lost = False
    for spec in item.constraints:
        if spec.kind == "hard":
            keep.append(spec)
            continue
        if config.hard_only:
            report.drop_constraint(item, spec, "hard_only", "")
            lost = True
            continue
        p = _type_precision(spec, config, precision, report)
        if config.min_precision is not None:
            if p is None and config.unaudited == "drop":
                report.drop_constraint(item, spec, "unaudited", f"judge {report.judge}")
                lost = True
                continue
            if p is not None and p < config.min_precision:
                report.drop_constraint(
                    item, spec, "low_precision", f"precision {p:.3f} < {config.min_precision}"
                )
                lost = True
                continue
        soft_scores.append((p if p is not None else 0.0, len(soft_scores), spec))
    if config.max_soft is not None and len(soft_scores) > config.max_soft:
        ranked = sorted(soft_scores, key=lambda s: (-s[0], s[1]))
        allowed = {id(s[2]) for s in ranked[: config.max_soft]}
        for _, _, spec in soft_scores:
            if id(spec) not in allowed:
                report.drop_constraint(item, spec, "extra_soft", f"max_soft={config.max_soft}")
                lost = True
        soft_scores = [s for s in soft_scores if id(s[2]) in allowed]
    if lost and config.on_drop == "prompt":
        report.drop_prompt(item, "lost_constraint", "")
        return None
    kept_soft = {id(s[2]) for s in soft_scores}
    kept_hard = {id(c) for c in keep}
    indices = [i for i, c in enumerate(item.constraints) if id(c) in kept_hard | kept_soft]
    if not indices:
        report.drop_prompt(item, "no_constraints", "")
        return None
    if pilot is not None:
        rewards = pilot.get(item.id)
        if rewards is None:
            if not config.keep_unpiloted:
                report.drop_prompt(item, "not_in_pilot", "")
                return None
        elif not any(r > 0 for r in rewards):
            report.drop_prompt(
                item, "never_rewarded", f"{len(rewards)} rewards, max {max(rewards, default=0.0)}"
            )
            return None
    if lost and config.rewrite:
        from ifrl.constraints.synth import rewrite_prompt  # synth imports the codec

        rewritten = rewrite_prompt(item, indices)
        if rewritten is not None:
            report.rewritten += 1
            return rewritten
        report.not_rewritten += 1
    meta = dict(item.meta)
    for name in ("checkers", "instructions"):
        value = meta.get(name)
        if isinstance(value, list) and len(value) == len(item.constraints):
            meta[name] = [value[i] for i in indices]  # keep parallel to the constraints
    return item.replace(constraints=tuple(item.constraints[i] for i in indices), meta=meta)


__all__ = [
    "REASONS",
    "JudgePrecision",
    "RefineConfig",
    "RefineReport",
    "read_pilot_rewards",
    "refine",
]
