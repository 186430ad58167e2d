"""The ``if-rlvr`` experiment: arms that differ only in their training data and reward.

"Precision over Diversity" claims that training on hard (code-verified) constraints only
generalizes better than mixing in judged constraints, because a judge with low recall on
non-compliant responses gets hacked. With ``arms.names`` set, the ``if-rlvr`` recipe runs that
comparison (see the README for the stages):

- ``hard``: the mixed prompts with their judged constraint removed (prompt text rewritten);
  reward = the verifiers' share of constraints met;
- ``noisy``: the mixed prompts (hard + at most ``arms.max_soft`` judged constraints), the judged
  ones scored by a ``NoisyJudge`` whose recalls equal the hackable judge's audited recalls on
  the pilot samples (same audit numbers at step 0, errors independent of the response);
- ``hackable``: the same, scored by a ``HackableJudge`` (errors tied to a learnable feature)
  calibrated on the pilot samples to ``hackable.target_recall_noncompliant``;
- ``llm_judge``: the same, scored by a real judge model (``llm_judge``, any backend);
- ``refined``: the mixed prompts refined ("Precision over Diversity"): judged constraints of
  types whose audited precision (hackable judge, pilot samples) is below
  ``refine.min_precision`` are dropped (prompt text rewritten), then prompts never rewarded in
  the pilot samples are dropped; scored by the hackable judge.

The judged constraints are verifiable types (``arms.soft_types``) marked ``kind="soft"``: the
judge scores them in training, the verifiers give the truth in the audit and the evaluation.
Every arm adds the task-quality guard (``GuardReward``: answers shorter than
``arms.guard_min_words`` words get -1), logs the true compliance (weight 0) and audits a judge on
the policy's own samples every ``arms.audit_every`` rollout batches (``TrainingAudit``; the hard
arm audits the hackable judge as a probe, untrained against). Each arm trains with every seed of
``arms.seeds`` and is evaluated through ``ifrl.evals`` on held-out prompts with IFEval types (in
distribution) and IFBench types (out of distribution).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifrl.constraints import (
    IFBENCH_IDS,
    IFEVAL_IDS,
    ConstrainedPrompt,
    ConstraintReward,
    HackableJudge,
    JudgedReward,
    JudgePrecision,
    LLMJudge,
    NoisyJudge,
    RefineConfig,
    TrainingAudit,
    read_prompts,
    refine,
    run_audit,
    synthesize,
    training_row,
    write_prompts,
)
from ifrl.constraints.calibration import audit_view, calibrate_judge, matched_noisy_judge
from ifrl.constraints.synth import synthesize_mixed
from ifrl.core.config import ConfigError, opt
from ifrl.core.generation import Generator
from ifrl.core.jsonl import JSONLWriter, read_jsonl, write_json, write_text
from ifrl.core.records import SamplingParams
from ifrl.evals import get_benchmark, run
from ifrl.pipelines.common import ModelSection, make_generator, resolve_model, train_config
from ifrl.pipelines.recipe import Stage, StageContext

ARMS = ("hard", "noisy", "hackable", "llm_judge", "refined")
JUDGED_ARMS = ("noisy", "hackable", "llm_judge", "refined")
# Verifiable IFEval types the tiny policy can meet by chance (so the judge's errors matter):
# judged in training, verified in evaluation.
DEFAULT_SOFT = (
    "punctuation:no_comma",
    "change_case:english_lowercase",
    "change_case:english_capital",
    "length_constraints:number_words",
    "keywords:letter_frequency",
    "keywords:forbidden_words",
    "startend:quotation",
    "detectable_content:postscript",
)
HELDOUT = ("ifeval", "ifbench")


@dataclass
class ArmsSection:
    names: tuple[str, ...] = opt(
        "Arms to run: hard, noisy, hackable, llm_judge, refined (empty: one GRPO run as "
        "grpo.reward says).",
        (),
        choices=ARMS,
    )
    seeds: tuple[int, ...] = opt("Training seeds; every arm trains once with each.", (0, 1, 2))
    soft_types: tuple[str, ...] = opt(
        "Judged constraint types of mixed prompts: verifiable types are judged in training "
        "and verified in evaluation.",
        DEFAULT_SOFT,
    )
    max_soft: int = opt("Judged constraints per mixed prompt, at most.", 1, minimum=0)
    soft_share: float = opt("Share of mixed prompts given a judged constraint.", 1.0)
    heldout_ifeval: int = opt("Held-out prompts with IFEval types (in distribution).", 32)
    heldout_ifbench: int = opt("Held-out prompts with IFBench types (out of distribution).", 32)
    pilot_samples: int = opt(
        "Base-policy samples per training prompt: the pilot for calibration, audit and the "
        "learnability filter.",
        8,
        minimum=1,
    )
    audit_every: int = opt(
        "Audit the judge on the policy's samples every N rollouts.", 2, minimum=1
    )
    guard_min_words: int = opt(
        "Task-quality guard: an answer with fewer words gets -1 (0: no guard).", 3, minimum=0
    )
    hacked_drop: float = opt(
        "A judged run counts as hacked when the audited recall on non-compliant pairs falls by "
        "at least this from the first audit to the last three.",
        0.25,
    )
    bootstrap: int = opt("Bootstrap resamples of the intervals.", 2000, minimum=100)

    def validate(self) -> None:
        if len(set(self.names)) != len(self.names):
            raise ConfigError("", "names", "an arm is listed twice")
        if self.names and not self.seeds:
            raise ConfigError("", "seeds", "give at least one seed")
        if not 0.0 <= self.soft_share <= 1.0:
            raise ConfigError("", "soft_share", f"must lie in [0, 1], got {self.soft_share}")
        if self.names and (self.heldout_ifeval < 1 or self.heldout_ifbench < 1):
            raise ConfigError("", "heldout_ifeval", "both held-out sets need at least 1 prompt")


@dataclass
class HackableSection:
    feature: str = opt(
        "The threshold calibrated: min_words (passes long answers) or prefix_words (reads only "
        "the start).",
        "min_words",
        choices=("min_words", "prefix_words"),
    )
    target_recall_noncompliant: float = opt(
        "Audited recall on non-compliant pilot pairs the calibration aims at.", 0.5
    )
    recall_compliant: float = opt("Chance a compliant response is passed.", 1.0)
    phrases: tuple[str, ...] = opt(
        "Claimed-compliance phrases that also fool the judge (case-insensitive).", ()
    )
    keywords: bool = opt("Also pass a response that mentions every keyword of a constraint.", False)
    seed: int = opt("Seed of the judges' random draws.", 0)

    def validate(self) -> None:
        for name in ("target_recall_noncompliant", "recall_compliant"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError("", name, f"must lie in [0, 1], got {getattr(self, name)}")


@dataclass
class LLMJudgeSection:
    path: str = opt("Judge model ('' : the policy's starting model).", "")
    backend: str = opt("Judge backend: hf, vllm or openai.", "hf")
    base_url: str = opt("OpenAI-compatible server URL (backend openai).", "")
    mode: str = opt(
        "pointwise (a call per constraint) or joint (a call per response).",
        "joint",
        choices=("pointwise", "joint"),
    )
    max_new_tokens: int = opt("Judge output tokens.", 16, minimum=1)
    max_retries: int = opt("Retries of an unparseable verdict.", 0, minimum=0)


@dataclass
class RefineSection:
    min_precision: float = opt(
        "Drop judged constraints of types whose audited precision is below this.", 0.5
    )
    min_support: int = opt("Judge passes a type needs in the audit to use its own precision.", 10)
    unaudited: str = opt("Types without enough support: overall, keep or drop.", "drop")
    judge: str = opt(
        "The refined arm's judge: hackable or noisy.", "hackable", choices=("hackable", "noisy")
    )

    def validate(self) -> None:
        RefineConfig(min_precision=self.min_precision, unaudited=self.unaudited)  # type: ignore[arg-type]


# -- helpers ---------------------------------------------------------------------------------


def _seed_prompts(ctx: StageContext, n: int) -> list[str]:
    from ifrl.pipelines.recipes.ifrlvr import SEED_FORMS, SEED_TOPICS

    cfg = ctx.config
    if cfg.seeds.path:
        prompts = [str(r["prompt"]) for r in read_jsonl(cfg.seeds.path)]
    else:
        prompts = [f.format(t=t) for t in SEED_TOPICS for f in SEED_FORMS]
        random.Random(cfg.seeds.seed).shuffle(prompts)
    if len(prompts) < n:
        raise ConfigError(
            "", "seeds.n", f"{n} seed prompts needed (training + held-out), {len(prompts)} given"
        )
    return prompts[:n]


def _judge_config(ctx: StageContext) -> dict[str, Any]:
    return json.loads((ctx.run_dir / "calibrate/judges.json").read_text(encoding="utf-8"))


def _hackable(ctx: StageContext) -> HackableJudge:
    from ifrl.constraints.noisy import hard_oracle

    cfg = ctx.config
    data = _judge_config(ctx)["hackable"]
    return HackableJudge(
        hard_oracle("strict"),
        min_words=data["min_words"],
        phrases=tuple(data["phrases"]),
        prefix_words=data["prefix_words"],
        keywords=bool(data["keywords"]),
        recall_compliant=float(data["recall_compliant"]),
        seed=cfg.hackable.seed,
    )


def _noisy(ctx: StageContext) -> NoisyJudge:
    from ifrl.constraints.noisy import hard_oracle

    data = _judge_config(ctx)["noisy"]
    return NoisyJudge(
        hard_oracle("strict"),
        recall_compliant=float(data["recall_compliant"]),
        recall_noncompliant=float(data["recall_noncompliant"]),
        seed=ctx.config.hackable.seed,
    )


def _llm_judge(ctx: StageContext) -> LLMJudge:
    cfg = ctx.config
    section = cfg.llm_judge
    path = section.path or resolve_model(cfg.model)
    model = ModelSection(path=path, backend=section.backend, base_url=section.base_url)
    generator: Generator = make_generator(model, resolve_model(path))
    params = SamplingParams(temperature=0.0, max_new_tokens=section.max_new_tokens)
    return LLMJudge(
        generator,
        name="llm-judge",
        mode=section.mode,
        params=params,
        max_retries=section.max_retries,
    )


def arm_judge(ctx: StageContext, arm: str) -> Any:
    """The judge that scores ``arm``'s judged constraints (the hard arm: the hackable probe)."""
    if arm == "noisy" or (arm == "refined" and ctx.config.refine.judge == "noisy"):
        return _noisy(ctx)
    if arm == "llm_judge":
        return _llm_judge(ctx)
    return _hackable(ctx)


