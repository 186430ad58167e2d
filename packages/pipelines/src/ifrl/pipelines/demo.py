"""``ifrl demo``: small configurations of the four recipes on the tiny model, and a report.

Runs, offline on a CPU: ``toolace`` (API pool → dialogs → verification → SFT → held-out
BFCL-style eval), ``itool`` from the toolace run's SFT model (deficiency → MCTS pairs → SimPO →
eval), ``if-rlvr`` with the hard verifiers as GRPO's reward, the same GRPO run with a
``NoisyJudge`` reward that misses most non-compliant responses (the reward-hacking experiment:
the judge's reward beside the true compliance), and ``edu-prm`` on synthetic arithmetic (EDU
labels with the uniform Monte Carlo baseline's cost beside them, PRM, Best-of-N). Writes
``report.md``, ``report.html`` (plots embedded), ``report-overview.png`` (one picture with the
headline numbers) and ``summary.json`` in ``OUT/demo-<time>/``.
"""

from __future__ import annotations

import base64
import html
import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ifrl.core.config import from_mapping
from ifrl.core.jsonl import read_jsonl, write_json, write_text
from ifrl.pipelines.recipe import get_recipe, run_recipe

Echo = Callable[[str], None]


#: The runs of the demo, in order: (name, recipe).
RUNS = (
    ("toolace", "toolace"),
    ("itool", "itool"),
    ("if-rlvr-hard", "if-rlvr"),
    ("if-rlvr-noisy", "if-rlvr"),
    ("edu-prm", "edu-prm"),
)


def demo_configs(quick: bool) -> dict[str, dict[str, Any]]:
    """The runs' configs (recipe config mappings), small enough for a 2-core CPU.

    ``itool`` starts from the ``toolace`` run's SFT model; :func:`run_demo` fills in its path.
    """
    if quick:
        toolace: dict[str, Any] = {
            "apis": {"n": 6, "heldout": 6, "max_params": 2},
            "dialogs": {"n": 8, "max_tools": 2, "types": ["single"]},
            "verify": {"first_turn_only": True},
            "sft": {
                "curriculum": "tool_calls",
                "curriculum_stages": 2,
                "trainer": {
                    "max_steps": 2,
                    "per_device_batch_size": 2,
                    "learning_rate": 1e-3,
                    "save_steps": 1,
                    "max_length": 1024,
                    "progress": False,
                },
            },
            "eval": {"n": 2, "max_new_tokens": 8, "seen_tools": 2},
        }
        itool: dict[str, Any] = {
            "data": {"eval_limit": 2},
            "itool": {
                "iterations": 1,
                "sft_steps": 0,
                "deficiency_fraction": 0.5,
                "mcts_iterations": 1,
                "mcts_actions": 2,
                "mcts_max_new_tokens": 8,
                "max_steps": 1,
                "per_device_batch_size": 2,
                "learning_rate": 1e-4,
                "eval_max_new_tokens": 8,
                "device": "cpu",
                "progress": False,
            },
        }
        grpo = {
            "max_steps": 2,
            "num_generations": 2,
            "per_device_batch_size": 4,
            "max_completion_length": 8,
            "learning_rate": 1e-3,
            "progress": False,
        }
        rl: dict[str, Any] = {
            "seeds": {"n": 8},
            "audit": {"enabled": True, "samples": 2, "max_new_tokens": 8},
            "eval": {"max_new_tokens": 8},
        }
        edu: dict[str, Any] = {
            "policy": {"warmup_problems": 64, "warmup_epochs": 1.0},
            "questions": {"train": 4, "eval": 3},
            "branch": {"max_depth": 1, "max_branches": 2, "max_new_tokens": 16},
            "uniform": {"rollouts": 2},
            "prm": {"epochs": 1.0, "batch_size": 4, "max_length": 96},
            "bon": {"n": 2},
        }
    else:
        toolace = {
            "apis": {"n": 6, "heldout": 6, "max_params": 1},
            "dialogs": {"n": 400, "max_tools": 2, "types": ["single"]},
            "verify": {"first_turn_only": True},
            "sft": {
                "curriculum": "tool_calls",
                "curriculum_stages": 2,
                "trainer": {
                    "max_steps": 400,
                    "per_device_batch_size": 4,
                    "learning_rate": 3e-3,
                    "lr_scheduler": "cosine",
                    "warmup_steps": 20,
                    "save_steps": 200,
                    "max_length": 1024,
                },
            },
            "eval": {"n": 24, "max_new_tokens": 48, "seen_tools": 24},
        }
        itool = {
            "data": {"eval_limit": 24},
            "itool": {
                "iterations": 1,
                "sft_steps": 0,
                "deficiency_fraction": 0.25,
                "mcts_iterations": 4,
                "mcts_actions": 3,
                "mcts_temperature": 1.0,
                "mcts_max_new_tokens": 48,
                "max_steps": 30,
                "per_device_batch_size": 4,
                "learning_rate": 5e-4,
                "eval_max_new_tokens": 48,
                "device": "cpu",
            },
        }
        grpo = {
            "max_steps": 20,
            "num_generations": 8,
            "per_device_batch_size": 16,
            "max_completion_length": 32,
            "learning_rate": 1e-3,
            "save_steps": 10,
        }
        rl = {
            "seeds": {"n": 48},
            "audit": {"enabled": True, "samples": 2, "max_new_tokens": 32},
            "eval": {"max_new_tokens": 48},
        }
        edu = {
            "policy": {"warmup_problems": 600, "warmup_epochs": 2.0},
            "questions": {"train": 80, "eval": 40},
            "branch": {"max_depth": 3, "max_branches": 8, "max_new_tokens": 48},
            "uniform": {"rollouts": 8, "questions": 40},
            "prm": {"epochs": 4.0, "batch_size": 16, "max_length": 160},
            "bon": {"n": 8},
        }
    judge = {"recall_compliant": 1.0, "recall_noncompliant": 0.2, "seed": 0}
    return {
        "toolace": toolace,
        "itool": itool,
        "if-rlvr-hard": {**rl, "judge": judge, "grpo": {"reward": "hard", "trainer": grpo}},
        "if-rlvr-noisy": {**rl, "judge": judge, "grpo": {"reward": "noisy_judge", "trainer": grpo}},
        "edu-prm": edu,
    }


