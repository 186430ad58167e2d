"""The ``toolace`` recipe: API pool → dialogs → dual-layer verification → SFT (easy-to-hard
curriculum) → tool-call eval on held-out synthetic tools, before and after SFT.

Held-out tools are APIs generated past the training pool (same generator, later indices) that no
training dialog uses; the eval takes single and parallel dialogs on them (the first user turn is
the prompt, the first assistant turn's calls the gold) and scores greedy outputs through
:func:`ifrl.evals.tool_use.evaluate_tool_calls`: one parse per output, BFCL's AST rules
(``accuracy``, calls written as Hermes ``<tool_call>`` tags, the format the chat template renders
during SFT) and the structured matcher (``score``).

The value of verification can be measured with two arms of equal size: ``dialogs.defect_share``
plants one rule-detectable fault (:mod:`ifrl.toolgen.defects`) into a share of the dialogs, and
``verify.train_on: rejected`` trains on the dialogs that failed verification instead of those
that passed; ``verify.limit`` cuts both to the same number of SFT rows.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, opt
from ifrl.core.errors import IfrlError, RecordError
from ifrl.core.jsonl import JSONLWriter, count_lines, read_jsonl, write_json, write_jsonl
from ifrl.core.records import Conversation, SamplingParams
from ifrl.evals.tool_use import ToolUseCase, evaluate_tool_calls
from ifrl.pipelines.common import (
    ModelSection,
    check_train_section,
    make_generator,
    resolve_model,
    train_config,
)
from ifrl.pipelines.recipe import RECIPES, Recipe, Stage, StageContext
from ifrl.toolgen import (
    DIALOG_TYPES,
    Dialog,
    DialogGenerator,
    Planner,
    ProgrammaticApiGenerator,
    load_apis,
    verify_file,
)
from ifrl.toolgen.defects import DEFECTS, plant

#: The faults ``dialogs.defect_share`` plants, in the fixed order a dialog with no place for the
#: drawn one tries the next: those a rule-layer check catches (a judge-only fault would pass
#: verification and blur the verified/rejected split).
RULE_DEFECTS = tuple(name for name, d in DEFECTS.items() if d.rule_code is not None)
#: The rule codes of those faults that only the grounding checks (``verify.grounding``) raise.
GROUNDING_CODES = ("call.ungrounded_value", "dialog.ungrounded_answer")


class NoTrainingRowsError(IfrlError, ValueError):
    """The verify stage found no rows for SFT in the file ``verify.train_on`` names."""


@dataclass
class ApisSection:
    n: int = opt("APIs in the training pool.", 200)
    heldout: int = opt("Extra APIs generated for the held-out eval (never seen in training).", 40)
    seed: int = opt("Seed of the API generator.", 0)
    max_params: int = opt(
        "Keep only APIs with at most this many parameters (0: any).", 0, minimum=0
    )


@dataclass
class DialogsSection:
    n: int = opt("Dialogs generated on the training pool.", 400)
    seed: int = opt("Seed of the dialog planner.", 0)
    max_tools: int = opt("Tools offered per dialog at most (at least 2).", 2, minimum=2)
    types: tuple[str, ...] = opt(
        "Dialog types to draw (single, parallel, dependent, non_tool, clarify, multi_request, "
        "tool_error); empty: all, in turn.",
        (),
        choices=DIALOG_TYPES,
    )
    defect_share: float = opt(
        "Share of the dialogs (0 to 1) into which one fault that the rule layer catches is "
        "planted after generation (drawn with the seed; see ifrl.toolgen.defects): the failed "
        "dialogs that verify.train_on: rejected trains on.",
        0.0,
        minimum=0.0,
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
    train_on: str = opt(
        "Which dialogs become SFT rows: verified (those that passed) or rejected (those that "
        "failed; plant faults with dialogs.defect_share).",
        "verified",
        choices=("verified", "rejected"),
    )
    limit: int = opt(
        "Keep at most this many SFT rows, the first ones (0: all): equal-sized arms.",
        0,
        minimum=0,
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
    n: int = opt("Held-out tool-call cases.", 40)
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
        default_factory=EvalSection, metadata={"help": "Stage eval: held-out tool-call eval."}
    )

    def validate(self) -> None:
        if self.apis.n < 2 or self.apis.heldout < 2:
            raise ConfigError(
                "", "apis.n", "the pool and the held-out set need at least 2 APIs each"
            )
        if self.dialogs.defect_share > 1:
            raise ConfigError(
                "", "dialogs.defect_share", f"must be at most 1, got {self.dialogs.defect_share!r}"
            )
        if self.dialogs.defect_share > 0 and not self.verify.grounding:
            raise ConfigError(
                "",
                "dialogs.defect_share",
                "some planted faults are caught only by the grounding checks "
                f"({', '.join(GROUNDING_CODES)}): set verify.grounding: true",
            )
        check_train_section(
            sft_config_cls(),
            {
                **self.sft.trainer,
                "curriculum": self.sft.curriculum,
                "curriculum_stages": self.sft.curriculum_stages,
            },
            "sft.trainer",
        )


def sft_config_cls() -> type:
    """``ifrl.rltrain``'s ``SFTConfig`` (imported when a config is checked: it loads torch)."""
    from ifrl.rltrain.sft import SFTConfig  # torch: loaded when a config is checked

    return SFTConfig


