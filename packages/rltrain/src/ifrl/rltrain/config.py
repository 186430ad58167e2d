"""Training configs shared by every trainer, and loading them from YAML plus ``--key value`` overrides.

Each field carries ``metadata={"help": ...}``; the same text documents YAML files and the CLI.
:func:`load_config` rejects unknown keys with a "did you mean" hint and converts strings given on
the command line to the field's type.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from ifrl.core.errors import IfrlError

C = TypeVar("C", bound="TrainConfig")


class ConfigError(IfrlError, ValueError):
    """A config key or value is invalid; the message names the source and the key."""


def _help(text: str, default: Any = dataclasses.MISSING, **kw: Any) -> Any:
    if default is dataclasses.MISSING:
        return field(metadata={"help": text}, **kw)
    return field(default=default, metadata={"help": text}, **kw)


@dataclass
class TrainConfig:
    """Settings of the shared training loop (optimizer, schedule, checkpoints, PEFT, logging)."""

    model: str = _help("Path (or hub id) of the model to train.", "")
    data: str = _help("Training data: a JSONL file (format depends on the algorithm).", "")
    output_dir: str = _help(
        "Directory for checkpoints, metrics.jsonl and the final model.", "runs/rl"
    )
    seed: int = _help("Seed for initialisation, data order and sampling.", 0)
    max_steps: int = _help("Number of optimizer steps to run.", 100)
    per_device_batch_size: int = _help("Examples per micro-batch on each process.", 4)
    gradient_accumulation_steps: int = _help("Micro-batches accumulated per optimizer step.", 1)
    learning_rate: float = _help("Peak learning rate of AdamW.", 1e-5)
    weight_decay: float = _help("AdamW weight decay.", 0.0)
    adam_beta1: float = _help("AdamW beta1.", 0.9)
    adam_beta2: float = _help("AdamW beta2.", 0.999)
    adam_epsilon: float = _help("AdamW epsilon.", 1e-8)
    lr_scheduler: str = _help(
        "Learning-rate schedule after warmup: constant, linear or cosine.", "constant"
    )
    warmup_steps: int = _help("Steps of linear warmup from 0 to the peak learning rate.", 0)
    max_grad_norm: float = _help("Clip the global gradient norm to this value (0 disables).", 1.0)
    mixed_precision: str = _help("no, bf16 or fp16 (autocast where the device supports it).", "no")
    dtype: str = _help(
        "Dtype the model's weights are loaded in: float32, bfloat16 or float16.", "float32"
    )
    gradient_checkpointing: bool = _help("Recompute activations in the backward pass.", False)
    save_steps: int = _help("Write a checkpoint every N optimizer steps (0: only at the end).", 0)
    save_total_limit: int = _help("Keep at most this many checkpoints (0 keeps all).", 2)
    resume: bool = _help(
        "Continue from the latest checkpoint in output_dir when there is one.", False
    )
    logging_steps: int = _help("Write metrics every N optimizer steps.", 1)
    report_to: tuple[str, ...] = _help(
        "Extra trackers besides metrics.jsonl: trackio, wandb, tensorboard.", ()
    )
    progress: bool = _help("Show a progress bar.", True)
    save_final_model: bool = _help("Save the trained model (or adapter) to output_dir/final.", True)
    use_lora: bool = _help("Train LoRA adapters instead of all weights.", False)
    lora_r: int = _help("LoRA rank.", 8)
    lora_alpha: int = _help("LoRA alpha (scaling = alpha / r).", 16)
    lora_dropout: float = _help("Dropout on the LoRA input.", 0.0)
    lora_target_modules: tuple[str, ...] = _help(
        "Module names LoRA adapts.", ("q_proj", "k_proj", "v_proj", "o_proj")
    )
    merge_lora: bool = _help(
        "Merge the adapters into the base weights when saving the final model.", False
    )
    load_in_4bit: bool = _help(
        "QLoRA: load the base in 4-bit nf4 via bitsandbytes (implies use_lora).", False
    )

    def validate(self) -> None:
        """Raise :class:`ConfigError` for inconsistent settings."""
        if self.max_steps < 1:
            raise ConfigError(f"max_steps: must be at least 1, got {self.max_steps}")
        if self.per_device_batch_size < 1:
            raise ConfigError("per_device_batch_size: must be at least 1")
        if self.gradient_accumulation_steps < 1:
            raise ConfigError("gradient_accumulation_steps: must be at least 1")
        if self.lr_scheduler not in ("constant", "linear", "cosine"):
            raise ConfigError(
                f"lr_scheduler: expected constant, linear or cosine, got {self.lr_scheduler!r}"
            )
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise ConfigError(
                f"mixed_precision: expected no, bf16 or fp16, got {self.mixed_precision!r}"
            )
        for name in self.report_to:
            if name not in ("trackio", "wandb", "tensorboard"):
                raise ConfigError(
                    f"report_to: unknown tracker {name!r} (trackio, wandb, tensorboard)"
                )


def config_help(cls: type[TrainConfig]) -> str:
    """Every field of ``cls`` with its type, default and help text, one per line."""
    lines = []
    for f in fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc,operator]
        lines.append(
            f"  {f.name} ({_type_label(cls, f.name)}, default {default!r}): {f.metadata.get('help', '')}"
        )
    return "\n".join(lines)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_label(cls: type, name: str) -> str:
    tp = _hints(cls)[name]
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        return _convert(args[0], value, where)
    if origin is tuple:
        (item,) = typing.get_args(tp)[:1]
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(_convert(item, v, where) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
        try:
            out = tp(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}") from None
        if tp is int and isinstance(value, float) and value != out:
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return out
    if tp is str:
        if not isinstance(value, (str, int, float)):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    if tp is Any:
        return value
    if origin is dict or tp is dict:
        return _convert_mapping(value, where)
    raise ConfigError(f"{where}: unsupported field type {tp!r}")


def _convert_mapping(value: Any, where: str) -> dict[str, Any]:
    """A mapping field: a YAML mapping, or on the command line a YAML flow mapping
    (``'{max_model_len: 1024, enforce_eager: true}'``) or ``key=value,key=value`` pairs whose
    values are read as YAML scalars."""
    if isinstance(value, str):
        import yaml

        text = value.strip()
        try:
            if text.startswith("{"):
                value = yaml.safe_load(text)
            else:
                pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
                if any(len(pair) != 2 for pair in pairs):
                    raise ConfigError(
                        f"{where}: expected key=value pairs or a {{key: value}} mapping, got {text!r}"
                    )
                value = {k.strip(): yaml.safe_load(v.strip()) for k, v in pairs}
        except yaml.YAMLError as err:
            raise ConfigError(f"{where}: invalid mapping {text!r}: {err}") from err
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{where}: expected a mapping of names to values, got {value!r}")
    return dict(value)


def config_from_dict(cls: type[C], data: Mapping[str, Any], source: str = "<config>") -> C:
    """Build ``cls`` from a mapping, converting values and rejecting unknown keys."""
    hints = _hints(cls)
    names = [f.name for f in fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        norm = key.replace("-", "_")
        if norm not in hints or norm not in names:
            close = difflib.get_close_matches(norm, names, n=2, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ConfigError(f"{source}: unknown key {key!r} for {cls.__name__}{hint}")
        kwargs[norm] = _convert(hints[norm], value, f"{source}: {key}")
    cfg = cls(**kwargs)
    cfg.validate()
    return cfg


def load_config(
    cls: type[C], path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> C:
    """Read a YAML config (optional) and apply ``overrides`` on top (CLI strings are converted)."""
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        text = Path(path).read_text(encoding="utf-8")
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: invalid YAML: {err}") from err
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of keys to values")
        data.update(loaded)
    source = str(path) if path is not None else "<overrides>"
    base = config_from_dict(cls, data, source)
    if overrides:
        merged = {**{f.name: getattr(base, f.name) for f in fields(cls)}}
        for key, value in overrides.items():
            merged[key] = value
        return config_from_dict(cls, merged, "command line")
    return base
