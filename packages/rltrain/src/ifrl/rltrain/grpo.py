"""GRPO: group-relative policy optimisation with verifiable rewards.

Per rollout phase: take ``P`` prompts (global; from one dataset or several mixed by weight),
sample ``G`` completions each from a ``Generator`` (by default
:class:`~ifrl.core.backends.hf.HFGenerator` on the in-memory policy, so rollouts use the current
weights; or a vLLM engine, in process or a separate server, loaded with the current weights),
score them with reward functions in TRL's calling convention
``f(prompts, completions, **columns) -> list[float | None]`` (weighted; ``None`` skipped, a
completion no function scored gets advantage 0), and turn rewards into group-normalised
advantages (:mod:`ifrl.rltrain.advantages`). With ``dynamic_sampling`` groups whose completions
all scored the same are replaced by newly sampled ones. Under DDP each process samples its share
of the prompts and rewards are gathered before normalising. The rollout batch then feeds
``num_iterations`` optimizer steps of the clipped token-level surrogate, with the k3 KL to the
reference when ``beta > 0`` and, for rollouts from an engine with its own weights, TRL's
importance-sampling correction (:mod:`ifrl.rltrain.importance`).

Reward functions receive TRL's extra keywords too: ``completion_ids`` (the token ids of each
completion) and ``log_metric(name, value)``, which logs a scalar (averaged over the calls and
processes of a rollout phase) beside the built-in metrics — e.g. a constraint reward's pass rate
per constraint type.
"""

from __future__ import annotations

import ast
import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ifrl.core.backends.hf import HFGenerator, eos_token_ids, row_seed
from ifrl.core.chat import render_prompt
from ifrl.core.config import ConfigError, opt
from ifrl.core.errors import RecordError
from ifrl.core.generation import Generator, make_generator
from ifrl.core.jsonl import read_jsonl
from ifrl.core.records import Completion, Conversation, RawText, RewardFn, SamplingParams
from ifrl.rltrain.advantages import (
    SCALES,
    combine_rewards,
    compute_advantages,
    group_advantages,
    informative_groups,
    nanstd,
    select_groups,
)
from ifrl.rltrain.checkpoint import full_model_state, is_sharded
from ifrl.rltrain.data import DataCursor, MixedCursor, TrainDataError, shard
from ifrl.rltrain.health import ZeroVarianceMonitor
from ifrl.rltrain.importance import IS_MODES, sampler_importance_weights
from ifrl.rltrain.logprobs import shared_prefix_logprobs
from ifrl.rltrain.loop import Trainer
from ifrl.rltrain.models import (
    eval_mode,
    is_peft,
    load_reference,
    policy_weights,
    prompt_token_ids,
    reference_mode,
)
from ifrl.rltrain.trainconfig import TrainConfig

LOSS_TYPES = ("grpo", "dr_grpo", "dapo")
VLLM_MODES = ("colocate", "server")


