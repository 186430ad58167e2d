"""The judge audit: how well the model layer finds planted defects, check by check.

Given dialogs that passed verification, :func:`plant_items` keeps each as a clean item and
plants every defect class of :data:`~ifrl.toolgen.defects.DEFECTS` into up to ``per_class`` of
them. :func:`run_judge_audit` asks the judge every applicable check of every item and the rule
layer for its codes. "Positive" means *defective* (the judge fails it); for each judge check the
items are the clean ones (negatives) and those planted with a defect of that check (positives),
so a defect another check is about never counts against this one:

- ``precision``: of the items the check failed, the share truly defective;
- ``recall``: of the defective items, the share the check failed;
- ``false_alarm_rate``: of the clean items, the share the check failed;
- Wilson 95% intervals for the three, and the unparseable verdicts (left out of the rates).

Per defect class it reports the rule layer's recall (the class's code among the rule issues),
the mapped judge check's recall, and the rules' false alarms on the clean items.
:func:`write_judge_audit` writes ``audit.json`` and ``audit.md``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, opt
from ifrl.core.jsonl import write_json, write_text
from ifrl.core.stats import wilson_interval
from ifrl.toolgen.defects import DEFECTS, plant
from ifrl.toolgen.dialog import Dialog
from ifrl.toolgen.judges import JUDGE_CHECKS, JudgeVerifier
from ifrl.toolgen.verify import rule_issues


@dataclass(frozen=True)
class JudgeAuditConfig:
    """How ``ifrl toolgen audit`` plants defects and asks the judge."""

    dialogs: int = opt("Verified dialogs to audit with (the first N of the file).", 100)
    per_class: int = opt("Dialogs planted with each defect class, at most.", 20)
    checks: tuple[str, ...] = opt("Judge checks to audit.", JUDGE_CHECKS)
    max_new_tokens: int = opt("Tokens per judge verdict.", 96)
    seed: int = opt("Seed of where defects are planted.", 0)

    def validate(self) -> None:
        if self.dialogs < 1 or self.per_class < 1:
            raise ConfigError("", "dialogs", "dialogs and per_class must be at least 1")
        bad = [c for c in self.checks if c not in JUDGE_CHECKS]
        if bad:
            raise ConfigError(
                "", "checks", f"unknown check {bad[0]!r} (known: {', '.join(JUDGE_CHECKS)})"
            )


@dataclass(frozen=True)
class AuditItem:
    """One audited dialog: clean (``defect`` None) or planted with ``defect``."""

    id: str
    dialog: Dialog
    defect: str | None = None


def plant_items(dialogs: Sequence[Dialog], config: JudgeAuditConfig) -> list[AuditItem]:
    """The clean dialogs and, per defect class, up to ``per_class`` planted copies (seeded)."""
    rng = random.Random(config.seed)
    items = [AuditItem(f"clean:{i}", d) for i, d in enumerate(dialogs)]
    for name in DEFECTS:
        order = list(range(len(dialogs)))
        rng.shuffle(order)
        made = 0
        for i in order:
            if made >= config.per_class:
                break
            planted = plant(dialogs[i], name, rng)
            if planted is not None:
                items.append(AuditItem(f"{name}:{i}", planted, name))
                made += 1
    return items


def expected_verdict(item: AuditItem, check: str) -> bool:
    """Whether a perfect judge passes ``item`` on ``check``: it fails exactly the defects of
    that check (a clean item passes every check)."""
    return item.defect is None or DEFECTS[item.defect].judge_check != check


@dataclass
class Tally:
    """Counts of one check against the truth; positive = defective (the judge fails it)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    unparseable: int = 0

    def add(self, defective: bool, failed: bool | None) -> None:
        if failed is None:
            self.unparseable += 1
        elif defective and failed:
            self.tp += 1
        elif defective:
            self.fn += 1
        elif failed:
            self.fp += 1
        else:
            self.tn += 1

    def to_dict(self) -> dict[str, Any]:
        def rate(k: int, n: int) -> dict[str, Any]:
            low, high = wilson_interval(k, n)
            return {"value": k / n if n else None, "n": n, "ci95": [low, high] if n else None}

        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "unparseable": self.unparseable,
            "precision": rate(self.tp, self.tp + self.fp),
            "recall": rate(self.tp, self.tp + self.fn),
            "false_alarm_rate": rate(self.fp, self.fp + self.tn),
        }