def _sample(
    ctx: StageContext, prompts: list[ConstrainedPrompt], n: int, seed: int
) -> list[list[str]]:
    cfg = ctx.config
    gen = make_generator(cfg.model, resolve_model(cfg.model))
    max_new = int(cfg.grpo.trainer.get("max_completion_length", 32))
    params = SamplingParams(n=n, temperature=1.0, max_new_tokens=max_new, seed=seed)
    return [[c.text for c in g] for g in gen.generate([p.conversation() for p in prompts], params)]


def _pilot_items(ctx: StageContext) -> list[ConstrainedPrompt]:
    by_id = {p.id: p for p in read_prompts(ctx.run_dir / "train.jsonl")}
    return [
        by_id[str(r["id"])].replace(response=r["response"], meta={"sample": r["sample"]})
        for r in read_jsonl(ctx.run_dir / "pilot/responses.jsonl")
    ]


# -- stages ----------------------------------------------------------------------------------


def stage_synthesize_mixed(ctx: StageContext) -> dict[str, Any]:
    """Mixed training prompts and the two held-out sets, from disjoint seed prompts."""
    cfg = ctx.config
    a = cfg.arms
    s = cfg.synthesize
    n_train = cfg.seeds.n
    seeds = _seed_prompts(ctx, n_train + a.heldout_ifeval + a.heldout_ifbench)
    train = synthesize_mixed(
        seeds[:n_train],
        (s.min_constraints, s.max_constraints),
        s.seed,
        hard_types=s.types or None,
        soft_types=a.soft_types,
        max_soft=a.max_soft,
        soft_share=a.soft_share,
    )
    rest = seeds[n_train:]
    rng = random.Random(s.seed + 1)
    ifeval = synthesize(
        rest[: a.heldout_ifeval],
        (s.min_constraints, s.max_constraints),
        rng,
        types=IFEVAL_IDS,
        start_key=10_000,
    )
    ifbench = synthesize(
        rest[a.heldout_ifeval :],
        (s.min_constraints, s.max_constraints),
        rng,
        types=IFBENCH_IDS,
        start_key=20_000,
    )
    write_prompts(ctx.path("train.jsonl"), train, "ifeval")
    write_prompts(ctx.path("heldout_ifeval.jsonl"), ifeval, "ifeval")
    write_prompts(ctx.path("heldout_ifbench.jsonl"), ifbench, "ifeval")
    judged = sum(1 for p in train for c in p.constraints if c.kind == "soft")
    return {
        "train": len(train),
        "judged_constraints": judged,
        "heldout_ifeval": len(ifeval),
        "heldout_ifbench": len(ifbench),
    }


