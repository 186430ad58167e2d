"""The ``ifrl toolgen`` command group."""

from __future__ import annotations

import click


@click.group(name="toolgen")
def cli() -> None:
    """Synthesize and verify function-calling data (ToolACE)."""
