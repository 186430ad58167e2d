"""The ``study`` recipe's results page: one section per paper, each with the paper's claim, what
was measured (seeds, n, 95% intervals), whether the micro-scale result agrees, and a plot.

Every number the page quotes is also in ``results/study.json``, beside the exact config and the
commit the run was made from. The verdicts follow one stated rule: a difference "agrees" or
"disagrees" only when its 95% interval excludes 0; otherwise the page says the run cannot tell.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ifrl.core.config import to_dict
from ifrl.core.jsonl import read_jsonl, write_json, write_text
from ifrl.core.stats import Metric, bootstrap_difference, cluster_bootstrap, proportion
from ifrl.pipelines.common import git_commit
from ifrl.pipelines.recipe import RunState, StageContext

Rows = list[dict[str, Any]]

CLAIMS = {
    "if-rlvr": (
        "Precision over Diversity (arXiv 2601.04954): GRPO on hard (code-checked) constraints "
        "alone matches or beats hard + judged soft mixtures; a judge that passes non-compliant "
        "answers is exploited, and refining the data for reward precision recovers the loss."
    ),
    "toolace": (
        "ToolACE (arXiv 2409.00920): dialogs that pass the dual-layer verification train better "
        "tool callers than unverified ones, and an easy-to-hard order helps SFT."
    ),
    "toolace-dev": (
        "ToolACE-DEV (arXiv 2505.07512): self-evolution rounds (propose tools, sample calls, keep "
        "the majority, filter by rules, fine-tune) raise held-out accuracy without a teacher, "
        "with diminishing returns over 3 rounds."
    ),
    "itool": (
        "iTool (arXiv 2501.09766): iterations of MCTS step-level preference pairs + SimPO raise "
        "tool-call accuracy over the SFT model, beyond response-level pairs."
    ),
    "edu-prm": (
        "EDU-PRM (arXiv 2503.22233): entropy-anchored branching labels steps at a small fraction "
        "of uniform Monte Carlo's query cost, and the PRM trained on its labels is about as good."
    ),
}
TITLES = {
    "if-rlvr": "IF-RLVR: reward precision vs constraint diversity",
    "toolace": "ToolACE: the value of dual-layer verification, and the curriculum",
    "toolace-dev": "ToolACE-DEV: self-evolution rounds",
    "itool": "iTool: MCTS step pairs vs best-vs-worst pairs",
    "edu-prm": "EDU-PRM: cost and quality of the step labels",
}


def pct(m: Metric) -> str:
    """A share as the page writes it: ``12.5% [8.1, 17.0] n=120``."""
    return f"{100 * m.value:.1f}% [{100 * m.ci_low:.1f}, {100 * m.ci_high:.1f}] n={m.n}"


def pts(m: Metric) -> str:
    """A difference of shares in percentage points with its interval."""
    return f"{100 * m.value:+.1f} pts [{100 * m.ci_low:+.1f}, {100 * m.ci_high:+.1f}]"


def score_diff(m: Metric) -> str:
    """A difference of mean partial scores (0-1) with its interval."""
    return f"{m.value:+.3f} [{m.ci_low:+.3f}, {m.ci_high:+.3f}]"


def score(m: Metric) -> str:
    """A mean partial score (0-1) with its interval and n."""
    return f"{m.value:.3f} [{m.ci_low:.3f}, {m.ci_high:.3f}] n={m.n}"


def verdict(diff: Metric, better: str, worse: str, *, scores: bool = False) -> str:
    """The stated rule: the interval of ``better − worse`` decides, else the run cannot tell
    (``scores``: the difference is of mean partial scores, not of shares)."""
    shown = score_diff if scores else pts
    if diff.ci_low > 0:
        return f"agrees: {better} beats {worse} by {shown(diff)}"
    if diff.ci_high < 0:
        return f"disagrees: {worse} beats {better} by {shown(_neg(diff))}"
    return f"cannot tell: {better} − {worse} = {shown(diff)}, an interval that contains 0"


def _neg(m: Metric) -> Metric:
    return Metric(-m.value, m.n, -m.ci_high, -m.ci_low)


def mean_of(key: str) -> Any:
    """The statistic "mean of ``row[key]``" over a list of rows."""

    def stat(rows: Sequence[Mapping[str, Any]]) -> float:
        return sum(float(r[key]) for r in rows) / max(1, len(rows))

    return stat


def _rows(path: Path, only_tool: bool = False) -> Rows:
    rows = list(read_jsonl(path))
    return [r for r in rows if r.get("tool", True)] if only_tool else rows


# -- sections ----------------------------------------------------------------------------------


def toolace_section(root: Path, seeds: Sequence[int], resamples: int) -> dict[str, Any]:
    """Per arm (and the starting model): exact and AST accuracy on held-out and seen tools."""
    sets = {"heldout": "", "seen": "_seen"}
    samples: dict[str, dict[str, list[Rows]]] = {}
    for arm in ("verified", "rejected", "shuffled"):
        runs = [root / "toolace" / arm / f"seed-{s}" for s in seeds]
        samples[arm] = {
            name: [_rows(r / f"eval/sft{suffix}_samples.jsonl") for r in runs]
            for name, suffix in sets.items()
        }
    first = root / "toolace" / "verified" / f"seed-{seeds[0]}"
    samples["start (the micro policy)"] = {
        name: [_rows(first / f"eval/base{suffix}_samples.jsonl")] for name, suffix in sets.items()
    }
    table = {
        arm: {
            f"{name}_{key}": cluster_bootstrap(runs, mean_of(field), resamples=resamples)
            for name, runs in by_set.items()
            for key, field in (("exact", "exact"), ("ast", "valid"), ("score", "score"))
        }
        for arm, by_set in samples.items()
    }
    diffs = {
        f"{a}_minus_{b}_{name}_{key}": bootstrap_difference(
            samples[a][name], samples[b][name], mean_of(field), resamples=resamples
        )
        for a, b in (("verified", "rejected"), ("verified", "shuffled"))
        for name in sets
        for key, field in (("exact", "exact"), ("score", "score"))
    }
    rows = []
    for arm in ("verified", "rejected", "shuffled"):
        for seed in seeds:
            state = RunState.load(root / "toolace" / arm / f"seed-{seed}").stages
            made, checked = state["dialogs"]["result"], state["verify"]["result"]
            rows.append(
                {
                    "arm": arm,
                    "seed": seed,
                    "dialogs": made.get("dialogs"),
                    "defective": made.get("defective"),
                    "defective_in_first_turn": made.get("defective_in_first_turn"),
                    "kept": checked.get("kept"),
                    "rejected": checked.get("rejected"),
                    "sft_rows": checked.get("sft_rows"),
                }
            )
    return {"table": table, "diffs": diffs, "data": rows}


def toolace_dev_section(root: Path, seeds: Sequence[int], resamples: int) -> dict[str, Any]:
    """Held-out exact accuracy after each stage (start, sub-task SFT, rounds) and survival."""
    runs = [root / "toolace-dev" / f"seed-{s}" for s in seeds]
    rounds = [list(read_jsonl(r / "rounds.jsonl")) for r in runs]
    n_rounds = min(len(x) for x in rounds)
    stages = {"start": "base", "sub-task SFT": "round_0"}
    stages.update({f"round {k}": f"round_{k}" for k in range(1, n_rounds + 1)})
    table = {}
    for label, folder in stages.items():
        per_seed = [_rows(r / folder / "eval" / "samples.jsonl") for r in runs]
        table[label] = {
            "exact": cluster_bootstrap(per_seed, mean_of("exact"), resamples=resamples),
            "ast": cluster_bootstrap(per_seed, mean_of("valid"), resamples=resamples),
            "score": cluster_bootstrap(per_seed, mean_of("score"), resamples=resamples),
        }
    survival = {
        f"round {k}": proportion(
            sum(int(x[k - 1]["survived"]) for x in rounds),
            sum(int(x[k - 1]["queries"]) for x in rounds),
        )
        for k in range(1, n_rounds + 1)
    }
    last = f"round {n_rounds}"
    last_rows = [_rows(r / f"round_{n_rounds}/eval/samples.jsonl") for r in runs]
    sft_rows = [_rows(r / "round_0/eval/samples.jsonl") for r in runs]
    diffs = {
        key: bootstrap_difference(last_rows, sft_rows, mean_of(key), resamples=resamples)
        for key in ("exact", "score")
    }
    return {"table": table, "survival": survival, "diffs": diffs, "last": last}


def itool_section(root: Path, seeds: Sequence[int], resamples: int) -> dict[str, Any]:
    """Held-out exact accuracy and partial score per arm and iteration; the pairs and model
    calls each arm paid."""
    table: dict[str, dict[str, dict[str, Metric]]] = {}
    runs_by_arm: dict[str, list[list[Rows]]] = {}
    cost: dict[str, dict[str, float]] = {}
    for arm in ("mcts", "baseline"):
        runs = [root / "itool" / arm / f"seed-{s}" for s in seeds]
        iters = min(len(list(r.glob("iter_*/eval_scored.jsonl"))) for r in runs)
        per_iter = [
            [_rows(r / f"iter_{k}/eval_scored.jsonl", only_tool=True) for r in runs]
            for k in range(iters)
        ]
        runs_by_arm[arm] = per_iter
        table[arm] = {
            key: {
                f"iteration {k}": cluster_bootstrap(rows, mean_of(key), resamples=resamples)
                for k, rows in enumerate(per_iter)
            }
            for key in ("exact", "score")
        }
        summary = [row for r in runs for row in read_jsonl(r / "summary.jsonl")]
        cost[arm] = {
            key: sum(float(row.get(f"{arm}_{key}") or 0) for row in summary)
            for key in ("pairs", "model_calls")
        }
    mcts, base = runs_by_arm["mcts"], runs_by_arm["baseline"]
    return {
        "table": table,
        "cost": cost,
        "mcts_minus_baseline": {
            key: bootstrap_difference(mcts[-1], base[-1], mean_of(key), resamples=resamples)
            for key in ("exact", "score")
        },
        "mcts_minus_start": {
            key: bootstrap_difference(mcts[-1], mcts[0], mean_of(key), resamples=resamples)
            for key in ("exact", "score")
        },
    }


@dataclass(frozen=True)
class _Inputs:
    """What a section's writer reads: the study's run directory, where plots go, the seeds and
    the bootstrap resamples."""

    root: Path
    plots: Path
    seeds: list[int]
    resamples: int


# -- markdown ------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return [*out, ""]


def _if_rlvr(inp: _Inputs) -> tuple[list[str], dict[str, Any]]:
    """The IF-RLVR section: the if-rlvr report's held-out table, verdicts and plot."""
    root, plots = inp.root, inp.plots
    report = json.loads((root / "if-rlvr/report.json").read_text(encoding="utf-8"))
    held = {a: {k: Metric.from_dict(v) for k, v in r.items()} for a, r in report["heldout"].items()}
    diffs = {
        a: {k: Metric.from_dict(v) for k, v in d.items()}
        for a, d in report["differences_hard_minus"].items()
    }
    shutil.copyfile(root / "if-rlvr/plots/heldout.png", plots / "if-rlvr-heldout.png")
    lines = _table(
        [
            "arm",
            "IFEval types (in distribution)",
            "IFBench types (out of distribution)",
            "answers >= guard words",
        ],
        [
            [arm, pct(r["ifeval_inst"]), pct(r["ifbench_inst"]), pct(r["guard_pass"])]
            for arm, r in held.items()
        ],
    )
    lines.append(
        "Instruction-level strict accuracy on held-out prompts; n counts answers (seeds x prompts)."
    )
    lines.append("")
    for arm, d in diffs.items():
        for key, label in (("ifeval_inst", "IFEval types"), ("ifbench_inst", "IFBench types")):
            lines.append(f"- hard-only vs {arm}, {label}: {verdict(d[key], 'hard-only', arm)}.")
    hacked = {
        arm: sum(bool(r.get("hacked")) for r in rows)
        for arm, rows in report["training"].items()
        if arm != "hard"
    }
    if hacked:
        seeds = len(report["seeds"])
        lines.append(
            "- Judged arms the if-rlvr report flags as hacked (the judge's audited recall on "
            "the policy's non-compliant answers fell by at least `arms.hacked_drop` during "
            "training): " + ", ".join(f"{arm} {k}/{seeds} seeds" for arm, k in hacked.items()) + "."
        )
    lines += ["", "![held-out truth per arm](results/if-rlvr-heldout.png)", ""]
    return lines, report


