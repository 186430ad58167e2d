"""The ``toolace`` recipe: API pool → dialogs → dual-layer verification → SFT (easy-to-hard
curriculum) → BFCL-style eval on held-out synthetic tools, before and after SFT.

Held-out tools are APIs generated past the training pool (same generator, later indices) that no
training dialog uses; the eval turns single and parallel dialogs on them into BFCL entries (the
first assistant turn's calls are the ground truth) and scores raw outputs with
``ifrl.evals.bfcl.score_output`` in the ``hermes`` style, the format the chat template renders
tool calls in during SFT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifrl.core.jsonl import JSONLWriter, count_lines, read_jsonl, write_json
from ifrl.pipelines.common import (
    ModelSection,
    check_train_section,
    make_generator,
    resolve_model,
    train_config,
)
from ifrl.pipelines.config import PipelineConfigError, opt
from ifrl.pipelines.recipe import RECIPES, Recipe, Stage, StageContext


@dataclass
class ApisSection:
    n: int = opt("APIs in the training pool.", 200)
    heldout: int = opt("Extra APIs generated for the held-out eval (never seen in training).", 40)
    seed: int = opt("Seed of the API generator.", 0)


@dataclass
class DialogsSection:
    n: int = opt("Dialogs generated on the training pool.", 400)
    seed: int = opt("Seed of the dialog planner.", 0)
    max_tools: int = opt("Tools offered per dialog at most (at least 2).", 2)

    def validate(self) -> None:
        if self.max_tools < 2:
            raise PipelineConfigError(f"max_tools: must be at least 2, got {self.max_tools}")


@dataclass
class VerifySection:
    grounding: bool = opt(
        "Flag argument values found nowhere in the dialog (call.ungrounded_value).", True
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
            raise PipelineConfigError(
                "apis.n: the pool and the held-out set need at least 2 APIs each"
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
    apis = list(
        ProgrammaticApiGenerator(seed=cfg.apis.seed).generate(cfg.apis.n + cfg.apis.heldout)
    )
    if len(apis) < cfg.apis.n + 2:
        raise PipelineConfigError(f"apis.n: the generator made only {len(apis)} APIs")
    with JSONLWriter(ctx.path("apis.jsonl")) as w:
        for a in apis[: cfg.apis.n]:
            w.write(a)
    with JSONLWriter(ctx.path("apis_heldout.jsonl")) as w:
        for a in apis[cfg.apis.n :]:
            w.write(a)
    return {"train_apis": cfg.apis.n, "heldout_apis": len(apis) - cfg.apis.n}


def _dialogs(apis_path: Path, n: int, seed: int, max_tools: int, out: Path) -> dict[str, int]:
    from ifrl.toolgen.apis import load_apis
    from ifrl.toolgen.dialogs import DialogGenerator, Planner

    gen = DialogGenerator(Planner(load_apis(apis_path), seed=seed, max_tools=max_tools))
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
    return _dialogs(ctx.run_dir / "apis.jsonl", d.n, d.seed, d.max_tools, ctx.path("dialogs.jsonl"))


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
            w.write(to_openai(Dialog.from_json(row)))
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


def bfcl_accuracy(
    model_dir: str,
    section: ModelSection,
    entries: list[tuple[Any, str]],
    max_new_tokens: int,
    out: Path,
) -> dict[str, Any]:
    """Greedy answers of ``model_dir`` on ``entries`` scored by the BFCL checker; samples to ``out``."""
    from ifrl.core.records import SamplingParams
    from ifrl.evals.bfcl.prompts import build_prompt
    from ifrl.evals.bfcl.score import score_output

    gen = make_generator(section, model_dir)
    convs = [build_prompt(e, "hermes") for e, _ in entries]
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens, seed=0)
    outs = gen.generate(convs, params)
    passed = 0
    errors: dict[str, int] = {}
    with JSONLWriter(out) as w:
        for (entry, cat), comps in zip(entries, outs):
            text = comps[0].text
            res = score_output(entry, text, cat, style="hermes")
            passed += res.valid
            if not res.valid:
                errors[res.error_type] = errors.get(res.error_type, 0) + 1
            w.write(
                {
                    "id": entry.id,
                    "category": cat,
                    "output": text,
                    "valid": res.valid,
                    "error_type": res.error_type,
                }
            )
    n = len(entries)
    return {"accuracy": passed / n if n else 0.0, "n": n, "errors": errors}


def stage_eval(ctx: StageContext) -> dict[str, Any]:
    cfg: ToolaceConfig = ctx.config
    held = ctx.path("eval/heldout_dialogs.jsonl")
    _dialogs(
        ctx.run_dir / "apis_heldout.jsonl",
        cfg.eval.n * 3,
        cfg.eval.seed,
        cfg.dialogs.max_tools,
        held,
    )
    entries = heldout_entries(held, cfg.eval.n)
    base = bfcl_accuracy(
        resolve_model(cfg.model),
        cfg.model,
        entries,
        cfg.eval.max_new_tokens,
        ctx.path("eval/base_samples.jsonl"),
    )
    tuned = bfcl_accuracy(
        str(ctx.run_dir / "sft/model/final"),
        cfg.model,
        entries,
        cfg.eval.max_new_tokens,
        ctx.path("eval/sft_samples.jsonl"),
    )
    result = {"base": base, "sft": tuned}
    write_json(ctx.path("eval/results.json"), result)
    return {"base_accuracy": base["accuracy"], "sft_accuracy": tuned["accuracy"], "n": base["n"]}


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
