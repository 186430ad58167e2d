"""The ``ifrl toolgen`` command group: apis, dialogs, stats, verify, audit, export, import (and
the moved selfevolve)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ifrl.core.cli import GeneratorOptions, config_options, generator_options
from ifrl.core.generation import Generator
from ifrl.core.jsonl import JSONLWriter, read_jsonl, write_json, write_jsonl, write_text
from ifrl.toolgen.judge_audit import JudgeAuditConfig

if TYPE_CHECKING:
    from ifrl.toolgen.exports import ExportFormat

BACKENDS = ("programmatic", "hf", "vllm", "openai")


def _model(options: GeneratorOptions) -> Generator:
    """The generator the options name (``programmatic`` has none and is rejected here)."""
    if options.backend == "programmatic":
        raise click.UsageError("the programmatic backend does not use a model")
    generator: Generator = options.build()
    return generator


def _parse_shard(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        i, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise click.BadParameter(
            f"expected i/n such as 0/4, got {value!r}", param_hint="--shard"
        ) from None
    if n < 1 or not 0 <= i < n:
        raise click.BadParameter(f"need 0 <= i < n, got {value!r}", param_hint="--shard")
    return i, n


backend_options = generator_options(
    backends=BACKENDS,
    default="programmatic",
    backend_help="Who writes: rules and templates, or a model.",
    model_help="Model path (hf, vllm) or served model name (openai).",
)


def _parse_mix(value: str | None) -> dict[str, float] | None:
    """``single=2,multi_request=1`` as dialog-type weights (unlisted types get 0)."""
    if not value:
        return None
    from ifrl.toolgen.dialog import DIALOG_TYPES

    weights: dict[str, float] = dict.fromkeys(DIALOG_TYPES, 0.0)
    for item in value.split(","):
        name, sep, weight = item.partition("=")
        name = name.strip()
        try:
            number = float(weight) if sep else 1.0
        except ValueError:
            number = -1.0
        if name not in weights or number < 0:
            raise click.BadParameter(
                f"expected TYPE=WEIGHT with TYPE one of {', '.join(DIALOG_TYPES)} and WEIGHT >= 0, "
                f"got {item!r}",
                param_hint="--mix",
            )
        weights[name] = number
    if not any(weights.values()):
        raise click.BadParameter("at least one type needs a positive weight", param_hint="--mix")
    return weights


def _rate(n: int, seconds: float, unit: str) -> str:
    return f"{n} {unit} in {seconds:.2f}s ({n / seconds if seconds > 0 else float('inf'):.1f} {unit}/s)"


@click.group(name="toolgen")
def cli() -> None:
    """Synthesize and verify function-calling data (ToolACE)."""


@cli.command()
@click.option(
    "-n", "count", type=click.IntRange(min=1), required=True, help="Number of APIs in the pool."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="APIs JSONL.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--resume/--no-resume", default=True, show_default=True, help="Continue an existing file."
)
@click.option(
    "--embed-model", default="", help="sentence-transformers model for near-duplicate removal."
)
@click.option(
    "--expand-tree", is_flag=True, help="Let the model add subdomains to the seed tree first."
)
@backend_options
def apis(
    count: int,
    output: str,
    seed: int,
    resume: bool,
    embed_model: str,
    expand_tree: bool,
    generator: GeneratorOptions,
) -> None:
    """Build an API pool by self-evolution (speciation, adaptation, evolution)."""
    # loaded when used, so that `ifrl toolgen --help` stays fast
    import ifrl.toolgen as apimod

    embedder = apimod.SentenceTransformerEmbedder(embed_model) if embed_model else None
    dedup = apimod.Deduplicator(embedder)
    pool: apimod.ApiGenerator
    if generator.backend == "programmatic":
        pool = apimod.ProgrammaticApiGenerator(seed, dedup=dedup)
    else:
        gen = _model(generator)
        tree = list(apimod.SEED_TREE)
        if expand_tree:
            tree, tree_stats = apimod.expand_tree(gen, tree)
            click.echo(f"tree: {dict(tree_stats)}", err=True)
        pool = apimod.ModelApiGenerator(gen, seed, tree=tree, dedup=dedup)
    start = time.perf_counter()
    had, wrote = apimod.build_pool(pool, count, output, resume=resume, progress=True)
    elapsed = time.perf_counter() - start
    click.echo(f"apis: {had} already there, {_rate(wrote, elapsed, 'APIs')} -> {output}")
    diversity = getattr(pool, "diversity", None)
    if diversity is not None:
        click.echo(f"diversity (this run): {json.dumps(diversity.summary())}")
    dropped = {k: v for k, v in pool.stats.items() if k != "kept"}
    if dropped:
        click.echo(f"dropped: {json.dumps(dropped)}")
    if had + wrote < count:
        click.echo(f"warning: only {had + wrote} of {count} APIs could be made", err=True)


@cli.command()
@click.option(
    "--apis",
    "apis_path",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="APIs JSONL.",
)
@click.option(
    "-n", "count", type=click.IntRange(min=1), required=True, help="Number of dialogs (all shards)."
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), required=True, help="Dialogs JSONL."
)
@click.option(
    "--rejected",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where failed dialogs and reasons go.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--shard", default=None, help="i/n: make only indices with index % n == i.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--system", default=None, help="A system message to open every dialog.")
@click.option(
    "--complexity-model", default="", help="Target model for the loss-based complexity filter."
)
@click.option(
    "--low", type=float, default=0.0, show_default=True, help="Drop samples with loss below this."
)
@click.option("--high", type=float, default=float("inf"), help="Drop samples with loss above this.")
@click.option(
    "--mix",
    default=None,
    help="Dialog-type weights, e.g. single=2,multi_request=1,tool_error=1 (unlisted: 0); "
    "default: all seven types in turn.",
)
@click.option(
    "--thoughts",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of the programmatic assistant's turns that carry a thought (a plan).",
)
@backend_options
def dialogs(
    apis_path: str,
    count: int,
    output: str,
    rejected: str | None,
    seed: int,
    shard: str | None,
    batch_size: int,
    system: str | None,
    complexity_model: str,
    low: float,
    high: float,
    mix: str | None,
    thoughts: float,
    generator: GeneratorOptions,
) -> None:
    """Generate dialogs of seven types with user, assistant and tool agents."""
    # loaded when used, so that `ifrl toolgen --help` stays fast
    from tqdm import tqdm

    import ifrl.toolgen as dmod

    pool = dmod.load_apis(apis_path)
    if len(pool) < 2:
        raise click.ClickException(
            f"{apis_path}: {len(pool)} API{'' if len(pool) == 1 else 's'}: dialogs need at least "
            "two APIs (a dialog draws its tools and distractors from the pool)"
        )
    planner = dmod.Planner(pool, seed)
    planner.weights = _parse_mix(mix)
    kwargs: dict[str, Any] = {}
    if generator.backend != "programmatic":
        gen = _model(generator)
        kwargs = {
            "user": dmod.ModelUser(gen),
            "assistant": dmod.ModelAssistant(gen),
            "tool": dmod.ModelTool(gen),
        }
    evaluator = None
    if complexity_model:
        evaluator = dmod.ComplexityEvaluator(dmod.HFLossScorer(complexity_model), low, high)
    dialog_gen = dmod.DialogGenerator(
        planner,
        evaluator=evaluator,
        batch_size=batch_size,
        system=system,
        thoughts=thoughts,
        **kwargs,
    )
    part = _parse_shard(shard)
    indices = [i for i in range(count) if part is None or i % part[1] == part[0]]
    done = _done_indices(output) | (_done_indices(rejected) if rejected else set())
    todo = [i for i in indices if i not in done]
    start = time.perf_counter()
    kept = 0
    reasons: Counter[str] = Counter()
    losses: list[float] = []
    with (
        JSONLWriter(output, append=True) as out_w,
        JSONLWriter(rejected or output + ".rejected.tmp", append=True) as rej_w,
    ):
        for result in tqdm(dialog_gen.run(todo), total=len(todo), desc="dialogs", unit="dialog"):
            if result.complexity is not None:
                losses.append(result.complexity)
            if result.dialog is not None:
                out_w.write(result.dialog.to_json())
                kept += 1
            else:
                reasons[(result.reason or "")[:60]] += 1
                row: dict[str, Any] = {"index": result.index, "reason": result.reason}
                if result.complexity is not None:
                    row["complexity_loss"] = result.complexity
                rej_w.write(row)
    if not rejected:
        Path(output + ".rejected.tmp").unlink(missing_ok=True)
    elapsed = time.perf_counter() - start
    click.echo(
        f"dialogs: {len(indices) - len(todo)} already there, {_rate(kept, elapsed, 'dialogs')} -> {output}"
    )
    if reasons:
        click.echo(f"failed: {json.dumps(dict(reasons.most_common(10)))}")
    if losses:
        losses.sort()
        click.echo(
            f"complexity loss: min {losses[0]:.3f}, median {losses[len(losses) // 2]:.3f}, "
            f"max {losses[-1]:.3f} (kept band [{low}, {high}])"
        )


def _done_indices(path: str | None) -> set[int]:
    """Dialog indices already written to ``path`` (``meta.index`` or ``index``), for resuming."""
    done: set[int] = set()
    if not path or not Path(path).exists():
        return done
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
                done.add(int(row["meta"]["index"] if "meta" in row else row["index"]))
            except (ValueError, KeyError, TypeError):
                continue
    return done


@cli.command()
@click.argument("dialogs_path", metavar="DIALOGS", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), required=True, help="Kept dialogs JSONL."
)
@click.option(
    "--rejected",
    type=click.Path(dir_okay=False),
    default=None,
    help="Rejected dialogs with reasons.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False),
    default=None,
    help="Markdown report (+ .json twin).",
)
@click.option("--shard", default=None, help="i/n: verify only lines with index % n == i.")
@click.option(
    "--grounding/--no-grounding",
    default=True,
    show_default=True,
    help="Flag argument values not found in the dialog.",
)
@click.option("--resume/--no-resume", default=True, show_default=True)
@generator_options(
    backends=BACKENDS,
    default="programmatic",
    dest="judge",
    backend_flag="--judge-backend",
    backend_help="programmatic: rule layer only; else also the model layer.",
    model_help="Judge model path or served name (also --judge-model).",
)
@click.option("--judge-model", default=None, help="Judge model path or served name.")
@click.option(
    "--judge-checks",
    default="hallucination,fulfilment,result_fit,faithfulness",
    show_default=True,
    help="Judge checks to ask (one prompt each).",
)
def verify(
    dialogs_path: str,
    output: str,
    rejected: str | None,
    report: str | None,
    shard: str | None,
    grounding: bool,
    resume: bool,
    judge: GeneratorOptions,
    judge_model: str | None,
    judge_checks: str,
) -> None:
    """Dual-layer verification: rules (with error codes), then an optional model judge."""
    # loaded when used, so that `ifrl toolgen --help` stays fast
    from ifrl.toolgen import JudgeVerifier, verify_file
    from ifrl.toolgen.judges import JUDGE_CHECKS

    judge = dataclasses.replace(judge, model=judge_model or judge.model)
    checks = [c.strip() for c in judge_checks.split(",") if c.strip()]
    # Checked before the judge model loads: a typo costs no model load.
    unknown = [c for c in checks if c not in JUDGE_CHECKS]
    if unknown or not checks:
        problem = f"unknown judge check {unknown[0]!r}" if unknown else "no judge check given"
        raise click.BadParameter(
            f"{problem}; choose from {', '.join(JUDGE_CHECKS)}", param_hint="--judge-checks"
        )
    verifier = (
        None if judge.backend == "programmatic" else JudgeVerifier(_model(judge), checks=checks)
    )
    start = time.perf_counter()
    rep = verify_file(
        dialogs_path,
        output,
        rejected,
        report=report,
        judge=verifier,
        grounding=grounding,
        shard=_parse_shard(shard),
        resume=resume,
        progress=True,
    )
    elapsed = time.perf_counter() - start
    click.echo(
        f"verify: {_rate(rep.total, elapsed, 'samples')}; kept {rep.kept}, rejected {rep.total - rep.kept}"
    )
    for check, (checked, failed) in rep.checks.items():
        click.echo(f"  {check}: {failed}/{checked} failed")
    for code, n in rep.codes.most_common(10):
        click.echo(f"  {code}: {n}")


@cli.command()
@click.argument("dialogs_path", metavar="DIALOGS", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["toolace", "openai", "sharegpt", "hermes", "xlam"]),
    required=True,
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@click.option(
    "--thoughts/--no-thoughts",
    default=False,
    show_default=True,
    help="Write the assistant's thoughts where the format has room (openai, sharegpt and "
    "hermes text turns: <think>...</think> before the content); toolace and xlam drop them.",
)
@click.option(
    "--arguments",
    type=click.Choice(["object", "string"]),
    default=None,
    help="Tool-call arguments as JSON objects (the default: what TRL and the chat templates "
    "of Qwen2.5, Llama-3.1, Mistral and Hermes read) or as JSON strings (openai only: "
    "OpenAI's API and fine-tuning files).",
)
def export(
    dialogs_path: str, fmt: ExportFormat, output: str, thoughts: bool, arguments: str | None
) -> None:
    """Write dialogs in ToolACE's, OpenAI's, ShareGPT's, Hermes' or xLAM's format (JSONL)."""
    # loaded when used, so that `ifrl toolgen --help` stays fast
    from ifrl.toolgen import Dialog, ExportFormatError
    from ifrl.toolgen import export as convert

    if arguments == "string" and fmt != "openai":
        raise click.UsageError("--arguments string: only --format openai writes JSON strings")
    written = skipped = 0
    with JSONLWriter(output) as writer:
        rows = convert(
            read_jsonl(dialogs_path, Dialog.from_json),
            fmt,
            thoughts=thoughts,
            arguments=arguments,  # type: ignore[arg-type]
        )
        for row in rows:
            if isinstance(row, ExportFormatError):
                skipped += 1
                click.echo(f"skipped: {row}", err=True)
                continue
            writer.write(row)
            written += 1
        if not written:
            # Raised inside the writer: the earlier output at OUTPUT stays as it was.
            what = f"all {skipped} dialogs were skipped" if skipped else "no dialogs in the file"
            raise click.ClickException(f"{dialogs_path}: nothing to export ({what})")
    click.echo(
        f"export: {written} samples as {fmt} -> {output}"
        + (f" ({skipped} skipped)" if skipped else "")
    )