def write_page(ctx: StageContext) -> dict[str, Any]:
    """Write ``results.md``, ``results/*.png`` and ``results/study.json`` (and the copy at
    ``study.page``); return the headline numbers."""
    cfg = ctx.config
    root = ctx.run_dir
    seeds = list(cfg.study.seeds)
    resamples = cfg.study.bootstrap
    plots = ctx.path("results/x").parent
    inputs = _Inputs(root, plots, seeds, resamples)
    sections = list(cfg.study.sections)
    commit = git_commit()
    timing = {
        s: json.loads((root / s / "study-runs.json").read_text(encoding="utf-8")) for s in sections
    }
    out: dict[str, Any] = {"commit": commit, "seeds": seeds, "config": to_dict(cfg)}
    lines = [
        "# Results: each paper's effect on the micro policies",
        "",
        f"Written by `ifrl pipeline run study` at commit `{commit}` on "
        f"{datetime.now(timezone.utc):%Y-%m-%d}; the exact config and every number below are in "
        "[results/study.json](results/study.json). Seeds: "
        f"{', '.join(map(str, seeds))}. Intervals are 95%: a two-level bootstrap over seeds and "
        "items for shares, the same over both arms for differences. A difference *agrees* or "
        "*disagrees* with the paper only when its interval excludes 0; otherwise the page says the "
        "run cannot tell. The policies are micro models grown on this machine (cards: "
        "`ifrl tiny list`), so a null result here says little about the paper at its scale.",
        "",
        "| section | runs | wall time | commit of the runs |",
        "|---|---|---|---|",
    ]
    for s in sections:
        secs = sum(float(v["seconds"]) for v in timing[s].values())
        made = sorted({str(v.get("commit", "unknown")) for v in timing[s].values()})
        lines.append(
            f"| {TITLES[s]} | {len(timing[s])} | {secs / 60:.1f} min | {', '.join(made)} |"
        )
    lines.append("")
    for s in sections:
        lines += [
            f"## {TITLES[s]}",
            "",
            f"**The paper's claim.** {CLAIMS[s]}",
            "",
            "**Measured.**",
            "",
        ]
        body, data = SECTION_WRITERS[s](inputs)
        lines += body
        out[s] = data
        runs_done = timing[s]
        lines += [
            f"Runs: {', '.join(f'`{k}`' for k in runs_done)} (under the study's run directory).",
            "",
        ]
    write_json(plots / "study.json", out)
    write_text(root / "results.md", "\n".join(lines))
    if cfg.study.page:
        page = Path(cfg.study.page)
        target = page.parent / page.stem
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(plots, target)
        text = "\n".join(lines).replace("](results/", f"]({page.stem}/")
        write_text(page, text)
    return {"commit": commit, "sections": sections}