# -- stages ----------------------------------------------------------------------------------


def stage_apis(ctx: StageContext) -> dict[str, Any]:
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


def write_dialogs(
    apis_path: Path, n: int, seed: int, max_tools: int, out: Path, types: tuple[str, ...] = ()
) -> dict[str, int]:
    """``n`` programmatic dialogs (of ``types``, else all in turn) on the APIs of ``apis_path``."""
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
    out = ctx.path("dialogs.jsonl")
    result: dict[str, Any] = write_dialogs(
        ctx.run_dir / "apis.jsonl", d.n, d.seed, d.max_tools, out, d.types
    )
    if d.defect_share > 0:
        dialogs = list(read_jsonl(out, Dialog.from_json))
        planted, counts = plant_defects(dialogs, d.defect_share, d.seed)
        write_jsonl(out, [x.to_json() for x in planted])
        result.update(counts)
    return result


def plant_defects(
    dialogs: list[Dialog], share: float, seed: int
) -> tuple[list[Dialog], dict[str, Any]]:
    """``dialogs`` with one fault of :data:`RULE_DEFECTS` planted into ``round(share * n)`` of
    them, and the counts.

    ``random.Random(seed)`` orders the dialogs and draws each one's fault; a dialog with no
    place for the drawn fault tries the next ones in :data:`RULE_DEFECTS`' order (cyclically),
    and one with no place for any stays clean while the next dialog in the order is tried, so
    the share is met whenever enough dialogs have a place. Counts: ``defective`` (planted),
    ``no_place`` (dialogs tried with no place for any fault), ``defects`` (per fault) and
    ``defective_in_first_turn`` (planted dialogs whose rows up to the first assistant turn,
    the rows ``verify.first_turn_only`` keeps, differ from the clean dialog's).
    """
    rng = random.Random(seed)
    want = round(share * len(dialogs))
    out = list(dialogs)
    per: dict[str, int] = {}
    no_place = in_first = done = 0
    for i in rng.sample(range(len(dialogs)), len(dialogs)):
        if done >= want:
            break
        start = rng.randrange(len(RULE_DEFECTS))
        changed: Dialog | None = None
        for name in RULE_DEFECTS[start:] + RULE_DEFECTS[:start]:
            changed = plant(dialogs[i], name, rng)
            if changed is not None:
                break
        if changed is None:
            no_place += 1
            continue
        out[i] = changed
        done += 1
        per[name] = per.get(name, 0) + 1
        in_first += _first_turn_text(changed) != _first_turn_text(dialogs[i])
    counts = {
        "defective": done,
        "no_place": no_place,
        "defective_in_first_turn": in_first,
        "defects": dict(sorted(per.items())),
    }
    return out, counts


def _first_turn_text(d: Dialog) -> str:
    # JSON text, not dict equality: 5 == 5.0 in Python, not in the rendered SFT row.
    row = first_turn(d.conversation().to_openai(arguments_as="object"))
    return json.dumps(row, sort_keys=True)


