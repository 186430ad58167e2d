"""The ``toolace-dev`` recipe: ToolACE-DEV self-evolution (arXiv 2505.07512), round by round.

Stages: ``data`` (unlabeled queries, the seed data's sub-task rows and held-out dialogs: from
files, or synthesized with ``ifrl.toolgen``), ``eval-base`` (held-out tool-call eval of the
starting model), ``sft-0`` (sub-task SFT: the seed rows' tool documentation, query → tools and
invocation tasks, through ``ifrl.rltrain`` SFT) and ``eval-0``, then for every round ``r``:
``round-r`` (the model samples tool proposals for its slice of the queries, samples ``k``
invocations with each, keeps the majority, drops rule failures and ungrounded proposals, keeps
abstentions: ``round_r/train.jsonl`` and ``round_r/stats.json``), ``sft-r`` (fine-tunes on those
rows) and ``eval-r``; finally ``summary`` (``rounds.jsonl``: per round the survival statistics,
the model after it and its held-out scores; ``heldout.jsonl``: every evaluation in order). The
SFT and eval stages run with ``sft.enabled``. Each eval reports ``accuracy`` (BFCL's AST rules),
``exact`` (the structured matcher's exact match) and ``score`` (its partial credit), with ``n``
and 95% intervals, through :func:`ifrl.evals.tool_use.evaluate_tool_calls`.

The per-round transformations are :mod:`ifrl.toolgen`'s (:func:`~ifrl.toolgen.run_round`,
:func:`~ifrl.toolgen.build_subtasks`); this module owns the loop, the run directory and resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, opt
from ifrl.core.jsonl import read_jsonl, write_json, write_jsonl
from ifrl.pipelines.common import (
    ModelSection,
    check_train_section,
    make_generator,
    resolve_model,
)
from ifrl.pipelines.recipe import RECIPES, Echo, Recipe, RecipeError, Stage, StageContext
from ifrl.pipelines.recipes.toolace import (
    heldout_cases,
    sft_config_cls,
    tool_eval,
    train_sft,
    write_dialogs,
)
from ifrl.toolgen import (
    Dialog,
    ProgrammaticApiGenerator,
    RoundConfig,
    RoundStats,
    build_subtasks,
    read_queries,
    run_round,
)

TYPES = ("single", "parallel")


@dataclass
class DataSection:
    queries: str = opt(
        "JSONL of unlabeled queries ({'query': ...} per line); empty: the first user turns of "
        "synthetic dialogs.",
        "",
    )
    seed_data: str = opt(
        "Dialogs JSONL whose sub-task rows the sub-task SFT (sft-0) trains on; empty: the first "
        "seed_dialogs synthetic dialogs when the queries are synthetic, else none.",
        "",
    )
    eval_data: str = opt(
        "Held-out dialogs JSONL (single and parallel ones are evaluated); empty: synthetic "
        "dialogs on held-out APIs.",
        "",
    )
    apis: int = opt("Synthetic APIs of the pool the synthetic dialogs use.", 40)
    heldout_apis: int = opt("Synthetic held-out APIs (for the synthetic eval dialogs).", 12)
    dialogs: int = opt("Synthetic single/parallel dialogs (on the pool, and held out).", 40)
    seed_dialogs: int = opt("How many of the synthetic dialogs are seed data.", 10)
    seed: int = opt("Seed of the synthetic APIs and dialogs.", 0)

    def validate(self) -> None:
        if not self.queries and not 0 <= self.seed_dialogs < self.dialogs:
            raise ConfigError(
                "", "seed_dialogs", "must leave some of the synthetic dialogs as queries"
            )
        if self.apis < 2 or self.heldout_apis < 2:
            raise ConfigError("", "apis", "the pool and the held-out APIs need at least 2 each")


@dataclass
class EvolveSection(RoundConfig):
    rounds: int = opt("Number of self-evolution rounds.", 3, minimum=1)
    reuse_queries: bool = opt("Use all queries every round (else a new slice per round).", False)


def _default_trainer() -> dict[str, Any]:
    return {"max_steps": 20, "per_device_batch_size": 4, "learning_rate": 2e-5, "max_length": 512}


@dataclass
class SFTSection:
    enabled: bool = opt(
        "Fine-tune on each round's rows through ifrl.rltrain SFT (false: only collect data).",
        True,
    )
    trainer: dict[str, Any] = field(
        default_factory=_default_trainer,
        metadata={
            "help": "SFTConfig fields (see `ifrl rl sft --help`): max_steps, learning_rate, "
            "per_device_batch_size, max_length, use_lora, ...; model, data and output_dir are "
            "set by the recipe."
        },
    )


@dataclass
class EvalSection:
    n: int = opt("Held-out tool-call cases evaluated after each round.", 40)
    max_new_tokens: int = opt("Tokens generated per answer.", 96)


@dataclass
class ToolaceDevConfig:
    """The ``toolace-dev`` recipe's YAML file."""

    model: ModelSection = field(
        default_factory=ModelSection, metadata={"help": "The model that improves itself."}
    )
    data: DataSection = field(
        default_factory=DataSection,
        metadata={"help": "Stage data: queries, seed data and held-out dialogs."},
    )
    evolve: EvolveSection = field(
        default_factory=EvolveSection,
        metadata={"help": "Stages round-r: propose, sample, vote, filter."},
    )
    sft: SFTSection = field(
        default_factory=SFTSection, metadata={"help": "Stages sft-r: fine-tuning per round."}
    )
    eval: EvalSection = field(
        default_factory=EvalSection, metadata={"help": "Stages eval-r: held-out tool-call eval."}
    )

    def validate(self) -> None:
        if self.sft.enabled:
            check_train_section(sft_config_cls(), dict(self.sft.trainer), "sft.trainer")