def _toolace(inp: _Inputs) -> tuple[list[str], dict[str, Any]]:
    """The ToolACE section: arms' table, data, verdicts and plot."""
    t = toolace_section(inp.root, inp.seeds, inp.resamples)
    lines = _table(
        [
            "arm",
            "held-out tools: exact",
            "held-out tools: AST",
            "seen tools: exact",
            "seen tools: AST",
            "seen tools: partial score",
        ],
        [
            [
                arm,
                pct(r["heldout_exact"]),
                pct(r["heldout_ast"]),
                pct(r["seen_exact"]),
                pct(r["seen_ast"]),
                f"{r['seen_score'].value:.3f} [{r['seen_score'].ci_low:.3f}, {r['seen_score'].ci_high:.3f}]",
            ]
            for arm, r in t["table"].items()
        ],
    )
    lines += [_toolace_data(t["data"]), ""]
    d = t["diffs"]
    lines += [
        f"- verified vs rejected data, seen tools, exact: {verdict(d['verified_minus_rejected_seen_exact'], 'verified', 'rejected')}.",
        f"- verified vs rejected data, held-out tools, exact: {verdict(d['verified_minus_rejected_heldout_exact'], 'verified', 'rejected')}.",
        f"- easy-to-hard vs shuffled order, seen tools, exact: {verdict(d['verified_minus_shuffled_seen_exact'], 'easy-to-hard', 'shuffled')}.",
        f"- verified vs rejected data, seen tools, partial score: {verdict(d['verified_minus_rejected_seen_score'], 'verified', 'rejected', scores=True)}.",
        f"- easy-to-hard vs shuffled order, seen tools, partial score: {verdict(d['verified_minus_shuffled_seen_score'], 'easy-to-hard', 'shuffled', scores=True)}.",
        "",
    ]
    lines += _chart(
        inp,
        "toolace",
        "ToolACE arms",
        [
            "held-out tools: exact",
            "held-out tools: AST",
            "held-out tools: partial score x 100",
            "seen tools: exact",
            "seen tools: AST",
            "seen tools: partial score x 100",
        ],
        {
            arm: [
                r["heldout_exact"],
                r["heldout_ast"],
                r["heldout_score"],
                r["seen_exact"],
                r["seen_ast"],
                r["seen_score"],
            ]
            for arm, r in t["table"].items()
        },
        title="ToolACE arms after SFT (95% bootstrap over seeds and dialogs)",
        ylabel="% / partial score x 100",
    )
    return lines, _jsonable(t)


