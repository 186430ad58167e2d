"""The ``if-rlvr`` recipe: seed prompts → synthesize hard-constraint prompts → optional judge
audit and refinement → GRPO → IFEval eval on held-out synthesized prompts; or, with
``arms.names`` set, the experiment of :mod:`ifrl.pipelines.recipes.ifrlvr_arms` (hard-only vs
mixed hard + judged constraints under simulated and real judges, over seeds).

Every file of prompts (``train.jsonl``, ``heldout.jsonl``, ``refined.jsonl``) is IFEval rows
written and read by the constraints codec. GRPO's reward is the hard verifiers' share of
constraints met (``reward: hard``) or the share a ``NoisyJudge`` says are met (``reward:
noisy_judge``, a ``JudgedReward`` whose judge sees every constraint); either way the hard
verifiers' reward is logged beside it with weight 0 (``reward/...`` in ``grpo/metrics.jsonl``),
so the judge's reward and the true compliance can be compared step by step. The held-out eval
is ``ifrl.evals``' IFEval benchmark: strict and loose accuracies with 95% intervals, before and
after GRPO.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifrl.constraints import (
    ConstrainedPrompt,
    ConstraintReward,
    JudgedReward,
    NoisyJudge,
    RefineConfig,
    read_prompts,
    refine,
    row_key,
    run_audit,
    strict_fraction,
    synthesize,
    training_row,
    write_prompts,
)
from ifrl.core.config import ConfigError, opt
from ifrl.core.errors import JSONLError
from ifrl.core.generation import Prompt
from ifrl.core.jsonl import JSONLWriter, read_jsonl, write_json, write_text
from ifrl.core.records import SamplingParams
from ifrl.core.stats import Metric
from ifrl.evals import get_benchmark, run
from ifrl.pipelines.common import (
    ModelSection,
    check_train_section,
    make_generator,
    resolve_model,
    train_config,
)
from ifrl.pipelines.recipe import RECIPES, Recipe, Stage, StageContext
from ifrl.pipelines.recipes.ifrlvr_arms import (
    ArmsSection,
    HackableSection,
    LLMJudgeSection,
    RefineSection,
    arm_stages,
)

SEED_TOPICS = (
    "the ocean",
    "a mountain village",
    "electric cars",
    "the history of tea",
    "a rainy day",
    "learning to swim",
    "the moon landing",
    "city gardens",
    "a lost key",
    "winter birds",
    "public libraries",
    "a bicycle trip",
    "volcanoes",
    "street food",
    "the first computer",
    "a lighthouse keeper",
    "coral reefs",
    "train travel",
    "honey bees",
    "a chess game",
    "desert plants",
    "a school play",
    "the northern lights",
    "recycling",
    "a jazz concert",
    "old maps",
    "a thunderstorm",
    "space telescopes",
    "bread baking",
    "a marathon",
    "forest fires",
    "a museum visit",
    "glaciers",
    "paper airplanes",
    "a night market",
    "wind turbines",
    "a fishing boat",
    "snow leopards",
    "a family recipe",
    "solar eclipses",
)
SEED_FORMS = (
    "Write a short note about {t}.",
    "Describe {t}.",
    "Tell me about {t}.",
    "Write a paragraph on {t}.",
)


def builtin_seeds(n: int, seed: int) -> list[str]:
    """``n`` seed prompts from topic × form templates, shuffled with ``seed``."""
    prompts = [f.format(t=t) for t in SEED_TOPICS for f in SEED_FORMS]
    random.Random(seed).shuffle(prompts)
    if n > len(prompts):
        raise ConfigError("", "seeds.n", f"at most {len(prompts)} built-in seeds, asked {n}")
    return prompts[:n]


@dataclass
class SeedsSection:
    path: str = opt('JSONL of seed prompts ({"prompt": ...}); empty uses the built-in seeds.', "")
    n: int = opt("Seed prompts to use.", 48, minimum=1)
    seed: int = opt("Shuffle seed.", 0)


@dataclass
class SynthesizeSection:
    min_constraints: int = opt("Fewest constraints per prompt.", 1)
    max_constraints: int = opt("Most constraints per prompt.", 2)
    types: tuple[str, ...] = opt(
        "Constraint ids to draw from (empty: all IFEval-style hard types).", ()
    )
    heldout: float = opt("Share of prompts held out for the eval.", 0.25)
    seed: int = opt("Synthesis seed.", 0)

    def validate(self) -> None:
        if not 1 <= self.min_constraints <= self.max_constraints:
            raise ConfigError("", "min_constraints", "need 1 <= min_constraints <= max_constraints")
        if not 0.0 < self.heldout < 1.0:
            raise ConfigError("", "heldout", f"must lie in (0, 1), got {self.heldout}")


@dataclass
class JudgeSection:
    recall_compliant: float = opt(
        "NoisyJudge: chance a compliant response is judged compliant.", 1.0
    )
    recall_noncompliant: float = opt(
        "NoisyJudge: chance a non-compliant response is judged non-compliant.", 0.3
    )
    seed: int = opt("NoisyJudge seed.", 0)


@dataclass
class AuditSection:
    enabled: bool = opt("Run the audit and refine stages.", False)
    samples: int = opt("Responses sampled per training prompt for the audit and pilot.", 2)
    max_new_tokens: int = opt("Tokens per audit response.", 48)


@dataclass
class GRPOSection:
    reward: str = opt(
        "Reward: hard (the verifiers) or noisy_judge (NoisyJudge, see judge).",
        "hard",
        choices=("hard", "noisy_judge"),
    )
    trainer: dict[str, Any] = field(
        default_factory=lambda: {
            "max_steps": 8,
            "num_generations": 4,
            "per_device_batch_size": 8,
            "max_completion_length": 32,
            "learning_rate": 1e-3,
            "save_steps": 4,
        },
        metadata={
            "help": "Further GRPOConfig fields (see `ifrl rl grpo --help`); model, data, output_dir and "
            "reward_funcs are set by the recipe."
        },
    )


@dataclass
class IFEvalSection:
    max_new_tokens: int = opt("Tokens generated per held-out prompt.", 64)


@dataclass
class IfRlvrConfig:
    """The ``if-rlvr`` recipe's YAML file."""

    model: ModelSection = field(
        default_factory=ModelSection, metadata={"help": "The policy model."}
    )
    seeds: SeedsSection = field(default_factory=SeedsSection, metadata={"help": "Stage seeds."})
    synthesize: SynthesizeSection = field(
        default_factory=SynthesizeSection, metadata={"help": "Stage synthesize."}
    )
    judge: JudgeSection = field(
        default_factory=JudgeSection,
        metadata={"help": "The NoisyJudge used by audit and reward noisy_judge."},
    )
    audit: AuditSection = field(
        default_factory=AuditSection, metadata={"help": "Stages audit and refine (optional)."}
    )
    grpo: GRPOSection = field(default_factory=GRPOSection, metadata={"help": "Stage grpo."})
    eval: IFEvalSection = field(default_factory=IFEvalSection, metadata={"help": "Stage eval."})
    arms: ArmsSection = field(
        default_factory=ArmsSection,
        metadata={"help": "The experiment's arms (empty names: the single run above)."},
    )
    hackable: HackableSection = field(
        default_factory=HackableSection,
        metadata={"help": "Arms: the HackableJudge and its calibration on the pilot samples."},
    )
    llm_judge: LLMJudgeSection = field(
        default_factory=LLMJudgeSection, metadata={"help": "Arms: the real judge model."}
    )
    refine: RefineSection = field(
        default_factory=RefineSection, metadata={"help": "Arms: the refined arm's filters."}
    )

    def validate(self) -> None:
        check_train_section(_grpo_cls(), self.grpo.trainer, "grpo.trainer")
        if self.arms.names and "seed" in self.grpo.trainer:
            raise ConfigError("", "grpo.trainer.seed", "the arms set the seed: use arms.seeds")


