"""Our GRPO loss (grpo, dr_grpo, dapo; clipping, k3 KL) equals TRL's GRPO loss on a fixed batch."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

trl = pytest.importorskip("trl", reason="TRL is a test-only dependency of the parity tests")
datasets = pytest.importorskip("datasets")

from ifrl.rltrain.grpo import grpo_loss  # noqa: E402
from ifrl.rltrain.logprobs import completion_logprobs  # noqa: E402

B, P, C = 4, 5, 6


def _reward(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
    return [0.0] * len(completions)


def _batch(vocab: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    completion_mask = torch.ones(B, C, dtype=torch.long)
    completion_mask[1, 4:] = 0  # an EOS-terminated shorter completion
    completion_mask[3, 2:] = 0
    return {
        "prompt_ids": torch.randint(3, vocab, (B, P), generator=g),
        "prompt_mask": torch.ones(B, P, dtype=torch.long),
        "completion_ids": torch.randint(3, vocab, (B, C), generator=g),
        "completion_mask": completion_mask,
        "advantages": torch.tensor([1.2, -0.7, 0.4, -0.9]),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("loss_type", "beta", "eps_high", "correction"),
    [
        ("grpo", 0.04, 0.2, True),
        ("grpo", 0.04, 0.2, False),
        ("dr_grpo", 0.0, 0.28, True),
        ("dapo", 0.1, 0.28, True),
    ],
)
def test_grpo_loss_matches_trl(
    loss_type: str,
    beta: float,
    eps_high: float,
    correction: bool,
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    theirs = copy.deepcopy(base)
    args = GRPOConfig(
        output_dir=str(tmp_path / "trl"),
        loss_type=loss_type,
        beta=beta,
        epsilon=0.2,
        epsilon_high=eps_high,
        num_generations=4,
        per_device_train_batch_size=4,
        max_completion_length=C,
        report_to="none",
        use_cpu=True,
        bf16=False,
        use_bias_correction_kl=correction,
    )
    trainer = GRPOTrainer(
        model=theirs,
        reward_funcs=_reward,
        args=args,
        train_dataset=datasets.Dataset.from_list([{"prompt": "hi"}] * 4),
        processing_class=tok,
    )
    trainer.current_gradient_accumulation_steps = 1
    batch = _batch(len(tok))
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    attn = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    with torch.no_grad():
        now, _ = completion_logprobs(base, ids, attn, C)
    g = torch.Generator().manual_seed(5)
    # Old policy off by up to ±0.4 nats so both clip sides are hit; the reference differs too.
    old = now + 0.4 * (2 * torch.rand(now.shape, generator=g) - 1)
    ref = now + 0.3 * torch.randn(now.shape, generator=g)
    inputs = {
        **batch,
        "old_per_token_logps": old,
        "ref_per_token_logps": ref,
        "num_items_in_batch": batch["completion_mask"].sum(),
    }
    theirs.train()
    their_loss = trainer._compute_loss(theirs, inputs)
    their_loss.backward()

    ours = copy.deepcopy(base)
    ours.train()
    logps, _ = completion_logprobs(ours, ids, attn, C)
    parts = grpo_loss(
        logps,
        old,
        batch["advantages"],
        batch["completion_mask"],
        ref_logps=ref,
        beta=beta,
        epsilon_low=0.2,
        epsilon_high=eps_high,
        loss_type=loss_type,
        max_completion_length=C,
        kl_ratio_correction=correction,
    )
    parts.loss.backward()
    assert parts.clip_low > 0 and parts.clip_high > 0
    assert abs(float(parts.loss) - float(their_loss)) < 1e-6, (float(parts.loss), float(their_loss))
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-4, msg=name)


# ------------------------------------------------------------------------------------------------
# Advantages, rows without reward, frac_reward_zero_std and the sampler correction: TRL's own
# `_generate_and_score_completions` on scripted completions against our trainer's rollout.

G8, GROUP = 8, 4  # 8 completions per step: 2 prompts x 4

# Rewards by completion index: two functions; None where a function has no opinion. Group 0
# has spread; group 1 has identical scorable rewards (zero std) and a completion no function
# scored (both None).
TABLE_A: list[float | None] = [1.0, 0.0, None, 1.0, 0.5, 0.5, None, 0.5]
TABLE_B: list[float | None] = [0.0, None, 1.0, 1.0, 1.0, 1.0, None, 1.0]
# One scorable completion in group 0 (undefined std), spread in group 1.
TABLE_C: list[float | None] = [None, None, 0.7, None, 0.0, 1.0, 0.25, 1.0]


def _table_reward(name: str, table: list[float | None]) -> Any:
    def reward(prompts: list[Any], completions: list[Any], **_: Any) -> list[float | None]:
        return [table[int(str(c).removeprefix("c"))] for c in completions]

    reward.__name__ = name
    return reward


class _Scripted:
    """Completions c0..c7 (token ids 40+i, then EOS), in prompt order; optional logprobs."""

    def __init__(self, eos: int, logprobs: list[list[float]] | None = None) -> None:
        self.eos_ids = frozenset({eos})
        self.logprobs = logprobs

    def generate(self, prompts: Sequence[Any], params: Any) -> list[list[Any]]:
        from ifrl.core.records import Completion

        eos = next(iter(self.eos_ids))
        out = []
        for k in range(len(prompts)):
            row = []
            for j in range(params.n):
                i = k * params.n + j
                lps = tuple(self.logprobs[i]) if self.logprobs is not None else ()
                row.append(Completion(text=f"c{i}", token_ids=(40 + i, 50 + i, eos), logprobs=lps))
            out.append(row)
        return out


def _trl_scored(
    tiny_model_dir: Path,
    tmp_path: Path,
    funcs: list[Any],
    weights: list[float],
    scale: str,
    *,
    sampler_logps: list[list[float]] | None = None,
    is_mode: str = "token_truncate",
    clip: tuple[float | None, float | None] = (None, 3.0),
) -> tuple[dict[str, Any], dict[str, list[float]], Any]:
    """TRL's rollout output and metrics for the scripted completions c0..c7."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    args = GRPOConfig(
        output_dir=str(tmp_path / "trl"),
        num_generations=GROUP,
        per_device_train_batch_size=G8,
        max_completion_length=3,
        scale_rewards=scale,
        reward_weights=weights,
        report_to="none",
        use_cpu=True,
        bf16=False,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=datasets.Dataset.from_list([{"prompt": "hi"}] * G8),
        processing_class=tok,
    )
    prompt_ids = list(tok("hi")["input_ids"])
    eos = int(tok.eos_token_id)
    completion_ids = [[40 + i, 50 + i, eos] for i in range(G8)]

    def scripted(prompts: list[Any]) -> tuple[Any, ...]:
        return (
            [prompt_ids] * G8,
            completion_ids,
            None,
            [f"c{i}" for i in range(G8)],
            sampler_logps,
            {},
            None,
            [],
        )

    trainer._generate = scripted  # type: ignore[method-assign]
    if sampler_logps is not None:
        trainer.use_vllm = True
        trainer.vllm_importance_sampling_correction = True
        trainer.vllm_importance_sampling_mode = is_mode
        trainer.vllm_importance_sampling_clip_min, trainer.vllm_importance_sampling_clip_max = clip
    assert trainer.model is not None
    trainer.model.train()
    out = trainer._generate_and_score_completions([{"prompt": "hi"}] * G8)
    return out, trainer._metrics["train"], trainer


