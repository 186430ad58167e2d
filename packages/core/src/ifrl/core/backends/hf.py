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

Seeds: sample ``j`` of prompt ``i`` draws its uniforms from its own ``torch.Generator`` seeded
from ``(params.seed, i, j)`` and picks each token by inverse-CDF sampling, so the same seed gives
the same outputs whatever the batch size.

Speed: the ``n`` samples of a prompt share one prefill, and Llama / Qwen2 models decode through a
built-in loop with a preallocated KV cache (``decoder="auto"``, see :class:`HFGenerator`).
"""

from __future__ import annotations

import hashlib
import inspect
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ifrl.core.chat import encode_prompt
from ifrl.core.errors import MissingExtraError
from ifrl.core.generation import Prompt, register_backend
from ifrl.core.records import Completion, SamplingParams


def import_torch() -> Any:
    """``torch`` (with ``transformers`` importable), or :class:`MissingExtraError` naming
    ``ifrl-core[hf]``."""
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as err:
        raise MissingExtraError(err.name or "torch", "ifrl-core", "hf") from err
    return torch


DECODERS = ("auto", "transformers")


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
    ``batch_size`` counts sequences (prompts x samples) per forward pass. ``decoder="auto"``
    decodes Llama / Qwen2 models (also under PEFT) with a built-in loop over the model's own
    submodules (same numbers, far less per-step overhead) and anything else through the model's
    ``forward``; ``decoder="transformers"`` always uses ``forward``.
    """

    #: Completions carry the exact entropy of the full next-token distribution at every position.
    exact_entropies: bool = True

    def __init__(
        self,
        model: str | Path | Any,
        tokenizer: Any = None,
        device: str = "cpu",
        dtype: str | Any | None = None,
        batch_size: int = 16,
        decoder: str = "auto",
    ) -> None:
        torch = import_torch()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {list(DECODERS)}, got {decoder!r}")
        self.decoder = decoder
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
        self.eos_ids = eos_token_ids(self.model, tokenizer)
        pad = tokenizer.pad_token_id
        self.pad_id: int = int(pad if pad is not None else sorted(self.eos_ids)[0])

    # ----------------------------------------------------------------------------- public API

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        """``params.n`` completions per prompt, in prompt order (see the module docstring)."""
        ids = [self.encode(p) for p in prompts]
        traces = self.generate_ids(ids, params)
        return [[t.completion for t in row] for row in traces]

    def encode(self, prompt: Prompt) -> list[int]:
        """Token ids of a prompt (:func:`ifrl.core.chat.encode_prompt`): conversations through
        the chat template, raw text as is."""
        return encode_prompt(self.tokenizer, prompt)

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
                [row_seed(base_seed, i, j) for i, j in chunk],
                params,
                top_n,
                [budgets[i] for i, _ in chunk],
            )
            for (i, j), trace in zip(chunk, traces):
                out[i][j] = trace
        return [[t for t in row if t is not None] for row in out]

    # ------------------------------------------------------------------------------ internals

    def _decoder(self) -> _Decoder:
        if self.decoder == "auto":
            lean = _LeanDecoder.for_model(self.model)
            if lean is not None:
                return lean
        return _HFDecoder(self.model)

    def _generate_batch(
        self,
        prompts: list[list[int]],
        seeds: list[int],
        params: SamplingParams,
        top_n: int,
        budgets: list[int],
    ) -> list[Trace]:
        torch = import_torch()
        bsz = len(prompts)
        # Rows that share a prompt (the n samples of one prompt) share its prefill.
        unique: dict[tuple[int, ...], int] = {}
        row_of = [unique.setdefault(tuple(p), len(unique)) for p in prompts]
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(unique), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(unique), width), dtype=torch.long)
        for j, p in enumerate(unique):
            input_ids[j, width - len(p) :] = torch.tensor(p, dtype=torch.long)
            mask[j, width - len(p) :] = 1
        steps = max(budgets)
        # One draw of uniforms per row up front (inverse-CDF sampling): one generator call per
        # row instead of one per row and step, and the same numbers whatever the batch.
        uniforms = None
        if not params.greedy:
            uniforms = torch.stack(
                [
                    torch.rand(
                        steps, generator=torch.Generator().manual_seed(s), dtype=torch.float64
                    )
                    for s in seeds
                ]
            )
        stops = tuple(s for s in params.stop if s)
        tokens: list[list[int]] = [[] for _ in prompts]
        logps: list[list[float]] = [[] for _ in prompts]
        ents: list[list[float]] = [[] for _ in prompts]
        tops: list[list[tuple[tuple[int, float], ...]]] = [[] for _ in prompts]
        texts: list[str] = [""] * bsz
        reasons: list[str | None] = [None] * bsz

        decoder = self._decoder()
        with torch.inference_mode():
            logits = decoder.prefill(
                input_ids.to(self.device),
                mask.to(self.device),
                torch.tensor(row_of, dtype=torch.long, device=self.device),
                steps,
            )
            for step in range(steps):
                logits = logits.float()
                logp = torch.log_softmax(logits, dim=-1)
                probs = logp.exp()
                entropy = -(probs * logp).sum(-1)
                u = None if uniforms is None else uniforms[:, step]
                chosen = _choose(torch, logits, logp, probs, params, u)
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
                logits = decoder.step(torch.tensor(next_list, dtype=torch.long, device=self.device))

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

    def _decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))


