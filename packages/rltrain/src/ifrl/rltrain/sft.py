"""Supervised fine-tuning on conversations (with tools), assistant tokens only, with packing and an
easy-to-hard curriculum.

Input: JSONL of conversations, ``{"messages": [...], "tools": [...]}``, read by the core codec
(:meth:`~ifrl.core.records.Conversation.from_openai`: OpenAI/TRL rows with JSON-string or object
tool-call arguments, and ifrl ``Conversation`` records). Each conversation is rendered with the
tokenizer's chat template; labels are ``-100`` everywhere except the tokens of assistant turns.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ifrl.core.chat import assistant_spans, label_tokens
from ifrl.core.config import ConfigError, opt
from ifrl.core.jsonl import read_jsonl
from ifrl.core.records import Conversation
from ifrl.rltrain.data import DataCursor, TrainDataError, shard
from ifrl.rltrain.loop import Trainer
from ifrl.rltrain.models import eval_mode
from ifrl.rltrain.trainconfig import TrainConfig

IGNORE = -100


@dataclass
class SFTConfig(TrainConfig):
    """Supervised fine-tuning settings."""

    output_dir: str = opt(
        "Directory for checkpoints, metrics.jsonl and the final model.", "runs/sft"
    )
    learning_rate: float = opt("Peak learning rate of AdamW.", 2e-5)
    eval_data: str = opt("Held-out conversations (JSONL) for evaluate().", "")
    max_length: int = opt(
        "Truncate (or, with packing, fill) sequences to this many tokens.", 1024, minimum=2
    )
    packing: bool = opt(
        "Pack several conversations into each row (attention stays per conversation).", False
    )
    curriculum: str = opt(
        "Easy-to-hard order: none, loss (the model's own per-sample loss), tool_calls, length, "
        "or module:function taking a Conversation and returning its difficulty.",
        "none",
    )
    curriculum_stages: int = opt(
        "Number of difficulty stages (shuffled within a stage).", 1, minimum=1
    )


def load_conversations(path: str | Path) -> list[Conversation]:
    """Read conversations from JSONL: OpenAI/TRL ``{"messages", "tools"}`` rows (tool-call
    arguments as JSON strings or objects) or ifrl ``Conversation`` records; bad lines raise
    ``JSONLError`` naming file, line and field."""
    return list(read_jsonl(path, Conversation.from_openai))


@dataclass(frozen=True)
class SFTExample:
    """A tokenised conversation: ids, labels (``-100`` off the assistant) and position ids."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    position_ids: tuple[int, ...]
    tool_calls: int = 0
    difficulty: float = 0.0


def tokenize_conversation(tokenizer: Any, conv: Conversation, max_length: int) -> SFTExample:
    """Render ``conv`` with the chat template and label its assistant turns only.

    Assistant spans come from :func:`ifrl.core.chat.assistant_spans` (each turn as the template
    writes it after its own generation prompt, end-of-turn token included) and are mapped to
    tokens through offsets, so template markers and other roles' tokens are never trained on.
    """
    full, spans = assistant_spans(tokenizer, conv)
    # Truncated by the tokenizer itself: the same first ``max_length`` tokens as tokenizing the
    # whole text and cutting, without asking for more tokens than the model takes (which
    # transformers warns about: "Token indices sequence length is longer than ...").
    enc = tokenizer(
        full,
        add_special_tokens=False,
        return_offsets_mapping=True,
        truncation=True,
        max_length=max_length,
    )
    ids: list[int] = list(enc["input_ids"])[:max_length]
    offsets = list(enc["offset_mapping"])[:max_length]
    keep = label_tokens(offsets, spans)
    labels = [tok if k else IGNORE for tok, k in zip(ids, keep)]
    calls = sum(len(m.tool_calls) for m in conv.messages if m.role == "assistant")
    return SFTExample(tuple(ids), tuple(labels), tuple(range(len(ids))), calls)


