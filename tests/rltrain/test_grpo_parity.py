"""Our GRPO loss (grpo, dr_grpo, dapo; clipping, k3 KL) equals TRL's GRPO loss on a fixed batch."""

from __future__ import annotations

import copy
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