# ------------------------------------------------------------------------------------------------
# Decoders: prefill a left-padded batch of unique prompts, then one token per row per step.


class _Decoder(Protocol):
    def prefill(self, input_ids: Any, mask: Any, rows: Any, steps: int) -> Any:
        """Next-token logits ``[B, V]`` after the prompts; ``input_ids``/``mask`` are ``[U, W]``
        (unique prompts, left-padded) and ``rows`` maps each of the ``B`` rows to its prompt."""
        ...

    def step(self, tokens: Any) -> Any:
        """Feed one token per row (``[B]``), return the next-token logits ``[B, V]``."""
        ...


class _HFDecoder:
    """Any causal LM through its own ``forward`` with a transformers KV cache."""

    def __init__(self, model: Any) -> None:
        self.model = model
        params = inspect.signature(model.forward).parameters
        self.keep_last: dict[str, int] = {"logits_to_keep": 1} if "logits_to_keep" in params else {}

    def prefill(self, input_ids: Any, mask: Any, rows: Any, steps: int) -> Any:
        torch = import_torch()
        input_ids, mask = input_ids[rows], mask[rows]
        self.positions = (mask.cumsum(-1) - 1).clamp(min=0)
        self.mask = mask
        out = self.model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=self.positions,
            use_cache=True,
            **self.keep_last,
        )
        self.past = out.past_key_values
        self.positions = self.positions[:, -1:] + 1
        self._ones = torch.ones((mask.shape[0], 1), dtype=mask.dtype, device=mask.device)
        return out.logits[:, -1, :]

    def step(self, tokens: Any) -> Any:
        torch = import_torch()
        self.mask = torch.cat([self.mask, self._ones], 1)
        out = self.model(
            input_ids=tokens[:, None],
            attention_mask=self.mask,
            position_ids=self.positions,
            past_key_values=self.past,
            use_cache=True,
        )
        self.past = out.past_key_values
        self.positions = self.positions + 1
        return out.logits[:, -1, :]