def stage_pilot(ctx: StageContext) -> dict[str, Any]:
    """``arms.pilot_samples`` base-policy samples of every training prompt."""
    cfg = ctx.config
    prompts = list(read_prompts(ctx.run_dir / "train.jsonl"))
    texts = _sample(ctx, prompts, cfg.arms.pilot_samples, seed=cfg.hackable.seed)
    with JSONLWriter(ctx.path("pilot/responses.jsonl")) as w:
        for p, outs in zip(prompts, texts):
            for j, t in enumerate(outs):
                w.write({"id": p.id, "sample": j, "response": t})
    return {"responses": sum(len(t) for t in texts)}


def stage_calibrate(ctx: StageContext) -> dict[str, Any]:
    """Calibrate the hackable judge on the pilot samples, match the noisy judge to its audit,
    and audit every judge of the run on the same samples (``calibrate/audit.json``)."""
    cfg = ctx.config
    h = cfg.hackable
    items = _pilot_items(ctx)
    cal = calibrate_judge(
        items,
        h.target_recall_noncompliant,
        feature=h.feature,  # type: ignore[arg-type]
        recall_compliant=h.recall_compliant,
        seed=h.seed,
    )
    hackable = cal.judge.features() | {h.feature: cal.value}
    hackable["phrases"] = list(h.phrases)
    hackable["keywords"] = h.keywords
    noisy = matched_noisy_judge(cal.audit, seed=h.seed)
    write_json(
        ctx.path("calibrate/judges.json"),
        {
            "hackable": hackable,
            "noisy": {
                "recall_compliant": noisy.recall_compliant,
                "recall_noncompliant": noisy.recall_noncompliant,
            },
            "calibration": cal.to_dict(),
        },
    )
    judges: dict[str, Any] = {"hackable": _hackable(ctx), "noisy": _noisy(ctx)}
    if "llm_judge" in cfg.arms.names:
        judges["llm_judge"] = _llm_judge(ctx)
    report, _ = run_audit(audit_view(items), judges)
    write_json(ctx.path("calibrate/audit.json"), report)
    summary = {
        name: {
            k: entry["overall"][k]
            for k in ("precision", "recall_noncompliant", "recall_compliant", "unparseable")
        }
        for name, entry in report["judges"].items()
    }
    return {"pairs": report["pairs"], h.feature: cal.value, "judges": summary}