# -- helpers ---------------------------------------------------------------------------------


def finetune(
    cfg: ToolaceDevConfig, model: str, data: Path, out: Path, resume: bool, echo: Echo
) -> str:
    """``model`` fine-tuned on the rows of ``data`` through ``ifrl.rltrain`` SFT (in ``out``);
    returns the new model's directory."""
    result, _ = train_sft(cfg.sft.trainer, model, data, out, resume, echo)
    if result.final_model is None:
        raise RecipeError(f"{out}: the SFT run saved no final model")
    return str(result.final_model)


def _model_before(ctx: StageContext, r: int) -> str:
    """The model stage ``r`` starts from: the starting one for ``r == 0`` (and everywhere
    without SFT), else the one ``sft-{r-1}`` left."""
    if r > 0 and ctx.config.sft.enabled:
        return str(ctx.results[f"sft-{r - 1}"]["model"])
    return str(ctx.results["data"]["model"])


def _model_after(ctx: StageContext, r: int) -> str:
    return (
        str(ctx.results[f"sft-{r}"]["model"]) if ctx.config.sft.enabled else _model_before(ctx, 0)
    )


def _synthesize(ctx: StageContext) -> tuple[Path, Path, Path]:
    """Synthetic single/parallel dialogs on a pool (seed data first, then the queries' first
    user turns) and on held-out APIs: the queries, seed and held-out files."""
    d: DataSection = ctx.config.data
    apis = list(ProgrammaticApiGenerator(seed=d.seed).generate(d.apis + d.heldout_apis))
    write_jsonl(ctx.path("data/apis.jsonl"), apis[: d.apis])
    write_jsonl(ctx.path("data/apis_heldout.jsonl"), apis[d.apis :])
    train, held = ctx.path("data/dialogs.jsonl"), ctx.path("data/dialogs_heldout.jsonl")
    write_dialogs(ctx.run_dir / "data/apis.jsonl", d.dialogs, d.seed, 3, train, TYPES)
    write_dialogs(ctx.run_dir / "data/apis_heldout.jsonl", d.dialogs, d.seed + 1, 3, held, TYPES)
    dialogs = list(read_jsonl(train, Dialog.from_json))
    seed = ctx.path("data/seed_dialogs.jsonl")
    write_jsonl(seed, (x.to_json() for x in dialogs[: d.seed_dialogs]))
    queries = ctx.path("data/synthetic_queries.jsonl")
    rest = dialogs[d.seed_dialogs :]
    write_jsonl(queries, ({"query": x.conversation().last_user_text} for x in rest))
    return queries, seed, held


# -- stages ----------------------------------------------------------------------------------


