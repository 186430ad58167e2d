"""A minimal training loop (AdamW, warmup + cosine schedule, clipping), depending on core only.

Used by the PRM trainer and by the synthetic-task policy warm-up. It shuffles examples with a
seeded generator every epoch, batches them with ``collate``, and calls ``loss_fn(batch)`` which
returns a scalar loss tensor. It stops on a non-finite loss with an error naming the step, rather
than training on NaNs.

For a GPU: ``bf16`` runs the forward passes under ``torch.autocast`` in bfloat16 (weights and
optimizer state stay float32; the device is the one the parameters are on), and ``grad_accum``
adds the gradients of that many batches of ``batch_size`` before each optimizer step (each
batch's loss divided by ``grad_accum``), so an optimizer step sees ``batch_size * grad_accum``
examples.

Checkpoints (``checkpoint_dir``, every ``save_steps`` optimizer steps): the trainable parameters,
the optimizer and scheduler states, the shuffling generator and the examples still to draw this
epoch, torch's RNG state and the losses so far, written to a temporary directory and renamed into
place (``step-<k>``; ``latest`` names the newest), so a run killed at any moment leaves a whole
checkpoint. A rerun with the same settings resumes from the latest one and ends with exactly the
parameters of an uninterrupted run; a checkpoint written under other settings is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ifrl.core.config import ConfigError, check_fields, opt
from ifrl.core.jsonl import atomic_dir, write_text

LATEST = "latest"
STATE = "loop_state.json"
TENSORS = "loop_state.pt"


@dataclass(frozen=True)
class LoopConfig:
    """Optimisation settings (checked on construction: :class:`ConfigError` names the field)."""

    epochs: float = opt("Passes over the data (may be fractional).", 1.0)
    batch_size: int = opt("Examples per forward pass.", 8, minimum=1)
    grad_accum: int = opt("Batches whose gradients add up before an optimizer step.", 1, minimum=1)
    lr: float = opt("Peak learning rate.", 1e-4)
    weight_decay: float = opt("AdamW weight decay.", 0.0)
    warmup_ratio: float = opt("Fraction of the steps warming up.", 0.05)
    max_grad_norm: float = opt("Gradient clipping norm (0: none).", 1.0)
    bf16: bool = opt("Forward passes in bfloat16 autocast (weights stay float32).", False)
    seed: int = opt("Shuffling seed.", 0)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.epochs <= 0:
            raise ConfigError("", "epochs", f"must be > 0, got {self.epochs}")
        check_fields(self)

    def loop_fields(self) -> dict[str, Any]:
        """The settings that shape the optimisation (what a checkpoint must agree with)."""
        return {k: v for k, v in asdict(self).items() if k in LoopConfig.__dataclass_fields__}


def cosine_with_warmup(step: int, total: int, warmup: int) -> float:
    """Learning-rate multiplier: linear warmup to 1, then cosine decay to 0 at ``total``."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def total_steps(examples: int, config: LoopConfig) -> int:
    """Optimizer steps of a run over ``examples`` examples."""
    per_epoch = math.ceil(examples / (config.batch_size * config.grad_accum))
    return max(1, math.ceil(per_epoch * config.epochs))


