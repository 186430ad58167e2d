"""The ``ifrl rl`` command group."""

from __future__ import annotations

import click


@click.group(name="rl")
def cli() -> None:
    """Train: SFT, GRPO, DPO/SimPO, MCTS preference pairs, iTool."""
