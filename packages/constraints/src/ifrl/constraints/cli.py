"""The ``ifrl constraints`` command group."""

from __future__ import annotations

import click


@click.group(name="constraints")
def cli() -> None:
    """Verify, synthesize and audit instruction constraints."""
