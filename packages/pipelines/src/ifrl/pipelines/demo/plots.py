"""The demo report's plots and its one-picture overview (matplotlib, Agg backend)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ifrl.evals.plots import pyplot
from ifrl.pipelines.demo.headlines import headlines
from ifrl.pipelines.demo.report import percent


def _save(fig: Any, path: Path, dpi: int = 100) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


def _plot_rewards(ax: Any, s: Mapping[str, Any], legend: int = 7) -> None:
    from matplotlib.ticker import MaxNLocator

    curve = s["if_rlvr"]["reward_curve"]
    nj = s["noisy_judge"]
    ax.plot(range(1, len(curve) + 1), curve, marker="o", label="hard verifiers (reward = truth)")
    ax.plot(
        range(1, len(nj["judge_reward"]) + 1),
        nj["judge_reward"],
        marker="s",
        label="NoisyJudge reward",
    )
    ax.plot(
        range(1, len(nj["true_compliance"]) + 1),
        nj["true_compliance"],
        marker="^",
        linestyle="--",
        label="true compliance under NoisyJudge",
    )
    ax.set_xlabel("GRPO step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("mean reward (share of constraints)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("GRPO rewards: hard verifiers vs NoisyJudge")
    ax.legend(fontsize=legend)


def _bars(
    ax: Any,
    groups: list[str],
    series: Mapping[str, list[float]],
    ylim: float = 1.0,
    n: Mapping[str, list[int]] | None = None,
) -> None:
    """Grouped bars with their values written on top (NaN: no bar). With ``n`` (items per bar,
    0 for none), the bars are shares and get their Wilson 95% intervals as error bars."""
    from ifrl.core.stats import wilson_interval

    width = 0.8 / max(1, len(series))
    for j, (label, values) in enumerate(series.items()):
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(groups))]
        counts = (n or {}).get(label, [0] * len(values))
        kept = [(x, v, k) for x, v, k in zip(xs, values, counts) if v == v]
        errs: list[list[float]] = [[], []]
        for _, v, k in kept:
            low, high = wilson_interval(round(v * k), k) if k else (v, v)
            errs[0].append(max(0.0, v - low))
            errs[1].append(max(0.0, high - v))
        bars = ax.bar(
            [x for x, _, _ in kept],
            [v for _, v, _ in kept],
            width,
            label=label,
            yerr=errs if n else None,
            capsize=2 if n else 0,
        )
        for b, (_, v, _) in zip(bars, kept):
            ax.annotate(
                f"{v:.2f}",
                (b.get_x() + b.get_width() / 2, b.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylim(0, ylim)


def _plot_compliance(ax: Any, s: Mapping[str, Any]) -> None:
    """Held-out compliance before and after GRPO (both rewards), with Wilson intervals."""
    keys = ["prompt_level_strict_acc", "inst_level_strict_acc"]
    nj, r = s["noisy_judge"], s["if_rlvr"]
    prompts = int(r["heldout_prompts"])
    n_inst = [prompts, 0]  # instruction-level: n is the constraint count (no interval drawn)
    series = {
        "before GRPO": [r["before"].get(k, 0.0) for k in keys],
        "GRPO, hard reward": [r["after"].get(k, 0.0) for k in keys],
        "GRPO, NoisyJudge": [nj["after"].get(k, 0.0) for k in keys],
    }
    _bars(
        ax,
        ["prompt-level strict", "instruction-level strict"],
        series,
        n={k: n_inst for k in series},
    )
    ax.set_ylabel("share compliant (95% CI)")
    ax.set_title(f"Held-out constraint compliance (n={prompts} prompts)")
    ax.legend(fontsize=7)


def _tool_series(s: Mapping[str, Any]) -> tuple[list[str], dict[str, list[float]]]:
    """Tool-call numbers: exact accuracy and matcher score for base, SFT and SFT + iTool."""
    t, it = s["toolace"], s["itool"]
    groups = ["held-out tools\n(BFCL exact)", "held-out tools\n(matcher score)"]
    series = {
        "base": [t.get("base_accuracy", 0.0), t.get("base_score", 0.0)],
        "after SFT": [t.get("sft_accuracy", 0.0), t.get("sft_score", 0.0)],
    }
    if it.get("rows"):
        groups += ["seen tools, new dialogs\n(exact)", "seen tools, new dialogs\n(matcher score)"]
        series["base"] += [t.get("seen_base_accuracy", 0.0), t.get("seen_base_score", 0.0)]
        series["after SFT"] += [it["start_accuracy"] or 0.0, it["start_score"] or 0.0]
        series["after SFT + 1 iTool iteration"] = [
            float("nan"),
            float("nan"),
            it["final_accuracy"] or 0.0,
            it["final_score"] or 0.0,
        ]
    return groups, series


def _plot_tools(ax: Any, s: Mapping[str, Any], compact: bool = False) -> None:
    """Tool-call bars; ``compact`` (the overview) shows the matcher score only."""
    groups, series = _tool_series(s)
    if compact:
        keep = [i for i, g in enumerate(groups) if "score" in g]
        groups = [groups[i].replace("\n(matcher score)", "") for i in keep]
        series = {k: [v[i] for i in keep] for k, v in series.items()}
        t, it = s["toolace"], s["itool"]
        ax.set_title(
            "Tool calls: matcher score, base → SFT → iTool\n"
            f"(exact accuracy: held-out tools {percent(t.get('sft_accuracy'))} after SFT; seen tools "
            f"{percent(it.get('start_accuracy'))} → {percent(it.get('final_accuracy'))} with iTool)",
            fontsize=9,
        )
    else:
        ax.set_title("Tool calls: base → SFT → iTool")
    top = max([v for vs in series.values() for v in vs if v == v] + [0.0])
    _bars(ax, groups, series, ylim=min(1.0, max(0.3, 1.4 * top)))
    ax.set_ylabel("mean matcher score" if compact else "exact share / mean matcher score")
    ax.tick_params(axis="x", labelsize=7 if not compact else 8)
    ax.legend(fontsize=7)


def _plot_cost(ax: Any, s: Mapping[str, Any]) -> None:
    """Generated tokens per question for both labellers: one unit on both sides."""
    e = s["edu_prm"]
    edu, uni = e["uniform_edu_cost"] or e["edu_cost"], e["uniform_cost"]
    values = []
    for c in (edu, uni):
        q = c.get("questions") or 0
        values.append(float(c.get("generated_tokens", 0)) / q if q else float("nan"))
    _bars(ax, ["generated tokens per question"], {"EDU": values[:1], "uniform MC": values[1:]})
    top = max([v for v in values if v == v] + [1.0])
    ax.set_ylim(0, 1.25 * top)
    ax.set_ylabel("generated tokens per question")
    q = edu.get("questions")
    ratio = values[1] / values[0] if values[0] and values[0] == values[0] else None
    ax.set_title(
        f"Label cost on {q} questions"
        + (f": uniform MC {ratio:.2f}x EDU" if ratio and ratio == ratio else "")
    )
    ax.legend(fontsize=7)


def _plot_bon(ax: Any, s: Mapping[str, Any]) -> None:
    b = s["edu_prm"]["bon"]
    keys = [
        ("random_accuracy", "random pick"),
        ("majority_accuracy", "majority vote"),
        ("bon_accuracy", "PRM Best-of-N"),
        ("oracle_accuracy", "oracle"),
    ]
    values = [float(b.get(k) or 0.0) for k, _ in keys]
    errs: list[list[float]] = [[], []]
    for (k, _), v in zip(keys, values):
        ci = b.get(f"{k}_ci95") or [v, v]
        errs[0].append(max(0.0, v - (ci[0] if ci[0] is not None else v)))
        errs[1].append(max(0.0, (ci[1] if ci[1] is not None else v) - v))
    bars = ax.bar(
        [name for _, name in keys],
        values,
        yerr=errs,
        capsize=3,
        color=["#999999", "#bbbb55", "#1f77b4", "#2ca02c"],
    )
    for bar, v in zip(bars, values):
        ax.annotate(f"{v:.2f}", (bar.get_x() + 0.05, v), ha="left", va="bottom", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("held-out accuracy (95% bootstrap CI)")
    ax.tick_params(axis="x", labelsize=8)
    auc = b.get("auroc")
    ax.set_title(
        f"EDU-PRM Best-of-{b.get('n', '?')}" + (f" (AUROC {auc:.2f})" if auc is not None else "")
    )


def _plot_recipe_time(ax: Any, s: Mapping[str, Any]) -> None:
    rs = s["recipe_seconds"]
    names = list(rs)
    ax.barh(names[::-1], [rs[n]["wall"] for n in names][::-1], label="wall")
    ax.barh(names[::-1], [rs[n]["cpu"] for n in names][::-1], height=0.4, label="CPU (process)")
    ax.set_xlabel("seconds")
    ax.set_title(f"Time per recipe (total {s['total_seconds']:.0f}s wall)")
    ax.legend(fontsize=7)


def make_plots(run_dir: Path, s: Mapping[str, Any]) -> dict[str, Path]:
    """PNG plots in ``run_dir/plots``: reward curves, compliance, SFT loss, tool calls, label cost,
    Best-of-N, PRM loss and stage times."""
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()
    out = run_dir / "plots"
    out.mkdir(exist_ok=True)
    paths: dict[str, Path] = {}

    fig, ax = plt.subplots(figsize=(6, 3.5))
    _plot_rewards(ax, s)
    paths["rewards"] = _save(fig, out / "grpo_rewards.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    _plot_compliance(ax, s)
    paths["compliance"] = _save(fig, out / "heldout_compliance.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    loss = s["toolace"]["sft_loss"]
    ax.plot(range(1, len(loss) + 1), loss, marker=".")
    ax.set_xlabel("SFT step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    ax.set_title("ToolACE SFT loss (easy-to-hard curriculum)")
    paths["sft"] = _save(fig, out / "sft_loss.png")

    fig, ax = plt.subplots(figsize=(8, 3.8))
    _plot_tools(ax, s)
    paths["tools"] = _save(fig, out / "tool_calls.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    _plot_cost(ax, s)
    paths["cost"] = _save(fig, out / "label_cost.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    _plot_bon(ax, s)
    paths["bon"] = _save(fig, out / "best_of_n.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    prm_loss = s["edu_prm"]["prm_loss"]
    ax.plot(range(1, len(prm_loss) + 1), prm_loss, marker=".")
    ax.set_xlabel("PRM training step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    ax.set_title("PRM training loss on EDU labels")
    paths["prm"] = _save(fig, out / "prm_loss.png")

    fig, ax = plt.subplots(figsize=(7, 0.22 * len(s["stage_seconds"]) + 1.2))
    names = list(s["stage_seconds"])
    ax.barh(names[::-1], [s["stage_seconds"][n] for n in names][::-1], label="wall")
    ax.barh(
        names[::-1],
        [s["stage_cpu_seconds"].get(n, 0.0) for n in names][::-1],
        height=0.4,
        label="CPU (process)",
    )
    ax.set_xlabel("seconds")
    ax.set_title("Time per stage")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7)
    paths["time"] = _save(fig, out / "stage_seconds.png")
    return paths


def make_overview(path: Path, s: Mapping[str, Any]) -> Path:
    """One PNG with the key plots of the four recipes and the headline numbers (for a README)."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.2))
    _plot_rewards(axes[0][0], s, legend=6)
    _plot_tools(axes[0][1], s, compact=True)
    _plot_bon(axes[0][2], s)
    _plot_cost(axes[1][0], s)
    _plot_compliance(axes[1][1], s)
    _plot_recipe_time(axes[1][2], s)
    fig.suptitle(
        "ifrl demo"
        + (" (quick)" if s["quick"] else "")
        + " — micro policies, CPU, offline (value [95% interval] n=items)",
        fontsize=11,
    )
    lines = [textwrap.fill(h.text, 150, subsequent_indent="    ") for h in headlines(s)]
    fig.text(0.01, 0.005, "\n".join(lines), fontsize=7.5, va="bottom", ha="left")
    fig.tight_layout(rect=(0, 0.015 + 0.0165 * sum(x.count("\n") + 1 for x in lines), 1, 0.97))
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path
