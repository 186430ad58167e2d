"""The demo's numbers, read from the recipes' run directories (``summary.json``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ifrl.core.jsonl import read_jsonl


def _metrics(path: Path) -> list[dict[str, Any]]:
    return list(read_jsonl(path)) if path.exists() else []


def _result(states: Mapping[str, Any], run: str, stage: str) -> dict[str, Any]:
    return dict(states[run].get(stage, {}).get("result") or {})


def verification_effect(run_dir: Path) -> dict[str, Any]:
    """Partial score on the seen-tool eval dialogs after SFT on verified minus after SFT on
    failed dialogs: per dialog (both runs answer the same dialogs), its mean and a seeded
    bootstrap 95% interval over dialogs; empty when a run has no seen-tool eval."""
    from ifrl.core.stats import bootstrap

    files = [run_dir / f"{r}/eval/sft_seen_samples.jsonl" for r in ("toolace", "toolace-rejected")]
    if not all(f.exists() for f in files):
        return {}
    verified, rejected = ({row["id"]: float(row["score"]) for row in read_jsonl(f)} for f in files)
    ids = sorted(set(verified) & set(rejected))
    diffs = [verified[i] - rejected[i] for i in ids]
    if not diffs:
        return {}
    m = bootstrap(diffs, lambda v: sum(v) / len(v))
    return {"seen_score_difference": m.value, "ci95": [m.ci_low, m.ci_high], "n": m.n}


def summarize(
    run_dir: Path,
    states: Mapping[str, Any],
    total: Mapping[str, float],
    quick: bool,
    timing: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """The numbers of the report, from the run directories."""
    tool = _result(states, "toolace", "eval")
    rejected = _result(states, "toolace-rejected", "eval")
    hard = _result(states, "if-rlvr-hard", "eval")
    noisy_m = _metrics(run_dir / "if-rlvr-noisy/grpo/metrics.jsonl")
    hard_m = _metrics(run_dir / "if-rlvr-hard/grpo/metrics.jsonl")
    judge = [m.get("rewards/judge_reward/mean", 0.0) for m in noisy_m]
    truth = [m.get("rewards/true_compliance/mean", 0.0) for m in noisy_m]
    it = _result(states, "itool", "summary")
    mcts = _result(states, "itool", "mcts-1")
    return {
        "quick": quick,
        "total_seconds": total["wall"],
        "total_cpu_seconds": total["cpu"],
        "recipe_seconds": dict(timing or {}),
        "toolace": {
            **{k: v for k, v in tool.items() if k != "n"},
            "heldout_entries": tool["n"],
            "verified": _result(states, "toolace", "verify"),
            "sft_loss": [m["loss"] for m in _metrics(run_dir / "toolace/sft/model/metrics.jsonl")],
        },
        "toolace_rejected": {
            **{k: v for k, v in rejected.items() if k != "n"},
            "heldout_entries": rejected.get("n"),
            "verified": _result(states, "toolace-rejected", "verify"),
            "dialogs": _result(states, "toolace-rejected", "dialogs"),
        },
        "toolace_verification": verification_effect(run_dir),
        "itool": {
            "rows": it.get("rows", []),
            "start_accuracy": it.get("start_accuracy"),
            "final_accuracy": it.get("final_accuracy"),
            "start_score": it.get("start_score"),
            "final_score": it.get("final_score"),
            "eval_samples": _result(states, "itool", "data").get("eval_samples"),
            "train_samples": _result(states, "itool", "data").get("train_samples"),
            "deficient": _result(states, "itool", "deficiency-1").get("deficient"),
            "mcts": mcts.get("mcts", {}),
            "baseline": mcts.get("baseline", {}),
            "simpo": {
                k: v
                for k, v in _result(states, "itool", "simpo-1").items()
                if isinstance(v, (int, float, str)) and k != "model"
            },
        },
        "if_rlvr": {
            "before": hard["base"],
            "after": hard["grpo"],
            "reward_curve": [m.get("rewards/true_compliance/mean", 0.0) for m in hard_m],
            "audit": states["if-rlvr-hard"].get("audit", {}).get("result"),
            "refine": states["if-rlvr-hard"].get("refine", {}).get("result"),
            "train_prompts": states["if-rlvr-hard"]["synthesize"]["result"]["train"],
            "heldout_prompts": states["if-rlvr-hard"]["synthesize"]["result"]["heldout"],
        },
        "noisy_judge": {
            "judge_reward": judge,
            "true_compliance": truth,
            "mean_gap": (sum(judge) - sum(truth)) / len(judge) if judge else 0.0,
            "after": states["if-rlvr-noisy"]["eval"]["result"]["grpo"],
        },
        "edu_prm": _edu_prm(run_dir / "edu-prm", states),
        "stage_seconds": {
            f"{run}/{stage}": entry.get("seconds", 0.0)
            for run, st in states.items()
            for stage, entry in st.items()
        },
        "stage_cpu_seconds": {
            f"{run}/{stage}": entry.get("cpu_seconds", 0.0)
            for run, st in states.items()
            for stage, entry in st.items()
        },
    }


def _json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else {}


def _line_cost(c: Mapping[str, Any]) -> dict[str, Any]:
    """A labeler's cost (``ifrl.prm.study.LabelCost``) with the per-line-step names the report
    reads (``labeled_steps``, ``*_per_step``)."""
    per_line = c.get("per_line_step") or {}
    return {
        **c,
        "labeled_steps": c.get("line_steps"),
        "generated_tokens_per_step": per_line.get("generated_tokens"),
        "forward_tokens_per_step": per_line.get("forward_tokens"),
    }


def _edu_prm(run: Path, states: Mapping[str, Any]) -> dict[str, Any]:
    """The edu-prm run's numbers: both labelers' cost on the same solutions (per labelled line
    step and per question), the kappas against exact step truth, the first seed's PRM (loss,
    Best-of-N with question-bootstrap intervals) and the mean over PRM seeds."""
    uniform = _json(run / "uniform.json")
    head = uniform.get("headline", {})
    per_q = uniform.get("per_question", {})
    train = _json(run / "train.json").get("seeds", [])
    bon_all = _json(run / "bon/results.json")
    per_seed = bon_all.get("per_seed", [])
    bon = {
        **{k: v for k, v in bon_all.items() if k != "per_seed" and not k.endswith("_seeds_ci95")},
        **(per_seed[0] if per_seed else {}),
    }
    means: dict[str, Any] = {}
    for key, ci in bon_all.items():
        if key.endswith("_seeds_ci95"):
            name = key.removesuffix("_seeds_ci95")
            means[name] = {"value": bon_all.get(name), "ci95": ci}
    return {
        "questions": _result(states, "edu-prm", "questions"),
        "leaf_accuracy": _result(states, "edu-prm", "label").get("leaf_accuracy"),
        "edu_cost": _line_cost(uniform.get("edu", {})),
        "uniform_cost": _line_cost(uniform.get("uniform", {})),
        "uniform_edu_cost": {},
        "cost_ratio": head.get("cost_ratio_line"),
        "cost_ratio_line": head.get("cost_ratio_line"),
        "cost_ratio_question": head.get("cost_ratio_question"),
        "cost_per_question": {
            "edu": per_q.get("edu_generated_tokens", []),
            "uniform": per_q.get("uniform_generated_tokens", []),
        },
        "kappa_edu": head.get("kappa_edu"),
        "kappa_edu_ci95": head.get("kappa_edu_ci95"),
        "kappa_uniform": head.get("kappa_uniform"),
        "kappa_uniform_ci95": head.get("kappa_uniform_ci95"),
        "agreement": {},
        "prm_loss": train[0]["losses"] if train else [],
        "bon": bon,
        "bon_seeds": {"seeds": bon_all.get("seeds", []), "mean": means},
    }
