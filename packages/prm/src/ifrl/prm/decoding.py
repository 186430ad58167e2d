"""Token-level decoding for labelers, with query-cost accounting.

Labelers continue solutions from exact token prefixes (re-tokenising decoded text could change the
path), so they talk to a :class:`StepDecoder` rather than to a text ``Generator``:

* :meth:`StepDecoder.greedy` decodes greedily from each prefix and returns, per generated
  position, the entropy of the next-token distribution and its ``top_n`` tokens;
* :meth:`StepDecoder.sample` draws ``n`` sampled continuations per prefix.

:class:`HFStepDecoder` wraps :class:`~ifrl.core.backends.hf.HFGenerator` (exact entropies);
:class:`VLLMStepDecoder` wraps :class:`~ifrl.core.backends.vllm.VLLMGenerator` (entropies
estimated from the top-k logprobs, see :func:`ifrl.core.backends.vllm.topk_entropy`).

Every call adds to the decoder's :class:`~ifrl.core.records.Cost`: ``calls`` (sequences
requested from the model, i.e. queries), ``generated_tokens`` (tokens the model produced),
``forward_tokens`` (prefix plus generated tokens, what a server without prefix caching processes)
and ``batches`` (calls of :meth:`StepDecoder.greedy` / :meth:`StepDecoder.sample`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ifrl.core.backends.hf import HFGenerator
from ifrl.core.backends.vllm import exact_entropy, topk_entropy
from ifrl.core.generation import generator_for
from ifrl.core.records import Cost, SamplingParams


@dataclass(frozen=True, slots=True)
class GreedyTrace:
    """A greedy continuation: tokens, per-position entropy (nats) and top-n ``(id, logprob)``."""

    token_ids: tuple[int, ...]
    entropies: tuple[float, ...]
    top: tuple[tuple[tuple[int, float], ...], ...]
    finish_reason: str | None


def call_cost(
    prefixes: Sequence[Sequence[int]], continuations: Sequence[Sequence[Sequence[int]]]
) -> Cost:
    """The cost of one decoder call: ``continuations[i]`` are the sequences generated from
    ``prefixes[i]``, one query each."""
    calls = generated = forward = 0
    for prefix, row in zip(prefixes, continuations):
        tokens = sum(len(c) for c in row)
        calls += len(row)
        generated += tokens
        forward += tokens + len(prefix) * len(row)
    return Cost(calls, generated, forward, batches=1)


@runtime_checkable
class StepDecoder(Protocol):
    """What the labelers need from a model; every call adds to ``cost`` (see :func:`call_cost`)."""

    tokenizer: Any
    eos_ids: frozenset[int]
    cost: Cost

    def encode(self, text: str) -> list[int]:
        """Token ids of a plain-text prompt."""
        ...

    def greedy(
        self, prefixes: Sequence[Sequence[int]], budgets: Sequence[int], top_n: int
    ) -> list[GreedyTrace]:
        """Greedy continuation of each prefix, at most ``budgets[i]`` new tokens."""
        ...

    def sample(
        self, prefixes: Sequence[Sequence[int]], budgets: Sequence[int], params: SamplingParams
    ) -> list[list[tuple[int, ...]]]:
        """``params.n`` sampled continuations (token ids) per prefix."""
        ...


class HFStepDecoder:
    """:class:`StepDecoder` over an :class:`~ifrl.core.backends.hf.HFGenerator` (exact entropy)."""

    def __init__(self, generator: Any, stop: Sequence[str] = ()) -> None:
        self.generator = generator
        self.tokenizer = generator.tokenizer
        self.eos_ids: frozenset[int] = frozenset(generator.eos_ids)
        self.stop = tuple(stop)
        self.cost = Cost()

    @classmethod
    def from_pretrained(cls, model: str | Any, **kwargs: Any) -> HFStepDecoder:
        """Load ``model`` with :class:`HFGenerator` (``kwargs`` go to it, except ``stop``)."""
        stop = kwargs.pop("stop", ())
        return cls(HFGenerator(model, **kwargs), stop=stop)

    def encode(self, text: str) -> list[int]:
        return list(self.generator.encode(text))

    def close(self) -> None:
        """Nothing to release (the model is freed with the decoder)."""

    def greedy(
        self, prefixes: Sequence[Sequence[int]], budgets: Sequence[int], top_n: int
    ) -> list[GreedyTrace]:
        if not prefixes:
            return []
        params = SamplingParams(temperature=0.0, max_new_tokens=max(budgets), stop=self.stop)
        rows = self.generator.generate_ids(prefixes, params, top_n=top_n, max_new_tokens=budgets)
        traces = [row[0] for row in rows]
        self.cost += call_cost(prefixes, [[t.completion.token_ids] for t in traces])
        return [
            GreedyTrace(
                t.completion.token_ids, t.completion.entropies, t.top, t.completion.finish_reason
            )
            for t in traces
        ]

    def forced(
        self, prefix: Sequence[int], continuation: Sequence[int]
    ) -> tuple[list[float], list[int]]:
        """Teacher forcing: for every token of ``continuation``, the exact entropy of the
        distribution it was drawn from (given ``prefix`` and the tokens before it) and that
        distribution's most likely token. Not counted in ``cost`` (no generation)."""
        import torch

        if not continuation:
            return [], []
        ids = torch.tensor([[*prefix, *continuation]], device=self.generator.device)
        with torch.no_grad():
            logits = self.generator.model(input_ids=ids).logits[0].float()
        rows = logits[len(prefix) - 1 : len(prefix) - 1 + len(continuation)]
        logp = torch.log_softmax(rows, dim=-1)
        ent = -(logp.exp() * logp).sum(-1)
        return [float(h) for h in ent.tolist()], [int(t) for t in rows.argmax(-1).tolist()]

    def sample(
        self, prefixes: Sequence[Sequence[int]], budgets: Sequence[int], params: SamplingParams
    ) -> list[list[tuple[int, ...]]]:
        if not prefixes:
            return []
        params = params.replace(stop=tuple(params.stop) + self.stop)
        rows = self.generator.generate_ids(prefixes, params, max_new_tokens=budgets)
        out = [[t.completion.token_ids for t in row] for row in rows]
        self.cost += call_cost(prefixes, out)
        return out


