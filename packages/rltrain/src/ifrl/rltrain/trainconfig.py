"""The settings every trainer shares (:class:`TrainConfig`), on the core config kit.

Each trainer's config (``SFTConfig``, ``GRPOConfig``, ``DPOConfig``) subclasses it; YAML files,
``--key value`` options and ``--help`` all come from :mod:`ifrl.core.config` /
:func:`ifrl.core.cli.config_options`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from ifrl.core.config import check_fields, opt

SCHEDULES = ("constant", "linear", "cosine")
PRECISIONS = ("no", "bf16", "fp16")
TRACKERS = ("trackio", "wandb", "tensorboard")
C = TypeVar("C", bound="TrainConfig")


@dataclass
class TrainConfig:
    """Settings of the shared training loop (optimizer, schedule, checkpoints, PEFT, logging)."""

    model: str = opt("Path (or hub id) of the model to train.", "")
    data: str = opt("Training data: a JSONL file (format depends on the algorithm).", "")
    output_dir: str = opt(
        "Directory for checkpoints, metrics.jsonl and the final model.", "runs/rl"
    )
    seed: int = opt("Seed for initialisation, data order and sampling.", 0)
    max_steps: int = opt("Number of optimizer steps to run.", 100, minimum=1)
    per_device_batch_size: int = opt("Examples per micro-batch on each process.", 4, minimum=1)
    gradient_accumulation_steps: int = opt(
        "Micro-batches accumulated per optimizer step.", 1, minimum=1
    )
    learning_rate: float = opt("Peak learning rate of AdamW.", 1e-5)
    weight_decay: float = opt("AdamW weight decay.", 0.0)
    adam_beta1: float = opt("AdamW beta1.", 0.9)
    adam_beta2: float = opt("AdamW beta2.", 0.999)
    adam_epsilon: float = opt("AdamW epsilon.", 1e-8)
    lr_scheduler: str = opt(
        "Learning-rate schedule after warmup: constant, linear or cosine.",
        "constant",
        choices=SCHEDULES,
    )
    warmup_steps: int = opt("Steps of linear warmup from 0 to the peak learning rate.", 0)
    max_grad_norm: float = opt("Clip the global gradient norm to this value (0 disables).", 1.0)
    mixed_precision: str = opt(
        "no, bf16 or fp16 (autocast where the device supports it).", "no", choices=PRECISIONS
    )
    dtype: str = opt(
        "Dtype the model's weights are loaded in: float32, bfloat16 or float16.", "float32"
    )
    gradient_checkpointing: bool = opt("Recompute activations in the backward pass.", False)
    save_steps: int = opt("Write a checkpoint every N optimizer steps (0: only at the end).", 0)
    save_total_limit: int = opt("Keep at most this many checkpoints (0 keeps all).", 2)
    resume: bool = opt(
        "Continue from the latest checkpoint in output_dir when there is one.", False
    )
    logging_steps: int = opt("Write metrics every N optimizer steps.", 1)
    report_to: tuple[str, ...] = opt(
        "Extra trackers besides metrics.jsonl: trackio, wandb, tensorboard.", (), choices=TRACKERS
    )
    progress: bool = opt("Show a progress bar.", True)
    save_final_model: bool = opt("Save the trained model (or adapter) to output_dir/final.", True)
    use_lora: bool = opt("Train LoRA adapters instead of all weights.", False)
    lora_r: int = opt("LoRA rank.", 8)
    lora_alpha: int = opt("LoRA alpha (scaling = alpha / r).", 16)
    lora_dropout: float = opt("Dropout on the LoRA input.", 0.0)
    lora_target_modules: tuple[str, ...] = opt(
        "Module names LoRA adapts.", ("q_proj", "k_proj", "v_proj", "o_proj")
    )
    merge_lora: bool = opt(
        "Merge the adapters into the base weights when saving the final model.", False
    )
    load_in_4bit: bool = opt(
        "QLoRA: load the base in 4-bit nf4 via bitsandbytes (implies use_lora).", False
    )

    def validate(self) -> None:
        """Raise :class:`ConfigError` for inconsistent settings."""
        check_fields(self)

    def derive(self, cls: type[C], **changes: Any) -> C:
        """A ``cls`` config (another trainer's) with this config's :class:`TrainConfig`
        settings, then ``changes``."""
        shared = {name: getattr(self, name) for name in TrainConfig.__dataclass_fields__}
        return cls(**{**shared, **changes})