def _pilot_rewards(
    ctx: StageContext, items: list[ConstrainedPrompt], reward: Any
) -> dict[str, list[float]]:
    by_id = {p.id: p for p in items}
    out: dict[str, list[float]] = {}
    rows = list(read_jsonl(ctx.run_dir / "pilot/responses.jsonl"))
    kept = [r for r in rows if str(r["id"]) in by_id]
    prompts = [by_id[str(r["id"])].text for r in kept]
    cols = {"constraints": [[c.to_dict() for c in by_id[str(r["id"])].constraints] for r in kept]}
    values = reward(prompts, [r["response"] for r in kept], **cols)
    for r, v in zip(kept, values):
        out.setdefault(str(r["id"]), []).append(0.0 if v is None else float(v))
    return out


def stage_arm_data(ctx: StageContext) -> dict[str, Any]:
    """Each arm's training prompts: hard-only (judged constraints removed, text rewritten),
    mixed, and refined (precision per judged type from the pilot audit, then learnability)."""
    cfg = ctx.config
    mixed = list(read_prompts(ctx.run_dir / "train.jsonl"))
    hard, hard_report = refine(mixed, RefineConfig(hard_only=True))
    write_prompts(ctx.path("arms/data/hard.jsonl"), hard, "ifeval")
    write_prompts(ctx.path("arms/data/mixed.jsonl"), mixed, "ifeval")
    result: dict[str, Any] = {
        "hard": len(hard),
        "mixed": len(mixed),
        "hard_rewritten": hard_report.rewritten,
    }
    r = cfg.refine
    audit = json.loads((ctx.run_dir / "calibrate/audit.json").read_text(encoding="utf-8"))
    precision = JudgePrecision(audit, r.judge)
    config = RefineConfig(
        min_precision=r.min_precision,
        min_support=r.min_support,
        unaudited=r.unaudited,
        max_soft=cfg.arms.max_soft,
    )  # type: ignore[arg-type]
    by_precision, _ = refine(mixed, config, precision=precision)
    reward = JudgedReward(arm_judge(ctx, "refined"), "fraction", judged="soft")
    pilot = _pilot_rewards(ctx, by_precision, reward)
    refined, report = refine(mixed, config, precision=precision, pilot=pilot)
    if not refined:
        raise ConfigError("", "refine", "refinement kept no prompt: lower refine.min_precision")
    write_prompts(ctx.path("arms/data/refined.jsonl"), refined, "ifeval")
    write_json(ctx.path("arms/data/refine_report.json"), report.to_dict())
    write_text(ctx.path("arms/data/refine_report.md"), report.to_markdown())
    d = report.to_dict()
    result["refined"] = len(refined)
    result["refine_dropped"] = {
        "prompts": d["dropped_prompts"],
        "constraints": d["dropped_constraints"],
    }
    return result


