"""Per-token log-probabilities and entropies of completions under a causal LM."""

from __future__ import annotations

import torch


def selective_log_softmax(logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``log_softmax(logits)[..., index]`` without materialising the full log-softmax.

    ``logits`` is ``[..., V]`` and ``index`` ``[...]``; float32 logits use logsumexp row by row,
    lower precisions upcast row by row.
    """
    if logits.dtype in (torch.float32, torch.float64):
        picked = torch.gather(logits, -1, index.unsqueeze(-1)).squeeze(-1)
        return picked - torch.logsumexp(logits, dim=-1)
    out = []
    for row_logits, row_index in zip(logits, index):
        lp = torch.log_softmax(row_logits.float(), dim=-1)
        out.append(lp.gather(-1, row_index.unsqueeze(-1)).squeeze(-1))
    return torch.stack(out)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of the softmax of ``logits`` over the last dimension."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def completion_logprobs(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    logits_to_keep: int,
    *,
    temperature: float = 1.0,
    with_entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probs (and entropies) of the last ``logits_to_keep`` tokens of each row.

    ``input_ids`` is ``[B, P + C]`` (prompt left-padded, completion right-padded) and the result
    ``[B, C]`` with ``C = logits_to_keep``; logits are divided by ``temperature`` first.
    Position ids count only attended tokens, as in sampling from left-padded prompts.
    """
    positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    out = model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=positions,
        logits_to_keep=logits_to_keep + 1,
        use_cache=False,
    )
    logits = out.logits[:, :-1, :]
    if temperature != 1.0:
        logits = logits / temperature
    targets = input_ids[:, -logits_to_keep:]
    logps = selective_log_softmax(logits, targets)
    ent = entropy_from_logits(logits.detach()) if with_entropy else None
    return logps, ent


def sequence_token_logprobs(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    labels: torch.Tensor,
) -> torch.Tensor:
    """Per-position log-prob of ``labels[:, 1:]`` given the prefix; 0 where the label is -100.

    Returns ``[B, T-1]``.
    """
    logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits[
        :, :-1, :
    ]
    targets = labels[:, 1:]
    mask = targets != -100
    safe = targets.masked_fill(~mask, 0)
    return selective_log_softmax(logits, safe) * mask
