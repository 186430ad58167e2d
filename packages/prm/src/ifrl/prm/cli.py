"""The ``ifrl prm`` command group: branch, label, uniform, train, score, bon, planted, study.

Commands that run a config take its fields as options (:func:`ifrl.core.cli.config_options`:
``--tau``, ``--rollouts``, ``--epochs``, ... or ``--config FILE.yaml``); the policy's decoding
backend comes from :func:`ifrl.core.cli.generator_options` (``--backend hf|vllm --model
--device``, and vLLM's engine options). ``branch`` and ``uniform`` resume from their output
(a partial last line left by a killed run is labelled again) and take ``--shard i/n``. The
synthetic experiment is the ``edu-prm`` recipe of ``ifrl pipeline``, the labelling cost–quality
study with PRMs at matched budgets is its ``edu-prm-study`` recipe, and Best-of-N and first-error
metrics are ``ifrl eval prm``'s.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import click

from ifrl.core.cli import GeneratorOptions, config_options, generator_options
from ifrl.core.errors import RecordError
from ifrl.core.generation import BackendOptionsError
from ifrl.core.jsonl import JSONLWriter, read_jsonl, write_jsonl
from ifrl.core.records import Cost, StepSample
from ifrl.prm.branching import BranchConfig, BranchTree, anchor_rates, anchor_split, build_trees
from ifrl.prm.checkers import get_checker
from ifrl.prm.decoding import STEP_BACKENDS, HFStepDecoder, VLLMStepDecoder, step_decoder_for
from ifrl.prm.labels import (
    SPLITS,
    LabelKind,
    StepSplit,
    grade_leaves,
    step_samples,
    to_openrlhf,
    to_qwen_prm,
    to_trl,
)
from ifrl.prm.model import ProcessRewardModel
from ifrl.prm.processbench import StepProblem, load_processbench, planted_errors
from ifrl.prm.questions import DEFAULT_TEMPLATE, Question, load_questions
from ifrl.prm.score import (
    aggregate,
    best_of_n,
    prm_pruner,
    score_items,
    split_solution,
)
from ifrl.prm.shards import parse_shard, take_shard, written_keys
from ifrl.prm.study import labelling_report, sampling_cost, uniform_sets_from_samples
from ifrl.prm.synthetic import line_truth
from ifrl.prm.train import PRMTrainConfig, train_prm
from ifrl.prm.uniform import UniformConfig, label_solutions, uniform_label

SYNTHETIC_MOVED = (
    "`ifrl prm synthetic` moved: run `ifrl pipeline run edu-prm --config "
    "examples/edu-prm-synthetic.yaml` (sizes: --set questions.train=N, --set bon.n=N, ...)"
)
BON_METRICS_MOVED = (
    "`ifrl prm bon` no longer reports Best-of-N accuracy: run `ifrl prm score --prm DIR --data "
    "FILE --out scored.jsonl`, then `ifrl eval prm --responses scored.jsonl --out DIR`"
)
TRL_FORMAT_RENAMED = (
    "--format trl is now --format stepwise (TRL's stepwise_supervision dataset type; TRL's "
    "PRMTrainer, which read it, was removed from TRL)"
)
TAUS = (0.3, 0.5, 1.0, 1.5, 2.0)


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
_SHARD = click.option(
    "--shard", default=None, help="i/n: only the questions at positions i modulo n (0 <= i < n)."
)


Decoder = Callable[[int], HFStepDecoder | VLLMStepDecoder]


def _policy(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The policy's step decoder: ``--backend hf|vllm --model --device --top-k-entropy`` and
    vLLM's engine options, handed to the command as ``decoder``, a factory taking the batch
    size."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any,
        generator: GeneratorOptions,
        top_k_entropy: int,
        tensor_parallel_size: int | None,
        gpu_memory_utilization: float | None,
        max_model_len: int | None,
        **kw: Any,
    ) -> Any:
        def decoder(batch_size: int) -> HFStepDecoder | VLLMStepDecoder:
            try:
                return step_decoder_for(
                    generator.backend,
                    generator.model or "",
                    device=generator.device,
                    batch_size=batch_size,
                    top_k_entropy=top_k_entropy,
                    tensor_parallel_size=tensor_parallel_size,
                    gpu_memory_utilization=gpu_memory_utilization,
                    max_model_len=max_model_len,
                )
            except (BackendOptionsError, ValueError) as err:
                raise click.UsageError(str(err)) from None

        return fn(*args, decoder=decoder, **kw)

    for option in (
        click.option("--max-model-len", type=int, default=None, help="vllm: context length."),
        click.option(
            "--gpu-memory-utilization",
            type=float,
            default=None,
            help="vllm: share of the GPU memory the engine may take.",
        ),
        click.option(
            "--tensor-parallel-size", type=int, default=None, help="vllm: GPUs per model."
        ),
        click.option(
            "--top-k-entropy",
            type=int,
            default=20,
            show_default=True,
            help="vllm backend: logprobs per position for the entropy (-1: all, exact).",
        ),
    ):
        wrapper = option(wrapper)
    return generator_options(
        backends=STEP_BACKENDS,
        default="hf",
        backend_help="hf: exact entropies; vllm: entropies from the top-k logprobs.",
        model_help="Causal LM directory (the policy).",
    )(wrapper)


def _questions(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--data --limit --offset --template --shard``, handed to the command as loaded
    ``questions`` (this shard's)."""

    @functools.wraps(fn)
    def load(
        *args: Any,
        data: str,
        limit: int | None,
        offset: int,
        template: str,
        shard: str | None,
        **kw: Any,
    ) -> Any:
        try:
            part = parse_shard(shard)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--shard") from None
        questions = load_questions(data, limit=limit, offset=offset, template=template)
        if not questions:
            raise click.ClickException(
                f"{data}: no questions (the file is empty, or --offset/--limit leave none)"
            )
        return fn(*args, questions=take_shard(questions, part), **kw)

    wrapper: Callable[..., Any] = load
    for option in (
        _SHARD,
        click.option(
            "--template", default=DEFAULT_TEMPLATE, show_default=True, help="Prompt template."
        ),
        click.option("--offset", type=int, default=0, show_default=True),
        click.option("--limit", type=int, default=None),
        _data("Questions JSONL (GSM8K: question + answer)."),
    ):
        wrapper = option(wrapper)
    return wrapper


