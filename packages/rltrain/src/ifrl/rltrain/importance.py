"""Importance weights that correct for rollouts sampled by an engine other than the trainer.

A rollout engine with its own copy of the weights (vLLM, in process or as a server) samples from
a distribution that differs slightly from the trainer's (other kernels, other precision), so the
policy-gradient samples are off-policy. TRL's ``vllm_importance_sampling_correction`` reweights
each token's policy term by the ratio of the trainer's probability to the sampler's, truncated
or masked to ``[clip_min, clip_max]``; this module computes those weights the same way
(``tests/rltrain/test_grpo_parity.py`` checks them against TRL's code):

* ``token_truncate``: per-token ratio ``exp(trainer - sampler)`` clamped to the range;
* ``token_mask``: per-token ratio, 0 where it falls outside the range;
* ``sequence_truncate`` / ``sequence_mask``: one ratio per completion, ``exp`` of the summed
  per-token differences, then clamped / masked.

Tokens the sampler gave no log-probability for (NaN) count as a difference of 0 (ratio 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

IS_MODES = ("token_truncate", "token_mask", "sequence_truncate", "sequence_mask")


@dataclass(frozen=True)
class SamplerCorrection:
    """The weights (``[B, C]`` for token modes, ``[B, 1]`` for sequence modes) and diagnostics."""

    weights: torch.Tensor
    logp_diff_mean: float
    """Mean ``|trainer - sampler|`` log-probability over the scored tokens (TRL's
    ``sampling/sampling_logp_difference/mean``)."""
    logp_diff_max: float
    ratio_min: float
    ratio_mean: float
    ratio_max: float


def sampler_importance_weights(
    trainer_logps: torch.Tensor,
    sampler_logps: torch.Tensor,
    mask: torch.Tensor,
    mode: str = "token_truncate",
    clip_min: float | None = None,
    clip_max: float | None = 3.0,
) -> SamplerCorrection:
    """Truncated or masked importance weights ``p_trainer / p_sampler`` of sampled tokens.

    ``trainer_logps`` / ``sampler_logps`` / ``mask`` are ``[B, C]``: the log-probabilities the
    trainer and the sampler give each completion token (NaN where the sampler gave none) and
    which tokens count. ``clip_min`` / ``clip_max`` bound the ratio (``None``: unbounded).
    """
    if mode not in IS_MODES:
        raise ValueError(f"unknown importance sampling mode {mode!r}; expected one of {IS_MODES}")
    m = mask.to(trainer_logps.dtype)
    diff = torch.nan_to_num((trainer_logps - sampler_logps) * m, nan=0.0)
    sequence = mode.startswith("sequence")
    ratio = torch.exp(diff.sum(dim=-1, keepdim=True) if sequence else diff)
    lo = -math.inf if clip_min is None else clip_min
    hi = math.inf if clip_max is None else clip_max
    if mode.endswith("truncate"):
        if clip_min is not None or clip_max is not None:
            ratio = torch.clamp(ratio, min=clip_min, max=clip_max)
    else:
        ratio = ratio.masked_fill((ratio < lo) | (ratio > hi), 0.0)
    scored = mask.bool()
    delta = (trainer_logps - sampler_logps).abs()
    delta = delta[scored & ~torch.isnan(delta)]
    flat = ratio.flatten() if sequence else ratio[scored]
    return SamplerCorrection(
        weights=ratio,
        logp_diff_mean=float(delta.mean()) if delta.numel() else 0.0,
        logp_diff_max=float(delta.max()) if delta.numel() else 0.0,
        ratio_min=float(flat.min()) if flat.numel() else 0.0,
        ratio_mean=float(flat.mean()) if flat.numel() else 0.0,
        ratio_max=float(flat.max()) if flat.numel() else 0.0,
    )
