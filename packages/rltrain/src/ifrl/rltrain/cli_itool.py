"""``ifrl rl itool --config FILE.yaml [--key value ...]``: run or resume the iTool loop.

A standalone click command; the ``ifrl rl`` group attaches it with ``cli.add_command(itool)``.
"""

from __future__ import annotations

import json

import click

from ifrl.rltrain.config import ConfigError, config_help, load_config
from ifrl.rltrain.itool import ITool, ITOOLConfig

# ``ifrl.rltrain.cli`` imports this module to attach the command, so it is imported lazily here.
CONTEXT = {
    "ignore_unknown_options": True,
    "allow_extra_args": True,
    "help_option_names": ["-h", "--help"],
}


@click.command(
    name="itool",
    context_settings=CONTEXT,
    help=(
        "iTool: warm-up SFT, then rounds of deficiency selection, MCTS preference pairs and "
        "SimPO with LoRA, scored on held-out tool calls. Reruns resume finished stages.\n\n"
        "Options (YAML keys, overridable as --key value; give mcts_split_markers as a YAML "
        f"list):\n\n\b\n{config_help(ITOOLConfig)}"
    ),
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML config file.",
)
@click.pass_context
def itool(ctx: click.Context, config_path: str | None) -> None:
    """Run the iTool loop and print one JSON summary row per iteration."""
    from ifrl.rltrain.cli import parse_overrides

    try:
        cfg = load_config(ITOOLConfig, config_path, parse_overrides(ctx.args, ITOOLConfig))
        runner = ITool(cfg)
    except ConfigError as err:
        raise click.UsageError(str(err)) from err
    for row in runner.run():
        click.echo(json.dumps(row))
    click.echo(f"summary: {runner.out / 'summary.md'}", err=True)