def stage_data(ctx: StageContext) -> dict[str, Any]:
    d: DataSection = ctx.config.data
    queries = Path(d.queries) if d.queries else None
    seed = Path(d.seed_data) if d.seed_data else None
    held = Path(d.eval_data) if d.eval_data else None
    if queries is None or held is None:
        synthetic = _synthesize(ctx)
        if queries is None:
            queries, seed = synthetic[0], seed or synthetic[1]
        held = held or synthetic[2]
    found = read_queries(queries)
    rows = build_subtasks(list(read_jsonl(seed, Dialog.from_json))) if seed else []
    write_jsonl(ctx.path("data/queries.jsonl"), ({"query": q} for q in found))
    write_jsonl(ctx.path("data/seed_rows.jsonl"), rows)
    write_jsonl(ctx.path("data/eval_dialogs.jsonl"), read_jsonl(held))
    return {"model": resolve_model(ctx.config.model), "queries": len(found), "seed_rows": len(rows)}


def stage_eval(ctx: StageContext, r: int | None) -> dict[str, Any]:
    """The held-out eval of the model after stage ``sft-r`` (``None``: the starting model)."""
    cfg: ToolaceDevConfig = ctx.config
    model = _model_before(ctx, 0) if r is None else _model_after(ctx, r)
    where = "base" if r is None else f"round_{r}"
    cases = heldout_cases(ctx.run_dir / "data/eval_dialogs.jsonl", cfg.eval.n)
    result = tool_eval(
        make_generator(cfg.model, model),
        cases,
        cfg.eval.max_new_tokens,
        ctx.path(f"{where}/eval/samples.jsonl"),
    )
    write_json(ctx.path(f"{where}/eval/results.json"), result)
    return {**result, "model": model}