def _row_name(source: str | Path, k: int) -> str:
    """Where conversation ``k`` of ``source`` came from: ``file:line`` for a JSONL file (blank
    lines skipped, as the reader does), ``source[k]`` otherwise."""
    path = Path(source)
    if path.is_file():
        with open(path, "rb") as fh:
            rows = (n for n, line in enumerate(fh, start=1) if line.strip())
            for j, lineno in enumerate(rows):
                if j == k:
                    return f"{path}:{lineno}"
    return f"{source}[{k}]"


def check_conversations(convs: Sequence[Conversation], source: str | Path) -> None:
    """Check, before any model is loaded, that ``convs`` can be trained on at all.

    Raises :class:`TrainDataError` naming ``source`` when there is no conversation, and naming
    the row (``file:line``, or ``source[i]``) for a conversation without an assistant turn (SFT
    trains on assistant tokens only: the row would silently train on nothing)."""
    if not convs:
        raise TrainDataError(f"{source}: no conversations to train on")
    for k, conv in enumerate(convs):
        if not any(m.role == "assistant" for m in conv.messages):
            roles = ", ".join(m.role for m in conv.messages) or "no messages"
            raise TrainDataError(
                f"{_row_name(source, k)}: the conversation has no assistant turn ({roles}): SFT "
                "trains on assistant turns only, so this row has 0 trainable tokens; remove it "
                "or add the assistant's answer"
            )


def check_trainable(
    convs: Sequence[Conversation],
    examples: Sequence[SFTExample],
    source: str | Path,
    max_length: int,
) -> list[int]:
    """The indices of the conversations SFT can train on.

    Raises :class:`TrainDataError` (a ``ValueError``) as :func:`check_conversations` does, and
    when no row is left. A row whose every assistant token lies past ``max_length`` is left out
    with a warning that names it (long rows are normal in real data; raise ``max_length`` to
    keep them)."""
    check_conversations(convs, source)
    keep: list[int] = []
    cut: list[int] = []
    for k, ex in enumerate(examples):
        if any(label != IGNORE for label in ex.labels):
            keep.append(k)
            continue
        cut.append(k)
    if cut:
        names = ", ".join(_row_name(source, k) for k in cut[:3])
        more = f" and {len(cut) - 3} more" if len(cut) > 3 else ""
        message = (
            f"{len(cut)} of {len(convs)} conversations have 0 trainable tokens: every assistant "
            f"turn starts after max_length={max_length} tokens ({names}{more}); "
        )
        if not keep:
            raise TrainDataError(message + "nothing is left to train on: raise max_length")
        warnings.warn(message + "they are left out (raise max_length to keep them)", stacklevel=3)
    return keep


def pack(examples: Sequence[SFTExample], max_length: int) -> list[SFTExample]:
    """Greedily concatenate examples (in order) into rows of at most ``max_length`` tokens.

    Position ids restart for each example, which makes attention block-diagonal; a row's
    difficulty is the largest of its members'.
    """
    rows: list[SFTExample] = []
    ids: list[int] = []
    labels: list[int] = []
    pos: list[int] = []
    diff = float("-inf")
    calls = 0
    for ex in examples:
        if ids and len(ids) + len(ex.input_ids) > max_length:
            rows.append(SFTExample(tuple(ids), tuple(labels), tuple(pos), calls, diff))
            ids, labels, pos, diff, calls = [], [], [], float("-inf"), 0
        ids += ex.input_ids
        labels += ex.labels
        pos += ex.position_ids
        diff = max(diff, ex.difficulty)
        calls += ex.tool_calls
    if ids:
        rows.append(SFTExample(tuple(ids), tuple(labels), tuple(pos), calls, diff))
    return rows


