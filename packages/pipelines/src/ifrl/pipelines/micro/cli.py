"""``ifrl tiny build NAME`` and ``ifrl tiny list``: the micro policies on the command line
(registered as ``ifrl.tiny`` entry points, under ifrl-core's ``ifrl tiny`` group)."""

from __future__ import annotations

import click


@click.command(name="build")
@click.argument("name")
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory to write to (default: $IFRL_CACHE/micro/<name>-<content hash>).",
)
@click.option("--force", is_flag=True, help="Rebuild even when the cache holds this build.")
def build(name: str, out: str | None, force: bool) -> None:
    """Build (or reuse from the cache) the micro policy NAME; print its card and directory."""
    from ifrl.pipelines.micro.build import build_micro

    result = build_micro(name, out_dir=out, force=force, echo=lambda m: click.echo(m, err=True))
    for metric, m in result.card["metrics"].items():
        low, high = m["ci95"]
        click.echo(
            f"{metric}: {m['value']:.3f} (n={m['n']}, 95% CI [{low:.3f}, {high:.3f}])", err=True
        )
    click.echo(str(result.path))


@click.command(name="list")
def list_() -> None:
    """The micro policies that can be built, and those in the cache."""
    from ifrl.pipelines.micro.build import list_builds
    from ifrl.pipelines.micro.spec import SPECS

    for spec in SPECS.values():
        click.echo(f"{spec.name} ({spec.domain}): {spec.description}")
    builds = list_builds()
    if builds:
        click.echo("\ncached:")
    for path, card in builds:
        metrics = ", ".join(f"{k} {m['value']:.2f}" for k, m in card.get("metrics", {}).items())
        click.echo(f"{path}  {metrics}")
