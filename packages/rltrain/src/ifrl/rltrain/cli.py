"""The ``ifrl rl`` command group: ``sft``, ``grpo``, ``dpo`` (YAML config + ``--key value``) and ``merge``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import click

from ifrl.rltrain.config import ConfigError, TrainConfig, config_help, load_config

CONTEXT = {
    "ignore_unknown_options": True,
    "allow_extra_args": True,
    "help_option_names": ["-h", "--help"],
}


def parse_overrides(args: Sequence[str], cls: type[TrainConfig]) -> dict[str, Any]:
    """``--key value`` / ``--key=value`` / bare boolean ``--flag`` pairs into a dict."""
    bools = {f.name for f in fields(cls) if f.type in (bool, "bool")}
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        tok = args[i]
        if not tok.startswith("--") or len(tok) < 3:
            raise ConfigError(f"command line: expected --key value, got {tok!r}")
        key = tok[2:]
        if "=" in key:
            key, value = key.split("=", 1)
            i += 1
        elif key.replace("-", "_") in bools and (
            i + 1 == len(args) or args[i + 1].startswith("--")
        ):
            value = "true"
            i += 1
        else:
            if i + 1 == len(args):
                raise ConfigError(f"command line: --{key} needs a value")
            value = args[i + 1]
            i += 2
        out[key.replace("-", "_")] = value
    return out


def _run(algo: str, config_path: str | None, extra: Sequence[str]) -> None:
    from ifrl.rltrain import dpo, grpo, sft

    classes: dict[str, tuple[type[TrainConfig], Any]] = {
        "sft": (sft.SFTConfig, sft.SFTTrainer),
        "grpo": (grpo.GRPOConfig, grpo.GRPOTrainer),
        "dpo": (dpo.DPOConfig, dpo.DPOTrainer),
    }
    cfg_cls, trainer_cls = classes[algo]
    try:
        cfg = load_config(cfg_cls, config_path, parse_overrides(extra, cfg_cls))
    except ConfigError as err:
        raise click.UsageError(str(err)) from err
    result = trainer_cls(cfg).train()
    click.echo(
        json.dumps(
            {
                "steps": result.steps,
                "output_dir": str(result.output_dir),
                "final_model": str(result.final_model) if result.final_model else None,
                "metrics": result.metrics,
            }
        )
    )


def _command(algo: str, cls: type[TrainConfig], summary: str) -> click.Command:
    @click.command(
        name=algo,
        context_settings=CONTEXT,
        help=f"{summary}\n\nOptions (YAML keys, overridable as --key value):\n\n\b\n{config_help(cls)}",
    )
    @click.option(
        "--config",
        "config_path",
        type=click.Path(exists=True, dir_okay=False),
        help="YAML config file.",
    )
    @click.pass_context
    def command(ctx: click.Context, config_path: str | None) -> None:
        _run(algo, config_path, ctx.args)

    return command


@click.group(name="rl")
def cli() -> None:
    """Train: SFT, GRPO, DPO/SimPO, MCTS preference pairs, iTool."""


def _register() -> None:
    from ifrl.rltrain.dpo import DPOConfig
    from ifrl.rltrain.grpo import GRPOConfig
    from ifrl.rltrain.sft import SFTConfig

    cli.add_command(
        _command(
            "sft", SFTConfig, "Supervised fine-tuning on assistant turns (curriculum, packing)."
        )
    )
    cli.add_command(_command("grpo", GRPOConfig, "GRPO with verifiable rewards."))
    cli.add_command(_command("dpo", DPOConfig, "DPO / IPO / SimPO on preference pairs."))


@cli.command(name="merge")
@click.argument("adapter", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path())
def merge(adapter: str, out: str) -> None:
    """Merge a saved LoRA ADAPTER into its base model and save a plain model to OUT."""
    from ifrl.rltrain.models import merge_and_save

    click.echo(str(merge_and_save(adapter, out)))


def _register_itool() -> None:
    # The iTool loop's command lives in its own module; attach it when that module is present.
    try:
        from ifrl.rltrain.cli_itool import itool
    except ModuleNotFoundError as err:
        if err.name != "ifrl.rltrain.cli_itool":
            raise
        return
    cli.add_command(itool)


_register()
_register_itool()