def _ours(
    tiny_model_dir: Path,
    tmp_path: Path,
    funcs: list[Any],
    weights: list[float],
    scale: str,
    sampler_logps: list[list[float]] | None = None,
    **kw: Any,
) -> Any:
    """Our trainer after one rollout of the scripted completions c0..c7."""
    from ifrl.rltrain.grpo import GRPOConfig as OurConfig
    from ifrl.rltrain.grpo import GRPOTrainer as OurTrainer
    from ifrl.rltrain.models import load_tokenizer

    cfg = OurConfig(
        model=str(tiny_model_dir),
        output_dir=str(tmp_path / "ours"),
        per_device_batch_size=G8,
        num_generations=GROUP,
        max_completion_length=3,
        scale_rewards=scale,
        reward_funcs=tuple(f.__name__ for f in funcs),
        reward_weights=tuple(weights),
        progress=False,
        save_final_model=False,
        **kw,
    )
    eos = int(load_tokenizer(str(tiny_model_dir)).eos_token_id)
    engine = (
        _Scripted(eos, sampler_logps)
        if sampler_logps is None
        else _EngineScripted(eos, sampler_logps)
    )
    trainer = OurTrainer(
        cfg, reward_funcs=funcs, train_data=[{"prompt": "hi"}] * 2, generator=engine
    )
    trainer.rollout(0)
    return trainer


