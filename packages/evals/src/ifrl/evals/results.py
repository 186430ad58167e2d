"""The result of one evaluation run and how it is written to disk.

A run directory holds ``results.json`` (:class:`EvalResult`: headline metrics and breakdowns,
each a :class:`~ifrl.core.stats.Metric` with sample count and 95% interval, plus the run's
configuration), ``samples.jsonl`` (one line per scored sample: prompt, response, verdict,
reason) and ``report.md`` with PNG plots under ``plots/``. Files are written atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifrl.core.errors import IfrlError
from ifrl.core.jsonl import JSONLWriter, write_json
from ifrl.core.stats import Metric

__all__ = ["EvalResult", "load_result", "write_run"]

RESULTS = "results.json"
SAMPLES = "samples.jsonl"
REPORT = "report.md"


@dataclass(frozen=True)
class EvalResult:
    """Headline ``metrics``, per-group ``breakdowns`` (e.g. per category), ``config`` and ``info``.

    ``primary`` names the headline metric (plotted first, compared by ``ifrl eval compare``).
    """

    benchmark: str
    metrics: dict[str, Metric]
    breakdowns: dict[str, dict[str, Metric]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    primary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "primary": self.primary or next(iter(self.metrics), ""),
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "breakdowns": {
                name: {k: m.to_dict() for k, m in group.items()}
                for name, group in self.breakdowns.items()
            },
            "config": self.config,
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalResult:
        return cls(
            benchmark=str(data["benchmark"]),
            metrics={k: Metric.from_dict(v) for k, v in data["metrics"].items()},
            breakdowns={
                name: {k: Metric.from_dict(v) for k, v in group.items()}
                for name, group in data.get("breakdowns", {}).items()
            },
            config=dict(data.get("config", {})),
            info=dict(data.get("info", {})),
            primary=str(data.get("primary", "")),
        )


def load_result(directory: str | os.PathLike[str]) -> EvalResult:
    """Read ``results.json`` of a run directory; :class:`IfrlError` naming the file if bad."""
    path = Path(directory) / RESULTS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return EvalResult.from_dict(data)
    except FileNotFoundError:
        raise IfrlError(
            f"{path}: not found (is {directory} an `ifrl eval` output directory?)"
        ) from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise IfrlError(f"{path}: not a valid results file ({err})") from None


def write_run(
    out_dir: str | os.PathLike[str],
    result: EvalResult,
    samples: Iterable[Mapping[str, Any]],
    *,
    report: bool = True,
) -> Path:
    """Write ``results.json``, ``samples.jsonl`` and (unless ``report=False``) the report."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = [dict(sample) for sample in samples]
    with JSONLWriter(out / SAMPLES) as writer:
        for row in rows:
            writer.write(row)
    write_json(out / RESULTS, result.to_dict())
    if report:
        from ifrl.evals.report import write_report

        write_report(out, result, rows)
    return out
