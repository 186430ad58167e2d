"""The ``ifrl prm`` command group: branch, label, train, score, bon, synthetic."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import click

from ifrl.core.jsonl import JSONLWriter, read_jsonl, write_jsonl

_MODEL = click.option("--model", required=True, help="Causal LM directory (the policy).")
_BATCH = click.option("--batch-size", type=int, default=32, show_default=True)


def _backend_options(f: Any) -> Any:
    for opt in reversed(
        [
            click.option(
                "--backend",
                type=click.Choice(["hf", "vllm"]),
                default="hf",
                show_default=True,
                help="hf: exact entropies; vllm: entropies from the top-k logprobs.",
            ),
            click.option(
                "--device", default=None, help="hf backend: torch device (default: cuda if any)."
            ),
            click.option(
                "--top-k-entropy",
                type=int,
                default=20,
                show_default=True,
                help="vllm backend: logprobs per position for the entropy (-1: all, exact).",
            ),
        ]
    ):
        f = opt(f)
    return f


def _decoder(backend: str, model: str, device: str | None, batch_size: int, top_k: int) -> Any:
    from ifrl.core.generation import BackendOptionsError
    from ifrl.prm.decoding import step_decoder_for

    try:
        return step_decoder_for(
            backend, model, device=device, batch_size=batch_size, top_k_entropy=top_k
        )
    except (BackendOptionsError, ValueError) as err:
        raise click.UsageError(str(err)) from None


def _branch_options(f: Any) -> Any:
    for opt in reversed(
        [
            click.option("--tau", type=float, default=1.0, show_default=True),
            click.option("--top-k", type=int, default=2, show_default=True),
            click.option("--max-depth", type=int, default=4, show_default=True),
            click.option("--max-branches", type=int, default=16, show_default=True),
            click.option("--max-new-tokens", type=int, default=256, show_default=True),
            click.option("--exclude-digits", is_flag=True, help="Digit tokens are no anchors."),
        ]
    ):
        f = opt(f)
    return f


def _data_options(f: Any) -> Any:
    for opt in reversed(
        [
            click.option(
                "--data",
                type=click.Path(exists=True, dir_okay=False),
                required=True,
                help="Questions JSONL (GSM8K: question + answer).",
            ),
            click.option("--limit", type=int, default=None),
            click.option("--offset", type=int, default=0, show_default=True),
            click.option(
                "--template",
                default="Question: {question}\n",
                show_default=True,
                help="Prompt template.",
            ),
        ]
    ):
        f = opt(f)
    return f


@click.group(name="prm")
def cli() -> None:
    """EDU-PRM: branch, label, train and score process reward models."""


@cli.command()
@_MODEL
@_backend_options
@_data_options
@_branch_options
@_BATCH
@click.option(
    "--prune-with",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="P-EDU: a PRM directory; branches whose path scores below --prune-threshold stop.",
)
@click.option("--prune-threshold", type=float, default=0.2, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Trees JSONL.")
def branch(
    model: str,
    backend: str,
    device: str | None,
    top_k_entropy: int,
    data: str,
    limit: int | None,
    offset: int,
    template: str,
    tau: float,
    top_k: int,
    max_depth: int,
    max_branches: int,
    max_new_tokens: int,
    exclude_digits: bool,
    batch_size: int,
    prune_with: str | None,
    prune_threshold: float,
    out: str,
) -> None:
    """Grow entropy-anchored solution trees; resumes (skips questions already in --out)."""
    from ifrl.prm.branching import BranchConfig, build_trees
    from ifrl.prm.data import load_questions

    questions = load_questions(data, limit=limit, offset=offset, template=template)
    done = {t["question_id"] for t in read_jsonl(out)} if Path(out).exists() else set()
    todo = [q for q in questions if q.id not in done]
    click.echo(f"{len(todo)} questions to branch ({len(done)} already in {out})", err=True)
    decoder = _decoder(backend, model, device, batch_size, top_k_entropy)
    config = BranchConfig(
        tau=tau,
        top_k=top_k,
        max_depth=max_depth,
        max_branches=max_branches,
        max_new_tokens=max_new_tokens,
        exclude_digits=exclude_digits,
        prune_threshold=prune_threshold,
    )
    pruner = None
    if prune_with is not None:
        from ifrl.prm.model import ProcessRewardModel
        from ifrl.prm.score import prm_pruner

        pruner = prm_pruner(ProcessRewardModel.load(prune_with))
    with JSONLWriter(out, append=True) as writer:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            for tree in build_trees(decoder, chunk, config, pruner=pruner, progress=True):
                writer.write(tree.to_dict())
    click.echo(json.dumps({"cost": decoder.cost.to_dict()}))


@cli.command()
@click.option("--trees", type=click.Path(exists=True, dir_okay=False), help="Trees JSONL (EDU).")
@click.option("--model", required=True, help="The policy (its tokenizer decodes the trees).")
@click.option("--checker", default="gsm8k", show_default=True, help="Answer checker name.")
@click.option("--label", "label_kind", type=click.Choice(["soft", "hard"]), default="soft")
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
    from transformers import AutoTokenizer

    from ifrl.prm.answers import get_checker
    from ifrl.prm.branching import Tree
    from ifrl.prm.labels import grade_leaves, step_samples, to_qwen_prm, to_trl

    if trees is None:
        raise click.UsageError("--trees is required (write them with `ifrl prm branch`)")
    tok = AutoTokenizer.from_pretrained(model)
    check = get_checker(checker)
    rows: list[dict[str, Any]] = []
    for tree in read_jsonl(trees, Tree.from_dict):
        graded = grade_leaves(tree, tok, check)
        for s in step_samples(tree, tok, graded, label="hard" if label_kind == "hard" else "soft"):
            rows.append(
                to_trl(s) if fmt == "trl" else to_qwen_prm(s) if fmt == "qwen" else s.to_dict()
            )
    write_jsonl(out, rows)
    click.echo(f"wrote {len(rows)} labeled solutions to {out}", err=True)


@cli.command()
@_MODEL
@_backend_options
@_data_options
@_BATCH
@click.option("--rollouts", type=int, default=8, show_default=True)
@click.option("--max-new-tokens", type=int, default=256, show_default=True)
@click.option("--checker", default="gsm8k", show_default=True)
@click.option("--label", "label_kind", type=click.Choice(["soft", "hard"]), default="soft")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def uniform(
    model: str,
    backend: str,
    device: str | None,
    top_k_entropy: int,
    data: str,
    limit: int | None,
    offset: int,
    template: str,
    batch_size: int,
    rollouts: int,
    max_new_tokens: int,
    checker: str,
    label_kind: str,
    seed: int,
    out: str,
) -> None:
    """Baseline labels: uniform Monte Carlo rollouts from every newline-separated step."""
    from ifrl.prm.answers import get_checker
    from ifrl.prm.data import load_questions
    from ifrl.prm.labels import LabelKind
    from ifrl.prm.uniform import UniformConfig, uniform_label

    questions = load_questions(data, limit=limit, offset=offset, template=template)
    decoder = _decoder(backend, model, device, batch_size, top_k_entropy)
    config = UniformConfig(rollouts=rollouts, max_new_tokens=max_new_tokens, seed=seed)
    results = uniform_label(decoder, questions, get_checker(checker), config, progress=True)
    kind: LabelKind = "hard" if label_kind == "hard" else "soft"
    write_jsonl(out, [r.sample(decoder.tokenizer, label=kind).to_dict() for r in results])
    click.echo(json.dumps({"cost": decoder.cost.to_dict()}))


@cli.command()
@_MODEL
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="StepSample JSONL (from `ifrl prm label`).",
)
@click.option("--out", type=click.Path(file_okay=False), required=True, help="PRM directory.")
@click.option("--epochs", type=float, default=5.0, show_default=True)
@click.option("--lr", type=float, default=1e-4, show_default=True)
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--max-length", type=int, default=512, show_default=True)
@click.option("--separator", default="<extra_0>", show_default=True)
@click.option("--lora-r", type=int, default=0, help="LoRA rank (0: full fine-tuning).")
@click.option(
    "--extra-layers",
    type=int,
    default=0,
    show_default=True,
    help="Identity-initialised decoder layers stacked on the backbone.",
)
@click.option(
    "--freeze-base",
    is_flag=True,
    help="Train only the extra layers, the final norm and the head.",
)
@click.option("--seed", type=int, default=0, show_default=True)
def train(
    model: str,
    data: str,
    out: str,
    epochs: float,
    lr: float,
    batch_size: int,
    max_length: int,
    separator: str,
    lora_r: int,
    extra_layers: int,
    freeze_base: bool,
    seed: int,
) -> None:
    """Train a PRM (two-class head at step separators) on labeled steps."""
    from ifrl.core.records import StepSample
    from ifrl.prm.loop import LoopConfig
    from ifrl.prm.train import PRMTrainConfig, train_prm

    samples = list(read_jsonl(data, StepSample))
    config = PRMTrainConfig(
        loop=LoopConfig(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed),
        separator=separator,
        max_length=max_length,
        lora={"r": lora_r, "alpha": 2 * lora_r} if lora_r > 0 else None,
        extra_layers=extra_layers,
        freeze_base=freeze_base,
    )
    _, stats = train_prm(samples, model, config, out_dir=out)
    click.echo(
        json.dumps(
            {
                "samples": stats.samples,
                "skipped": stats.skipped,
                "labels": stats.labels,
                "dropped_labels": stats.dropped_labels,
                "first_loss": stats.losses[0],
                "final_loss": stats.losses[-1],
                "out": out,
            }
        )
    )


def _steps_of(row: dict[str, Any]) -> list[str]:
    from ifrl.prm.score import split_solution

    if isinstance(row.get("steps"), list):
        return [str(s) for s in row["steps"]]
    if isinstance(row.get("completions"), list):
        return [str(s) for s in row["completions"]]
    if isinstance(row.get("solution"), str):
        return split_solution(row["solution"])
    raise click.ClickException("each line needs 'steps', 'completions' or 'solution'")


@cli.command()
@click.option("--prm", "prm_dir", type=click.Path(exists=True, file_okay=False), required=True)
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="JSONL with prompt and steps (or completions, or a solution text).",
)
@click.option("--agg", type=click.Choice(["min", "last", "product", "mean"]), default="min")
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def score(prm_dir: str, data: str, agg: str, out: str) -> None:
    """Score every step of every solution, plus the aggregated solution score."""
    from ifrl.prm.model import ProcessRewardModel
    from ifrl.prm.score import aggregate

    prm = ProcessRewardModel.load(prm_dir)
    rows = []
    for row in read_jsonl(data):
        steps = _steps_of(row)
        scores = prm.score_batch([(str(row.get("prompt", "")), steps)])[0]
        rows.append({**row, "step_scores": scores, "score": aggregate(scores, agg)})
    write_jsonl(out, rows)
    click.echo(f"scored {len(rows)} solutions into {out}", err=True)


@cli.command()
@click.option("--prm", "prm_dir", type=click.Path(exists=True, file_okay=False), required=True)
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="JSONL: prompt, candidates (solution texts), optional reference.",
)
@click.option("--agg", type=click.Choice(["min", "last", "product", "mean"]), default="min")
@click.option("--checker", default="gsm8k", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None)
def bon(prm_dir: str, data: str, agg: str, checker: str, out: str | None) -> None:
    """Best-of-N: pick the candidate with the best PRM score; with references, report accuracy."""
    from ifrl.prm.answers import get_checker
    from ifrl.prm.model import ProcessRewardModel
    from ifrl.prm.score import best_of_n, split_solution

    prm = ProcessRewardModel.load(prm_dir)
    check = get_checker(checker)
    rows = []
    hits = rand = 0.0
    graded = 0
    for row in read_jsonl(data):
        cands = [str(c) for c in row.get("candidates", [])]
        if not cands:
            raise click.ClickException("every line needs a non-empty 'candidates' list")
        best, scores = best_of_n(
            prm, str(row.get("prompt", "")), [split_solution(c) or [c] for c in cands], agg
        )
        result = {**row, "chosen": best, "scores": scores}
        if row.get("reference") is not None:
            ok = [check(c, str(row["reference"])) for c in cands]
            result["chosen_correct"] = ok[best]
            hits += ok[best]
            rand += sum(ok) / len(ok)
            graded += 1
        rows.append(result)
    if out:
        write_jsonl(out, rows)
    summary: dict[str, Any] = {"questions": len(rows)}
    if graded:
        summary |= {"bon_accuracy": hits / graded, "random_accuracy": rand / graded}
    click.echo(json.dumps(summary))


def _with_given(obj: Any, **values: Any) -> Any:
    """A copy of dataclass ``obj`` with the fields given (not None) replaced; the rest keep theirs."""
    from dataclasses import replace

    return replace(obj, **{k: v for k, v in values.items() if v is not None})


@cli.command()
@click.option("--train-questions", type=int, default=None, help="EDU-labeled questions.")
@click.option("--eval-questions", type=int, default=None, help="Held-out questions.")
@click.option("-n", type=int, default=None, help="Solutions per eval question.")
@click.option(
    "--uniform-questions",
    type=int,
    default=None,
    help="Also label this many training questions with uniform MC (0: skip).",
)
@click.option("--bootstrap", type=int, default=None, help="Bootstrap resamples for the CIs.")
@click.option(
    "--prm-base", default=None, help="Causal LM directory for the PRM's backbone (default: policy)."
)
@click.option("--prm-lr", type=float, default=None, help="PRM learning rate (default 1e-3).")
@click.option("--prm-epochs", type=float, default=None, help="PRM training epochs (default 8).")
@click.option(
    "--prm-extra-layers",
    type=int,
    default=None,
    help="Fresh decoder layers on the PRM's backbone (default 3).",
)
@click.option(
    "--prm-train-base",
    is_flag=True,
    help="Fine-tune the PRM's backbone too (default: frozen, only the fresh layers train).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--work-dir", type=click.Path(file_okay=False), default=None)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Result JSON.")
def synthetic(
    train_questions: int | None,
    eval_questions: int | None,
    n: int | None,
    uniform_questions: int | None,
    bootstrap: int | None,
    prm_base: str | None,
    prm_lr: float | None,
    prm_epochs: float | None,
    prm_extra_layers: int | None,
    prm_train_base: bool,
    seed: int,
    work_dir: str | None,
    out: str | None,
) -> None:
    """End to end on synthetic arithmetic: EDU labels -> PRM -> AUROC and Best-of-N.

    Sizes left out take ExperimentConfig's defaults.
    """
    from ifrl.core.jsonl import write_json
    from ifrl.prm.experiment import ExperimentConfig, run_synthetic

    random.seed(seed)
    defaults = ExperimentConfig(seed=seed)
    config = _with_given(
        defaults,
        train_questions=train_questions,
        eval_questions=eval_questions,
        n=n,
        uniform_questions=uniform_questions,
        bootstrap=bootstrap,
        prm_base=prm_base,
        prm_extra_layers=prm_extra_layers,
        prm_freeze_base=False if prm_train_base else None,
        prm_loop=_with_given(defaults.prm_loop, lr=prm_lr, epochs=prm_epochs),
    )
    result = run_synthetic(config, work_dir=work_dir)
    summary = result.summary()
    if out:
        write_json(out, {**summary, "per_question": result.per_question})
    click.echo(json.dumps(summary, indent=2))