def collate(examples: Sequence[SFTExample], pad_id: int, packed: bool) -> dict[str, torch.Tensor]:
    """Right-pad a micro-batch; packed rows carry position ids and no attention mask."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    pos = torch.zeros((len(examples), width), dtype=torch.long)
    for i, e in enumerate(examples):
        n = len(e.input_ids)
        ids[i, :n] = torch.tensor(e.input_ids)
        labels[i, :n] = torch.tensor(e.labels)
        mask[i, :n] = 1
        pos[i, :n] = torch.tensor(e.position_ids)
        if n < width:
            pos[i, n:] = torch.arange(width - n)
    out = {"input_ids": ids, "labels": labels}
    if packed:
        out["position_ids"] = pos
    else:
        out["attention_mask"] = mask
    return out


def sft_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Mean next-token cross-entropy over labelled tokens, and their count."""
    kwargs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**kwargs, use_cache=False).logits[:, :-1, :].float()
    targets = batch["labels"][:, 1:]
    n = int((targets != IGNORE).sum())
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.size(-1)),
        targets.reshape(-1),
        ignore_index=IGNORE,
        reduction="sum",
    )
    return loss / max(n, 1), n


def per_example_loss(
    model: torch.nn.Module, examples: Sequence[SFTExample], pad_id: int, batch_size: int = 8
) -> list[float]:
    """Each example's mean assistant-token loss under ``model`` (ToolACE's complexity measure)."""
    out: list[float] = []
    device = next(model.parameters()).device
    was_training = model.training
    eval_mode(model)
    with torch.no_grad():
        for i in range(0, len(examples), batch_size):
            chunk = examples[i : i + batch_size]
            batch = {k: v.to(device) for k, v in collate(chunk, pad_id, False).items()}
            logits = model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                use_cache=False,
            ).logits
            logits = logits[:, :-1, :].float()
            targets = batch["labels"][:, 1:]
            ce = torch.nn.functional.cross_entropy(
                logits.transpose(1, 2), targets, ignore_index=IGNORE, reduction="none"
            )
            counts = (targets != IGNORE).sum(-1).clamp(min=1)
            out.extend((ce.sum(-1) / counts).tolist())
    model.train(was_training)
    return out


def resolve_difficulty(name: str) -> Callable[[Conversation], float] | None:
    """The difficulty function for ``name`` (``None`` for the model-based ``loss`` and ``none``)."""
    if name in ("none", "loss"):
        return None
    if name == "tool_calls":
        return lambda c: float(sum(len(m.tool_calls) for m in c.messages))
    if name == "length":
        return lambda c: float(
            sum(len(m.content or "") for m in c.messages if m.role == "assistant")
        )
    if ":" in name:
        module, func = name.split(":", 1)
        fn = getattr(importlib.import_module(module), func)
        return fn  # type: ignore[no-any-return]
    raise ConfigError(
        "",
        "curriculum",
        f"expected none, loss, tool_calls, length or module:function, got {name!r}",
    )


def curriculum_order(
    difficulties: Sequence[float], stages: int, seed: int
) -> Callable[[int], list[int]]:
    """An ``order_fn`` for :class:`DataCursor`: easy stages first, shuffled within each stage."""
    ranked = sorted(range(len(difficulties)), key=lambda i: (difficulties[i], i))
    bounds = [round(k * len(ranked) / stages) for k in range(stages + 1)]
    groups = [ranked[bounds[k] : bounds[k + 1]] for k in range(stages)]

    def order(epoch: int) -> list[int]:
        out: list[int] = []
        gen = torch.Generator().manual_seed(seed + epoch)
        for g in groups:
            perm = torch.randperm(len(g), generator=gen).tolist()
            out.extend(g[p] for p in perm)
        return out

    return order