class VLLMStepDecoder:
    """:class:`StepDecoder` over a :class:`~ifrl.core.backends.vllm.VLLMGenerator`.

    Entropies are estimated from the ``top_k_entropy`` most likely tokens (default: the
    generator's ``top_k_entropy``; exact when it is ``-1``); see
    :func:`ifrl.core.backends.vllm.topk_entropy` for the error bound. A value other than the
    generator's must fit the engine's ``max_logprobs``.
    """

    def __init__(
        self, generator: Any, stop: Sequence[str] = (), top_k_entropy: int | None = None
    ) -> None:
        self.generator = generator
        k = generator.top_k_entropy if top_k_entropy is None else top_k_entropy
        if k == 0 or k < -1:
            raise ValueError(f"top_k_entropy must be >= 1 or -1 (exact), got {k}")
        self.top_k_entropy: int = int(k)
        self.tokenizer = generator.tokenizer
        eos = {generator.tokenizer.eos_token_id}
        gen_cfg = getattr(generator.llm.llm_engine.model_config, "hf_config", None)
        extra = getattr(gen_cfg, "eos_token_id", None)
        eos.update([extra] if isinstance(extra, int) else (extra or []))
        try:
            from transformers import GenerationConfig

            cfg = GenerationConfig.from_pretrained(generator.llm.llm_engine.model_config.model)
            ids = cfg.eos_token_id
            eos.update([ids] if isinstance(ids, int) else (ids or []))
        except (OSError, ValueError):
            pass
        self.eos_ids = frozenset(int(i) for i in eos if i is not None)
        self.stop = tuple(stop)
        self.cost = Cost()

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text))

    def close(self) -> None:
        """Shut the vLLM engine down (its GPU memory is free for the next stage)."""
        self.generator.close()

    def _run(self, prefixes: Sequence[Sequence[int]], sampling: Sequence[Any]) -> list[Any]:
        inputs = [{"prompt_token_ids": list(p)} for p in prefixes]
        return list(
            self.generator.llm.generate(inputs, list(sampling), use_tqdm=self.generator.use_tqdm)
        )

    def greedy(
        self, prefixes: Sequence[Sequence[int]], budgets: Sequence[int], top_n: int
    ) -> list[GreedyTrace]:
        if not prefixes:
            return []
        vllm = self.generator._vllm
        k = self.top_k_entropy
        want = -1 if k == -1 else max(k, top_n)
        sampling = [
            vllm.SamplingParams(
                temperature=0.0,
                max_tokens=b,
                logprobs=want,
                stop=list(self.stop) or None,
                stop_token_ids=sorted(self.eos_ids),
            )
            for b in budgets
        ]
        out = []
        for result in self._run(prefixes, sampling):
            sample = result.outputs[0]
            ids = tuple(int(t) for t in sample.token_ids)
            ents: list[float] = []
            tops: list[tuple[tuple[int, float], ...]] = []
            for pos in sample.logprobs or []:
                ranked = sorted(
                    ((int(t), float(lp.logprob)) for t, lp in pos.items()),
                    key=lambda x: (-x[1], x[0]),
                )
                values = [v for _, v in ranked]
                if k == -1:
                    ents.append(exact_entropy(values))
                else:
                    ents.append(topk_entropy(values[:k], self.generator.vocab_size))
                tops.append(tuple(ranked[:top_n]))
            out.append(GreedyTrace(ids, tuple(ents), tuple(tops), sample.finish_reason))
        self.cost += call_cost(prefixes, [[t.token_ids] for t in out])
        return out

    def sample(
        self, prefixes: Sequence[Sequence[int]], budgets: Sequence[int], params: SamplingParams
    ) -> list[list[tuple[int, ...]]]:
        if not prefixes:
            return []
        vllm = self.generator._vllm
        sampling = [
            vllm.SamplingParams(
                n=params.n,
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=params.top_k if params.top_k > 0 else -1,
                max_tokens=b,
                seed=None if params.seed is None else params.seed + i,
                stop=list(params.stop + self.stop) or None,
                stop_token_ids=sorted(self.eos_ids),
            )
            for i, b in enumerate(budgets)
        ]
        out = [
            [tuple(int(t) for t in s.token_ids) for s in sorted(r.outputs, key=lambda o: o.index)]
            for r in self._run(prefixes, sampling)
        ]
        self.cost += call_cost(prefixes, out)
        return out


