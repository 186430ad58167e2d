"""GRPO: group-relative policy optimisation with verifiable rewards.

Per rollout phase: take ``P`` prompts (global), sample ``G`` completions each from a ``Generator``
(by default :class:`~ifrl.core.backends.hf.HFGenerator` on the in-memory policy, so rollouts use
the current weights), score them with reward functions in TRL's calling convention
``f(prompts, completions, **columns) -> list[float | None]`` (weighted, ``None`` skipped), and turn
rewards into group-normalised advantages. Under DDP each process samples its share of the prompts
and rewards are gathered before normalising. The rollout batch then feeds ``num_iterations``
optimizer steps of the clipped token-level surrogate, with the k3 KL to the reference when
``beta > 0``.
"""

from __future__ import annotations

import hashlib
import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ifrl.core.backends.hf import HFGenerator
from ifrl.core.chat import render_prompt
from ifrl.core.config import ConfigError, opt
from ifrl.core.errors import RecordError
from ifrl.core.generation import Generator, make_generator
from ifrl.core.jsonl import read_jsonl
from ifrl.core.records import Conversation, RewardFn, SamplingParams
from ifrl.rltrain.checkpoint import full_model_state, is_sharded
from ifrl.rltrain.data import DataCursor, shard
from ifrl.rltrain.logprobs import shared_prefix_logprobs
from ifrl.rltrain.loop import Trainer
from ifrl.rltrain.models import (
    eval_mode,
    is_peft,
    load_reference,
    policy_weights,
    reference_mode,
)
from ifrl.rltrain.trainconfig import TrainConfig, check_choice, check_min

LOSS_TYPES = ("grpo", "dr_grpo", "dapo")
SCALES = ("group", "batch", "none")


@dataclass
class GRPOConfig(TrainConfig):
    """GRPO settings. One optimizer step consumes ``per_device_batch_size *
    gradient_accumulation_steps * processes`` completions, i.e. that divided by
    ``num_generations`` prompts."""

    output_dir: str = opt(
        "Directory for checkpoints, metrics.jsonl and the final model.", "runs/grpo"
    )
    learning_rate: float = opt("Peak learning rate of AdamW.", 1e-6)
    num_generations: int = opt("Completions sampled per prompt (the group size G).", 4)
    max_prompt_length: int = opt(
        "Longest prompt allowed, in tokens; a longer one is an error (the sampler would see "
        "more context than the loss).",
        512,
    )
    max_completion_length: int = opt("Maximum new tokens per completion.", 256)
    temperature: float = opt("Sampling temperature (log-probs use the same temperature).", 1.0)
    top_p: float = opt("Nucleus sampling mass.", 1.0)
    top_k: int = opt("Top-k sampling (0 disables).", 0)
    beta: float = opt("KL coefficient (k3 estimator); 0 loads no reference model.", 0.0)
    epsilon: float = opt("Lower clipping range of the importance ratio.", 0.2)
    epsilon_high: float = opt(
        "Upper clipping range (DAPO clip-higher); <0 means equal to epsilon.", -1.0
    )
    loss_type: str = opt(
        "Aggregation: grpo (per-sequence mean), dr_grpo (sum / max_completion_length), dapo (global token mean).",
        "dapo",
    )
    scale_rewards: str = opt(
        "Divide advantages by the std of the group, the batch, or none.", "group"
    )
    num_iterations: int = opt("Optimizer steps per rollout batch (old log-probs are kept).", 1)
    kl_ratio_correction: bool = opt(
        "Weight the k3 KL of each token by its importance ratio to the old policy.", True
    )
    mask_truncated_completions: bool = opt(
        "Drop completions that hit the length limit from the loss.", False
    )
    reward_funcs: tuple[str, ...] = opt("Reward functions as module:function (TRL convention).", ())
    reward_weights: tuple[float, ...] = opt("Weights of the reward functions (default all 1).", ())
    backend: str = opt(
        "Rollout engine: policy (transformers on the in-memory policy), vllm (an in-process "
        "vLLM engine on <model>, needs ifrl-core[vllm]) or another registered generator built "
        "with model=<model>; an engine other than policy must offer load_weights(weights), which "
        "receives the policy's merged weights before each rollout phase.",
        "policy",
    )
    backend_options: dict[str, Any] = opt(
        "Keyword arguments for the rollout engine. vllm defaults to dtype=<dtype>, seed=<seed>, "
        "max_model_len=max_prompt_length+max_completion_length, in_process=true, "
        "use_tqdm=false, and gpu_memory_utilization=0.3 on a GPU (the trainer shares it) or "
        "enforce_eager=true on a CPU; any vllm.LLM option may be added or overridden, e.g. "
        "{gpu_memory_utilization: 0.5, max_model_len: 4096}.",
        factory=dict,
    )

    def validate(self) -> None:
        super().validate()
        check_choice("loss_type", self.loss_type, LOSS_TYPES)
        check_choice("scale_rewards", self.scale_rewards, SCALES)
        check_min(self, 2, "num_generations")  # group-relative advantages need a group
        check_min(self, 1, "num_iterations")
        if self.reward_weights and len(self.reward_weights) != len(self.reward_funcs):
            raise ConfigError(
                "",
                "reward_weights",
                f"{len(self.reward_weights)} weights for {len(self.reward_funcs)} reward functions",
            )


