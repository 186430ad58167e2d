"""The guard reward against degenerate answers, reward functions configured by name with
arguments, and the importance-sampling correction's arithmetic."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from rl_helpers import Scripted, write_rows

from ifrl.core.config import ConfigError
from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer, grpo_loss, resolve_reward
from ifrl.rltrain.guard import GuardReward
from ifrl.rltrain.importance import sampler_importance_weights
from ifrl.rltrain.models import load_tokenizer


def test_guard_penalises_one_word_answers_and_passes_real_ones() -> None:
    guard = GuardReward(min_words=4)
    answers = ["yes", "the sea is calm and blue", [{"role": "assistant", "content": "ok ok"}]]
    assert guard([""] * 3, answers) == [-1.0, 0.0, -1.0]
    assert guard.__name__ == "guard"


@pytest.mark.parametrize(
    ("guard", "text", "fails"),
    [
        (GuardReward(max_words=3), "one two three four", ("too_long",)),
        (GuardReward(max_words=3), "one two three", ()),
        (GuardReward(min_distinct=0.5), "sea sea sea sea sea sea sea sea sky", ("repetitive",)),
        (GuardReward(min_distinct=0.5), "sea sea sea", ()),  # too short to judge repetition
        (GuardReward(required=(r"\d",)), "the answer is four", ("missing_required",)),
        (GuardReward(required=(r"\d",)), "the answer is 4", ()),
        (GuardReward(min_words=5, required=("Answer:",)), "x", ("too_short", "missing_required")),
    ],
)
def test_guard_checks(guard: GuardReward, text: str, fails: tuple[str, ...]) -> None:
    assert guard.failures(text) == fails
    assert guard([""], [text]) == [guard.penalty if fails else 0.0]


def test_guard_required_column_and_logged_rates() -> None:
    guard = GuardReward(min_words=2, required_column="topic", penalty=-0.5, name="task")
    logged: dict[str, float] = {}
    out = guard(
        ["", "", ""],
        ["the Sea today", "the sky today", "sea"],
        topic=["sea", ["sky", "today"], None],
        log_metric=lambda name, value: logged.__setitem__(name, value),
    )
    assert out == [0.0, 0.0, -0.5]  # the third is one word; its row names no topic
    assert logged == {"task/too_short": 1 / 3, "task/missing_column": 0.0, "task/failed": 1 / 3}
    assert guard([""], ["the sky"], topic=["sea"]) == [-0.5]
    with pytest.raises(KeyError, match="topic"):
        guard([""], ["x"])
    with pytest.raises(ValueError, match="max_words"):
        GuardReward(min_words=5, max_words=2)
    with pytest.raises(ValueError, match="required pattern"):
        GuardReward(required=("(",))


def test_reward_functions_load_from_names_and_factory_calls() -> None:
    guard = resolve_reward("ifrl.rltrain:GuardReward(min_words=3, required=('x',), name='g')")
    assert isinstance(guard, GuardReward)
    assert (guard.min_words, guard.required, guard.__name__) == (3, ("x",), "g")
    assert resolve_reward("rl_helpers:no_comma").__name__ == "no_comma"  # type: ignore[attr-defined]
    for bad, match in [
        ("ifrl.rltrain:GuardReward(min_words=len('ab'))", "literals"),
        ("ifrl.rltrain:GuardReward(min_words=9, max_words=2)", "max_words"),
        ("ifrl.rltrain:GuardReward(nope=1)", "nope"),
        ("ifrl.rltrain:NoSuchThing", "cannot load"),
        ("ifrl.rltrain:__version__", "not callable"),
        ("no_colon", "module:function"),
    ]:
        with pytest.raises(ConfigError, match=match):
            resolve_reward(bad)


def test_guard_from_the_config_runs_in_grpo(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = write_rows(tmp_path / "p.jsonl", [{"prompt": "a b"}, {"prompt": "c d"}])
    cfg = GRPOConfig(
        model=str(tiny_model_dir),
        data=str(data),
        output_dir=str(tmp_path / "run"),
        per_device_batch_size=8,
        num_generations=4,
        max_steps=1,
        progress=False,
        save_final_model=False,
        reward_funcs=("rl_helpers:no_comma", "ifrl.rltrain:GuardReward(min_words=3)"),
    )
    eos = int(load_tokenizer(str(tiny_model_dir)).eos_token_id)
    tr = GRPOTrainer(cfg, generator=Scripted(eos))
    tr.rollout(0)
    m = tr.buffer_metrics
    # Every scripted answer is two words ("a s0"): all fail the guard.
    assert m["rewards/guard/mean"] == -1.0 and m["guard/too_short"] == 1.0
    assert m["reward"] == 0.0  # no comma (1) + guard (-1)


def test_importance_weights_by_hand() -> None:
    trainer = torch.log(torch.tensor([[0.5, 0.2, 0.9]]))
    sampler = torch.log(torch.tensor([[0.25, 0.8, 0.3]]))  # ratios 2, 0.25, 3
    mask = torch.tensor([[1, 1, 0]])
    trunc = sampler_importance_weights(trainer, sampler, mask, "token_truncate", 0.5, 1.5)
    torch.testing.assert_close(trunc.weights, torch.tensor([[1.5, 0.5, 1.0]]))  # masked: ratio 1
    masked = sampler_importance_weights(trainer, sampler, mask, "token_mask", 0.5, 2.5)
    torch.testing.assert_close(masked.weights, torch.tensor([[2.0, 0.0, 1.0]]))
    seq = sampler_importance_weights(trainer, sampler, mask, "sequence_truncate", None, 3.0)
    torch.testing.assert_close(seq.weights, torch.tensor([[0.5]]))  # 2 x 0.25
    assert trunc.logp_diff_max == pytest.approx(math.log(4))
    assert (trunc.ratio_min, trunc.ratio_max) == pytest.approx((0.5, 1.5))
    nan = sampler_importance_weights(
        trainer, torch.full_like(sampler, math.nan), mask, "token_truncate"
    )
    torch.testing.assert_close(nan.weights, torch.ones(1, 3))
    with pytest.raises(ValueError, match="importance sampling mode"):
        sampler_importance_weights(trainer, sampler, mask, "token_clip")


def test_importance_weights_scale_the_policy_term_not_the_kl() -> None:
    logps = torch.zeros(1, 2, requires_grad=True)
    ref = torch.full((1, 2), -0.5)
    args: dict[str, Any] = dict(ref_logps=ref, beta=0.1, loss_type="dapo")
    plain = grpo_loss(logps, logps.detach(), torch.tensor([1.0]), torch.ones(1, 2), **args)
    w = torch.tensor([[2.0, 0.0]])
    weighted = grpo_loss(
        logps, logps.detach(), torch.tensor([1.0]), torch.ones(1, 2), importance_weights=w, **args
    )
    kl = math.exp(-0.5) + 0.5 - 1
    assert float(plain.loss) == pytest.approx(-1.0 + 0.1 * kl)
    assert float(weighted.loss) == pytest.approx((-2.0 + 0.0) / 2 + 0.1 * kl)