STEP_BACKENDS = ("hf", "vllm")


def step_decoder_for(
    backend: str,
    model: str,
    *,
    device: str | None = None,
    batch_size: int = 32,
    top_k_entropy: int = 20,
    stop: Sequence[str] = (),
    **engine_kwargs: Any,
) -> HFStepDecoder | VLLMStepDecoder:
    """A step decoder from command-line style options (the generator comes from
    :func:`ifrl.core.generation.generator_for`).

    ``hf`` (exact entropies) runs on ``device`` with ``batch_size`` sequences per forward pass;
    ``vllm`` estimates entropies from ``top_k_entropy`` logprobs per position (``-1``: the whole
    vocabulary, exact) and passes ``engine_kwargs`` (``tensor_parallel_size``,
    ``gpu_memory_utilization``, ``max_model_len``, ...) to ``vllm.LLM``; ``None`` values are
    dropped. Other backends (``openai``) cannot continue exact token prefixes and are rejected
    with a ``ValueError``. Call the decoder's ``close()`` when done (a vLLM engine holds its GPU
    memory until then).
    """
    engine_kwargs = {k: v for k, v in engine_kwargs.items() if v is not None}
    if backend not in STEP_BACKENDS:
        raise ValueError(
            f"labelers need token-level decoding: backend must be one of {list(STEP_BACKENDS)}, "
            f"got {backend!r}"
        )
    if backend == "hf":
        if engine_kwargs:
            raise ValueError(
                f"engine options {sorted(engine_kwargs)} apply to the vllm backend only"
            )
        return HFStepDecoder(
            generator_for("hf", model, device=device, batch_size=batch_size), stop=stop
        )
    engine_kwargs.setdefault("use_tqdm", False)
    generator = generator_for("vllm", model, top_k_entropy=top_k_entropy, **engine_kwargs)
    return VLLMStepDecoder(generator, stop=stop)


__all__ = [
    "STEP_BACKENDS",
    "GreedyTrace",
    "HFStepDecoder",
    "StepDecoder",
    "VLLMStepDecoder",
    "call_cost",
    "step_decoder_for",
]
