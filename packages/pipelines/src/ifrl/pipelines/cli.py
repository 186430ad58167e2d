"""The ``ifrl pipeline`` command group and the top-level ``ifrl demo``."""

from __future__ import annotations

import click


@click.group(name="pipeline")
def cli() -> None:
    """Run end-to-end recipes."""


@click.command()
@click.option("--quick", is_flag=True, help="A smoke run with fewer samples and tokens.")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="runs",
    show_default=True,
    help="Directory under which the run directory demo-<time>/ is created.",
)
def demo(quick: bool, out: str) -> None:
    """Build the tiny model and run the pipeline stages end to end on the CPU, offline."""
    from ifrl.pipelines.smoke import run_smoke

    run_dir = run_smoke(out, quick=quick, echo=click.echo)
    click.echo(f"report: {run_dir / 'report.md'}")
