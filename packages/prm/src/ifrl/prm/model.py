"""The process reward model: a causal-LM backbone with a two-class head read at step separators.

Input convention (Qwen2.5-Math-PRM's): ``prompt + step_1 + SEP + step_2 + SEP + ...`` where
``SEP`` is one separator token (default ``<extra_0>``, added to the tokenizer when missing). The
head maps the backbone's hidden state at each separator to two logits; the positive-class
probability there is that step's score.

:func:`encode_steps` tokenizes the prompt and every step *separately* and appends the separator
id itself, so a separator can never merge with the text around it and silently lose its label
(a known failure of tokenizing the joined string). It reports the label positions it kept.

:func:`add_fresh_layers` stacks decoder layers that start as the identity on top of the backbone
(``extra_layers``), and ``freeze_base`` keeps the base's embeddings and layers as they are. A head
at a separator can then read what the base computed at *every* earlier position in its last
layer, e.g. the digit it predicted before ``= c``, which the base's own last layer can only
attend to one layer too early; with the base frozen, a learning rate high enough for the fresh
layers cannot wreck what the base knows.

A saved PRM directory holds the backbone (``save_pretrained``, LoRA merged), its tokenizer,
``prm_head.safetensors`` and ``prm_config.json`` (the separator and the step cut, ``split``, the
PRM was trained on: ``newline`` for PRMs saved before it was recorded).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifrl.core.backends.hf import import_torch
from ifrl.core.errors import MissingExtraError

DEFAULT_SEPARATOR = "<extra_0>"
CONFIG_NAME = "prm_config.json"
HEAD_NAME = "prm_head.safetensors"


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


def add_fresh_layers(backbone: Any, count: int, *, seed: int = 0) -> list[Any]:
    """Append ``count`` decoder layers to a Llama-style ``backbone`` that compute the identity.

    Each new layer is a copy of the last one's structure with fresh weights (normal with the
    config's ``initializer_range``, seeded), unit norms, and zeroed output projections of
    attention and MLP (``o_proj``, ``down_proj``), so the backbone's output is unchanged until
    training moves them. The config's ``num_hidden_layers`` (and ``layer_types``) follow, so the
    saved model loads as an ordinary model of that depth. Returns the new layers.
    """
    torch = import_torch()
    if count < 0:
        raise ValueError(f"extra layers must be >= 0, got {count}")
    layers = getattr(backbone, "layers", None)
    if not isinstance(layers, torch.nn.ModuleList) or len(layers) == 0:
        raise ValueError(
            f"{type(backbone).__name__} has no `layers` list of decoder layers; "
            "extra layers need a Llama-style backbone (llama, qwen2, mistral, ...)"
        )
    config = backbone.config
    std = float(getattr(config, "initializer_range", 0.02))
    gen = torch.Generator().manual_seed(seed)
    added = []
    for _ in range(count):
        layer = copy.deepcopy(layers[-1])
        zeroed = 0
        with torch.no_grad():
            for name, module in layer.named_modules():
                if isinstance(module, torch.nn.Linear):
                    if name.endswith(("o_proj", "down_proj")):
                        module.weight.zero_()
                        zeroed += 1
                    else:
                        module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * std)
                    if module.bias is not None:
                        module.bias.zero_()
                elif "norm" in type(module).__name__.lower() and hasattr(module, "weight"):
                    module.weight.fill_(1.0)
        if zeroed != 2:
            raise ValueError(
                f"{type(layer).__name__} has {zeroed} of the o_proj/down_proj output projections "
                "a fresh layer zeroes to start as the identity; this architecture is unsupported"
            )
        attention = getattr(layer, "self_attn", None)
        if attention is not None and hasattr(attention, "layer_idx"):
            attention.layer_idx = len(layers)
        layers.append(layer)
        added.append(layer)
    config.num_hidden_layers = len(layers)
    types = getattr(config, "layer_types", None)
    if types:
        config.layer_types = [*types, *[types[-1]] * count]
    return added


def freeze_base(backbone: Any, trainable: Sequence[Any] = ()) -> None:
    """Stop training the backbone's input embeddings and decoder layers except ``trainable``."""
    keep = {id(p) for module in trainable for p in module.parameters()}
    frozen = [backbone.get_input_embeddings(), *getattr(backbone, "layers", [])]
    for module in frozen:
        for p in module.parameters():
            if id(p) not in keep:
                p.requires_grad_(False)


