"""Shared-prefix log-probs (one forward per distinct prompt) equal the full forward pass."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from ifrl.rltrain.logprobs import completion_logprobs, shared_prefix_logprobs  # noqa: E402


def _rows(groups: int, size: int) -> tuple[torch.Tensor, ...]:
    """``groups`` left-padded prompts repeated ``size`` times, right-padded completions."""
    g = torch.Generator().manual_seed(1)
    width, new = 7, 9
    p_mask = torch.ones(groups, width, dtype=torch.long)
    p_mask[0, :3] = 0
    p_ids = torch.randint(5, 1000, (groups, width), generator=g).masked_fill(p_mask == 0, 0)
    n = groups * size
    c_ids = torch.randint(5, 1000, (n, new), generator=g)
    c_mask = torch.ones(n, new, dtype=torch.long)
    c_mask[n // 2, 5:] = 0
    c_mask[-1, 1:] = 0
    return (
        p_ids.repeat_interleave(size, 0),
        p_mask.repeat_interleave(size, 0),
        c_ids,
        c_mask,
    )


@pytest.mark.parametrize(("groups", "size"), [(3, 4), (1, 3), (4, 1)])
def test_shared_prefix_equals_the_full_forward_with_gradients(
    tiny_model_dir: Path, groups: int, size: int
) -> None:
    from transformers import AutoModelForCausalLM

    full = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    full.train()
    shared = copy.deepcopy(full)
    p_ids, p_mask, c_ids, c_mask = _rows(groups, size)
    want, want_ent = completion_logprobs(
        full,
        torch.cat([p_ids, c_ids], 1),
        torch.cat([p_mask, c_mask], 1),
        c_ids.size(1),
        temperature=0.7,
        with_entropy=True,
    )
    got, got_ent = shared_prefix_logprobs(
        shared, p_ids, p_mask, c_ids, c_mask, temperature=0.7, with_entropy=True
    )
    assert got.shape == want.shape == c_ids.shape
    assert want_ent is not None and got_ent is not None
    m = c_mask.bool()
    torch.testing.assert_close(got[m], want[m], atol=2e-5, rtol=1e-6)
    torch.testing.assert_close(got_ent[m], want_ent[m], atol=2e-5, rtol=1e-6)
    weights = torch.randn(c_ids.shape, generator=torch.Generator().manual_seed(2)) * c_mask
    (want * weights).sum().backward()
    (got * weights).sum().backward()
    for (name, a), (_, b) in zip(full.named_parameters(), shared.named_parameters()):
        assert a.grad is not None and b.grad is not None
        # float32 rounding relative to the gradient's scale (the prompt rows are summed once
        # per group instead of once per row)
        scale = float(a.grad.abs().max())
        assert scale > 0, name
        assert float((b.grad - a.grad).abs().max()) <= 1e-5 * scale, name
