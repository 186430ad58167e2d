"""A hand-written induction circuit for a fresh Qwen2 micro model.

Content lookup (find where the current token occurred before, copy what followed it) is the
skill a tool policy needs to copy argument values from a request, and it does not form within a
micro build's budget on a CPU (``bench/micro_induction_probe.py``). :func:`write_induction_circuit`
writes it into the starting weights instead, so training starts from a model that already copies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InductionCircuit:
    """How :func:`write_induction_circuit` writes its two heads.

    ``reserve``: residual dimensions kept free of token embeddings, where the previous-token
    head writes. ``prev_pairs``/``match_pairs``: the fastest/slowest rotary pairs the two heads
    use. ``embedding_scale`` multiplies the seeded embeddings (larger weights survive Adam's
    steps, which move every weight by about the learning rate). ``match_gain`` sharpens the
    lookup's attention, ``copy_gain`` sets how strongly the copied token is written back.
    """

    reserve: int = 64
    prev_pairs: int = 8
    match_pairs: int = 10
    embedding_scale: float = 10.0
    match_gain: float = 3.0
    copy_gain: float = 1.0
    seed: int = 0


def write_induction_circuit(model: Any, circuit: InductionCircuit | None = None) -> None:
    """Write an induction circuit into the fresh Qwen2 ``model`` (at least 2 layers), in place.

    The embeddings keep their last ``reserve`` dimensions at zero. Head 0 of layer 0 attends to
    the previous position only (constant queries and keys in the fastest rotary pairs, the key
    turned one step ahead) and writes a random projection ``R`` of that token into the reserved
    dimensions. Head 0 of layer 1 matches ``R`` of the current token against the reserved
    dimensions in the slowest rotary pairs (which barely turn over a few hundred positions), so it
    attends where the previous token equals the current one, and copies that position's token
    back through a random projection. Every other head's output and every MLP's down-projection
    start at zero, so nothing else writes into the residual stream at first.

    Raises ``ValueError`` when the model is too small for the circuit.
    """
    import torch

    c = circuit or InductionCircuit()
    cfg = model.config
    width, heads = cfg.hidden_size, cfg.num_attention_heads
    head_dim = int(getattr(cfg, "head_dim", None) or width // heads)
    half, content = head_dim // 2, width - c.reserve
    if cfg.num_hidden_layers < 2:
        raise ValueError(
            f"the induction circuit needs 2 layers, the model has {cfg.num_hidden_layers}"
        )
    if c.reserve > head_dim or c.reserve >= width:
        raise ValueError(f"reserve {c.reserve} exceeds the head size {head_dim} or the width")
    if c.match_pairs + c.prev_pairs > half:
        raise ValueError(f"{c.prev_pairs} + {c.match_pairs} rotary pairs exceed the head's {half}")
    theta = float(getattr(cfg, "rope_theta", None) or cfg.rope_parameters["rope_theta"])
    freq = [theta ** (-2 * j / head_dim) for j in range(half)]
    gen = torch.Generator().manual_seed(c.seed)
    with torch.no_grad():
        emb = model.model.embed_tokens.weight
        emb.mul_(c.embedding_scale)
        emb[:, content:] = 0
        norm = float(emb[:, :content].norm(dim=1).mean())
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        first, second = (model.model.layers[i].self_attn for i in (0, 1))
        for attn in (first, second):
            for proj in (attn.q_proj, attn.k_proj, attn.v_proj):
                proj.weight[:head_dim] = 0
                proj.bias[:head_dim] = 0
        for j in range(c.prev_pairs):  # scores peak at a distance of one position
            first.q_proj.bias[j] = 12.0
            first.k_proj.bias[j] = 12.0 * math.cos(freq[j])
            first.k_proj.bias[j + half] = 12.0 * math.sin(freq[j])
        project = torch.randn(c.reserve, content, generator=gen) / math.sqrt(content)
        first.v_proj.weight[: c.reserve, :content] = project
        first.o_proj.weight[content:, : c.reserve] = (
            torch.eye(c.reserve) * norm / math.sqrt(c.reserve)
        )
        slow = [*range(half - c.match_pairs, half), *range(head_dim - c.match_pairs, head_dim)]
        for i, dim in enumerate(slow):
            second.q_proj.weight[dim, :content] = c.match_gain * project[i]
            second.k_proj.weight[dim, content + i] = c.match_gain
        copy = torch.randn(head_dim, content, generator=gen) / math.sqrt(content)
        second.v_proj.weight[:head_dim, :content] = copy
        gain = c.copy_gain * norm * math.sqrt(content) / head_dim
        second.o_proj.weight[:content, :head_dim] = copy.T * gain