def stage_round(ctx: StageContext, r: int) -> dict[str, Any]:
    cfg: ToolaceDevConfig = ctx.config
    queries = read_queries(ctx.run_dir / "data/queries.jsonl")
    if not cfg.evolve.reuse_queries:
        size = -(-len(queries) // cfg.evolve.rounds)
        queries = queries[(r - 1) * size : r * size]
    model = _model_before(ctx, r)
    stats, rows = run_round(make_generator(cfg.model, model), queries, cfg.evolve, r)
    stats.rows, stats.model = len(rows), model
    write_jsonl(ctx.path(f"round_{r}/train.jsonl"), rows)
    write_json(ctx.path(f"round_{r}/stats.json"), stats.to_dict())
    ctx.echo(
        f"    round {r}: {stats.survived}/{stats.queries} queries survived, "
        f"{stats.abstained} abstained, {stats.rows} rows; "
        + ", ".join(f"{k}={v}" for k, v in stats.reasons.most_common())
    )
    return stats.to_dict()


def stage_sft(ctx: StageContext, r: int) -> dict[str, Any]:
    """``sft-0`` trains on the seed data's sub-task rows, ``sft-r`` on round ``r``'s rows."""
    before = _model_before(ctx, r)
    if r == 0:
        data = ctx.run_dir / "data/seed_rows.jsonl"
        has_rows = bool(ctx.results["data"]["seed_rows"])
    else:
        data = ctx.run_dir / f"round_{r}/train.jsonl"
        has_rows = bool(ctx.results[f"round-{r}"]["training_rows"])
    if has_rows:
        out = ctx.run_dir / f"round_{r}/model"
        model, skipped = finetune(ctx.config, before, data, out, ctx.resume, ctx.echo), False
    else:
        model, skipped = before, True
    result = {"model": model, "skipped_no_data": skipped}
    write_json(ctx.path(f"round_{r}/sft.json"), result)
    return result


def _scores(result: Mapping[str, Any]) -> dict[str, Any]:
    return {k: result.get(k) for k in ("accuracy", "exact", "score", "n")}


def round_rows(ctx: StageContext) -> list[dict[str, Any]]:
    """One ``rounds.jsonl`` row per round: its statistics, the model after it (an SFT skipped
    for want of data is counted as ``finetune_skipped_no_data``) and its held-out eval."""
    rows = []
    for r in range(1, ctx.config.evolve.rounds + 1):
        stats = RoundStats.from_dict(ctx.results[f"round-{r}"])
        stats.model = _model_after(ctx, r)
        if ctx.results.get(f"sft-{r}", {}).get("skipped_no_data"):
            stats.reasons["finetune_skipped_no_data"] += 1
        rows.append({**stats.to_dict(), **_scores(ctx.results.get(f"eval-{r}", {}))})
    return rows


def stage_summary(ctx: StageContext) -> dict[str, Any]:
    rows = round_rows(ctx)
    write_jsonl(ctx.path("rounds.jsonl"), rows)
    names = ["eval-base", *(f"eval-{r}" for r in range(ctx.config.evolve.rounds + 1))]
    heldout = [
        {"stage": name, "model": ctx.results[name]["model"], **_scores(ctx.results[name])}
        for name in names
        if name in ctx.results
    ]
    write_jsonl(ctx.path("heldout.jsonl"), heldout)
    start, last = ctx.results["eval-base"], heldout[-1]
    return {
        "rounds": len(rows),
        "start_accuracy": start["accuracy"],
        "final_accuracy": last["accuracy"],
        "start_exact": start["exact"],
        "final_exact": last["exact"],
        "start_score": start["score"],
        "final_score": last["score"],
        "accuracy_by_stage": {h["stage"]: h["accuracy"] for h in heldout},
        "survived": [row["survived"] for row in rows],
        "abstained": [row["abstained"] for row in rows],
        "training_rows": [row["training_rows"] for row in rows],
    }


# -- recipe ----------------------------------------------------------------------------------


def _sft_enabled(cfg: Any) -> bool:
    return bool(cfg.sft.enabled)


def stages(cfg: ToolaceDevConfig) -> tuple[Stage, ...]:
    """The stages of ``cfg``: data, the base eval, the sub-task SFT and its eval, then three
    per round."""
    out = [
        Stage(
            "data",
            stage_data,
            ("data/queries.jsonl", "data/seed_rows.jsonl", "data/eval_dialogs.jsonl"),
            ("data", "model"),
            (),
            "queries, seed rows and held-out dialogs",
        ),
        Stage(
            "eval-base",
            partial(stage_eval, r=None),
            ("base/eval/results.json",),
            ("model", "eval"),
            ("data",),
            "held-out tool-call eval of the starting model",
        ),
        Stage(
            "sft-0",
            partial(stage_sft, r=0),
            ("round_0/sft.json",),
            ("model", "sft"),
            ("data",),
            "sub-task SFT on the seed rows (tool docs, query → tools, invocation)",
            enabled=_sft_enabled,
            distributed=True,
        ),
        Stage(
            "eval-0",
            partial(stage_eval, r=0),
            ("round_0/eval/results.json",),
            ("model", "eval"),
            ("data", "sft-0"),
            "held-out tool-call eval after the sub-task SFT",
            enabled=_sft_enabled,
        ),
    ]
    for r in range(1, cfg.evolve.rounds + 1):
        out += [
            Stage(
                f"round-{r}",
                partial(stage_round, r=r),
                (f"round_{r}/train.jsonl", f"round_{r}/stats.json"),
                ("model", "evolve"),
                ("data", f"sft-{r - 1}"),
                f"round {r}: sample tool proposals, invocations, vote, filter, ground",
            ),
            Stage(
                f"sft-{r}",
                partial(stage_sft, r=r),
                (f"round_{r}/sft.json",),
                ("model", "sft"),
                (f"round-{r}",),
                f"round {r}: SFT on the surviving rows",
                enabled=_sft_enabled,
                distributed=True,
            ),
            Stage(
                f"eval-{r}",
                partial(stage_eval, r=r),
                (f"round_{r}/eval/results.json",),
                ("model", "eval"),
                ("data", f"sft-{r}"),
                f"round {r}: held-out tool-call eval",
                enabled=_sft_enabled,
            ),
        ]
    out.append(
        Stage(
            "summary",
            stage_summary,
            ("rounds.jsonl", "heldout.jsonl"),
            (),
            tuple(s.name for s in out),
            "rounds.jsonl and heldout.jsonl: survival, model and held-out scores",
        )
    )
    return tuple(out)


def build() -> Recipe:
    """The ``toolace-dev`` recipe."""
    return Recipe(
        "toolace-dev",
        "ToolACE-DEV: sub-task SFT, then per round sampled tool proposals → k invocations → "
        "majority vote → rule and grounding filter → SFT → held-out tool-call eval",
        ToolaceDevConfig,
        stages(ToolaceDevConfig()),
        expand=stages,
    )


RECIPES.add("toolace-dev", build)

__all__ = ["ToolaceDevConfig", "build", "finetune", "round_rows", "stages"]
