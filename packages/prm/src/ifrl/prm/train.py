"""Training a process reward model on labeled steps (a minimal loop depending on core only).

Every :class:`~ifrl.core.records.StepSample` becomes ``prompt + step + SEP + ...`` with one label
per separator (:func:`ifrl.prm.model.encode_steps`). A sample that keeps no label after
truncation to ``max_length`` is left out and counted (``skipped``), never trained on silently;
labels cut off by truncation are counted too (``dropped_labels``). The trained model is written
atomically: to a temporary directory beside ``out_dir``, then renamed into place.

The samples must be cut as ``split`` says (``newline`` by default, as solutions are scored):
a file whose samples record another cut (``meta["split"]``) is refused, and the saved PRM records
its cut so that ``ifrl prm score`` cuts solutions the same way.

On a GPU: ``device`` (default: CUDA when torch sees one), ``bf16`` autocast, ``grad_accum``,
LoRA (``lora_r``). With ``save_steps`` the loop checkpoints into ``<out_dir>.checkpoints`` and a
rerun of the same command resumes there (:mod:`ifrl.prm.fit`); the checkpoints are removed once
the PRM is saved.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, opt
from ifrl.core.jsonl import atomic_dir
from ifrl.core.records import StepSample
from ifrl.prm.fit import LoopConfig, train_loop
from ifrl.prm.labels import SPLITS, check_split
from ifrl.prm.model import DEFAULT_SEPARATOR, Encoded, ProcessRewardModel, encode_steps


@dataclass(frozen=True)
class PRMTrainConfig(LoopConfig):
    """What to train and how: the loop's settings (:class:`~ifrl.prm.fit.LoopConfig`) and the
    PRM's."""

    epochs: float = opt("Passes over the labeled solutions (may be fractional).", 5.0)
    separator: str = opt("Step separator token.", DEFAULT_SEPARATOR)
    max_length: int = opt("Tokens per sample (truncated).", 512, minimum=1)
    lora_r: int = opt("LoRA rank, alpha twice that (0: no LoRA).", 0, minimum=0)
    extra_layers: int = opt(
        "Identity-initialised decoder layers stacked on the base.", 0, minimum=0
    )
    freeze_base: bool = opt("Train only the extra layers, the final norm and the head.", False)
    split: str = opt(
        "Step cut the samples must have: newline or anchor.", "newline", choices=SPLITS
    )
    device: str = opt("torch device (empty: cuda when available, else cpu).", "")
    save_steps: int = opt("Checkpoint every this many optimizer steps (0: never).", 0, minimum=0)

    def validate(self) -> None:
        super().validate()
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

    def summary(self) -> dict[str, Any]:
        """The counts and the first and final loss (``None`` before any step), for reports."""
        return {
            "samples": self.samples,
            "skipped": self.skipped,
            "labels": self.labels,
            "dropped_labels": self.dropped_labels,
            "first_loss": self.losses[0] if self.losses else None,
            "final_loss": self.losses[-1] if self.losses else None,
        }


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


class OneClassLabelsWarning(UserWarning):
    """Every step label of a PRM's training set is of one class (all correct or all wrong)."""


def label_balance(samples: Sequence[StepSample]) -> tuple[int, int]:
    """``(correct, wrong)`` step labels of ``samples`` (a soft label counts as correct at >= 0.5)."""
    correct = sum(1 for s in samples for v in s.labels if v >= 0.5)
    return correct, sum(len(s.labels) for s in samples) - correct


def warn_if_one_class(samples: Sequence[StepSample]) -> None:
    """Warn loudly (:class:`OneClassLabelsWarning`) when every step label is of one class: a PRM
    trained on it learns nothing about which steps are wrong."""
    correct, wrong = label_balance(samples)
    if correct and wrong:
        return
    which = "correct (1)" if correct else "wrong (0)"
    warnings.warn(
        f"all {correct + wrong} step labels are {which}: a PRM trained on one class cannot tell "
        "right steps from wrong ones (check the policy's accuracy on these questions and the "
        "answer checker; e.g. a policy that never reaches the answer labels every step 0)",
        OneClassLabelsWarning,
        stacklevel=3,
    )


def resolve_device(device: str) -> str:
    """``device``, or CUDA when torch sees a GPU and the CPU otherwise when it is empty."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def checkpoints_for(out_dir: str | Path) -> Path:
    """Where the training checkpoints of the PRM saved to ``out_dir`` live."""
    out = Path(out_dir)
    return out.with_name(out.name + ".checkpoints")


def train_prm(
    samples: Sequence[StepSample],
    base_model: str | Path | ProcessRewardModel,
    config: PRMTrainConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    on_step: Callable[[int], None] | None = None,
) -> tuple[ProcessRewardModel, TrainStats]:
    """Train a PRM on ``samples``; save it to ``out_dir`` (atomically) when given.

    ``ValueError`` when a sample records another step cut than ``config.split``; an
    :class:`OneClassLabelsWarning` when every step label is of one class. With
    ``config.save_steps`` the run checkpoints into ``checkpoint_dir`` (default: beside
    ``out_dir``, :func:`checkpoints_for`) and resumes from there.
    """
    config = config or PRMTrainConfig()
    check_split(samples, config.split, "the training samples")
    warn_if_one_class(samples)
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
    prm.split = config.split
    prm.to(resolve_device(config.device))
    encoded, stats = encode_samples(prm, samples, config.max_length)
    if checkpoint_dir is None and out_dir is not None and config.save_steps:
        checkpoint_dir = checkpoints_for(out_dir)
    prm.train()
    stats.losses = train_loop(
        prm.parameters(),
        encoded,
        prm.batch,
        prm.loss,
        config,
        desc="PRM training",
        progress=progress,
        checkpoint_dir=checkpoint_dir,
        save_steps=config.save_steps,
        on_step=on_step,
    )
    prm.eval()
    if out_dir is not None:
        save_atomically(prm, Path(out_dir))
        if checkpoint_dir is not None:
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return prm, stats


def save_atomically(prm: ProcessRewardModel, out_dir: Path) -> Path:
    """Save into a temporary sibling directory, then rename it to ``out_dir`` (replacing it)."""
    with atomic_dir(out_dir) as tmp:
        prm.save(tmp)
    return out_dir


__all__ = [
    "PRMTrainConfig",
    "TrainStats",
    "checkpoints_for",
    "encode_samples",
    "resolve_device",
    "save_atomically",
    "train_prm",
]