def _nonempty(rows: list[Any], path: str, what: str) -> list[Any]:
    """``rows``, or an error naming ``path`` when there are none."""
    if not rows:
        raise click.ClickException(f"{path}: no {what} (the file is empty)")
    return rows


def _load_prm(prm_dir: str, **kw: Any) -> ProcessRewardModel:
    """The PRM in ``prm_dir``, or one error naming the directory when it is not a loadable PRM."""
    try:
        return ProcessRewardModel.load(prm_dir, **kw)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as err:
        raise click.ClickException(f"{prm_dir}: not a loadable PRM directory ({err})") from None


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
    done = written_keys(out)
    todo = [q for q in questions if q.id not in done]
    click.echo(f"{len(todo)} questions to branch ({len(done)} already in {out})", err=True)
    dec = decoder(batch_size)
    pruner = prm_pruner(_load_prm(prune_with)) if prune_with else None
    made: list[BranchTree] = []
    try:
        with JSONLWriter(out, append=True) as writer:
            for start in range(0, len(todo), batch_size):
                chunk = todo[start : start + batch_size]
                for tree in build_trees(dec, chunk, config, pruner=pruner, progress=True):
                    writer.write(tree.to_dict())
                    made.append(tree)
    finally:
        dec.close()
    rates = anchor_rates(made, dec.tokenizer, sorted({*TAUS, config.tau}), config)
    click.echo(json.dumps({"cost": dec.cost.to_dict(), "anchor_rate": rates}))