class _LeanDecoder:
    """Llama / Qwen2 decoding with a preallocated KV cache, calling the model's own submodules.

    The transformers forward re-derives masks, cache bookkeeping and output records on every
    call, a large share of a small model's decoding step. This runs the same computation
    (embeddings, RMSNorm, rotary embeddings, grouped-query attention, MLP and head modules of the
    model itself, so LoRA and quantised linears work) with an attention mask and cache built once
    per batch, and prefills each distinct prompt once.
    """

    ARCHITECTURES = ("llama", "qwen2")

    def __init__(self, lm: Any) -> None:
        self.lm = lm
        base = lm.model
        self.embed, self.norm, self.rotary, self.head = (
            base.embed_tokens,
            base.norm,
            base.rotary_emb,
            lm.lm_head,
        )
        self.layers = list(base.layers)
        attn = self.layers[0].self_attn
        cfg = lm.config
        self.n_heads = int(cfg.num_attention_heads)
        self.n_kv = int(getattr(cfg, "num_key_value_heads", None) or self.n_heads)
        self.head_dim = int(attn.head_dim)
        self.scaling = float(attn.scaling)
        self.cache: list[tuple[Any, Any]] = []

    @classmethod
    def for_model(cls, model: Any) -> _LeanDecoder | None:
        """A lean decoder when ``model`` (or the model under a PEFT wrapper) is a plain Llama /
        Qwen2 causal LM with full attention; ``None`` otherwise."""
        lm = model.get_base_model() if hasattr(model, "get_base_model") else model
        cfg: Any = getattr(lm, "config", None)
        if getattr(cfg, "model_type", None) not in cls.ARCHITECTURES:
            return None
        if any(t != "full_attention" for t in getattr(cfg, "layer_types", None) or ()):
            return None
        base = getattr(lm, "model", None)
        needed = ("embed_tokens", "layers", "norm", "rotary_emb")
        if base is None or not all(hasattr(base, n) for n in needed) or not hasattr(lm, "lm_head"):
            return None
        if len(base.layers) != cfg.num_hidden_layers:
            return None
        if len(set((getattr(lm, "hf_device_map", None) or {}).values())) > 1:
            return None  # layers spread over devices: leave the transfers to transformers
        for layer in base.layers:
            attn = getattr(layer, "self_attn", None)
            if getattr(attn, "sliding_window", None) is not None or not all(
                hasattr(attn, n) for n in ("q_proj", "k_proj", "v_proj", "o_proj", "scaling")
            ):
                return None
        return cls(lm)

    def _rope(self, q: Any, k: Any, cos: Any, sin: Any) -> tuple[Any, Any]:
        torch = import_torch()

        def rotate(x: Any) -> Any:
            half = x.shape[-1] // 2
            return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

        return q * cos + rotate(q) * sin, k * cos + rotate(k) * sin

    def prefill(self, input_ids: Any, mask: Any, rows: Any, steps: int) -> Any:
        torch = import_torch()
        n_unique, width = input_ids.shape
        bsz, dev = rows.shape[0], input_ids.device
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        h = self.embed(input_ids)
        cos, sin = self.rotary(h, positions)
        cos, sin = cos[:, None], sin[:, None]
        keys = mask.bool()
        causal = torch.ones((width, width), dtype=torch.bool, device=dev).tril()
        # Padding queries attend to themselves only, so no row of the mask is empty.
        allowed = (causal[None] & keys[:, None, :]) | torch.eye(width, dtype=torch.bool, device=dev)
        allowed = allowed[:, None]
        cap = width + steps
        self.cache = []
        for layer in self.layers:
            attn = layer.self_attn
            x = layer.input_layernorm(h)
            q = attn.q_proj(x).view(n_unique, width, self.n_heads, self.head_dim).transpose(1, 2)
            k = attn.k_proj(x).view(n_unique, width, self.n_kv, self.head_dim).transpose(1, 2)
            v = attn.v_proj(x).view(n_unique, width, self.n_kv, self.head_dim).transpose(1, 2)
            q, k = self._rope(q, k, cos, sin)
            k_cache = k.new_empty((bsz, self.n_kv, cap, self.head_dim))
            v_cache = v.new_empty((bsz, self.n_kv, cap, self.head_dim))
            k_cache[:, :, :width] = k[rows]
            v_cache[:, :, :width] = v[rows]
            self.cache.append((k_cache, v_cache))
            out = torch.nn.functional.scaled_dot_product_attention(
                q,
                k,
                v,
                attn_mask=allowed,
                scale=self.scaling,
                enable_gqa=self.n_kv != self.n_heads,
            )
            h = h + attn.o_proj(out.transpose(1, 2).reshape(n_unique, width, -1))
            h = h + layer.mlp(layer.post_attention_layernorm(h))
        logits = self.head(self.norm(h[:, -1:]))[:, -1]
        self.key_mask = torch.ones((bsz, 1, 1, cap), dtype=torch.bool, device=dev)
        self.key_mask[:, 0, 0, :width] = keys[rows]
        self.positions = positions[rows, -1:] + 1
        self.length = width
        return logits[rows]

    def step(self, tokens: Any) -> Any:
        torch = import_torch()
        bsz, t = tokens.shape[0], self.length
        h = self.embed(tokens[:, None])
        cos, sin = self.rotary(h, self.positions)
        cos, sin = cos[:, None], sin[:, None]
        group = self.n_heads // self.n_kv
        visible = self.key_mask[..., : t + 1]
        for layer, (k_cache, v_cache) in zip(self.layers, self.cache):
            attn = layer.self_attn
            x = layer.input_layernorm(h)
            q = attn.q_proj(x).view(bsz, 1, self.n_heads, self.head_dim).transpose(1, 2)
            k = attn.k_proj(x).view(bsz, 1, self.n_kv, self.head_dim).transpose(1, 2)
            v = attn.v_proj(x).view(bsz, 1, self.n_kv, self.head_dim)
            q, k = self._rope(q, k, cos, sin)
            k_cache[:, :, t] = k[:, :, 0]
            v_cache[:, :, t] = v[:, 0]
            # The query heads of one key/value head act as that head's query rows.
            out = torch.nn.functional.scaled_dot_product_attention(
                q.reshape(bsz, self.n_kv, group, self.head_dim),
                k_cache[:, :, : t + 1],
                v_cache[:, :, : t + 1],
                attn_mask=visible,
                scale=self.scaling,
            )
            h = h + attn.o_proj(out.reshape(bsz, 1, -1))
            h = h + layer.mlp(layer.post_attention_layernorm(h))
        self.length = t + 1
        self.positions = self.positions + 1
        return self.head(self.norm(h))[:, -1]