def _grpo_cls() -> type:
    from ifrl.rltrain.grpo import GRPOConfig  # torch: only when a config is checked

    return GRPOConfig


def make_judge(section: JudgeSection) -> NoisyJudge:
    return NoisyJudge(
        recall_compliant=section.recall_compliant,
        recall_noncompliant=section.recall_noncompliant,
        seed=section.seed,
    )


# -- stages ----------------------------------------------------------------------------------


def stage_seeds(ctx: StageContext) -> dict[str, Any]:
    cfg: IfRlvrConfig = ctx.config
    if cfg.seeds.path:
        rows = list(read_jsonl(cfg.seeds.path))
        prompts = []
        for i, r in enumerate(rows, start=1):
            if not isinstance(r, dict) or not isinstance(r.get("prompt"), str):
                raise JSONLError(cfg.seeds.path, i, "prompt", "missing or not a string")
            prompts.append(r["prompt"])
        prompts = prompts[: cfg.seeds.n]
    else:
        prompts = builtin_seeds(cfg.seeds.n, cfg.seeds.seed)
    with JSONLWriter(ctx.path("seeds.jsonl")) as w:
        for p in prompts:
            w.write({"prompt": p})
    return {"seeds": len(prompts)}


def stage_synthesize(ctx: StageContext) -> dict[str, Any]:
    cfg: IfRlvrConfig = ctx.config
    s = cfg.synthesize
    seeds = [r["prompt"] for r in read_jsonl(ctx.run_dir / "seeds.jsonl")]
    items = synthesize(seeds, (s.min_constraints, s.max_constraints), s.seed, types=s.types or None)
    n_held = max(1, round(len(items) * s.heldout))
    held, train = items[:n_held], items[n_held:]
    write_prompts(ctx.path("train.jsonl"), train, "ifeval")
    write_prompts(ctx.path("heldout.jsonl"), held, "ifeval")
    return {"train": len(train), "heldout": len(held)}