def first_turn(row: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI ``{messages, tools}`` row cut after its first assistant message."""
    msgs = row["messages"]
    end = next((i for i, m in enumerate(msgs) if m.get("role") == "assistant"), len(msgs) - 1)
    return {**row, "messages": msgs[: end + 1]}


def sft_rows(path: Path, first_turn_only: bool, limit: int) -> tuple[list[dict[str, Any]], int]:
    """SFT rows (OpenAI messages + tools) of the dialogs in ``path`` (``verified.jsonl`` or
    ``rejected.jsonl``, whose rows are the dialog plus ``rejected`` issues and ``line``), at
    most ``limit`` (0: all); and how many lines were skipped because they are no dialog (a
    malformed input line that verification rejected)."""
    rows: list[dict[str, Any]] = []
    skipped = 0
    for raw in read_jsonl(path):
        if limit and len(rows) >= limit:
            break
        try:
            dialog = Dialog.from_json(raw)
        except RecordError:
            skipped += 1
            continue
        row = dialog.conversation().to_openai(arguments_as="object")
        rows.append(first_turn(row) if first_turn_only else row)
    return rows, skipped


def stage_verify(ctx: StageContext) -> dict[str, Any]:
    cfg: ToolaceConfig = ctx.config
    verify_file(
        ctx.run_dir / "dialogs.jsonl",
        ctx.path("verified.jsonl"),
        ctx.path("rejected.jsonl"),
        report=ctx.path("verify_report.md"),
        grounding=cfg.verify.grounding,
        resume=False,
    )
    kept = count_lines(ctx.run_dir / "verified.jsonl")
    rejected = count_lines(ctx.run_dir / "rejected.jsonl")
    v = cfg.verify
    # The SFT rows (OpenAI messages + tools) are written here, on one process, so that a
    # multi-process SFT stage only reads.
    rows, skipped = sft_rows(ctx.run_dir / f"{v.train_on}.jsonl", v.first_turn_only, v.limit)
    if not rows:
        if skipped:
            hint = f"its {skipped} rows are no dialogs (malformed lines of dialogs.jsonl)"
        elif v.train_on == "rejected":
            hint = (
                "no dialog failed verification: set dialogs.defect_share above 0 to plant "
                "faults the rule layer rejects, or verify.train_on: verified"
            )
        else:
            hint = (
                "no dialog passed verification (see verify_report.md): lower "
                "dialogs.defect_share or set verify.train_on: rejected"
            )
        raise NoTrainingRowsError(
            f"verify.train_on: {v.train_on}: no SFT rows ({kept} dialogs kept, {rejected} "
            f"rejected): {hint}"
        )
    write_jsonl(ctx.path("sft_train.jsonl"), rows)
    result: dict[str, Any] = {"kept": kept, "rejected": rejected, "sft_rows": len(rows)}
    if skipped:
        result["sft_skipped"] = skipped
    return result


def train_sft(
    overrides: dict[str, Any], model: str, data: Path, out: Path, resume: bool, echo: Any
) -> tuple[Any, int]:
    """``ifrl.rltrain`` SFT of ``model`` on the rows of ``data`` into ``out`` (``overrides``:
    the ``sft.trainer`` section): it resumes its checkpoints when ``resume``, else starts afresh.
    Returns the trainer's result and the step it resumed from (0: none)."""
    # torch: loaded when a stage trains
    from ifrl.rltrain.checkpoint import latest_checkpoint
    from ifrl.rltrain.sft import SFTConfig, SFTTrainer

    fixed = {"model": model, "data": str(data), "output_dir": str(out), "resume": True}
    scfg = train_config(SFTConfig, overrides, fixed, "sft.trainer")
    if not resume and out.exists() and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        shutil.rmtree(out)  # a new or changed SFT run must not resume an older one's checkpoints
    ckpt = latest_checkpoint(out)
    if ckpt is not None:
        echo(f"    resuming SFT from {ckpt}")
    return SFTTrainer(scfg).train(), int(ckpt.name.split("-")[-1]) if ckpt else 0


def stage_sft(ctx: StageContext) -> dict[str, Any]:
    cfg: ToolaceConfig = ctx.config
    overrides = {
        **cfg.sft.trainer,
        "curriculum": cfg.sft.curriculum,
        "curriculum_stages": cfg.sft.curriculum_stages,
    }
    data, out = ctx.run_dir / "sft_train.jsonl", ctx.path("sft/model")
    result, resumed = train_sft(
        overrides, resolve_model(cfg.model), data, out, ctx.resume, ctx.echo
    )
    return {
        "resumed_from_step": resumed,
        "steps": result.steps,
        "final_loss": result.metrics.get("loss"),
        "final_model": str(result.final_model),
    }


def heldout_cases(dialogs_path: Path, limit: int) -> list[ToolUseCase]:
    """Tool-call cases from single/parallel dialogs: the first user turn (with the dialog's
    tools) is the prompt, the first assistant turn's calls the gold."""
    out: list[ToolUseCase] = []
    for d in read_jsonl(dialogs_path, Dialog.from_json):
        if d.type not in ("single", "parallel"):
            continue
        first = next((m for m in d.messages if m.role == "assistant" and m.tool_calls), None)
        user = next((m for m in d.messages if m.role == "user"), None)
        if first is None or user is None:
            continue
        prompt = Conversation((user,), d.tools)
        out.append(ToolUseCase(f"heldout_{len(out)}", prompt, first.tool_calls))
        if len(out) >= limit:
            break
    return out


def tool_eval(
    generator: Any, cases: list[ToolUseCase], max_new_tokens: int, out: Path
) -> dict[str, Any]:
    """Greedy answers of ``generator`` on ``cases`` through the tool-call evaluation of
    ``ifrl.evals``: ``accuracy`` (BFCL's AST rules), ``exact`` (the structured matcher's exact
    match), ``score`` (its partial credit), ``n``, ``errors`` and 95% intervals; samples to
    ``out``."""
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens, seed=0)
    result, samples = evaluate_tool_calls(cases, generator=generator, params=params, style="hermes")
    write_jsonl(out, samples)
    accuracy, exact, score = (result.metrics[k] for k in ("accuracy", "exact", "score"))
    return {
        "accuracy": accuracy.value,
        "exact": exact.value,
        "score": score.value,
        "n": accuracy.n,
        "errors": result.info["errors"],
        "accuracy_ci95": [accuracy.ci_low, accuracy.ci_high],
        "exact_ci95": [exact.ci_low, exact.ci_high],
        "score_ci95": [score.ci_low, score.ci_high],
    }


