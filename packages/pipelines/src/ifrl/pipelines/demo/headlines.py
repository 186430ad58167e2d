"""The demo's headline numbers: each one a figure of ``summary.json`` with its n and interval.

A :class:`Headline` is one claim of the report's first line (and of the README's "measured"
section): its text and the :class:`Figure` objects it quotes. Each figure names the dotted path
in ``summary.json`` its value comes from, the number of items it is measured over and a 95%
interval (Wilson for shares, a seeded bootstrap over items for means and ratios), so a test can
check every headline against the table it summarises. Both sides of a comparison are in one unit:
shares of the same eval set, or generated tokens per question for both labellers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ifrl.core.stats import Metric, proportion
from ifrl.prm.study import QuestionCost, cost_ratio_intervals


@dataclass(frozen=True, slots=True)
class Figure:
    """One number of a headline: ``value`` read from ``summary[source]`` (a dotted path),
    measured over ``n`` items, with its 95% interval ``[low, high]`` and the ``unit`` it is
    shown in (``share``: a percentage; ``ratio``: ``1.23x``; ``score``: a 0-1 mean, three
    decimals; ``mean``: a signed difference, three decimals)."""

    source: str
    value: float
    n: int
    low: float
    high: float
    unit: str = "share"

    def shown(self) -> str:
        """The figure as the headline writes it: value, interval, n."""
        if self.unit == "share":
            body = f"{100 * self.value:.1f}% [{100 * self.low:.1f}, {100 * self.high:.1f}]"
        elif self.unit == "ratio":
            body = f"{self.value:.2f}x [{self.low:.2f}, {self.high:.2f}]"
        elif self.unit == "score":
            body = f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"
        else:
            body = f"{self.value:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"
        return f"{body} n={self.n}"


@dataclass(frozen=True, slots=True)
class Headline:
    """One claim of the headline: its ``text`` (which contains every figure's :meth:`shown`)."""

    name: str
    text: str
    figures: tuple[Figure, ...]


def lookup(summary: Mapping[str, Any], source: str) -> Any:
    """The value at a dotted path of the summary (``"itool.final_accuracy"``)."""
    value: Any = summary
    for key in source.split("."):
        value = value[key]
    return value


def _share(summary: Mapping[str, Any], source: str, n: int) -> Figure:
    value = float(lookup(summary, source))
    m = proportion(round(value * n), n)
    # The interval holds the value (Wilson's bound at 0 or 1 can miss it by a rounding error).
    return Figure(source, value, n, min(m.ci_low, value), max(m.ci_high, value))


def _of(source: str, value: float, m: Metric, unit: str) -> Figure:
    return Figure(source, value, m.n, m.ci_low, m.ci_high, unit)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def headlines(s: Mapping[str, Any]) -> list[Headline]:
    """The headline claims of a demo summary, in the report's order."""
    out: list[Headline] = []
    t, it = s["toolace"], s["itool"]
    n_held = int(t["heldout_entries"])
    base, sft = (
        _share(s, "toolace.base_accuracy", n_held),
        _share(s, "toolace.sft_accuracy", n_held),
    )
    text = f"tool calls right by BFCL's AST rules, held-out tools: {base.shown()} base → {sft.shown()} after SFT"
    figures: tuple[Figure, ...] = (base, sft)
    if t.get("seen_n"):
        n_seen = int(t["seen_n"])
        seen_base = _share(s, "toolace.seen_base_accuracy", n_seen)
        seen_sft = _share(s, "toolace.seen_sft_accuracy", n_seen)
        text += f"; seen tools, new dialogs: {seen_base.shown()} → {seen_sft.shown()}"
        figures += (seen_base, seen_sft)
    out.append(Headline("toolace", text, figures))
    v, r = s.get("toolace_verification") or {}, s.get("toolace_rejected") or {}
    if v and r.get("seen_sft_score") is not None:
        ver = _of(
            "toolace.seen_sft_score",
            float(t["seen_sft_score"]),
            Metric(float(t["seen_sft_score"]), int(v["n"]), *t["seen_sft_score_ci95"]),
            "score",
        )
        rej = _of(
            "toolace_rejected.seen_sft_score",
            float(r["seen_sft_score"]),
            Metric(float(r["seen_sft_score"]), int(v["n"]), *r["seen_sft_score_ci95"]),
            "score",
        )
        gap = _of(
            "toolace_verification.seen_score_difference",
            float(v["seen_score_difference"]),
            Metric(float(v["seen_score_difference"]), int(v["n"]), *v["ci95"]),
            "mean",
        )
        rows = int(s["toolace"]["verified"].get("sft_rows") or 0)
        out.append(
            Headline(
                "toolace_verification",
                f"seen tools, partial call score after SFT on {rows} dialogs that passed "
                f"verification {ver.shown()} vs {rows} that failed it {rej.shown()}: "
                f"difference {gap.shown()} (dialogs, paired)",
                (ver, rej, gap),
            )
        )
    if it.get("eval_samples") and it.get("start_accuracy") is not None:
        n_it = int(it["eval_samples"])
        a = _share(s, "itool.start_accuracy", n_it)
        b = _share(s, "itool.final_accuracy", n_it)
        out.append(
            Headline(
                "itool",
                f"seen tools, exact calls: {a.shown()} after SFT → {b.shown()} after iTool",
                (a, b),
            )
        )
    n_if = int(s["if_rlvr"]["heldout_prompts"])
    key = "prompt_level_strict_acc"
    before = _share(s, f"if_rlvr.before.{key}", n_if)
    hard = _share(s, f"if_rlvr.after.{key}", n_if)
    noisy = _share(s, f"noisy_judge.after.{key}", n_if)
    out.append(
        Headline(
            "if_rlvr",
            f"held-out prompts fully compliant: {before.shown()} base → {hard.shown()} after "
            f"GRPO on the hard verifiers, {noisy.shown()} on the NoisyJudge",
            (before, hard, noisy),
        )
    )
    e = s["edu_prm"]
    per_q = e.get("cost_per_question") or {}
    questions = [
        QuestionCost(edu_tokens=edu_n, uniform_tokens=uni_n, edu_lines=0, uniform_lines=0)
        for edu_n, uni_n in zip(per_q.get("edu", []), per_q.get("uniform", []))
    ]
    ci = cost_ratio_intervals(questions)["cost_ratio_question_ci95"]
    if ci:
        value = float(e["cost_ratio_question"])
        cost = Figure("edu_prm.cost_ratio_question", value, len(questions), ci[0], ci[1], "ratio")
        out.append(
            Headline(
                "edu_cost",
                f"uniform MC spends {cost.shown()} EDU's generated tokens per question (questions)",
                (cost,),
            )
        )
    b = e["bon"]
    if b.get("bon_accuracy_ci95") and b.get("random_accuracy_ci95"):
        nq = int(b["questions"])
        bon = _of(
            "edu_prm.bon.bon_accuracy",
            float(b["bon_accuracy"]),
            Metric(float(b["bon_accuracy"]), nq, *b["bon_accuracy_ci95"]),
            "share",
        )
        rnd = _of(
            "edu_prm.bon.random_accuracy",
            float(b["random_accuracy"]),
            Metric(float(b["random_accuracy"]), nq, *b["random_accuracy_ci95"]),
            "share",
        )
        out.append(
            Headline(
                "bon",
                f"PRM Best-of-{b.get('n', '?')} on held-out questions: {bon.shown()} vs a random "
                f"pick {rnd.shown()} (question bootstrap)",
                (bon, rnd),
            )
        )
    return out


def headline(s: Mapping[str, Any]) -> str:
    """The headline claims in one line, with the run's total time."""
    parts = [h.text for h in headlines(s)]
    parts.append(f"total {s['total_seconds']:.0f}s wall, {s['total_cpu_seconds']:.0f}s CPU")
    return "; ".join(parts)


__all__ = ["Figure", "Headline", "headline", "headlines", "lookup"]