@dataclass
class JudgeAudit:
    """The audit's results: per judge check a :class:`Tally`, per defect class the rule and
    judge hits."""

    checks: dict[str, Tally] = field(default_factory=dict)
    classes: dict[str, dict[str, int]] = field(default_factory=dict)
    clean: dict[str, int] = field(default_factory=lambda: {"n": 0, "rule_alarms": 0})

    def to_dict(self) -> dict[str, Any]:
        classes = {}
        for name, row in self.classes.items():
            defect = DEFECTS[name]
            out: dict[str, Any] = {
                "n": row["n"],
                "rule_code": defect.rule_code,
                "judge_check": defect.judge_check,
            }
            for key in ("rule", "judge"):
                n = row["n"] if key == "rule" else row["judged"]
                low, high = wilson_interval(row[key], n)
                out[f"{key}_recall"] = {
                    "value": row[key] / n if n else None,
                    "n": n,
                    "ci95": [low, high] if n else None,
                }
            classes[name] = out
        return {
            "checks": {c: t.to_dict() for c, t in self.checks.items()},
            "classes": classes,
            "clean": self.clean,
        }

    def to_markdown(self) -> str:
        d = self.to_dict()

        def cell(rate: dict[str, Any]) -> str:
            if rate["value"] is None:
                return "n/a (n=0)"
            low, high = rate["ci95"]
            return f"{rate['value']:.2f} [{low:.2f}, {high:.2f}] (n={rate['n']})"

        lines = [
            "# Judge audit",
            "",
            f"- clean dialogs: {self.clean['n']} (rule-layer false alarms: {self.clean['rule_alarms']})",
            "",
            "## Judge checks (positive = defective; Wilson 95% intervals)",
            "",
            "| check | precision | recall | false alarms | unparseable |",
            "|---|---|---|---|---:|",
        ]
        for check, t in d["checks"].items():
            lines.append(
                f"| {check} | {cell(t['precision'])} | {cell(t['recall'])} | "
                f"{cell(t['false_alarm_rate'])} | {t['unparseable']} |"
            )
        lines += [
            "",
            "## Defect classes",
            "",
            "| defect | planted | rule code | rule recall | judge check | judge recall |",
            "|---|---:|---|---|---|---|",
        ]
        for name, row in d["classes"].items():
            judge = cell(row["judge_recall"]) if row["judge_check"] else "-"
            rule = cell(row["rule_recall"]) if row["rule_code"] else "-"
            lines.append(
                f"| {name} | {row['n']} | {row['rule_code'] or '-'} | {rule} | "
                f"{row['judge_check'] or '-'} | {judge} |"
            )
        return "\n".join(lines) + "\n"


def run_judge_audit(items: Sequence[AuditItem], judge: JudgeVerifier) -> JudgeAudit:
    """Ask ``judge`` every applicable check of every item and the rule layer for its codes."""
    audit = JudgeAudit(checks={c: Tally() for c in judge.checks})
    verdicts = judge.verdicts([item.dialog for item in items])
    for item, found in zip(items, verdicts):
        codes = {i.code for i in rule_issues(item.dialog)}
        if item.defect is None:
            audit.clean["n"] += 1
            audit.clean["rule_alarms"] += bool(codes)
        else:
            defect = DEFECTS[item.defect]
            row = audit.classes.setdefault(
                item.defect, {"n": 0, "rule": 0, "judge": 0, "judged": 0}
            )
            row["n"] += 1
            row["rule"] += defect.rule_code in codes
            said = found.get(defect.judge_check or "")
            if said is not None and said[0] is not None:
                row["judged"] += 1
                row["judge"] += not said[0]
        for check, (passed, _reason) in found.items():
            if item.defect is not None and DEFECTS[item.defect].judge_check != check:
                continue  # a defect of another check: not this check's business
            audit.checks[check].add(item.defect is not None, None if passed is None else not passed)
    return audit


def write_judge_audit(audit: JudgeAudit, out_dir: str | Path) -> None:
    """``audit.json`` and ``audit.md`` in ``out_dir``."""
    out = Path(out_dir)
    write_json(out / "audit.json", audit.to_dict())
    write_text(out / "audit.md", audit.to_markdown())


__all__ = [
    "AuditItem",
    "JudgeAudit",
    "JudgeAuditConfig",
    "Tally",
    "expected_verdict",
    "plant_items",
    "run_judge_audit",
    "write_judge_audit",
]
