"""Preference optimisation: DPO (``sigmoid``), IPO (``ipo``) and reference-free SimPO (``simpo``).

Input: JSONL of ``PreferencePair`` records (``prompt``/``chosen``/``rejected`` strings plus
``meta``) or TRL's preference rows, whose fields may also be chat message lists (then rendered
with the tokenizer's chat template). Plain-text chosen/rejected get the EOS token appended. Each
pair is tokenised as prompt, prompt+chosen and prompt+rejected; the completions start where those
token sequences diverge from the prompt's, so pairs sharing a prefix and BPE merges across the
prompt boundary are handled.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ifrl.core.config import ConfigError, opt
from ifrl.core.errors import RecordError
from ifrl.core.jsonl import read_jsonl
from ifrl.rltrain.data import DataCursor, TrainDataError, shard
from ifrl.rltrain.logprobs import selective_log_softmax, shared_prefix_logprobs
from ifrl.rltrain.loop import Trainer
from ifrl.rltrain.models import eval_mode, load_reference, reference_mode
from ifrl.rltrain.trainconfig import TrainConfig

LOSS_TYPES = ("sigmoid", "ipo", "simpo")


@dataclass
class DPOConfig(TrainConfig):
    """DPO / IPO / SimPO settings."""

    output_dir: str = opt(
        "Directory for checkpoints, metrics.jsonl and the final model.", "runs/dpo"
    )
    learning_rate: float = opt("Peak learning rate of AdamW.", 1e-6)
    loss_type: str = opt(
        "sigmoid (DPO), ipo, or simpo (reference-free, length-normalised).",
        "sigmoid",
        choices=LOSS_TYPES,
    )
    beta: float = opt("DPO/SimPO inverse temperature; IPO's regularisation tau.", 0.1)
    gamma: float = opt("SimPO target reward margin (the logits are shifted by gamma / beta).", 0.5)
    label_smoothing: float = opt(
        "Conservative DPO/SimPO: assumed probability that a label is flipped.", 0.0
    )
    sft_weight: float = opt(
        "Weight of an NLL term on the chosen completions (CPO's cpo_alpha).", 0.0
    )
    precompute_ref_logps: bool = opt(
        "Compute reference log-probs for the whole dataset once before training.", False
    )
    max_length: int = opt(
        "Truncate prompt+completion to this many tokens (keeping the start).", 1024
    )

    def validate(self) -> None:
        super().validate()
        if self.beta <= 0:
            raise ConfigError("", "beta", f"must be > 0, got {self.beta}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError("", "label_smoothing", "must lie in [0, 0.5)")


# ------------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class PairExample:
    """A tokenised preference pair."""

    prompt_ids: tuple[int, ...]
    chosen_ids: tuple[int, ...]
    rejected_ids: tuple[int, ...]


def parse_pair(data: dict[str, Any]) -> dict[str, Any]:
    """Check one preference row (ifrl or TRL format) and return its prompt/chosen/rejected."""
    out: dict[str, Any] = {}
    for key in ("prompt", "chosen", "rejected"):
        if key not in data:
            raise RecordError(key, "missing")
        value = data[key]
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(m, dict) and "role" in m for m in value)
        ):
            pass
        else:
            raise RecordError(key, "must be a string or a list of chat messages")
        out[key] = value
    if isinstance(out["prompt"], str) != isinstance(out["chosen"], str) or isinstance(
        out["chosen"], str
    ) != isinstance(out["rejected"], str):
        raise RecordError("chosen", "prompt, chosen and rejected must all be text or all messages")
    if "tools" in data:
        out["tools"] = data["tools"]
    return out


def load_pairs(path: str | Path) -> list[dict[str, Any]]:
    """Read preference pairs; bad lines raise ``JSONLError`` naming file, line and field."""
    return list(read_jsonl(path, parse_pair))


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading token ids ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def tokenize_pair(
    tokenizer: Any, pair: dict[str, Any], max_length: int | None = None
) -> PairExample:
    """Tokenise a pair the way TRL's DPOTrainer does (EOS appended to plain-text completions)."""
    prompt, chosen, rejected = pair["prompt"], pair["chosen"], pair["rejected"]
    if isinstance(prompt, str):
        eos = tokenizer.eos_token
        chosen = chosen if chosen.endswith(eos) else chosen + eos
        rejected = rejected if rejected.endswith(eos) else rejected + eos
        p = list(tokenizer(text=prompt)["input_ids"])
        pc = list(tokenizer(text=prompt + chosen)["input_ids"])
        pr = list(tokenizer(text=prompt + rejected)["input_ids"])
    else:
        tools = pair.get("tools")

        def ids(msgs: list[dict[str, Any]], gen: bool) -> list[int]:
            out = tokenizer.apply_chat_template(
                msgs, tools=tools, add_generation_prompt=gen, tokenize=True, return_dict=True
            )
            return list(out["input_ids"])

        p = ids(prompt, True)
        pc = ids(prompt + chosen, False)
        pr = ids(prompt + rejected, False)
    n = min(common_prefix(p, pc), common_prefix(p, pr))
    ex = PairExample(tuple(p[:n]), tuple(pc[n:]), tuple(pr[n:]))
    return ex if max_length is None else truncate_pair(ex, max_length)


