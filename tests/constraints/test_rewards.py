"""Reward functions with TRL's calling convention, and TRL's GRPOTrainer accepting them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ifrl.constraints import ConstraintSpecError
from ifrl.constraints.rewards import (
    ConstraintReward,
    completion_text,
    constraint_reward,
    loose_all,
    strict_all,
    strict_fraction,
    strip_thinking,
)

NO_COMMA = {"id": "punctuation:no_comma", "kwargs": {}}
LOWER = {"id": "change_case:english_lowercase", "kwargs": {}}
WORDS = {
    "id": "length_constraints:number_words",
    "kwargs": {"num_words": 3, "relation": "at least"},
}
QUOTED = {"id": "startend:quotation", "kwargs": {}}


def test_all_and_fraction_modes() -> None:
    specs = [NO_COMMA, WORDS]
    completions = ["one two three four", "one, two, three", "one"]
    cols = {"constraints": [specs] * 3}
    assert strict_all(["p"] * 3, completions, **cols) == [1.0, 0.0, 0.0]
    assert strict_fraction(["p"] * 3, completions, **cols) == [1.0, 0.5, 0.5]


def test_strict_and_loose() -> None:
    text = 'Sure:\n"the whole answer is quoted"'
    cols = {"constraints": [[QUOTED]]}
    assert strict_all(["p"], [text], **cols) == [0.0]
    assert loose_all(["p"], [text], **cols) == [1.0]


def test_ifeval_columns_json_strings_conversational_and_none() -> None:
    reward = constraint_reward("fraction")
    cols = {
        "instruction_id_list": [["punctuation:no_comma"], json.dumps(["punctuation:no_comma"]), []],
        "kwargs": [[{}], json.dumps([{"unused": None}]), []],
    }
    completions = [
        [{"role": "assistant", "content": "no commas"}],
        "a, b",
        "anything",
    ]
    assert reward(["p"] * 3, completions, **cols) == [1.0, 0.0, None]


def test_think_is_stripped_when_asked() -> None:
    specs = {"constraints": [[LOWER, NO_COMMA]] * 3}
    completions = [
        "<think>Hmm, Let Me Think, Carefully.</think>\nthis is a calm lowercase english answer",
        "<think>I never finish thinking",
        "this is a calm lowercase english answer",
    ]
    plain = ConstraintReward("all", "strict")
    think = ConstraintReward("all", "strict", strip_think=True)
    assert plain(["p"] * 3, completions, **specs) == [0.0, 0.0, 1.0]
    assert think(["p"] * 3, completions, **specs) == [1.0, 0.0, 1.0]
    assert strip_thinking("a</think>b</think> c") == " c"
    assert completion_text([{"role": "user", "content": "q"}, {"content": "a"}]) == "a"


def test_soft_constraints_are_not_scored_here() -> None:
    soft = {"id": "soft:tone", "kwargs": {"tone": "formal"}, "kind": "soft"}
    cols = {"constraints": [[soft, NO_COMMA], [soft]]}
    assert strict_all(["p"] * 2, ["a b", "a b"], **cols) == [1.0, None]


def test_bad_columns_fail_clearly() -> None:
    with pytest.raises(ConstraintSpecError, match="no 'constraints' or 'instruction_id_list'"):
        strict_all(["p"], ["x"], answer=["y"])
    with pytest.raises(ConstraintSpecError, match="num_words"):
        strict_all(["p"], ["x"], constraints=[[{"id": WORDS["id"], "kwargs": {"num_words": "3"}}]])
    with pytest.raises(ValueError, match="mode"):
        ConstraintReward("most")  # type: ignore[arg-type]


def test_reward_has_a_name_for_trl_logs() -> None:
    assert strict_fraction.__name__ == "constraints_strict_fraction"
    assert constraint_reward("all", "loose").__name__ == "constraints_loose_all"


@pytest.mark.slow
def test_trl_grpo_trainer_accepts_the_reward_unchanged(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip("trl", reason="TRL is a test-only dependency (pip install trl)")
    datasets = pytest.importorskip("datasets", reason="TRL needs datasets")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    calls: list[dict[str, Any]] = []
    reward = constraint_reward("fraction", "loose")

    class Spy:
        """Records what TRL passes, then delegates to our reward unchanged."""

        __name__ = reward.__name__

        def __call__(self, prompts: Any, completions: Any, **columns: Any) -> Any:
            out = reward(prompts, completions, **columns)
            calls.append({"n": len(completions), "columns": set(columns), "out": out})
            return out

    torch.manual_seed(0)
    rows = [
        {"prompt": "Say hello.", "constraints": [NO_COMMA]},
        {"prompt": "Describe rain.", "constraints": [WORDS, NO_COMMA]},
    ]
    args = GRPOConfig(
        output_dir=str(tmp_path / "grpo"),
        num_generations=2,
        per_device_train_batch_size=2,
        max_completion_length=8,
        max_steps=1,
        report_to="none",
        use_cpu=True,
        bf16=False,
        logging_steps=1,
        save_strategy="no",
    )
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32),
        reward_funcs=[reward, Spy()],
        args=args,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=AutoTokenizer.from_pretrained(tiny_model_dir),
    )
    trainer.train()
    assert calls and "constraints" in calls[0]["columns"]
    assert all(isinstance(x, float) and 0.0 <= x <= 1.0 for c in calls for x in c["out"])
    logged = {k for entry in trainer.state.log_history for k in entry}
    assert any(reward.__name__ in k for k in logged), logged
