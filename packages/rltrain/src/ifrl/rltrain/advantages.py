"""Group-relative advantages from per-completion rewards, with rows that have no reward.

The semantics are TRL's ``GRPOTrainer`` (``multi_objective_aggregation="sum_then_normalize"``),
checked against TRL's own code in ``tests/rltrain/test_grpo_parity.py``:

* a reward function's ``None`` is NaN; a completion's reward is the weighted sum of the
  functions that scored it, and NaN when none did (an *unscorable* completion);
* each group's baseline is the mean of its scorable rewards; ``scale_rewards`` divides by the
  group's standard deviation (``group``), the whole batch's (``batch``), or nothing (``none``),
  plus ``1e-4``; standard deviations are unbiased and skip NaN (undefined with fewer than two
  values);
* an advantage that comes out NaN (an unscorable completion, a group with a single scorable one)
  is 0: such a completion does not move the policy;
* ``zero_std`` marks the completions whose group (``batch`` scaling: the batch) has a standard
  deviation of 0 — every completion scored the same, so the group teaches nothing. Its mean is
  the logged ``frac_reward_zero_std``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

SCALES = ("group", "batch", "none")


def nanstd(values: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Unbiased standard deviation ignoring NaN; NaN where fewer than two values are left."""
    mean = torch.nanmean(values, dim=dim, keepdim=True)
    var = torch.nanmean((values - mean) ** 2, dim=dim)
    count = (~torch.isnan(values)).sum(dim=dim).to(values.dtype)
    corrected = var * count / (count - 1)
    return torch.sqrt(torch.where(count > 1, corrected, torch.full_like(corrected, torch.nan)))


def combine_rewards(per_func: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``[N, F]`` rewards (NaN for ``None``) times ``[F]`` weights, summed over the functions
    that scored each completion; NaN where none did."""
    total = (per_func * weights.to(per_func.dtype)).nansum(dim=1)
    return total.masked_fill(torch.isnan(per_func).all(dim=1), torch.nan)


@dataclass(frozen=True)
class GroupAdvantages:
    """Advantages of ``N`` completions and the spread they were measured against."""

    advantages: torch.Tensor
    """``[N]``; 0 for unscorable completions and undefined spreads."""
    std: torch.Tensor
    """``[N]``: the standard deviation each completion's group (``batch``: the batch) has."""
    zero_std: torch.Tensor
    """``[N]`` bool: the completion's group (``batch``: the batch) has identical rewards."""

    @property
    def frac_zero_std(self) -> float:
        """The share of completions in groups with identical rewards (``frac_reward_zero_std``)."""
        return float(self.zero_std.float().mean()) if self.zero_std.numel() else 0.0


def compute_advantages(
    rewards: torch.Tensor, group_size: int, scale: str = "group"
) -> GroupAdvantages:
    """Advantages of ``rewards`` (``[N]``, NaN for unscorable; a prompt's ``group_size``
    completions adjacent) and their spread; see the module docstring for the rules."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale_rewards {scale!r}; expected one of {list(SCALES)}")
    if rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not form groups of {group_size}")
    grouped = rewards.view(-1, group_size)
    mean = torch.nanmean(grouped, dim=1).repeat_interleave(group_size)
    if scale == "batch":
        std = (
            nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
        )
    elif group_size > 1:
        std = nanstd(grouped, dim=1).repeat_interleave(group_size)
    else:
        std = torch.zeros_like(rewards)
    adv = rewards - mean
    if scale != "none":
        adv = adv / (std + 1e-4)
    zero = torch.isclose(std, torch.zeros_like(std))
    return GroupAdvantages(torch.nan_to_num(adv, nan=0.0), std, zero)


def group_advantages(rewards: torch.Tensor, group_size: int, scale: str = "group") -> torch.Tensor:
    """``r - mean(group)``, divided by the group std, the batch std, or nothing (``+1e-4``).

    ``rewards`` is ``[N]`` with the ``G`` completions of a prompt adjacent; NaN marks a
    completion no reward function scored (its advantage is 0). Standard deviations are unbiased
    (as TRL's). :func:`compute_advantages` also returns the spreads.
    """
    return compute_advantages(rewards, group_size, scale).advantages


def informative_groups(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """``[N / group_size]`` bool: groups whose scorable rewards differ (a nonzero, defined
    standard deviation), i.e. groups that give some completion a nonzero advantage."""
    std = nanstd(rewards.view(-1, group_size), dim=1)
    return ~(torch.isnan(std) | torch.isclose(std, torch.zeros_like(std)))


def select_groups(informative: Sequence[bool], needed: int) -> list[int]:
    """Dynamic sampling's choice among the groups sampled so far (in sampling order): the
    first ``needed`` informative groups, then, if there are too few, the earliest
    uninformative ones to fill the batch (they get zero advantage)."""
    if len(informative) < needed:
        raise ValueError(f"{len(informative)} groups sampled, {needed} needed")
    kept = [i for i, ok in enumerate(informative) if ok][:needed]
    fill = [i for i, ok in enumerate(informative) if not ok][: needed - len(kept)]
    return kept + fill
