"""The judge audit: how precise is a judge's reward, measured against the hard verifiers.

Given responses with hard constraints, each judge judges the same constraints the verifiers
check; the verifiers' verdicts are the ground truth. "Positive" means *compliant* (the judge
passes it), so for each judge:

- ``precision``: of the pairs the judge passed, the share truly compliant (reward precision);
- ``recall_compliant``: of the compliant pairs, the share passed;
- ``recall_noncompliant``: of the non-compliant pairs, the share failed. This is the key number
  of "Precision over Diversity": a judge that passes bad responses is exploited by RL;
- ``false_pass_rate`` = 1 - ``recall_noncompliant``; ``f1``; ``accuracy``; Cohen's ``kappa``;
- Wilson 95% intervals for the rates, the number of unparseable verdicts (left out of the
  rates and reported), a per-constraint-type breakdown, and, when the judge gives
  probabilities, a calibration table (reliability bins, expected calibration error, Brier);
- with ``inject=True``, the **false-pass rate under injection**: the non-compliant responses
  are attacked with the prompt-injection suite (:data:`ifrl.constraints.injection.ATTACKS`)
  and the judge judges the constraints each attacked response still violates. Passed pairs /
  attacked pairs, per attack style and overall, with a Wilson interval; an unparseable
  verdict never passes and is counted apart; the same pairs before the attack are the
  ``clean`` reference.

:func:`audit_judges` builds the judges an :class:`AuditConfig` names (``LLMJudge`` per mode over a
generator, or a ``NoisyJudge``), :func:`run_audit` computes the report for several judges side by
side (e.g. pointwise and joint) and :func:`write_audit` writes ``audit.json``, ``audit.md``, ``pairs.jsonl`` and PNG plots
(confusion matrices, false-pass rate per type, calibration; needs ``ifrl-constraints[plots]``).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ifrl.constraints.base import Semantics
from ifrl.constraints.injection import ATTACKS, Attack, InjectionSet, injection_set
from ifrl.constraints.judge import (
    JUDGE_MODES,
    Judge,
    JudgeCache,
    JudgedConstraint,
    JudgeMode,
    JudgeQuery,
    LLMJudge,
)
from ifrl.constraints.noisy import NoisyJudge, hard_oracle
from ifrl.constraints.scoring import Mode, check_hard_all
from ifrl.constraints.soft import HardDescriber, judge_text
from ifrl.core.config import ConfigError, check_fields, opt
from ifrl.core.errors import require
from ifrl.core.generation import Generator
from ifrl.core.jsonl import write_json, write_jsonl, write_text
from ifrl.core.records import ConstrainedPrompt, ConstraintSpec, SamplingParams
from ifrl.core.stats import wilson_interval


@dataclass(frozen=True)
class AuditConfig:
    """How ``ifrl constraints audit`` judges: the LLM judge's mode and budget, the simulated
    judge's error rates, and the ground truth."""

    mode: Literal["pointwise", "joint", "both"] = opt(
        "LLM judge: one constraint per call (pointwise), all at once (joint), or audit both.",
        "both",
    )
    max_new_tokens: int | None = opt(
        "LLM judge output length (default: 16 pointwise, 256 joint).", None, minimum=1
    )
    cache: str | None = opt("JSONL cache of LLM judge verdicts (reruns resume from it).", None)
    recall_compliant: float = opt("NoisyJudge: chance a compliant response is passed.", 1.0)
    recall_noncompliant: float = opt("NoisyJudge: chance a non-compliant response is failed.", 0.3)
    scores: bool = opt("NoisyJudge: attach p(yes) scores.", False)
    truth: Mode = opt("How the hard verifiers score the ground truth: strict or loose.", "strict")
    semantics: Semantics = opt(
        "Checkers of the ground truth: the benchmarks' own (reference) or the fixed ones.",
        "reference",
    )
    seed: int = opt("Seed of the NoisyJudge, of --synthetic responses and of the attacks.", 0)
    limit: int | None = opt("Audit only the first N items.", None, minimum=0)
    inject: bool = opt(
        "Also attack the non-compliant responses with the prompt-injection suite (13 styles) "
        "and report the false-pass rate under injection.",
        False,
    )
    inject_limit: int | None = opt(
        "Attack at most N non-compliant responses (default: all).", None, minimum=1
    )

    def validate(self) -> None:
        check_fields(self)
        for name in ("recall_compliant", "recall_noncompliant"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError("", name, f"must lie in [0, 1], got {getattr(self, name)}")


def audit_judges(
    config: AuditConfig, generator: Generator | None = None, *, name: str = "llm-judge"
) -> dict[str, Judge]:
    """The judges ``config`` asks for, by display name: an ``LLMJudge`` over ``generator`` per
    mode (``pointwise``, ``joint``), or without a generator a ``NoisyJudge`` (whose truth is
    the strict hard verifiers in ``config.semantics``)."""
    if generator is None:
        noisy = NoisyJudge(
            hard_oracle("strict", config.semantics),
            recall_compliant=config.recall_compliant,
            recall_noncompliant=config.recall_noncompliant,
            seed=config.seed,
            scores=config.scores,
        )
        return {f"noisy(r_nc={config.recall_noncompliant})": noisy}
    cache = JudgeCache(config.cache) if config.cache else None
    params = None
    if config.max_new_tokens is not None:
        params = SamplingParams(temperature=0.0, max_new_tokens=config.max_new_tokens)
    modes: tuple[JudgeMode, ...] = JUDGE_MODES if config.mode == "both" else (config.mode,)
    return {m: LLMJudge(generator, name=name, mode=m, params=params, cache=cache) for m in modes}


@dataclass(frozen=True, slots=True)
class AuditPair:
    """One judged (response, constraint): the truth, what the judge said, and its probability."""

    item: str
    type: str
    truth: bool
    said: bool | None
    p_yes: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _interval(k: int, n: int) -> list[float] | None:
    """The Wilson 95% interval of ``k / n``; None (no interval) when ``n == 0``."""
    return list(wilson_interval(k, n)) if n else None


@dataclass(frozen=True, slots=True)
class Confusion:
    """Counts of a judge against the truth; positive = compliant (judge says yes)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    unparseable: int = 0

    @classmethod
    def of(cls, pairs: Iterable[AuditPair]) -> Confusion:
        tp = fp = fn = tn = bad = 0
        for p in pairs:
            if p.said is None:
                bad += 1
            elif p.truth and p.said:
                tp += 1
            elif p.truth:
                fn += 1
            elif p.said:
                fp += 1
            else:
                tn += 1
        return cls(tp, fp, fn, tn, bad)

    @property
    def n(self) -> int:
        """Pairs with a parsed verdict."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall_compliant(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def recall_noncompliant(self) -> float | None:
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def false_pass_rate(self) -> float | None:
        return _ratio(self.fp, self.tn + self.fp)

    @property
    def accuracy(self) -> float | None:
        return _ratio(self.tp + self.tn, self.n)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa between judge and truth; None when chance agreement is total."""
        n = self.n
        if n == 0:
            return None
        observed = (self.tp + self.tn) / n
        said_yes, true_yes = (self.tp + self.fp) / n, (self.tp + self.fn) / n
        expected = said_yes * true_yes + (1 - said_yes) * (1 - true_yes)
        if expected >= 1.0:
            return None
        return (observed - expected) / (1 - expected)

    def to_dict(self) -> dict[str, Any]:
        """Counts, rates and Wilson 95% intervals (``null`` where a rate is undefined)."""
        return {
            "n": self.n,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "unparseable": self.unparseable,
            "base_rate": _ratio(self.tp + self.fn, self.n),
            "precision": self.precision,
            "recall_compliant": self.recall_compliant,
            "recall_noncompliant": self.recall_noncompliant,
            "false_pass_rate": self.false_pass_rate,
            "f1": self.f1,
            "accuracy": self.accuracy,
            "kappa": self.kappa,
            "ci95": {
                "precision": _interval(self.tp, self.tp + self.fp),
                "recall_compliant": _interval(self.tp, self.tp + self.fn),
                "recall_noncompliant": _interval(self.tn, self.tn + self.fp),
            },
        }


def calibration(pairs: Sequence[AuditPair], bins: int = 10) -> dict[str, Any] | None:
    """Reliability of ``p_yes``: per equal-width bin the mean probability and the share truly
    compliant, plus the expected calibration error and the Brier score. None without probabilities.
    """
    scored = [(p.p_yes, p.truth) for p in pairs if p.p_yes is not None]
    if not scored:
        return None
    counts = [0] * bins
    sum_p = [0.0] * bins
    sum_true = [0] * bins
    for prob, truth in scored:
        b = min(bins - 1, int(prob * bins))
        counts[b] += 1
        sum_p[b] += prob
        sum_true[b] += truth
    table = []
    ece = 0.0
    for b in range(bins):
        if not counts[b]:
            continue
        mean_p = sum_p[b] / counts[b]
        frac = sum_true[b] / counts[b]
        ece += counts[b] / len(scored) * abs(mean_p - frac)
        table.append(
            {
                "lo": b / bins,
                "hi": (b + 1) / bins,
                "count": counts[b],
                "mean_p_yes": mean_p,
                "frac_compliant": frac,
            }
        )
    brier = sum((prob - truth) ** 2 for prob, truth in scored) / len(scored)
    return {"n": len(scored), "bins": table, "ece": ece, "brier": brier}


# --------------------------------------------------------------------------------------------
# Running judges

Truth = Callable[[str, Sequence[ConstraintSpec]], list[bool]]
"""``truth(response, specs)``: the true verdict of each constraint (default: hard verifiers)."""


def _queries(
    items: Sequence[ConstrainedPrompt], describe: HardDescriber | None
) -> tuple[list[JudgeQuery], list[ConstrainedPrompt]]:
    queries: list[JudgeQuery] = []
    kept: list[ConstrainedPrompt] = []
    for item in items:
        if item.response is None:
            raise ValueError(f"item {item.id!r} has no response to audit")
        hard = item.hard
        if not hard:
            continue
        constraints = tuple(JudgedConstraint(c, judge_text(c, describe)) for c in hard)
        queries.append(JudgeQuery(item.text, item.response, constraints))
        kept.append(item)
    return queries, kept


def collect_pairs(
    judge: Judge,
    items: Sequence[ConstrainedPrompt],
    *,
    truth: Truth | None = None,
    describe: HardDescriber | None = None,
    batch_size: int = 256,
    progress: bool = False,
) -> list[AuditPair]:
    """Judge every hard constraint of every item and pair the verdict with the verifier's truth.

    ``truth(response, specs)`` defaults to the strict hard verifiers (reference semantics);
    soft constraints are skipped (they have no code truth). Items are judged ``batch_size`` at
    a time.
    """
    check: Truth = truth or (lambda response, specs: check_hard_all(response, specs, "strict"))
    queries, kept = _queries(items, describe)
    pairs: list[AuditPair] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(queries), desc=f"judge {judge.name}", unit="response")
    for start in range(0, len(queries), batch_size):
        chunk = queries[start : start + batch_size]
        verdicts = judge.judge(chunk)
        for query, item, row in zip(chunk, kept[start : start + batch_size], verdicts):
            truths = check(query.response, [c.spec for c in query.constraints])
            for constraint, verdict, true in zip(query.constraints, row, truths):
                pairs.append(
                    AuditPair(item.id, constraint.spec.id, true, verdict.passed, verdict.p_yes)
                )
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return pairs


def summarize(pairs: Sequence[AuditPair], bins: int = 10) -> dict[str, Any]:
    """Overall metrics, per-type metrics and calibration for one judge's pairs."""
    by_type: dict[str, list[AuditPair]] = defaultdict(list)
    for p in pairs:
        by_type[p.type].append(p)
    return {
        "overall": Confusion.of(pairs).to_dict(),
        "per_type": {t: Confusion.of(ps).to_dict() for t, ps in sorted(by_type.items())},
        "calibration": calibration(pairs, bins),
    }


def run_audit(
    items: Sequence[ConstrainedPrompt],
    judges: Mapping[str, Judge],
    *,
    truth: Truth | None = None,
    truth_mode: Mode = "strict",
    semantics: Semantics = "reference",
    describe: HardDescriber | None = None,
    bins: int = 10,
    progress: bool = False,
    inject: bool = False,
    attacks: Sequence[Attack] = ATTACKS,
    inject_limit: int | None = None,
    seed: int = 0,
) -> tuple[dict[str, Any], dict[str, list[AuditPair]]]:
    """Audit each judge (by display name) on the same items; return the report and the pairs.

    The truth is ``truth`` when given, else the hard verifiers in ``truth_mode`` and
    ``semantics``; the report records both (``truth``, ``semantics``). With ``inject`` each
    judge is also measured under the injection suite (``attacks``, applied to at most
    ``inject_limit`` non-compliant responses, seeded by ``seed``): see
    :func:`injection_summary`; the attacked pairs are returned under ``"<judge> (injected)"``.
    """
    if truth is None:

        def truth(response: str, specs: Sequence[ConstraintSpec]) -> list[bool]:
            return check_hard_all(response, specs, truth_mode, semantics)

    n_soft = sum(len(i.soft) for i in items)
    report: dict[str, Any] = {
        "truth": truth_mode,
        "semantics": semantics,
        "responses": sum(1 for i in items if i.hard),
        "pairs": sum(len(i.hard) for i in items),
        "skipped_soft_constraints": n_soft,
        "judges": {},
    }
    all_pairs: dict[str, list[AuditPair]] = {}
    attack_set = (
        injection_set(items, truth, attacks, seed=seed, limit=inject_limit) if inject else None
    )
    if attack_set is not None:
        report["injection"] = {
            "attacks": {a.name: a.description for a in attacks},
            "responses": len(attack_set.base),
            "pairs": sum(len(i.constraints) for _, i in attack_set.attacked),
            "left_out_now_compliant": attack_set.left_out,
            "seed": seed,
        }
    for name, judge in judges.items():
        pairs = collect_pairs(judge, items, truth=truth, describe=describe, progress=progress)
        entry = summarize(pairs, bins)
        all_pairs[name] = pairs
        if attack_set is not None:
            entry["injection"], injected = _judge_injected(
                judge, attack_set, truth, describe, progress
            )
            all_pairs[f"{name} (injected)"] = injected
        stats = getattr(judge, "stats", None)
        if stats is not None and hasattr(stats, "to_dict"):
            entry["stats"] = stats.to_dict()
        report["judges"][name] = entry
    return report, all_pairs


def _judge_injected(
    judge: Judge,
    attack_set: InjectionSet,
    truth: Truth,
    describe: HardDescriber | None,
    progress: bool,
) -> tuple[dict[str, Any], list[AuditPair]]:
    items = [item for _, item in attack_set.attacked]
    style = {item.id: attack for attack, item in attack_set.attacked}
    clean = collect_pairs(judge, attack_set.base, truth=truth, describe=describe)
    injected = collect_pairs(judge, items, truth=truth, describe=describe, progress=progress)
    by_attack: dict[str, list[AuditPair]] = {name: [] for name in attack_set.left_out}
    for p in injected:
        by_attack[style[p.item]].append(p)
    return injection_summary(clean, by_attack), injected


def _false_passes(pairs: Sequence[AuditPair]) -> dict[str, Any]:
    n = len(pairs)
    passed = sum(p.said is True for p in pairs)
    return {
        "n": n,
        "passed": passed,
        "unparseable": sum(p.said is None for p in pairs),
        "false_pass_rate": _ratio(passed, n),
        "ci95": _interval(passed, n),
    }


def injection_summary(
    clean: Sequence[AuditPair], by_attack: Mapping[str, Sequence[AuditPair]]
) -> dict[str, Any]:
    """False passes of non-compliant pairs: before the attacks (``clean``), under all of them
    (``overall``) and per attack. Each: ``n`` pairs, ``passed``, ``unparseable`` (never a
    pass), ``false_pass_rate`` = passed / n and its Wilson 95% interval."""
    if any(p.truth for p in clean) or any(p.truth for ps in by_attack.values() for p in ps):
        raise ValueError("injection pairs must all be non-compliant")
    every = [p for ps in by_attack.values() for p in ps]
    return {
        "clean": _false_passes(clean),
        "overall": _false_passes(every),
        "per_attack": {name: _false_passes(ps) for name, ps in by_attack.items()},
    }


# --------------------------------------------------------------------------------------------
# Writing


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


_ROWS = (
    ("pairs judged", "n"),
    ("unparseable", "unparseable"),
    ("share compliant (truth)", "base_rate"),
    ("precision", "precision"),
    ("recall, compliant", "recall_compliant"),
    ("**recall, non-compliant**", "recall_noncompliant"),
    ("false-pass rate", "false_pass_rate"),
    ("F1", "f1"),
    ("accuracy", "accuracy"),
    ("Cohen's kappa", "kappa"),
)


def render_markdown(report: Mapping[str, Any]) -> str:
    """``audit.md``: the judges side by side, the 95% intervals, per-type false passes."""
    judges: Mapping[str, Any] = report["judges"]
    names = list(judges)
    lines = [
        "# Judge audit",
        "",
        f"Ground truth: the hard verifiers ({report['truth']}, "
        f"{report.get('semantics', 'reference')} semantics). {report['responses']} responses, "
        f"{report['pairs']} (response, constraint) pairs; "
        f"{report['skipped_soft_constraints']} soft constraints skipped (no code truth).",
        "Positive = compliant. *Recall on non-compliant responses* is the share of constraint "
        "violations the judge catches; the rest are false passes, i.e. rewards a policy can hack.",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for label, key in _ROWS:
        cells = [_fmt(judges[n]["overall"][key]) for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "95% Wilson intervals:", ""]
    for n in names:
        ci = judges[n]["overall"]["ci95"]
        parts = [
            f"{k.replace('_', ' ')} [{v[0]:.3f}, {v[1]:.3f}]"
            for k, v in ci.items()
            if v is not None
        ]
        lines.append(f"- {n}: " + "; ".join(parts))
    types = sorted({t for n in names for t in judges[n]["per_type"]})
    lines += [
        "",
        "## Per constraint type",
        "",
        "False-pass rate (non-compliant pairs passed / non-compliant pairs) and precision.",
        "",
        "| type | non-compliant | "
        + " | ".join(f"{n} false-pass | {n} precision" for n in names)
        + " |",
        "|---" * (2 + 2 * len(names)) + "|",
    ]
    for t in types:
        first = next(judges[n]["per_type"][t] for n in names if t in judges[n]["per_type"])
        cells = []
        for n in names:
            row = judges[n]["per_type"].get(t, {})
            cells += [_fmt(row.get("false_pass_rate")), _fmt(row.get("precision"))]
        lines.append(f"| `{t}` | {first['tn'] + first['fp']} | " + " | ".join(cells) + " |")
    calibrated = [n for n in names if judges[n]["calibration"]]
    if calibrated:
        lines += ["", "## Calibration of p(yes)", ""]
        for n in calibrated:
            cal = judges[n]["calibration"]
            lines.append(
                f"- {n}: {cal['n']} probabilities, ECE {cal['ece']:.3f}, Brier {cal['brier']:.3f}"
            )
    if "injection" in report:
        lines += _injection_markdown(report["injection"], judges)
    stats = [n for n in names if "stats" in judges[n]]
    if stats:
        lines += ["", "## Judge calls", ""]
        for n in stats:
            s = judges[n]["stats"]
            lines.append(
                f"- {n}: {s['calls']} calls, {s['cache_hits']} cache hits, {s['retries']} retries, "
                f"{s['unparseable']} unparseable, {s['with_probability']} with a probability"
            )
    return "\n".join(lines) + "\n"


def _cell(row: Mapping[str, Any]) -> str:
    if not row["n"]:
        return "–"
    lo, hi = row["ci95"]
    cell = f"{row['passed']}/{row['n']} = {row['false_pass_rate']:.3f} [{lo:.3f}, {hi:.3f}]"
    return cell + (f", {row['unparseable']} unparseable" if row["unparseable"] else "")


def _injection_markdown(meta: Mapping[str, Any], judges: Mapping[str, Any]) -> list[str]:
    names = [n for n in judges if "injection" in judges[n]]
    left = sum(meta["left_out_now_compliant"].values())
    lines = [
        "",
        "## Under injection",
        "",
        f"{meta['responses']} non-compliant responses, each attacked with "
        f"{len(meta['attacks'])} injection styles; the judge judged the hard constraints each "
        f"attacked response still violates ({meta['pairs']} pairs; {left} pairs the attack "
        "text happened to make compliant were left out). False-pass rate = pairs judged "
        "compliant / pairs, with its 95% Wilson interval; an unparseable verdict never passes "
        "(counted apart). *clean*: the same responses before the attacks.",
        "",
        "| attack | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    rows = [("**all attacks**", "overall"), ("clean (no attack)", "clean")]
    for label, key in rows:
        cells = [_cell(judges[n]["injection"][key]) for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for attack in meta["attacks"]:
        cells = [_cell(judges[n]["injection"]["per_attack"][attack]) for n in names]
        lines.append(f"| `{attack}` | " + " | ".join(cells) + " |")
    lines += ["", "Attack styles:", ""]
    lines += [f"- `{name}`: {text}" for name, text in meta["attacks"].items()]
    return lines


def write_audit(
    report: Mapping[str, Any],
    out_dir: str | os.PathLike[str],
    pairs: Mapping[str, Sequence[AuditPair]] | None = None,
    *,
    plots: bool = True,
) -> list[Path]:
    """Write ``audit.json``, ``audit.md``, ``pairs.jsonl`` (when ``pairs``) and the PNG plots.

    Returns the written paths. Plots need matplotlib (``pip install 'ifrl-constraints[plots]'``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "audit.json", out / "audit.md"]
    write_json(written[0], report)
    write_text(written[1], render_markdown(report))
    if pairs is not None:
        rows = ({"judge": name, **p.to_dict()} for name, ps in pairs.items() for p in ps)
        write_jsonl(out / "pairs.jsonl", rows)
        written.append(out / "pairs.jsonl")
    if plots:
        written += plot_audit(report, out)
    return written


def plot_audit(report: Mapping[str, Any], out_dir: str | os.PathLike[str]) -> list[Path]:
    """PNG plots: ``confusion.png``, ``false_pass_by_type.png`` and, with probabilities,
    ``calibration.png``. Needs matplotlib (the ``plots`` extra)."""
    require("matplotlib", "ifrl-constraints", "plots")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    judges: Mapping[str, Any] = report["judges"]
    names = list(judges)
    paths = []

    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        o = judges[name]["overall"]
        grid = [[o["tp"], o["fn"]], [o["fp"], o["tn"]]]
        total = max(1, o["n"])
        ax.imshow(grid, cmap="Blues", vmin=0, vmax=max(1, max(max(r) for r in grid)))
        for i in range(2):
            for j in range(2):
                value = grid[i][j]
                shade = "white" if value > 0.6 * max(max(r) for r in grid) else "black"
                ax.text(
                    j, i, f"{value}\n{value / total:.1%}", ha="center", va="center", color=shade
                )
        ax.set_xticks([0, 1], ["judge: pass", "judge: fail"])
        ax.set_yticks([0, 1], ["compliant", "non-compliant"])
        ax.set_title(f"{name}\nrecall non-compliant {_fmt(o['recall_noncompliant'])}")
    fig.suptitle(
        f"Judge vs hard verifiers ({report['truth']}, {report.get('semantics', 'reference')})"
    )
    fig.tight_layout()
    paths.append(out / "confusion.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    types = sorted(
        {t for n in names for t, row in judges[n]["per_type"].items() if row["tn"] + row["fp"]}
    )
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.32 * len(types) * max(1, len(names)) + 1.2)))
    height = 0.8 / max(1, len(names))
    for k, name in enumerate(names):
        values = [judges[name]["per_type"].get(t, {}).get("false_pass_rate") or 0.0 for t in types]
        ax.barh([i + k * height for i in range(len(types))], values, height=height, label=name)
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(types))], types, fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("false-pass rate (non-compliant responses the judge passed)")
    ax.invert_yaxis()
    if names:
        ax.legend(loc="lower right")
    ax.set_title("False passes per constraint type")
    fig.tight_layout()
    paths.append(out / "false_pass_by_type.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    calibrated = [n for n in names if judges[n]["calibration"]]
    if calibrated:
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
        for name in calibrated:
            cal = judges[name]["calibration"]
            xs = [b["mean_p_yes"] for b in cal["bins"]]
            ys = [b["frac_compliant"] for b in cal["bins"]]
            ax.plot(xs, ys, marker="o", label=f"{name} (ECE {cal['ece']:.3f})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("judge p(yes)")
        ax.set_ylabel("share truly compliant")
        ax.set_title("Calibration")
        ax.legend(loc="upper left")
        fig.tight_layout()
        paths.append(out / "calibration.png")
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths


__all__ = [
    "AuditConfig",
    "AuditPair",
    "Confusion",
    "audit_judges",
    "calibration",
    "collect_pairs",
    "injection_summary",
    "plot_audit",
    "render_markdown",
    "run_audit",
    "summarize",
    "write_audit",
]
