"""``ifrl demo``: small configurations of the recipes on the tiny model, and a report.

Runs, offline on a CPU: ``toolace`` (API pool → dialogs → verification → SFT → held-out
BFCL-style eval), ``if-rlvr`` with the hard verifiers as GRPO's reward, and the same GRPO run
with a ``NoisyJudge`` reward that misses most non-compliant responses (the reward-hacking
experiment: the judge's reward beside the true compliance). Writes ``report.md``,
``report.html`` (plots embedded) and ``summary.json`` in ``OUT/demo-<time>/``.
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

from ifrl.core.jsonl import read_jsonl, write_json, write_text
from ifrl.pipelines.config import config_from_mapping
from ifrl.pipelines.recipe import get_recipe, run_recipe

Echo = Callable[[str], None]


def demo_configs(quick: bool) -> dict[str, dict[str, Any]]:
    """The three runs' configs (recipe config mappings), small enough for a 2-core CPU."""
    if quick:
        toolace = {
            "apis": {"n": 10, "heldout": 6},
            "dialogs": {"n": 8, "max_tools": 2},
            "sft": {
                "curriculum": "tool_calls",
                "curriculum_stages": 2,
                "trainer": {
                    "max_steps": 2,
                    "per_device_batch_size": 1,
                    "learning_rate": 1e-3,
                    "save_steps": 1,
                    "max_length": 1400,
                    "progress": False,
                },
            },
            "eval": {"n": 2, "max_new_tokens": 8},
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
    else:
        toolace = {
            "apis": {"n": 40, "heldout": 12},
            "dialogs": {"n": 48, "max_tools": 2},
            "sft": {
                "curriculum": "tool_calls",
                "curriculum_stages": 3,
                "trainer": {
                    "max_steps": 8,
                    "per_device_batch_size": 2,
                    "learning_rate": 1e-3,
                    "save_steps": 4,
                    "max_length": 1400,
                },
            },
            "eval": {"n": 12, "max_new_tokens": 48},
        }
        grpo = {
            "max_steps": 6,
            "num_generations": 4,
            "per_device_batch_size": 8,
            "max_completion_length": 24,
            "learning_rate": 1e-3,
            "save_steps": 3,
        }
        rl = {
            "seeds": {"n": 24},
            "audit": {"enabled": True, "samples": 2, "max_new_tokens": 24},
            "eval": {"max_new_tokens": 32},
        }
    judge = {"recall_compliant": 1.0, "recall_noncompliant": 0.2, "seed": 0}
    return {
        "toolace": toolace,
        "if-rlvr-hard": {**rl, "judge": judge, "grpo": {"reward": "hard", "trainer": grpo}},
        "if-rlvr-noisy": {**rl, "judge": judge, "grpo": {"reward": "noisy_judge", "trainer": grpo}},
    }


def run_demo(out_root: str | Path = "runs", *, quick: bool = False, echo: Echo = print) -> Path:
    """Run the demo and return its run directory (holding ``report.md`` and ``report.html``)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_dir = Path(out_root) / f"demo-{stamp}{'-quick' if quick else ''}"
    run_dir.mkdir(parents=True, exist_ok=False)
    start = time.perf_counter()
    states: dict[str, dict[str, Any]] = {}
    for name, mapping in demo_configs(quick).items():
        recipe = get_recipe("toolace" if name == "toolace" else "if-rlvr")
        cfg: Any = config_from_mapping(recipe.config_cls, mapping, f"demo:{name}")
        write_json(run_dir / f"{name}.config.json", mapping)
        echo(f"== {name} ({recipe.description})")
        states[name] = run_recipe(recipe, cfg, run_dir / name, echo=echo)
    total = time.perf_counter() - start
    summary = summarize(run_dir, states, total, quick)
    write_json(run_dir / "summary.json", summary)
    plots = make_plots(run_dir, summary)
    write_text(run_dir / "report.md", report_markdown(summary, plots))
    write_text(run_dir / "report.html", report_html(summary, plots, run_dir))
    echo(headline(summary))
    return run_dir


def _metrics(path: Path) -> list[dict[str, Any]]:
    return list(read_jsonl(path)) if path.exists() else []


def summarize(
    run_dir: Path, states: Mapping[str, Any], total: float, quick: bool
) -> dict[str, Any]:
    """The numbers of the report, from the run directories."""
    tool = states["toolace"]["eval"]["result"]
    hard = states["if-rlvr-hard"]["eval"]["result"]
    noisy_m = _metrics(run_dir / "if-rlvr-noisy/grpo/metrics.jsonl")
    hard_m = _metrics(run_dir / "if-rlvr-hard/grpo/metrics.jsonl")
    judge = [m.get("rewards/judge_reward/mean", 0.0) for m in noisy_m]
    truth = [m.get("rewards/true_compliance/mean", 0.0) for m in noisy_m]
    return {
        "quick": quick,
        "total_seconds": round(total, 1),
        "toolace": {
            "base_accuracy": tool["base_accuracy"],
            "sft_accuracy": tool["sft_accuracy"],
            "heldout_entries": tool["n"],
            "verified": states["toolace"]["verify"]["result"],
            "sft_loss": [m["loss"] for m in _metrics(run_dir / "toolace/sft/model/metrics.jsonl")],
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
        "stage_seconds": {
            f"{run}/{stage}": entry.get("seconds", 0.0)
            for run, st in states.items()
            for stage, entry in st.items()
        },
    }


def make_plots(run_dir: Path, s: Mapping[str, Any]) -> dict[str, Path]:
    """PNG plots in ``run_dir/plots`` (reward curves, before/after, stage times)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    out = run_dir / "plots"
    out.mkdir(exist_ok=True)
    paths: dict[str, Path] = {}

    fig, ax = plt.subplots(figsize=(6, 3.5))
    curve = s["if_rlvr"]["reward_curve"]
    ax.plot(range(1, len(curve) + 1), curve, marker="o", label="hard verifiers (reward = truth)")
    nj = s["noisy_judge"]
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
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths["rewards"] = out / "grpo_rewards.png"
    fig.savefig(paths["rewards"], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.5))
    keys = ["prompt_level_strict_acc", "inst_level_strict_acc"]
    xs = range(len(keys))
    before = [s["if_rlvr"]["before"].get(k, 0.0) for k in keys]
    after = [s["if_rlvr"]["after"].get(k, 0.0) for k in keys]
    noisy = [nj["after"].get(k, 0.0) for k in keys]
    ax.bar([x - 0.27 for x in xs], before, 0.27, label="before GRPO")
    ax.bar(list(xs), after, 0.27, label="after GRPO (hard reward)")
    ax.bar([x + 0.27 for x in xs], noisy, 0.27, label="after GRPO (NoisyJudge)")
    ax.set_xticks(list(xs), keys)
    ax.set_ylim(0, 1)
    ax.set_title("Held-out constraint compliance")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths["compliance"] = out / "heldout_compliance.png"
    fig.savefig(paths["compliance"], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.5))
    loss = s["toolace"]["sft_loss"]
    ax.plot(range(1, len(loss) + 1), loss, marker="o")
    ax.set_xlabel("SFT step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    ax.set_title("ToolACE SFT loss (easy-to-hard curriculum)")
    fig.tight_layout()
    paths["sft"] = out / "sft_loss.png"
    fig.savefig(paths["sft"], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 0.3 * len(s["stage_seconds"]) + 1))
    names = list(s["stage_seconds"])
    ax.barh(names[::-1], [s["stage_seconds"][n] for n in names][::-1])
    ax.set_xlabel("seconds")
    ax.set_title("Wall time per stage")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    paths["time"] = out / "stage_seconds.png"
    fig.savefig(paths["time"], dpi=100)
    plt.close(fig)
    return paths


