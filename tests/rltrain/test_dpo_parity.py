"""Our DPO/IPO losses and gradients equal TRL's DPOTrainer; our SimPO equals TRL's CPO (SimPO mode)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

trl = pytest.importorskip("trl", reason="TRL is a test-only dependency of the parity tests")
datasets = pytest.importorskip("datasets")

from ifrl.rltrain.dpo import (  # noqa: E402
    PairExample,
    collate_pairs,
    completion_logps,
    pair_logps,
    preference_losses,
    tokenize_pair,
)
from ifrl.rltrain.models import load_tokenizer  # noqa: E402

PAIRS = [
    {"prompt": "The sky is", "chosen": " blue today", "rejected": " green"},
    {"prompt": "Two plus two is", "chosen": " four", "rejected": " five, or maybe six"},
    # chosen and rejected share a prefix
    {"prompt": "Say hello:", "chosen": " hello there friend", "rejected": " hello there foe"},
    {"prompt": "Name a fruit", "chosen": ": apple", "rejected": ": a rock"},
]


def _model(path: Path) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    # perturb so policy and reference differ and the loss is not at its symmetric point
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return model


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def _ours(
    policy: torch.nn.Module,
    ref: torch.nn.Module,
    batch: dict[str, Any] | list[PairExample],
    loss_type: str,
    beta: float,
    pad_id: int = 0,
) -> torch.Tensor:
    """Our loss from the TRL-layout batch, or (from examples) the trainer's shared-prompt path."""
    if isinstance(batch, list):
        logps, lengths, _ = pair_logps(policy, batch, pad_id)
        with torch.no_grad():
            ref_logps, _, _ = pair_logps(ref, batch, pad_id)
    else:
        logps, lengths, _ = completion_logps(policy, batch)
        with torch.no_grad():
            ref_logps, _, _ = completion_logps(ref, batch)
    c, r = logps.chunk(2)
    rc, rr = ref_logps.chunk(2)
    lc, lr = lengths.chunk(2)
    losses, _ = preference_losses(c, r, rc, rr, lc, lr, loss_type=loss_type, beta=beta)
    return losses.mean()


@pytest.mark.slow
@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo"])
def test_dpo_loss_and_grads_match_trl(loss_type: str, tiny_model_dir: Path, tmp_path: Path) -> None:
    from trl import DPOConfig, DPOTrainer

    tok = load_tokenizer(str(tiny_model_dir))
    base = _model(tiny_model_dir)
    from transformers import AutoModelForCausalLM

    ref = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    theirs_model = copy.deepcopy(base)
    args = DPOConfig(
        output_dir=str(tmp_path / "trl"),
        beta=0.3,
        loss_type=[loss_type],
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
        bf16=False,
        max_length=None,
        logging_steps=1,
    )
    trainer = DPOTrainer(
        model=theirs_model,
        ref_model=copy.deepcopy(ref),
        args=args,
        train_dataset=datasets.Dataset.from_list(PAIRS),
        processing_class=tok,
    )
    rows = [trainer.train_dataset[i] for i in range(len(PAIRS))]
    theirs_batch = trainer.data_collator(rows)
    # Same tokenisation and the same padded batch layout.
    examples = [tokenize_pair(tok, p) for p in PAIRS]
    ours_batch = collate_pairs(examples, tok.pad_token_id)
    for key in ("input_ids", "attention_mask", "completion_mask"):
        assert torch.equal(theirs_batch[key], ours_batch[key]), key
    theirs_model.train()
    their_loss = trainer.compute_loss(theirs_model, theirs_batch)
    their_loss.backward()
    g_theirs = _grads(theirs_model)
    # The TRL layout, and the trainer's path (each prompt run once for chosen and rejected).
    for batch in (ours_batch, examples):
        ours_model = copy.deepcopy(base)
        ours_model.train()
        our_loss = _ours(ours_model, ref, batch, loss_type, 0.3, tok.pad_token_id)
        our_loss.backward()
        assert abs(float(our_loss) - float(their_loss)) < 1e-5, (float(our_loss), float(their_loss))
        g_ours = _grads(ours_model)
        assert g_ours.keys() == g_theirs.keys()
        for name in g_ours:
            torch.testing.assert_close(g_ours[name], g_theirs[name], atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.slow
def test_simpo_loss_matches_trl_cpo(tiny_model_dir: Path, tmp_path: Path) -> None:
    from trl.experimental.cpo import CPOConfig, CPOTrainer

    tok = load_tokenizer(str(tiny_model_dir))
    base = _model(tiny_model_dir)
    theirs_model = copy.deepcopy(base)
    args = CPOConfig(
        output_dir=str(tmp_path / "cpo"),
        loss_type="simpo",
        cpo_alpha=0.0,
        beta=2.0,
        simpo_gamma=0.5,
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
        bf16=False,
        max_length=512,
    )
    trainer = CPOTrainer(
        model=theirs_model,
        args=args,
        train_dataset=datasets.Dataset.from_list(PAIRS),
        processing_class=tok,
    )
    rows = [trainer.train_dataset[i] for i in range(len(PAIRS))]
    batch = trainer.data_collator(rows)
    theirs_model.train()
    their_loss, _ = trainer.get_batch_loss_metrics(theirs_model, batch)
    their_loss.backward()
    # Their tokenisation (BOS-prefixed prompt) fed to our loss: the same rows in our layout.
    cat = trainer.concatenated_inputs(batch, padding_value=tok.pad_token_id)
    labels = cat["concatenated_labels"]
    ours_batch = {
        "input_ids": cat["concatenated_input_ids"],
        "attention_mask": cat["concatenated_attention_mask"],
        "completion_mask": (labels != -100).long(),
    }
    ours_model = copy.deepcopy(base)
    ours_model.train()
    logps, lengths, _ = completion_logps(ours_model, ours_batch)
    c, r = logps.chunk(2)
    lc, lr = lengths.chunk(2)
    losses, _ = preference_losses(c, r, None, None, lc, lr, loss_type="simpo", beta=2.0, gamma=0.5)
    loss = losses.mean()
    loss.backward()
    assert abs(float(loss) - float(their_loss)) < 1e-5, (float(loss), float(their_loss))
    g_ours, g_theirs = _grads(ours_model), _grads(theirs_model)
    for name in g_ours:
        torch.testing.assert_close(g_ours[name], g_theirs[name], atol=1e-5, rtol=1e-4, msg=name)
