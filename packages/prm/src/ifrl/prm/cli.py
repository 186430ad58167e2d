"""The ``ifrl prm`` command group: branch, label, uniform, train, score, bon.

Commands that run a config take its fields as options (:func:`ifrl.core.cli.config_options`:
``--tau``, ``--rollouts``, ``--epochs``, ... or ``--config FILE.yaml``); the policy's decoding
backend comes from :func:`ifrl.core.cli.generator_options` (``--backend hf|vllm --model
--device``). The synthetic experiment is the ``edu-prm`` recipe of ``ifrl pipeline``, and
Best-of-N metrics are ``ifrl eval prm``'s.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ifrl.core.cli import GeneratorOptions, config_options, generator_options
from ifrl.core.generation import BackendOptionsError
from ifrl.core.jsonl import JSONLWriter, read_jsonl, write_jsonl
from ifrl.core.records import StepSample
from ifrl.prm.branching import BranchConfig, BranchTree, build_trees
from ifrl.prm.checkers import get_checker
from ifrl.prm.decoding import STEP_BACKENDS, StepDecoder, step_decoder_for
from ifrl.prm.labels import LabelKind, grade_leaves, step_samples, to_qwen_prm, to_trl
from ifrl.prm.model import ProcessRewardModel
from ifrl.prm.questions import DEFAULT_TEMPLATE, Question, load_questions
from ifrl.prm.score import aggregate, best_of_n, prm_pruner, score_steps, split_solution
from ifrl.prm.train import PRMTrainConfig, train_prm
from ifrl.prm.uniform import UniformConfig, uniform_label

SYNTHETIC_MOVED = (
    "`ifrl prm synthetic` moved: run `ifrl pipeline run edu-prm --config "
    "examples/edu-prm-synthetic.yaml` (sizes: --set questions.train=N, --set bon.n=N, ...)"
)
BON_METRICS_MOVED = (
    "`ifrl prm bon` no longer reports Best-of-N accuracy: run `ifrl prm score --prm DIR --data "
    "FILE --out scored.jsonl`, then `ifrl eval prm --responses scored.jsonl --out DIR`"
)


def _data(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--data", type=click.Path(exists=True, dir_okay=False), required=True, help=help
    )


_PRM = click.option(
    "--prm", "prm_dir", type=click.Path(exists=True, file_okay=False), required=True
)
_BATCH = click.option(
    "--batch-size", type=int, default=32, show_default=True, help="Sequences per forward pass."
)
_AGG = click.option("--agg", type=click.Choice(["min", "last", "product", "mean"]), default="min")
_LABEL = click.option("--label", "label_kind", type=click.Choice(["soft", "hard"]), default="soft")


Decoder = Callable[[int], StepDecoder]


def _policy(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The policy's step decoder: ``--backend hf|vllm --model --device --top-k-entropy``, handed
    to the command as ``decoder``, a factory taking the batch size."""

    @functools.wraps(fn)
    def wrapper(*args: Any, generator: GeneratorOptions, top_k_entropy: int, **kw: Any) -> Any:
        def decoder(batch_size: int) -> StepDecoder:
            try:
                return step_decoder_for(
                    generator.backend,
                    generator.model or "",
                    device=generator.device,
                    batch_size=batch_size,
                    top_k_entropy=top_k_entropy,
                )
            except (BackendOptionsError, ValueError) as err:
                raise click.UsageError(str(err)) from None

        return fn(*args, decoder=decoder, **kw)

    wrapper = click.option(
        "--top-k-entropy",
        type=int,
        default=20,
        show_default=True,
        help="vllm backend: logprobs per position for the entropy (-1: all, exact).",
    )(wrapper)
    return generator_options(
        backends=STEP_BACKENDS,
        default="hf",
        backend_help="hf: exact entropies; vllm: entropies from the top-k logprobs.",
        model_help="Causal LM directory (the policy).",
    )(wrapper)


