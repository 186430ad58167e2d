"""The process reward model: a causal-LM backbone with a two-class head read at step separators.

Input convention (Qwen2.5-Math-PRM's): ``prompt + step_1 + SEP + step_2 + SEP + ...`` where
``SEP`` is one separator token (default ``<extra_0>``, added to the tokenizer when missing). The
head maps the backbone's hidden state at each separator to two logits; the positive-class
probability there is that step's score.

:func:`encode_steps` tokenizes the prompt and every step *separately* and appends the separator
id itself, so a separator can never merge with the text around it and silently lose its label
(a known failure of tokenizing the joined string). It reports the label positions it kept.

A saved PRM directory holds the backbone (``save_pretrained``, LoRA merged), its tokenizer,
``prm_head.safetensors`` and ``prm_config.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifrl.core.errors import MissingExtraError

DEFAULT_SEPARATOR = "<extra_0>"
CONFIG_NAME = "prm_config.json"
HEAD_NAME = "prm_head.safetensors"


def _torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as err:
        raise MissingExtraError(err.name or "torch", "ifrl-core", "hf") from err
    return torch


@dataclass(frozen=True, slots=True)
class Encoded:
    """Token ids of one sample and the positions (and labels) of its kept separators."""

    input_ids: list[int]
    positions: list[int]
    labels: list[float]
    dropped: int  # steps whose separator fell past max_length


def separator_id(tokenizer: Any, separator: str) -> int:
    """The id of ``separator``; ``ValueError`` unless it is exactly one token."""
    ids = tokenizer.encode(separator, add_special_tokens=False)
    if len(ids) != 1:
        raise ValueError(
            f"the step separator {separator!r} is {len(ids)} tokens for this tokenizer; "
            "it must be a single token (add it with add_separator)"
        )
    return int(ids[0])


def add_separator(tokenizer: Any, separator: str = DEFAULT_SEPARATOR) -> bool:
    """Make ``separator`` a single special token of ``tokenizer``; True when it was added."""
    if len(tokenizer.encode(separator, add_special_tokens=False)) == 1:
        return False
    tokenizer.add_special_tokens({"additional_special_tokens": [separator]})
    return True


def encode_steps(
    tokenizer: Any,
    prompt: str,
    steps: Sequence[str],
    sep_id: int,
    labels: Sequence[float] | None = None,
    max_length: int | None = None,
) -> Encoded:
    """Ids of ``prompt + step + SEP + ...`` and the separator positions that fit ``max_length``."""
    if labels is not None and len(labels) != len(steps):
        raise ValueError(f"{len(labels)} labels for {len(steps)} steps")
    ids = list(tokenizer.encode(prompt, add_special_tokens=True))
    positions: list[int] = []
    kept: list[float] = []
    for i, step in enumerate(steps):
        ids.extend(tokenizer.encode(step, add_special_tokens=False))
        ids.append(sep_id)
        positions.append(len(ids) - 1)
        kept.append(float(labels[i]) if labels is not None else 0.0)
    if max_length is not None and len(ids) > max_length:
        ids = ids[:max_length]
        fits = [i for i, p in enumerate(positions) if p < max_length]
        dropped = len(positions) - len(fits)
        return Encoded(ids, [positions[i] for i in fits], [kept[i] for i in fits], dropped)
    return Encoded(ids, positions, kept, 0)


class ProcessRewardModel:
    """Backbone + 2-class head. Call :meth:`step_logits` / :meth:`score`; train through ``torch``."""

    def __init__(self, backbone: Any, tokenizer: Any, separator: str = DEFAULT_SEPARATOR) -> None:
        torch = _torch()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.separator = separator
        self.sep_id = separator_id(tokenizer, separator)
        hidden = int(backbone.config.hidden_size)
        self.head = torch.nn.Linear(hidden, 2)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)
        self.head.to(next(backbone.parameters()).device)

    # ------------------------------------------------------------------ construction / storage

    @classmethod
    def from_base(
        cls,
        model: str | Path,
        separator: str = DEFAULT_SEPARATOR,
        *,
        lora: dict[str, Any] | None = None,
        dtype: str = "float32",
    ) -> ProcessRewardModel:
        """A fresh PRM on a causal LM's backbone (head zero-initialised: every score is 0.5).

        ``lora`` (e.g. ``{"r": 8, "alpha": 16}``) wraps the backbone with PEFT LoRA adapters
        (needs ``ifrl-edu-prm[lora]``); only they and the head then train.
        """
        torch = _torch()
        from transformers import AutoModel, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model))
        backbone = AutoModel.from_pretrained(str(model), dtype=getattr(torch, dtype))
        if add_separator(tokenizer, separator):
            backbone.resize_token_embeddings(len(tokenizer))
        if lora is not None:
            try:
                from peft import LoraConfig, get_peft_model
            except ImportError as err:
                raise MissingExtraError("peft", "ifrl-edu-prm", "lora") from err
            cfg = LoraConfig(
                r=int(lora.get("r", 8)),
                lora_alpha=int(lora.get("alpha", 16)),
                lora_dropout=float(lora.get("dropout", 0.0)),
                target_modules=lora.get("target_modules", "all-linear"),
            )
            backbone = get_peft_model(backbone, cfg)
        return cls(backbone, tokenizer, separator)

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> ProcessRewardModel:
        """Load a PRM saved by :meth:`save`."""
        _torch()
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        directory = Path(directory)
        cfg_path = directory / CONFIG_NAME
        if not cfg_path.is_file():
            raise FileNotFoundError(f"{directory} is not a PRM directory (no {CONFIG_NAME})")
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
        backbone = AutoModel.from_pretrained(str(directory)).to(device)
        prm = cls(backbone, tokenizer, config["separator"])
        prm.head.load_state_dict(load_file(str(directory / HEAD_NAME), device=device))
        prm.eval()
        return prm

    def save(self, directory: str | Path) -> Path:
        """Write the PRM to ``directory`` (LoRA adapters merged into the backbone)."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        backbone = self.backbone
        if hasattr(backbone, "merge_and_unload"):
            backbone = backbone.merge_and_unload()
            self.backbone = backbone
        backbone.save_pretrained(directory, safe_serialization=True)
        self.tokenizer.save_pretrained(directory)
        state = {k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}
        save_file(state, str(directory / HEAD_NAME))
        (directory / CONFIG_NAME).write_text(
            json.dumps({"separator": self.separator, "format": 1}, indent=2) + "\n",
            encoding="utf-8",
        )
        return directory

    # --------------------------------------------------------------------------------- compute

    def parameters(self) -> list[Any]:
        return [*self.backbone.parameters(), *self.head.parameters()]

    def train(self) -> None:
        self.backbone.train()
        self.head.train()

    def eval(self) -> None:
        self.backbone.eval()
        self.head.eval()

    @property
    def device(self) -> Any:
        return next(self.backbone.parameters()).device

    def logits(self, input_ids: Any, attention_mask: Any) -> Any:
        """Two-class logits at every position, shape ``(batch, length, 2)``."""
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask)
        return self.head(out.last_hidden_state.float())

    def batch(self, encoded: Sequence[Encoded]) -> dict[str, Any]:
        """Right-padded tensors plus the (row, position) of every label and its value."""
        torch = _torch()
        width = max(len(e.input_ids) for e in encoded)
        pad = self.tokenizer.pad_token_id
        pad = int(pad if pad is not None else 0)
        ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        rows, cols, values = [], [], []
        for r, e in enumerate(encoded):
            ids[r, : len(e.input_ids)] = torch.tensor(e.input_ids, dtype=torch.long)
            mask[r, : len(e.input_ids)] = 1
            rows += [r] * len(e.positions)
            cols += e.positions
            values += e.labels
        dev = self.device
        return {
            "input_ids": ids.to(dev),
            "attention_mask": mask.to(dev),
            "rows": torch.tensor(rows, dtype=torch.long, device=dev),
            "cols": torch.tensor(cols, dtype=torch.long, device=dev),
            "labels": torch.tensor(values, dtype=torch.float32, device=dev),
        }

    def loss(self, batch: dict[str, Any]) -> Any:
        """Cross-entropy at the separators against soft targets ``[1 - y, y]`` (hard y: plain CE).

        Raises ``ValueError`` for a batch with no label at all, instead of returning a zero or
        NaN loss that would silently train on nothing.
        """
        torch = _torch()
        if batch["rows"].numel() == 0:
            raise ValueError("a training batch has no step labels (every separator masked)")
        logits = self.logits(batch["input_ids"], batch["attention_mask"])
        picked = logits[batch["rows"], batch["cols"]]
        logp = torch.log_softmax(picked, dim=-1)
        y = batch["labels"]
        return -(y * logp[:, 1] + (1.0 - y) * logp[:, 0]).mean()

    def score_batch(
        self, items: Sequence[tuple[str, Sequence[str]]], max_length: int | None = None
    ) -> list[list[float]]:
        """Step scores (positive-class probabilities) for each ``(prompt, steps)``."""
        torch = _torch()
        if not items:
            return []
        encoded = [
            encode_steps(self.tokenizer, p, s, self.sep_id, max_length=max_length) for p, s in items
        ]
        batch = self.batch(encoded)
        with torch.no_grad():
            logits = self.logits(batch["input_ids"], batch["attention_mask"])
            probs = torch.softmax(logits[batch["rows"], batch["cols"]], dim=-1)[:, 1].tolist()
        out: list[list[float]] = []
        i = 0
        for e in encoded:
            out.append(probs[i : i + len(e.positions)])
            i += len(e.positions)
        return out


__all__ = [
    "DEFAULT_SEPARATOR",
    "Encoded",
    "ProcessRewardModel",
    "add_separator",
    "encode_steps",
    "separator_id",
]