def _toolace_dev(inp: _Inputs) -> tuple[list[str], dict[str, Any]]:
    """The ToolACE-DEV section: per-round table, survival, verdicts and plot."""
    t = toolace_dev_section(inp.root, inp.seeds, inp.resamples)
    lines = _table(
        ["after", "held-out exact", "held-out AST", "held-out partial score", "surviving"],
        [
            [
                k,
                pct(v["exact"]),
                pct(v["ast"]),
                score(v["score"]),
                pct(t["survival"][k]) if k in t["survival"] else "—",
            ]
            for k, v in t["table"].items()
        ],
    )
    d = t["diffs"]
    last = t["last"]
    lines += [
        "Surviving: the round's tool proposals that pass the vote and the rule filter.",
        "",
        f"- {last} vs the sub-task SFT model, exact: {verdict(d['exact'], last, 'sub-task SFT')}.",
        f"- {last} vs the sub-task SFT model, partial score: "
        f"{verdict(d['score'], last, 'sub-task SFT', scores=True)}.",
        "",
    ]
    lines += _chart(
        inp,
        "toolace-dev",
        "ToolACE-DEV rounds",
        list(t["table"]),
        {
            "exact": [v["exact"] for v in t["table"].values()],
            "AST": [v["ast"] for v in t["table"].values()],
            "partial score x 100": [v["score"] for v in t["table"].values()],
        },
        title="ToolACE-DEV: held-out accuracy per round (95% bootstrap)",
        ylabel="%",
    )
    return lines, _jsonable(t)


