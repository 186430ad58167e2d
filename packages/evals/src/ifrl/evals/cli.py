"""The ``ifrl eval`` command group."""

from __future__ import annotations

import click


@click.group(name="eval")
def cli() -> None:
    """Evaluate models: IFEval, IFBench, BFCL, GSM8K, PRM."""
