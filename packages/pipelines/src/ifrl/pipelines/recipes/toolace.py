"""The ``toolace`` recipe: API pool → dialogs → dual-layer verification → SFT (easy-to-hard
curriculum) → BFCL-style eval on held-out synthetic tools, before and after SFT.

Held-out tools are APIs generated past the training pool (same generator, later indices) that no
training dialog uses; the eval turns single and parallel dialogs on them into BFCL entries (the
first assistant turn's calls are the ground truth) and scores raw outputs with
``ifrl.evals.bfcl.score_output`` in the ``hermes`` style, the format the chat template renders
tool calls in during SFT.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, opt
from ifrl.core.jsonl import JSONLWriter, count_lines, read_jsonl, write_json
from ifrl.pipelines.common import (
    ModelSection,
    check_train_section,
    make_generator,
    resolve_model,
    train_config,
)
from ifrl.pipelines.recipe import RECIPES, Recipe, Stage, StageContext


@dataclass
class ApisSection:
    n: int = opt("APIs in the training pool.", 200)
    heldout: int = opt("Extra APIs generated for the held-out eval (never seen in training).", 40)
    seed: int = opt("Seed of the API generator.", 0)
    max_params: int = opt("Keep only APIs with at most this many parameters (0: any).", 0)

    def validate(self) -> None:
        if self.max_params < 0:
            raise ConfigError("", "max_params", f"must be >= 0, got {self.max_params}")


@dataclass
class DialogsSection:
    n: int = opt("Dialogs generated on the training pool.", 400)
    seed: int = opt("Seed of the dialog planner.", 0)
    max_tools: int = opt("Tools offered per dialog at most (at least 2).", 2)
    types: tuple[str, ...] = opt(
        "Dialog types to draw (single, parallel, dependent, non_tool, clarify); empty: all, "
        "in turn.",
        (),
    )

    def validate(self) -> None:
        from ifrl.toolgen.dialog import DIALOG_TYPES

        if self.max_tools < 2:
            raise ConfigError("", "max_tools", f"must be at least 2, got {self.max_tools}")
        bad = [t for t in self.types if t not in DIALOG_TYPES]
        if bad:
            raise ConfigError(
                "", "types", f"unknown dialog type {bad[0]!r} (known: {', '.join(DIALOG_TYPES)})"
            )


@dataclass
class VerifySection:
    grounding: bool = opt(
        "Flag argument values found nowhere in the dialog (call.ungrounded_value).", True
    )
    first_turn_only: bool = opt(
        "Write SFT rows only up to the first assistant turn (the tool call, without the tool "
        "response and the final answer): shorter rows for small models.",
        False,
    )


@dataclass
class SFTSection:
    curriculum: str = opt("Easy-to-hard order: loss, tool_calls, length or none.", "loss")
    curriculum_stages: int = opt("Number of difficulty stages.", 3)
    trainer: dict[str, Any] = field(
        default_factory=lambda: {
            "max_steps": 20,
            "per_device_batch_size": 4,
            "learning_rate": 1e-3,
            "save_steps": 5,
            "max_length": 1536,
        },
        metadata={
            "help": "Further SFTConfig fields (see `ifrl rl sft --help`): max_steps, learning_rate, "
            "per_device_batch_size, save_steps, use_lora, ...; model, data and output_dir are set "
            "by the recipe."
        },
    )


@dataclass
class EvalSection:
    n: int = opt("Held-out BFCL-style entries.", 40)
    max_new_tokens: int = opt("Tokens generated per answer.", 96)
    seed: int = opt("Seed of the held-out dialog planner.", 1)
    seen_tools: int = opt(
        "Also evaluate this many new dialogs on the training tools (held-out dialogs, seen "
        "tools; 0: off).",
        0,
    )


@dataclass
class ToolaceConfig:
    """The ``toolace`` recipe's YAML file."""

    model: ModelSection = field(
        default_factory=ModelSection, metadata={"help": "The model to fine-tune and evaluate."}
    )
    apis: ApisSection = field(
        default_factory=ApisSection, metadata={"help": "Stage apis: the synthetic API pool."}
    )
    dialogs: DialogsSection = field(
        default_factory=DialogsSection, metadata={"help": "Stage dialogs: three-agent dialogs."}
    )
    verify: VerifySection = field(
        default_factory=VerifySection, metadata={"help": "Stage verify: dual-layer verification."}
    )
    sft: SFTSection = field(
        default_factory=SFTSection, metadata={"help": "Stage sft: supervised fine-tuning."}
    )
    eval: EvalSection = field(
        default_factory=EvalSection, metadata={"help": "Stage eval: BFCL-style held-out eval."}
    )

    def validate(self) -> None:
        if self.apis.n < 2 or self.apis.heldout < 2:
            raise ConfigError(
                "", "apis.n", "the pool and the held-out set need at least 2 APIs each"
            )
        check_train_section(
            _sft_cls(),
            {
                **self.sft.trainer,
                "curriculum": self.sft.curriculum,
                "curriculum_stages": self.sft.curriculum_stages,
            },
            "sft.trainer",
        )


