"""The tool-call evaluation shows a progress bar while it generates (issue 25), unless told not
to; the bar does not change the scores."""

from __future__ import annotations

from typing import Any

import pytest

from ifrl.core.records import Completion, Conversation, Message, SamplingParams, ToolCall, ToolSpec
from ifrl.core.toolcalls import render_tool_calls
from ifrl.evals.tool_use import ToolUseCase, evaluate_tool_calls

CLOCK = ToolSpec(
    "get_time",
    "Local time in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


class Echo:
    """Answers every prompt with a call for the city its user turn names."""

    def generate(self, prompts: Any, params: SamplingParams) -> list[list[Completion]]:
        out = []
        for p in prompts:
            city = p.messages[0].content.rstrip("?")
            out.append(
                [Completion(render_tool_calls([ToolCall("get_time", {"city": city})], "hermes"))]
            )
        return out


def _cases(n: int) -> list[ToolUseCase]:
    cities = [f"City{i}" for i in range(n)]
    return [
        ToolUseCase(
            c,
            Conversation((Message("user", f"{c}?"),), (CLOCK,)),
            (ToolCall("get_time", {"city": c if i % 2 else "elsewhere"}),),
        )
        for i, c in enumerate(cities)
    ]


def test_generation_shows_a_bar_over_the_cases(capsys: pytest.CaptureFixture[str]) -> None:
    cases = _cases(10)
    shown, samples = evaluate_tool_calls(cases, generator=Echo(), batch_size=4, style="hermes")
    err = capsys.readouterr().err
    assert "generating" in err and "0/10" in err and "10/10" in err
    quiet, quiet_samples = evaluate_tool_calls(
        cases, generator=Echo(), batch_size=4, progress=False, style="hermes"
    )
    assert capsys.readouterr().err == ""
    assert samples == quiet_samples
    assert shown.metrics["exact"].value == quiet.metrics["exact"].value == 0.5