@cli.command()
@click.option("--trees", type=click.Path(exists=True, dir_okay=False), help="Trees JSONL (EDU).")
@click.option("--model", required=True, help="The policy (its tokenizer decodes the trees).")
@click.option("--checker", default="gsm8k", show_default=True, help="Answer checker name.")
@_LABEL
@click.option(
    "--split",
    type=click.Choice(SPLITS),
    default="newline",
    show_default=True,
    help="Steps: lines (where solutions are scored) or the tree's anchor-cut nodes.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["steps", "stepwise", "openrlhf", "qwen", "trl"]),
    default="steps",
    show_default=True,
    help="StepSample JSONL; TRL's stepwise_supervision dataset; OpenRLHF's process reward "
    "dataset (input + value, placeholder ки, reward tokens + -); Qwen2.5-Math-PRM style "
    "(trl: the old name of stepwise).",
)
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def label(
    trees: str | None, model: str, checker: str, label_kind: str, split: str, fmt: str, out: str
) -> None:
    """Monte Carlo step labels from EDU trees (see `ifrl prm uniform` for the baseline)."""
    from transformers import AutoTokenizer  # heavy: loaded when used, `--help` stays fast

    if trees is None:
        raise click.UsageError("--trees is required (write them with `ifrl prm branch`)")
    if fmt == "trl":
        click.echo(TRL_FORMAT_RENAMED, err=True)
        fmt = "stepwise"
    forest = _nonempty(list(read_jsonl(trees, BranchTree.from_dict)), trees, "trees")
    check = get_checker(checker)
    tok = AutoTokenizer.from_pretrained(model)
    kind: LabelKind = "hard" if label_kind == "hard" else "soft"
    cut: StepSplit = "anchor" if split == "anchor" else "newline"
    rows: list[dict[str, Any]] = []
    for tree in forest:
        for s in step_samples(tree, tok, grade_leaves(tree, tok, check), label=kind, split=cut):
            if fmt == "stepwise":
                rows.append(to_trl(s))
            elif fmt == "openrlhf":
                rows.append(to_openrlhf(s, soft=kind == "soft"))
            elif fmt == "qwen":
                rows.append(to_qwen_prm(s))
            else:
                rows.append(s.to_dict())
    write_jsonl(out, rows)
    click.echo(f"wrote {len(rows)} labeled solutions ({cut} steps) to {out}", err=True)


@cli.command()
@_policy
@_questions
@config_options(UniformConfig)
@_BATCH
@click.option("--checker", default="gsm8k", show_default=True)
@_LABEL
@click.option(
    "--trees",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Label the leaves of these EDU trees (the same solutions as EDU) instead of greedy "
    "solutions; only the questions of --data that have a tree.",
)
@click.option(
    "--solutions",
    type=int,
    default=0,
    show_default=True,
    help="With --trees: leaves labelled per question (0: all), in the order of their branch "
    "choices (the greedy leaf first).",
)
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def uniform(
    decoder: Decoder,
    questions: list[Question],
    config: UniformConfig,
    batch_size: int,
    checker: str,
    label_kind: str,
    trees: str | None,
    solutions: int,
    out: str,
) -> None:
    """Baseline labels: uniform Monte Carlo rollouts from every newline-separated step;
    resumes (skips questions already in --out). Each line's meta holds its question's cost."""
    done = written_keys(out, "meta.question_id", count="meta.solutions")
    todo = [q for q in questions if q.id not in done]
    click.echo(f"{len(todo)} questions to label ({len(done)} already in {out})", err=True)
    kind: LabelKind = "hard" if label_kind == "hard" else "soft"
    check = get_checker(checker)
    forest = {t.question_id: t for t in read_jsonl(trees, BranchTree.from_dict)} if trees else {}
    dec = decoder(batch_size)
    total = Cost()
    try:
        with JSONLWriter(out, append=True) as writer:
            for q in todo:
                before = dec.cost
                if trees:
                    tree = forest.get(q.id)
                    if tree is None:
                        continue
                    leaves = sorted((n.id for n in tree.leaves()), key=tree.branch_choices)
                    leaves = leaves[:solutions] if solutions else leaves
                    sols = [tree.solution_ids(leaf) for leaf in leaves]
                    results = label_solutions(dec, q, sols, check, config, leaves=leaves)
                    spent = sampling_cost(len(tree.prompt_ids), sols)
                else:
                    results = uniform_label(dec, [q], check, config)
                    spent = Cost()
                spent += dec.cost - before
                total += spent
                rows = [r.sample(dec.tokenizer, label=kind) for r in results]
                for r in rows:
                    meta = {**r.meta, "cost": spent.to_dict(), "solutions": len(rows)}
                    writer.write(r.replace(meta=meta).to_dict())
    finally:
        dec.close()
    click.echo(json.dumps({"cost": total.to_dict()}))