@dataclass
class GRPOConfig(TrainConfig):
    """GRPO settings. One optimizer step consumes ``per_device_batch_size *
    gradient_accumulation_steps * processes`` completions, i.e. that divided by
    ``num_generations`` prompts."""

    output_dir: str = opt(
        "Directory for checkpoints, metrics.jsonl and the final model.", "runs/grpo"
    )
    learning_rate: float = opt("Peak learning rate of AdamW.", 1e-6)
    datasets: dict[str, float] = opt(
        "Several prompt files mixed by weight instead of data, {path: weight}: each prompt of "
        "a step comes from a file with probability weight / sum of weights, and every file is "
        "walked (and reshuffled each epoch) on its own; e.g. {hard.jsonl: 3, soft.jsonl: 1}.",
        factory=dict,
    )
    # Group-relative advantages need a group.
    num_generations: int = opt("Completions sampled per prompt (the group size G).", 4, minimum=2)
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
        choices=LOSS_TYPES,
    )
    scale_rewards: str = opt(
        "Divide advantages by the std of the group, the batch, or none.", "group", choices=SCALES
    )
    num_iterations: int = opt(
        "Optimizer steps per rollout batch (old log-probs are kept).", 1, minimum=1
    )
    kl_ratio_correction: bool = opt(
        "Weight the k3 KL of each token by its importance ratio to the old policy.", True
    )
    mask_truncated_completions: bool = opt(
        "Drop completions that hit the length limit from the loss.", False
    )
    dynamic_sampling: bool = opt(
        "DAPO's dynamic sampling: drop the groups whose completions all got the same reward "
        "(they have zero advantage) and sample more prompts in their place, up to "
        "dynamic_sampling_max_rounds extra generation rounds per rollout phase; if the batch "
        "is still short, dropped groups fill it.",
        False,
    )
    dynamic_sampling_max_rounds: int = opt(
        "Extra generation rounds dynamic sampling may run per rollout phase.", 3, minimum=0
    )
    zero_std_warning_steps: int = opt(
        "Warn when more than half of the groups have identical rewards on this many "
        "consecutive steps (0 disables).",
        3,
        minimum=0,
    )
    reward_funcs: tuple[str, ...] = opt(
        "Reward functions as module:function (TRL convention), or module:Factory(key=value, "
        "...) with literal arguments, e.g. ifrl.rltrain:GuardReward(min_words=5).",
        (),
    )
    reward_weights: tuple[float, ...] = opt("Weights of the reward functions (default all 1).", ())
    backend: str = opt(
        "Rollout engine: policy (transformers on the in-memory policy), vllm (a vLLM engine: "
        "see vllm_mode; needs ifrl-core[vllm]) or another registered generator built "
        "with model=<model>; an engine other than policy must offer load_weights(weights), which "
        "receives the policy's merged weights before each rollout phase.",
        "policy",
    )
    backend_options: dict[str, Any] = opt(
        "Keyword arguments for the rollout engine. vllm colocate defaults to dtype=<dtype>, "
        "seed=<seed>, max_model_len=max_prompt_length+max_completion_length, in_process=true, "
        "use_tqdm=false, and gpu_memory_utilization=0.3 on a GPU (the trainer shares it) or "
        "enforce_eager=true on a CPU; any vllm.LLM option may be added or overridden, e.g. "
        "{gpu_memory_utilization: 0.5, max_model_len: 4096}. vllm server: options of the HTTP "
        "client (model, timeout, concurrency, max_retries).",
        factory=dict,
    )
    vllm_mode: str = opt(
        "With backend vllm: colocate (an in-process engine on <model>) or server (a separate "
        "`vllm serve` process at vllm_server_base_url, started with VLLM_SERVER_DEV_MODE=1, "
        "that reloads the weights from vllm_sync_dir before each rollout phase).",
        "colocate",
        choices=VLLM_MODES,
    )
    vllm_server_base_url: str = opt(
        "The vLLM server's OpenAI-compatible URL (vllm_mode: server).", "http://127.0.0.1:8000/v1"
    )
    vllm_sync_dir: str = opt(
        "Directory the trainer writes the weights to and the vLLM server reads them from "
        "(vllm_mode: server; shared storage when the server runs on another machine); "
        "empty: <output_dir>/weight_sync.",
        "",
    )
    vllm_importance_sampling_correction: bool = opt(
        "When rollouts come from an engine with its own weights (vLLM), weight each token's "
        "policy term by p_trainer / p_sampler (truncated or masked, as TRL does).",
        True,
    )
    vllm_importance_sampling_mode: str = opt(
        "token_truncate, token_mask, sequence_truncate or sequence_mask.",
        "token_truncate",
        choices=IS_MODES,
    )
    vllm_importance_sampling_clip_min: float | None = opt(
        "Lower bound of the importance ratio (truncate: clamp; mask: zero below); null: none.",
        None,
    )
    vllm_importance_sampling_clip_max: float | None = opt(
        "Upper bound of the importance ratio (truncate: clamp; mask: zero above); null: none.",
        3.0,
    )

    def validate(self) -> None:
        super().validate()
        if self.reward_weights and len(self.reward_weights) != len(self.reward_funcs):
            raise ConfigError(
                "",
                "reward_weights",
                f"{len(self.reward_weights)} weights for {len(self.reward_funcs)} reward functions",
            )
        if self.vllm_mode == "server" and self.backend != "vllm":
            raise ConfigError("", "vllm_mode", "server needs backend: vllm")
        if self.datasets and self.data:
            raise ConfigError("", "datasets", "give either data or datasets, not both")
        weights = list(self.datasets.values())
        if weights and (min(weights) < 0 or sum(weights) <= 0):
            raise ConfigError("", "datasets", "weights must be >= 0 with a positive sum")