def _eval_types(types: tuple[str, ...]) -> tuple[str, ...]:
    """Dialog types for held-out entries: the configured single/parallel ones (else both)."""
    return tuple(t for t in types if t in ("single", "parallel")) or ("single", "parallel")


def stage_eval(ctx: StageContext) -> dict[str, Any]:
    cfg: ToolaceConfig = ctx.config
    types = _eval_types(cfg.dialogs.types)
    held = ctx.path("eval/heldout_dialogs.jsonl")
    write_dialogs(
        ctx.run_dir / "apis_heldout.jsonl",
        cfg.eval.n * 2,
        cfg.eval.seed,
        cfg.dialogs.max_tools,
        held,
        types,
    )
    sets = {"heldout": heldout_cases(held, cfg.eval.n)}
    if cfg.eval.seen_tools:
        seen = ctx.path("eval/seen_dialogs.jsonl")
        # A planner seed the training dialogs never used: new dialogs on the training tools.
        write_dialogs(
            ctx.run_dir / "apis.jsonl",
            cfg.eval.seen_tools * 2,
            cfg.dialogs.seed + 7919,
            cfg.dialogs.max_tools,
            seen,
            types,
        )
        sets["seen"] = heldout_cases(seen, cfg.eval.seen_tools)
    models = {"base": resolve_model(cfg.model), "sft": str(ctx.run_dir / "sft/model/final")}
    result: dict[str, Any] = {}
    for which, model_dir in models.items():
        for name, cases in sets.items():
            key = which if name == "heldout" else f"{which}_{name}"
            suffix = "" if name == "heldout" else f"_{name}"
            result[key] = tool_eval(
                make_generator(cfg.model, model_dir),
                cases,
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
                "seen_sft_score_ci95": result["sft_seen"]["score_ci95"],
                "seen_n": result["base_seen"]["n"],
            }
        )
    return summary


def build() -> Recipe:
    """The ``toolace`` recipe."""
    return Recipe(
        "toolace",
        "API pool → dialogs → dual-layer verification → SFT (easy-to-hard) → tool-call eval on held-out tools",
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
                "tool-call eval (BFCL AST rules, matcher) on held-out tools",
            ),
        ),
    )


RECIPES.add("toolace", build)
