"""The ``itool`` recipe: an SFT model → iTool iterations (deficiency → MCTS pairs → SimPO) → eval
per iteration (arXiv 2501.09766), each step a stage of its own.

Stages and what they write in the run directory:

* ``data`` — the training and held-out conversations (``conversations/``) split into
  assistant-turn samples (``data/train_samples.jsonl``, ``data/eval_samples.jsonl``);
* ``warmup`` (with ``itool.sft_steps > 0``) — easy-to-hard SFT (``warmup/``);
* ``eval-0`` — held-out tool-call accuracy of the starting model (``iter_0/eval.json``; one scored row per held-out sample in ``iter_0/eval_scored.jsonl``);
* per iteration ``k``: ``deficiency-k`` (``iter_k/deficiency.jsonl``), ``mcts-k`` (MCTS pairs
  per chunk of samples in ``iter_k/mcts/``, resumable, merged into ``iter_k/pairs.jsonl``; the
  best-vs-worst baseline at the same budget in ``iter_k/baseline/``; costs and the share of
  pairs whose chosen side is an exact call in ``iter_k/pairs.json``), ``simpo-k``
  (``iter_k/simpo/``, LoRA merged into ``simpo/final``; ``iter_k/simpo.json``) and ``eval-k``;
* ``summary`` — ``summary.jsonl``, ``summary.md`` and ``accuracy.png`` (needs matplotlib).

Each iteration's steps are the functions of :mod:`ifrl.rltrain` (``select_deficient``,
``search_pairs``, ``baseline_pairs``, ``train_preferences``); this module owns the directories.
The model can come from a ``toolace`` run: its SFT model, its SFT rows as training conversations
and its held-out dialogs (first turns) as the eval set.

Generation (sampling selector, MCTS, baseline, held-out eval) runs on ``itool.backend``:
``hf`` (transformers, the default) or ``vllm``, where one in-process engine serves the whole run
and receives each iteration's new model with ``load_weights``, as GRPO's rollouts do
(:class:`~ifrl.rltrain.PolicyRollouts`). The perplexity selector reads full logits, which vLLM
does not return: with ``vllm`` it loads the model with transformers for its forward passes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, opt
from ifrl.core.generation import BACKENDS, Generator
from ifrl.core.jsonl import JSONLWriter, read_jsonl, write_json, write_jsonl, write_text
from ifrl.core.records import Conversation, Cost, PreferencePair, RawText, SamplingParams
from ifrl.evals import EvalResult, ToolUseCase, score_tool_calls
from ifrl.evals.generate import generate_responses
from ifrl.evals.plots import pyplot
from ifrl.pipelines.common import resolve_model
from ifrl.pipelines.recipe import RECIPES, Recipe, Stage, StageContext
from ifrl.rltrain import (
    IterationConfig,
    PolicyRollouts,
    SFTConfig,
    SFTTrainer,
    ToolSample,
    TrainConfig,
    baseline_pairs,
    cost_summary,
    load_conversations,
    load_tokenizer,
    pair_summary,
    samples_from_conversation,
    search_pairs,
    select_deficient,
    summary_row,
    train_preferences,
)
from ifrl.toolgen import DIALOG_TYPES, Dialog

TRAIN_PAIRS = ("mcts", "baseline", "both")
#: The ``itool`` settings that decide the samples (stage ``data``) and the held-out eval.
PREP_KEYS = ("last_turn_only", "eval_limit")
EVAL_KEYS = ("eval_max_new_tokens", "generation_batch_size", "device", "backend", "backend_options")


@dataclass
class StartSection:
    """Where the iterations start from."""

    toolace_run: str = opt(
        "A toolace run directory: its SFT model (sft/model/final), SFT rows (sft_train.jsonl) and "
        "held-out dialogs (eval/heldout_dialogs.jsonl) are the defaults of model, data.train "
        "and data.eval.",
        "",
    )
    model: str = opt(
        "The SFT model (directory or hub id); 'tiny' builds the seeded tiny model; empty: the "
        "toolace run's SFT model.",
        "",
    )


@dataclass
class DataSection:
    train: str = opt(
        "Training conversations JSONL (OpenAI {messages, tools}, ifrl, or toolgen dialogs); "
        "empty: the toolace run's sft_train.jsonl.",
        "",
    )
    eval: str = opt(
        "Held-out conversations JSONL (same formats; only the first assistant turn of each is "
        "evaluated); empty: the toolace run's eval/heldout_dialogs.jsonl.",
        "",
    )
    eval_limit: int = opt("Held-out conversations to use at most (0: all).", 0)
    train_limit: int = opt("Training conversations to use at most, the first ones (0: all).", 0)


@dataclass
class ItoolSection(IterationConfig):
    """The iterations: every :class:`~ifrl.rltrain.IterationConfig` setting (deficiency, mcts_*,
    pair_*, the preference stage's training settings) plus how the run goes around them."""

    model: str = opt("Set by the recipe (start.model, then each iteration's model).", "")
    data: str = opt("Set by the recipe (each iteration's preference pairs).", "")
    output_dir: str = opt("Set by the recipe (inside the run directory, --run-dir).", "runs/rl")
    iterations: int = opt("Rounds of deficiency → MCTS → preference training.", 1, minimum=0)
    device: str = opt("Device for generation and scoring: cpu, cuda or auto.", "auto")
    backend: str = opt(
        "Generation backend: hf (transformers) or vllm (one in-process engine for the run; each "
        "new model's weights are loaded into it; the perplexity selector scores with "
        "transformers).",
        "hf",
    )
    backend_options: dict[str, Any] = opt(
        "Keyword arguments for the backend (vllm: any vllm.LLM option, e.g. "
        "{gpu_memory_utilization: 0.5, max_model_len: 4096}).",
        factory=dict,
    )
    generation_batch_size: int = opt("Sequences per forward pass when generating.", 32)
    last_turn_only: bool = opt("Use only the last assistant turn of each conversation.", False)
    sft_steps: int = opt("Warm-up SFT steps (0: no warm-up).", 0)
    sft_learning_rate: float = opt("Warm-up SFT learning rate.", 2e-5)
    sft_batch_size: int = opt("Warm-up SFT micro-batch size.", 4)
    sft_curriculum: str = opt(
        "Warm-up order: loss, tool_calls, length, none or module:function.", "loss"
    )
    sft_curriculum_stages: int = opt("Difficulty stages of the warm-up curriculum.", 3)
    mcts_text_samples: bool = opt(
        "Also search deficient text-answer samples (their reward is only 'no tool call').", False
    )
    mcts_chunk: int = opt(
        "Trees searched together (and saved together, for resuming).", 64, minimum=1
    )
    baseline: bool = opt("Also collect best-vs-worst pairs at the same generation budget.", True)
    train_pairs: str = opt(
        "Pairs to train on: mcts, baseline or both.", "mcts", choices=TRAIN_PAIRS
    )
    eval_max_new_tokens: int = opt("Token budget of held-out generations (greedy).", 128)
    eval_limit: int = opt("Evaluate on at most this many held-out samples (0: all).", 0)

    def validate(self) -> None:
        super().validate()
        defaults = TrainConfig()
        for name in ("model", "data", "output_dir"):
            if getattr(self, name) != getattr(defaults, name):
                raise ConfigError("", "", f"{name} is set by the recipe, not the config")
        import ifrl.core.backends.hf
        import ifrl.core.backends.vllm  # noqa: F401  (register the built-in engines)

        if self.backend not in BACKENDS:
            known = ", ".join(BACKENDS.names())
            raise ConfigError("", "backend", f"unknown backend {self.backend!r} (known: {known})")

    def sft_config(self, model: str, data: str, output_dir: str) -> SFTConfig:
        """The warm-up's trainer config (full weights, resumable)."""
        return self.derive(
            SFTConfig,
            model=model,
            data=data,
            output_dir=output_dir,
            max_steps=self.sft_steps,
            learning_rate=self.sft_learning_rate,
            per_device_batch_size=self.sft_batch_size,
            use_lora=False,
            merge_lora=False,
            resume=True,
            curriculum=self.sft_curriculum,
            curriculum_stages=self.sft_curriculum_stages,
            max_length=self.max_length,
        )


@dataclass
class ItoolConfig:
    """The ``itool`` recipe's YAML file."""

    start: StartSection = opt("The SFT model the iterations start from.", factory=StartSection)
    data: DataSection = opt("Stage data: conversations to learn from.", factory=DataSection)
    itool: ItoolSection = opt(
        "The iterations' settings (the keys of the former `ifrl rl itool` config, but model, "
        "data, eval_data and output_dir, which the recipe sets).",
        factory=ItoolSection,
    )

    def validate(self) -> None:
        if not self.start.toolace_run and not self.start.model:
            raise ConfigError("", "start.model", "give a model or a toolace_run")

    # Fingerprint views (stage sections): the data and eval stages depend only on these keys,
    # so changing the search or training settings reruns the iterations, not the data.
    @property
    def prep(self) -> dict[str, Any]:
        return {k: getattr(self.itool, k) for k in PREP_KEYS}

    @property
    def evaluation(self) -> dict[str, Any]:
        return {k: getattr(self.itool, k) for k in EVAL_KEYS}


# -- helpers ---------------------------------------------------------------------------------


def start_model(cfg: ItoolConfig) -> str:
    """The starting model directory (builds the tiny model for ``tiny``)."""
    if cfg.start.model:
        return resolve_model(cfg.start.model)
    return str(Path(cfg.start.toolace_run) / "sft/model/final")


def _source(cfg: ItoolConfig, which: str) -> Path:
    given = cfg.data.train if which == "train" else cfg.data.eval
    if given:
        return Path(given)
    if not cfg.start.toolace_run:
        raise ConfigError("", f"data.{which}", "required without start.toolace_run")
    run = Path(cfg.start.toolace_run)
    return run / ("sft_train.jsonl" if which == "train" else "eval/heldout_dialogs.jsonl")


def to_conversation(row: Mapping[str, Any], first_turn: bool) -> Conversation | None:
    """A JSONL row (OpenAI or ifrl ``{messages, tools}``, or a toolgen dialog) as a
    conversation; ``first_turn`` cuts it after its first assistant turn (None when it has none)."""
    if row.get("type") in DIALOG_TYPES:
        conv = Dialog.from_json(row).conversation()
    else:
        conv = Conversation.from_openai(row)
    if not first_turn:
        return conv
    end = next((i for i, m in enumerate(conv.messages) if m.role == "assistant"), None)
    return None if end is None else Conversation(conv.messages[: end + 1], conv.tools)


def _convert(src: Path, dst: Path, first_turn: bool, limit: int) -> int:
    if not src.exists():
        raise ConfigError(str(src), "", "no such file")
    n = 0
    with JSONLWriter(dst) as w:
        for row in read_jsonl(src):
            conv = to_conversation(row, first_turn)
            if conv is None:
                continue
            w.write(conv.to_openai(arguments_as="object"))
            n += 1
            if limit and n >= limit:
                break
    return n


def _fresh(ctx: StageContext, *relative: str) -> None:
    """Remove a stage's previous outputs unless it resumes an interrupted attempt."""
    if ctx.resume:
        return
    for rel in relative:
        p = ctx.run_dir / rel
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


_ROLLOUTS: dict[str, tuple[str, PolicyRollouts]] = {}


def _rollouts(ctx: StageContext) -> PolicyRollouts:
    """The run's generators (one vLLM engine for all its stages and models; see the module
    docstring), kept per run directory while the settings stay the same."""
    cfg: ItoolSection = ctx.config.itool
    device = None if cfg.device == "auto" else cfg.device
    settings = (
        cfg.backend,
        cfg.backend_options,
        device,
        cfg.generation_batch_size,
        cfg.dtype,
        cfg.seed,
    )
    key, run = json.dumps(settings, sort_keys=True, default=str), str(ctx.run_dir)
    held = _ROLLOUTS.get(run)
    if held is not None and held[0] == key:
        return held[1]
    if held is not None:
        held[1].close()
    rollouts = PolicyRollouts(
        cfg.backend,
        device=device,
        batch_size=cfg.generation_batch_size,
        dtype=cfg.dtype,
        seed=cfg.seed,
        options=cfg.backend_options,
    )
    _ROLLOUTS[run] = (key, rollouts)
    return rollouts


def _generator(ctx: StageContext, model: str) -> Generator:
    return _rollouts(ctx).generator(model)


def close_rollouts(run_dir: str | Path) -> None:
    """Shut down the generators a run in ``run_dir`` keeps (its vLLM engine)."""
    held = _ROLLOUTS.pop(str(run_dir), None)
    if held is not None:
        held[1].close()


def _model_before(ctx: StageContext, k: int) -> str:
    """The model iteration ``k`` starts from: the previous iteration's, or the starting one."""
    if k > 1:
        return str(ctx.results[f"simpo-{k - 1}"]["model"])
    if "warmup" in ctx.results and ctx.config.itool.sft_steps:
        return str(ctx.results["warmup"]["model"])
    return str(ctx.results["data"]["model"])


def _samples(ctx: StageContext, relative: str) -> list[ToolSample]:
    return list(read_jsonl(ctx.run_dir / relative, ToolSample.from_dict))


def heldout_cases(
    conversations: Sequence[Conversation], samples: Sequence[ToolSample]
) -> list[ToolUseCase]:
    """The held-out samples as tool-use cases: each sample's conversation up to its assistant
    turn (``meta``: ``conversation`` ``eval<i>``, ``turn``) with that turn's calls as the gold."""
    cases = []
    for s in samples:
        conv = conversations[int(str(s.meta["conversation"]).removeprefix("eval"))]
        turn = int(s.meta["turn"])
        cases.append(
            ToolUseCase(s.id, Conversation(conv.messages[:turn], conv.tools), s.gold_calls)
        )
    return cases


def evaluate_heldout(
    generator: Generator,
    samples: Sequence[ToolSample],
    cases: Sequence[ToolUseCase],
    max_new_tokens: int = 128,
    samples_out: Path | None = None,
) -> tuple[dict[str, float], EvalResult]:
    """Greedy answers to the held-out samples (their rendered prompts), scored through
    :mod:`ifrl.evals.tool_use`: exact tool-call accuracy (the matcher), mean matcher score,
    parse errors, BFCL AST accuracy, and text-answer accuracy, each over its own samples.
    ``samples_out``: also write one scored row per sample there (``tool``: whether the sample's
    gold is a tool call), the per-item outcomes that intervals over seeds resample."""
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens, logprobs=False)
    # The samples' prompts were rendered with the policy's own chat template: sent as written.
    asked = [(str(i), RawText(s.prompt)) for i, s in enumerate(samples)]
    answers = generate_responses(generator, asked, params, batch_size=16, progress=True)
    outputs = [answers[i][0] for i, _ in asked]
    result, rows = score_tool_calls(cases, outputs)
    tool = [r for r, s in zip(rows, samples) if s.gold_calls]
    text = [r for r, s in zip(rows, samples) if not s.gold_calls]
    if samples_out is not None:
        write_jsonl(samples_out, [{**r, "tool": bool(s.gold_calls)} for r, s in zip(rows, samples)])
    n = max(1, len(tool))
    return {
        "tool_call_accuracy": sum(r["exact"] for r in tool) / n,
        "tool_call_score": sum(r["score"] for r in tool) / n,
        "tool_call_parse_errors": sum(r["match"] == "parse_error" for r in tool) / n,
        "tool_call_bfcl_accuracy": sum(r["valid"] for r in tool) / n,
        "text_accuracy": sum(r["exact"] for r in text) / max(1, len(text)),
        "tool_samples": float(len(tool)),
        "text_samples": float(len(text)),
    }, result


