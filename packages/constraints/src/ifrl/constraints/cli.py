"""The ``ifrl constraints`` command group: list types, verify responses, synthesize prompts."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from ifrl.constraints.base import REGISTRY
from ifrl.constraints.inputs import VerifyItem, pair_responses, read_items
from ifrl.constraints.scoring import Evaluation, accuracy, evaluate_constraints
from ifrl.core.jsonl import JSONLWriter, count_lines


@click.group(name="constraints")
def cli() -> None:
    """Verify, synthesize and audit instruction constraints."""


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per type.")
@click.option("--family", default=None, help="Only this family (e.g. keywords).")
def list_cmd(as_json: bool, family: str | None) -> None:
    """List the registered constraint types with their kwargs schemas."""
    for cid, ctype in REGISTRY.items():
        if family and ctype.family() != family:
            continue
        if as_json:
            click.echo(json.dumps(ctype.schema()))
            continue
        params = ", ".join(
            f"{p.name}: {p.type}"
            + (f" in {list(p.choices)}" if p.choices and len(p.choices) <= 4 else "")
            + (f" >= {p.minimum}" if p.minimum is not None else "")
            + ("" if p.required else " (optional)")
            for p in ctype.params
        )
        click.echo(f"{cid:48s} {ctype.family():20s} {params or '-'}")


def _percent(x: float) -> str:
    return f"{100 * x:.2f}%"


@cli.command("verify")
@click.argument("input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Per-response results (JSONL).",
)
@click.option(
    "--responses",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Responses ({prompt, response} lines) to pair with INPUT (IFEval input data).",
)
@click.option("--by-line", is_flag=True, help="Pair --responses with INPUT line by line.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def verify_cmd(
    input_path: Path, output: Path, responses: Path | None, by_line: bool, quiet: bool
) -> None:
    """Verify responses against their IFEval-format constraints (strict and loose).

    INPUT lines have prompt, response, instruction_id_list, kwargs (and optional key); with
    --responses, INPUT is IFEval input data and responses are paired by prompt (or by line).
    """
    from tqdm import tqdm

    if by_line and responses is None:
        raise click.UsageError("--by-line needs --responses")
    if responses is not None:
        pairing = pair_responses(input_path, responses, by_line=by_line)
        if pairing.inputs_without_response:
            shown = ", ".join(map(str, pairing.inputs_without_response[:10]))
            click.echo(
                f"warning: {len(pairing.inputs_without_response)} input prompts have no "
                f"response with the same prompt (keys {shown}); they are left out "
                "(use --by-line to pair by position)",
                err=True,
            )
        if pairing.responses_without_input:
            click.echo(
                f"warning: {pairing.responses_without_input} responses match no input prompt",
                err=True,
            )
        items: Iterable[VerifyItem] = pairing.items
        total = len(pairing.items)
    else:
        items = read_items(input_path)  # streamed: validated line by line as it goes
        total = count_lines(input_path)
    with JSONLWriter(output) as writer:

        def results() -> Iterator[Evaluation]:
            for item in tqdm(items, total=total, desc="verify", unit="resp", disable=quiet):
                ev = evaluate_constraints(item.response, item.constraints, key=item.key)
                writer.write(ev.to_dict())
                yield ev

        acc = accuracy(results())
    click.echo(f"{acc.prompts} responses, {acc.instructions} instructions -> {output}")
    click.echo(f"prompt-level strict accuracy:      {_percent(acc.prompt_strict)}")
    click.echo(f"prompt-level loose accuracy:       {_percent(acc.prompt_loose)}")
    click.echo(f"instruction-level strict accuracy: {_percent(acc.instruction_strict)}")
    click.echo(f"instruction-level loose accuracy:  {_percent(acc.instruction_loose)}")


@cli.command("synth")
@click.argument("seeds", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-n", "--num", "n", type=int, default=None, help="How many prompts (default: one per seed)."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="IFEval-format JSONL with checkers.",
)
@click.option("--min-constraints", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--max-constraints", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--type", "types", multiple=True, help="Restrict to these constraint ids.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
def synth_cmd(
    seeds: Path,
    n: int | None,
    output: Path,
    min_constraints: int,
    max_constraints: int,
    types: tuple[str, ...],
    seed: int,
) -> None:
    """Attach conflict-free hard constraints to the seed prompts of SEEDS (one per line).

    With -n larger than the number of seeds, seeds are reused in order (cycling).
    """
    from ifrl.constraints.synth import synthesize

    lines = [s.strip() for s in seeds.read_text(encoding="utf-8").splitlines() if s.strip()]
    if not lines:
        raise click.UsageError(f"{seeds} has no seed prompts")
    if max_constraints < min_constraints:
        raise click.UsageError("--max-constraints must be >= --min-constraints")
    count = n if n is not None else len(lines)
    prompts = [lines[i % len(lines)] for i in range(count)]
    records = synthesize(
        prompts, (min_constraints, max_constraints), random.Random(seed), types=types or None
    )
    with JSONLWriter(output) as writer:
        for rec in records:
            writer.write(rec.to_dict())
    click.echo(f"{len(records)} prompts -> {output}")


def _attach_judge_commands() -> None:
    # `audit` and `refine` live beside the judge they drive; attached here so the group lists them.
    from ifrl.constraints.cli_judge import audit, refine

    cli.add_command(audit)
    cli.add_command(refine)


_attach_judge_commands()