class ProcessRewardModel:
    """Backbone + 2-class head. Call :meth:`step_logits` / :meth:`score`; train through ``torch``."""

    def __init__(
        self,
        backbone: Any,
        tokenizer: Any,
        separator: str = DEFAULT_SEPARATOR,
        split: str = "newline",
    ) -> None:
        torch = import_torch()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.separator = separator
        self.split = split
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
        extra_layers: int = 0,
        freeze: bool = False,
        seed: int = 0,
    ) -> ProcessRewardModel:
        """A fresh PRM on a causal LM's backbone (head zero-initialised: every score is 0.5).

        ``lora`` (e.g. ``{"r": 8, "alpha": 16}``) wraps the backbone with PEFT LoRA adapters
        (needs ``ifrl-edu-prm[lora]``); only they and the head then train. ``extra_layers``
        stacks that many identity-initialised decoder layers on the backbone
        (:func:`add_fresh_layers`, seeded by ``seed``); ``freeze`` keeps the base's embeddings
        and layers as they are, so only the fresh layers, the final norm and the head train.
        ``seed`` also seeds the embedding of a separator added to the vocabulary, so the same
        settings give the same PRM.
        """
        if lora is not None and (extra_layers or freeze):
            raise ValueError("lora cannot be combined with extra_layers or freeze")
        torch = import_torch()
        from transformers import AutoModel, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model))
        backbone = AutoModel.from_pretrained(str(model), dtype=getattr(torch, dtype))
        if add_separator(tokenizer, separator):
            with torch.random.fork_rng(devices=[]):  # the new row's init: seeded, reproducible
                torch.manual_seed(seed)
                backbone.resize_token_embeddings(len(tokenizer))
        fresh = add_fresh_layers(backbone, extra_layers, seed=seed) if extra_layers else []
        if freeze:
            freeze_base(backbone, trainable=fresh)
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
    def load(
        cls, directory: str | Path, device: str = "cpu", dtype: str = "float32"
    ) -> ProcessRewardModel:
        """Load a PRM saved by :meth:`save` onto ``device``, the backbone in ``dtype``
        (``bfloat16`` halves a GPU's memory for scoring; the head stays float32)."""
        torch = import_torch()
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        directory = Path(directory)
        cfg_path = directory / CONFIG_NAME
        if not cfg_path.is_file():
            raise FileNotFoundError(f"{directory} is not a PRM directory (no {CONFIG_NAME})")
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
        backbone = AutoModel.from_pretrained(str(directory), dtype=getattr(torch, dtype))
        backbone = backbone.to(device)
        prm = cls(backbone, tokenizer, config["separator"], str(config.get("split", "newline")))
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
            json.dumps({"separator": self.separator, "split": self.split, "format": 1}, indent=2)
            + "\n",
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

    def to(self, device: Any) -> ProcessRewardModel:
        """Move the backbone and the head to ``device``; returns the PRM."""
        self.backbone.to(device)
        self.head.to(device)
        return self

    def logits(self, input_ids: Any, attention_mask: Any) -> Any:
        """Two-class logits at every position, shape ``(batch, length, 2)``."""
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask)
        return self.head(out.last_hidden_state.float())

    def batch(self, encoded: Sequence[Encoded]) -> dict[str, Any]:
        """Right-padded tensors plus the (row, position) of every label and its value."""
        torch = import_torch()
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
        torch = import_torch()
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
        torch = import_torch()
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
    "add_fresh_layers",
    "add_separator",
    "encode_steps",
    "freeze_base",
    "separator_id",
]
