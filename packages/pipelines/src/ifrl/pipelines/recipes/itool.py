"""The ``itool`` recipe: an SFT model → iTool iterations (deficiency → MCTS pairs → SimPO) → eval
per iteration (arXiv 2501.09766), each step a stage of its own.

Stages: ``data`` (training and held-out conversations → assistant-turn samples), optional
``warmup`` (more SFT, with ``itool.sft_steps > 0``), ``eval-0`` (held-out tool-call accuracy of
the starting model), then for every iteration ``k``: ``deficiency-k`` (the hardest samples by
gold perplexity, or by sampling), ``mcts-k`` (MCTS preference pairs, chunked and resumable, and
the best-vs-worst baseline at the same generation budget), ``simpo-k`` (SimPO with LoRA, merged)
and ``eval-k``; finally ``summary`` (``summary.md``, ``summary.jsonl``, ``accuracy.png``).

The work is done by :class:`ifrl.rltrain.itool.ITool`; the run directory is its output directory
(``data/``, ``iter_k/``...). The model can come from a ``toolace`` run: its SFT model, its SFT rows
as training conversations and its held-out dialogs (first turns) as the eval set. Generation runs
on Hugging Face transformers (the perplexity selector reads the model's logits).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, opt
from ifrl.core.jsonl import JSONLWriter, read_jsonl
from ifrl.pipelines.common import train_config
from ifrl.pipelines.recipe import RECIPES, Recipe, Stage, StageContext

#: ``ITOOLConfig`` fields the recipe sets itself.
FIXED = ("model", "data", "eval_data", "output_dir")
#: ``ITOOLConfig`` fields that decide the samples (stage ``data``) and the held-out eval.
PREP_KEYS = ("last_turn_only", "eval_limit")
EVAL_KEYS = ("eval_max_new_tokens", "generation_batch_size", "device")


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


def _default_itool() -> dict[str, Any]:
    return {
        "iterations": 1,
        "sft_steps": 0,
        "max_steps": 20,
        "learning_rate": 1e-4,
        "per_device_batch_size": 4,
        "mcts_iterations": 4,
        "mcts_actions": 2,
        "mcts_max_new_tokens": 64,
        "eval_max_new_tokens": 64,
        "device": "cpu",
    }


@dataclass
class ItoolConfig:
    """The ``itool`` recipe's YAML file."""

    start: StartSection = field(
        default_factory=StartSection, metadata={"help": "The SFT model the iterations start from."}
    )
    data: DataSection = field(
        default_factory=DataSection, metadata={"help": "Stage data: conversations to learn from."}
    )
    itool: dict[str, Any] = field(
        default_factory=_default_itool,
        metadata={
            "help": "ITOOLConfig fields (see `ifrl rl itool --help`): iterations, deficiency, "
            "deficiency_fraction, mcts_*, pair_*, loss_type, beta, gamma, max_steps, "
            "learning_rate, use_lora, sft_steps (0: no warm-up), eval_max_new_tokens, device...; "
            "model, data, eval_data and output_dir are set by the recipe."
        },
    )

    def validate(self) -> None:
        if not self.start.toolace_run and not self.start.model:
            raise ConfigError("", "start.model", "give a model or a toolace_run")
        self.itool_config(Path("<run>"), "<model>")

    # Fingerprint views (stage sections): the data and eval-0 stages depend only on these keys,
    # so changing the search or training settings reruns the iterations, not the data.
    @property
    def prep(self) -> dict[str, Any]:
        return {k: v for k, v in self.itool.items() if k in PREP_KEYS}

    @property
    def evaluation(self) -> dict[str, Any]:
        return {k: v for k, v in self.itool.items() if k in EVAL_KEYS}

    @property
    def iterations(self) -> int:
        return int(self.itool.get("iterations", 1))

    def itool_config(self, run_dir: Path, model: str) -> Any:
        """The ``ITOOLConfig`` of this run (errors name ``itool``)."""
        from ifrl.rltrain.itool import ITOOLConfig

        fixed = {
            "model": model,
            "data": str(run_dir / "conversations/train.jsonl"),
            "eval_data": str(run_dir / "conversations/eval.jsonl"),
            "output_dir": str(run_dir),
        }
        return train_config(ITOOLConfig, self.itool, fixed, "itool")


# -- helpers ---------------------------------------------------------------------------------


def start_model(cfg: ItoolConfig) -> str:
    """The starting model directory (builds the tiny model for ``tiny``)."""
    if cfg.start.model == "tiny":
        from ifrl.core.tiny import build_tiny_model

        return str(build_tiny_model(arch="qwen2", seed=0))
    if cfg.start.model:
        return cfg.start.model
    return str(Path(cfg.start.toolace_run) / "sft/model/final")