def _sft_cls() -> type:
    from ifrl.rltrain.sft import SFTConfig

    return SFTConfig


# -- stages ----------------------------------------------------------------------------------


def stage_apis(ctx: StageContext) -> dict[str, Any]:
    from ifrl.toolgen.apis import ProgrammaticApiGenerator

    cfg: ToolaceConfig = ctx.config
    want = cfg.apis.n + cfg.apis.heldout
    if cfg.apis.max_params:
        # Simple APIs are a minority: draw a larger pool and keep the first ``want`` that fit.
        pool = ProgrammaticApiGenerator(seed=cfg.apis.seed).generate(want * 40)
        apis = [a for a in pool if len(a.properties) <= cfg.apis.max_params][:want]
    else:
        apis = list(ProgrammaticApiGenerator(seed=cfg.apis.seed).generate(want))
    if len(apis) < cfg.apis.n + 2:
        raise ConfigError(
            "",
            "apis.n",
            f"the generator made only {len(apis)} APIs"
            + (f" with at most {cfg.apis.max_params} parameters" if cfg.apis.max_params else ""),
        )
    with JSONLWriter(ctx.path("apis.jsonl")) as w:
        for a in apis[: cfg.apis.n]:
            w.write(a)
    with JSONLWriter(ctx.path("apis_heldout.jsonl")) as w:
        for a in apis[cfg.apis.n :]:
            w.write(a)
    return {"train_apis": cfg.apis.n, "heldout_apis": len(apis) - cfg.apis.n}


def _dialogs(
    apis_path: Path, n: int, seed: int, max_tools: int, out: Path, types: tuple[str, ...] = ()
) -> dict[str, int]:
    from ifrl.toolgen.apis import load_apis
    from ifrl.toolgen.dialog import DIALOG_TYPES
    from ifrl.toolgen.dialogs import DialogGenerator, Planner

    planner = Planner(load_apis(apis_path), seed=seed, max_tools=max_tools)
    if types:
        planner.weights = {t: (1.0 if t in types else 0.0) for t in DIALOG_TYPES}
    gen = DialogGenerator(planner)
    made, failed = 0, 0
    with JSONLWriter(out) as w:
        for r in gen.run(range(n)):
            if r.dialog is None:
                failed += 1
                continue
            w.write(r.dialog.to_json())
            made += 1
    return {"dialogs": made, "failed": failed}


def stage_dialogs(ctx: StageContext) -> dict[str, Any]:
    cfg: ToolaceConfig = ctx.config
    d = cfg.dialogs
    return _dialogs(
        ctx.run_dir / "apis.jsonl", d.n, d.seed, d.max_tools, ctx.path("dialogs.jsonl"), d.types
    )


