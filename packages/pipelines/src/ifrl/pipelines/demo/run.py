"""Running the demo: the recipes in order, then the summary, the plots and the reports."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ifrl.core.config import from_mapping
from ifrl.core.jsonl import write_json, write_text
from ifrl.pipelines.common import git_commit
from ifrl.pipelines.demo.configs import RUNS, demo_configs
from ifrl.pipelines.demo.headlines import headline
from ifrl.pipelines.demo.plots import make_overview, make_plots
from ifrl.pipelines.demo.report import report_html, report_markdown
from ifrl.pipelines.demo.summary import summarize
from ifrl.pipelines.recipe import estimates, get_recipe, run_recipe
from ifrl.pipelines.timings import describe, total

Echo = Callable[[str], None]


def latest_run(out_root: str | Path, quick: bool) -> Path | None:
    """The newest demo run directory under ``out_root`` of the same kind (quick or full)."""
    runs = [
        p
        for p in Path(out_root).glob("demo-*")
        if p.is_dir() and p.name.endswith("-quick") == quick
    ]
    return max(runs, key=lambda p: p.name) if runs else None


def run_demo(
    out_root: str | Path = "runs",
    *,
    quick: bool = False,
    run_dir: str | Path | None = None,
    echo: Echo = print,
) -> Path:
    """Run the demo in ``run_dir`` (default: a new ``OUT/demo-<time>[-quick]``) and return it.

    Rerunning with the same ``run_dir`` resumes: stages that finished are skipped (each recipe's
    own rule), an interrupted one resumes from its partial files, and the report is written
    again from all results. Before starting, the demo prints an estimate from this machine's
    last runs of the same stages.
    """
    if run_dir is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        run_dir = Path(out_root) / f"demo-{stamp}{'-quick' if quick else ''}"
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    start, cpu_start = time.perf_counter(), time.process_time()
    commit = git_commit()  # the code this run is made with
    states: dict[str, dict[str, Any]] = {}
    timing: dict[str, dict[str, float]] = {}
    planned = [(name, get_recipe(r), _config(name, r, quick, run_dir)) for name, r in RUNS]
    seconds, untimed = total(
        {f"{name}/{k}": v for name, rec, cfg in planned for k, v in estimates(rec, cfg).items()}
    )
    _prepare_micro(planned, echo)
    if seconds == 0 and untimed:
        echo("estimate: none yet (the first run on this machine times every stage)")
    else:
        rest = f"; {untimed} stage(s) never timed" if untimed else ""
        echo(f"estimate: about {describe(seconds)} (this machine's last runs{rest})")
    for i, (name, recipe, cfg) in enumerate(planned, 1):
        echo(f"== [{i}/{len(RUNS)}] {name} ({recipe.description})")
        t0, c0 = time.perf_counter(), time.process_time()
        states[name] = run_recipe(recipe, cfg, run_dir / name, echo=echo)
        timing[name] = {
            "wall": round(time.perf_counter() - t0, 1),
            "cpu": round(time.process_time() - c0, 1),
        }
        echo(f"== {name}: {timing[name]['wall']:.0f}s wall, {timing[name]['cpu']:.0f}s CPU")
    spent = {
        "wall": round(time.perf_counter() - start, 1),
        "cpu": round(time.process_time() - cpu_start, 1),
    }
    summary = {**summarize(run_dir, states, spent, quick, timing), "commit": commit}
    write_json(run_dir / "summary.json", summary)
    echo("writing the report (plots, report.md, report.html, report-overview.png)")
    plots = make_plots(run_dir, summary)
    make_overview(run_dir / "report-overview.png", summary)
    write_text(run_dir / "report.md", report_markdown(summary, plots))
    write_text(run_dir / "report.html", report_html(summary, plots, run_dir))
    echo(headline(summary))
    return run_dir


def _prepare_micro(planned: list[tuple[str, Any, Any]], echo: Echo) -> None:
    """Build the micro policies the runs start from when the cache lacks them, each once.

    One missing policy is built here with the training's progress bar; several are built at
    the same time in separate processes, one CPU thread each (the builds use one thread, so the
    weights are the same as one after the other), with a bar over the finished builds. Each is
    announced with the time its last build took here.
    """
    from ifrl.pipelines.common import MICRO_PREFIX, resolve_model
    from ifrl.pipelines.micro.build import is_built, last_build_seconds

    paths = {cfg.model.path for _n, _r, cfg in planned if hasattr(cfg, "model") and cfg.model.path}
    names = [p[len(MICRO_PREFIX) :] for p in sorted(paths) if p.startswith(MICRO_PREFIX)]
    missing = [n for n in names if not is_built(n)]
    for name in missing:
        last = last_build_seconds(name)
        about = f"about {describe(last)} last time here" if last else "never built here"
        echo(f"building the micro policy {name!r} first ({about}; cached for later runs)")
    workers = min(len(missing), os.cpu_count() or 1)
    if workers <= 1:
        for name in missing:
            resolve_model(MICRO_PREFIX + name)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    echo(f"building {', '.join(missing)} at the same time ({workers} processes, 1 thread each)")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        jobs = {pool.submit(_build_one, name): name for name in missing}
        with tqdm(total=len(jobs), desc="micro policies", unit="policy") as bar:
            for job in as_completed(jobs):
                echo(f"    micro policy: {job.result()}")
                bar.update(1)


def _build_one(name: str) -> str:
    """Build the micro policy ``name`` (in a worker process); a line saying where and how long."""
    from ifrl.pipelines.micro import build_micro

    result = build_micro(name)
    return f"built {name} in {result.card['time']['total_seconds']:.0f} s: {result.path}"


def _config(name: str, recipe_name: str, quick: bool, run_dir: Path) -> Any:
    """The run's validated recipe config (written beside the run as ``NAME.config.json``)."""
    mapping = dict(demo_configs(quick)[name])
    if name == "itool":
        # iTool starts from the toolace run: its SFT model, SFT rows and the held-out dialogs on
        # the training tools (the SFT model's in-distribution eval set).
        mapping["start"] = {"toolace_run": str(run_dir / "toolace")}
        mapping["data"] = {
            **mapping.get("data", {}),
            "eval": str(run_dir / "toolace/eval/seen_dialogs.jsonl"),
        }
    write_json(run_dir / f"{name}.config.json", mapping)
    return from_mapping(get_recipe(recipe_name).config_cls, mapping, f"demo:{name}")
