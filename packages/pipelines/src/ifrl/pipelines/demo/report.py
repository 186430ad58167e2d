"""The demo report as Markdown and as HTML with the plots embedded."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ifrl.pipelines.demo.headlines import headlines


def _num(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.3f}"


def _per(total: Any, n: Any) -> str:
    """``total / n`` with three decimals (``n/a`` when either is missing or ``n`` is 0)."""
    return "n/a" if total is None or not n else f"{float(total) / float(n):.3f}"


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


def percent(v: Any) -> str:
    """A share as a percentage with one decimal (``n/a`` for None)."""
    return "n/a" if v is None else f"{100 * float(v):.1f}%"


def report_markdown(s: Mapping[str, Any], plots: Mapping[str, Path]) -> str:
    """The Markdown report (plots linked as relative paths)."""
    t, r, n, it, e = s["toolace"], s["if_rlvr"], s["noisy_judge"], s["itool"], s["edu_prm"]
    tr, tv = s.get("toolace_rejected") or {}, s.get("toolace_verification") or {}
    rel = {k: f"plots/{p.name}" for k, p in plots.items()}
    keys = sorted(set(r["before"]) | set(r["after"]))
    b = e["bon"]
    edu, uni = e["uniform_edu_cost"] or e["edu_cost"], e["uniform_cost"]
    mcts, base = it["mcts"], it["baseline"]
    rt = s["recipe_seconds"]
    lines = [
        "# ifrl demo" + (" (quick)" if s["quick"] else ""),
        "",
        "Small configurations of the four recipes — `toolace` (twice: SFT on dialogs that passed "
        "and that failed verification), `itool`, `if-rlvr` (twice: hard verifiers and NoisyJudge "
        "as the reward) and `edu-prm` — offline on a CPU, on micro policies grown on this "
        "machine (`ifrl tiny build tool` / `if`: 3.5M parameters, trained for minutes; the "
        "`-tiny` builds with `--quick`). Their competence is low, so most effects here are "
        "within noise; `docs/results.md` measures each paper's effect with 3 seeds.",
        "",
        "**Headline** (each figure: value, 95% interval, n; Wilson intervals for shares, "
        "bootstrap over items for means and ratios; the tables below hold the same numbers):",
        "",
        *(f"- {h.text}" for h in headlines(s)),
        f"- total {s['total_seconds']:.0f}s wall, {s['total_cpu_seconds']:.0f}s CPU",
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
        "with weight 0) differ; this judge errs at random, so the gap is built in "
        "(about 0.8 × (1 − truth)) and is not evidence of reward hacking (the if-rlvr-arms "
        "recipe tests a judge a policy can exploit):",
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
        f"{t['verified'].get('rejected')}; {tr.get('dialogs', {}).get('defective', 0)} carry a "
        "planted rule fault). The toolace run trains on "
        f"{t['verified'].get('sft_rows')} dialogs that passed, toolace-rejected on "
        f"{tr.get('verified', {}).get('sft_rows')} that failed"
        + (
            f"; seen-tool matcher score, passed minus failed, per dialog: "
            f"{tv['seen_score_difference']:+.3f} [{tv['ci95'][0]:+.3f}, {tv['ci95'][1]:+.3f}] "
            f"(n={tv['n']}, paired bootstrap)"
            if tv
            else ""
        )
        + ". Exact = every call right (BFCL's checker for the "
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
            [
                f"| held-out tools (BFCL-style) | after SFT on failed dialogs | {_num(tr.get('sft_accuracy'))} | {_num(tr.get('sft_score'))} | {tr.get('heldout_entries')} |",
                f"| seen tools, new dialogs (BFCL-style) | after SFT on failed dialogs | {_num(tr.get('seen_sft_accuracy'))} | {_num(tr.get('seen_sft_score'))} | {tr.get('seen_n')} |",
            ]
            if "seen_n" in tr
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
        f"its EDU leaves are correct {percent(e.get('leaf_accuracy'))} of the time.",
        "",
        "Both labelers label the same solutions; costs are per question and per labeled line "
        "step (one unit on both sides of each ratio); kappa = Cohen's kappa of each labeler's "
        "hard step labels against the exact step truth of the synthetic task.",
        "",
        "| labeler | questions | labeled line steps | queries | generated tokens | generated tokens / question | generated tokens / line step | kappa vs truth |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {name} | {c.get('questions')} | {c.get('labeled_steps')} | {c.get('calls')} | "
            f"{c.get('generated_tokens')} | {_per(c.get('generated_tokens'), c.get('questions'))} | "
            f"{_num(c.get('generated_tokens_per_step'))} | {_ci(e, kappa)} |"
            for name, c, kappa in (
                ("EDU (entropy anchors)", edu, "kappa_edu"),
                ("uniform MC", uni, "kappa_uniform"),
            )
            if c
        ),
        "",
        (
            f"Uniform MC spends **{e['cost_ratio_question']:.2f}x** EDU's generated tokens per "
            f"question and {e['cost_ratio_line']:.2f}x per labeled line step."
            if e.get("cost_ratio_question") and e.get("cost_ratio_line")
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


def inline_html(text: str) -> str:
    """One line of the report's Markdown as HTML: escaped, with ``**bold**`` and ``` `code` ```
    rendered."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


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
            [inline_html(c.strip()) for c in line.strip("|").split("|")]
            for line in table
            if not set(line) <= set("|-")
        ]
        body.append("<table>")
        for i, row in enumerate(rows):
            tag = "th" if i == 0 else "td"
            body.append("<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in row) + "</tr>")
        body.append("</table>")
        table.clear()

    items: list[str] = []

    def flush_list() -> None:
        if items:
            body.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        if line.startswith("- "):
            items.append(inline_html(line[2:]))
            continue
        flush_list()
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("!["):
            src = line[line.index("(") + 1 : -1]
            body.append(f'<img alt="{html.escape(src)}" src="data:image/png;base64,{images[src]}">')
        elif line.strip():
            body.append(f"<p>{inline_html(line)}</p>")
    flush_table()
    flush_list()
    style = "body{font-family:sans-serif;max-width:900px;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>ifrl demo</title><style>{style}</style></head><body>{''.join(body)}<script type='application/json' id='summary'>{html.escape(json.dumps(s))}</script></body></html>\n"
