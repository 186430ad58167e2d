"""One refused request (e.g. a prompt over the context length) fails only its own sample."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from toolgen_helpers import pool

from ifrl.core.backends.openai import ConnectionFailed, ServerError
from ifrl.core.records import Completion, SamplingParams
from ifrl.toolgen import DialogGenerator, ModelAssistant, ModelTool, ModelUser, Planner
from ifrl.toolgen.backend import BackendFailure, safe_generate


class Picky:
    """Refuses (HTTP 400) any batch holding a prompt longer than ``limit`` characters."""

    def __init__(self, limit: int, reply: str = "ok") -> None:
        self.limit = limit
        self.reply = reply
        self.calls = 0

    def generate(self, prompts: Sequence[Any], params: SamplingParams) -> list[list[Completion]]:
        self.calls += 1
        if any(len(str(p)) > self.limit for p in prompts):
            raise ServerError(
                "http://x/v1/chat/completions", 400, "maximum context length is 512 tokens", 1
            )
        return [[Completion(self.reply)] for _ in prompts]


def test_refused_prompts_become_failures() -> None:
    out = safe_generate(Picky(5), ["a", "much too long", "b"], SamplingParams())
    assert [o if isinstance(o, BackendFailure) else o[0].text for o in out][::2] == ["ok", "ok"]
    assert isinstance(out[1], BackendFailure) and "maximum context length" in out[1].reason


def test_unreachable_server_is_raised() -> None:
    class Down:
        def generate(
            self, prompts: Sequence[Any], params: SamplingParams
        ) -> list[list[Completion]]:
            raise ConnectionFailed("http://x/v1", "refused", 3)

    with pytest.raises(ConnectionFailed):
        safe_generate(Down(), ["a"], SamplingParams())


def test_dialog_job_survives_refused_requests() -> None:
    picky = Picky(400, reply="hello")
    gen = DialogGenerator(
        Planner(pool(40), 0), ModelUser(picky), ModelAssistant(picky), ModelTool(picky), max_turns=2
    )
    results = list(gen.run(list(range(6))))
    assert len(results) == 6
    assert any(r.reason and r.reason.startswith("backend: ") for r in results)