# ------------------------------------------------------------------------------------------------
# The loss


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
    importance_weights: torch.Tensor | None = None,
) -> LossParts:
    """Clipped token-level surrogate plus ``beta`` × k3 KL, aggregated by ``loss_type``.

    ``logps``/``old_logps``/``ref_logps``/``mask`` are ``[B, C]``, ``advantages`` ``[B]``.
    ``grpo``: mean over each sequence's tokens, then over sequences; ``dr_grpo``: sum over tokens
    divided by ``B * max_completion_length``; ``dapo``: sum divided by ``num_tokens`` (the masked
    token count the loss is normalised by, default this batch's). With ``kl_ratio_correction``
    the k3 term is weighted by the importance ratio (unbiased when sampling from the old policy).
    ``importance_weights`` (``[B, C]`` or ``[B, 1]``; see
    :func:`~ifrl.rltrain.importance.sampler_importance_weights`) multiply the policy term (not
    the KL), correcting for rollouts sampled by another engine.
    """
    mask = mask.to(logps.dtype)
    ratio = torch.exp(logps - old_logps)
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    adv = advantages.unsqueeze(1)
    per_token = -torch.min(ratio * adv, clipped * adv)
    if importance_weights is not None:
        per_token = per_token * importance_weights
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
    """A reward function from a callable, a ``module:function`` name, or a factory call with
    literal arguments, ``module:Factory(key=value, ...)`` (e.g.
    ``ifrl.rltrain:GuardReward(min_words=5)``)."""
    if callable(spec):
        return spec
    if ":" not in spec:
        raise ConfigError("", "reward_funcs", f"expected module:function, got {spec!r}")
    module, expr = (part.strip() for part in spec.split(":", 1))
    try:
        node = ast.parse(expr, mode="eval").body
        call = node if isinstance(node, ast.Call) else None
        target = call.func if call is not None else node
        path = ast.unparse(target)
        if not all(part.isidentifier() for part in path.split(".")):
            raise ValueError(f"{path!r} is not a name")
        args = [ast.literal_eval(a) for a in call.args] if call else []
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg} if call else {}
        if call is not None and len(kwargs) != len(call.keywords):
            raise ValueError("**kwargs are not supported")
    except (SyntaxError, ValueError) as err:
        raise ConfigError(
            "", "reward_funcs", f"{spec!r}: expected module:name or module:name(literals): {err}"
        ) from None
    try:
        obj: Any = importlib.import_module(module)
        for part in path.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise ConfigError("", "reward_funcs", f"cannot load {spec!r}: {err}") from err
    if call is not None:
        try:
            obj = obj(*args, **kwargs)
        except (TypeError, ValueError) as err:
            raise ConfigError("", "reward_funcs", f"{spec!r}: {err}") from None
    if not callable(obj):
        raise ConfigError("", "reward_funcs", f"{spec!r} is not callable")
    return obj  # type: ignore[no-any-return]


def _reward_name(fn: RewardFn) -> str:
    return str(getattr(fn, "__name__", type(fn).__name__))


def _dataset_names(keys: Sequence[str]) -> list[str]:
    """Short metric names for datasets: a path's stem, numbered when two stems collide."""
    stems = [Path(k).stem or k for k in keys]
    return [s if stems.count(s) == 1 else f"{s}_{i}" for i, s in enumerate(stems)]


class MetricLog:
    """The ``log_metric(name, value)`` a reward function receives: values by name, averaged
    over every call (and every process) of a rollout phase."""

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def __call__(self, name: str, value: float) -> None:
        self.values.setdefault(str(name), []).append(float(value))


