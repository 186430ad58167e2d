"""Running the demo: the recipes in order, then the summary, the plots and the reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ifrl.core.config import from_mapping
from ifrl.core.jsonl import write_json, write_text
from ifrl.pipelines.demo.configs import RUNS, demo_configs
from ifrl.pipelines.demo.plots import make_overview, make_plots
from ifrl.pipelines.demo.report import headline, report_html, report_markdown
from ifrl.pipelines.demo.summary import summarize
from ifrl.pipelines.recipe import get_recipe, run_recipe

Echo = Callable[[str], None]


def run_demo(out_root: str | Path = "runs", *, quick: bool = False, echo: Echo = print) -> Path:
    """Run the demo and return its run directory (holding ``report.md`` and ``report.html``)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_dir = Path(out_root) / f"demo-{stamp}{'-quick' if quick else ''}"
    run_dir.mkdir(parents=True, exist_ok=False)
    start, cpu_start = time.perf_counter(), time.process_time()
    states: dict[str, dict[str, Any]] = {}
    timing: dict[str, dict[str, float]] = {}
    configs = demo_configs(quick)
    for i, (name, recipe_name) in enumerate(RUNS, 1):
        mapping = dict(configs[name])
        if name == "itool":
            # iTool starts from the toolace run: its SFT model, SFT rows and the held-out dialogs
            # on the training tools (the SFT model's in-distribution eval set).
            mapping["start"] = {"toolace_run": str(run_dir / "toolace")}
            mapping["data"] = {
                **mapping.get("data", {}),
                "eval": str(run_dir / "toolace/eval/seen_dialogs.jsonl"),
            }
        recipe = get_recipe(recipe_name)
        cfg: Any = from_mapping(recipe.config_cls, mapping, f"demo:{name}")
        write_json(run_dir / f"{name}.config.json", mapping)
        echo(f"== [{i}/{len(RUNS)}] {name} ({recipe.description})")
        t0, c0 = time.perf_counter(), time.process_time()
        states[name] = run_recipe(recipe, cfg, run_dir / name, echo=echo)
        timing[name] = {
            "wall": round(time.perf_counter() - t0, 1),
            "cpu": round(time.process_time() - c0, 1),
        }
        echo(f"== {name}: {timing[name]['wall']:.0f}s wall, {timing[name]['cpu']:.0f}s CPU")
    total = {
        "wall": round(time.perf_counter() - start, 1),
        "cpu": round(time.process_time() - cpu_start, 1),
    }
    summary = summarize(run_dir, states, total, quick, timing)
    write_json(run_dir / "summary.json", summary)
    echo("writing the report (plots, report.md, report.html, report-overview.png)")
    plots = make_plots(run_dir, summary)
    make_overview(run_dir / "report-overview.png", summary)
    write_text(run_dir / "report.md", report_markdown(summary, plots))
    write_text(run_dir / "report.html", report_html(summary, plots, run_dir))
    echo(headline(summary))
    return run_dir