def _itool(inp: _Inputs) -> tuple[list[str], dict[str, Any]]:
    """The iTool section: per-iteration table, cost, verdicts and plot."""
    lines: list[str] = []
    t = itool_section(inp.root, inp.seeds, inp.resamples)
    iters = list(t["table"]["mcts"]["exact"])
    lines += _table(
        ["arm", "metric", *iters, "pairs", "model calls"],
        [
            [
                arm,
                label,
                *(shown(r[key][k]) for k in iters),
                f"{t['cost'][arm]['pairs']:.0f}",
                f"{t['cost'][arm]['model_calls']:.0f}",
            ]
            for arm, r in t["table"].items()
            for key, label, shown in (
                ("exact", "exact", pct),
                ("score", "partial score", score),
            )
        ],
    )
    mb, ms = t["mcts_minus_baseline"], t["mcts_minus_start"]
    lines += [
        "Held-out dialogs on the training tools; iteration 0 is the ToolACE SFT model both arms start from.",
        "",
        f"- MCTS pairs vs best-vs-worst pairs after the last iteration, exact: {verdict(mb['exact'], 'MCTS', 'best-vs-worst')}.",
        f"- the same, partial score: {verdict(mb['score'], 'MCTS', 'best-vs-worst', scores=True)}.",
        f"- iTool (MCTS) iterations vs the SFT model, exact: {verdict(ms['exact'], 'after iTool', 'SFT')}.",
        f"- the same, partial score: {verdict(ms['score'], 'after iTool', 'SFT', scores=True)}.",
        "",
    ]
    lines += _chart(
        inp,
        "itool",
        "iTool iterations",
        [f"{k}: {m}" for m in ("exact", "partial score") for k in iters],
        {
            arm: [r[key][k] for key in ("exact", "score") for k in iters]
            for arm, r in t["table"].items()
        },
        title="iTool: held-out exact accuracy and partial score per iteration (95% bootstrap)",
        ylabel="% (exact) / score x 100",
    )
    return lines, _jsonable(t)