def train_loop(
    params: Sequence[Any],
    examples: Sequence[Any],
    collate: Callable[[list[Any]], Any],
    loss_fn: Callable[[Any], Any],
    config: LoopConfig,
    *,
    desc: str = "training",
    progress: bool = True,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    save_steps: int = 0,
    on_step: Callable[[int], None] | None = None,
) -> list[float]:
    """Optimise ``params`` on ``examples``; returns the loss of every optimizer step.

    With ``checkpoint_dir`` and ``save_steps > 0`` a checkpoint is written every ``save_steps``
    steps and the run resumes from the latest one found there (see the module docstring).
    ``on_step(k)`` is called before optimizer step ``k`` (0-based) is computed.
    """
    import torch

    if not examples:
        raise ValueError("no training examples")
    trainable = [p for p in params if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    total = total_steps(len(examples), config)
    warmup = int(total * config.warmup_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: cosine_with_warmup(s, total, warmup)
    )
    rng = random.Random(config.seed)
    order: list[int] = []
    losses: list[float] = []
    start = 0
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None and save_steps > 0 else None
    fingerprint = _fingerprint(config, len(examples), total, [tuple(p.shape) for p in trainable])
    if ckpt is not None:
        state = load_checkpoint(ckpt, fingerprint)
        if state is not None:
            start, losses, order = state["step"], state["losses"], state["order"]
            rng.setstate(_rng_tuple(state["rng"]))
            with torch.no_grad():
                for p, saved in zip(trainable, state["params"]):
                    p.copy_(saved)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["torch_rng"])
    device_type = trainable[0].device.type if trainable else "cpu"
    micro = config.batch_size
    bar = tqdm(range(start, total), desc=desc, disable=not progress, initial=start, total=total)
    for step in bar:
        if on_step is not None:
            on_step(step)
        optimizer.zero_grad(set_to_none=True)
        step_loss = 0.0
        for _ in range(config.grad_accum):
            if len(order) < micro:
                fresh = list(range(len(examples)))
                rng.shuffle(fresh)
                order.extend(fresh)
            batch_idx, order = order[:micro], order[micro:]
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=config.bf16):
                loss = loss_fn(collate([examples[i] for i in batch_idx]))
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite loss {float(loss)} at step {step}")
            (loss / config.grad_accum if config.grad_accum > 1 else loss).backward()
            step_loss += float(loss.detach()) / config.grad_accum
        if config.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        losses.append(step_loss)
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
        done = step + 1
        if ckpt is not None and done % save_steps == 0 and done < total:
            save_checkpoint(
                ckpt,
                done,
                fingerprint,
                {
                    "params": [p.detach().cpu().clone() for p in trainable],
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "torch_rng": torch.get_rng_state(),
                },
                {"losses": losses, "order": order, "rng": _rng_json(rng.getstate())},
            )
    return losses


def _fingerprint(
    config: LoopConfig, examples: int, total: int, shapes: list[tuple[int, ...]]
) -> str:
    payload = {"loop": config.loop_fields(), "examples": examples, "total": total, "shapes": shapes}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _rng_json(state: Any) -> list[Any]:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _rng_tuple(data: list[Any]) -> Any:
    return (data[0], tuple(data[1]), data[2])


def save_checkpoint(
    directory: Path, step: int, fingerprint: str, tensors: dict[str, Any], state: dict[str, Any]
) -> Path:
    """Write checkpoint ``step-<step>`` atomically, point ``latest`` at it, drop older ones."""
    import torch

    name = f"step-{step:08d}"
    with atomic_dir(directory / name) as tmp:
        torch.save(tensors, tmp / TENSORS)
        meta = {"step": step, "fingerprint": fingerprint, **state}
        (tmp / STATE).write_text(json.dumps(meta) + "\n", encoding="utf-8")
    write_text(directory / LATEST, name + "\n")
    for old in directory.glob("step-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return directory / name


def load_checkpoint(directory: Path, fingerprint: str) -> dict[str, Any] | None:
    """The latest checkpoint in ``directory`` (None when there is none); ``ValueError`` when it
    was written under other settings or for other data."""
    import torch

    pointer = directory / LATEST
    if not pointer.is_file():
        return None
    path = directory / pointer.read_text(encoding="utf-8").strip()
    meta = json.loads((path / STATE).read_text(encoding="utf-8"))
    if meta["fingerprint"] != fingerprint:
        raise ValueError(
            f"{path}: this checkpoint was written by a run with other settings or data; "
            "remove it (or the whole directory) to start afresh"
        )
    tensors = torch.load(path / TENSORS, weights_only=True)
    return {**meta, **tensors}


__all__ = [
    "LoopConfig",
    "cosine_with_warmup",
    "load_checkpoint",
    "save_checkpoint",
    "total_steps",
    "train_loop",
]
