"""``report.md`` for a run: headline metrics, breakdown tables and their bar charts."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ifrl.core.jsonl import write_text
from ifrl.core.stats import Metric
from ifrl.evals.plots import bar_chart
from ifrl.evals.results import REPORT, EvalResult

__all__ = ["metric_row", "write_report"]


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def metric_row(name: str, metric: Metric) -> str:
    """One Markdown table row: name, value (%), 95% interval, n."""
    return (
        f"| {name} | {_pct(metric.value)} | "
        f"[{_pct(metric.ci_low)}, {_pct(metric.ci_high)}] | {metric.n} |"
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "plot"


def _config_lines(config: dict[str, Any]) -> list[str]:
    return [f"- **{k}**: `{v}`" for k, v in config.items() if v not in (None, "", [], {})]


def _failures(samples: Sequence[Mapping[str, Any]], per_kind: int = 2) -> list[str]:
    """Markdown bullets: a few failing samples per error type (or overall)."""
    shown: dict[str, int] = {}
    lines: list[str] = []
    for sample in samples:
        if sample.get("valid") is not False:
            continue
        kind = str(sample.get("error_type") or "failed")
        if shown.get(kind, 0) >= per_kind:
            continue
        shown[kind] = shown.get(kind, 0) + 1
        response = sample.get("response", sample.get("responses", ""))
        text = response if isinstance(response, str) else json.dumps(response, ensure_ascii=False)
        text = " ".join(text.split())
        text = text if len(text) <= 160 else text[:157] + "..."
        reason = " ".join(str(sample.get("reason", "")).split())[:160]
        lines.append(
            f"- `{sample.get('id')}` **{kind}**: `{text.replace('`', chr(39))}`"
            + (f" — {reason}" if reason else "")
        )
    return lines


def write_report(
    out_dir: str | os.PathLike[str],
    result: EvalResult,
    samples: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Write ``report.md`` and ``plots/*.png`` for ``result`` (and a few failing ``samples``)."""
    out = Path(out_dir)
    lines = [f"# {result.benchmark} evaluation", ""]
    lines += _config_lines(result.config)
    lines += ["", "## Metrics", "", "| metric | value (%) | 95% CI | n |", "|---|---:|---|---:|"]
    lines += [metric_row(name, m) for name, m in result.metrics.items()]
    lines.append("")
    if len(result.metrics) > 1:
        path = bar_chart(
            out / "plots" / "metrics.png",
            result.metrics,
            title=f"{result.benchmark}: metrics",
            xlabel="value",
        )
        lines += [f"![metrics](plots/{path.name})", ""]
    for name, group in result.breakdowns.items():
        if not group:
            continue
        lines += [f"## By {name}", ""]
        path = bar_chart(
            out / "plots" / f"{_slug(name)}.png",
            group,
            title=f"{result.benchmark}: {name}",
            xlabel="share of samples" if "error" in name else "accuracy",
        )
        lines += [f"![{name}](plots/{path.name})", ""]
        lines += [f"| {name} | value (%) | 95% CI | n |", "|---|---:|---|---:|"]
        ordered = sorted(group.items(), key=lambda kv: (-kv[1].value, kv[0]))
        lines += [metric_row(key, m) for key, m in ordered]
        lines.append("")
    for key, value in result.info.items():
        if isinstance(value, (int, float, str)):
            lines.append(f"- {key}: {value}")
    failures = _failures(samples)
    if failures:
        lines += ["", "## Failure examples", "", *failures]
    write_text(out / REPORT, "\n".join(lines).rstrip() + "\n")
    return out / REPORT