def _questions(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--data --limit --offset --template``, handed to the command as loaded ``questions``."""

    @functools.wraps(fn)
    def load(
        *args: Any, data: str, limit: int | None, offset: int, template: str, **kw: Any
    ) -> Any:
        questions = load_questions(data, limit=limit, offset=offset, template=template)
        return fn(*args, questions=questions, **kw)

    wrapper: Callable[..., Any] = load
    for option in (
        click.option(
            "--template", default=DEFAULT_TEMPLATE, show_default=True, help="Prompt template."
        ),
        click.option("--offset", type=int, default=0, show_default=True),
        click.option("--limit", type=int, default=None),
        _data("Questions JSONL (GSM8K: question + answer)."),
    ):
        wrapper = option(wrapper)
    return wrapper


@click.group(name="prm")
def cli() -> None:
    """EDU-PRM: branch, label, train and score process reward models."""


@cli.command()
@_policy
@_questions
@config_options(BranchConfig)
@_BATCH
@click.option(
    "--prune-with",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="P-EDU: a PRM directory; branches whose path scores below --prune-threshold stop.",
)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Trees JSONL.")
def branch(
    decoder: Decoder,
    questions: list[Question],
    config: BranchConfig,
    batch_size: int,
    prune_with: str | None,
    out: str,
) -> None:
    """Grow entropy-anchored solution trees; resumes (skips questions already in --out)."""
    done = {t["question_id"] for t in read_jsonl(out)} if Path(out).exists() else set()
    todo = [q for q in questions if q.id not in done]
    click.echo(f"{len(todo)} questions to branch ({len(done)} already in {out})", err=True)
    dec = decoder(batch_size)
    pruner = prm_pruner(ProcessRewardModel.load(prune_with)) if prune_with else None
    with JSONLWriter(out, append=True) as writer:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            for tree in build_trees(dec, chunk, config, pruner=pruner, progress=True):
                writer.write(tree.to_dict())
    click.echo(json.dumps({"cost": dec.cost.to_dict()}))


@cli.command()
@click.option("--trees", type=click.Path(exists=True, dir_okay=False), help="Trees JSONL (EDU).")
@click.option("--model", required=True, help="The policy (its tokenizer decodes the trees).")
@click.option("--checker", default="gsm8k", show_default=True, help="Answer checker name.")
@_LABEL
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["steps", "trl", "qwen"]),
    default="steps",
    show_default=True,
    help="StepSample JSONL, TRL stepwise supervision, or Qwen2.5-Math-PRM style.",
)
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def label(trees: str | None, model: str, checker: str, label_kind: str, fmt: str, out: str) -> None:
    """Monte Carlo step labels from EDU trees (see `ifrl prm uniform` for the baseline)."""
    from transformers import AutoTokenizer  # heavy: loaded when used, `--help` stays fast

    if trees is None:
        raise click.UsageError("--trees is required (write them with `ifrl prm branch`)")
    tok = AutoTokenizer.from_pretrained(model)
    check = get_checker(checker)
    kind: LabelKind = "hard" if label_kind == "hard" else "soft"
    rows: list[dict[str, Any]] = []
    for tree in read_jsonl(trees, BranchTree.from_dict):
        for s in step_samples(tree, tok, grade_leaves(tree, tok, check), label=kind):
            rows.append(
                to_trl(s) if fmt == "trl" else to_qwen_prm(s) if fmt == "qwen" else s.to_dict()
            )
    write_jsonl(out, rows)
    click.echo(f"wrote {len(rows)} labeled solutions to {out}", err=True)


@cli.command()
@_policy
@_questions
@config_options(UniformConfig)
@_BATCH
@click.option("--checker", default="gsm8k", show_default=True)
@_LABEL
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def uniform(
    decoder: Decoder,
    questions: list[Question],
    config: UniformConfig,
    batch_size: int,
    checker: str,
    label_kind: str,
    out: str,
) -> None:
    """Baseline labels: uniform Monte Carlo rollouts from every newline-separated step."""
    dec = decoder(batch_size)
    results = uniform_label(dec, questions, get_checker(checker), config, progress=True)
    kind: LabelKind = "hard" if label_kind == "hard" else "soft"
    write_jsonl(out, [r.sample(dec.tokenizer, label=kind).to_dict() for r in results])
    click.echo(json.dumps({"cost": dec.cost.to_dict()}))


@cli.command()
@click.option("--model", required=True, help="Causal LM directory (the PRM's backbone).")
@_data("StepSample JSONL (from `ifrl prm label`).")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="PRM directory.")
@config_options(PRMTrainConfig)
def train(model: str, data: str, out: str, config: PRMTrainConfig) -> None:
    """Train a PRM (two-class head at step separators) on labeled steps."""
    _, stats = train_prm(list(read_jsonl(data, StepSample)), model, config, out_dir=out)
    summary = {
        "samples": stats.samples,
        "skipped": stats.skipped,
        "labels": stats.labels,
        "dropped_labels": stats.dropped_labels,
        "first_loss": stats.losses[0],
        "final_loss": stats.losses[-1],
        "out": out,
    }
    click.echo(json.dumps(summary))


def _steps_of(row: dict[str, Any]) -> list[str]:
    if isinstance(row.get("steps"), list):
        return [str(s) for s in row["steps"]]
    if isinstance(row.get("completions"), list):
        return [str(s) for s in row["completions"]]
    if isinstance(row.get("solution"), str):
        return split_solution(row["solution"])
    raise click.ClickException("each line needs 'steps', 'completions' or 'solution'")


def _rank(prm: ProcessRewardModel, row: dict[str, Any], agg: str) -> tuple[int, list[float]]:
    """Best-of-N over a line's ``candidates`` (solution texts): the pick and every score."""
    cands = [str(c) for c in row.get("candidates", [])]
    if not cands:
        raise click.ClickException("every line needs a non-empty 'candidates' list")
    steps = [split_solution(c) or [c] for c in cands]
    return best_of_n(prm, str(row.get("prompt", "")), steps, agg)


@cli.command()
@_PRM
@_data(
    "JSONL with prompt and steps (or completions, or a solution text), or with candidates "
    "(solution texts) and a reference: then the output is what `ifrl eval prm` reads."
)
@_AGG
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def score(prm_dir: str, data: str, agg: str, out: str) -> None:
    """Score every step of every solution, plus the aggregated solution score."""
    prm = ProcessRewardModel.load(prm_dir)
    rows = []
    for row in read_jsonl(data):
        if "candidates" not in row:
            steps = score_steps(prm, str(row.get("prompt", "")), _steps_of(row))
            rows.append({**row, "step_scores": steps, "score": aggregate(steps, agg)})
            continue
        best, scores = _rank(prm, row, agg)
        cands = [{"response": str(c), "score": s} for c, s in zip(row["candidates"], scores)]
        gold = row.get("gold", row.get("reference"))
        known = {} if gold is None else {"gold": str(gold)}
        rows.append({**row, "candidates": cands, "chosen": best, **known})
    write_jsonl(out, rows)
    click.echo(f"scored {len(rows)} solutions into {out}", err=True)


@cli.command()
@_PRM
@_data("JSONL: prompt, candidates (solution texts), optional reference.")
@_AGG
@click.option("--checker", default="gsm8k", show_default=True, help="Grades chosen candidates.")
@click.option("--out", type=click.Path(dir_okay=False), default=None)
def bon(prm_dir: str, data: str, agg: str, checker: str, out: str | None) -> None:
    """Best-of-N: pick the candidate with the best PRM score (with a reference: whether it is
    right). Metrics over a file are `ifrl eval prm`'s."""
    prm = ProcessRewardModel.load(prm_dir)
    check = get_checker(checker)
    rows = []
    for row in read_jsonl(data):
        best, scores = _rank(prm, row, agg)
        result = {**row, "chosen": best, "scores": scores}
        if row.get("reference") is not None:
            result["chosen_correct"] = check(str(row["candidates"][best]), str(row["reference"]))
        rows.append(result)
    if out:
        write_jsonl(out, rows)
    if any("chosen_correct" in r for r in rows):
        click.echo(BON_METRICS_MOVED, err=True)
    click.echo(json.dumps({"questions": len(rows)}))


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    help=f"Moved. {SYNTHETIC_MOVED}.",
)
def synthetic() -> None:
    click.echo(SYNTHETIC_MOVED, err=True)
    raise SystemExit(2)
