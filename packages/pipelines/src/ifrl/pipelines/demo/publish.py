"""Publishing a demo run as the project's documented results.

The figures the READMEs quote come from one committed file, ``docs/demo-results.json``, written
from a finished run by :func:`publish` (``python scripts/publish_demo.py RUN_DIR``): the run's
headline claims with every figure's source, n and interval, its timings, the machine and the git
commit. The READMEs hold the figures in a block between ``BEGIN`` and ``END`` markers that
:func:`readme_block` renders from that file, so a test can fail whenever a README figure differs
from the file; the overview picture is copied to ``docs/demo-report.png`` by the same call.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ifrl.core.jsonl import write_json, write_text
from ifrl.pipelines.common import git_commit
from ifrl.pipelines.demo.headlines import headlines

BEGIN = "<!-- demo-results:begin (generated from docs/demo-results.json; do not edit) -->"
END = "<!-- demo-results:end -->"


def results_document(summary: Mapping[str, Any], commit: str = "") -> dict[str, Any]:
    """What ``docs/demo-results.json`` holds for a run's ``summary``."""
    return {
        "generated_by": "scripts/publish_demo.py",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "git_commit": commit,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "quick": bool(summary["quick"]),
        "total_seconds": summary["total_seconds"],
        "total_cpu_seconds": summary["total_cpu_seconds"],
        "recipe_seconds": dict(summary["recipe_seconds"]),
        "headlines": [
            {"name": h.name, "text": h.text, "figures": [asdict(f) for f in h.figures]}
            for h in headlines(summary)
        ],
    }


def readme_block(results: Mapping[str, Any]) -> str:
    """The README block (markers included) that quotes ``results``."""
    times = ", ".join(
        f"{name} {t['wall']:.0f} / {t['cpu']:.0f}" for name, t in results["recipe_seconds"].items()
    )
    lines = [
        BEGIN,
        f"Measured by one {'`ifrl demo --quick`' if results['quick'] else '`ifrl demo`'} run "
        f"({results['date']}, commit `{results['git_commit'] or 'unknown'}`, "
        f"{results['machine']}); each figure: value, 95% interval, n:",
        "",
        *(f"- {h['text']};" for h in results["headlines"]),
        f"- time: {results['total_seconds']:.0f} s wall, {results['total_cpu_seconds']:.0f} s "
        f"CPU in all; per recipe, wall / CPU seconds: {times}.",
        END,
    ]
    return "\n".join(lines)


def replace_block(text: str, block: str, where: str = "the README") -> str:
    """``text`` with its results block replaced by ``block`` (``ValueError`` when ``text`` has
    no block between the markers)."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{where}: no results block ({BEGIN!r} ... {END!r})")
    return text[:start] + block + text[end + len(END) :]


def current_block(text: str, where: str = "the README") -> str:
    """The results block of ``text`` (markers included)."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{where}: no results block ({BEGIN!r} ... {END!r})")
    return text[start : end + len(END)]


def publish(run_dir: Path, docs: Path, readmes: Iterable[Path]) -> dict[str, Any]:
    """Write ``docs/demo-results.json`` and ``docs/demo-report.png`` from the finished demo run
    in ``run_dir`` and rewrite the results block of each README; return the results."""
    summary_path = run_dir / "summary.json"
    if not summary_path.exists():
        raise FileNotFoundError(f"{summary_path}: not a finished demo run (no summary.json)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    # The commit the run was made at (recorded by the run); older runs: the checkout's now.
    commit = str(summary.get("commit") or git_commit())
    results = results_document(summary, commit)
    docs.mkdir(parents=True, exist_ok=True)
    write_json(docs / "demo-results.json", results)
    shutil.copyfile(run_dir / "report-overview.png", docs / "demo-report.png")
    block = readme_block(results)
    for readme in readmes:
        text = readme.read_text(encoding="utf-8")
        write_text(readme, replace_block(text, block, str(readme)))
    return results


__all__ = ["BEGIN", "END", "current_block", "publish", "readme_block", "results_document"]
