"""Per-token log-probabilities and entropies of completions under a causal LM."""

from __future__ import annotations

import warnings

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


def shared_prefix_logprobs(
    model: torch.nn.Module,
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    completion_ids: torch.Tensor,
    completion_mask: torch.Tensor,
    *,
    temperature: float = 1.0,
    with_entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`completion_logprobs` of ``prompt + completion`` rows, each distinct prompt run once.

    Rows with the same (left-padded) prompt, such as the completions of one GRPO group, share one
    forward pass over it; gradients of every row flow back through the shared keys and values.
    The result is the same function of the inputs as :func:`completion_logprobs` (equal up to
    float rounding), computed with the prompt tokens counted once per distinct prompt. Falls back
    to :func:`completion_logprobs` when no prompt repeats or the model recomputes activations
    (gradient checkpointing), which a cache cannot go through.
    """
    n_rows, width = prompt_ids.shape
    n_new = completion_ids.size(1)
    key = torch.cat([prompt_ids, prompt_mask], dim=1)
    unique, rows = torch.unique(key, dim=0, return_inverse=True)
    if unique.size(0) == n_rows or _checkpointing(model):
        return completion_logprobs(
            model,
            torch.cat([prompt_ids, completion_ids], dim=1),
            torch.cat([prompt_mask, completion_mask], dim=1),
            n_new,
            temperature=temperature,
            with_entropy=with_entropy,
        )
    u_ids, u_mask = unique[:, :width], unique[:, width:]
    out = model(
        input_ids=u_ids,
        attention_mask=u_mask,
        position_ids=(u_mask.cumsum(-1) - 1).clamp(min=0),
        logits_to_keep=1,
        use_cache=True,
    )
    # Logits at the last prompt position predict each row's first completion token.
    firsts = [out.logits[:, -1:, :][rows]]
    if n_new > 1:
        past = out.past_key_values
        past.batch_select_indices(rows)
        # The last completion token is only ever a target: it is not fed.
        attn = torch.cat([prompt_mask, completion_mask[:, :-1]], dim=1)
        rest = model(
            input_ids=completion_ids[:, :-1],
            attention_mask=attn,
            position_ids=(attn.cumsum(-1) - 1).clamp(min=0)[:, width:],
            past_key_values=past,
            logits_to_keep=n_new - 1,
            use_cache=True,
        )
        firsts.append(rest.logits)
    logps, ents = [], []
    start = 0
    for logits in firsts:
        if temperature != 1.0:
            logits = logits / temperature
        span = logits.size(1)
        logps.append(selective_log_softmax(logits, completion_ids[:, start : start + span]))
        if with_entropy:
            ents.append(entropy_from_logits(logits.detach()))
        start += span
    return torch.cat(logps, dim=1), torch.cat(ents, dim=1) if with_entropy else None


def _checkpointing(model: torch.nn.Module) -> bool:
    inner = model
    while isinstance(wrapped := getattr(inner, "module", None), torch.nn.Module):  # DDP wrappers
        inner = wrapped
    for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            value = getattr(inner, name, None)
        if value is not None:
            return bool(value)
    return False