def run_demo(out_root: str | Path = "runs", *, quick: bool = False, echo: Echo = print) -> Path:
    """Run the demo and return its run directory (holding ``report.md`` and ``report.html``)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_dir = Path(out_root) / f"demo-{stamp}{'-quick' if quick else ''}"
    run_dir.mkdir(parents=True, exist_ok=False)
    start, cpu_start = time.perf_counter(), time.process_time()
    states: dict[str, dict[str, Any]] = {}
    timing: dict[str, dict[str, float]] = {}
    configs = demo_configs(quick)
    for i, (name, recipe_name) in enumerate(RUNS, 1):
        mapping = dict(configs[name])
        if name == "itool":
            # iTool starts from the toolace run: its SFT model, SFT rows and the held-out dialogs
            # on the training tools (the SFT model's in-distribution eval set).
            mapping["start"] = {"toolace_run": str(run_dir / "toolace")}
            mapping["data"] = {
                **mapping.get("data", {}),
                "eval": str(run_dir / "toolace/eval/seen_dialogs.jsonl"),
            }
        recipe = get_recipe(recipe_name)
        cfg: Any = from_mapping(recipe.config_cls, mapping, f"demo:{name}")
        write_json(run_dir / f"{name}.config.json", mapping)
        echo(f"== [{i}/{len(RUNS)}] {name} ({recipe.description})")
        t0, c0 = time.perf_counter(), time.process_time()
        states[name] = run_recipe(recipe, cfg, run_dir / name, echo=echo)
        timing[name] = {
            "wall": round(time.perf_counter() - t0, 1),
            "cpu": round(time.process_time() - c0, 1),
        }
        echo(f"== {name}: {timing[name]['wall']:.0f}s wall, {timing[name]['cpu']:.0f}s CPU")
    total = {
        "wall": round(time.perf_counter() - start, 1),
        "cpu": round(time.process_time() - cpu_start, 1),
    }
    summary = summarize(run_dir, states, total, quick, timing)
    write_json(run_dir / "summary.json", summary)
    echo("writing the report (plots, report.md, report.html, report-overview.png)")
    plots = make_plots(run_dir, summary)
    make_overview(run_dir / "report-overview.png", summary)
    write_text(run_dir / "report.md", report_markdown(summary, plots))
    write_text(run_dir / "report.html", report_html(summary, plots, run_dir))
    echo(headline(summary))
    return run_dir


def _metrics(path: Path) -> list[dict[str, Any]]:
    return list(read_jsonl(path)) if path.exists() else []


def _result(states: Mapping[str, Any], run: str, stage: str) -> dict[str, Any]:
    return dict(states[run].get(stage, {}).get("result") or {})


def summarize(
    run_dir: Path,
    states: Mapping[str, Any],
    total: Mapping[str, float],
    quick: bool,
    timing: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """The numbers of the report, from the run directories."""
    tool = _result(states, "toolace", "eval")
    hard = _result(states, "if-rlvr-hard", "eval")
    noisy_m = _metrics(run_dir / "if-rlvr-noisy/grpo/metrics.jsonl")
    hard_m = _metrics(run_dir / "if-rlvr-hard/grpo/metrics.jsonl")
    judge = [m.get("rewards/judge_reward/mean", 0.0) for m in noisy_m]
    truth = [m.get("rewards/true_compliance/mean", 0.0) for m in noisy_m]
    it = _result(states, "itool", "summary")
    mcts = _result(states, "itool", "mcts-1")
    uni = _result(states, "edu-prm", "uniform")
    bon = _result(states, "edu-prm", "bon")
    prm_train = run_dir / "edu-prm/train.json"
    return {
        "quick": quick,
        "total_seconds": total["wall"],
        "total_cpu_seconds": total["cpu"],
        "recipe_seconds": dict(timing or {}),
        "toolace": {
            **{k: v for k, v in tool.items() if k != "n"},
            "heldout_entries": tool["n"],
            "verified": _result(states, "toolace", "verify"),
            "sft_loss": [m["loss"] for m in _metrics(run_dir / "toolace/sft/model/metrics.jsonl")],
        },
        "itool": {
            "rows": it.get("rows", []),
            "start_accuracy": it.get("start_accuracy"),
            "final_accuracy": it.get("final_accuracy"),
            "start_score": it.get("start_score"),
            "final_score": it.get("final_score"),
            "eval_samples": _result(states, "itool", "data").get("eval_samples"),
            "train_samples": _result(states, "itool", "data").get("train_samples"),
            "deficient": _result(states, "itool", "deficiency-1").get("deficient"),
            "mcts": mcts.get("mcts", {}),
            "baseline": mcts.get("baseline", {}),
            "simpo": {
                k: v
                for k, v in _result(states, "itool", "simpo-1").items()
                if isinstance(v, (int, float, str)) and k != "model"
            },
        },
        "if_rlvr": {
            "before": hard["base"],
            "after": hard["grpo"],
            "reward_curve": [m.get("rewards/true_compliance/mean", 0.0) for m in hard_m],
            "audit": states["if-rlvr-hard"].get("audit", {}).get("result"),
            "refine": states["if-rlvr-hard"].get("refine", {}).get("result"),
            "train_prompts": states["if-rlvr-hard"]["synthesize"]["result"]["train"],
            "heldout_prompts": states["if-rlvr-hard"]["synthesize"]["result"]["heldout"],
        },
        "noisy_judge": {
            "judge_reward": judge,
            "true_compliance": truth,
            "mean_gap": (sum(judge) - sum(truth)) / len(judge) if judge else 0.0,
            "after": states["if-rlvr-noisy"]["eval"]["result"]["grpo"],
        },
        "edu_prm": {
            "questions": _result(states, "edu-prm", "questions"),
            "leaf_accuracy": _result(states, "edu-prm", "label").get("leaf_accuracy"),
            "edu_cost": _result(states, "edu-prm", "label").get("cost", {}),
            "uniform_cost": uni.get("cost", {}),
            "uniform_edu_cost": uni.get("edu_cost", {}),
            "cost_ratio": uni.get("generated_tokens_per_step_ratio"),
            "agreement": uni.get("agreement", {}),
            "prm_loss": (
                json.loads(prm_train.read_text(encoding="utf-8"))["losses"]
                if prm_train.exists()
                else []
            ),
            "bon": bon,
        },
        "stage_seconds": {
            f"{run}/{stage}": entry.get("seconds", 0.0)
            for run, st in states.items()
            for stage, entry in st.items()
        },
        "stage_cpu_seconds": {
            f"{run}/{stage}": entry.get("cpu_seconds", 0.0)
            for run, st in states.items()
            for stage, entry in st.items()
        },
    }


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path, dpi: int = 100) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    _pyplot().close(fig)
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


def _bars(ax: Any, groups: list[str], series: Mapping[str, list[float]], ylim: float = 1.0) -> None:
    """Grouped bars with their values written on top (NaN: no bar)."""
    width = 0.8 / max(1, len(series))
    for j, (label, values) in enumerate(series.items()):
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(groups))]
        kept = [(x, v) for x, v in zip(xs, values) if v == v]
        bars = ax.bar([x for x, _ in kept], [v for _, v in kept], width, label=label)
        for b, (_, v) in zip(bars, kept):
            ax.annotate(
                f"{v:.2f}",
                (b.get_x() + b.get_width() / 2, b.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylim(0, ylim)


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
            f"(exact accuracy: held-out tools {_pct(t.get('sft_accuracy'))} after SFT; seen tools "
            f"{_pct(it.get('start_accuracy'))} → {_pct(it.get('final_accuracy'))} with iTool)",
            fontsize=9,
        )
    else:
        ax.set_title("Tool calls: base → SFT → iTool")
    top = max([v for vs in series.values() for v in vs if v == v] + [0.0])
    _bars(ax, groups, series, ylim=min(1.0, max(0.3, 1.4 * top)))
    ax.tick_params(axis="x", labelsize=7 if not compact else 8)
    ax.legend(fontsize=7)


def _plot_cost(ax: Any, s: Mapping[str, Any]) -> None:
    e = s["edu_prm"]
    edu, uni = e["uniform_edu_cost"] or e["edu_cost"], e["uniform_cost"]
    keys = [
        ("generated_tokens_per_step", "generated tokens"),
        ("forward_tokens_per_step", "forward tokens / 10"),
        ("calls_per_step", "queries × 10"),
    ]
    scale = {
        "generated_tokens_per_step": 1.0,
        "forward_tokens_per_step": 0.1,
        "calls_per_step": 10.0,
    }
    groups = [label for _, label in keys]
    series = {
        "EDU": [float(edu.get(k, 0.0)) * scale[k] for k, _ in keys],
        "uniform MC": [float(uni.get(k, 0.0)) * scale[k] for k, _ in keys],
    }
    top = max([1.0, *series["EDU"], *series["uniform MC"]]) * 1.2
    _bars(ax, groups, series, ylim=top)
    ax.set_ylabel("per labeled step")
    ratio = e.get("cost_ratio")
    ax.set_title(
        "Label cost per step: EDU vs uniform MC"
        + (f" (uniform {ratio:.1f}x tokens)" if ratio else "")
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

    plt = _pyplot()
    out = run_dir / "plots"
    out.mkdir(exist_ok=True)
    paths: dict[str, Path] = {}

    fig, ax = plt.subplots(figsize=(6, 3.5))
    _plot_rewards(ax, s)
    paths["rewards"] = _save(fig, out / "grpo_rewards.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    keys = ["prompt_level_strict_acc", "inst_level_strict_acc"]
    nj = s["noisy_judge"]
    _bars(
        ax,
        keys,
        {
            "before GRPO": [s["if_rlvr"]["before"].get(k, 0.0) for k in keys],
            "after GRPO (hard reward)": [s["if_rlvr"]["after"].get(k, 0.0) for k in keys],
            "after GRPO (NoisyJudge)": [nj["after"].get(k, 0.0) for k in keys],
        },
    )
    ax.set_title("Held-out constraint compliance")
    ax.legend(fontsize=7)
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
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.2))
    _plot_rewards(axes[0][0], s, legend=6)
    _plot_tools(axes[0][1], s, compact=True)
    _plot_bon(axes[0][2], s)
    _plot_cost(axes[1][0], s)
    ax = axes[1][1]
    keys = ["prompt_level_strict_acc", "inst_level_strict_acc"]
    _bars(
        ax,
        ["prompt-level strict", "instruction-level strict"],
        {
            "before GRPO": [s["if_rlvr"]["before"].get(k, 0.0) for k in keys],
            "GRPO, hard reward": [s["if_rlvr"]["after"].get(k, 0.0) for k in keys],
            "GRPO, NoisyJudge": [s["noisy_judge"]["after"].get(k, 0.0) for k in keys],
        },
    )
    ax.set_title("Held-out constraint compliance (IF-RLVR)")
    ax.legend(fontsize=7)
    _plot_recipe_time(axes[1][2], s)
    fig.suptitle(
        "ifrl demo"
        + (" (quick)" if s["quick"] else "")
        + " — tiny model, CPU, offline\n"
        + headline(s, short=True),
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def _num(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.3f}"


def _count(v: Any) -> str:
    return "n/a" if v is None else str(round(float(v)))


def _rate(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.1f}"


def _ci(m: Mapping[str, Any], key: str) -> str:
    """A metric with its bootstrap interval, ``0.350 [0.200, 0.500]``."""
    ci = m.get(f"{key}_ci95")
    if not ci or None in ci:
        return _num(m.get(key))
    return f"{_num(m.get(key))} [{ci[0]:.3f}, {ci[1]:.3f}]"


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f}%"


def headline(s: Mapping[str, Any], short: bool = False) -> str:
    """The demo's headline numbers in one line (two with ``short``, for the overview)."""
    t, r, n, it, e = s["toolace"], s["if_rlvr"], s["noisy_judge"], s["itool"], s["edu_prm"]
    b = e["bon"]
    ratio = e.get("cost_ratio")
    parts = [
        f"tool calls (matcher score) {_num(t.get('base_score'))} base → "
        f"{_num(it.get('start_score'))} SFT → {_num(it.get('final_score'))} iTool "
        f"(exact {_pct(it.get('start_accuracy'))} → {_pct(it.get('final_accuracy'))})",
        f"IF prompt-level strict {_pct(r['before'].get('prompt_level_strict_acc', 0))} → "
        f"{_pct(r['after'].get('prompt_level_strict_acc', 0))} after GRPO; NoisyJudge reward "
        f"exceeds true compliance by {_pct(n['mean_gap'])}",
        f"EDU labels {ratio:.1f}x cheaper per step than uniform MC" if ratio else "EDU labels",
        f"PRM Best-of-{b.get('n', '?')} {_pct(b.get('bon_accuracy'))} vs random "
        f"{_pct(b.get('random_accuracy'))}, oracle {_pct(b.get('oracle_accuracy'))}",
        f"total {s['total_seconds']:.0f}s wall, {s['total_cpu_seconds']:.0f}s CPU",
    ]
    if short:
        return "; ".join(parts[:2]) + "\n" + "; ".join(parts[2:])
    return "; ".join(parts)


