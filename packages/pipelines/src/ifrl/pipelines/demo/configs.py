"""The demo's runs and their configs (recipe config mappings sized for a 2-core CPU)."""

from __future__ import annotations

from typing import Any

#: The runs of the demo, in order: (name, recipe).
RUNS = (
    ("toolace", "toolace"),
    ("toolace-rejected", "toolace"),
    ("itool", "itool"),
    ("if-rlvr-hard", "if-rlvr"),
    ("if-rlvr-noisy", "if-rlvr"),
    ("edu-prm", "edu-prm"),
)


def demo_configs(quick: bool) -> dict[str, dict[str, Any]]:
    """The runs' configs (recipe config mappings), small enough for a 2-core CPU.

    ``itool`` starts from the ``toolace`` run's SFT model; :func:`run_demo` fills in its path.
    The tool runs start from the ``tool`` micro policy and the IF-RLVR runs from ``if``
    (their ``-tiny`` builds with ``quick``); EDU-PRM warms up its own arithmetic policy.
    """
    if quick:
        toolace: dict[str, Any] = {
            "apis": {"n": 6, "heldout": 6, "max_params": 2},
            "dialogs": {"n": 8, "max_tools": 2, "types": ["single"], "defect_share": 0.5},
            "verify": {"first_turn_only": True, "limit": 3},
            "sft": {
                "curriculum": "tool_calls",
                "curriculum_stages": 2,
                "trainer": {
                    "max_steps": 2,
                    "per_device_batch_size": 2,
                    "learning_rate": 1e-3,
                    "save_steps": 1,
                    "max_length": 1024,
                    "progress": False,
                },
            },
            "eval": {"n": 2, "max_new_tokens": 8, "seen_tools": 2},
        }
        itool: dict[str, Any] = {
            "data": {"eval_limit": 2},
            "itool": {
                "iterations": 1,
                "sft_steps": 0,
                "deficiency_fraction": 0.5,
                "mcts_iterations": 1,
                "mcts_actions": 2,
                "mcts_max_new_tokens": 8,
                "max_steps": 1,
                "per_device_batch_size": 2,
                "learning_rate": 1e-4,
                "eval_max_new_tokens": 8,
                "device": "cpu",
                "progress": False,
            },
        }
        grpo = {
            "max_steps": 2,
            "num_generations": 2,
            "per_device_batch_size": 4,
            "max_completion_length": 8,
            "learning_rate": 1e-3,
            "progress": False,
        }
        rl: dict[str, Any] = {
            "seeds": {"n": 8},
            "audit": {"enabled": True, "samples": 2, "max_new_tokens": 8},
            "eval": {"max_new_tokens": 8},
        }
        edu: dict[str, Any] = {
            "policy": {"warmup_problems": 64, "warmup_epochs": 1.0},
            "questions": {"train": 4, "eval": 3},
            "branch": {"max_depth": 1, "max_branches": 2, "max_new_tokens": 16},
            "uniform": {"rollouts": 2},
            "prm": {"epochs": 1.0, "batch_size": 4, "max_length": 96},
            "bon": {"n": 2},
        }
    else:
        toolace = {
            "apis": {"n": 6, "heldout": 6, "max_params": 1},
            "dialogs": {"n": 300, "max_tools": 2, "types": ["single"], "defect_share": 0.5},
            "verify": {"first_turn_only": True, "limit": 120},
            "sft": {
                "curriculum": "tool_calls",
                "curriculum_stages": 2,
                "trainer": {
                    "max_steps": 200,
                    "per_device_batch_size": 4,
                    "learning_rate": 1e-3,
                    "lr_scheduler": "cosine",
                    "warmup_steps": 20,
                    "save_steps": 100,
                    "max_length": 1024,
                },
            },
            "eval": {"n": 24, "max_new_tokens": 48, "seen_tools": 24},
        }
        itool = {
            "data": {"eval_limit": 24},
            "itool": {
                "iterations": 1,
                "sft_steps": 0,
                "deficiency_fraction": 0.25,
                "mcts_iterations": 4,
                "mcts_actions": 3,
                "mcts_temperature": 1.0,
                "mcts_max_new_tokens": 48,
                "max_steps": 30,
                "per_device_batch_size": 4,
                "learning_rate": 5e-4,
                "eval_max_new_tokens": 48,
                "device": "cpu",
            },
        }
        grpo = {
            "max_steps": 20,
            "num_generations": 8,
            "per_device_batch_size": 16,
            "max_completion_length": 32,
            "learning_rate": 1e-3,
            "save_steps": 10,
        }
        rl = {
            "seeds": {"n": 48},
            "audit": {"enabled": True, "samples": 2, "max_new_tokens": 32},
            "eval": {"max_new_tokens": 48},
        }
        edu = {
            "policy": {"warmup_problems": 600, "warmup_epochs": 2.0},
            "questions": {"train": 80, "eval": 40},
            "branch": {"max_depth": 3, "max_branches": 8, "max_new_tokens": 48},
            "uniform": {"rollouts": 8, "questions": 40},
            "prm": {"epochs": 4.0, "batch_size": 16, "max_length": 160},
            "bon": {"n": 8},
        }
    judge = {"recall_compliant": 1.0, "recall_noncompliant": 0.2, "seed": 0}
    # The micro policies (ifrl.pipelines.micro): built on first use, then cached.
    toolace["model"] = {"path": "micro:tool-tiny" if quick else "micro:tool"}
    rl["model"] = {"path": "micro:if-tiny" if quick else "micro:if"}
    # The same SFT on as many dialogs that failed the verification (a planted rule fault each).
    rejected = {**toolace, "verify": {**toolace["verify"], "train_on": "rejected"}}
    return {
        "toolace": toolace,
        "toolace-rejected": rejected,
        "itool": itool,
        "if-rlvr-hard": {**rl, "judge": judge, "grpo": {"reward": "hard", "trainer": grpo}},
        "if-rlvr-noisy": {**rl, "judge": judge, "grpo": {"reward": "noisy_judge", "trainer": grpo}},
        "edu-prm": edu,
    }