def _edu(inp: _Inputs) -> tuple[list[str], dict[str, Any]]:
    """The EDU-PRM section: the cost sweep, the PRMs per budget and the plots."""
    root, plots = inp.root, inp.plots
    res = json.loads((root / "edu-prm/results.json").read_text(encoding="utf-8"))
    h = res["headline"]
    for name in ("sweep.png", "cost_quality.png"):
        if (root / "edu-prm" / name).exists():
            shutil.copyfile(root / "edu-prm" / name, plots / f"edu-prm-{name}")
    rows = [
        [
            str(r["lines"]),
            _ratio(r["cost_ratio_line"], r.get("cost_ratio_line_ci95")),
            _ratio(r["cost_ratio_question"], r.get("cost_ratio_question_ci95")),
            _kappa(r["kappa_edu"], r["kappa_edu_ci95"]),
            _kappa(r["kappa_uniform"], r["kappa_uniform_ci95"]),
            str(r["questions"]),
        ]
        for r in res["sweep"]
    ]
    lines = _table(
        [
            "solution lines",
            "uniform ÷ EDU tokens per line step",
            "per question",
            "kappa EDU vs truth",
            "kappa uniform vs truth",
            "questions",
        ],
        rows,
    )
    lines.append(
        "Generated tokens, both labellers on the same sampled solutions (95% bootstrap over "
        "questions); kappa: step labels against exact step truth."
    )
    lines.append("")
    for b in res["per_budget"]:
        for method in ("edu", "uniform"):
            m = b.get(method)
            if not m or "f1" not in m:
                lines.append(
                    f"- budget {b['budget']:g}, {method}: no PRM (the budget labels no full question)."
                )
                continue
            shown = [
                f"{label} {_seeded_value(m[key], key == 'bon_gain')}"
                for key, label in (
                    ("f1", "first-error F1"),
                    ("auroc", "AUROC"),
                    ("bon_gain", "Best-of-N gain"),
                )
                if key in m
            ]
            lines.append(
                f"- budget {b['budget']:g}, PRM on {method} labels ({_count(m['questions'], 'question')}, "
                f"{m['f1']['n_seeds']} seeds): {', '.join(shown)}."
            )
    matched_ci = h.get("cost_ratio_line_ci95")
    both = h.get("cost_questions")
    lines += [
        "",
        f"- Cost at the matched budget: uniform MC spends "
        f"{_ratio(h['cost_ratio_line'], matched_ci)} EDU's generated tokens per labelled line "
        f"step and {_ratio(h['cost_ratio_question'], h.get('cost_ratio_question_ci95'))} per "
        "question"
        + (f", over the {_count(both, 'question')} both labelled" if both else "")
        + (
            f": {_ratio_verdict([matched_ci])}."
            if matched_ci
            else " (too few to resample: no interval, no verdict)."
        ),
        f"- Cost over the sweep's lengths: "
        f"{_ratio_verdict([r.get('cost_ratio_line_ci95') for r in res['sweep']])}.",
        "- Quality: the kappas and the PRM metrics above carry the verdict; an interval that "
        "contains 0 (kappa) or chance (AUROC 0.5) cannot tell.",
        "",
    ]
    lines += [
        f"![{n}](results/edu-prm-{n})"
        for n in ("sweep.png", "cost_quality.png")
        if (plots / f"edu-prm-{n}").exists()
    ]
    lines.append("")
    return lines, {"headline": h, "sweep": res["sweep"]}


