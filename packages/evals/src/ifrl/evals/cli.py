"""The ``ifrl eval`` command group: one command per benchmark, plus ``compare``.

Every benchmark command either rescores a file of existing responses (``--responses F``) or
generates with a model (``--model PATH --backend hf|vllm|openai``), then writes
``results.json``, ``samples.jsonl`` and ``report.md`` (with plots) to ``--out DIR`` and prints
the headline metrics.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from ifrl.core.cli import GeneratorOptions, generator_options
from ifrl.core.errors import IfrlError
from ifrl.core.records import SamplingParams
from ifrl.evals.benchmark import get_benchmark, run
from ifrl.evals.compare import compare_runs
from ifrl.evals.report import metric_row

__all__ = ["cli"]


@click.group(name="eval")
def cli() -> None:
    """Evaluate models: IFEval, IFBench, BFCL, GSM8K, PRM."""


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.option(
            "--out", "-o", required=True, type=click.Path(file_okay=False), help="Output directory."
        ),
        click.option(
            "--responses",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="Rescore this JSONL file of existing responses instead of generating.",
        ),
        generator_options(
            model_help="Model to generate with (local path or hub id; the served name for openai)."
        ),
        click.option(
            "--limit",
            type=int,
            default=None,
            help="Evaluate the first N examples (per category for BFCL).",
        ),
        click.option(
            "--n", "n", type=int, default=1, show_default=True, help="Samples per prompt."
        ),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option(
            "--temperature", type=float, default=0.0, show_default=True, help="0 = greedy."
        ),
        click.option("--top-p", type=float, default=1.0, show_default=True),
        click.option("--max-new-tokens", type=int, default=512, show_default=True),
        click.option(
            "--batch-size",
            type=int,
            default=64,
            show_default=True,
            help="Prompts per generate() call.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _data(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    path = click.Path(exists=True, dir_okay=False)
    return click.option(
        "--data", default=None, type=path, help=f"{what} (default: the Hugging Face hub)."
    )


def _execute(benchmark: Any, opts: dict[str, Any], extra_config: dict[str, Any]) -> None:
    gen: GeneratorOptions | None = opts.get("generator")
    config = {
        "model": gen.model if gen else None,
        "backend": None if opts["responses"] or gen is None else gen.backend,
        "responses": opts["responses"],
        **extra_config,
    }
    if opts["responses"]:
        result = run(benchmark, opts["out"], responses=opts["responses"], config=config)
    else:
        params = SamplingParams(
            n=opts["n"],
            temperature=opts["temperature"],
            top_p=opts["top_p"],
            max_new_tokens=opts["max_new_tokens"],
            seed=opts["seed"],
            logprobs=False,
        )
        config.update(
            n=opts["n"], seed=opts["seed"], temperature=opts["temperature"], limit=opts["limit"]
        )
        if gen is None or gen.model is None:
            raise click.UsageError("give --responses FILE to rescore, or --model to generate")
        result = run(
            benchmark,
            opts["out"],
            generator=gen.build(),
            params=params,
            batch_size=opts["batch_size"],
            config=config,
        )
    unsupported = result.info.get("unsupported_instruction_ids")
    if unsupported:
        click.echo(
            f"warning: {len(unsupported)} instruction type(s) unknown to ifrl.constraints were "
            f"left out: {', '.join(sorted(unsupported)[:8])}{' ...' if len(unsupported) > 8 else ''}",
            err=True,
        )
    click.echo(f"{result.benchmark}: wrote {opts['out']}/results.json, samples.jsonl, report.md")
    click.echo("| metric | value (%) | 95% CI | n |")
    for name, metric in result.metrics.items():
        click.echo(metric_row(name, metric))


def _errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (IfrlError, FileNotFoundError, ValueError) as err:
            raise click.ClickException(str(err)) from err

    return wrapper


@cli.command()
@_common
@click.option(
    "--category",
    "categories",
    multiple=True,
    help="BFCL category (repeatable); default: the AST and relevance ones, or those in "
    "--responses (multi-turn: with --responses only).",
)
@click.option(
    "--data-dir",
    default=None,
    help="BFCL data directory (default: the installed bfcl-eval package).",
)
@click.option(
    "--style",
    type=click.Choice(["python", "json", "hermes"]),
    default="python",
    show_default=True,
    help="python: BFCL's prompting format; json/hermes: native tool calls.",
)
@click.option(
    "--underscore-to-dot",
    is_flag=True,
    help="Expect a_b for functions named a.b (APIs without dots in names).",
)
@click.option(
    "--system-prompt",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="File with the system prompt for the python style ({functions} is replaced).",
)
@click.option(
    "--semantics",
    type=click.Choice(["reference", "fixed"]),
    default="reference",
    show_default=True,
    help="reference: bfcl-eval's verdicts; fixed: an output that tries to call but does not "
    "decode is no abstention in the irrelevance categories. In multi-turn categories, fixed also "
    "fails calls made in a turn whose function or value is missing.",
)
@_errors
def bfcl(
    categories: tuple[str, ...],
    data_dir: str | None,
    style: str,
    underscore_to_dot: bool,
    system_prompt: str | None,
    semantics: str,
    **opts: Any,
) -> None:
    """BFCL v4 AST, relevance and multi-turn categories (rescore BFCL result files with
    --responses; multi-turn categories: --responses only)."""
    from ifrl.evals.bfcl import BFCLBenchmark  # loaded when used: `ifrl eval --help` stays fast

    prompt = None
    if system_prompt:
        with open(system_prompt, encoding="utf-8") as fh:
            prompt = fh.read()
    bench = BFCLBenchmark(
        list(categories) or None,
        data_dir=data_dir,
        limit=opts["limit"],
        style=style,  # type: ignore[arg-type]
        underscore_to_dot=underscore_to_dot,
        system_prompt=prompt,
        semantics=semantics,  # type: ignore[arg-type]
    )
    _execute(bench, opts, {})


def _if_command(name: str) -> Callable[..., Any]:
    @_common
    @_data("JSONL data")
    @_errors
    def command(data: str | None, **opts: Any) -> None:
        bench = get_benchmark(name, data=data, limit=opts["limit"])
        _execute(bench, opts, {"data": data})

    command.__doc__ = (
        f"{'IFEval' if name == 'ifeval' else 'IFBench'}: prompt- and instruction-level accuracy, "
        "strict and loose, per instruction type."
    )
    return command


cli.command(name="ifeval")(_if_command("ifeval"))
cli.command(name="ifbench")(_if_command("ifbench"))


@cli.command()
@_common
@_data("GSM8K JSONL")
@_errors
def gsm8k(data: str | None, **opts: Any) -> None:
    """GSM8K: final-answer accuracy, majority vote over --n samples (maj@n, pass@1, pass@n)."""
    from ifrl.evals.gsm8k import GSM8KBenchmark  # loaded when used: `ifrl eval --help` stays fast

    _execute(GSM8KBenchmark(data, limit=opts["limit"]), opts, {"data": data})


@cli.command()
@click.option(
    "--responses",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Scored JSONL (first-error labels + predictions/step scores, or Best-of-N candidates with scores).",
)
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False))
@click.option(
    "--threshold",
    type=float,
    default=0.5,
    show_default=True,
    help="A step scored below this is an error.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the random-pick baseline and bootstrap.",
)
@click.option("--limit", type=int, default=None)
@_errors
def prm(responses: str, out: str, threshold: float, seed: int, limit: int | None) -> None:
    """PRM: ProcessBench first-error F1, and Best-of-N vs majority vote vs random."""
    from ifrl.evals.prm import PRMBenchmark  # loaded when used: `ifrl eval --help` stays fast

    opts = {"responses": responses, "out": out}
    _execute(PRMBenchmark(threshold, seed=seed, limit=limit), opts, {"threshold": threshold})


@cli.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out",
    "-o",
    default=None,
    type=click.Path(file_okay=False),
    help="Write compare.md and compare.png here.",
)
@_errors
def compare(runs: tuple[str, ...], out: str | None) -> None:
    """Put several runs side by side: one table (and, with --out, one plot)."""
    table = compare_runs(list(runs), out)
    click.echo(table)
