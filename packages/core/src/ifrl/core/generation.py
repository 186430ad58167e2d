"""The ``Generator`` protocol every generation backend implements, and the backend registry.

A backend turns prompts into completions: ``generate(prompts, params)`` returns, for each prompt,
``params.n`` :class:`~ifrl.core.records.Completion` objects in order. A prompt
(:data:`Prompt`) is a :class:`~ifrl.core.records.Conversation`, which the backend renders with
the model's chat template (tools included) and a generation prompt — or, when it ends with an
assistant message, continues that message —, a :class:`~ifrl.core.records.RawText` sent exactly
as written, or a plain ``str`` (deprecated; sent as raw text for now, see
:mod:`ifrl.core.chat`). A backend whose completions
carry the exact entropy of the full next-token distribution says so with ``exact_entropies =
True`` (``HFGenerator``; ``VLLMGenerator`` with ``top_k_entropy=-1``); consumers treat entropies
from any other backend as estimates.

Backends register by name with :func:`register_backend`; :func:`make_generator` builds one by
name (``hf``, ``vllm``, ``openai``; third parties through the ``ifrl.backends`` entry-point group);
:func:`generator_for` maps the usual command-line options (``--backend --model --base-url ...``)
onto it, so every ``ifrl`` command builds generators the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from ifrl.core.errors import IfrlError
from ifrl.core.records import Completion, Conversation, RawText, SamplingParams
from ifrl.core.registry import Registry

Prompt = Conversation | RawText | str
"""What a backend accepts: a conversation (through the chat template), raw text, or a plain
string (deprecated: raw text today, one user message through the chat template later)."""


@runtime_checkable
class Generator(Protocol):
    """Anything that samples completions for a batch of prompts."""

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        """Return ``params.n`` completions for each prompt, in prompt order."""
        ...


BACKENDS: Registry[Callable[..., Generator]] = Registry(
    "backend", entry_point_group="ifrl.backends"
)


def register_backend(name: str) -> Callable[[Callable[..., Generator]], Callable[..., Generator]]:
    """Decorator registering a backend factory (usually the class) under ``name``."""
    return BACKENDS.register(name)


def make_generator(name: str, **kwargs: Any) -> Generator:
    """Build the backend registered as ``name`` with ``kwargs`` (e.g. ``model=PATH``)."""
    _import_builtin_backends()
    return BACKENDS.get(name)(**kwargs)


class BackendOptionsError(IfrlError, ValueError):
    """The options given for a backend do not fit it (a missing model or server URL)."""


def generator_for(
    backend: str,
    model: str | os.PathLike[str] | None,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    openai_mode: str = "chat",
    device: str | None = None,
    **kwargs: Any,
) -> Generator:
    """Build a generator from command-line style options.

    ``model`` is required by every backend. ``openai`` needs ``base_url`` (``api_key`` and
    ``openai_mode`` = ``chat`` | ``completions`` go with it); ``hf`` runs on ``device``, by
    default CUDA when torch sees a GPU and the CPU otherwise; ``kwargs`` go to the backend as is
    (e.g. ``batch_size`` for ``hf``, engine options for ``vllm``). Raises
    :class:`BackendOptionsError` naming the missing option, and ``UnknownNameError`` for an
    unknown backend.
    """
    if model is None or not os.fspath(model):
        raise BackendOptionsError(f"the {backend} backend needs a model (--model PATH_OR_NAME)")
    model = os.fspath(model)
    if backend == "openai":
        if not base_url:
            raise BackendOptionsError(
                "the openai backend needs --base-url (an OpenAI-compatible server such as "
                "http://localhost:8000/v1)"
            )
        return make_generator(
            "openai", base_url=base_url, model=model, api_key=api_key, mode=openai_mode, **kwargs
        )
    if backend == "hf":
        if device is None:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        return make_generator("hf", model=model, device=device, **kwargs)
    return make_generator(backend, model=model, **kwargs)


def _import_builtin_backends() -> None:
    # Importing a backend module registers it; the modules import their heavy dependencies lazily.
    from ifrl.core.backends import hf, openai, vllm  # noqa: F401
