"""The ``ifrl pipeline`` command group and the top-level ``ifrl demo``."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click


@click.group(name="pipeline")
def cli() -> None:
    """Run end-to-end recipes (one YAML config each, resumable stage by stage)."""


@cli.command(name="list")
def list_() -> None:
    """The recipes and their stages."""
    from ifrl.pipelines.recipe import get_recipe, recipe_names

    for name in recipe_names():
        recipe = get_recipe(name)
        click.echo(f"{name}: {recipe.description}")
        click.echo(f"    stages: {' → '.join(recipe.stage_names())}")


@cli.command(name="run")
@click.argument("recipe")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The recipe's YAML config.",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory (default runs/<recipe>-<time>); rerun with the same one to resume.",
)
@click.option("--from", "from_stage", default=None, help="Rerun this stage and every later one.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one config value, dotted by section (sft.max_steps=5); repeatable.",
)
def run(
    recipe: str,
    config_path: str,
    run_dir: str | None,
    from_stage: str | None,
    overrides: tuple[str, ...],
) -> None:
    """Run RECIPE with --config FILE.yaml, skipping stages that are up to date."""
    from ifrl.core.cli import parse_settings
    from ifrl.core.config import load_config
    from ifrl.pipelines.recipe import estimates, get_recipe, run_recipe
    from ifrl.pipelines.run_report import results_table, write_run_report
    from ifrl.pipelines.timings import total

    given = parse_settings(overrides)
    rec = get_recipe(recipe)  # errors end at the `ifrl` error boundary: one line, exit 1
    cfg: Any = load_config(rec.config_cls, config_path, given)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    target = Path(run_dir) if run_dir else Path("runs") / f"{recipe}-{stamp}"
    click.echo(_estimate_line(*total(estimates(rec, cfg))))
    stages = run_recipe(rec, cfg, target, from_stage=from_stage, echo=click.echo)
    click.echo("")
    click.echo(results_table(stages))
    if any("report.md" in s.outputs for s in rec.stages_for(cfg)):
        report = target / "report.md"  # the recipe writes its own
    else:
        report = write_run_report(recipe, target, stages, config_path)
    click.echo(f"report: {report} (stage details in {target / 'state.json'})")


def _estimate_line(seconds: float, untimed: int) -> str:
    """The up-front estimate, from this machine's last runs of the same stages."""
    from ifrl.pipelines.timings import describe

    if seconds == 0 and untimed:
        return "estimate: none yet (no stage of this recipe has run on this machine)"
    rest = f"; {untimed} stage(s) never timed" if untimed else ""
    return f"estimate: about {describe(seconds)} of stage time (this machine's last runs{rest})"


@cli.command(name="show-config")
@click.argument("recipe")
def show_config(recipe: str) -> None:
    """Every config field of RECIPE with its type, default and help."""
    from ifrl.core.config import describe
    from ifrl.pipelines.recipe import get_recipe

    for line in describe(get_recipe(recipe).config_cls):
        click.echo(line)


@click.command()
@click.option("--quick", is_flag=True, help="A smoke run with fewer samples and tokens.")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="runs",
    show_default=True,
    help="Directory under which the run directory demo-<time>/ is created.",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="The run directory (rerun with the same one to resume; default: a new one under --out).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the newest demo run under --out (of the same kind, quick or full).",
)
def demo(quick: bool, out: str, run_dir: str | None, resume: bool) -> None:
    """Run small configurations of the four recipes on the tiny model (CPU, offline) and write a
    report. Reruns resume: finished stages are skipped."""
    from ifrl.pipelines.demo import latest_run, run_demo

    if resume and run_dir is None:
        found = latest_run(out, quick)
        if found is None:
            raise click.UsageError(f"--resume: no {'quick ' if quick else ''}demo run under {out}")
        run_dir = str(found)
        click.echo(f"resuming {run_dir}")
    done = run_demo(out, quick=quick, run_dir=run_dir, echo=click.echo)
    click.echo(f"overview picture: {done / 'report-overview.png'}")
    click.echo(f"report: {done / 'report.md'} (and {done / 'report.html'})")
