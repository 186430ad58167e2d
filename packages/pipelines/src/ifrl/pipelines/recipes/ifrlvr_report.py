"""The ``if-rlvr`` experiment's report: held-out truth per arm with bootstrap intervals over
seeds and prompts, whether each judged run was hacked, and the plots.

Held-out truth is the verifiers' verdicts on greedy answers to the held-out prompts, read from
the ``samples.jsonl`` that ``ifrl.evals`` wrote. An arm's value is the mean over its seeds; its
95% interval is a two-level percentile bootstrap (seeds resampled, and the held-out prompts
resampled once per draw and shared by the seeds, as every seed answers the same prompts).
Differences between arms resample both arms with the same prompt draw. A judged run counts as
*hacked* when the audit during training (:class:`~ifrl.constraints.TrainingAudit`) saw the
judge's recall on non-compliant pairs fall by at least ``arms.hacked_drop`` from its first audit
to the mean of its last three: the policy learned to write what the judge wrongly passes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifrl.core.jsonl import read_jsonl, write_json, write_text
from ifrl.core.stats import Metric, bootstrap_difference, cluster_bootstrap
from ifrl.evals.plots import pyplot
from ifrl.pipelines.recipe import StageContext
from ifrl.pipelines.recipes.ifrlvr_arms import HELDOUT, JUDGED_ARMS, run_dir_paths

_WORD = re.compile(r"\w+")
LABELS = {
    "hard": "hard-only",
    "noisy": "mixed, NoisyJudge",
    "hackable": "mixed, HackableJudge",
    "llm_judge": "mixed, LLM judge",
    "refined": "refined, HackableJudge",
}


@dataclass(frozen=True)
class PromptResult:
    """One held-out answer: instructions passed, instructions asked, all passed, words."""

    passed: int
    asked: int
    words: int

    @property
    def follow_all(self) -> bool:
        return self.passed == self.asked


def read_samples(path: Path) -> list[PromptResult]:
    """The held-out answers of one eval (``samples.jsonl``), in prompt order."""
    rows = sorted(read_jsonl(path), key=lambda r: (str(r["id"]), int(r.get("sample", 0))))
    return [
        PromptResult(
            sum(bool(v) for v in r["strict"]),
            len(r["strict"]),
            len(_WORD.findall(str(r["response"]))),
        )
        for r in rows
    ]


Stat = Callable[[Sequence[PromptResult]], float]


def inst_acc(rs: Sequence[PromptResult]) -> float:
    asked = sum(r.asked for r in rs)
    return sum(r.passed for r in rs) / asked if asked else 0.0


def prompt_acc(rs: Sequence[PromptResult]) -> float:
    return sum(r.follow_all for r in rs) / len(rs) if rs else 0.0


def guard_rate(min_words: int) -> Stat:
    def stat(rs: Sequence[PromptResult]) -> float:
        return sum(r.words >= min_words for r in rs) / len(rs) if rs else 0.0

    return stat


def mean_words(rs: Sequence[PromptResult]) -> float:
    return sum(r.words for r in rs) / len(rs) if rs else 0.0


def _metrics(path: Path) -> list[dict[str, Any]]:
    return list(read_jsonl(path)) if path.exists() else []


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def training_summary(
    metrics: list[dict[str, Any]], main: str, drop: float, judged: bool
) -> dict[str, Any]:
    """First and last values of the rewards and of the audit during training; ``hacked``."""

    def series(key: str) -> list[float]:
        return [
            float(m[key])
            for m in metrics
            if isinstance(m.get(key), (int, float)) and not math.isnan(float(m[key]))
        ]

    out: dict[str, Any] = {}
    for name, key in (
        ("train_reward", f"rewards/{main}/mean"),
        ("true_compliance", "rewards/true_compliance/mean"),
        ("recall_noncompliant", "audit/recall_noncompliant"),
        ("precision", "audit/precision"),
        ("gap", "audit/gap"),
    ):
        values = series(key)
        out[name] = {"first": values[0] if values else None, "last3": _mean(values[-3:])}
    rnc = out["recall_noncompliant"]
    fell = (
        (rnc["first"] - rnc["last3"])
        if rnc["first"] is not None and rnc["last3"] is not None
        else None
    )
    out["recall_drop"] = fell
    out["hacked"] = bool(judged and fell is not None and fell >= drop)
    return out


def _fmt(m: Metric | None, percent: bool = True) -> str:
    if m is None:
        return "–"
    k = 100.0 if percent else 1.0
    return f"{m.value * k:.1f} [{m.ci_low * k:.1f}, {m.ci_high * k:.1f}]"


def _fmt_num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _verdict(diff: Metric) -> str:
    if diff.ci_low > 0:
        return "hard-only generalized better"
    if diff.ci_high < 0:
        return "hard-only generalized worse"
    return "no difference the interval can resolve"


def _plot_audit(
    path: Path,
    curves: dict[str, list[list[tuple[int, float]]]],
    gaps: dict[str, list[list[tuple[int, float]]]],
) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    try:
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for ax, data, title, ylabel in (
            (
                axes[0],
                curves,
                "Judge recall on non-compliant pairs (policy's own samples)",
                "recall on non-compliant",
            ),
            (axes[1], gaps, "Judge pass rate minus true pass rate", "gap"),
        ):
            for k, (arm, runs) in enumerate(data.items()):
                color = colors[k % len(colors)]
                for run in runs:
                    if run:
                        xs, ys = zip(*run)
                        ax.plot(xs, ys, color=color, alpha=0.3, linewidth=0.8)
                steps = sorted({x for run in runs for x, _ in run})
                mean = [(_mean([y for run in runs for x, y in run if x == s]), s) for s in steps]
                ax.plot(
                    [s for _, s in mean],
                    [m for m, _ in mean],
                    color=color,
                    linewidth=2,
                    label=LABELS.get(arm, arm) + (" (probe)" if arm == "hard" else ""),
                )
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("GRPO step")
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.png")
        fig.savefig(tmp, dpi=110)
        tmp.replace(path)
    finally:
        plt.close(fig)


def _series(metrics: list[dict[str, Any]], key: str) -> list[tuple[int, float]]:
    return [
        (int(m["step"]), float(m[key]))
        for m in metrics
        if isinstance(m.get(key), (int, float)) and not math.isnan(float(m[key]))
    ]


def stage_report(ctx: StageContext) -> dict[str, Any]:
    """``report.md``, ``report.json`` and the plots (see the module docstring)."""
    from ifrl.evals.plots import grouped_bar_chart

    cfg = ctx.config
    a = cfg.arms
    run_dir = ctx.run_dir
    stats: dict[str, Stat] = {
        "ifeval_inst": inst_acc,
        "ifeval_prompt": prompt_acc,
        "ifbench_inst": inst_acc,
        "ifbench_prompt": prompt_acc,
    }
    samples: dict[str, dict[str, list[list[PromptResult]]]] = {}
    samples["base"] = {n: [read_samples(run_dir / f"eval/base/{n}/samples.jsonl")] for n in HELDOUT}
    for arm in a.names:
        samples[arm] = {
            n: [read_samples(run_dir_paths(run_dir, arm, s)[n]) for s in a.seeds] for n in HELDOUT
        }

    def both(runs: dict[str, list[list[PromptResult]]]) -> list[list[PromptResult]]:
        return [x + y for x, y in zip(runs["ifeval"], runs["ifbench"])]

    table: dict[str, dict[str, Metric]] = {}
    for name, runs in samples.items():
        row = {
            key: cluster_bootstrap(runs[key.split("_")[0]], stat, resamples=a.bootstrap)
            for key, stat in stats.items()
        }
        row["guard_pass"] = cluster_bootstrap(
            both(runs), guard_rate(max(1, a.guard_min_words)), resamples=a.bootstrap
        )
        row["words"] = cluster_bootstrap(both(runs), mean_words, resamples=a.bootstrap)
        table[name] = row
    training: dict[str, list[dict[str, Any]]] = {}
    curves: dict[str, list[list[tuple[int, float]]]] = {}
    gaps: dict[str, list[list[tuple[int, float]]]] = {}
    for arm in a.names:
        main = "hard_reward" if arm == "hard" else "judge_reward"
        metrics_all = [_metrics(run_dir_paths(run_dir, arm, s)["metrics"]) for s in a.seeds]
        training[arm] = [
            training_summary(m, main, a.hacked_drop, arm in JUDGED_ARMS) for m in metrics_all
        ]
        curves[arm] = [_series(m, "audit/recall_noncompliant") for m in metrics_all]
        gaps[arm] = [_series(m, "audit/gap") for m in metrics_all]
    diffs: dict[str, dict[str, Metric]] = {}
    if "hard" in a.names:
        for arm in a.names:
            if arm == "hard":
                continue
            diffs[arm] = {
                f"{n}_inst": bootstrap_difference(
                    samples["hard"][n], samples[arm][n], inst_acc, resamples=a.bootstrap
                )
                for n in HELDOUT
            }
    plots = ctx.path("plots/heldout.png")
    groups = [
        "IFEval types (in distribution)",
        "IFBench types (out of distribution)",
        f"answers of >= {max(1, a.guard_min_words)} words",
    ]
    grouped_bar_chart(
        plots,
        groups,
        {
            LABELS.get(k, k): [r["ifeval_inst"], r["ifbench_inst"], r["guard_pass"]]
            for k, r in table.items()
        },
        title="Held-out truth per arm: instruction-level strict accuracy (95% bootstrap)",
        ylabel="%",
    )
    _plot_audit(ctx.path("plots/audit.png"), curves, gaps)
    calibration = json.loads((run_dir / "calibrate/judges.json").read_text(encoding="utf-8"))
    audit = json.loads((run_dir / "calibrate/audit.json").read_text(encoding="utf-8"))
    data = {
        "arms": list(a.names),
        "seeds": list(a.seeds),
        "heldout": {k: {m: v.to_dict() for m, v in row.items()} for k, row in table.items()},
        "differences_hard_minus": {
            arm: {m: v.to_dict() for m, v in d.items()} for arm, d in diffs.items()
        },
        "training": training,
        "judges": calibration,
        "pilot_audit": {n: e["overall"] for n, e in audit["judges"].items()},
    }
    write_json(ctx.path("report.json"), data)
    write_text(ctx.path("report.md"), _markdown(cfg, table, diffs, training, calibration, audit))
    return {
        "heldout": {
            k: {m: round(v.value, 4) for m, v in row.items() if m.endswith("inst")}
            for k, row in table.items()
        },
        "hacked": {
            arm: sum(t["hacked"] for t in runs)
            for arm, runs in training.items()
            if arm in JUDGED_ARMS
        },
    }


def _markdown(
    cfg: Any,
    table: dict[str, dict[str, Metric]],
    diffs: dict[str, dict[str, Metric]],
    training: dict[str, list[dict[str, Any]]],
    calibration: dict[str, Any],
    audit: dict[str, Any],
) -> str:
    a = cfg.arms
    n_if = table["base"]["ifeval_inst"].n
    n_ib = table["base"]["ifbench_inst"].n
    lines = [
        "# IF-RLVR: hard-only vs mixed hard + judged constraints",
        "",
        f"Policy `{cfg.model.path}`; arms {', '.join(a.names)}; seeds {list(a.seeds)}; "
        f"{cfg.grpo.trainer.get('max_steps')} GRPO steps each. Held-out truth: the verifiers' "
        f"strict verdicts on greedy answers ({n_if} IFEval-type and {n_ib} IFBench-type prompts "
        "per base row; arms: that times the seeds), synthesized from seed prompts disjoint from "
        "training. Values in %, 95% intervals from a bootstrap over seeds and prompts.",
        "",
        "## Held-out truth per arm",
        "",
        "| arm | IFEval inst. (in distr.) | IFEval prompt | IFBench inst. (out of distr.) "
        f"| IFBench prompt | answers >= {max(1, a.guard_min_words)} words | mean words |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in table.items():
        label = "base (step 0)" if name == "base" else LABELS.get(name, name)
        lines.append(
            f"| {label} | {_fmt(row['ifeval_inst'])} | {_fmt(row['ifeval_prompt'])} | "
            f"{_fmt(row['ifbench_inst'])} | {_fmt(row['ifbench_prompt'])} | "
            f"{_fmt(row['guard_pass'])} | {_fmt(row['words'], percent=False)} |"
        )
    if diffs:
        lines += [
            "",
            "## Hard-only minus each other arm (instruction-level, points)",
            "",
            "| arm | IFEval types | IFBench types | reading (IFBench) |",
            "|---|---|---|---|",
        ]
        for arm, d in diffs.items():
            lines.append(
                f"| {LABELS.get(arm, arm)} | {_fmt(d['ifeval_inst'])} | "
                f"{_fmt(d['ifbench_inst'])} | {_verdict(d['ifbench_inst'])} |"
            )
    lines += [
        "",
        "## Judges on the pilot samples (step 0) and during training",
        "",
        "Audit on the base policy's pilot samples (every verifiable constraint):",
        "",
        "| judge | precision | recall on non-compliant | recall on compliant | unparseable |",
        "|---|---|---|---|---|",
    ]
    for name, entry in audit["judges"].items():
        o = entry["overall"]
        lines.append(
            f"| {name} | {_fmt_num(o['precision'])} | {_fmt_num(o['recall_noncompliant'])} "
            f"| {_fmt_num(o['recall_compliant'])} | {o['unparseable']} |"
        )
    h = calibration["hackable"]
    lines += [
        "",
        f"HackableJudge: passes any answer of >= {h['min_words']} words"
        if h.get("min_words")
        else f"HackableJudge: reads the first {h['prefix_words']} words",
        f"(calibrated to recall on non-compliant {cfg.hackable.target_recall_noncompliant}); "
        f"NoisyJudge: recall_compliant {calibration['noisy']['recall_compliant']:.3f}, "
        f"recall_noncompliant {calibration['noisy']['recall_noncompliant']:.3f} (the hackable "
        "judge's audited recalls).",
        "",
        "Audit during training (first audit → mean of the last three; the hard arm audits the "
        "hackable judge as an untrained-against probe):",
        "",
        "| arm | seed | train reward | true compliance | recall on non-compliant | gap | hacked |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm, runs in training.items():
        for seed, t in zip(a.seeds, runs):
            pair = {
                key: f"{_fmt_num(t[key]['first'])} → {_fmt_num(t[key]['last3'])}"
                for key in ("train_reward", "true_compliance", "recall_noncompliant", "gap")
            }
            hacked = "yes" if t["hacked"] else ("–" if arm not in JUDGED_ARMS else "no")
            lines.append(
                f"| {LABELS.get(arm, arm)} | {seed} | {pair['train_reward']} | "
                f"{pair['true_compliance']} | {pair['recall_noncompliant']} | {pair['gap']} | "
                f"{hacked} |"
            )
    lines += [
        "",
        "![held-out truth](plots/heldout.png)",
        "",
        "![audit during training](plots/audit.png)",
        "",
        "## Closing note",
        "",
    ]
    lines += _closing(a, table, diffs, training, audit)
    return "\n".join(lines) + "\n"


def _closing(
    a: Any,
    table: dict[str, dict[str, Metric]],
    diffs: dict[str, dict[str, Metric]],
    training: dict[str, list[dict[str, Any]]],
    audit: dict[str, Any] | None = None,
) -> list[str]:
    out = []
    for name, entry in ((audit or {}).get("judges") or {}).items():
        o = entry["overall"]
        u = int(o.get("unparseable") or 0)
        if u and not o.get("n"):
            out.append(
                f"- {name}: every verdict on the pilot was unparseable ({u}/{u}), so its judged "
                "constraints always scored 0: that arm cannot be hacked and says nothing about "
                "judges (use a judge model that answers the verdict grammar)."
            )
    for arm in ("hackable", "noisy", "refined", "llm_judge"):
        if arm in training:
            runs = training[arm]
            k = sum(t["hacked"] for t in runs)
            drops = ", ".join(_fmt_num(t["recall_drop"]) for t in runs)
            out.append(
                f"- {LABELS[arm]}: hacked in {k} of {len(runs)} seeds (fall of the audited "
                f"recall on non-compliant pairs per seed: {drops}; threshold {a.hacked_drop})."
            )
    for arm, d in diffs.items():
        m = d["ifbench_inst"]
        out.append(
            f"- Hard-only minus {LABELS.get(arm, arm)} on IFBench types: {_fmt(m)} points: "
            f"{_verdict(m)}."
        )
    out.append(
        "- The policy is a 1.5M-parameter toy trained for a few steps: these are measurements "
        "of this setup, not of the paper's claim at scale; an effect a simulated judge "
        "produces by construction (its error rule) is not evidence by itself."
    )
    return out


__all__ = [
    "PromptResult",
    "bootstrap_difference",
    "cluster_bootstrap",
    "read_samples",
    "stage_report",
    "training_summary",
]
