"""What a recipe run measured, for people: a results table on stdout and ``report.md``.

Both read ``state.json``'s stage results, so every recipe gets them without code of its own.
Numbers print with three decimals; a metric written as ``{"value", "ci95" | "ci_low"/"ci_high",
"n"}`` prints with its interval and sample count (``0.520 [0.410, 0.630] n=100``); nested
results are flattened one level (``base.accuracy``); long lists and paths stay in the files.
``report.md`` adds the run's plots (every PNG in the run directory).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ifrl.core.jsonl import write_text

#: Results longer than this (paths, texts) are left to the stage files.
MAX_TEXT = 48


def _metric(value: Mapping[str, Any]) -> str | None:
    """``value [low, high] n=N`` for a metric dict, else None."""
    if not isinstance(value.get("value"), (int, float)) or isinstance(value.get("value"), bool):
        return None
    ci = value.get("ci95")
    low, high = ci if isinstance(ci, (list, tuple)) and len(ci) == 2 else (None, None)
    low = value.get("ci_low", low)
    high = value.get("ci_high", high)
    text = f"{value['value']:.3f}"
    if isinstance(low, (int, float)) and isinstance(high, (int, float)):
        text += f" [{low:.3f}, {high:.3f}]"
    if isinstance(value.get("n"), int):
        text += f" n={value['n']}"
    return text


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, str) and len(value) <= MAX_TEXT:
        return value
    return None


def items(result: Mapping[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    """``(name, shown value)`` for every reportable entry of a stage result."""
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            metric = _metric(value)
            if metric is not None:
                yield name, metric
            elif depth == 0:
                yield from items(value, f"{name}.", depth + 1)
            continue
        shown = _scalar(value)
        if shown is not None:
            yield name, shown


def results_table(stages: Mapping[str, Mapping[str, Any]], per_stage: int = 4) -> str:
    """A plain-text table: stage, status, seconds and its first few results."""
    rows = [("stage", "status", "seconds", "results")]
    for name, entry in stages.items():
        shown = list(items(entry.get("result") or {}))
        more = f" (+{len(shown) - per_stage} in report.md)" if len(shown) > per_stage else ""
        rows.append(
            (
                name,
                str(entry.get("status", "")),
                f"{float(entry.get('seconds', 0.0)):.1f}",
                "; ".join(f"{k} {v}" for k, v in shown[:per_stage]) + more,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:3])) + "  " + r[3] for r in rows
    )


def write_run_report(
    recipe: str, run_dir: str | Path, stages: Mapping[str, Mapping[str, Any]], config: str = ""
) -> Path:
    """Write ``RUN_DIR/report.md`` (every stage's results and the run's plots); return it."""
    root = Path(run_dir)
    total = sum(float(e.get("seconds", 0.0)) for e in stages.values())
    lines = [f"# {recipe} run", ""]
    if config:
        lines += [f"Config: `{config}`. Stage time in all: {total:.1f} s.", ""]
    lines += ["| stage | status | seconds |", "|---|---|---|"]
    lines += [
        f"| {name} | {e.get('status', '')} | {float(e.get('seconds', 0.0)):.1f} |"
        for name, e in stages.items()
    ]
    for name, entry in stages.items():
        shown = list(items(entry.get("result") or {}))
        if shown:
            lines += ["", f"## {name}", "", "| result | value |", "|---|---|"]
            lines += [f"| {k} | {v} |" for k, v in shown]
    plots = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    path = root / "report.md"
    write_text(path, "\n".join(lines) + "\n")
    return path


__all__ = ["items", "results_table", "write_run_report"]
