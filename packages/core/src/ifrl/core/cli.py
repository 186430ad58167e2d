"""The ``ifrl`` command line.

Subcommand groups come from the installed ifrl distributions through the ``ifrl.cli`` entry-point
group (``constraints``, ``toolgen``, ``prm``, ``rl``, ``eval``, ``pipeline``, ``demo``), loaded only
when used so ``ifrl --help`` stays fast. Unknown commands suggest the nearest known one.
"""

from __future__ import annotations

import difflib
import sys
from importlib.metadata import distributions, entry_points
from typing import Any

import click

ENTRY_POINT_GROUP = "ifrl.cli"
MEMBERS = (
    "ifrl-core",
    "ifrl-constraints",
    "ifrl-toolgen",
    "ifrl-edu-prm",
    "ifrl-rltrain",
    "ifrl-evals",
    "ifrl-pipelines",
    "ifrl-prm",
)


def installed_members() -> dict[str, str]:
    """Installed ifrl distributions and their versions, in the canonical member order."""
    found: dict[str, str] = {}
    for dist in distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name in MEMBERS:
            found[name] = dist.version
    return {name: found[name] for name in MEMBERS if name in found}


class IfrlGroup(click.Group):
    """A click group whose extra subcommands are entry points, loaded lazily."""

    def _plugins(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        ep = self._plugins().get(cmd_name)
        if ep is None:
            return None
        loaded = ep.load()
        if not isinstance(loaded, click.Command):
            raise click.ClickException(f"entry point {ep.value!r} is not a click command")
        return loaded

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.4)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)


@click.group(cls=IfrlGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """ifrl: instruction following and tool use with verifiable rewards."""


@main.command()
def version() -> None:
    """List each installed ifrl member and its version."""
    members = installed_members()
    width = max((len(n) for n in members), default=0)
    for name, ver in members.items():
        click.echo(f"{name.ljust(width)}  {ver}")
    click.echo(f"{'python'.ljust(width)}  {sys.version.split()[0]}")


@main.command()
@click.option("--arch", type=click.Choice(["qwen2", "llama"]), default="qwen2", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory to write to (default: the cache).",
)
def tiny(arch: str, seed: int, out: str | None) -> None:
    """Build (or reuse from the cache) the seeded tiny model and print its directory."""
    from ifrl.core.tiny import build_tiny_model

    path = build_tiny_model(arch=arch, seed=seed, out_dir=out)
    click.echo(str(path))


if __name__ == "__main__":  # pragma: no cover
    main()
