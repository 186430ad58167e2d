"""The ``ifrl constraints`` command group: list types, verify responses, synthesize prompts,
audit a judge against the verifiers, refine a dataset for reward precision."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from ifrl.constraints.audit import AuditConfig, audit_judges, run_audit, write_audit
from ifrl.constraints.base import REGISTRY, SEMANTICS, Semantics, build
from ifrl.constraints.codec import (
    FORMATS,
    DatasetFormat,
    detect_format,
    read_prompts,
    row_key,
    write_prompts,
)
from ifrl.constraints.inputs import pair_responses, read_items
from ifrl.constraints.noisy import simulate_audit_items
from ifrl.constraints.refine import JudgePrecision, RefineConfig, read_pilot_rewards
from ifrl.constraints.refine import refine as refine_prompts
from ifrl.constraints.scoring import Evaluation, accuracy, evaluate_constraints
from ifrl.constraints.synth import synthesize
from ifrl.core.cli import GeneratorOptions, config_options, generator_options
from ifrl.core.errors import IfrlError
from ifrl.core.jsonl import (
    JSONLWriter,
    count_lines,
    read_jsonl,
    write_json,
    write_jsonl,
    write_text,
)
from ifrl.core.records import ConstrainedPrompt


@click.group(name="constraints")
def cli() -> None:
    """Verify, synthesize and audit instruction constraints."""


def _input(metavar: str, *, required: bool = True) -> Any:
    path = click.Path(exists=True, dir_okay=False, path_type=Path)
    return click.argument("input_path", metavar=metavar, required=required, type=path)


def _output(help: str, long: str = "--output") -> Any:
    path = click.Path(path_type=Path)
    return click.option("-o", long, "output", required=True, type=path, help=help)


def _responses(help: str) -> Any:
    def decorate(fn: Any) -> Any:
        fn = click.option("--by-line", is_flag=True, help="Pair --responses with INPUT by line.")(
            fn
        )
        return click.option(
            "--responses", type=click.Path(exists=True, dir_okay=False), default=None, help=help
        )(fn)

    return decorate


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
        fix = "fixed" if ctype.has_fix() else "-"
        click.echo(f"{cid:48s} {ctype.family():20s} {fix:6s} {params or '-'}")


def _percent(x: float) -> str:
    return f"{100 * x:.2f}%"


@cli.command("verify")
@_input("INPUT")
@_output("Per-response results (JSONL).")
@_responses("Responses ({prompt, response} lines) to pair with INPUT's prompts.")
@click.option(
    "--semantics",
    type=click.Choice(SEMANTICS),
    default="reference",
    show_default=True,
    help="The benchmarks' own checkers (reference) or the corrected ones (fixed).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def verify_cmd(
    input_path: Path,
    output: Path,
    responses: str | None,
    by_line: bool,
    semantics: Semantics,
    quiet: bool,
) -> None:
    """Verify responses against their hard constraints (strict and loose).

    INPUT lines have prompt, response and constraints (IFEval's instruction_id_list and kwargs,
    VerIF or native rows; key optional); with --responses, INPUT holds the prompts (e.g. IFEval's
    input data) and responses are paired by prompt (or by line). --semantics fixed applies the
    documented corrections of checkers that score wrongly (see the package README).
    """
    if by_line and responses is None:
        raise click.UsageError("--by-line needs --responses")
    _require_rows(input_path, "prompts to verify")
    items: Iterable[ConstrainedPrompt]
    if responses is not None:
        pairing = pair_responses(read_prompts(input_path, check=True), responses, by_line=by_line)
        if pairing.inputs_without_response:
            shown = ", ".join(pairing.inputs_without_response[:10])
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
        items, total = pairing.items, len(pairing.items)
        if not total:
            raise click.ClickException(f"{responses}: no response matches a prompt of {input_path}")
    else:
        items, total = read_items(input_path), count_lines(input_path)  # validated as read
    with JSONLWriter(output) as writer:

        def results() -> Iterator[Evaluation]:
            for item in tqdm(items, total=total, desc="verify", unit="resp", disable=quiet):
                built = [build(c.id, c.kwargs, semantics) for c in item.hard]
                ev = evaluate_constraints(item.response or "", built, key=row_key(item))
                writer.write(ev.to_dict())
                yield ev

        acc = accuracy(results())
    click.echo(
        f"{acc.prompts} responses, {acc.instructions} instructions ({semantics} semantics) "
        f"-> {output}"
    )
    click.echo(f"prompt-level strict accuracy:      {_percent(acc.prompt_strict)}")
    click.echo(f"prompt-level loose accuracy:       {_percent(acc.prompt_loose)}")
    click.echo(f"instruction-level strict accuracy: {_percent(acc.instruction_strict)}")
    click.echo(f"instruction-level loose accuracy:  {_percent(acc.instruction_loose)}")


@cli.command("synth")
@click.argument("seeds", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-n", "--num", "n", type=int, default=None, help="How many prompts (default: one per seed)."
)
@_output("IFEval-format JSONL with checkers.")
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
    lines = [s.strip() for s in seeds.read_text(encoding="utf-8").splitlines() if s.strip()]
    if not lines:
        raise click.UsageError(f"{seeds} has no seed prompts")
    if max_constraints < min_constraints:
        raise click.UsageError("--max-constraints must be >= --min-constraints")
    if n is not None and n < 1:
        raise click.BadParameter(f"must be at least 1, got {n}", param_hint="-n")
    count = n if n is not None else len(lines)
    prompts = [lines[i % len(lines)] for i in range(count)]
    records = synthesize(
        prompts, (min_constraints, max_constraints), random.Random(seed), types=types or None
    )
    write_prompts(output, records, "ifeval")
    click.echo(f"{len(records)} prompts -> {output}")


@cli.command()
@_input("INPUT.jsonl", required=False)
@_output("Directory for audit.json, audit.md, pairs.jsonl and the PNG plots.", "--out")
@_responses("JSONL of responses to pair with INPUT's prompts (by prompt text).")
@click.option(
    "--synthetic",
    type=int,
    default=None,
    help="Audit N simulated responses with random hard constraints instead of INPUT.",
)
@generator_options(
    backends=("noisy", "openai", "vllm", "hf"),
    default="noisy",
    backend_flag="--judge",
    backend_help="Who judges: a simulated NoisyJudge or an LLM behind a backend.",
    model_help="Judge model (path or served name) for openai/vllm/hf.",
)
@config_options(AuditConfig)
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots (no matplotlib needed).")
def audit(
    input_path: Path | None,
    output: Path,
    responses: str | None,
    by_line: bool,
    synthetic: int | None,
    generator: GeneratorOptions,
    config: AuditConfig,
    no_plots: bool,
) -> None:
    """Measure a judge's reward precision against the hard verifiers.

    INPUT.jsonl holds prompts with hard constraints (IFEval/IFBench, VerIF or native format) and
    a `response` each (or pass --responses). The judge judges every hard constraint; the
    verifiers' verdicts are the truth. Prints the key numbers and writes the report. --inject
    also attacks the non-compliant responses with the prompt-injection suite and reports the
    false-pass rate under injection.
    """
    if (input_path is None) == (synthetic is None):
        raise click.UsageError("give INPUT.jsonl or --synthetic N (one of them)")
    try:
        if input_path is None:
            items = simulate_audit_items(synthetic or 0, seed=config.seed)
        else:
            _require_rows(input_path, "prompts to audit")
            items = list(read_prompts(input_path))
            if responses is not None:
                pairing = pair_responses(items, responses, by_line=by_line)
                if pairing.inputs_without_response:
                    missing = pairing.inputs_without_response
                    raise click.ClickException(
                        f"{len(missing)} prompts have no response in {responses} (first: "
                        f"{missing[0]!r}); use --by-line to pair line by line"
                    )
                items = pairing.items
        items = items[: config.limit] if config.limit is not None else items
        missing = [i.id for i in items if i.response is None]
        if missing:
            raise click.ClickException(
                f"{len(missing)} items have no response (first: {missing[0]!r}); pass --responses"
            )
        llm = generator.build() if generator.backend != "noisy" else None
        judges = audit_judges(config, llm, name=f"{generator.backend}:{generator.model}")
        report, pairs = run_audit(
            items,
            judges,
            truth_mode=config.truth,
            semantics=config.semantics,
            progress=True,
            inject=config.inject,
            inject_limit=config.inject_limit,
            seed=config.seed,
        )
        written = write_audit(report, output, pairs, plots=not no_plots)
    except IfrlError as err:
        raise click.ClickException(str(err)) from err
    for name, entry in report["judges"].items():
        o = entry["overall"]
        click.echo(
            f"{name}: {o['n']} pairs, precision {_f(o['precision'])}, recall compliant "
            f"{_f(o['recall_compliant'])}, recall non-compliant {_f(o['recall_noncompliant'])}, "
            f"kappa {_f(o['kappa'])}, unparseable {o['unparseable']}"
        )
        if "injection" in entry:
            i, c = entry["injection"]["overall"], entry["injection"]["clean"]
            ci = "[{:.3f}, {:.3f}]".format(*i["ci95"]) if i["ci95"] else "n/a"
            click.echo(
                f"{name}: under injection ({len(report['injection']['attacks'])} attack styles) "
                f"false-pass {i['passed']}/{i['n']} = {_f(i['false_pass_rate'])} {ci}, "
                f"unparseable {i['unparseable']}; clean {c['passed']}/{c['n']}"
            )
    click.echo(f"ground truth: hard verifiers, {config.truth}, {config.semantics} semantics")
    click.echo("wrote " + ", ".join(str(p) for p in written))


def _require_rows(path: Path, what: str) -> None:
    """A usage error naming ``path`` when it has no non-blank line."""
    if count_lines(path) == 0:
        raise click.ClickException(f"{path}: no {what} (the file is empty)")


def _read_json(path: Path) -> Any:
    """``path``'s JSON, or an error naming the file, line and column."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise click.ClickException(f"{path}: not UTF-8 text ({err.reason})") from None
    except json.JSONDecodeError as err:
        raise click.ClickException(
            f"{path}:{err.lineno}:{err.colno}: not valid JSON ({err.msg})"
        ) from None


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _no_limit(given: dict[str, Any]) -> dict[str, Any]:
    """``--max-soft -1`` (the old spelling of no limit) as ``None``."""
    return {"max_soft": None} if str(given.get("max_soft", "")).strip() == "-1" else {}