def _data_file(arm: str) -> str:
    return {"hard": "hard", "refined": "refined"}.get(arm, "mixed")


def _rewards(ctx: StageContext, arm: str) -> tuple[list[Any], list[float]]:
    from ifrl.rltrain import GuardReward  # torch: only when a stage trains

    cfg = ctx.config
    judge = arm_judge(ctx, arm)
    if arm == "hard":
        main: Any = ConstraintReward("fraction", "strict", name="hard_reward")
    else:
        main = JudgedReward(judge, "fraction", judged="soft", name="judge_reward")
    funcs: list[Any] = [main]
    weights = [1.0]
    if cfg.arms.guard_min_words:
        funcs.append(GuardReward(min_words=cfg.arms.guard_min_words, name="guard"))
        weights.append(1.0)
    funcs.append(
        ConstraintReward(
            "fraction", "strict", kinds="verifiable", name="true_compliance", per_constraint=True
        )
    )
    funcs.append(TrainingAudit(judge, every=cfg.arms.audit_every, name="judge_audit"))
    weights += [0.0, 0.0]
    return funcs, weights


def train_arm(ctx: StageContext, arm: str, seed: int) -> dict[str, Any]:
    """GRPO of one arm with one seed (``arms/<arm>/s<seed>/grpo``)."""
    from ifrl.rltrain import GRPOConfig, GRPOTrainer  # torch: only when a stage trains

    cfg = ctx.config
    out = ctx.path(f"arms/{arm}/s{seed}/grpo")
    funcs, weights = _rewards(ctx, arm)
    gcfg = train_config(
        GRPOConfig,
        dict(cfg.grpo.trainer),
        {
            "model": resolve_model(cfg.model),
            "data": "<in memory>",
            "output_dir": str(out),
            "resume": True,
            "seed": seed,
            "reward_weights": weights,
            "reward_funcs": [f"ifrl.constraints:{f.__name__}" for f in funcs],
        },
        "grpo.trainer",
    )
    rows = [
        training_row(p) for p in read_prompts(ctx.run_dir / f"arms/data/{_data_file(arm)}.jsonl")
    ]
    result = GRPOTrainer(gcfg, reward_funcs=funcs, train_data=rows).train()
    return {
        "steps": result.steps,
        "final_model": str(result.final_model),
        **{k: v for k, v in result.metrics.items() if k.startswith(("rewards/", "audit/"))},
    }


def evaluate_model(ctx: StageContext, model: str, out: str) -> dict[str, Any]:
    """Greedy answers to both held-out sets, scored by ``ifrl.evals`` (IFEval, IFBench)."""
    cfg = ctx.config
    max_new = cfg.eval.max_new_tokens
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new, seed=0)
    gen = make_generator(cfg.model, model)
    result: dict[str, Any] = {}
    for name in HELDOUT:
        bench = get_benchmark(name, data=str(ctx.run_dir / f"heldout_{name}.jsonl"))
        res = run(bench, ctx.path(f"{out}/{name}"), generator=gen, params=params)
        result[name] = {k: m.value for k, m in res.metrics.items()}
    return result