def _sample(
    model: str, section: ModelSection, prompts: list[Prompt], n: int, max_new: int, seed: int
) -> list[list[str]]:
    gen = make_generator(section, model)
    params = SamplingParams(n=n, temperature=1.0, max_new_tokens=max_new, seed=seed)
    return [[c.text for c in group] for group in gen.generate(prompts, params)]


def stage_audit(ctx: StageContext) -> dict[str, Any]:
    cfg: IfRlvrConfig = ctx.config
    prompts = list(read_prompts(ctx.run_dir / "train.jsonl"))
    texts = _sample(
        resolve_model(cfg.model),
        cfg.model,
        [p.conversation() for p in prompts],
        cfg.audit.samples,
        cfg.audit.max_new_tokens,
        seed=cfg.judge.seed,
    )
    items: list[ConstrainedPrompt] = []
    with JSONLWriter(ctx.path("audit/responses.jsonl")) as w:
        for prompt, outs in zip(prompts, texts):
            for j, t in enumerate(outs):
                items.append(prompt.replace(response=t, meta={"sample": j}))
                w.write({"key": row_key(prompt), "sample": j, "response": t})
    report, _pairs = run_audit(items, {"noisy": make_judge(cfg.judge)})
    write_json(ctx.path("audit/audit.json"), report)
    overall = report["judges"]["noisy"]["overall"]
    return {
        "pairs": report["pairs"],
        "precision": overall.get("precision"),
        "recall_noncompliant": overall.get("recall_noncompliant"),
        "base_rate": overall.get("base_rate"),
    }


def stage_refine(ctx: StageContext) -> dict[str, Any]:
    prompts = list(read_prompts(ctx.run_dir / "train.jsonl"))
    by_id = {p.id: p for p in prompts}
    pilot: dict[str, list[float]] = {}
    for r in read_jsonl(ctx.run_dir / "audit/responses.jsonl"):
        prompt = by_id[str(r["key"])]
        score = strict_fraction.score(r["response"], prompt.constraints)
        pilot.setdefault(prompt.id, []).append(score or 0.0)
    kept, report = refine(prompts, RefineConfig(hard_only=True), pilot=pilot)
    fallback = not kept
    if fallback:
        ctx.echo("    refine: no prompt was rewarded in the pilot samples; training on all of them")
    write_prompts(ctx.path("refined.jsonl"), prompts if fallback else kept, "ifeval")
    write_text(ctx.path("refine_report.md"), report.to_markdown())
    return {"kept": len(kept), "dropped": len(prompts) - len(kept), "fallback_to_all": fallback}


def train_rows(run_dir: Path, audited: bool) -> list[dict[str, Any]]:
    """GRPO's rows (prompt and constraints) from the refined or the synthesized prompts."""
    src = run_dir / ("refined.jsonl" if audited else "train.jsonl")
    return [training_row(p) for p in read_prompts(src)]


