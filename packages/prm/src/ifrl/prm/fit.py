"""A minimal training loop (AdamW, warmup + cosine schedule, clipping), depending on core only.

Used by the PRM trainer and by the synthetic-task policy warm-up. It shuffles examples with a
seeded generator every epoch, batches them with ``collate``, and calls ``loss_fn(batch)`` which
returns a scalar loss tensor. It stops on a non-finite loss with an error naming the step, rather
than training on NaNs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from ifrl.core.config import ConfigError, opt


@dataclass(frozen=True)
class LoopConfig:
    """Optimisation settings (checked on construction: :class:`ConfigError` names the field)."""

    epochs: float = opt("Passes over the data (may be fractional).", 1.0)
    batch_size: int = opt("Examples per optimizer step.", 8)
    lr: float = opt("Peak learning rate.", 1e-4)
    weight_decay: float = opt("AdamW weight decay.", 0.0)
    warmup_ratio: float = opt("Fraction of the steps warming up.", 0.05)
    max_grad_norm: float = opt("Gradient clipping norm (0: none).", 1.0)
    seed: int = opt("Shuffling seed.", 0)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.epochs <= 0:
            raise ConfigError("", "epochs", f"must be > 0, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError("", "batch_size", f"must be >= 1, got {self.batch_size}")


def cosine_with_warmup(step: int, total: int, warmup: int) -> float:
    """Learning-rate multiplier: linear warmup to 1, then cosine decay to 0 at ``total``."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def train_loop(
    params: Sequence[Any],
    examples: Sequence[Any],
    collate: Callable[[list[Any]], Any],
    loss_fn: Callable[[Any], Any],
    config: LoopConfig,
    *,
    desc: str = "training",
    progress: bool = True,
) -> list[float]:
    """Optimise ``params`` on ``examples``; returns the loss of every step."""
    import torch

    if not examples:
        raise ValueError("no training examples")
    trainable = [p for p in params if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    per_epoch = math.ceil(len(examples) / config.batch_size)
    total = max(1, math.ceil(per_epoch * config.epochs))
    warmup = int(total * config.warmup_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: cosine_with_warmup(s, total, warmup)
    )
    rng = random.Random(config.seed)
    order: list[int] = []
    losses: list[float] = []
    bar = tqdm(range(total), desc=desc, disable=not progress)
    for step in bar:
        if len(order) < config.batch_size:
            fresh = list(range(len(examples)))
            rng.shuffle(fresh)
            order.extend(fresh)
        batch_idx, order = order[: config.batch_size], order[config.batch_size :]
        loss = loss_fn(collate([examples[i] for i in batch_idx]))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {float(loss)} at step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
    return losses


__all__ = ["LoopConfig", "cosine_with_warmup", "train_loop"]
