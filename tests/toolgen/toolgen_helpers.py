"""Shared helpers for the toolgen tests: a scripted Generator and small pools."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ifrl.core.records import Completion, Conversation, SamplingParams, ToolSpec
from ifrl.toolgen.apis import ProgrammaticApiGenerator


class ScriptedGenerator:
    """A Generator whose replies come from ``reply(prompt, sample_index)``; records prompts.

    Every model-facing prompt of toolgen is a :class:`~ifrl.core.records.Conversation` (the
    model sees it through its chat template): anything else fails the test."""

    def __init__(self, reply: Callable[[Any, int], str]) -> None:
        self.reply = reply
        self.prompts: list[Any] = []

    def generate(self, prompts: Sequence[Any], params: SamplingParams) -> list[list[Completion]]:
        for p in prompts:
            assert isinstance(p, Conversation), f"a prompt that is not a Conversation: {p!r:.80}"
        self.prompts.extend(prompts)
        return [[Completion(self.reply(p, i)) for i in range(params.n)] for p in prompts]


def pool(n: int = 120, seed: int = 0) -> list[ToolSpec]:
    return list(ProgrammaticApiGenerator(seed).generate(n))


def scripted_judge(
    truth: Callable[[str, str], bool], flip: float = 0.0, seed: int = 0
) -> ScriptedGenerator:
    """A judge Generator answering every check prompt of :mod:`ifrl.toolgen.judges` with
    ``truth(check, rendered_dialog)`` (a verdict JSON), flipped with probability ``flip``."""
    import json
    import random

    from ifrl.toolgen.judges import QUESTIONS

    rng = random.Random(seed)

    def reply(prompt: Any, i: int) -> str:
        text = prompt.messages[1].content or ""
        check = next(c for c, q in QUESTIONS.items() if q in text)
        dialog = text.split("Dialog:\n", 1)[1].split("\n\n" + QUESTIONS[check], 1)[0]
        passed = truth(check, dialog)
        if rng.random() < flip:
            passed = not passed
        return json.dumps({"verdict": "pass" if passed else "fail", "reason": "scripted"})

    return ScriptedGenerator(reply)