def run_grpo(ctx: StageContext, reward: str, out: Path) -> dict[str, Any]:
    """GRPO with ``reward`` (hard or noisy_judge) and the true compliance logged beside it."""
    from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer  # torch: only when a stage trains

    cfg: IfRlvrConfig = ctx.config
    truth = ConstraintReward("fraction", "strict", name="true_compliance")
    judged = JudgedReward(make_judge(cfg.judge), "fraction", judged="all", name="judge_reward")
    funcs: list[Any] = [truth] if reward == "hard" else [judged, truth]
    weights = [1.0] if reward == "hard" else [1.0, 0.0]
    names = [f"ifrl.constraints:{f.__name__}" for f in funcs]
    gcfg = train_config(
        GRPOConfig,
        dict(cfg.grpo.trainer),
        {
            "model": resolve_model(cfg.model),
            "data": "<in memory>",
            "output_dir": str(out),
            "resume": True,
            "reward_weights": weights,
            # The trainer gets the callables; the names only record them in config.json
            # (GRPOConfig checks one weight per named reward function).
            "reward_funcs": names,
        },
        "grpo.trainer",
    )
    rows = train_rows(ctx.run_dir, cfg.audit.enabled)
    result = GRPOTrainer(gcfg, reward_funcs=funcs, train_data=rows).train()
    return {
        "steps": result.steps,
        "final_model": str(result.final_model),
        **{k: v for k, v in result.metrics.items() if k.startswith("reward")},
    }


def stage_grpo(ctx: StageContext) -> dict[str, Any]:
    cfg: IfRlvrConfig = ctx.config
    return run_grpo(ctx, cfg.grpo.reward, ctx.path("grpo"))


def ifeval_scores(
    model: str, section: ModelSection, heldout: Path, max_new: int, out: Path
) -> dict[str, Metric]:
    """Greedy responses on the held-out prompts scored by ``ifrl.evals``' IFEval benchmark: the
    prompt- and instruction-level accuracies, strict and loose, with their 95% intervals."""
    bench = get_benchmark("ifeval", data=str(heldout))
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new, seed=0)
    return dict(run(bench, out, generator=make_generator(section, model), params=params).metrics)


def stage_eval(ctx: StageContext) -> dict[str, Any]:
    """The held-out eval of the base and the GRPO model: ``base`` and ``grpo`` give each
    accuracy's value, ``ci95`` its interval (``eval/results.json`` has the full metrics)."""
    cfg: IfRlvrConfig = ctx.config
    held = ctx.run_dir / "heldout.jsonl"
    models = {"base": resolve_model(cfg.model), "grpo": str(ctx.run_dir / "grpo/final")}
    metrics = {
        name: ifeval_scores(
            model, cfg.model, held, cfg.eval.max_new_tokens, ctx.path(f"eval/{name}")
        )
        for name, model in models.items()
    }
    write_json(
        ctx.path("eval/results.json"),
        {name: {k: m.to_dict() for k, m in ms.items()} for name, ms in metrics.items()},
    )
    return {
        **{name: {k: m.value for k, m in ms.items()} for name, ms in metrics.items()},
        "ci95": {
            name: {k: [m.ci_low, m.ci_high] for k, m in ms.items()} for name, ms in metrics.items()
        },
    }


SEEDS_STAGE = Stage("seeds", stage_seeds, ("seeds.jsonl",), ("seeds",), (), "seed prompts")


def build() -> Recipe:
    """The ``if-rlvr`` recipe."""
    audited = lambda c: bool(c.audit.enabled)  # noqa: E731
    single = (
        SEEDS_STAGE,
        Stage(
            "synthesize",
            stage_synthesize,
            ("train.jsonl", "heldout.jsonl"),
            ("synthesize",),
            ("seeds",),
            "hard-constraint prompts",
        ),
        Stage(
            "audit",
            stage_audit,
            ("audit/audit.json", "audit/responses.jsonl"),
            ("model", "judge", "audit"),
            ("synthesize",),
            "judge audit against the verifiers",
            audited,
        ),
        Stage(
            "refine",
            stage_refine,
            ("refined.jsonl",),
            ("audit",),
            ("audit",),
            "learnability filter from the pilot samples",
            audited,
        ),
        Stage(
            "grpo",
            stage_grpo,
            ("grpo/final",),
            ("model", "grpo", "judge", "audit"),
            ("synthesize", "refine"),
            "GRPO",
            distributed=True,
        ),
        Stage(
            "eval",
            stage_eval,
            ("eval/results.json",),
            ("model", "eval"),
            ("synthesize", "grpo"),
            "IFEval eval on held-out prompts",
        ),
    )

    def expand(config: IfRlvrConfig) -> tuple[Stage, ...]:
        return (SEEDS_STAGE, *arm_stages(config)) if config.arms.names else single

    return Recipe(
        "if-rlvr",
        "seed prompts → synthesize → (audit, refine) → GRPO → IFEval held-out eval; with "
        "arms.names: hard-only vs mixed arms over seeds, evaluated on held-out IFEval/IFBench",
        IfRlvrConfig,
        single,
        expand,
    )


RECIPES.add("if-rlvr", build)
