"""PNG bar charts for reports (matplotlib with the non-interactive Agg backend)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ifrl.core.stats import Metric

__all__ = ["bar_chart", "grouped_bar_chart", "pyplot"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only ``Agg`` backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


def bar_chart(
    path: str | os.PathLike[str],
    items: Mapping[str, Metric],
    *,
    title: str,
    xlabel: str = "accuracy",
    percent: bool = True,
) -> Path:
    """Horizontal bars (one per item, highest first) with 95% interval whiskers and ``n``."""
    plt = pyplot()
    ordered = sorted(items.items(), key=lambda kv: (-kv[1].value, kv[0]))
    scale = 100.0 if percent else 1.0
    labels = [f"{k} (n={m.n})" for k, m in ordered]
    values = [m.value * scale for _, m in ordered]
    low = [max(0.0, (m.value - m.ci_low) * scale) for _, m in ordered]
    high = [max(0.0, (m.ci_high - m.value) * scale) for _, m in ordered]
    height = max(2.2, 0.32 * len(ordered) + 1.2)
    fig, ax = plt.subplots(figsize=(8.5, height))
    try:
        positions = list(range(len(ordered)))
        ax.barh(positions, values, xerr=[low, high], color="#4C72B0", ecolor="#333333", capsize=2)
        ax.set_yticks(positions)
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(f"{xlabel} (%)" if percent else xlabel)
        if percent:
            ax.set_xlim(0, 100)
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
        for pos, value, up in zip(positions, values, high):
            label = f"{value:.1f}" if percent else f"{value:.3g}"
            ax.text(value + up + 0.8, pos, label, va="center", fontsize=7)
        fig.tight_layout()
        out = Path(path)
        _save(fig, out)
    finally:
        plt.close(fig)
    return out


def grouped_bar_chart(
    path: str | os.PathLike[str],
    groups: Sequence[str],
    series: Mapping[str, Sequence[Metric | None]],
    *,
    title: str,
    ylabel: str = "score (%)",
) -> Path:
    """Vertical grouped bars: one group per entry of ``groups``, one bar per series (run)."""
    plt = pyplot()
    n_series = max(1, len(series))
    width = 0.8 / n_series
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(groups) * max(1, n_series / 2) + 2), 4.2))
    try:
        for k, (name, metrics) in enumerate(series.items()):
            xs = [i + (k - (n_series - 1) / 2) * width for i in range(len(groups))]
            vals = [m.value * 100 if m else 0.0 for m in metrics]
            err_low = [max(0.0, (m.value - m.ci_low) * 100) if m else 0.0 for m in metrics]
            err_high = [max(0.0, (m.ci_high - m.value) * 100) if m else 0.0 for m in metrics]
            ax.bar(xs, vals, width, yerr=[err_low, err_high], capsize=2, label=name)
        ax.set_xticks(list(range(len(groups))))
        ax.set_xticklabels(groups, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        out = Path(path)
        _save(fig, out)
    finally:
        plt.close(fig)
    return out