def report_markdown(s: Mapping[str, Any], plots: Mapping[str, Path]) -> str:
    """The Markdown report (plots linked as relative paths)."""
    t, r, n, it, e = s["toolace"], s["if_rlvr"], s["noisy_judge"], s["itool"], s["edu_prm"]
    rel = {k: f"plots/{p.name}" for k, p in plots.items()}
    keys = sorted(set(r["before"]) | set(r["after"]))
    b = e["bon"]
    edu, uni = e["uniform_edu_cost"] or e["edu_cost"], e["uniform_cost"]
    agree = e["agreement"] or {}
    mcts, base = it["mcts"], it["baseline"]
    rt = s["recipe_seconds"]
    lines = [
        "# ifrl demo" + (" (quick)" if s["quick"] else ""),
        "",
        "Small configurations of the four recipes — `toolace`, `itool`, `if-rlvr` (twice: hard "
        "verifiers and NoisyJudge as the reward) and `edu-prm` — on the seeded tiny model "
        "(2 layers, hidden size 256), offline on a CPU. The model is tiny and trained for "
        "minutes, so the point is that every stage runs and is measured; the numbers move with "
        "a real model (see the `examples/` configs).",
        "",
        f"**Headline:** {headline(s)}.",
        "",
        "![overview](report-overview.png)",
        "",
        "## GRPO reward curves and the hard-only vs NoisyJudge experiment",
        "",
        f"![GRPO rewards]({rel['rewards']})",
        "",
        "The same GRPO run twice: rewarded by the hard verifiers, and by a `NoisyJudge` that "
        "says *yes* to 80% of non-compliant responses (recall on non-compliant 0.2). Under the "
        "judge, the reward the policy optimises and its true compliance (hard verifiers, logged "
        "with weight 0) come apart:",
        "",
        "| step | NoisyJudge reward | true compliance |",
        "|---|---|---|",
        *(
            f"| {i} | {a:.3f} | {c:.3f} |"
            for i, (a, c) in enumerate(zip(n["judge_reward"], n["true_compliance"]), 1)
        ),
        f"| **mean gap** | **{n['mean_gap']:+.3f}** | |",
        "",
        "## Held-out constraint compliance (IFEval-style, synthesized held-out prompts)",
        "",
        f"![compliance]({rel['compliance']})",
        "",
        "| metric | before GRPO | after GRPO (hard) | after GRPO (NoisyJudge) |",
        "|---|---|---|---|",
        *(
            f"| {k} | {r['before'].get(k, 0):.3f} | {r['after'].get(k, 0):.3f} | {n['after'].get(k, 0):.3f} |"
            for k in keys
        ),
        "",
        f"Synthesized prompts: {r['train_prompts']} for training, {r['heldout_prompts']} held out.",
        *(
            [
                "",
                f"Judge audit on the base model's samples ({r['audit']['pairs']} response × "
                f"constraint pairs): NoisyJudge precision {_num(r['audit'].get('precision'))}, "
                f"recall on non-compliant {_num(r['audit'].get('recall_noncompliant'))}, "
                f"base rate of compliance {_num(r['audit'].get('base_rate'))}. The learnability "
                f"filter kept {r['refine']['kept']} training prompts and dropped "
                f"{r['refine']['dropped']} that no pilot sample satisfied"
                + (
                    " (none was left, so GRPO trained on all)."
                    if r["refine"].get("fallback_to_all")
                    else "."
                ),
            ]
            if r.get("audit") and r.get("refine")
            else []
        ),
        "",
        "## Tool use: ToolACE SFT, then an iTool iteration",
        "",
        f"![tool calls]({rel['tools']})",
        "",
        f"![SFT loss]({rel['sft']})",
        "",
        f"Dialogs kept by verification: {t['verified'].get('kept')} (rejected "
        f"{t['verified'].get('rejected')}). Exact = every call right (BFCL's checker for the "
        "toolace eval, the structured matcher for iTool's); matcher score = partial credit for "
        "the function name, argument names and argument values (`ifrl.core.matcher`).",
        "",
        "| eval set | model | exact | matcher score | n |",
        "|---|---|---|---|---|",
        f"| held-out tools (BFCL-style) | base | {_num(t.get('base_accuracy'))} | {_num(t.get('base_score'))} | {t['heldout_entries']} |",
        f"| held-out tools (BFCL-style) | after SFT | {_num(t.get('sft_accuracy'))} | {_num(t.get('sft_score'))} | {t['heldout_entries']} |",
        *(
            [
                f"| seen tools, new dialogs (BFCL-style) | base | {_num(t.get('seen_base_accuracy'))} | {_num(t.get('seen_base_score'))} | {t.get('seen_n')} |",
                f"| seen tools, new dialogs (BFCL-style) | after SFT | {_num(t.get('seen_sft_accuracy'))} | {_num(t.get('seen_sft_score'))} | {t.get('seen_n')} |",
            ]
            if "seen_n" in t
            else []
        ),
        *(
            "| seen tools, new dialogs (iTool eval) | "
            + (
                "after SFT (iteration 0)"
                if row["iteration"] == 0
                else f"after iTool iteration {row['iteration']}"
            )
            + f" | {_num(row['tool_call_accuracy'])} | {_num(row['tool_call_score'])} | {it.get('eval_samples')} |"
            for row in it["rows"]
        ),
        "",
        f"iTool iteration 1: {it.get('deficient')} deficient samples (highest gold perplexity) "
        f"of {it.get('train_samples')}; MCTS made {_count(mcts.get('pairs'))} preference pairs "
        f"with {_count(mcts.get('model_calls'))} model calls "
        f"({_rate(mcts.get('pairs_per_1000_calls'))} pairs per 1000 calls), the best-vs-worst "
        f"baseline at the same budget {_count(base.get('pairs'))} pairs "
        f"({_rate(base.get('pairs_per_1000_calls'))} per 1000 calls); SimPO trained on "
        f"{it['simpo'].get('pairs', 0)} pairs"
        + (
            f" (final loss {_num(it['simpo'].get('loss'))})."
            if it["simpo"].get("loss") is not None
            else "."
        ),
        "",
        "## EDU-PRM: label cost against uniform Monte Carlo, and Best-of-N",
        "",
        f"![label cost]({rel['cost']})",
        "",
        f"Synthetic arithmetic ({e['questions'].get('train')} training questions, "
        f"{e['questions'].get('eval')} held out) with the tiny policy warmed up on the task; "
        f"its EDU leaves are correct {_pct(e.get('leaf_accuracy'))} of the time.",
        "",
        "| labeler | questions | labeled steps | queries | generated tokens | generated tokens / step | forward tokens / step |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {name} | {c.get('questions')} | {c.get('labeled_steps')} | {c.get('calls')} | "
            f"{c.get('generated_tokens')} | {_num(c.get('generated_tokens_per_step'))} | "
            f"{_num(c.get('forward_tokens_per_step'))} |"
            for name, c in (("EDU (entropy anchors)", edu), ("uniform MC", uni))
            if c
        ),
        "",
        (
            f"Uniform MC spends **{e['cost_ratio']:.2f}x** EDU's generated tokens per labeled step. "
            if e.get("cost_ratio")
            else ""
        )
        + (
            f"On {agree.get('shared_steps')} shared steps their hard labels agree "
            f"{_pct(agree.get('hard_rate'))} of the time."
            if agree.get("shared_steps")
            else ""
        ),
        "",
        f"![Best-of-N]({rel['bon']})",
        "",
        f"![PRM loss]({rel['prm']})",
        "",
        f"| held-out questions | n | random pick | majority vote | PRM Best-of-N ({b.get('aggregation')}) | oracle | AUROC |",
        "|---|---|---|---|---|---|---|",
        f"| {b.get('questions')} | {b.get('n')} | {_ci(b, 'random_accuracy')} | "
        f"{_ci(b, 'majority_accuracy')} | {_ci(b, 'bon_accuracy')} | "
        f"{_ci(b, 'oracle_accuracy')} | {_ci(b, 'auroc')} |",
        "",
        f"Best-of-N gain over a random pick: {_ci(b, 'bon_gain')} (question-bootstrap 95% "
        "intervals in brackets).",
        "",
        "Random pick = the mean correctness of the samples; oracle = any of the n is correct; "
        "AUROC = how well the PRM's solution score separates correct from incorrect samples.",
        "",
        "## Time",
        "",
        f"![stage times]({rel['time']})",
        "",
        "| recipe run | wall s | CPU s (this process, all threads) |",
        "|---|---|---|",
        *(f"| {k} | {v['wall']:.1f} | {v['cpu']:.1f} |" for k, v in rt.items()),
        f"| **total** | **{s['total_seconds']:.1f}** | **{s['total_cpu_seconds']:.1f}** |",
        "",
        "| stage | wall s | CPU s |",
        "|---|---|---|",
        *(
            f"| {k} | {v:.1f} | {s['stage_cpu_seconds'].get(k, 0.0):.1f} |"
            for k, v in s["stage_seconds"].items()
        ),
        "",
    ]
    return "\n".join(lines)


