"""Calling a :class:`~ifrl.core.generation.Generator` so that one bad request cannot stop a job.

:func:`safe_generate` sends the whole batch; if the backend raises an ``IfrlError`` (an HTTP 400
for a prompt longer than the model's context, a malformed response...), it retries the prompts one
by one and returns a :class:`BackendFailure` for each prompt that still fails. An unreachable
server (``ConnectionFailed``, timeouts included) is raised again: that is a broken backend, not
bad data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ifrl.core.backends.openai import ConnectionFailed
from ifrl.core.errors import IfrlError
from ifrl.core.generation import Generator
from ifrl.core.records import Completion, SamplingParams


class BackendFailure:
    """A prompt the backend refused; ``reason`` is the backend's error message."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"BackendFailure({self.reason!r})"


def safe_generate(
    generator: Generator, prompts: Sequence[Any], params: SamplingParams
) -> list[list[Completion] | BackendFailure]:
    """``generator.generate`` per prompt, with per-prompt failures instead of one exception."""
    if not prompts:
        return []
    try:
        return list(generator.generate(list(prompts), params))
    except IfrlError as err:
        _raise_if_systemic(err)
    out: list[list[Completion] | BackendFailure] = []
    for prompt in prompts:
        try:
            out.extend(generator.generate([prompt], params))
        except IfrlError as err:
            _raise_if_systemic(err)
            out.append(BackendFailure(f"backend: {err}"[:300]))
    return out


def _raise_if_systemic(err: IfrlError) -> None:
    if isinstance(err, ConnectionFailed):
        raise err


def first_text(result: list[Completion] | BackendFailure) -> str | BackendFailure:
    """The first completion's text, or the failure."""
    if isinstance(result, BackendFailure):
        return result
    return result[0].text if result else ""


__all__ = ["BackendFailure", "first_text", "safe_generate"]