@dataclass
class _Group:
    """One prompt's ``G`` completions in a rollout phase: its row and, when this process holds
    them, the completions (``None``: sampled by another process and not gathered)."""

    row: int
    completions: list[Completion] | None


# ------------------------------------------------------------------------------------------------
# Trainer


def _load_datasets(
    cfg: GRPOConfig,
    train_data: Sequence[dict[str, Any]] | Mapping[str, Sequence[dict[str, Any]]] | None,
) -> dict[str, list[dict[str, Any]]]:
    """The prompt rows by dataset name: ``train_data`` when given, else the config's files."""
    if isinstance(train_data, Mapping):
        unknown = sorted(set(cfg.datasets) - set(train_data))
        if unknown:
            raise ConfigError("", "datasets", f"weights for datasets not given: {unknown}")
        parts = {str(k): [parse_prompt_row(dict(r)) for r in v] for k, v in train_data.items()}
    elif train_data is not None:
        parts = {"data": [parse_prompt_row(dict(r)) for r in train_data]}
    elif cfg.datasets:
        parts = {path: load_prompts(path) for path in cfg.datasets}
    else:
        parts = {cfg.data: load_prompts(cfg.data)}
    for name, rows in parts.items():
        if not rows:
            raise TrainDataError(f"{name}: no prompt rows to train on")
    return parts