def report_html(s: Mapping[str, Any], plots: Mapping[str, Path], run_dir: Path) -> str:
    """A self-contained HTML page: the Markdown report's tables with the PNGs (the plots and
    ``run_dir/report-overview.png``) embedded."""
    md = report_markdown(s, plots)
    images = {
        f"plots/{p.name}": base64.b64encode(p.read_bytes()).decode("ascii") for p in plots.values()
    }
    overview = run_dir / "report-overview.png"
    if overview.exists():
        images[overview.name] = base64.b64encode(overview.read_bytes()).decode("ascii")
    body: list[str] = []
    table: list[str] = []

    def flush_table() -> None:
        if not table:
            return
        rows = [
            [html.escape(c.strip()).replace("**", "") for c in line.strip("|").split("|")]
            for line in table
            if not set(line) <= set("|-")
        ]
        body.append("<table>")
        for i, row in enumerate(rows):
            tag = "th" if i == 0 else "td"
            body.append("<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in row) + "</tr>")
        body.append("</table>")
        table.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("!["):
            src = line[line.index("(") + 1 : -1]
            body.append(f'<img alt="{html.escape(src)}" src="data:image/png;base64,{images[src]}">')
        elif line.strip():
            body.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    flush_table()
    style = "body{font-family:sans-serif;max-width:900px;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>ifrl demo</title><style>{style}</style></head><body>{''.join(body)}<script type='application/json' id='summary'>{html.escape(json.dumps(s))}</script></body></html>\n"