def stage_eval_base(ctx: StageContext) -> dict[str, Any]:
    return evaluate_model(ctx, resolve_model(ctx.config.model), "eval/base")


def arm_stages(config: Any) -> tuple[Stage, ...]:
    """The experiment's stages for ``config`` (after the shared ``seeds`` stage)."""
    from ifrl.pipelines.recipes.ifrlvr_report import stage_report

    sections = ("model", "seeds", "synthesize", "arms", "hackable", "llm_judge", "refine")
    stages: list[Stage] = [
        Stage(
            "synthesize-mixed",
            stage_synthesize_mixed,
            ("train.jsonl", "heldout_ifeval.jsonl", "heldout_ifbench.jsonl"),
            ("seeds", "synthesize", "arms"),
            ("seeds",),
            "mixed training prompts and the held-out IFEval / IFBench sets",
        ),
        Stage(
            "pilot",
            stage_pilot,
            ("pilot/responses.jsonl",),
            ("model", "arms", "hackable", "grpo"),
            ("synthesize-mixed",),
            "base-policy samples of every training prompt",
        ),
        Stage(
            "calibrate",
            stage_calibrate,
            ("calibrate/judges.json", "calibrate/audit.json"),
            ("hackable", "llm_judge", "arms"),
            ("pilot",),
            "hackable judge calibrated on the pilot; every judge audited",
        ),
        Stage(
            "arm-data",
            stage_arm_data,
            ("arms/data/hard.jsonl", "arms/data/mixed.jsonl", "arms/data/refined.jsonl"),
            ("refine", "arms"),
            ("calibrate",),
            "hard-only, mixed and refined training data",
        ),
        Stage(
            "eval-base",
            stage_eval_base,
            tuple(f"eval/base/{n}/results.json" for n in HELDOUT),
            ("model", "eval"),
            ("synthesize-mixed",),
            "held-out eval of the starting model",
        ),
    ]
    for arm in config.arms.names:
        for seed in config.arms.seeds:
            tag = f"{arm}-s{seed}"

            def train(ctx: StageContext, arm: str = arm, seed: int = seed) -> dict[str, Any]:
                return train_arm(ctx, arm, seed)

            def evaluate(ctx: StageContext, arm: str = arm, seed: int = seed) -> dict[str, Any]:
                return evaluate_model(
                    ctx,
                    str(ctx.run_dir / f"arms/{arm}/s{seed}/grpo/final"),
                    f"arms/{arm}/s{seed}/eval",
                )

            stages.append(
                Stage(
                    f"train-{tag}",
                    train,
                    (f"arms/{arm}/s{seed}/grpo/final",),
                    (*sections, "grpo"),
                    ("arm-data",),
                    f"GRPO, arm {arm}, seed {seed}",
                    distributed=True,
                )
            )
            stages.append(
                Stage(
                    f"eval-{tag}",
                    evaluate,
                    tuple(f"arms/{arm}/s{seed}/eval/{n}/results.json" for n in HELDOUT),
                    ("model", "eval"),
                    (f"train-{tag}",),
                    f"held-out eval, arm {arm}, seed {seed}",
                )
            )
    stages.append(
        Stage(
            "report",
            stage_report,
            ("report.md", "report.json", "plots/heldout.png", "plots/audit.png"),
            ("arms",),
            tuple(s.name for s in stages if s.name.startswith("eval")),
            "table, intervals, plots and the closing note",
        )
    )
    return tuple(stages)


def run_dir_paths(run_dir: Path, arm: str, seed: int) -> dict[str, Path]:
    """Where one run of an arm keeps its metrics and held-out samples."""
    base = run_dir / f"arms/{arm}/s{seed}"
    return {
        "metrics": base / "grpo/metrics.jsonl",
        **{name: base / f"eval/{name}/samples.jsonl" for name in HELDOUT},
    }


__all__ = [
    "ARMS",
    "DEFAULT_SOFT",
    "HELDOUT",
    "JUDGED_ARMS",
    "ArmsSection",
    "HackableSection",
    "LLMJudgeSection",
    "RefineSection",
    "arm_judge",
    "arm_stages",
    "evaluate_model",
    "run_dir_paths",
    "train_arm",
]
