"""The generator an iterative run samples from, for each model it produces in turn (iTool).

:class:`PolicyRollouts` hands out a :class:`~ifrl.core.generation.Generator` per model directory:

* ``backend="hf"`` — an :class:`~ifrl.core.backends.hf.HFGenerator` on the model (the last one
  is kept until :meth:`PolicyRollouts.release`);
* any other registered backend, ``vllm`` above all — one engine, built on the first model; each
  later model's weights are loaded into it with ``load_weights``, the handover GRPO's rollouts
  use (the model is read with transformers and passed as
  :func:`~ifrl.rltrain.models.policy_weights`), so the engine starts once per run. vLLM defaults
  as GRPO's: the run's ``dtype`` and ``seed``, an in-process engine, ``gpu_memory_utilization``
  0.3 on a GPU (the trainer shares it) and ``enforce_eager`` on a CPU; ``options`` override them.

What needs logits — the perplexity deficiency selector — gets them from :meth:`scorer`: the
HF generator's own model, or, with an engine that returns no full distributions (vLLM), the model
loaded with transformers on ``device`` for those forward passes only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ifrl.core.generation import Generator, generator_for, make_generator
from ifrl.rltrain.models import DTYPES, load_tokenizer, policy_weights


class PolicyRollouts:
    """Generators for the successive models of a run (see the module docstring)."""

    def __init__(
        self,
        backend: str = "hf",
        *,
        device: str | None = None,
        batch_size: int = 32,
        dtype: str = "float32",
        seed: int = 0,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype: expected one of {', '.join(DTYPES)}, got {dtype!r}")
        self.backend = backend
        self.device = device
        self.batch_size = batch_size
        self.dtype = dtype
        self.seed = seed
        self.options = dict(options or {})
        self.model: str | None = None  #: the model the current generator samples from
        self.loads = 0  #: weight loads into the engine after it was built
        self._generator: Generator | None = None

    def _engine_options(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.backend == "vllm":
            gpu = torch.cuda.is_available() and self.device != "cpu"
            out = {
                "dtype": self.dtype,
                "seed": self.seed,
                "in_process": True,
                "use_tqdm": False,
                **({"gpu_memory_utilization": 0.3} if gpu else {"enforce_eager": True}),
            }
        return {**out, **self.options}

    def generator(self, model: str) -> Generator:
        """A generator sampling from ``model`` (a directory or hub id)."""
        model = str(model)
        if self._generator is not None and self.model == model:
            return self._generator
        if self.backend == "hf":
            self._generator = generator_for(
                "hf", model, device=self.device, batch_size=self.batch_size, **self.options
            )
        elif self._generator is None:
            self._generator = make_generator(self.backend, model=model, **self._engine_options())
        else:
            load = getattr(self._generator, "load_weights", None)
            if load is None:
                raise TypeError(
                    f"the {self.backend} generator has no load_weights(weights): it cannot "
                    "sample from a new model"
                )
            weights = self._weights(model)
            load(weights)
            self.loads += 1
        self.model = model
        return self._generator

    def _weights(self, model: str) -> dict[str, torch.Tensor]:
        return policy_weights(self._load(model))

    def _load(self, model: str) -> torch.nn.Module:
        from transformers import AutoModelForCausalLM

        loaded: torch.nn.Module = AutoModelForCausalLM.from_pretrained(
            str(model), dtype=DTYPES[self.dtype]
        )
        return loaded

    def scorer(self, model: str) -> tuple[torch.nn.Module, Any]:
        """A transformers model on ``model`` and its tokenizer, for what needs logits: the HF
        generator's own (built if needed), else ``model`` loaded on ``device``."""
        if self.backend == "hf":
            gen = self.generator(model)
            return gen.model, gen.tokenizer  # type: ignore[attr-defined]
        loaded = self._load(model)
        loaded.to(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        loaded.eval()
        return loaded, load_tokenizer(str(model))

    def release(self) -> None:
        """Free an HF generator's model (before training); an engine stays up for later models."""
        if self.backend == "hf":
            self._generator, self.model = None, None

    def close(self) -> None:
        """Shut the engine down (if it has a ``close``) and forget it."""
        close = getattr(self._generator, "close", None)
        if callable(close):
            close()
        self._generator, self.model = None, None


__all__ = ["PolicyRollouts"]