@cli.command()
@click.option("--model", required=True, help="Causal LM directory (the PRM's backbone).")
@_data("StepSample JSONL (from `ifrl prm label`).")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="PRM directory.")
@config_options(PRMTrainConfig)
def train(model: str, data: str, out: str, config: PRMTrainConfig) -> None:
    """Train a PRM (two-class head at step separators) on labeled steps; with --save-steps a
    rerun resumes from the last checkpoint."""
    samples = _nonempty(list(read_jsonl(data, StepSample)), data, "labeled solutions")
    try:
        _, stats = train_prm(samples, model, config, out_dir=out)
    except ValueError as err:
        if "was cut at" in str(err) or "written by a run with other settings" in str(err):
            raise click.UsageError(f"{data}: {err}") from None
        raise
    click.echo(json.dumps({**stats.summary(), "split": config.split, "out": out}))


def candidates_row(row: dict[str, Any]) -> dict[str, Any]:
    """A line with ``candidates``: checked to be a non-empty list of solution texts
    (``RecordError`` naming the field otherwise: a string would be read as its characters)."""
    cands = row.get("candidates")
    if not isinstance(cands, list):
        got = "missing" if cands is None else f"a {type(cands).__name__}, {cands!r:.40}"
        raise RecordError("candidates", f"must be a list of solution texts, got {got}")
    if not cands:
        raise RecordError("candidates", "must be a non-empty list of solution texts")
    for i, c in enumerate(cands):
        if not isinstance(c, str):
            raise RecordError(f"candidates.{i}", f"must be a solution text, got {type(c).__name__}")
    return row


def _score_row(row: dict[str, Any]) -> dict[str, Any]:
    """A line of ``ifrl prm score``'s input, checked where it has candidates or a problem."""
    if "candidates" in row:
        return candidates_row(row)
    if "problem" in row:
        StepProblem.from_dict(row)
        return row
    for name in ("steps", "completions"):
        value = row.get(name)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise RecordError(name, f"must be a list of step texts, got {type(value).__name__}")
    return row