def _choose(torch: Any, logits: Any, logp: Any, probs: Any, params: SamplingParams, u: Any) -> Any:
    """The next token per row: arg-max when greedy, else inverse-CDF sampling with ``u``
    (``[B]`` uniforms in [0, 1)) from the temperature / top-k / top-p distribution."""
    if params.greedy:
        return logp.argmax(-1)
    if params.temperature != 1.0 or params.top_k > 0 or params.top_p < 1.0:
        scaled = logits / params.temperature
        if params.top_k > 0 and params.top_k < scaled.shape[-1]:
            kth = torch.topk(scaled, params.top_k, dim=-1).values[:, -1:]
            scaled = scaled.masked_fill(scaled < kth, float("-inf"))
        if params.top_p < 1.0:
            sorted_vals, order = torch.sort(scaled, dim=-1, descending=True)
            sorted_probs = torch.softmax(sorted_vals, dim=-1)
            # Keep the smallest prefix whose mass reaches top_p (the first token always stays).
            drop_sorted = (sorted_probs.cumsum(-1) - sorted_probs) >= params.top_p
            drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
            scaled = scaled.masked_fill(drop, float("-inf"))
        probs = torch.softmax(scaled, dim=-1)
    cdf = probs.double().cumsum(-1)
    target = (u.to(cdf.device) * cdf[:, -1]).unsqueeze(-1)
    # The first index whose cumulative mass exceeds the target: a token of non-zero probability.
    picked = torch.searchsorted(cdf, target, right=True)[:, 0]
    return picked.clamp(max=probs.shape[-1] - 1)


def _resolve_dtype(torch: Any, dtype: str | Any | None) -> Any:
    if dtype is None or dtype == "auto":
        return None
    if isinstance(dtype, str):
        value = getattr(torch, dtype, None)
        if not isinstance(value, torch.dtype):
            raise ValueError(f"unknown dtype {dtype!r} (try 'float32' or 'bfloat16')")
        return value
    return dtype


def eos_token_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """The ids that end a completion: the model's generation config's and the tokenizer's."""
    ids: set[int] = set()
    gen_cfg = getattr(model, "generation_config", None)
    for source in (getattr(gen_cfg, "eos_token_id", None), tokenizer.eos_token_id):
        if source is None:
            continue
        ids.update([source] if isinstance(source, int) else source)
    return frozenset(int(i) for i in ids)


def row_seed(*parts: int) -> int:
    """A 63-bit seed drawn from ``parts`` (a fixed hash: the same parts, the same seed)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def _top_k_stable(torch: Any, logp: Any, k: int) -> tuple[Any, Any]:
    """Top-``k`` values and ids, ties broken by the lower id (``torch.topk`` does not promise it)."""
    order = torch.argsort(-logp, dim=-1, stable=True)[:, :k]
    return logp.gather(-1, order), order


__all__ = ["HFGenerator", "Trace", "eos_token_ids", "import_torch", "row_seed"]
