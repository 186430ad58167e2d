"""QLoRA: the base loads in 4-bit nf4 through bitsandbytes on CPU, LoRA adapters train, loss falls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rl_helpers import conversations

from ifrl.core import Conversation
from ifrl.rltrain.sft import SFTConfig, SFTTrainer

pytest.importorskip(
    "bitsandbytes", reason="QLoRA needs bitsandbytes (pip install 'ifrl-rltrain[qlora]')"
)


@pytest.mark.slow
def test_qlora_sft_loss_falls(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = SFTConfig(
        model=str(tiny_model_dir),
        output_dir=str(tmp_path),
        load_in_4bit=True,
        lora_r=8,
        lora_target_modules=(
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ),
        learning_rate=3e-3,
        per_device_batch_size=4,
        max_steps=10,
        progress=False,
    )
    convs = [Conversation.from_openai(r) for r in conversations(8)]
    tr = SFTTrainer(cfg, train_data=convs)
    import bitsandbytes as bnb

    four_bit = [m for m in tr.policy.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert four_bit and all(m.weight.quant_state.quant_type == "nf4" for m in four_bit)
    assert all("lora" in n for n, p in tr.policy.named_parameters() if p.requires_grad)
    before = tr.evaluate(convs)
    tr.train()
    after = tr.evaluate(convs)
    assert after < before - 0.5, (before, after)
    losses = [json.loads(x)["loss"] for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0]
    assert (tmp_path / "final" / "adapter_model.safetensors").exists()