# ------------------------------------------------------------------------------------------------
# Advantages and the loss


def group_advantages(rewards: torch.Tensor, group_size: int, scale: str = "group") -> torch.Tensor:
    """``r - mean(group)``, divided by the group std, the batch std, or nothing (``+1e-4``).

    ``rewards`` is ``[N]`` with the ``G`` completions of a prompt adjacent. Standard deviations
    are unbiased (as TRL's).
    """
    grouped = rewards.view(-1, group_size)
    mean = grouped.mean(dim=1).repeat_interleave(group_size)
    adv = rewards - mean
    if scale == "group":
        std = grouped.std(dim=1).repeat_interleave(group_size)
        return adv / (std + 1e-4)
    if scale == "batch":
        return adv / (rewards.std() + 1e-4)
    if scale == "none":
        return adv
    raise ValueError(f"unknown scale_rewards {scale!r}; expected one of {list(SCALES)}")


@dataclass(frozen=True)
class LossParts:
    """The aggregated loss and its diagnostics."""

    loss: torch.Tensor
    kl: float
    clip_low: float
    clip_high: float


def grpo_loss(
    logps: torch.Tensor,
    old_logps: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    ref_logps: torch.Tensor | None = None,
    beta: float = 0.0,
    epsilon_low: float = 0.2,
    epsilon_high: float = 0.2,
    loss_type: str = "dapo",
    max_completion_length: int | None = None,
    num_tokens: float | None = None,
    kl_ratio_correction: bool = True,
) -> LossParts:
    """Clipped token-level surrogate plus ``beta`` × k3 KL, aggregated by ``loss_type``.

    ``logps``/``old_logps``/``ref_logps``/``mask`` are ``[B, C]``, ``advantages`` ``[B]``.
    ``grpo``: mean over each sequence's tokens, then over sequences; ``dr_grpo``: sum over tokens
    divided by ``B * max_completion_length``; ``dapo``: sum divided by ``num_tokens`` (the masked
    token count the loss is normalised by, default this batch's). With ``kl_ratio_correction``
    the k3 term is weighted by the importance ratio (unbiased when sampling from the old policy).
    """
    mask = mask.to(logps.dtype)
    ratio = torch.exp(logps - old_logps)
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    adv = advantages.unsqueeze(1)
    per_token = -torch.min(ratio * adv, clipped * adv)
    kl_mean = 0.0
    if beta != 0.0:
        if ref_logps is None:
            raise ValueError("beta > 0 needs reference log-probs")
        diff = ref_logps - logps
        kl = torch.exp(diff) - diff - 1
        per_token = per_token + beta * (kl * ratio if kl_ratio_correction else kl)
        kl_mean = float((kl.detach() * mask).sum() / mask.sum().clamp(min=1))
    if loss_type == "grpo":
        loss = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    elif loss_type == "dr_grpo":
        if max_completion_length is None:
            raise ValueError("dr_grpo needs max_completion_length")
        loss = (per_token * mask).sum() / (per_token.size(0) * max_completion_length)
    elif loss_type == "dapo":
        denom = float(mask.sum()) if num_tokens is None else num_tokens
        loss = (per_token * mask).sum() / max(denom, 1.0)
    else:
        raise ValueError(f"unknown loss_type {loss_type!r}; expected one of {list(LOSS_TYPES)}")
    with torch.no_grad():
        total = mask.sum().clamp(min=1)
        low = (((ratio < 1 - epsilon_low) & (adv < 0)).to(mask.dtype) * mask).sum() / total
        high = (((ratio > 1 + epsilon_high) & (adv > 0)).to(mask.dtype) * mask).sum() / total
    return LossParts(loss, kl_mean, float(low), float(high))


