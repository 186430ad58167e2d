"""The ``ifrl prm`` command group."""

from __future__ import annotations

import click


@click.group(name="prm")
def cli() -> None:
    """EDU-PRM: branch, label, train and score process reward models."""