def _source(cfg: ItoolConfig, which: str) -> Path:
    given = cfg.data.train if which == "train" else cfg.data.eval
    if given:
        return Path(given)
    if not cfg.start.toolace_run:
        raise ConfigError("", f"data.{which}", "required without start.toolace_run")
    run = Path(cfg.start.toolace_run)
    return run / ("sft_train.jsonl" if which == "train" else "eval/heldout_dialogs.jsonl")


def to_conversation(row: dict[str, Any], first_turn: bool) -> dict[str, Any] | None:
    """A JSONL row as an OpenAI ``{messages, tools}`` row (toolgen dialogs converted);
    ``first_turn`` cuts it after its first assistant turn (None when it has none)."""
    from ifrl.toolgen.dialog import DIALOG_TYPES, Dialog
    from ifrl.toolgen.formats import to_openai

    if row.get("type") in DIALOG_TYPES:
        row = to_openai(Dialog.from_json(row))
    if not first_turn:
        return row
    msgs = row.get("messages") or []
    end = next((i for i, m in enumerate(msgs) if m.get("role") == "assistant"), None)
    return None if end is None else {**row, "messages": msgs[: end + 1]}


def _convert(src: Path, dst: Path, first_turn: bool, limit: int) -> int:
    if not src.exists():
        raise ConfigError(str(src), "", "no such file")
    n = 0
    with JSONLWriter(dst) as w:
        for row in read_jsonl(src):
            conv = to_conversation(row, first_turn)
            if conv is None:
                continue
            w.write(conv)
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


def _itool(ctx: StageContext, model: str) -> Any:
    from ifrl.rltrain.itool import ITool

    cfg: ItoolConfig = ctx.config
    return ITool(cfg.itool_config(ctx.run_dir, model))


def _model_before(ctx: StageContext, k: int) -> str:
    """The model iteration ``k`` starts from: the previous iteration's, or the starting one."""
    if k > 1:
        return str(ctx.results[f"simpo-{k - 1}"]["model"])
    if "warmup" in ctx.results and ctx.config.itool.get("sft_steps", 0):
        return str(ctx.results["warmup"]["model"])
    return str(ctx.results["data"]["model"])


def _samples(ctx: StageContext, k: int) -> list[Any]:
    from ifrl.rltrain.deficiency import ToolSample

    return list(read_jsonl(ctx.run_dir / f"iter_{k}/deficiency.jsonl", ToolSample.from_dict))


# -- stages ----------------------------------------------------------------------------------


def stage_data(ctx: StageContext) -> dict[str, Any]:
    cfg: ItoolConfig = ctx.config
    _fresh(ctx, "data", "conversations")
    model = start_model(cfg)
    if not Path(model).exists() and cfg.start.toolace_run:
        raise ConfigError("", "start.toolace_run", f"no SFT model at {model}")
    train = _convert(_source(cfg, "train"), ctx.path("conversations/train.jsonl"), False, 0)
    held = _convert(
        _source(cfg, "eval"), ctx.path("conversations/eval.jsonl"), True, cfg.data.eval_limit
    )
    if not train or not held:
        raise ConfigError("", "data", "no training or no held-out conversations")
    train_s, held_s = _itool(ctx, model).prepare_data()
    return {
        "model": model,
        "train_conversations": train,
        "eval_conversations": held,
        "train_samples": len(train_s),
        "eval_samples": len(held_s),
    }


def stage_warmup(ctx: StageContext) -> dict[str, Any]:
    _fresh(ctx, "warmup")
    model = _itool(ctx, str(ctx.results["data"]["model"])).warmup()
    return {"model": model}


def _held(ctx: StageContext) -> list[Any]:
    from ifrl.rltrain.deficiency import ToolSample

    return list(read_jsonl(ctx.run_dir / "data/eval_samples.jsonl", ToolSample.from_dict))


def stage_eval0(ctx: StageContext) -> dict[str, Any]:
    _fresh(ctx, "iter_0")
    model = _model_before(ctx, 1)
    result = _itool(ctx, model).evaluate_stage(ctx.run_dir / "iter_0", model, _held(ctx))
    return dict(result)


def stage_deficiency(ctx: StageContext, k: int) -> dict[str, Any]:
    from ifrl.rltrain.deficiency import ToolSample

    _fresh(ctx, f"iter_{k}/deficiency", f"iter_{k}/deficiency.jsonl")
    model = _model_before(ctx, k)
    train = list(read_jsonl(ctx.run_dir / "data/train_samples.jsonl", ToolSample.from_dict))
    kept = _itool(ctx, model).select_deficient(ctx.run_dir / f"iter_{k}", model, train, k)
    info = json.loads((ctx.run_dir / f"iter_{k}/deficiency/done.json").read_text("utf-8"))
    return {
        **info,
        "deficient": len(kept),
        "tool_call_samples": sum(bool(s.gold_calls) for s in kept),
    }


