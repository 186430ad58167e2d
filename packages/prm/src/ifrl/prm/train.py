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

from ifrl.core.config import ConfigError, opt
from ifrl.core.records import StepSample
from ifrl.prm.fit import LoopConfig, train_loop
from ifrl.prm.model import DEFAULT_SEPARATOR, Encoded, ProcessRewardModel, encode_steps


@dataclass(frozen=True)
class PRMTrainConfig(LoopConfig):
    """What to train and how: the loop's settings (:class:`~ifrl.prm.fit.LoopConfig`) and the
    PRM's."""

    epochs: float = opt("Passes over the labeled solutions (may be fractional).", 5.0)
    separator: str = opt("Step separator token.", DEFAULT_SEPARATOR)
    max_length: int = opt("Tokens per sample (truncated).", 512)
    lora_r: int = opt("LoRA rank, alpha twice that (0: no LoRA).", 0)
    extra_layers: int = opt("Identity-initialised decoder layers stacked on the base.", 0)
    freeze_base: bool = opt("Train only the extra layers, the final norm and the head.", False)

    def validate(self) -> None:
        super().validate()
        for name, low in (("max_length", 1), ("lora_r", 0), ("extra_layers", 0)):
            if getattr(self, name) < low:
                raise ConfigError("", name, f"must be at least {low}, got {getattr(self, name)}")
        if self.lora_r and (self.extra_layers or self.freeze_base):
            raise ConfigError(
                "", "lora_r", "LoRA cannot be combined with extra_layers or freeze_base"
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
            lora={"r": config.lora_r, "alpha": 2 * config.lora_r} if config.lora_r else None,
            extra_layers=config.extra_layers,
            freeze=config.freeze_base,
            seed=config.seed,
        )
    encoded, stats = encode_samples(prm, samples, config.max_length)
    prm.train()
    stats.losses = train_loop(
        prm.parameters(),
        encoded,
        prm.batch,
        prm.loss,
        config,
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