@cli.command()
@_input("INPUT.jsonl")
@_output("The refined dataset (JSONL).", "--out")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="Report path (default: OUT with .report.json; a .md and a .dropped.jsonl beside it).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default=None,
    help="Output format (default: the input's format).",
)
@click.option(
    "--audit",
    "audit_path",
    type=click.Path(exists=True, dir_okay=False),
    help="audit.json giving the judge's precision per type.",
)
@click.option("--judge", "judge_name", default=None, help="Which judge of the audit (if several).")
@click.option(
    "--pilot",
    "pilot_path",
    type=click.Path(exists=True, dir_okay=False),
    help='Pilot-run rewards JSONL ({"id": ..., "rewards": [...]}): keep prompts '
    "rewarded above 0 at least once.",
)
@config_options(RefineConfig, fixed=_no_limit)
def refine(
    input_path: Path,
    output: Path,
    report_path: str | None,
    fmt: DatasetFormat | None,
    audit_path: str | None,
    judge_name: str | None,
    pilot_path: str | None,
    config: RefineConfig,
) -> None:
    """Refine a constrained-prompt dataset for reward precision and write a report of the drops."""
    if config.min_precision is not None and audit_path is None and not config.hard_only:
        raise click.UsageError("--min-precision needs --audit")
    try:
        _require_rows(input_path, "prompts to refine")
        precision = None
        if audit_path is not None:
            precision = JudgePrecision(_read_json(Path(audit_path)), judge_name)
        pilot = read_pilot_rewards(pilot_path) if pilot_path else None
        if fmt is None:
            first = next(iter(read_jsonl(input_path)), None)
            fmt = detect_format(first) if first is not None else "native"
        kept, report = refine_prompts(
            read_prompts(input_path), config, precision=precision, pilot=pilot
        )
        write_prompts(output, kept, fmt)
    except (IfrlError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    base = Path(report_path) if report_path else output.with_suffix(".report.json")
    write_json(base, report.to_dict())
    write_text(base.with_suffix(".md"), report.to_markdown())
    write_jsonl(base.with_suffix(".dropped.jsonl"), report.log)
    d = report.to_dict()
    click.echo(
        f"kept {d['kept_prompts']}/{d['input_prompts']} prompts "
        f"({d['kept_constraints']['hard']} hard, {d['kept_constraints']['soft']} soft constraints; "
        f"{d['semantics']} checkers)"
    )
    for kind in ("dropped_constraints", "dropped_prompts"):
        for reason, count in d[kind].items():
            click.echo(f"  {kind.replace('_', ' ')}: {reason}: {count}")
    click.echo(f"wrote {output}, {base}, {base.with_suffix('.md')}")


__all__ = ["audit", "cli", "list_cmd", "refine", "synth_cmd", "verify_cmd"]
