"""``ifrl eval compare``: several runs side by side in one Markdown table and one plot."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ifrl.core.jsonl import write_text
from ifrl.core.stats import Metric
from ifrl.evals.plots import grouped_bar_chart
from ifrl.evals.results import EvalResult, load_result

__all__ = ["compare_runs", "comparison_table"]


def _labels(runs: Sequence[str]) -> list[str]:
    """Short unique names: the directory names, made unique with their parents if needed."""
    names = [Path(r).resolve().name for r in runs]
    if len(set(names)) == len(names):
        return names
    return [os.path.relpath(Path(r).resolve(), Path.cwd()) for r in runs]


def _cell(metric: Metric | None) -> str:
    if metric is None:
        return "–"
    return f"{100 * metric.value:.2f} ± {50 * (metric.ci_high - metric.ci_low):.2f} (n={metric.n})"


def comparison_table(labels: Sequence[str], results: Sequence[EvalResult]) -> str:
    """A Markdown table: one row per ``benchmark/metric`` (and shared breakdown), one column per run."""
    keys: list[tuple[str, str, str]] = []  # (benchmark, group, name)
    for result in results:
        for name in result.metrics:
            key = (result.benchmark, "", name)
            if key not in keys:
                keys.append(key)
    shared = set.intersection(*(set(r.breakdowns) for r in results)) if results else set()
    for group in sorted(shared):
        if "error" in group:
            continue
        for result in results:
            for name in result.breakdowns[group]:
                key = (result.benchmark, group, name)
                if key not in keys:
                    keys.append(key)
    header = "| metric | " + " | ".join(labels) + " |"
    lines = [header, "|---|" + "---:|" * len(labels)]
    for bench, group, name in keys:
        cells = []
        for result in results:
            if result.benchmark != bench:
                cells.append(_cell(None))
            elif group:
                cells.append(_cell(result.breakdowns.get(group, {}).get(name)))
            else:
                cells.append(_cell(result.metrics.get(name)))
        title = f"{bench} {group}: {name}" if group else f"{bench} {name}"
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_runs(runs: Sequence[str], out: str | os.PathLike[str] | None = None) -> str:
    """The comparison table of ``runs``; with ``out``, also ``compare.md`` and ``compare.png``."""
    results = [load_result(r) for r in runs]
    labels = _labels(runs)
    table = comparison_table(labels, results)
    if out is not None:
        out_dir = Path(out)
        groups: list[str] = []
        for result in results:
            for name in result.metrics:
                label = f"{result.benchmark}: {name}"
                if label not in groups:
                    groups.append(label)
        series = {
            label: [
                result.metrics.get(g.split(": ", 1)[1])
                if g.startswith(result.benchmark + ": ")
                else None
                for g in groups
            ]
            for label, result in zip(labels, results)
        }
        grouped_bar_chart(out_dir / "compare.png", groups, series, title="Runs compared")
        write_text(
            out_dir / "compare.md",
            "# Runs compared\n\n"
            + "\n".join(f"- **{lab}**: `{run}`" for lab, run in zip(labels, runs))
            + "\n\n![compare](compare.png)\n\nValues in %, ± half the 95% interval.\n\n"
            + table
            + "\n",
        )
    return table
