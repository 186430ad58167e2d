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


def summarize(
    run_dir: Path,
    states: Mapping[str, Any],
    total: Mapping[str, float],
    quick: bool,
    timing: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """The numbers of the report, from the run directories."""
    tool = _result(states, "toolace", "eval")
    hard = _result(states, "if-rlvr-hard", "eval")
    noisy_m = _metrics(run_dir / "if-rlvr-noisy/grpo/metrics.jsonl")
    hard_m = _metrics(run_dir / "if-rlvr-hard/grpo/metrics.jsonl")
    judge = [m.get("rewards/judge_reward/mean", 0.0) for m in noisy_m]
    truth = [m.get("rewards/true_compliance/mean", 0.0) for m in noisy_m]
    it = _result(states, "itool", "summary")
    mcts = _result(states, "itool", "mcts-1")
    uni = _result(states, "edu-prm", "uniform")
    bon = _result(states, "edu-prm", "bon")
    prm_train = run_dir / "edu-prm/train.json"
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
        "edu_prm": {
            "questions": _result(states, "edu-prm", "questions"),
            "leaf_accuracy": _result(states, "edu-prm", "label").get("leaf_accuracy"),
            "edu_cost": _result(states, "edu-prm", "label").get("cost", {}),
            "uniform_cost": uni.get("cost", {}),
            "uniform_edu_cost": uni.get("edu_cost", {}),
            "cost_ratio": uni.get("generated_tokens_per_step_ratio"),
            "agreement": uni.get("agreement", {}),
            "prm_loss": (
                json.loads(prm_train.read_text(encoding="utf-8"))["losses"]
                if prm_train.exists()
                else []
            ),
            "bon": bon,
        },
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
