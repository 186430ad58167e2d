"""GRPO: advantages, loss aggregation, reference handling, truncation masking, and it learns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from rl_helpers import PROMPTS, lowercase, no_comma

from ifrl.core.config import ConfigError
from ifrl.core.records import SamplingParams
from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer, group_advantages, grpo_loss


def test_group_advantages_scales() -> None:
    r = torch.tensor([1.0, 0.0, 1.0, 1.0, 3.0, 1.0, 2.0, 2.0])
    none = group_advantages(r, 4, "none")
    assert torch.allclose(none, torch.tensor([0.25, -0.75, 0.25, 0.25, 1.0, -1.0, 0.0, 0.0]))
    grp = group_advantages(r, 4, "group")
    assert torch.allclose(grp[:4], none[:4] / (r[:4].std() + 1e-4))
    assert torch.allclose(grp[4:], none[4:] / (r[4:].std() + 1e-4))
    batch = group_advantages(r, 4, "batch")
    assert torch.allclose(batch, none / (r.std() + 1e-4))
    # A group whose completions all score the same gets zero advantage.
    assert torch.equal(group_advantages(torch.ones(4), 4, "group"), torch.zeros(4))


def test_loss_aggregations_weight_tokens_differently() -> None:
    logps = torch.zeros(2, 4, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 1], [1, 0, 0, 0]])
    adv = torch.tensor([1.0, 1.0])
    # ratio 1 everywhere: per-token loss is -A = -1 on every unmasked token
    grpo = grpo_loss(logps, logps.detach(), adv, mask, loss_type="grpo").loss
    dr = grpo_loss(
        logps, logps.detach(), adv, mask, loss_type="dr_grpo", max_completion_length=8
    ).loss
    dapo = grpo_loss(logps, logps.detach(), adv, mask, loss_type="dapo").loss
    assert float(grpo) == pytest.approx(-1.0)
    assert float(dr) == pytest.approx(-5 / 16)
    assert float(dapo) == pytest.approx(-1.0)
    # dapo: every token weighs the same, so the short sequence's token gets 1/5 of the gradient
    dapo.backward()
    assert logps.grad is not None
    assert torch.allclose(logps.grad[1, 0], torch.tensor(-1 / 5))


def test_clipping_stops_gradient_beyond_epsilon() -> None:
    old = torch.zeros(1, 2)
    logps = torch.log(torch.tensor([[1.5, 0.9]])).requires_grad_(True)
    parts = grpo_loss(
        logps, old, torch.tensor([1.0]), torch.ones(1, 2), epsilon_low=0.2, epsilon_high=0.28
    )
    parts.loss.backward()
    assert logps.grad is not None
    assert logps.grad[0, 0] == 0  # ratio 1.5 > 1.28 with A > 0: clipped
    assert logps.grad[0, 1] != 0  # ratio 0.9 inside the range
    assert parts.clip_high == pytest.approx(0.5)


def _cfg(tiny_model_dir: Path, tmp_path: Path, **kw: Any) -> GRPOConfig:
    base: dict[str, Any] = dict(
        model=str(tiny_model_dir),
        output_dir=str(tmp_path),
        per_device_batch_size=8,
        num_generations=4,
        max_completion_length=6,
        max_steps=2,
        progress=False,
        save_final_model=False,
        learning_rate=1e-3,
    )
    base.update(kw)
    return GRPOConfig(**base)


def test_beta_zero_loads_no_reference_and_lora_reference_is_the_base(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    t0 = GRPOTrainer(
        _cfg(tiny_model_dir, tmp_path / "a"), reward_funcs=[no_comma], train_data=PROMPTS
    )
    assert t0.reference is None
    t1 = GRPOTrainer(
        _cfg(tiny_model_dir, tmp_path / "b", beta=0.1, use_lora=True, lora_r=4),
        reward_funcs=[no_comma],
        train_data=PROMPTS,
    )
    assert t1.reference is None  # with LoRA the base (adapters disabled) is the reference
    with torch.no_grad():
        for p in t1.policy.parameters():
            if p.requires_grad:
                p.add_(0.05)  # make the adapter non-trivial
    t1.rollout(0)
    mb = t1.buffer[0]
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    with torch.no_grad():
        expect = t1._logps(base, mb)
        policy = t1._logps(t1.policy, mb)
    torch.testing.assert_close(mb["ref_logps"], expect, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(policy, expect, atol=1e-3)
    t2 = GRPOTrainer(
        _cfg(tiny_model_dir, tmp_path / "c", beta=0.1), reward_funcs=[no_comma], train_data=PROMPTS
    )
    assert t2.reference is not None and t2.reference is not t2.policy


@pytest.mark.slow
def test_truncated_completions_are_masked_and_iterations_reuse_rollouts(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    calls = []

    def counting(prompts: list[Any], completions: list[Any], **kw: Any) -> list[float]:
        calls.append(len(completions))
        return no_comma(prompts, completions)

    cfg = _cfg(
        tiny_model_dir,
        tmp_path,
        max_completion_length=3,
        mask_truncated_completions=True,
        num_iterations=2,
        max_steps=4,
    )
    tr = GRPOTrainer(cfg, reward_funcs=[counting], train_data=PROMPTS)
    tr.rollout(0)
    mb = tr.buffer[0]
    lengths = mb["completion_mask"].sum(-1)
    full = (mb["completion_ids"] != tr.pad_id).sum(-1)
    # with only 3 new tokens nearly every completion is cut off: all of those are masked
    assert int((lengths == 0).sum()) >= 1
    assert torch.all((lengths == 0) | (lengths <= full))
    assert "old_logps" in mb
    tr.train()
    assert calls == [8, 8, 8]  # rollout(0) above, then steps 0 and 2 (num_iterations=2)


def test_config_rejects_bad_values(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="loss_type"):
        _cfg(tiny_model_dir, tmp_path, loss_type="ppo").validate()
    with pytest.raises(ConfigError, match="multiple of num_generations"):
        GRPOTrainer(
            _cfg(tiny_model_dir, tmp_path, per_device_batch_size=6),
            reward_funcs=[no_comma],
            train_data=PROMPTS,
        )


@pytest.mark.slow
def test_grpo_raises_verifiable_reward(tiny_model_dir: Path, tmp_path: Path) -> None:
    """no-comma + lowercase reward (0..2): +0.15 or more on held-out samples after 15 steps."""
    cfg = _cfg(
        tiny_model_dir,
        tmp_path,
        per_device_batch_size=16,
        num_generations=8,
        max_completion_length=8,
        max_steps=15,
        learning_rate=2e-3,
        loss_type="grpo",
        beta=0.0,
    )
    tr = GRPOTrainer(cfg, reward_funcs=[no_comma, lowercase], train_data=PROMPTS)

    def score() -> float:
        outs = tr._generator().generate(
            [p["prompt"] for p in PROMPTS], SamplingParams(n=8, max_new_tokens=8, seed=123)
        )
        texts = [o.text for g in outs for o in g]
        return (sum(no_comma([], texts)) + sum(lowercase([], texts))) / len(texts)

    before = score()
    tr.train()
    after = score()
    assert after >= before + 0.15, (before, after)
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 15
    for key in (
        "reward",
        "rewards/no_comma/mean",
        "rewards/lowercase/std",
        "kl",
        "entropy",
        "clip_ratio/low",
        "completion_length",
        "learning_rate",
        "tokens_per_second",
    ):
        assert key in rows[0], key


class _EngineCopy:
    """A generator holding its own model copy, like vLLM: it needs the policy's weights pushed."""

    def __init__(self, model_dir: Path) -> None:
        from transformers import AutoModelForCausalLM

        from ifrl.core.backends.hf import HFGenerator

        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        self.inner = HFGenerator(self.model, tokenizer=_tok(model_dir))
        self.eos_ids = self.inner.eos_ids
        self.loads = 0

    def load_weights(self, weights: dict[str, torch.Tensor]) -> None:
        missing, unexpected = self.model.load_state_dict(weights, strict=False)
        assert not unexpected and all("lm_head" in m for m in missing), (missing, unexpected)
        self.loads += 1

    def generate(self, prompts: Any, params: Any) -> Any:
        return self.inner.generate(prompts, params)