def plot_accuracy(rows: Sequence[Mapping[str, Any]], path: Path) -> bool:
    """Held-out accuracy and score per iteration as a PNG; False when matplotlib is missing."""
    try:
        plt = pyplot()
    except ImportError:
        return False
    its = [r["iteration"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(its, [r["tool_call_accuracy"] or 0.0 for r in rows], marker="o", label="exact accuracy")
    ax.plot(its, [r["tool_call_score"] or 0.0 for r in rows], marker="s", label="matcher score")
    ax.set_xlabel("iteration (0 = after warm-up SFT)")
    ax.set_ylabel("held-out dialogs: exact / matcher score")
    ax.set_xticks(its)
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    shutil.move(str(tmp), str(path))
    return True


SUMMARY_COLUMNS = (
    ("iteration", "iter"),
    ("tool_call_accuracy", "held-out acc"),
    ("tool_call_score", "held-out score"),
    ("deficient", "deficient"),
    ("mcts_pairs", "MCTS pairs"),
    ("mcts_pairs_per_1000_calls", "MCTS pairs/1k calls"),
    ("mcts_chosen_exact_share", "MCTS chosen exact"),
    ("baseline_pairs", "BvW pairs"),
    ("baseline_pairs_per_1000_calls", "BvW pairs/1k calls"),
    ("train_loss", "loss"),
)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key.endswith("pairs") and isinstance(value, float) and value.is_integer():
        return str(int(value))  # a count
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def write_summary(out: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """``summary.jsonl``, ``summary.md`` and, with matplotlib, ``accuracy.png`` in ``out``."""
    write_jsonl(out / "summary.jsonl", rows)
    lines = [
        "| " + " | ".join(h for _, h in SUMMARY_COLUMNS) + " |",
        "|" + "---|" * len(SUMMARY_COLUMNS),
    ]
    for r in rows:
        shown = [_cell(key, r.get(key)) for key, _ in SUMMARY_COLUMNS]
        lines.append("| " + " | ".join(shown) + " |")
    note = ""
    if not plot_accuracy(rows, out / "accuracy.png"):
        note = "\n(accuracy.png not written: matplotlib is not installed)\n"
    write_text(out / "summary.md", "# iTool summary\n\n" + "\n".join(lines) + "\n" + note)


# -- stages ----------------------------------------------------------------------------------


def stage_data(ctx: StageContext) -> dict[str, Any]:
    cfg: ItoolConfig = ctx.config
    _fresh(ctx, "data", "conversations")
    model = start_model(cfg)
    if not Path(model).exists() and cfg.start.toolace_run:
        raise ConfigError("", "start.toolace_run", f"no SFT model at {model}")
    counts = {
        "train_conversations": _convert(
            _source(cfg, "train"),
            ctx.path("conversations/train.jsonl"),
            False,
            cfg.data.train_limit,
        ),
        "eval_conversations": _convert(
            _source(cfg, "eval"), ctx.path("conversations/eval.jsonl"), True, cfg.data.eval_limit
        ),
    }
    if not all(counts.values()):
        raise ConfigError("", "data", "no training or no held-out conversations")
    tokenizer = load_tokenizer(model)
    for name in ("train", "eval"):
        rows: list[ToolSample] = []
        for i, conv in enumerate(load_conversations(ctx.run_dir / f"conversations/{name}.jsonl")):
            rows += samples_from_conversation(
                tokenizer, conv, f"{name}{i}", last_only=cfg.itool.last_turn_only
            )
        if name == "eval" and cfg.itool.eval_limit:
            rows = rows[: cfg.itool.eval_limit]
        counts[f"{name}_samples"] = write_jsonl(ctx.path(f"data/{name}_samples.jsonl"), rows)
    return {"model": model, **counts}


def stage_warmup(ctx: StageContext) -> dict[str, Any]:
    _fresh(ctx, "warmup")
    cfg: ItoolSection = ctx.config.itool
    data = str(ctx.run_dir / "conversations/train.jsonl")
    sft = cfg.sft_config(str(ctx.results["data"]["model"]), data, str(ctx.run_dir / "warmup"))
    result = SFTTrainer(sft).train()
    return {"model": str(result.final_model), **result.metrics}


def stage_eval(ctx: StageContext, k: int) -> dict[str, Any]:
    _fresh(ctx, f"iter_{k}/eval.json", f"iter_{k}/eval_scored.jsonl")
    model = _model_before(ctx, 1) if k == 0 else str(ctx.results[f"simpo-{k}"]["model"])
    held = _samples(ctx, "data/eval_samples.jsonl")
    cases = heldout_cases(load_conversations(ctx.run_dir / "conversations/eval.jsonl"), held)
    scores, metrics = evaluate_heldout(
        _generator(ctx, model),
        held,
        cases,
        ctx.config.itool.eval_max_new_tokens,
        ctx.path(f"iter_{k}/eval_scored.jsonl"),
    )
    result = {"model": model, **scores}
    write_json(ctx.path(f"iter_{k}/eval.json"), {**result, "metrics": metrics.to_dict()})
    return result


def stage_deficiency(ctx: StageContext, k: int) -> dict[str, Any]:
    _fresh(ctx, f"iter_{k}/deficiency.jsonl")
    model = _model_before(ctx, k)
    train = _samples(ctx, "data/train_samples.jsonl")
    cfg: ItoolSection = ctx.config.itool
    rollouts = _rollouts(ctx)
    if cfg.deficiency == "perplexity":  # logits: the HF generator's model, or transformers
        scorer = rollouts.scorer(model)
        kept, info = select_deficient(train, None, cfg, k, scorer=scorer)
        del scorer
    else:
        kept, info = select_deficient(train, rollouts.generator(model), cfg, k)
    write_jsonl(ctx.path(f"iter_{k}/deficiency.jsonl"), kept)
    return {
        **info,
        "deficient": len(kept),
        "tool_call_samples": sum(bool(s.gold_calls) for s in kept),
    }


def stage_mcts(ctx: StageContext, k: int) -> dict[str, Any]:
    it = ctx.run_dir / f"iter_{k}"
    names = ("mcts", "baseline", "pairs.jsonl", "pairs.json")
    _fresh(ctx, *(f"iter_{k}/{name}" for name in names))
    cfg: ItoolSection = ctx.config.itool
    model = _model_before(ctx, k)
    deficient = _samples(ctx, f"iter_{k}/deficiency.jsonl")
    searched = [s for s in deficient if s.gold_calls or cfg.mcts_text_samples]
    gen: Generator | None = None
    total, pairs = Cost(), []
    chunks = range(0, len(searched), cfg.mcts_chunk)
    for c, start in enumerate(chunks):
        done, found = it / f"mcts/chunk_{c:05d}.json", it / f"mcts/chunk_{c:05d}.jsonl"
        if not done.exists():  # chunks finished before an interruption are read back
            gen = gen or _generator(ctx, model)
            chunk = searched[start : start + cfg.mcts_chunk]
            chunk_pairs, cost = search_pairs(chunk, gen, cfg, k, c, progress=cfg.progress)
            write_jsonl(found, chunk_pairs)
            write_json(
                done, {"trees": len(chunk), "pairs": len(chunk_pairs), "cost": cost.to_dict()}
            )
        total += Cost.from_dict(json.loads(done.read_text(encoding="utf-8"))["cost"])
        pairs += list(read_jsonl(found, PreferencePair))
    write_jsonl(it / "pairs.jsonl", pairs)
    result: dict[str, Any] = {"mcts": {**cost_summary(total, len(pairs)), **pair_summary(pairs)}}
    if cfg.baseline and searched:
        gen = gen or _generator(ctx, model)
        bpairs, bcost, n = baseline_pairs(searched, gen, total, cfg, k, cfg.generation_batch_size)
        write_jsonl(ctx.path(f"iter_{k}/baseline/pairs.jsonl"), bpairs)
        result["baseline"] = {"n": n, **cost_summary(bcost, len(bpairs)), **pair_summary(bpairs)}
    write_json(it / "pairs.json", result)
    return {"searched": len(searched), **result}


def stage_simpo(ctx: StageContext, k: int) -> dict[str, Any]:
    it = ctx.run_dir / f"iter_{k}"
    _fresh(ctx, f"iter_{k}/simpo", f"iter_{k}/train_pairs.jsonl", f"iter_{k}/simpo.json")
    cfg: ItoolSection = ctx.config.itool
    before = _model_before(ctx, k)
    sources = {"mcts": ["pairs.jsonl"], "baseline": ["baseline/pairs.jsonl"]}
    sources["both"] = sources["mcts"] + sources["baseline"]
    files = [it / rel for rel in sources[cfg.train_pairs] if (it / rel).exists()]
    pairs = [p for f in files for p in read_jsonl(f, PreferencePair)]
    if pairs:
        write_jsonl(it / "train_pairs.jsonl", pairs)
        _rollouts(ctx).release()  # an HF generator's model: not needed while training
        trained = train_preferences(it / "train_pairs.jsonl", before, it / "simpo", cfg)
        info = {"model": trained.pop("model"), "pairs": len(pairs), **trained}
    else:
        info = {"model": before, "pairs": 0, "skipped": "no pairs"}
    write_json(it / "simpo.json", info)
    return info


def summary_rows(results: Mapping[str, Mapping[str, Any]], iterations: int) -> list[dict[str, Any]]:
    """One row per iteration (0 = the starting model) from the stages' results."""
    rows = []
    for k in range(iterations + 1):
        scores = dict(results[f"eval-{k}"])
        rows.append(
            summary_row(
                k,
                scores.get("model"),
                scores,
                dict(results.get(f"mcts-{k}", {})),
                dict(results.get(f"simpo-{k}", {})),
                results.get(f"deficiency-{k}", {}).get("deficient"),
            )
        )
    return rows


def stage_summary(ctx: StageContext) -> dict[str, Any]:
    iterations = ctx.config.itool.iterations
    close_rollouts(ctx.run_dir)  # every generation of the run is done
    rows = summary_rows(ctx.results, iterations)
    write_summary(ctx.run_dir, rows)
    first, last = rows[0], rows[-1]
    return {
        "iterations": iterations,
        "start_accuracy": first["tool_call_accuracy"],
        "final_accuracy": last["tool_call_accuracy"],
        "start_score": first["tool_call_score"],
        "final_score": last["tool_call_score"],
        "rows": rows,
    }


# -- recipe ----------------------------------------------------------------------------------


def stages(cfg: ItoolConfig) -> tuple[Stage, ...]:
    """The stages of ``cfg``: four per iteration."""
    out = [
        Stage(
            "data",
            stage_data,
            ("conversations/train.jsonl", "conversations/eval.jsonl", "data/train_samples.jsonl"),
            ("start", "data", "prep"),
            (),
            "conversations → assistant-turn samples",
        ),
        Stage(
            "warmup",
            stage_warmup,
            ("warmup/final",),
            ("itool",),
            ("data",),
            "warm-up SFT (easy-to-hard)",
            enabled=lambda c: c.itool.sft_steps > 0,
        ),
        Stage(
            "eval-0",
            partial(stage_eval, k=0),
            ("iter_0/eval.json", "iter_0/eval_scored.jsonl"),
            ("evaluation",),
            ("data", "warmup"),
            "held-out tool-call accuracy of the starting model",
        ),
    ]
    prev: tuple[str, ...] = ("data", "warmup")
    for k in range(1, cfg.itool.iterations + 1):
        it = f"iter_{k}"
        out += [
            Stage(
                f"deficiency-{k}",
                partial(stage_deficiency, k=k),
                (f"{it}/deficiency.jsonl",),
                ("itool",),
                prev,
                f"iteration {k}: deficient samples",
            ),
            Stage(
                f"mcts-{k}",
                partial(stage_mcts, k=k),
                (f"{it}/pairs.json",),
                ("itool",),
                (f"deficiency-{k}",),
                f"iteration {k}: MCTS preference pairs (+ best-vs-worst baseline)",
            ),
            Stage(
                f"simpo-{k}",
                partial(stage_simpo, k=k),
                (f"{it}/simpo.json",),
                ("itool",),
                (f"mcts-{k}",),
                f"iteration {k}: SimPO on the pairs",
            ),
            Stage(
                f"eval-{k}",
                partial(stage_eval, k=k),
                (f"{it}/eval.json", f"{it}/eval_scored.jsonl"),
                ("evaluation",),
                (f"simpo-{k}",),
                f"iteration {k}: held-out tool-call accuracy",
            ),
        ]
        prev = (f"simpo-{k}",)
    out.append(
        Stage(
            "summary",
            stage_summary,
            ("summary.md", "summary.jsonl"),
            (),
            ("eval-0", *(f"eval-{k}" for k in range(1, cfg.itool.iterations + 1))),
            "summary table and accuracy plot",
        )
    )
    return tuple(out)


def build() -> Recipe:
    """The ``itool`` recipe."""
    return Recipe(
        "itool",
        "SFT model → iTool iterations (deficiency → MCTS pairs → SimPO) → eval per iteration",
        ItoolConfig,
        stages(ItoolConfig()),
        expand=stages,
    )


RECIPES.add("itool", build)

__all__ = [
    "ItoolConfig",
    "ItoolSection",
    "build",
    "close_rollouts",
    "evaluate_heldout",
    "stages",
    "summary_rows",
    "to_conversation",
]