# ------------------------------------------------------------------------------------------------
# Data and rewards


def parse_prompt_row(data: dict[str, Any]) -> dict[str, Any]:
    """A GRPO row: ``prompt`` (text or chat messages) plus any columns the rewards read."""
    if "prompt" not in data:
        raise RecordError("prompt", "missing")
    p = data["prompt"]
    if not isinstance(p, str) and not (isinstance(p, list) and all(isinstance(m, dict) for m in p)):
        raise RecordError("prompt", "must be a string or a list of chat messages")
    return data


def load_prompts(path: str | Path) -> list[dict[str, Any]]:
    """Read GRPO prompt rows; bad lines raise ``JSONLError`` naming file, line and field."""
    return list(read_jsonl(path, parse_prompt_row))


def resolve_reward(spec: str | RewardFn) -> RewardFn:
    """A reward function from a callable or a ``module:function`` name."""
    if callable(spec):
        return spec
    if ":" not in spec:
        raise ConfigError("", "reward_funcs", f"expected module:function, got {spec!r}")
    module, name = spec.split(":", 1)
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ConfigError("", "reward_funcs", f"cannot load {spec!r}: {err}") from err
    return fn  # type: ignore[no-any-return]


def _reward_name(fn: RewardFn) -> str:
    return str(getattr(fn, "__name__", type(fn).__name__))


def _row_seed(*parts: int) -> int:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


# ------------------------------------------------------------------------------------------------
# Trainer


