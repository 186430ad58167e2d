"""``ifrl constraints audit`` and ``ifrl constraints refine``: the judge audit and refinement.

Both are standalone click commands (:data:`audit` and :data:`refine`), attached to the
``ifrl constraints`` group by the package's CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ifrl.constraints.formats import FORMATS, ConstrainedPrompt, Format, read_prompts, write_prompts
from ifrl.core.errors import IfrlError
from ifrl.core.jsonl import read_jsonl, write_json, write_jsonl, write_text


def _fail(err: Exception) -> click.ClickException:
    return click.ClickException(str(err))


def _pair_responses(
    items: list[ConstrainedPrompt], responses: str, by_line: bool
) -> list[ConstrainedPrompt]:
    rows = list(read_jsonl(responses))
    for i, row in enumerate(rows, start=1):
        if not isinstance(row.get("response"), str):
            raise click.ClickException(f"{responses}:{i}: response: missing or not a string")
    if by_line:
        if len(rows) != len(items):
            raise click.ClickException(
                f"{responses} has {len(rows)} lines for {len(items)} prompts (--by-line)"
            )
        return [item.replace(response=row["response"]) for item, row in zip(items, rows)]
    by_prompt = {row.get("prompt"): row["response"] for row in rows}
    missing = [item.id for item in items if item.prompt not in by_prompt]
    if missing:
        raise click.ClickException(
            f"{len(missing)} prompts have no response in {responses} (first: {missing[0]!r}); "
            "use --by-line to pair line by line"
        )
    return [item.replace(response=by_prompt[item.prompt]) for item in items]


def _generator(backend: str, model: str | None, base_url: str | None, api_key: str | None) -> Any:
    from ifrl.core.generation import BackendOptionsError, generator_for

    try:
        return generator_for(backend, model, base_url=base_url, api_key=api_key)
    except BackendOptionsError as err:
        raise click.UsageError(f"--judge {backend}: {err}") from None


@click.command(name="audit")
@click.argument(
    "input_path", metavar="INPUT.jsonl", required=False, type=click.Path(dir_okay=False)
)
@click.option(
    "-o",
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for audit.json, audit.md, pairs.jsonl and the PNG plots.",
)
@click.option(
    "--responses",
    type=click.Path(exists=True, dir_okay=False),
    help="JSONL of responses to pair with INPUT's prompts (by prompt text).",
)
@click.option("--by-line", is_flag=True, help="Pair --responses with INPUT line by line.")
@click.option(
    "--synthetic",
    type=int,
    default=None,
    help="Audit N simulated responses with random hard constraints instead of INPUT.",
)
@click.option(
    "--judge",
    "backend",
    type=click.Choice(["noisy", "openai", "vllm", "hf"]),
    default="noisy",
    show_default=True,
    help="Who judges.",
)
@click.option("--model", help="Judge model (path or served name) for openai/vllm/hf.")
@click.option("--base-url", help="OpenAI-compatible server URL for --judge openai.")
@click.option("--api-key", envvar="OPENAI_API_KEY", help="Bearer token (or $OPENAI_API_KEY).")
@click.option(
    "--mode",
    type=click.Choice(["pointwise", "joint", "both"]),
    default="both",
    show_default=True,
    help="Judge one constraint per call, all at once, or audit both.",
)
@click.option(
    "--max-new-tokens",
    type=int,
    default=None,
    help="Judge output length (default: 16 pointwise, 256 joint).",
)
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False),
    help="JSONL cache of judge verdicts (reruns resume from it).",
)
@click.option(
    "--recall-compliant",
    type=float,
    default=1.0,
    show_default=True,
    help="NoisyJudge: chance a compliant response is passed.",
)
@click.option(
    "--recall-noncompliant",
    type=float,
    default=0.3,
    show_default=True,
    help="NoisyJudge: chance a non-compliant response is failed.",
)
@click.option("--scores", is_flag=True, help="NoisyJudge: attach p(yes) scores.")
@click.option(
    "--truth",
    type=click.Choice(["strict", "loose"]),
    default="strict",
    show_default=True,
    help="How the hard verifiers score the ground truth.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--limit", type=int, default=None, help="Audit only the first N items.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots (no matplotlib needed).")
def audit(
    input_path: str | None,
    out_dir: str,
    responses: str | None,
    by_line: bool,
    synthetic: int | None,
    backend: str,
    model: str | None,
    base_url: str | None,
    api_key: str | None,
    mode: str,
    max_new_tokens: int | None,
    cache_path: str | None,
    recall_compliant: float,
    recall_noncompliant: float,
    scores: bool,
    truth: str,
    seed: int,
    limit: int | None,
    no_plots: bool,
) -> None:
    """Measure a judge's reward precision against the hard verifiers.

    INPUT.jsonl holds prompts with hard constraints (IFEval/IFBench, VerIF or native format) and
    a `response` each (or pass --responses). The judge judges every hard constraint; the
    verifiers' verdicts are the truth. Prints the key numbers and writes the report.
    """
    from ifrl.constraints.audit import run_audit, write_audit
    from ifrl.constraints.judge import Judge, JudgeCache, LLMJudge
    from ifrl.constraints.noisy import NoisyJudge, simulate_audit_items
    from ifrl.core.records import SamplingParams

    if (input_path is None) == (synthetic is None):
        raise click.UsageError("give INPUT.jsonl or --synthetic N (one of them)")
    try:
        if synthetic is not None:
            items = simulate_audit_items(synthetic, seed=seed)
        else:
            assert input_path is not None
            items = list(read_prompts(input_path))
            if responses is not None:
                items = _pair_responses(items, responses, by_line)
        if limit is not None:
            items = items[:limit]
        missing = [i.id for i in items if i.response is None]
        if missing:
            raise click.ClickException(
                f"{len(missing)} items have no response (first: {missing[0]!r}); pass --responses"
            )
        modes = ["pointwise", "joint"] if mode == "both" else [mode]
        judges: dict[str, Judge] = {}
        if backend == "noisy":
            judges[f"noisy(r_nc={recall_noncompliant})"] = NoisyJudge(
                recall_compliant=recall_compliant,
                recall_noncompliant=recall_noncompliant,
                seed=seed,
                scores=scores,
                oracle=None,
            )
        else:
            generator = _generator(backend, model, base_url, api_key)
            cache = JudgeCache(cache_path) if cache_path else None
            for m in modes:
                params = None
                if max_new_tokens is not None:
                    params = SamplingParams(temperature=0.0, max_new_tokens=max_new_tokens)
                judges[m] = LLMJudge(
                    generator,
                    name=f"{backend}:{model}",
                    mode=m,  # type: ignore[arg-type]
                    params=params,
                    cache=cache,
                )
        report, pairs = run_audit(items, judges, truth_mode=truth, progress=True)
        written = write_audit(report, out_dir, pairs, plots=not no_plots)
    except IfrlError as err:
        raise _fail(err) from err
    for name, entry in report["judges"].items():
        o = entry["overall"]
        click.echo(
            f"{name}: {o['n']} pairs, precision {_f(o['precision'])}, recall compliant "
            f"{_f(o['recall_compliant'])}, recall non-compliant {_f(o['recall_noncompliant'])}, "
            f"kappa {_f(o['kappa'])}, unparseable {o['unparseable']}"
        )
    click.echo("wrote " + ", ".join(str(p) for p in written))


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@click.command(name="refine")
@click.argument("input_path", metavar="INPUT.jsonl", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The refined dataset (JSONL).",
)
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
@click.option("--hard-only", is_flag=True, help="Drop every soft (judged) constraint.")
@click.option(
    "--audit",
    "audit_path",
    type=click.Path(exists=True, dir_okay=False),
    help="audit.json giving the judge's precision per type.",
)
@click.option("--judge", "judge_name", default=None, help="Which judge of the audit (if several).")
@click.option(
    "--min-precision",
    type=float,
    default=None,
    help="Drop soft constraints whose audited judge precision is below this.",
)
@click.option(
    "--min-support",
    type=int,
    default=20,
    show_default=True,
    help="Judge passes a type needs in the audit to use its own precision.",
)
@click.option(
    "--unaudited",
    type=click.Choice(["overall", "keep", "drop"]),
    default="overall",
    show_default=True,
    help="Precision of types the audit did not cover.",
)
@click.option(
    "--max-soft",
    type=int,
    default=1,
    show_default=True,
    help="Soft constraints kept per prompt (-1: no limit).",
)
@click.option(
    "--pilot",
    "pilot_path",
    type=click.Path(exists=True, dir_okay=False),
    help='Pilot-run rewards JSONL ({"id": ..., "rewards": [...]}): keep prompts '
    "rewarded above 0 at least once.",
)
@click.option("--keep-unpiloted", is_flag=True, help="Keep prompts absent from --pilot.")
@click.option(
    "--on-drop",
    type=click.Choice(["constraint", "prompt"]),
    default="constraint",
    show_default=True,
    help="Drop only the constraint, or the whole prompt.",
)
def refine(
    input_path: str,
    out_path: str,
    report_path: str | None,
    fmt: str | None,
    hard_only: bool,
    audit_path: str | None,
    judge_name: str | None,
    min_precision: float | None,
    min_support: int,
    unaudited: str,
    max_soft: int,
    pilot_path: str | None,
    keep_unpiloted: bool,
    on_drop: str,
) -> None:
    """Refine a constrained-prompt dataset for reward precision and write a report of the drops."""
    from ifrl.constraints.formats import detect_format
    from ifrl.constraints.refine import JudgePrecision, RefineConfig, read_pilot_rewards
    from ifrl.constraints.refine import refine as run_refine

    try:
        config = RefineConfig(
            hard_only=hard_only,
            min_precision=min_precision,
            min_support=min_support,
            unaudited=unaudited,  # type: ignore[arg-type]
            max_soft=None if max_soft < 0 else max_soft,
            keep_unpiloted=keep_unpiloted,
            on_drop=on_drop,  # type: ignore[arg-type]
        )
        if min_precision is not None and audit_path is None and not hard_only:
            raise click.UsageError("--min-precision needs --audit")
        precision = None
        if audit_path is not None:
            precision = JudgePrecision(json.loads(Path(audit_path).read_text()), judge_name)
        pilot = read_pilot_rewards(pilot_path) if pilot_path else None
        out_fmt: Format
        if fmt is None:
            first = next(iter(read_jsonl(input_path)), None)
            out_fmt = detect_format(first) if first is not None else "native"
        else:
            out_fmt = fmt  # type: ignore[assignment]
        kept, report = run_refine(
            read_prompts(input_path), config, precision=precision, pilot=pilot
        )
        write_prompts(out_path, kept, out_fmt)
    except (IfrlError, ValueError) as err:
        raise _fail(err) from err
    base = Path(report_path) if report_path else Path(out_path).with_suffix(".report.json")
    write_json(base, report.to_dict())
    write_text(base.with_suffix(".md"), report.to_markdown())
    write_jsonl(base.with_suffix(".dropped.jsonl"), report.log)
    d = report.to_dict()
    click.echo(
        f"kept {d['kept_prompts']}/{d['input_prompts']} prompts "
        f"({d['kept_constraints']['hard']} hard, {d['kept_constraints']['soft']} soft constraints)"
    )
    for kind in ("dropped_constraints", "dropped_prompts"):
        for reason, count in d[kind].items():
            click.echo(f"  {kind.replace('_', ' ')}: {reason}: {count}")
    click.echo(f"wrote {out_path}, {base}, {base.with_suffix('.md')}")


__all__ = ["audit", "refine"]