def _chart(
    inp: _Inputs,
    name: str,
    alt: str,
    groups: Sequence[str],
    series: Mapping[str, Sequence[Metric]],
    *,
    title: str,
    ylabel: str,
) -> list[str]:
    """Draw ``results/<name>.png`` (bars with their intervals) and return its Markdown lines."""
    from ifrl.evals.plots import grouped_bar_chart

    grouped_bar_chart(inp.plots / f"{name}.png", groups, series, title=title, ylabel=ylabel)
    return [f"![{alt}](results/{name}.png)", ""]


#: One writer per section: its Markdown lines and the numbers that go into ``study.json``.
SECTION_WRITERS: dict[str, Callable[[_Inputs], tuple[list[str], dict[str, Any]]]] = {
    "if-rlvr": _if_rlvr,
    "toolace": _toolace,
    "toolace-dev": _toolace_dev,
    "itool": _itool,
    "edu-prm": _edu,
}


def _toolace_data(rows: Rows) -> str:
    """What each arm trained on, in one sentence per arm (counts summed over seeds)."""

    def total(arm: str, key: str) -> int:
        return sum(int(r.get(key) or 0) for r in rows if r["arm"] == arm)

    first = rows[0]["arm"]
    return (
        f"Data, summed over seeds: {total(first, 'dialogs')} dialogs generated, "
        f"{total(first, 'defective')} with a planted rule-detectable fault "
        f"({total(first, 'defective_in_first_turn')} of them inside the first assistant turn, "
        "the only turn an SFT row keeps; a fault after it leaves the row identical to a clean "
        f"one), {total(first, 'kept')} passed verification and {total(first, 'rejected')} failed "
        "it. SFT rows: "
        + ", ".join(
            f"{arm} {total(arm, 'sft_rows')}" for arm in dict.fromkeys(r["arm"] for r in rows)
        )
        + "."
    )


def _ratio(value: float, ci: Sequence[float] | None) -> str:
    """A cost ratio with its interval when there is one: ``26.8x [20.1, 33.0]``."""
    return f"{value:.1f}x" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "")


def _ratio_verdict(intervals: Sequence[Sequence[float] | None]) -> str:
    """The page's rule for cost ratios (uniform ÷ EDU per line step): their intervals against 1,
    all of them on one side for a verdict."""
    bounds = [ci for ci in intervals if ci]
    if not intervals or len(bounds) < len(intervals):
        return "cannot tell (an interval is missing: too few questions to resample)"
    each = "the interval lies" if len(bounds) == 1 else "every interval lies"
    if all(ci[0] > 1 for ci in bounds):
        return f"agrees, EDU is cheaper per line step ({each} above 1)"
    if all(ci[1] < 1 for ci in bounds):
        return f"disagrees, uniform MC is cheaper per line step ({each} below 1)"
    return "cannot tell (an interval contains 1, or they disagree)"


def _kappa(value: float, ci: Sequence[float]) -> str:
    """Cohen's kappa and its interval, two decimals (no ``-0.00``)."""

    def two(x: float) -> str:
        return f"{round(x, 2) + 0.0:+.2f}"

    return f"{two(value)} [{two(ci[0])}, {two(ci[1])}]"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _seeded_value(m: Mapping[str, Any], points: bool) -> str:
    """A mean over PRM seeds with its interval (percentage points when ``points``)."""
    if points:
        return f"{100 * m['value']:+.1f} pts [{100 * m['ci95'][0]:+.1f}, {100 * m['ci95'][1]:+.1f}]"
    return f"{m['value']:.3f} [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Metric):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
