"""Training health: signs that a run is going through the motions without learning.

* :class:`ZeroVarianceMonitor` — in GRPO a group whose completions all get the same reward has
  zero advantage and contributes no gradient; when most groups are like that for ``k``
  consecutive steps the run is (nearly) idle, and it says so.
* :func:`parameter_fingerprint` — a cheap per-parameter summary (float64 sum and sum of
  squares of this process's shard), compared at the end of a run to tell whether the trainable
  parameters changed at all.

Warnings are :class:`TrainingHealthWarning`s (``warnings.warn``) and are also kept in the run's
result and ``summary.json``, so a run that learned nothing does not end looking like a success.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


class TrainingHealthWarning(UserWarning):
    """A run shows a sign of not learning (no reward variance, unchanged parameters)."""


@dataclass
class ZeroVarianceMonitor:
    """Counts consecutive steps on which more than ``threshold`` of the groups had identical
    rewards; :meth:`update` returns a message once per such streak, when it reaches ``steps``
    (``steps = 0`` disables the monitor)."""

    steps: int = 3
    threshold: float = 0.5
    streak: int = 0

    def update(self, frac_zero_std: float, step: int) -> str | None:
        """Record step ``step``'s (1-based) share of groups with identical rewards; a warning
        or ``None``."""
        if self.steps <= 0:
            return None
        self.streak = self.streak + 1 if frac_zero_std > self.threshold else 0
        if self.streak != self.steps:
            return None
        return (
            f"steps {step - self.steps + 1}-{step}: more than {self.threshold:.0%} of the groups "
            f"had identical rewards on {self.steps} consecutive steps (frac_groups_zero_std "
            f"{frac_zero_std:.2f} at step {step}); those groups give no gradient. Make the "
            "task easier or the reward finer-grained, raise num_generations or temperature, or "
            "turn on dynamic_sampling."
        )


def _local(p: torch.Tensor) -> torch.Tensor:
    to_local = getattr(p, "to_local", None)  # FSDP2 DTensor: this process's shard
    return to_local() if callable(to_local) else p


def parameter_fingerprint(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """``[len(params), 2]`` float64 sums and sums of squares of this process's parameter data;
    any update to a parameter changes its row (barring exact cancellation)."""
    rows = []
    with torch.no_grad():
        for p in params:
            t = _local(p).detach().to(torch.float64)
            rows.append(torch.stack([t.sum(), t.square().sum()]).cpu())
    return torch.stack(rows) if rows else torch.zeros(0, 2, dtype=torch.float64)


def unchanged_message(steps: int, zero_grad_steps: int, measured_steps: int) -> str:
    """The warning for a run of ``steps`` steps whose trainable parameters never changed."""
    grads = (
        f"; {zero_grad_steps} of {measured_steps} steps had a zero gradient norm"
        if measured_steps
        else ""
    )
    return (
        f"the trainable parameters did not change in {steps} step{'s' * (steps != 1)}{grads}: "
        "the run learned nothing (no reward signal, a zero learning rate, or frozen parameters)"
    )