def first_turn(row: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI ``{messages, tools}`` row cut after its first assistant message."""
    msgs = row["messages"]
    end = next((i for i, m in enumerate(msgs) if m.get("role") == "assistant"), len(msgs) - 1)
    return {**row, "messages": msgs[: end + 1]}


def stage_verify(ctx: StageContext) -> dict[str, Any]:
    from ifrl.toolgen.dialog import Dialog
    from ifrl.toolgen.formats import to_openai
    from ifrl.toolgen.verify import verify_file

    cfg: ToolaceConfig = ctx.config
    verify_file(
        ctx.run_dir / "dialogs.jsonl",
        ctx.path("verified.jsonl"),
        ctx.path("rejected.jsonl"),
        report=ctx.path("verify_report.md"),
        grounding=cfg.verify.grounding,
        resume=False,
    )
    # The SFT rows (OpenAI messages + tools) are written here, on one process, so that a
    # multi-process SFT stage only reads.
    with JSONLWriter(ctx.path("sft_train.jsonl")) as w:
        for row in read_jsonl(ctx.run_dir / "verified.jsonl"):
            sft_row = to_openai(Dialog.from_json(row))
            if cfg.verify.first_turn_only:
                sft_row = first_turn(sft_row)
            w.write(sft_row)
    return {
        "kept": count_lines(ctx.run_dir / "verified.jsonl"),
        "rejected": count_lines(ctx.run_dir / "rejected.jsonl"),
    }


def stage_sft(ctx: StageContext) -> dict[str, Any]:
    from ifrl.rltrain.checkpoint import latest_checkpoint
    from ifrl.rltrain.sft import SFTConfig, SFTTrainer

    cfg: ToolaceConfig = ctx.config
    data = ctx.run_dir / "sft_train.jsonl"
    out = ctx.path("sft/model")
    scfg = train_config(
        SFTConfig,
        {
            **cfg.sft.trainer,
            "curriculum": cfg.sft.curriculum,
            "curriculum_stages": cfg.sft.curriculum_stages,
        },
        {
            "model": resolve_model(cfg.model),
            "data": str(data),
            "output_dir": str(out),
            "resume": True,
        },
        "sft.trainer",
    )
    if not ctx.resume and out.exists() and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        shutil.rmtree(out)  # a new or changed SFT run must not resume an older one's checkpoints
    ckpt = latest_checkpoint(out)
    resumed = int(ckpt.name.split("-")[-1]) if ckpt is not None else 0
    if resumed:
        ctx.echo(f"    resuming SFT from {ckpt}")
    result = SFTTrainer(scfg).train()
    return {
        "resumed_from_step": resumed,
        "steps": result.steps,
        "final_loss": result.metrics.get("loss"),
        "final_model": str(result.final_model),
    }


def _bfcl_schema(schema: Any) -> Any:
    """JSON Schema types → BFCL's (object → dict, number → float), recursively."""
    if isinstance(schema, dict):
        out = {k: _bfcl_schema(v) for k, v in schema.items()}
        t = schema.get("type")
        if t == "object":
            out["type"] = "dict"
        elif t == "number":
            out["type"] = "float"
        return out
    if isinstance(schema, list):
        return [_bfcl_schema(v) for v in schema]
    return schema


def _option(value: Any) -> Any:
    """A value as a BFCL ground-truth option: dicts (and lists of dicts) hold option lists."""
    if isinstance(value, dict):
        return {k: [v] for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return [{k: [v] for k, v in x.items()} for x in value]
    return value


def heldout_entries(dialogs_path: Path, limit: int) -> list[tuple[Any, str]]:
    """BFCL entries (with their category) from single/parallel held-out dialogs."""
    from ifrl.evals.bfcl.data import BFCLEntry
    from ifrl.toolgen.dialog import Dialog

    out: list[tuple[Any, str]] = []
    for row in read_jsonl(dialogs_path):
        d = Dialog.from_json(row)
        if d.type not in ("single", "parallel"):
            continue
        first = next((m for m in d.messages if m.role == "assistant" and m.tool_calls), None)
        user = next((m for m in d.messages if m.role == "user"), None)
        if first is None or user is None:
            continue
        functions = [
            {"name": t.name, "description": t.description, "parameters": _bfcl_schema(t.parameters)}
            for t in d.tools
        ]
        truth = []
        for call in first.tool_calls:
            api = d.tool(call.name)
            props = api.parameters.get("properties", {}) if api else {}
            answer: dict[str, list[Any]] = {k: [_option(v)] for k, v in call.arguments.items()}
            for p in props:
                answer.setdefault(p, [""])
            truth.append({call.name: answer})
        category = (
            "parallel" if len(truth) > 1 else ("multiple" if len(functions) > 1 else "simple")
        )
        entry = BFCLEntry(
            f"heldout_{len(out)}", [[{"role": "user", "content": user.content}]], functions, truth
        )
        out.append((entry, category))
        if len(out) >= limit:
            break
    return out


def _value(option: Any) -> Any:
    """Back from a ground-truth option (see :func:`_option`) to the value."""
    if isinstance(option, dict):
        return {k: v[0] for k, v in option.items()}
    if isinstance(option, list) and option and all(isinstance(x, dict) for x in option):
        return [_value(x) for x in option]
    return option


def gold_calls(entry: Any) -> list[Any]:
    """The ground-truth calls of a held-out entry (first option of each argument, unset ones
    left out), for the structured matcher's partial score."""
    from ifrl.core.records import ToolCall

    return [
        ToolCall(name, {k: _value(v[0]) for k, v in args.items() if v != [""]})
        for gt in entry.ground_truth
        for name, args in gt.items()
    ]


def bfcl_accuracy(
    model_dir: str,
    section: ModelSection,
    entries: list[tuple[Any, str]],
    max_new_tokens: int,
    out: Path,
) -> dict[str, Any]:
    """Greedy answers of ``model_dir`` on ``entries`` scored by the BFCL checker (``accuracy``)
    and by the structured matcher of ``ifrl.rltrain`` (``score``: partial credit for the right
    function, argument names and values); samples to ``out``."""
    from ifrl.core.matcher import match_text
    from ifrl.core.records import SamplingParams
    from ifrl.evals.bfcl.prompts import build_prompt
    from ifrl.evals.bfcl.score import score_output

    gen = make_generator(section, model_dir)
    convs = [build_prompt(e, "hermes") for e, _ in entries]
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens, seed=0)
    outs = gen.generate(convs, params)
    passed = 0
    partial = 0.0
    errors: dict[str, int] = {}
    with JSONLWriter(out) as w:
        for (entry, cat), comps in zip(entries, outs):
            text = comps[0].text
            res = score_output(entry, text, cat, style="hermes")
            match = match_text(text, gold_calls(entry))
            passed += res.valid
            partial += match.score
            if not res.valid:
                errors[res.error_type] = errors.get(res.error_type, 0) + 1
            w.write(
                {
                    "id": entry.id,
                    "category": cat,
                    "output": text,
                    "valid": res.valid,
                    "error_type": res.error_type,
                    "score": match.score,
                    "match": match.reason,
                }
            )
    n = len(entries)
    return {
        "accuracy": passed / n if n else 0.0,
        "score": partial / n if n else 0.0,
        "n": n,
        "errors": errors,
    }


def _eval_types(types: tuple[str, ...]) -> tuple[str, ...]:
    """Dialog types for held-out entries: the configured single/parallel ones (else both)."""
    return tuple(t for t in types if t in ("single", "parallel")) or ("single", "parallel")


def stage_eval(ctx: StageContext) -> dict[str, Any]:
    cfg: ToolaceConfig = ctx.config
    types = _eval_types(cfg.dialogs.types)
    held = ctx.path("eval/heldout_dialogs.jsonl")
    _dialogs(
        ctx.run_dir / "apis_heldout.jsonl",
        cfg.eval.n * 2,
        cfg.eval.seed,
        cfg.dialogs.max_tools,
        held,
        types,
    )
    sets = {"heldout": heldout_entries(held, cfg.eval.n)}
    if cfg.eval.seen_tools:
        seen = ctx.path("eval/seen_dialogs.jsonl")
        # A planner seed the training dialogs never used: new dialogs on the training tools.
        _dialogs(
            ctx.run_dir / "apis.jsonl",
            cfg.eval.seen_tools * 2,
            cfg.dialogs.seed + 7919,
            cfg.dialogs.max_tools,
            seen,
            types,
        )
        sets["seen"] = heldout_entries(seen, cfg.eval.seen_tools)
    models = {"base": resolve_model(cfg.model), "sft": str(ctx.run_dir / "sft/model/final")}
    result: dict[str, Any] = {}
    for which, model_dir in models.items():
        for name, entries in sets.items():
            key = which if name == "heldout" else f"{which}_{name}"
            suffix = "" if name == "heldout" else f"_{name}"
            result[key] = bfcl_accuracy(
                model_dir,
                cfg.model,
                entries,
                cfg.eval.max_new_tokens,
                ctx.path(f"eval/{which}{suffix}_samples.jsonl"),
            )
    write_json(ctx.path("eval/results.json"), result)
    summary = {
        "base_accuracy": result["base"]["accuracy"],
        "sft_accuracy": result["sft"]["accuracy"],
        "base_score": result["base"]["score"],
        "sft_score": result["sft"]["score"],
        "n": result["base"]["n"],
    }
    if "seen" in sets:
        summary.update(
            {
                "seen_base_accuracy": result["base_seen"]["accuracy"],
                "seen_sft_accuracy": result["sft_seen"]["accuracy"],
                "seen_base_score": result["base_seen"]["score"],
                "seen_sft_score": result["sft_seen"]["score"],
                "seen_n": result["base_seen"]["n"],
            }
        )
    return summary


def build() -> Recipe:
    """The ``toolace`` recipe."""
    return Recipe(
        "toolace",
        "API pool → dialogs → dual-layer verification → SFT (easy-to-hard) → BFCL-style eval on held-out tools",
        ToolaceConfig,
        (
            Stage(
                "apis",
                stage_apis,
                ("apis.jsonl", "apis_heldout.jsonl"),
                ("apis",),
                (),
                "synthetic API pool",
            ),
            Stage(
                "dialogs",
                stage_dialogs,
                ("dialogs.jsonl",),
                ("dialogs",),
                ("apis",),
                "three-agent dialogs",
            ),
            Stage(
                "verify",
                stage_verify,
                ("verified.jsonl", "rejected.jsonl", "sft_train.jsonl"),
                ("verify",),
                ("dialogs",),
                "rule-layer verification",
            ),
            Stage(
                "sft",
                stage_sft,
                ("sft/model/final",),
                ("model", "sft"),
                ("verify",),
                "SFT with the easy-to-hard curriculum",
                distributed=True,
            ),
            Stage(
                "eval",
                stage_eval,
                ("eval/results.json",),
                ("model", "eval", "apis", "dialogs"),
                ("sft",),
                "BFCL-style eval on held-out tools",
            ),
        ),
    )


RECIPES.add("toolace", build)