def _tok(model_dir: Path) -> Any:
    from ifrl.rltrain.models import load_tokenizer

    return load_tokenizer(str(model_dir))


def test_entropy_metric_is_the_same_from_an_exact_sampler_or_the_training_forward(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """HFGenerator's exact entropies stand in for the forward pass's; an engine that does not
    declare ``exact_entropies`` (vLLM's top-k estimates) gets them measured by the forward."""
    entropies = []
    for name, generator in (("exact", None), ("engine", _EngineCopy(tiny_model_dir))):
        cfg = _cfg(tiny_model_dir, tmp_path / name, max_steps=1, temperature=1.0)
        tr = GRPOTrainer(cfg, reward_funcs=[no_comma], train_data=PROMPTS, generator=generator)
        tr.train()
        assert tr.rollout_entropy is (generator is None)
        row = json.loads((tmp_path / name / "metrics.jsonl").read_text().splitlines()[0])
        entropies.append(row["entropy"])
    assert entropies[0] == pytest.approx(entropies[1], abs=1e-4)


def test_external_engine_receives_merged_lora_weights_before_each_rollout(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    engine = _EngineCopy(tiny_model_dir)
    cfg = _cfg(tiny_model_dir, tmp_path, use_lora=True, lora_r=4, learning_rate=5e-2, max_steps=2)
    tr = GRPOTrainer(cfg, reward_funcs=[no_comma, lowercase], train_data=PROMPTS, generator=engine)
    tr.train()
    assert engine.loads == 2
    tr._generator()  # the next rollout would push the weights after step 2
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        torch.testing.assert_close(
            engine.model(ids).logits, tr.policy(ids).logits, atol=1e-4, rtol=1e-4
        )


def test_engine_without_weight_loading_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = _cfg(tiny_model_dir, tmp_path, backend="openai")
    tr = GRPOTrainer(cfg, reward_funcs=[no_comma], train_data=PROMPTS, generator=_NoLoad())
    with pytest.raises(ConfigError, match="load_weights"):
        tr.rollout(0)


class _NoLoad:
    def generate(self, prompts: Any, params: Any) -> Any:
        raise AssertionError("must not sample from stale weights")


def test_overlong_prompt_is_an_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = _cfg(tiny_model_dir, tmp_path, max_prompt_length=4)
    tr = GRPOTrainer(cfg, reward_funcs=[no_comma], train_data=PROMPTS)
    with pytest.raises(ValueError, match="max_prompt_length=4"):
        tr.rollout(0)


class _Fixed:
    """A policy-side generator returning completions of known lengths (1..3 tokens)."""

    def __init__(self, eos: int) -> None:
        self.eos_ids = frozenset({eos})

    def generate(self, prompts: list[Any], params: SamplingParams) -> list[list[Any]]:
        from ifrl.core.records import Completion

        lengths = [1, 3, 2, 2]
        return [
            [
                Completion(text="a" * k, token_ids=tuple([40 + j] * k))
                for j, k in zip(range(params.n), lengths * params.n)
            ]
            for _ in prompts
        ]


def test_completions_are_padded_to_the_longest_not_to_the_limit(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    cfg = _cfg(tiny_model_dir, tmp_path, max_completion_length=16, max_steps=1)
    tr = GRPOTrainer(cfg, reward_funcs=[no_comma], train_data=PROMPTS, generator=_Fixed(2))
    tr.rollout(0)
    mb = tr.buffer[0]
    assert mb["completion_ids"].shape[1] == 3  # the longest completion, not 16
    assert mb["completion_mask"].sum(-1).tolist() == [1, 3, 2, 2] * 2
    # every completion hit neither EOS nor the limit: all count as truncated
    assert tr.buffer_metrics["truncated_fraction"] == 1.0
    result = tr.train()
    assert result.metrics["tokens_per_second"] > 0
    assert torch.isfinite(torch.tensor(result.metrics["loss"]))