class _EngineScripted(_Scripted):
    """The scripted completions from an engine with its own weights (as vLLM): it takes
    load_weights, so the trainer corrects for its log-probs."""

    def load_weights(self, weights: Any) -> None:
        pass


@pytest.mark.slow
@pytest.mark.parametrize("scale", ["group", "batch", "none"])
@pytest.mark.parametrize("case", ["two_funcs_with_none", "single_scorable_in_a_group"])
def test_advantages_and_none_rewards_match_trl(
    scale: str, case: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    if case == "two_funcs_with_none":
        funcs = [_table_reward("fa", TABLE_A), _table_reward("fb", TABLE_B)]
        weights = [1.0, 0.5]
    else:
        funcs = [_table_reward("fc", TABLE_C)]
        weights = [2.0]
    theirs, their_metrics, _ = _trl_scored(tiny_model_dir, tmp_path, funcs, weights, scale)
    ours = _ours(tiny_model_dir, tmp_path, funcs, weights, scale)
    adv = torch.cat([mb["advantages"] for mb in ours.buffer])
    torch.testing.assert_close(adv, theirs["advantages"].float(), atol=1e-6, rtol=1e-5)
    m = ours.buffer_metrics
    assert m["frac_reward_zero_std"] == pytest.approx(their_metrics["frac_reward_zero_std"][-1])
    assert m["reward"] == pytest.approx(their_metrics["reward"][-1], abs=1e-6)
    for f in funcs:
        key = f"rewards/{f.__name__}/mean"
        assert m[key] == pytest.approx(their_metrics[key][-1], abs=1e-6), key
    if case == "two_funcs_with_none":
        # Completion 6 was scored by no function: advantage 0. Group 1's other rewards are
        # equal, so half the completions sit in a zero-std group (the batch as a whole varies).
        assert float(adv[6]) == 0.0
        assert m["frac_reward_zero_std"] == (0.0 if scale == "batch" else 0.5)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "clip"),
    [
        ("token_truncate", (None, 3.0)),
        ("token_mask", (0.5, 1.2)),
        ("sequence_truncate", (0.9, 1.1)),
        ("sequence_mask", (None, 1.05)),
    ],
)
def test_sampler_importance_weights_match_trl(
    mode: str, clip: tuple[float | None, float | None], tiny_model_dir: Path, tmp_path: Path
) -> None:
    """TRL's vllm_importance_sampling_correction on the same sampler log-probs: our trainer's
    weights (from its own log-probs of the rollout) equal TRL's ratios, and so do the metrics."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    g = torch.Generator().manual_seed(11)
    funcs = [_table_reward("fa", TABLE_A)]
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    eos = int(tok.eos_token_id)
    p_ids = list(tok("hi")["input_ids"])
    ids = torch.tensor([[*p_ids, 40 + i, 50 + i, eos] for i in range(G8)])
    with torch.no_grad():
        trainer_lp, _ = completion_logprobs(model, ids, torch.ones_like(ids), 3)
    # The sampler's log-probs: the trainer's plus noise, one token without any.
    sampler = trainer_lp + 0.3 * torch.randn(trainer_lp.shape, generator=g)
    sampler[2, 1] = math.nan
    sampler_list = [[float(x) for x in row] for row in sampler]
    theirs, their_metrics, _ = _trl_scored(
        tiny_model_dir,
        tmp_path,
        funcs,
        [1.0],
        "group",
        sampler_logps=sampler_list,
        is_mode=mode,
        clip=clip,
    )
    ours = _ours(
        tiny_model_dir,
        tmp_path,
        funcs,
        [1.0],
        "group",
        sampler_list,
        vllm_importance_sampling_mode=mode,
        vllm_importance_sampling_clip_min=clip[0],
        vllm_importance_sampling_clip_max=clip[1],
    )
    weights = torch.cat([mb["is_weights"] for mb in ours.buffer])
    expected = theirs["importance_sampling_ratio"].float()
    torch.testing.assert_close(weights, expected, atol=1e-5, rtol=1e-4)
    assert (weights != 1).any()  # the correction did something, so the check can fail
    for key in (
        "sampling/importance_sampling_ratio/min",
        "sampling/importance_sampling_ratio/mean",
        "sampling/importance_sampling_ratio/max",
        "sampling/sampling_logp_difference/mean",
        "sampling/sampling_logp_difference/max",
    ):
        assert ours.buffer_metrics[key] == pytest.approx(their_metrics[key][-1], rel=1e-4), key