def truncate_pair(ex: PairExample, max_length: int) -> PairExample:
    """``ex`` within ``max_length`` tokens per row. The prompt loses its *start* (the end of a
    prompt, where the answer begins, matters most) and the completions their ends; when both
    are long the completions keep half the budget. A long prompt never empties the completions
    (the pair would then teach nothing)."""
    longest = max(len(ex.chosen_ids), len(ex.rejected_ids))
    if len(ex.prompt_ids) + longest <= max_length:
        return ex
    budget = min(longest, max(1, max_length // 2))
    start = max(0, len(ex.prompt_ids) - max(0, max_length - budget))
    prompt = ex.prompt_ids[start:]
    keep = max_length - len(prompt)
    return PairExample(prompt, ex.chosen_ids[:keep], ex.rejected_ids[:keep])


def collate_pairs(examples: Sequence[PairExample], pad_id: int) -> dict[str, torch.Tensor]:
    """``[chosen rows; rejected rows]`` right-padded: input_ids, attention_mask, completion_mask."""
    rows = [(e.prompt_ids, e.chosen_ids) for e in examples] + [
        (e.prompt_ids, e.rejected_ids) for e in examples
    ]
    width = max(len(p) + len(c) for p, c in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    comp = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (p, c) in enumerate(rows):
        n = len(p) + len(c)
        ids[i, :n] = torch.tensor(p + c)
        attn[i, :n] = 1
        comp[i, len(p) : n] = 1
    return {"input_ids": ids, "attention_mask": attn, "completion_mask": comp}


# ------------------------------------------------------------------------------------------------
# Losses


def completion_logps(
    model: torch.nn.Module, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Summed completion log-probs per row, completion token counts, and the mean NLL of chosen rows.

    The NLL is the token-mean cross-entropy over the first half of the rows (the chosen ones).
    Logits are computed only from the first completion position of the batch on.
    """
    comp = batch["completion_mask"]
    width = comp.size(1)
    has = comp.any(dim=0).nonzero()
    first = int(has[0]) if has.numel() else width - 1
    keep = width - max(first, 1) + 1
    logits = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        use_cache=False,
        logits_to_keep=keep,
    ).logits
    logits = logits[:, :-1, :]
    targets = batch["input_ids"][:, width - keep + 1 :]
    mask = comp[:, width - keep + 1 :].to(logits.dtype)
    per_token = selective_log_softmax(logits, targets) * mask
    half = per_token.size(0) // 2
    nll = -per_token[:half].sum() / mask[:half].sum().clamp(min=1)
    return per_token.sum(-1), mask.sum(-1), nll


def pair_logps(
    model: torch.nn.Module,
    examples: Sequence[PairExample],
    pad_id: int,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`completion_logps` of ``collate_pairs(examples)``, with each prompt run once.

    Chosen and rejected rows share one forward pass over their prompt
    (:func:`~ifrl.rltrain.logprobs.shared_prefix_logprobs`): the same values up to float
    rounding, with the prompt tokens computed once per pair instead of twice. Pairs with an empty
    prompt use the plain layout.
    """
    if not examples or any(not e.prompt_ids for e in examples):
        batch = {k: v.to(device) for k, v in collate_pairs(examples, pad_id).items()}
        return completion_logps(model, batch)
    completions = [e.chosen_ids for e in examples] + [e.rejected_ids for e in examples]
    prompts = [e.prompt_ids for e in examples] * 2
    width = max(len(p) for p in prompts)
    new = max(1, max(len(c) for c in completions))
    p_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    p_mask = torch.zeros((len(prompts), width), dtype=torch.long)
    c_ids = torch.full((len(prompts), new), pad_id, dtype=torch.long)
    c_mask = torch.zeros((len(prompts), new), dtype=torch.long)
    for i, (p, c) in enumerate(zip(prompts, completions)):
        p_ids[i, width - len(p) :] = torch.tensor(p)
        p_mask[i, width - len(p) :] = 1
        if c:
            c_ids[i, : len(c)] = torch.tensor(c)
            c_mask[i, : len(c)] = 1
    c_mask = c_mask.to(device)
    logps, _ = shared_prefix_logprobs(
        model, p_ids.to(device), p_mask.to(device), c_ids.to(device), c_mask
    )
    mask = c_mask.to(logps.dtype)
    per_token = logps * mask
    half = len(examples)
    nll = -per_token[:half].sum() / mask[:half].sum().clamp(min=1)
    return per_token.sum(-1), mask.sum(-1), nll


def preference_losses(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor | None,
    ref_rejected_logps: torch.Tensor | None,
    chosen_lengths: torch.Tensor,
    rejected_lengths: torch.Tensor,
    *,
    loss_type: str,
    beta: float,
    gamma: float = 0.0,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pair losses and implicit reward margins for ``sigmoid``, ``ipo`` or ``simpo``.

    Log-probs are summed over completion tokens. ``sigmoid``: ``-log σ(β Δ)`` with
    ``Δ`` the difference of policy/reference log-ratios; ``ipo``: ``(Δ̄ - 1/(2β))²`` with per-token
    averaged log-ratios; ``simpo``: ``-log σ(β (c̄ - r̄) - γ)`` on length-normalised policy log-probs
    (no reference). ``label_smoothing`` mixes in the flipped-label loss for sigmoid and simpo.
    """
    if loss_type == "simpo":
        delta = chosen_logps / chosen_lengths.clamp(
            min=1
        ) - rejected_logps / rejected_lengths.clamp(min=1)
        logits = beta * (delta - gamma / beta)
        losses = (
            -F.logsigmoid(logits) * (1 - label_smoothing) - F.logsigmoid(-logits) * label_smoothing
        )
        return losses, beta * delta.detach()
    if ref_chosen_logps is None or ref_rejected_logps is None:
        raise ValueError(f"loss_type {loss_type!r} needs reference log-probs")
    chosen_ratio = chosen_logps - ref_chosen_logps
    rejected_ratio = rejected_logps - ref_rejected_logps
    if loss_type == "sigmoid":
        logits = beta * (chosen_ratio - rejected_ratio)
        losses = (
            -F.logsigmoid(logits) * (1 - label_smoothing) - F.logsigmoid(-logits) * label_smoothing
        )
        return losses, logits.detach()
    if loss_type == "ipo":
        delta = chosen_ratio / chosen_lengths.clamp(
            min=1
        ) - rejected_ratio / rejected_lengths.clamp(min=1)
        return (delta - 1 / (2 * beta)) ** 2, delta.detach()
    raise ValueError(f"unknown loss_type {loss_type!r}; expected one of {list(LOSS_TYPES)}")


# ------------------------------------------------------------------------------------------------
# Trainer


class DPOTrainer(Trainer):
    """DPO / IPO / SimPO on preference pairs; the reference is a frozen copy or the LoRA-free base."""

    config: DPOConfig

    def __init__(
        self,
        config: DPOConfig,
        *,
        model: torch.nn.Module | None = None,
        tokenizer: Any = None,
        ref_model: torch.nn.Module | None = None,
        train_data: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        # The pairs are read and checked before the model loads: a data error costs no model load.
        config.validate()
        pairs = (
            [parse_pair(dict(p)) for p in train_data]
            if train_data is not None
            else load_pairs(config.data)
        )
        if not pairs:
            source = "train_data" if train_data is not None else config.data
            raise TrainDataError(f"{source}: no preference pairs to train on")
        super().__init__(config, model=model, tokenizer=tokenizer)
        self.pad_id = int(self.tokenizer.pad_token_id)
        whole = [tokenize_pair(self.tokenizer, p) for p in pairs]
        self.examples = [truncate_pair(e, config.max_length) for e in whole]
        cut = sum(e != w for e, w in zip(self.examples, whole))
        if cut:
            warnings.warn(
                f"{cut} of {len(whole)} preference pairs are longer than max_length="
                f"{config.max_length} tokens: their prompts lost their start and/or their "
                "completions their end (raise max_length to train on them whole)",
                stacklevel=2,
            )
        self.cursor = DataCursor(len(self.examples), seed=config.seed)
        self.reference: torch.nn.Module | None = None
        if config.loss_type != "simpo":
            self.reference = (
                ref_model if ref_model is not None else load_reference(config, self.policy)
            )
            if self.reference is not None:
                self.reference.to(self.device)
        self.ref_cache: torch.Tensor | None = None
        if config.precompute_ref_logps and config.loss_type != "simpo":
            self.ref_cache = self.reference_logps(range(len(self.examples)))

    @torch.no_grad()
    def reference_logps(self, indices: Sequence[int] | range) -> torch.Tensor:
        """``[len(indices), 2]`` reference (chosen, rejected) summed log-probs."""
        out = []
        idx = list(indices)
        bs = max(1, self.config.per_device_batch_size)
        with reference_mode(self.policy, self.reference) as ref:
            was = ref.training
            eval_mode(ref)
            for i in range(0, len(idx), bs):
                chunk = [self.examples[j] for j in idx[i : i + bs]]
                logps, _, _ = pair_logps(ref, chunk, self.pad_id, self.device)
                c, r = logps.chunk(2)
                out.append(torch.stack([c, r], dim=-1).float().cpu())
            ref.train(was)
        return torch.cat(out)

    def micro_batches(self, step: int) -> list[list[int]]:
        cfg = self.config
        per = cfg.per_device_batch_size
        idx = self.cursor.take(per * cfg.gradient_accumulation_steps * self.world_size)
        return [
            shard(
                idx[k * per * self.world_size : (k + 1) * per * self.world_size],
                self.rank,
                self.world_size,
            )
            for k in range(cfg.gradient_accumulation_steps)
        ]

    def compute_loss(self, batch: list[int]) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.config
        examples = [self.examples[i] for i in batch]
        logps, lengths, nll = pair_logps(self.model, examples, self.pad_id, self.device)
        chosen, rejected = logps.chunk(2)
        len_c, len_r = lengths.chunk(2)
        ref_c = ref_r = None
        if cfg.loss_type != "simpo":
            if self.ref_cache is not None:
                ref = self.ref_cache[batch].to(self.device)
            else:
                ref = self.reference_logps(batch).to(self.device)
            ref_c, ref_r = ref[:, 0], ref[:, 1]
        losses, margins = preference_losses(
            chosen,
            rejected,
            ref_c,
            ref_r,
            len_c,
            len_r,
            loss_type=cfg.loss_type,
            beta=cfg.beta,
            gamma=cfg.gamma,
            label_smoothing=cfg.label_smoothing,
        )
        loss = losses.mean()
        if cfg.sft_weight:
            loss = loss + cfg.sft_weight * nll
        return loss, {
            "loss": float(loss.detach()),
            "rewards/margin": float(margins.mean()),
            "rewards/accuracy": float((margins > 0).float().mean()),
            "logps/chosen": float(chosen.detach().mean()),
            "logps/rejected": float(rejected.detach().mean()),
            "num_tokens": float(
                sum(
                    2 * len(e.prompt_ids) + len(e.chosen_ids) + len(e.rejected_ids)
                    for e in examples
                )
            ),
        }

    @torch.no_grad()
    def margin(self, indices: Sequence[int] | None = None) -> float:
        """Mean (chosen − rejected) summed log-prob of the policy over ``indices`` (all by default)."""
        idx = list(indices) if indices is not None else list(range(len(self.examples)))
        eval_mode(self.policy)
        logps, _, _ = pair_logps(
            self.policy, [self.examples[i] for i in idx], self.pad_id, self.device
        )
        self.policy.train()
        c, r = logps.chunk(2)
        return float((c - r).mean())

    def state_dict(self) -> dict[str, Any]:
        return {"cursor": self.cursor.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.cursor.load_state_dict(state["cursor"])