@cli.command()
@click.argument("dialogs_path", metavar="DIALOGS", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Markdown report (+ .json twin); default: print only.",
)
@click.option("--require-goals", is_flag=True, help="Exit with status 1 when a goal is not met.")
def stats(dialogs_path: str, output: str | None, require_goals: bool) -> None:
    """Diversity, template reuse, type mix and shape of a dialog file, with the goals."""
    # loaded when used, so that `ifrl toolgen --help` stays fast
    from ifrl.toolgen import Dialog, dialog_stats

    count = 0

    def counted() -> Iterator[Dialog]:
        nonlocal count
        for dialog in read_jsonl(dialogs_path, Dialog.from_json):
            count += 1
            yield dialog

    report = dialog_stats(counted())
    if not count:
        raise click.ClickException(f"{dialogs_path}: no dialogs in the file, nothing to report")
    text = report.to_markdown()
    click.echo(text, nl=False)
    if output:
        write_text(output, text)
        write_json(Path(output).with_suffix(".json"), report.to_dict())
    if require_goals and not all(g["met"] for g in report.goals()):
        raise SystemExit(1)


@cli.command()
@click.argument("dialogs_path", metavar="DIALOGS", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out", "-o", required=True, type=click.Path(file_okay=False), help="Output directory."
)
@config_options(JudgeAuditConfig)
@generator_options(
    dest="judge",
    backend_flag="--judge-backend",
    backend_help="The judge's backend.",
    model_help="Judge model path or served name.",
)
def audit(dialogs_path: str, out: str, config: JudgeAuditConfig, judge: GeneratorOptions) -> None:
    """Measure the judge: plant defects in verified dialogs, report precision and recall per
    check (Wilson 95% intervals) and the rule layer's recall per defect class."""
    # loaded when used, so that `ifrl toolgen --help` stays fast
    from ifrl.core.records import SamplingParams
    from ifrl.toolgen import (
        Dialog,
        JudgeVerifier,
        plant_items,
        rule_issues,
        run_judge_audit,
    )
    from ifrl.toolgen.judge_audit import write_judge_audit

    clean: list[Dialog] = []
    for d in read_jsonl(dialogs_path, Dialog.from_json):
        if len(clean) >= config.dialogs:
            break
        if not rule_issues(d):
            clean.append(d)
    if not clean:
        raise click.UsageError(f"{dialogs_path}: no dialog passes the rule layer")
    params = SamplingParams(temperature=0.0, max_new_tokens=config.max_new_tokens, seed=0)
    verifier = JudgeVerifier(_model(judge), params, checks=config.checks)
    items = plant_items(clean, config)
    report = run_judge_audit(items, verifier)
    write_judge_audit(report, out)
    click.echo(report.to_markdown(), nl=False)
    click.echo(f"audit: {len(clean)} clean dialogs, {len(items) - len(clean)} planted -> {out}")