class GRPOTrainer(Trainer):
    """GRPO with group-normalised advantages, clipping, k3 KL and several aggregations.

    ``train_data`` replaces the prompt file: a list of rows, or ``{name: rows}`` for several
    datasets mixed by the config's ``datasets`` weights (by name; 1 where a name has none).
    """

    config: GRPOConfig

    def __init__(
        self,
        config: GRPOConfig,
        *,
        reward_funcs: Sequence[str | RewardFn] | None = None,
        model: torch.nn.Module | None = None,
        tokenizer: Any = None,
        ref_model: torch.nn.Module | None = None,
        train_data: Sequence[dict[str, Any]] | Mapping[str, Sequence[dict[str, Any]]] | None = None,
        generator: Generator | None = None,
    ) -> None:
        # Rewards and data are resolved and read before the model loads: an error in either
        # costs no model load.
        config.validate()
        parts = _load_datasets(config, train_data)
        specs = list(reward_funcs) if reward_funcs is not None else list(config.reward_funcs)
        if not specs:
            raise ConfigError("", "reward_funcs", "GRPO needs at least one reward function")
        self.reward_funcs = [resolve_reward(s) for s in specs]
        weights = list(config.reward_weights) or [1.0] * len(self.reward_funcs)
        if len(weights) != len(self.reward_funcs):
            raise ConfigError("", "reward_weights", "one weight per reward function")
        self.reward_weights = torch.tensor(weights, dtype=torch.float32)
        super().__init__(config, model=model, tokenizer=tokenizer)
        self.rows = [row for rows in parts.values() for row in rows]
        self.dataset_names = _dataset_names(list(parts))
        self.row_source = [k for k, rows in enumerate(parts.values()) for _ in rows]
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
        self.cursor: DataCursor | MixedCursor
        if len(parts) == 1:
            self.cursor = DataCursor(len(self.rows), seed=config.seed)
        else:
            mix = [float(config.datasets.get(name, 1.0)) for name in parts]
            self.cursor = MixedCursor([len(r) for r in parts.values()], mix, seed=config.seed)
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
        self.zero_std_monitor = ZeroVarianceMonitor(config.zero_std_warning_steps)

    # -- rollouts ----------------------------------------------------------------------------------

    def _generator(self) -> Generator:
        if self.generator is None:
            cfg = self.config
            if cfg.backend == "policy":
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
            elif cfg.backend == "vllm" and cfg.vllm_mode == "server":
                from ifrl.rltrain.rollout_server import VLLMServerGenerator

                sync = Path(cfg.vllm_sync_dir or Path(cfg.output_dir) / "weight_sync")
                self.generator = VLLMServerGenerator(
                    cfg.vllm_server_base_url,
                    tokenizer=self.tokenizer,
                    sync_dir=sync.resolve(),
                    eos_ids=eos_token_ids(self.policy, self.tokenizer),
                    **cfg.backend_options,
                )
            else:
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
        """Load the current policy (LoRA merged) into an engine that holds its own model copy.

        A vLLM server is shared by every process: rank 0 loads, the others wait for it."""
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
        shared = self.config.backend == "vllm" and self.config.vllm_mode == "server"
        if not shared or self.rank == 0:
            load(full if full is not None else policy_weights(self.policy))
        if shared:
            self._barrier()

    def _separate_engine(self, gen: Generator) -> bool:
        """Whether rollouts come from an engine with its own copy of the weights."""
        own = self.config.backend != "policy" or self._external_generator
        return own and getattr(gen, "load_weights", None) is not None

    def _prompt(self, row: dict[str, Any]) -> RawText | Conversation:
        """A row's prompt as the policy sees it: chat messages through its chat template, a
        string (TRL's "standard" format) as raw text, exactly as written."""
        p = row["prompt"]
        if isinstance(p, str):
            return RawText(p)
        return Conversation.from_dict({"messages": p, "tools": row.get("tools") or []})

    def _prompt_ids(self, prompt: RawText | Conversation) -> list[int]:
        ids = prompt_token_ids(self.tokenizer, prompt)
        if len(ids) > self.config.max_prompt_length:
            text = render_prompt(self.tokenizer, prompt)
            raise ValueError(
                f"a prompt has {len(ids)} tokens, more than max_prompt_length="
                f"{self.config.max_prompt_length}: {text[:80]!r}..."
            )
        return ids

    def _gather(self, t: torch.Tensor) -> torch.Tensor:
        if self.world_size == 1:
            return t
        return self.accelerator.gather(t.to(self.device)).cpu()  # type: ignore[no-any-return]

    def _score(
        self,
        rows: list[dict[str, Any]],
        prompts: list[RawText | Conversation],
        completions: list[list[Completion]],
        log: MetricLog,
    ) -> torch.Tensor:
        """``[len(rows) * G, F]`` rewards of this process's completions (NaN for ``None``)."""
        G = self.config.num_generations
        flat_rows = [r for r in rows for _ in range(G)]
        flat = [c for group in completions for c in group]
        reward_completions: list[Any] = [
            c.text if isinstance(p, RawText) else [{"role": "assistant", "content": c.text}]
            for p, group in zip(prompts, completions)
            for c in group
        ]
        reward_prompts: list[Any] = [r["prompt"] for r in flat_rows]
        extra: dict[str, Any] = {
            "completion_ids": [list(c.token_ids) for c in flat],
            "log_metric": log,
        }
        # Rows of mixed datasets may have different columns: a row without one gets None.
        keys = list(dict.fromkeys(k for r in rows for k in r))
        columns = {
            k: [r.get(k) for r in flat_rows] for k in keys if k != "prompt" and k not in extra
        }
        per_func = torch.zeros((len(flat), len(self.reward_funcs)), dtype=torch.float32)
        for j, fn in enumerate(self.reward_funcs):
            vals = fn(prompts=reward_prompts, completions=reward_completions, **columns, **extra)
            if len(vals) != len(flat):
                raise ValueError(
                    f"reward {_reward_name(fn)} returned {len(vals)} values for {len(flat)} completions"
                )
            per_func[:, j] = torch.tensor([math.nan if v is None else float(v) for v in vals])
        return per_func

    def _sample_round(
        self, gen: Generator, step: int, round_: int, log: MetricLog
    ) -> tuple[list[_Group], torch.Tensor]:
        """Sample and score one round of ``P`` prompts: the global groups (completions of
        other processes only with dynamic sampling) and their ``[P * G, F]`` rewards."""
        cfg = self.config
        global_idx = self.cursor.take(self.prompts_per_step)
        mine = shard(list(enumerate(global_idx)), self.rank, self.world_size)
        rows = [self.rows[i] for _, i in mine]
        prompts = [self._prompt(r) for r in rows]
        for p in prompts:
            self._prompt_ids(p)  # checks lengths before sampling
        was_training = self.policy.training
        # One call per process; the seed depends on the step, the round and the first global
        # prompt slot.
        seed_parts = (cfg.seed, step, mine[0][0]) + ((round_,) if round_ else ())
        params = SamplingParams(
            n=cfg.num_generations,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            top_k=cfg.top_k,
            max_new_tokens=cfg.max_completion_length,
            seed=row_seed(*seed_parts),
        )
        completions = gen.generate(prompts, params)
        self.policy.train(was_training)
        per_func = self._gather(self._score(rows, prompts, completions, log))
        held: list[list[Completion] | None] = [None] * len(global_idx)
        if self.world_size > 1 and cfg.dynamic_sampling:
            from accelerate.utils import gather_object

            held = list(gather_object(completions))
        else:
            per = len(global_idx) // self.world_size
            held[self.rank * per : (self.rank + 1) * per] = completions
        return [_Group(i, c) for i, c in zip(global_idx, held)], per_func

    def _reward_metrics(self, log: MetricLog) -> dict[str, float]:
        """The reward functions' ``log_metric`` values, averaged over calls and processes."""
        names = sorted(log.values)
        if self.world_size > 1:
            from accelerate.utils import gather_object

            names = sorted(set(gather_object(names)))
        if not names:
            return {}
        sums = torch.tensor(
            [[sum(log.values.get(n, [])), len(log.values.get(n, []))] for n in names],
            dtype=torch.float64,
        )
        if self.world_size > 1:
            sums = self.accelerator.reduce(sums.to(self.device), reduction="sum").cpu()
        return {n: float(s / c) if c else math.nan for n, (s, c) in zip(names, sums.tolist())}

    def rollout(self, step: int) -> None:
        """Sample, score and pre-compute everything the next ``num_iterations`` steps need."""
        cfg = self.config
        G, P = cfg.num_generations, self.prompts_per_step
        log = MetricLog()
        gen = self._generator()
        groups: list[_Group] = []
        parts: list[torch.Tensor] = []
        rounds = 1 + (cfg.dynamic_sampling_max_rounds if cfg.dynamic_sampling else 0)
        for r in range(rounds):
            new, per_func = self._sample_round(gen, step, r, log)
            groups += new
            parts.append(per_func)
            if not cfg.dynamic_sampling:
                break
            rewards_so_far = combine_rewards(torch.cat(parts), self.reward_weights)
            if int(informative_groups(rewards_so_far, G).sum()) >= P:
                break
        all_per_func = torch.cat(parts)
        metrics: dict[str, float] = {}
        chosen = list(range(P))
        if cfg.dynamic_sampling:
            informative = informative_groups(
                combine_rewards(all_per_func, self.reward_weights), G
            ).tolist()
            chosen = select_groups(informative, P)
            metrics |= {
                "dynamic_sampling/rounds": float(len(parts)),
                "dynamic_sampling/frac_groups_informative": sum(informative) / len(informative),
                "dynamic_sampling/filled_groups": float(sum(not informative[g] for g in chosen)),
            }
        sel = torch.tensor([g * G + j for g in chosen for j in range(G)], dtype=torch.long)
        per_func_sel = all_per_func[sel]
        rewards = combine_rewards(per_func_sel, self.reward_weights)
        adv = compute_advantages(rewards, G, cfg.scale_rewards)
        mine = shard(chosen, self.rank, self.world_size)
        local = [groups[g] for g in mine]
        n_local = len(local) * G
        my_adv = adv.advantages[self.rank * n_local : (self.rank + 1) * n_local]
        flat: list[Completion] = []
        for g in local:
            if g.completions is None:  # pragma: no cover - a selection bug, not user input
                raise RuntimeError("a chosen group's completions are not on this process")
            flat += g.completions
        metrics |= self._build_buffer(local, flat, my_adv, gen)
        cw = cfg.max_completion_length
        all_lengths = self._gather(torch.tensor([float(min(len(c.token_ids), cw)) for c in flat]))
        metrics |= {
            "reward": float(torch.nanmean(rewards)),
            "reward_std": float(nanstd(rewards)) if rewards.numel() > 1 else 0.0,
            "frac_reward_zero_std": adv.frac_zero_std,
            # Whatever scale_rewards is: the share of groups that give no gradient.
            "frac_groups_zero_std": 1.0 - float(informative_groups(rewards, G).float().mean()),
            "completion_length": float(all_lengths.mean()),
        }
        for j, fn in enumerate(self.reward_funcs):
            col = per_func_sel[:, j]
            col = col[~torch.isnan(col)]
            name = _reward_name(fn)
            metrics[f"rewards/{name}/mean"] = float(col.mean()) if col.numel() else math.nan
            metrics[f"rewards/{name}/std"] = float(col.std()) if col.numel() > 1 else 0.0
        if len(self.dataset_names) > 1:
            sources = torch.tensor([self.row_source[groups[g].row] for g in chosen])
            per_completion = sources.repeat_interleave(G)
            for k, name in enumerate(self.dataset_names):
                share = float((sources == k).float().mean())
                picked = rewards[per_completion == k]
                metrics[f"datasets/{name}/fraction"] = share
                metrics[f"datasets/{name}/reward"] = (
                    float(torch.nanmean(picked)) if picked.numel() else math.nan
                )
        metrics |= self._reward_metrics(log)
        self.buffer_metrics = metrics

    def _build_buffer(
        self,
        local: list[_Group],
        flat: list[Completion],
        my_adv: torch.Tensor,
        gen: Generator,
    ) -> dict[str, float]:
        """Token tensors of this process's chosen groups in micro-batches (with old, reference
        and sampler-correction log-probs as needed); returns their metrics."""
        cfg = self.config
        G = cfg.num_generations
        n_local = len(flat)
        unique_ids = [self._prompt_ids(self._prompt(self.rows[g.row])) for g in local]
        # Token tensors: prompts left-padded, completions right-padded.
        prompt_ids = [ids for ids in unique_ids for _ in range(G)]
        eos_ids = set(getattr(gen, "eos_ids", ())) | {int(self.tokenizer.eos_token_id)}
        cw = cfg.max_completion_length
        comp_ids = [list(c.token_ids)[:cw] for c in flat]
        truncated = torch.tensor([not (ids and ids[-1] in eos_ids) for ids in comp_ids])
        pw = max(len(p) for p in prompt_ids)
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
        correct = cfg.vllm_importance_sampling_correction and self._separate_engine(gen)
        sampler = self._sampler_logprobs(flat, width) if correct else None
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
                if cfg.num_iterations > 1 or correct:
                    mb["old_logps"] = self._logps(self.policy, mb).cpu()
                if correct:
                    # Completion.logprobs are before temperature: compare like with like.
                    mb["trainer_logps"] = (
                        mb["old_logps"]
                        if cfg.temperature == 1.0
                        else self._logps(self.policy, mb, temperature=1.0).cpu()
                    )
                if self.config.beta != 0.0:
                    with reference_mode(self.policy, self.reference) as ref:
                        mb["ref_logps"] = self._logps(ref, mb).cpu()
            self.buffer.append(mb)
        metrics: dict[str, float] = {}
        if sampler is not None:
            metrics |= self._apply_sampler_correction(sampler)
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
        if self.rollout_entropy:
            ent_sum = sum(float(sum(c.entropies[:cw])) for c in flat)
            ent_n = sum(min(len(c.token_ids), cw) for c in flat)
            tot = self._gather(
                torch.tensor([ent_sum, float(ent_n)], dtype=torch.float64).reshape(1, 2)
            )
            metrics["entropy"] = float(tot[:, 0].sum() / tot[:, 1].sum().clamp(min=1))
        metrics["truncated_fraction"] = float(all_trunc.mean())
        return metrics

    def _sampler_logprobs(self, flat: list[Completion], width: int) -> torch.Tensor:
        """``[n, width]`` log-probabilities the rollout engine gave its tokens (NaN: none)."""
        out = torch.full((len(flat), width), math.nan, dtype=torch.float32)
        given = 0
        for i, c in enumerate(flat):
            lps = list(c.logprobs)[:width]
            if lps:
                out[i, : len(lps)] = torch.tensor(lps, dtype=torch.float32)
                given += 1
        if not given and flat:
            raise ConfigError(
                "",
                "vllm_importance_sampling_correction",
                "the rollout engine returned no log-probabilities to correct with; set it to "
                "false or use an engine that returns them",
            )
        return out

    def _apply_sampler_correction(self, sampler: torch.Tensor) -> dict[str, float]:
        """Put importance weights into every micro-batch; TRL's ``sampling/*`` metrics."""
        cfg = self.config
        trainer = torch.cat([mb["trainer_logps"] for mb in self.buffer])
        mask = torch.cat([mb["completion_mask"] for mb in self.buffer])
        corr = sampler_importance_weights(
            trainer,
            sampler,
            mask,
            cfg.vllm_importance_sampling_mode,
            cfg.vllm_importance_sampling_clip_min,
            cfg.vllm_importance_sampling_clip_max,
        )
        start = 0
        for mb in self.buffer:
            n = mb["completion_ids"].size(0)
            mb["is_weights"] = corr.weights[start : start + n]
            del mb["trainer_logps"]
            start += n
        stats = self._gather(
            torch.tensor(
                [
                    corr.logp_diff_mean,
                    corr.logp_diff_max,
                    corr.ratio_min,
                    corr.ratio_mean,
                    corr.ratio_max,
                ],
                dtype=torch.float64,
            ).reshape(1, 5)
        )
        return {
            "sampling/sampling_logp_difference/mean": float(stats[:, 0].mean()),
            "sampling/sampling_logp_difference/max": float(stats[:, 1].max()),
            "sampling/importance_sampling_ratio/min": float(stats[:, 2].min()),
            "sampling/importance_sampling_ratio/mean": float(stats[:, 3].mean()),
            "sampling/importance_sampling_ratio/max": float(stats[:, 4].max()),
        }

    def _logps(
        self,
        model: torch.nn.Module,
        mb: dict[str, torch.Tensor],
        with_entropy: bool = False,
        temperature: float | None = None,
    ) -> Any:
        # The G completions of a prompt share one forward pass over it.
        out = shared_prefix_logprobs(
            model,
            mb["prompt_ids"].to(self.device),
            mb["prompt_mask"].to(self.device),
            mb["completion_ids"].to(self.device),
            mb["completion_mask"].to(self.device),
            temperature=self.config.temperature if temperature is None else temperature,
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
        is_w = batch["is_weights"].to(self.device) if "is_weights" in batch else None
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
            importance_weights=is_w,
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

    def progress_postfix(self, metrics: dict[str, float]) -> dict[str, str]:
        """Mean reward and the share of groups with identical rewards (not the loss, which is
        0 whenever every group is)."""
        return {
            "reward": f"{metrics.get('reward', math.nan):.3f}",
            "zero_std": f"{metrics.get('frac_groups_zero_std', math.nan):.2f}",
        }

    def check_health(self, metrics: dict[str, float]) -> None:
        message = self.zero_std_monitor.update(
            metrics.get("frac_groups_zero_std", 0.0), int(metrics["step"])
        )
        if message is not None:
            self.warn(message)

    def state_dict(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor.state_dict(),
            "buffer": self.buffer,
            "buffer_metrics": self.buffer_metrics,
            "num_tokens_global": self.num_tokens_global,
            "rollout_entropy": self.rollout_entropy,
            "zero_std_streak": self.zero_std_monitor.streak,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.cursor.load_state_dict(state["cursor"])
        self.buffer = state["buffer"]
        self.buffer_metrics = state["buffer_metrics"]
        self.num_tokens_global = state["num_tokens_global"]
        self.rollout_entropy = state["rollout_entropy"]
        self.zero_std_monitor.streak = int(state.get("zero_std_streak", 0))


__all__ = [
    "GRPOConfig",
    "GRPOTrainer",
    "LossParts",
    "MetricLog",
    "group_advantages",
    "grpo_loss",
    "load_prompts",
    "parse_prompt_row",
    "resolve_reward",
]
