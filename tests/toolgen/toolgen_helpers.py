"""Shared helpers for the toolgen tests: a scripted Generator and small pools."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ifrl.core.records import Completion, SamplingParams, ToolSpec
from ifrl.toolgen.apis import ProgrammaticApiGenerator


class ScriptedGenerator:
    """A Generator whose replies come from ``reply(prompt, sample_index)``; records prompts."""

    def __init__(self, reply: Callable[[Any, int], str]) -> None:
        self.reply = reply
        self.prompts: list[Any] = []

    def generate(self, prompts: Sequence[Any], params: SamplingParams) -> list[list[Completion]]:
        self.prompts.extend(prompts)
        return [[Completion(self.reply(p, i)) for i in range(params.n)] for p in prompts]


def pool(n: int = 120, seed: int = 0) -> list[ToolSpec]:
    return list(ProgrammaticApiGenerator(seed).generate(n))