@cli.command()
@_PRM
@_data(
    "JSONL with prompt and steps (or completions, or a solution text); ProcessBench items "
    "(problem, steps, label; JSON array or JSONL); or candidates (solution texts) and a "
    "reference. The output is what `ifrl eval prm` reads."
)
@_AGG
@click.option(
    "--split",
    type=click.Choice(SPLITS),
    default=None,
    help="Step cut of solution texts; default: the PRM's own. Another than the PRM's is refused.",
)
@click.option("--policy", default=None, help="--split anchor: the policy whose entropies cut.")
@click.option("--tau", type=float, default=1.0, show_default=True, help="--split anchor: tau.")
@click.option(
    "--template",
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help="Prompt around a ProcessBench 'problem' (as the PRM's training prompts were).",
)
@click.option("--device", default="cpu", show_default=True, help="torch device of the PRM.")
@click.option(
    "--dtype",
    type=click.Choice(["float32", "bfloat16", "float16"]),
    default="float32",
    show_default=True,
)
@_BATCH
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def score(
    prm_dir: str,
    data: str,
    agg: str,
    split: str | None,
    policy: str | None,
    tau: float,
    template: str,
    device: str,
    dtype: str,
    batch_size: int,
    out: str,
) -> None:
    """Score every step of every solution, plus the aggregated solution score."""
    try:
        with open(data, encoding="utf-8") as fh:
            is_array = fh.read(4096).lstrip().startswith("[")
    except UnicodeDecodeError as err:
        raise click.ClickException(f"{data}: not UTF-8 text ({err.reason})") from None
    if is_array:
        rows: list[dict[str, Any]] = [p.to_dict() for p in load_processbench(data)]
    else:
        rows = list(read_jsonl(data, _score_row))
    _nonempty(rows, data, "solutions to score")
    prm = _load_prm(prm_dir, device=device, dtype=dtype)
    if split is not None and split != prm.split:
        raise click.UsageError(
            f"the PRM in {prm_dir} was trained on {prm.split} steps; scoring {split} steps "
            "would read it where it never learnt"
        )
    cutter = _cutter(prm.split, policy, tau)
    out_rows: list[dict[str, Any]] = []
    items: list[tuple[str, list[str]]] = []
    where: list[int] = []
    for row in rows:
        if "candidates" in row:
            out_rows.append(_candidates(prm, row, agg, cutter))
            continue
        if "problem" in row:
            problem = StepProblem.from_dict(row)  # checked when read
            prompt, steps = template.format(question=problem.problem.strip()), list(problem.steps)
        else:
            prompt = str(row.get("prompt", ""))
            steps = _steps_of(row, prompt, cutter)
        items.append((prompt, steps))
        where.append(len(out_rows))
        out_rows.append(row)
    for i, scores in zip(where, score_items(prm, items, batch_size=batch_size, progress=True)):
        out_rows[i] = {**out_rows[i], "step_scores": scores, "score": aggregate(scores, agg)}
    write_jsonl(out, out_rows)
    click.echo(f"scored {len(out_rows)} solutions ({prm.split} steps) into {out}", err=True)


Cutter = Callable[[str, str], list[str]]


def _cutter(split: str, policy: str | None, tau: float) -> Cutter:
    """How solution texts become steps: lines, or the policy's entropy anchors."""
    if split == "newline":
        return lambda prompt, text: split_solution(text) or [text]
    if policy is None:
        raise click.UsageError("this PRM was trained on anchor steps: pass --policy MODEL")
    decoder = step_decoder_for("hf", policy, device="cpu")
    config = BranchConfig(tau=tau)
    return lambda prompt, text: anchor_split(decoder, prompt, text, config) or [text]


def _steps_of(row: dict[str, Any], prompt: str, cutter: Cutter) -> list[str]:
    if isinstance(row.get("steps"), list):
        return [str(s) for s in row["steps"]]
    if isinstance(row.get("completions"), list):
        return [str(s) for s in row["completions"]]
    if isinstance(row.get("solution"), str):
        return cutter(prompt, row["solution"])
    raise click.ClickException("each line needs 'steps', 'completions', 'solution' or 'problem'")


def _candidates(
    prm: ProcessRewardModel, row: dict[str, Any], agg: str, cutter: Cutter
) -> dict[str, Any]:
    texts = [str(c) for c in candidates_row(row)["candidates"]]
    prompt = str(row.get("prompt", ""))
    steps = [cutter(prompt, t) for t in texts]
    best, scores = best_of_n(prm, prompt, steps, agg)
    cands = [{"response": c, "score": s} for c, s in zip(texts, scores)]
    gold = row.get("gold", row.get("reference"))
    known = {} if gold is None else {"gold": str(gold)}
    return {**row, "candidates": cands, "chosen": best, **known}