def _num(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.3f}"


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def headline(s: Mapping[str, Any]) -> str:
    """One line with the demo's headline numbers."""
    t, r, n = s["toolace"], s["if_rlvr"], s["noisy_judge"]
    return (
        f"tool-call accuracy {_pct(t['base_accuracy'])} → {_pct(t['sft_accuracy'])} after SFT; "
        f"held-out IF prompt-level strict {_pct(r['before'].get('prompt_level_strict_acc', 0))} → "
        f"{_pct(r['after'].get('prompt_level_strict_acc', 0))} after GRPO; NoisyJudge reward "
        f"exceeds true compliance by {_pct(n['mean_gap'])} on average; total {s['total_seconds']:.0f}s"
    )


def report_markdown(s: Mapping[str, Any], plots: Mapping[str, Path]) -> str:
    """The Markdown report (plots linked as relative paths)."""
    t, r, n = s["toolace"], s["if_rlvr"], s["noisy_judge"]
    rel = {k: f"plots/{p.name}" for k, p in plots.items()}
    keys = sorted(set(r["before"]) | set(r["after"]))
    lines = [
        "# ifrl demo" + (" (quick)" if s["quick"] else ""),
        "",
        "Small configurations of the `toolace` and `if-rlvr` recipes on the seeded tiny model, "
        "offline on a CPU. The tiny model is untrained noise, so the point is that every stage "
        "runs and is measured, not the absolute numbers.",
        "",
        f"**Headline:** {headline(s)}.",
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
            f"| {i} | {a:.3f} | {b:.3f} |"
            for i, (a, b) in enumerate(zip(n["judge_reward"], n["true_compliance"]), 1)
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
        "## Tool use (ToolACE recipe)",
        "",
        f"![SFT loss]({rel['sft']})",
        "",
        f"Dialogs kept by verification: {t['verified'].get('kept')} (rejected {t['verified'].get('rejected')}).",
        "",
        "| model | BFCL-style accuracy on held-out synthetic tools |",
        "|---|---|",
        f"| base | {t['base_accuracy']:.3f} (n={t['heldout_entries']}) |",
        f"| after SFT | {t['sft_accuracy']:.3f} (n={t['heldout_entries']}) |",
        "",
        "## Wall time per stage",
        "",
        f"![stage times]({rel['time']})",
        "",
        "| stage | seconds |",
        "|---|---|",
        *(f"| {k} | {v:.1f} |" for k, v in s["stage_seconds"].items()),
        f"| **total (wall)** | **{s['total_seconds']:.1f}** |",
        "",
        "Not in this demo yet: the `itool` and `edu-prm` recipes (see the ifrl-pipelines README).",
        "",
    ]
    return "\n".join(lines)


def report_html(s: Mapping[str, Any], plots: Mapping[str, Path], run_dir: Path) -> str:
    """A self-contained HTML page: the Markdown report's tables with the PNGs embedded."""
    md = report_markdown(s, plots)
    images = {
        f"plots/{p.name}": base64.b64encode(p.read_bytes()).decode("ascii") for p in plots.values()
    }
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
    del run_dir
    style = "body{font-family:sans-serif;max-width:900px;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>ifrl demo</title><style>{style}</style></head><body>{''.join(body)}<script type='application/json' id='summary'>{html.escape(json.dumps(s))}</script></body></html>\n"