class SFTTrainer(Trainer):
    """SFT on assistant tokens, optionally packed and in easy-to-hard curriculum order."""

    config: SFTConfig

    def __init__(
        self,
        config: SFTConfig,
        *,
        model: torch.nn.Module | None = None,
        tokenizer: Any = None,
        train_data: Sequence[Conversation] | None = None,
        eval_data: Sequence[Conversation] | None = None,
    ) -> None:
        # The data is read and checked before the model loads: a data error costs no model load.
        config.validate()
        convs = list(train_data) if train_data is not None else load_conversations(config.data)
        source = "train_data" if train_data is not None else config.data
        check_conversations(convs, source)
        self.eval_conversations = (
            list(eval_data)
            if eval_data is not None
            else (load_conversations(config.eval_data) if config.eval_data else [])
        )
        super().__init__(config, model=model, tokenizer=tokenizer)
        self.pad_id = int(self.tokenizer.pad_token_id)
        examples = [tokenize_conversation(self.tokenizer, c, config.max_length) for c in convs]
        keep = check_trainable(convs, examples, source, config.max_length)
        convs = [convs[k] for k in keep]
        examples = [examples[k] for k in keep]
        diffs = self._difficulties(convs, examples)
        examples = [
            SFTExample(e.input_ids, e.labels, e.position_ids, e.tool_calls, d)
            for e, d in zip(examples, diffs)
        ]
        if config.packing:
            ordered = (
                sorted(examples, key=lambda e: e.difficulty)
                if config.curriculum != "none"
                else examples
            )
            examples = pack(ordered, config.max_length)
        self.examples = examples
        order_fn = None
        if config.curriculum != "none":
            order_fn = curriculum_order(
                [e.difficulty for e in examples], config.curriculum_stages, config.seed
            )
        self.cursor = DataCursor(len(examples), seed=config.seed, order_fn=order_fn)

    def _difficulties(
        self, convs: Sequence[Conversation], examples: Sequence[SFTExample]
    ) -> list[float]:
        name = self.config.curriculum
        if name == "none":
            return [0.0] * len(examples)
        if name == "loss":
            return per_example_loss(self.policy, examples, self.pad_id)
        fn = resolve_difficulty(name)
        assert fn is not None
        return [float(fn(c)) for c in convs]

    def micro_batches(self, step: int) -> list[dict[str, torch.Tensor]]:
        cfg = self.config
        per = cfg.per_device_batch_size
        idx = self.cursor.take(per * cfg.gradient_accumulation_steps * self.world_size)
        out = []
        for k in range(cfg.gradient_accumulation_steps):
            chunk = idx[k * per * self.world_size : (k + 1) * per * self.world_size]
            mine = shard(chunk, self.rank, self.world_size)
            out.append(collate([self.examples[i] for i in mine], self.pad_id, cfg.packing))
        return out

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        batch = {k: v.to(self.device) for k, v in batch.items()}
        loss, _ = sft_loss(self.model, batch)
        return loss, {"loss": float(loss.detach()), "num_tokens": float(batch["input_ids"].numel())}

    def evaluate(self, conversations: Sequence[Conversation] | None = None) -> float:
        """Token-weighted mean assistant loss on held-out conversations."""
        convs = list(conversations) if conversations is not None else self.eval_conversations
        if not convs:
            raise ValueError("no evaluation conversations (set eval_data)")
        examples = [tokenize_conversation(self.tokenizer, c, self.config.max_length) for c in convs]
        source = "eval_data" if conversations is not None else self.config.eval_data
        keep = check_trainable(convs, examples, source, self.config.max_length)
        examples = [examples[k] for k in keep]
        total, count = 0.0, 0
        eval_mode(self.policy)
        with torch.no_grad():
            for i in range(0, len(examples), 8):
                batch = {
                    k: v.to(self.device)
                    for k, v in collate(examples[i : i + 8], self.pad_id, False).items()
                }
                loss, n = sft_loss(self.policy, batch)
                total += float(loss) * n
                count += n
        return total / max(count, 1)

    def state_dict(self) -> dict[str, Any]:
        return {"cursor": self.cursor.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.cursor.load_state_dict(state["cursor"])
