"""Reward functions with TRL's calling convention, and TRL's GRPOTrainer accepting them."""

from __future__ import annotations

import json
import warnings
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
    with pytest.raises(ConstraintSpecError, match="no 'constraints', 'instruction_id_list' or"):
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


UNKNOWN = {"id": "new:not_a_type", "kwargs": {}}
WORD_ONCE = {"id": "keywords:word_once", "kwargs": {"keyword": "tea"}}


def test_on_unknown_raise_skip_zero() -> None:
    from ifrl.constraints.rewards import UnknownConstraintWarning
    from ifrl.core.registry import UnknownNameError

    cols = {"constraints": [[NO_COMMA, UNKNOWN], [UNKNOWN]]}
    completions = ["no commas here", "anything"]
    with pytest.raises(UnknownNameError, match="new:not_a_type"):
        ConstraintReward("fraction")(["p"] * 2, completions, **cols)
    logged: dict[str, float] = {}
    with pytest.warns(UnknownConstraintWarning, match="new:not_a_type"):
        skip = ConstraintReward("fraction", on_unknown="skip", name="r")
        assert skip(["p"] * 2, completions, log_metric=logged.__setitem__, **cols) == [1.0, None]
    assert logged == {"r/unknown_constraints": 2 / 3}
    zero = ConstraintReward("fraction", on_unknown="zero")
    assert zero(["p"] * 2, completions, **cols) == [0.5, 0.0]
    assert ConstraintReward("all", on_unknown="zero")(["p"], ["no commas"], **cols) == [0.0]
    with pytest.raises(ValueError, match="on_unknown"):
        ConstraintReward(on_unknown="ignore")  # type: ignore[arg-type]


def test_per_constraint_pass_rates_are_logged() -> None:
    lower = {"id": "change_case:english_lowercase", "kwargs": {}}
    cols = {"constraints": [[NO_COMMA, lower], [NO_COMMA], [lower, UNKNOWN]]}
    completions = ["this sentence is written in plain english with no commas", "one, two", "Upper"]
    logged: dict[str, float] = {}
    reward = ConstraintReward("fraction", name="r", per_constraint=True, on_unknown="skip")
    with warnings.catch_warnings():  # the unknown id is warned about once per process
        warnings.simplefilter("ignore")
        out = reward(["p"] * 3, completions, log_metric=logged.__setitem__, **cols)
    assert out == [1.0, 0.0, 0.0]
    assert logged == {
        "r/pass/punctuation:no_comma": 0.5,
        "r/pass/change_case:english_lowercase": 0.5,
        "r/unknown_constraints": 0.2,
    }
    quiet: dict[str, float] = {}
    ConstraintReward("fraction")(["p"], ["x"], log_metric=quiet.__setitem__, constraints=[[lower]])
    assert quiet == {}  # off by default


def test_judged_reward_on_unknown_and_verifiable_kinds() -> None:
    from ifrl.constraints import JudgedReward, NoisyJudge

    judged_comma = {**NO_COMMA, "kind": "soft"}  # a verifiable type the judge checks
    cols = {"constraints": [[WORDS, judged_comma, UNKNOWN]]}
    lenient = JudgedReward(NoisyJudge(recall_noncompliant=0.0), "fraction", on_unknown="zero")
    # 3+ words (code) passes, the comma (judge, lenient) passes, the unknown id scores 0.
    assert lenient(["p"], ["one, two, three"], **cols) == [pytest.approx(2 / 3)]
    skip = JudgedReward(NoisyJudge(recall_noncompliant=0.0), "fraction", on_unknown="skip")
    assert skip(["p"], ["one, two, three"], **cols) == [1.0]
    # The truth of the same row: every verifiable constraint, whatever its kind.
    truth = ConstraintReward("fraction", kinds="verifiable", on_unknown="skip")
    assert truth(["p"], ["one, two, three"], **cols) == [0.5]
    assert ConstraintReward("fraction", on_unknown="skip")(["p"], ["one, two, three"], **cols) == [
        1.0
    ]


@pytest.mark.slow
@pytest.mark.parametrize("on_unknown", ["raise", "skip", "zero"])
def test_trl_grpo_trainer_on_ifevalg_rows_with_unknown_ids(
    tiny_model_dir: Path, tmp_path: Path, on_unknown: str
) -> None:
    """open-instruct's IF_multi_constraints data carries IFEvalG types and may carry ids a
    release does not know: a TRL run must not crash on the first such row unless asked to."""
    pytest.importorskip("trl", reason="TRL is a test-only dependency (pip install trl)")
    datasets = pytest.importorskip("datasets", reason="TRL needs datasets")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from ifrl.core.registry import UnknownNameError

    truth = [
        {
            "instruction_id": ["keywords:word_once", "new:not_a_type"],
            "kwargs": [{"keyword": "a"}, {}],
        }
    ]
    rows = [
        {"prompt": "Say hello.", "ground_truth": str(truth)},  # open-instruct's own column
        {
            "prompt": "Describe rain.",
            "ground_truth": str(
                [
                    {
                        "instruction_id": ["count:count_unique", "punctuation:punctuation_dot"],
                        "kwargs": [None, None],
                    }
                ]
            ),
        },
    ]
    reward = constraint_reward("fraction", on_unknown=on_unknown)  # type: ignore[arg-type]
    seen: list[list[float | None]] = []

    def spy(prompts: Any, completions: Any, **columns: Any) -> Any:
        out = reward(prompts, completions, **columns)
        seen.append(out)
        return out

    spy.__name__ = reward.__name__  # type: ignore[attr-defined]
    torch.manual_seed(0)
    args = GRPOConfig(
        output_dir=str(tmp_path / "grpo"),
        num_generations=2,
        per_device_train_batch_size=4,
        max_completion_length=8,
        max_steps=1,
        report_to="none",
        use_cpu=True,
        bf16=False,
        logging_steps=1,
        save_strategy="no",
        shuffle_dataset=False,
    )
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32),
        reward_funcs=[spy],
        args=args,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=AutoTokenizer.from_pretrained(tiny_model_dir),
    )
    if on_unknown == "raise":
        with pytest.raises(UnknownNameError, match="new:not_a_type"):
            trainer.train()
        return
    trainer.train()  # the unknown id is warned about once per process (an earlier test may have)
    values = [v for batch in seen for v in batch]
    assert len(values) == 4 and all(v is not None and 0.0 <= v <= 1.0 for v in values)
    if on_unknown == "zero":  # the unknown half of the first row's reward is lost
        assert max(v for v in values[:2] if v is not None) <= 0.5
    logged = {k for entry in trainer.state.log_history for k in entry}
    assert any("unknown_constraints" in k for k in logged), logged