@cli.command(name="import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), required=True, help="Dialogs JSONL."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["toolace", "openai", "sharegpt", "hermes", "xlam"]),
    default="toolace",
    show_default=True,
    help="The file's format (any format 'export' writes; toolace: ToolACE's released data.json).",
)
def import_(source: str, output: str, fmt: ExportFormat) -> None:
    """Read ToolACE's released data.json, or a file in any export format, into the working
    dialog format."""
    # loaded when used, so that `ifrl toolgen --help` stays fast
    from ifrl.toolgen.exports import import_rows

    found, stats, errors = import_rows(source, fmt)
    for line in errors[:20]:
        click.echo(f"skipped {line}", err=True)
    if not found:
        # Nothing is written: an earlier output at OUTPUT stays as it was.
        first = f" (first: {errors[0].removeprefix(f'{source}:')})" if errors else ""
        raise click.ClickException(
            f"{source}: 0 samples imported as {fmt}, {len(errors)} skipped{first}"
        )
    write_jsonl(output, (d.to_json() for d in found))
    click.echo(f"import: {json.dumps(dict(stats))} -> {output}")


MOVED_SELFEVOLVE = (
    "`ifrl toolgen selfevolve` moved: run `ifrl pipeline run toolace-dev --config FILE` "
    "(settings of the old file: queries, seed_data -> data.*; model, backend, base_url -> "
    "model.path, model.backend, model.base_url; rounds, k, temperature, top_k, max_new_tokens, "
    "min_agreement, reuse_queries, seed, batch_size -> evolve.*; finetune: none (the old "
    "default) / rltrain -> sft.enabled: false / true; sft_max_steps -> sft.trainer.max_steps; "
    "output_dir -> --run-dir)"
)


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def selfevolve(ctx: click.Context) -> None:
    """Moved: the `toolace-dev` recipe (`ifrl pipeline run toolace-dev --config FILE`)."""
    click.echo(MOVED_SELFEVOLVE, err=True)
    ctx.exit(2)
