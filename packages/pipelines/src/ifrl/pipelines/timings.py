"""Stage durations remembered across runs on this machine, for up-front estimates.

After a stage finishes, :func:`record` keeps its wall time under ``recipe/stage`` in
``$IFRL_CACHE/stage-timings.json`` (the last few runs, each with the stage's fingerprint).
:func:`estimate` answers with the time of the last run of the same stage with the same
fingerprint, else of the last run of that stage whatever its config: a rough guide ("about 2
min last time"), never a promise.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path

from ifrl.core.jsonl import write_json
from ifrl.core.tiny import cache_root

KEEP = 8


def timings_path() -> Path:
    """Where the timings live: ``$IFRL_CACHE/stage-timings.json``."""
    return cache_root() / "stage-timings.json"


def _load(path: Path) -> dict[str, list[dict[str, object]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no timings yet, or a file another version wrote: estimates start afresh
    return data if isinstance(data, dict) else {}


def estimate(recipe: str, stage: str, fingerprint: str) -> float | None:
    """Seconds the stage took last time (same fingerprint first), or None when never timed."""
    runs = _load(timings_path()).get(f"{recipe}/{stage}", [])
    same = [r for r in runs if r.get("fingerprint") == fingerprint]
    for r in reversed(same or runs):
        seconds = r.get("seconds")
        if isinstance(seconds, (int, float)):
            return float(seconds)
    return None


def record(recipe: str, stage: str, fingerprint: str, seconds: float) -> None:
    """Remember that the stage took ``seconds`` (atomic; a failure to write is not an error)."""
    path = timings_path()
    data = _load(path)
    runs = [r for r in data.get(f"{recipe}/{stage}", []) if r.get("fingerprint") != fingerprint]
    runs.append({"fingerprint": fingerprint, "seconds": round(seconds, 1)})
    data[f"{recipe}/{stage}"] = runs[-KEEP:]
    with contextlib.suppress(OSError):  # a read-only cache only costs the next run its estimates
        write_json(path, data)


def describe(seconds: float) -> str:
    """``"45 s"``, ``"3.2 min"``, ``"1.5 h"``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def total(estimates: Mapping[str, float | None]) -> tuple[float, int]:
    """The sum of the known estimates and how many stages have none."""
    known = [v for v in estimates.values() if v is not None]
    return sum(known), len(estimates) - len(known)


__all__ = ["describe", "estimate", "record", "timings_path", "total"]
