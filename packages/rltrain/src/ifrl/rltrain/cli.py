"""The ``ifrl rl`` command group: ``sft``, ``grpo``, ``dpo`` (``--config FILE.yaml`` plus one
``--key value`` option per config field, generated from the configs) and ``merge``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from ifrl.core.cli import config_options
from ifrl.rltrain.dpo import DPOConfig, DPOTrainer
from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer
from ifrl.rltrain.loop import Trainer
from ifrl.rltrain.models import merge_and_save
from ifrl.rltrain.sft import SFTConfig, SFTTrainer
from ifrl.rltrain.trainconfig import TrainConfig

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group(name="rl", context_settings=CONTEXT)
def cli() -> None:
    """Train: SFT, GRPO, DPO/SimPO (MCTS preference pairs and iTool: `ifrl pipeline run itool`)."""


def command(
    name: str, trainer: Callable[[Any], Trainer], cls: type[TrainConfig], summary: str
) -> click.Command:
    """The command that builds ``cls`` from ``--config`` and options, runs ``trainer(config)``
    and prints the result as JSON."""

    @click.command(
        name=name,
        context_settings=CONTEXT,
        help=f"{summary}\n\nEvery option is also a key of the --config YAML file; options given "
        "here override the file. A bare boolean flag (--use_lora) means true.",
    )
    @config_options(cls)
    def run(config: TrainConfig) -> None:
        result = trainer(config).train()
        final = str(result.final_model) if result.final_model else None
        head = {"steps": result.steps, "output_dir": str(result.output_dir)}
        summary = {**head, "final_model": final, "metrics": result.metrics}
        click.echo(json.dumps({**summary, "warnings": list(result.warnings)}))

    return run


cli.add_command(
    command(
        "sft",
        SFTTrainer,
        SFTConfig,
        "Supervised fine-tuning on assistant turns (curriculum, packing).",
    )
)
cli.add_command(command("grpo", GRPOTrainer, GRPOConfig, "GRPO with verifiable rewards."))
cli.add_command(command("dpo", DPOTrainer, DPOConfig, "DPO / IPO / SimPO on preference pairs."))


@cli.command(name="merge")
@click.argument("adapter", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path())
def merge(adapter: str, out: str) -> None:
    """Merge a saved LoRA ADAPTER into its base model and save a plain model to OUT."""
    click.echo(str(merge_and_save(adapter, out)))


@cli.command(
    name="itool",
    context_settings={**CONTEXT, "ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
def itool() -> None:
    """Moved: run `ifrl pipeline run itool --config FILE` (the iTool iterations are a recipe)."""
    click.echo(
        "`ifrl rl itool` moved: run `ifrl pipeline run itool --config FILE` (in FILE, model "
        "goes under start.model, data and eval_data under data.train and data.eval, every "
        "other key under itool:; the run directory is --run-dir).",
        err=True,
    )
    sys.exit(2)
