"""``HFGenerator``: sampling with transformers models, with exact per-token entropies.

The decoding loop is our own (a KV-cached forward pass per step over a left-padded batch) so that
every generated position reports, from the model's *unmodified* next-token distribution
``p = softmax(logits)`` (float32, temperature 1, no top-k/top-p filtering):

* ``logprobs[i] = log p(token_ids[i] | prompt, token_ids[:i])``;
* ``entropies[i] = -sum_v p(v) log p(v)`` over the full vocabulary, in nats.

Temperature, top-k and top-p only change which token is *drawn*, never the reported numbers, so
a token sampled at temperature 0.7 reports the same logprob a forward pass at temperature 1 gives.
Greedy decoding (``temperature == 0``) takes the arg-max.

Stopping: a row ends at an end-of-sequence id (the generation config's ``eos_token_id`` list
and the tokenizer's eos), which is kept in ``token_ids`` (with its logprob/entropy) but not in
``text`` (``finish_reason="stop"``); at the first stop string, where ``text`` is cut just before the
stop string and the token lists end with the token that completed it (``finish_reason="stop"``);
or after ``max_new_tokens`` (``finish_reason="length"``). ``text`` is decoded with
``skip_special_tokens=True``.

Seeds: sample ``j`` of prompt ``i`` draws from its own ``torch.Generator`` seeded from
``(params.seed, i, j)``, so the same seed gives the same outputs whatever the batch size.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifrl.core.chat import render_prompt
from ifrl.core.errors import MissingExtraError
from ifrl.core.generation import Prompt, register_backend
from ifrl.core.records import Completion, Conversation, SamplingParams

if TYPE_CHECKING:
    import torch


def _import_torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as err:
        raise MissingExtraError(err.name or "torch", "ifrl-core", "hf") from err
    return torch


@dataclass(frozen=True, slots=True)
class Trace:
    """A completion plus, per generated position, the ``top_n`` most likely tokens.

    ``top[i]`` lists ``(token_id, logprob)`` pairs of the unmodified distribution at position
    ``i``, most likely first (ties by lower id).
    """

    completion: Completion
    top: tuple[tuple[tuple[int, float], ...], ...] = ()


@register_backend("hf")
class HFGenerator:
    """A :class:`~ifrl.core.generation.Generator` over a transformers causal LM.

    ``model`` is a directory / hub id (loaded with ``AutoModelForCausalLM``) or a loaded
    ``PreTrainedModel``; ``tokenizer`` defaults to the one saved with the model (required when
    ``model`` is an object without ``name_or_path``). ``dtype`` (``"float32"``, ``"bfloat16"``...,
    or a ``torch.dtype``) applies when loading, and converts a given model only when set.
    ``batch_size`` counts sequences (prompts x samples) per forward pass.
    """

    def __init__(
        self,
        model: str | Path | Any,
        tokenizer: Any = None,
        device: str = "cpu",
        dtype: str | Any | None = None,
        batch_size: int = 16,
    ) -> None:
        torch = _import_torch()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        torch_dtype = _resolve_dtype(torch, dtype)
        if isinstance(model, (str, Path)):
            self.model = AutoModelForCausalLM.from_pretrained(
                str(model), dtype=torch_dtype or torch.float32
            )
            source: str | None = str(model)
        else:
            self.model = model if torch_dtype is None else model.to(torch_dtype)
            source = getattr(getattr(model, "config", None), "name_or_path", None) or None
        if tokenizer is None:
            if not source:
                raise ValueError("pass tokenizer= when the model object has no name_or_path")
            tokenizer = AutoTokenizer.from_pretrained(source)
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.model.to(self.device)
        self.model.eval()
        self.batch_size = batch_size
        self.eos_ids = _eos_ids(self.model, tokenizer)
        pad = tokenizer.pad_token_id
        self.pad_id: int = int(pad if pad is not None else sorted(self.eos_ids)[0])

    # ----------------------------------------------------------------------------- public API

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        """``params.n`` completions per prompt, in prompt order (see the module docstring)."""
        ids = [self.encode(p) for p in prompts]
        traces = self.generate_ids(ids, params)
        return [[t.completion for t in row] for row in traces]

    def encode(self, prompt: Prompt) -> list[int]:
        """Token ids of a prompt: conversations through the chat template, strings as is."""
        text = render_prompt(self.tokenizer, prompt)
        # A rendered chat template already holds its special tokens (e.g. a BOS).
        add_special = not isinstance(prompt, Conversation)
        return list(self.tokenizer(text, add_special_tokens=add_special)["input_ids"])

    def generate_ids(
        self,
        prompt_ids: Sequence[Sequence[int]],
        params: SamplingParams,
        top_n: int = 0,
        max_new_tokens: Sequence[int] | None = None,
    ) -> list[list[Trace]]:
        """Like :meth:`generate`, from token ids, also returning the ``top_n`` tokens per position.

        ``max_new_tokens`` optionally gives each prompt its own budget (at most
        ``params.max_new_tokens`` is used; each entry must be >= 1).
        """
        for i, p in enumerate(prompt_ids):
            if not p:
                raise ValueError(f"prompt {i} has no tokens")
        if max_new_tokens is not None:
            if len(max_new_tokens) != len(prompt_ids):
                raise ValueError(
                    f"max_new_tokens has {len(max_new_tokens)} entries for {len(prompt_ids)} prompts"
                )
            if any(b < 1 for b in max_new_tokens):
                raise ValueError("every max_new_tokens entry must be at least 1")
        budgets = [
            min(
                params.max_new_tokens,
                max_new_tokens[i] if max_new_tokens else params.max_new_tokens,
            )
            for i in range(len(prompt_ids))
        ]
        base_seed = params.seed if params.seed is not None else secrets.randbits(63)
        rows = [(i, j) for i in range(len(prompt_ids)) for j in range(params.n)]
        out: list[list[Trace | None]] = [[None] * params.n for _ in prompt_ids]
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start : start + self.batch_size]
            traces = self._generate_batch(
                [list(prompt_ids[i]) for i, _ in chunk],
                [_row_seed(base_seed, i, j) for i, j in chunk],
                params,
                top_n,
                [budgets[i] for i, _ in chunk],
            )
            for (i, j), trace in zip(chunk, traces):
                out[i][j] = trace
        return [[t for t in row if t is not None] for row in out]

    # ------------------------------------------------------------------------------ internals

    def _generate_batch(
        self,
        prompts: list[list[int]],
        seeds: list[int],
        params: SamplingParams,
        top_n: int,
        budgets: list[int],
    ) -> list[Trace]:
        torch = _import_torch()
        width = max(len(p) for p in prompts)
        bsz = len(prompts)
        input_ids = torch.full((bsz, width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((bsz, width), dtype=torch.long)
        for r, p in enumerate(prompts):
            input_ids[r, width - len(p) :] = torch.tensor(p, dtype=torch.long)
            mask[r, width - len(p) :] = 1
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)
        generators = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
        stops = tuple(s for s in params.stop if s)
        tokens: list[list[int]] = [[] for _ in prompts]
        logps: list[list[float]] = [[] for _ in prompts]
        ents: list[list[float]] = [[] for _ in prompts]
        tops: list[list[tuple[tuple[int, float], ...]]] = [[] for _ in prompts]
        texts: list[str] = [""] * bsz
        reasons: list[str | None] = [None] * bsz

        past: Any = None
        step_ids = input_ids
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            for _ in range(max(budgets)):
                outputs = self.model(
                    input_ids=step_ids,
                    attention_mask=mask,
                    position_ids=positions,
                    past_key_values=past,
                    use_cache=True,
                )
                past = outputs.past_key_values
                logits = outputs.logits[:, -1, :].float()
                logp = torch.log_softmax(logits, dim=-1)
                entropy = -(logp.exp() * logp).sum(-1)
                chosen = self._choose(logits, logp, params, generators)
                top_vals = top_idx = None
                if top_n > 0:
                    k = min(top_n, logp.shape[-1])
                    top_vals, top_idx = _top_k_stable(torch, logp, k)
                chosen_lp = logp.gather(-1, chosen[:, None])[:, 0]
                # One conversion per step, not one per row and value (Python-side bookkeeping
                # dominates a tiny model's decoding).
                chosen_list: list[int] = chosen.tolist()
                lp_list: list[float] = chosen_lp.tolist()
                ent_list: list[float] = entropy.tolist()
                next_list = list(chosen_list)
                for r in range(bsz):
                    if reasons[r] is not None:
                        next_list[r] = self.pad_id
                        continue
                    tok = chosen_list[r]
                    tokens[r].append(tok)
                    logps[r].append(lp_list[r])
                    ents[r].append(ent_list[r])
                    if top_vals is not None and top_idx is not None:
                        tops[r].append(
                            tuple(
                                (int(t), float(v))
                                for t, v in zip(top_idx[r].tolist(), top_vals[r].tolist())
                            )
                        )
                    if tok in self.eos_ids:
                        reasons[r] = "stop"
                        texts[r] = self._decode(tokens[r][:-1])
                        continue
                    if stops:
                        text = self._decode(tokens[r])
                        cut = _first_stop(text, stops)
                        if cut is not None:
                            reasons[r] = "stop"
                            texts[r] = text[:cut]
                            continue
                    if len(tokens[r]) >= budgets[r]:
                        reasons[r] = "length"
                        texts[r] = self._decode(tokens[r])
                if all(r is not None for r in reasons):
                    break
                step_ids = torch.tensor(next_list, dtype=torch.long, device=self.device)[:, None]
                mask = torch.cat(
                    [mask, torch.ones((bsz, 1), dtype=mask.dtype, device=self.device)], 1
                )
                positions = positions[:, -1:] + 1

        traces = []
        for r in range(bsz):
            if reasons[r] is None:
                reasons[r] = "length"
                texts[r] = self._decode(tokens[r])
            completion = Completion(
                text=texts[r],
                token_ids=tuple(tokens[r]),
                logprobs=tuple(logps[r]) if params.logprobs else (),
                entropies=tuple(ents[r]) if params.logprobs else (),
                finish_reason=reasons[r],
            )
            traces.append(Trace(completion, tuple(tops[r])))
        return traces

    def _choose(
        self,
        logits: torch.Tensor,
        logp: torch.Tensor,
        params: SamplingParams,
        generators: list[torch.Generator],
    ) -> torch.Tensor:
        torch = _import_torch()
        if params.greedy:
            return logp.argmax(-1)
        scaled = logits / params.temperature
        if params.top_k > 0 and params.top_k < scaled.shape[-1]:
            kth = torch.topk(scaled, params.top_k, dim=-1).values[:, -1:]
            scaled = scaled.masked_fill(scaled < kth, float("-inf"))
        if params.top_p < 1.0:
            sorted_vals, order = torch.sort(scaled, dim=-1, descending=True)
            cum = torch.softmax(sorted_vals, dim=-1).cumsum(-1)
            # Keep the smallest prefix whose mass reaches top_p (the first token always stays).
            drop_sorted = (cum - torch.softmax(sorted_vals, dim=-1)) >= params.top_p
            drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
            scaled = scaled.masked_fill(drop, float("-inf"))
        probs = torch.softmax(scaled, dim=-1).cpu()
        picks = [
            torch.multinomial(probs[r], 1, generator=generators[r]) for r in range(probs.shape[0])
        ]
        return torch.cat(picks).to(logits.device)

    def _decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))


def _resolve_dtype(torch: Any, dtype: str | Any | None) -> Any:
    if dtype is None or dtype == "auto":
        return None
    if isinstance(dtype, str):
        value = getattr(torch, dtype, None)
        if not isinstance(value, torch.dtype):
            raise ValueError(f"unknown dtype {dtype!r} (try 'float32' or 'bfloat16')")
        return value
    return dtype


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    ids: set[int] = set()
    gen_cfg = getattr(model, "generation_config", None)
    for source in (getattr(gen_cfg, "eos_token_id", None), tokenizer.eos_token_id):
        if source is None:
            continue
        ids.update([source] if isinstance(source, int) else source)
    return frozenset(int(i) for i in ids)


def _row_seed(base: int, prompt: int, sample: int) -> int:
    digest = hashlib.sha256(f"{base}:{prompt}:{sample}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def _top_k_stable(torch: Any, logp: Any, k: int) -> tuple[Any, Any]:
    """Top-``k`` values and ids, ties broken by the lower id (``torch.topk`` does not promise it)."""
    order = torch.argsort(-logp, dim=-1, stable=True)[:, :k]
    return logp.gather(-1, order), order


__all__ = ["HFGenerator", "Trace"]