@cli.command()
@_PRM
@_data("JSONL: prompt, candidates (solution texts), optional reference.")
@_AGG
@click.option("--checker", default="gsm8k", show_default=True, help="Grades chosen candidates.")
@click.option("--out", type=click.Path(dir_okay=False), default=None)
def bon(prm_dir: str, data: str, agg: str, checker: str, out: str | None) -> None:
    """Best-of-N: pick the candidate with the best PRM score (with a reference: whether it is
    right). Metrics over a file are `ifrl eval prm`'s."""
    # Bad lines and an unknown checker fail before the PRM loads.
    lines = _nonempty(list(read_jsonl(data, candidates_row)), data, "candidate rows")
    check = get_checker(checker)
    prm = _load_prm(prm_dir)
    rows, lines_cut = [], _cutter("newline", None, 1.0)
    for row in lines:
        scored = _candidates(prm, row, agg, lines_cut)
        best, scores = scored["chosen"], [c["score"] for c in scored["candidates"]]
        result = {**row, "chosen": best, "scores": scores}
        if row.get("reference") is not None:
            result["chosen_correct"] = check(str(row["candidates"][best]), str(row["reference"]))
        rows.append(result)
    if out:
        write_jsonl(out, rows)
    if any("chosen_correct" in r for r in rows):
        click.echo(BON_METRICS_MOVED, err=True)
    click.echo(json.dumps({"questions": len(rows)}))


@cli.command()
@_data("GSM8K JSONL (question + answer with <<a*b=c>> calculations and '#### N').")
@click.option("--limit", type=int, default=None, help="GSM8K rows to use.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def planted(data: str, limit: int | None, seed: int, out: str) -> None:
    """A step-level evaluation set in ProcessBench's format, built offline from GSM8K solutions:
    each solution clean (label -1) and with a wrong number planted in step k and propagated
    (label k). Score it with `ifrl prm score`, evaluate with `ifrl eval prm`."""
    rows = []
    for i, row in enumerate(read_jsonl(data)):
        if limit is not None and i >= limit:
            break
        rows.append(row)
    _nonempty(rows, data, "GSM8K rows")
    items = [p.to_dict() for p in planted_errors(rows, seed=seed)]
    write_jsonl(out, items)
    errors = sum(1 for p in items if p["label"] >= 0)
    click.echo(json.dumps({"items": len(items), "planted": errors, "clean": len(items) - errors}))


@cli.command()
@click.option("--trees", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option(
    "--uniform",
    "uniform_file",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="`ifrl prm uniform --trees` output on the same trees.",
)
@click.option("--model", required=True, help="The policy (its tokenizer decodes the trees).")
@click.option("--checker", default="gsm8k", show_default=True)
@click.option(
    "--truth",
    type=click.Choice(["none", "synthetic"]),
    default="none",
    show_default=True,
    help="Exact step truth: the synthetic arithmetic task's (first wrong line known).",
)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="JSON report.")
def study(
    trees: str, uniform_file: str, model: str, checker: str, truth: str, out: str | None
) -> None:
    """Labelling cost and quality of EDU and uniform MC on the same solutions, per line step
    and per question (PRMs at matched budgets: the edu-prm-study recipe)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    forest = list(read_jsonl(trees, BranchTree.from_dict))
    samples = list(read_jsonl(uniform_file, StepSample))
    try:
        sets = uniform_sets_from_samples(samples, forest, tok)
    except ValueError as err:
        raise click.UsageError(f"{uniform_file}: {err}") from None
    report = labelling_report(
        forest, sets, tok, get_checker(checker), truth=line_truth if truth == "synthetic" else None
    )
    if out:
        from ifrl.core.jsonl import write_json

        write_json(out, report)
    click.echo(json.dumps(report["headline"]))


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    help=f"Moved. {SYNTHETIC_MOVED}.",
)
def synthetic() -> None:
    click.echo(SYNTHETIC_MOVED, err=True)
    raise SystemExit(2)
