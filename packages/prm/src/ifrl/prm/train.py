"""Training a process reward model on labeled steps (a minimal loop depending on core only).

Every :class:`~ifrl.core.records.StepSample` becomes ``prompt + step + SEP + ...`` with one label
per separator (:func:`ifrl.prm.model.encode_steps`). A sample that keeps no label after
truncation to ``max_length`` is left out and counted (``skipped``), never trained on silently;
labels cut off by truncation are counted too (``dropped_labels``). The trained model is written
atomically: to a temporary directory beside ``out_dir``, then renamed into place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifrl.core.records import StepSample
from ifrl.prm.loop import LoopConfig, train_loop
from ifrl.prm.model import DEFAULT_SEPARATOR, Encoded, ProcessRewardModel, encode_steps


@dataclass(frozen=True)
class PRMTrainConfig:
    """What to train and how."""

    loop: LoopConfig = field(default_factory=lambda: LoopConfig(epochs=5, lr=1e-4))
    separator: str = field(default=DEFAULT_SEPARATOR, metadata={"help": "step separator token"})
    max_length: int = field(default=512, metadata={"help": "tokens per sample (truncated)"})
    lora: dict[str, Any] | None = field(default=None, metadata={"help": "LoRA settings or None"})
    extra_layers: int = field(
        default=0, metadata={"help": "identity-initialised decoder layers stacked on the base"}
    )
    freeze_base: bool = field(
        default=False, metadata={"help": "train only fresh layers, final norm and head"}
    )


@dataclass
class TrainStats:
    """What training saw: samples used / skipped, labels used / dropped, the per-step losses."""

    samples: int = 0
    skipped: int = 0
    labels: int = 0
    dropped_labels: int = 0
    losses: list[float] = field(default_factory=list)


def encode_samples(
    prm: ProcessRewardModel, samples: Sequence[StepSample], max_length: int
) -> tuple[list[Encoded], TrainStats]:
    """Encode samples for training; those left without any label are skipped and counted."""
    stats = TrainStats()
    encoded = []
    for s in samples:
        e = encode_steps(prm.tokenizer, s.prompt, s.steps, prm.sep_id, s.labels, max_length)
        stats.dropped_labels += e.dropped
        if not e.positions:
            stats.skipped += 1
            continue
        stats.samples += 1
        stats.labels += len(e.positions)
        encoded.append(e)
    if not encoded:
        raise ValueError(
            f"none of the {len(samples)} samples keeps a step label within max_length={max_length}"
        )
    return encoded, stats


def train_prm(
    samples: Sequence[StepSample],
    base_model: str | Path | ProcessRewardModel,
    config: PRMTrainConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> tuple[ProcessRewardModel, TrainStats]:
    """Train a PRM on ``samples``; save it to ``out_dir`` (atomically) when given."""
    config = config or PRMTrainConfig()
    if isinstance(base_model, ProcessRewardModel):
        prm = base_model
    else:
        prm = ProcessRewardModel.from_base(
            base_model,
            config.separator,
            lora=config.lora,
            extra_layers=config.extra_layers,
            freeze=config.freeze_base,
            seed=config.loop.seed,
        )
    encoded, stats = encode_samples(prm, samples, config.max_length)
    prm.train()
    stats.losses = train_loop(
        prm.parameters(),
        encoded,
        prm.batch,
        prm.loss,
        config.loop,
        desc="PRM training",
        progress=progress,
    )
    prm.eval()
    if out_dir is not None:
        save_atomically(prm, Path(out_dir))
    return prm, stats


def save_atomically(prm: ProcessRewardModel, out_dir: Path) -> Path:
    """Save into a temporary sibling directory, then rename it to ``out_dir`` (replacing it)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        prm.save(tmp)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


__all__ = ["PRMTrainConfig", "TrainStats", "encode_samples", "save_atomically", "train_prm"]