class GRPOTrainer(Trainer):
    """GRPO with group-normalised advantages, clipping, k3 KL and several aggregations."""

    config: GRPOConfig

    def __init__(
        self,
        config: GRPOConfig,
        *,
        reward_funcs: Sequence[str | RewardFn] | None = None,
        model: torch.nn.Module | None = None,
        tokenizer: Any = None,
        ref_model: torch.nn.Module | None = None,
        train_data: Sequence[dict[str, Any]] | None = None,
        generator: Generator | None = None,
    ) -> None:
        super().__init__(config, model=model, tokenizer=tokenizer)
        specs = list(reward_funcs) if reward_funcs is not None else list(config.reward_funcs)
        if not specs:
            raise ConfigError("", "reward_funcs", "GRPO needs at least one reward function")
        self.reward_funcs = [resolve_reward(s) for s in specs]
        weights = list(config.reward_weights) or [1.0] * len(self.reward_funcs)
        if len(weights) != len(self.reward_funcs):
            raise ConfigError("", "reward_weights", "one weight per reward function")
        self.reward_weights = torch.tensor(weights, dtype=torch.float32)
        rows = (
            [parse_prompt_row(dict(r)) for r in train_data]
            if train_data is not None
            else load_prompts(config.data)
        )
        self.rows = rows
        per_step = (
            config.per_device_batch_size * config.gradient_accumulation_steps * self.world_size
        )
        if per_step % config.num_generations:
            raise ConfigError(
                "",
                "per_device_batch_size",
                f"per_device_batch_size * gradient_accumulation_steps * processes = {per_step} "
                f"is not a multiple of num_generations = {config.num_generations}",
            )
        self.prompts_per_step = per_step // config.num_generations
        if self.prompts_per_step % self.world_size:
            raise ConfigError(
                "",
                "per_device_batch_size",
                f"{self.prompts_per_step} prompts per step do not split over "
                f"{self.world_size} processes",
            )
        self.cursor = DataCursor(len(rows), seed=config.seed)
        self.reference: torch.nn.Module | None = None
        if config.beta != 0.0:
            self.reference = (
                ref_model if ref_model is not None else load_reference(config, self.policy)
            )
            if self.reference is not None:
                self.reference.to(self.device)
        self.generator = generator
        self._external_generator = generator is not None
        self.pad_id = int(self.tokenizer.pad_token_id)
        self.buffer: list[dict[str, torch.Tensor]] = []
        self.buffer_metrics: dict[str, float] = {}
        self.num_tokens_global = 0.0
        self.rollout_entropy = False

    # -- rollouts ----------------------------------------------------------------------------------

    def _generator(self) -> Generator:
        if self.generator is None:
            if self.config.backend == "policy":
                if is_sharded(self.policy):
                    # Each process would stop decoding at its own step, leaving the others
                    # waiting in FSDP's all-gathers.
                    raise ConfigError(
                        "",
                        "backend",
                        "policy cannot sample from an FSDP-sharded policy; use an engine that "
                        "holds its own model copy (backend: vllm)",
                    )

                self.generator = HFGenerator(
                    self.policy, tokenizer=self.tokenizer, device=str(self.device), batch_size=64
                )
                eval_mode(self.policy)  # HFGenerator set eval(); keep 4-bit linears trainable
            else:
                cfg = self.config
                options: dict[str, Any] = {}
                if cfg.backend == "vllm":
                    # The engine samples what the loss scores: same dtype, seed and context. On a
                    # GPU it shares the device with the trainer (colocated), so it takes 30%.
                    gpu = torch.cuda.is_available()
                    options = {
                        "dtype": cfg.dtype,
                        "seed": cfg.seed,
                        "max_model_len": cfg.max_prompt_length + cfg.max_completion_length,
                        "in_process": True,
                        "use_tqdm": False,
                        **({"gpu_memory_utilization": 0.3} if gpu else {"enforce_eager": True}),
                    }
                options.update(cfg.backend_options)
                self.generator = make_generator(cfg.backend, model=cfg.model, **options)
        if self.config.backend != "policy" or self._external_generator:
            self._sync_weights(self.generator)
        return self.generator

    def _sync_weights(self, gen: Generator) -> None:
        """Load the current policy (LoRA merged) into an engine that holds its own model copy."""
        load = getattr(gen, "load_weights", None)
        if load is None:
            if self._external_generator and self.config.backend == "policy":
                return  # a caller-supplied generator that samples from the policy itself
            raise ConfigError(
                "",
                "backend",
                f"{self.config.backend!r}: the generator has no load_weights(weights), so "
                "rollouts would come from stale weights; use backend: policy",
            )
        full = full_model_state(self.policy, all_ranks=True)  # under FSDP: every rank gathers
        if full is not None and is_peft(self.policy):
            raise ConfigError(
                "",
                "use_lora",
                "under FSDP, merging adapters into sharded weights for the rollout engine is not "
                "supported; train LoRA without FSDP",
            )
        load(full if full is not None else policy_weights(self.policy))

    def _prompt(self, row: dict[str, Any]) -> str | Conversation:
        p = row["prompt"]
        if isinstance(p, str):
            return p
        return Conversation.from_dict({"messages": p, "tools": row.get("tools") or []})

    def _prompt_ids(self, prompt: str | Conversation) -> list[int]:
        text = render_prompt(self.tokenizer, prompt)
        add = not isinstance(prompt, Conversation)
        ids = list(self.tokenizer(text, add_special_tokens=add)["input_ids"])
        if len(ids) > self.config.max_prompt_length:
            raise ValueError(
                f"a prompt has {len(ids)} tokens, more than max_prompt_length="
                f"{self.config.max_prompt_length}: {text[:80]!r}..."
            )
        return ids

    def _gather(self, t: torch.Tensor) -> torch.Tensor:
        if self.world_size == 1:
            return t
        return self.accelerator.gather(t.to(self.device)).cpu()  # type: ignore[no-any-return]

    def rollout(self, step: int) -> None:
        """Sample, score and pre-compute everything the next ``num_iterations`` steps need."""
        cfg = self.config
        G = cfg.num_generations
        global_idx = self.cursor.take(self.prompts_per_step)
        mine = shard(list(enumerate(global_idx)), self.rank, self.world_size)
        rows = [self.rows[i] for _, i in mine]
        prompts = [self._prompt(r) for r in rows]
        unique_ids = [self._prompt_ids(p) for p in prompts]  # checks lengths before sampling
        was_training = self.policy.training
        gen = self._generator()
        # One call per process; the seed depends on the step and the first global prompt slot.
        params = SamplingParams(
            n=G,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            top_k=cfg.top_k,
            max_new_tokens=cfg.max_completion_length,
            seed=_row_seed(cfg.seed, step, mine[0][0]),
        )
        completions = gen.generate(prompts, params)
        self.policy.train(was_training)
        # Flatten in (prompt, sample) order: the G completions of a prompt are adjacent.
        flat_prompts = [p for p in prompts for _ in range(G)]
        flat_rows = [r for r in rows for _ in range(G)]
        flat = [c for group in completions for c in group]
        texts = [c.text for c in flat]
        reward_completions: list[Any] = [
            t if isinstance(p, str) else [{"role": "assistant", "content": t}]
            for p, t in zip(flat_prompts, texts)
        ]
        reward_prompts: list[Any] = [r["prompt"] for r in flat_rows]
        columns = {k: [r.get(k) for r in flat_rows] for k in flat_rows[0] if k != "prompt"}
        per_func = torch.zeros((len(flat), len(self.reward_funcs)), dtype=torch.float32)
        for j, fn in enumerate(self.reward_funcs):
            vals = fn(prompts=reward_prompts, completions=reward_completions, **columns)
            if len(vals) != len(flat):
                raise ValueError(
                    f"reward {_reward_name(fn)} returned {len(vals)} values for {len(flat)} completions"
                )
            per_func[:, j] = torch.tensor([math.nan if v is None else float(v) for v in vals])
        all_per_func = self._gather(per_func)
        rewards = (all_per_func * self.reward_weights).nansum(dim=1)
        advantages = group_advantages(rewards, G, cfg.scale_rewards)
        n_local = len(flat)
        my_adv = advantages[self.rank * n_local : (self.rank + 1) * n_local]
        # Token tensors: prompts left-padded, completions right-padded.
        prompt_ids = [ids for ids in unique_ids for _ in range(G)]
        eos_ids = set(getattr(gen, "eos_ids", ())) | {int(self.tokenizer.eos_token_id)}
        comp_ids = [list(c.token_ids)[: cfg.max_completion_length] for c in flat]
        truncated = torch.tensor([not (ids and ids[-1] in eos_ids) for ids in comp_ids])
        lengths = torch.tensor([len(ids) for ids in comp_ids], dtype=torch.float32)
        pw = max(len(p) for p in prompt_ids)
        cw = cfg.max_completion_length
        # Padded to this process's longest completion, not to max_completion_length: no forward
        # or backward work on columns that are padding in every row.
        width = max(1, max(len(ids) for ids in comp_ids))
        p_t = torch.full((n_local, pw), self.pad_id, dtype=torch.long)
        p_m = torch.zeros((n_local, pw), dtype=torch.long)
        c_t = torch.full((n_local, width), self.pad_id, dtype=torch.long)
        c_m = torch.zeros((n_local, width), dtype=torch.long)
        for i, (p, c) in enumerate(zip(prompt_ids, comp_ids)):
            p_t[i, pw - len(p) :] = torch.tensor(p)
            p_m[i, pw - len(p) :] = 1
            if c:
                c_t[i, : len(c)] = torch.tensor(c)
                c_m[i, : len(c)] = 1
        if cfg.mask_truncated_completions:
            c_m[truncated] = 0
        self.num_tokens_global = float(self._gather(c_m.sum().reshape(1).float()).sum())
        per = cfg.per_device_batch_size
        self.buffer = []
        for s in range(0, n_local, per):
            mb = {
                "prompt_ids": p_t[s : s + per],
                "prompt_mask": p_m[s : s + per],
                "completion_ids": c_t[s : s + per],
                "completion_mask": c_m[s : s + per],
                "advantages": my_adv[s : s + per],
            }
            with torch.no_grad():
                if cfg.num_iterations > 1:
                    mb["old_logps"] = self._logps(self.policy, mb).cpu()
                if self.config.beta != 0.0:
                    with reference_mode(self.policy, self.reference) as ref:
                        mb["ref_logps"] = self._logps(ref, mb).cpu()
            self.buffer.append(mb)
        all_lengths = self._gather(lengths)
        all_trunc = self._gather(truncated.float())
        # The sampler's exact per-token entropies (temperature 1) spare the training forward pass
        # a full-vocabulary softmax; otherwise (e.g. vLLM's top-k estimates) compute_loss
        # measures entropy itself.
        exact = bool(getattr(self.generator, "exact_entropies", False))
        self.rollout_entropy = (
            exact
            and cfg.temperature == 1.0
            and all(len(c.entropies) >= min(len(c.token_ids), cw) for c in flat)
        )
        metrics: dict[str, float] = {}
        if self.rollout_entropy:
            ent_sum = sum(float(sum(c.entropies[:cw])) for c in flat)
            ent_n = sum(min(len(c.token_ids), cw) for c in flat)
            tot = self._gather(
                torch.tensor([ent_sum, float(ent_n)], dtype=torch.float64).reshape(1, 2)
            )
            metrics["entropy"] = float(tot[:, 0].sum() / tot[:, 1].sum().clamp(min=1))
        metrics |= {
            "reward": float(rewards.mean()),
            "reward_std": float(rewards.std()) if rewards.numel() > 1 else 0.0,
            "completion_length": float(all_lengths.mean()),
            "truncated_fraction": float(all_trunc.mean()),
        }
        for j, fn in enumerate(self.reward_funcs):
            col = all_per_func[:, j]
            col = col[~torch.isnan(col)]
            name = _reward_name(fn)
            metrics[f"rewards/{name}/mean"] = float(col.mean()) if col.numel() else math.nan
            metrics[f"rewards/{name}/std"] = float(col.std()) if col.numel() > 1 else 0.0
        self.buffer_metrics = metrics

    def _logps(
        self, model: torch.nn.Module, mb: dict[str, torch.Tensor], with_entropy: bool = False
    ) -> Any:
        # The G completions of a prompt share one forward pass over it.
        out = shared_prefix_logprobs(
            model,
            mb["prompt_ids"].to(self.device),
            mb["prompt_mask"].to(self.device),
            mb["completion_ids"].to(self.device),
            mb["completion_mask"].to(self.device),
            temperature=self.config.temperature,
            with_entropy=with_entropy,
        )
        return out if with_entropy else out[0]

    # -- the loop's hooks --------------------------------------------------------------------------

    def micro_batches(self, step: int) -> list[dict[str, torch.Tensor]]:
        if step % self.config.num_iterations == 0 or not self.buffer:
            self.rollout(step)
        self.pending_metrics = dict(self.buffer_metrics)
        return self.buffer

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.config
        if self.rollout_entropy:
            logps, ent = self._logps(self.model, batch), None
        else:
            logps, ent = self._logps(self.model, batch, with_entropy=True)
        mask = batch["completion_mask"].to(self.device)
        old = batch["old_logps"].to(self.device) if "old_logps" in batch else logps.detach()
        ref = batch["ref_logps"].to(self.device) if "ref_logps" in batch else None
        eps_high = cfg.epsilon if cfg.epsilon_high < 0 else cfg.epsilon_high
        n_micro = len(self.buffer)
        parts = grpo_loss(
            logps,
            old,
            batch["advantages"].to(self.device),
            mask,
            ref_logps=ref,
            beta=cfg.beta,
            epsilon_low=cfg.epsilon,
            epsilon_high=eps_high,
            loss_type=cfg.loss_type,
            max_completion_length=cfg.max_completion_length,
            # dapo: every process and micro-batch divides by the global token count; the loop's
            # 1/accumulation and DDP's 1/processes are undone here.
            num_tokens=self.num_tokens_global / (n_micro * self.world_size),
            kl_ratio_correction=cfg.kl_ratio_correction,
        )
        extra: dict[str, float] = {}
        if ent is not None:
            m = mask.to(ent.dtype)
            extra["entropy"] = float((ent * m).sum() / m.sum().clamp(min=1))
        return parts.loss, {
            **extra,
            "loss": float(parts.loss.detach()),
            "kl": parts.kl,
            "clip_ratio/low": parts.clip_low,
            "clip_ratio/high": parts.clip_high,
            "num_tokens": float(batch["prompt_mask"].sum() + mask.sum()),
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor.state_dict(),
            "buffer": self.buffer,
            "buffer_metrics": self.buffer_metrics,
            "num_tokens_global": self.num_tokens_global,
            "rollout_entropy": self.rollout_entropy,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.cursor.load_state_dict(state["cursor"])
        self.buffer = state["buffer"]
        self.buffer_metrics = state["buffer_metrics"]
        self.num_tokens_global = state["num_tokens_global"]
        self.rollout_entropy = state["rollout_entropy"]