def stage_mcts(ctx: StageContext, k: int) -> dict[str, Any]:
    it = f"iter_{k}"
    _fresh(
        ctx,
        f"{it}/mcts",
        f"{it}/baseline",
        f"{it}/collect",
        f"{it}/pairs.jsonl",
        f"{it}/pairs.json",
    )
    model = _model_before(ctx, k)
    tool = _itool(ctx, model)
    searched = [s for s in _samples(ctx, k) if s.gold_calls or tool.config.mcts_text_samples]
    costs = tool.collect(ctx.run_dir / it, model, searched, k)
    return {"searched": len(searched), **costs}


def stage_simpo(ctx: StageContext, k: int) -> dict[str, Any]:
    it = f"iter_{k}"
    _fresh(ctx, f"{it}/simpo", f"{it}/train_pairs.jsonl")
    before = _model_before(ctx, k)
    model, info = _itool(ctx, before).train_preferences(ctx.run_dir / it, before)
    return {**info, "model": model}


def stage_eval(ctx: StageContext, k: int) -> dict[str, Any]:
    _fresh(ctx, f"iter_{k}/eval.json")
    model = str(ctx.results[f"simpo-{k}"]["model"])
    return dict(_itool(ctx, model).evaluate_stage(ctx.run_dir / f"iter_{k}", model, _held(ctx)))


def summary_rows(results: Any, iterations: int) -> list[dict[str, Any]]:
    """One row per iteration (0 = the starting model) from the stages' results."""
    from ifrl.rltrain.itool import summary_row

    rows = []
    for k in range(iterations + 1):
        scores = results["eval-0" if k == 0 else f"eval-{k}"]
        rows.append(
            summary_row(
                k,
                scores.get("model"),
                scores,
                results.get(f"mcts-{k}", {}),
                results.get(f"simpo-{k}", {}),
                results.get(f"deficiency-{k}", {}).get("deficient"),
            )
        )
    return rows


def stage_summary(ctx: StageContext) -> dict[str, Any]:
    cfg: ItoolConfig = ctx.config
    rows = summary_rows(ctx.results, cfg.iterations)
    _itool(ctx, str(ctx.results["data"]["model"])).write_summary(rows)
    first, last = rows[0], rows[-1]
    return {
        "iterations": cfg.iterations,
        "start_accuracy": first["tool_call_accuracy"],
        "final_accuracy": last["tool_call_accuracy"],
        "start_score": first["tool_call_score"],
        "final_score": last["tool_call_score"],
        "rows": rows,
    }


# -- recipe ----------------------------------------------------------------------------------


def _warmup_enabled(cfg: Any) -> bool:
    return int(cfg.itool.get("sft_steps", 0)) > 0


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
            ("warmup/done.json",),
            ("itool",),
            ("data",),
            "warm-up SFT (easy-to-hard)",
            enabled=_warmup_enabled,
        ),
        Stage(
            "eval-0",
            stage_eval0,
            ("iter_0/eval.json",),
            ("evaluation",),
            ("data", "warmup"),
            "held-out tool-call accuracy of the starting model",
        ),
    ]
    prev: tuple[str, ...] = ("data", "warmup")
    for k in range(1, cfg.iterations + 1):
        out += [
            Stage(
                f"deficiency-{k}",
                partial(stage_deficiency, k=k),
                (f"iter_{k}/deficiency.jsonl",),
                ("itool",),
                prev,
                f"iteration {k}: deficient samples",
            ),
            Stage(
                f"mcts-{k}",
                partial(stage_mcts, k=k),
                (f"iter_{k}/pairs.json",),
                ("itool",),
                (f"deficiency-{k}",),
                f"iteration {k}: MCTS preference pairs (+ best-vs-worst baseline)",
            ),
            Stage(
                f"simpo-{k}",
                partial(stage_simpo, k=k),
                (f"iter_{k}/simpo/done.json",),
                ("itool",),
                (f"mcts-{k}",),
                f"iteration {k}: SimPO on the pairs",
            ),
            Stage(
                f"eval-{k}",
                partial(stage_eval, k=k),
                (f"iter_{k}/eval.json",),
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
            ("eval-0", *(f"eval-{k}" for k in range(1, cfg.iterations + 1))),
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

__all__ = ["ItoolConfig", "build", "stages", "summary_rows", "to_conversation"]
