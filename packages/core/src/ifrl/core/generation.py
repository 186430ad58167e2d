"""The ``Generator`` protocol every generation backend implements, and the backend registry.

A backend turns prompts into completions: ``generate(prompts, params)`` returns, for each prompt,
``params.n`` :class:`~ifrl.core.records.Completion` objects in order. A prompt is either a plain
string (sent as is) or a :class:`~ifrl.core.records.Conversation`, which the backend renders with
the model's chat template (tools included) and a generation prompt.

Backends register by name with :func:`register_backend`; :func:`make_generator` builds one by
name (``hf``, ``vllm``, ``openai``; third parties through the ``ifrl.backends`` entry-point group).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from ifrl.core.records import Completion, Conversation, SamplingParams
from ifrl.core.registry import Registry

Prompt = str | Conversation


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


def _import_builtin_backends() -> None:
    # Importing a backend module registers it; the modules import their heavy dependencies lazily.
    from ifrl.core.backends import hf, openai, vllm  # noqa: F401
