"""Dialog generation: the five types, known-correct calls, determinism, model agents, complexity."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from toolgen_helpers import ScriptedGenerator, pool

from ifrl.core.records import Conversation, ToolCall
from ifrl.core.toolcalls import parse_tool_calls, render_tool_calls
from ifrl.toolgen import (
    ComplexityEvaluator,
    DialogGenerator,
    ModelAssistant,
    ModelTool,
    ModelUser,
    Planner,
)
from ifrl.toolgen.apis import ApiInfo
from ifrl.toolgen.dialog import DIALOG_TYPES, Dialog
from ifrl.toolgen.dialogs.agents import Failure
from ifrl.toolgen.dialogs.complexity import complexity_pair
from ifrl.toolgen.verify import rule_issues

APIS = pool(150)


@pytest.fixture(scope="module")
def dialogs() -> list[Dialog]:
    results = list(DialogGenerator(Planner(APIS, 0)).run(list(range(100))))
    assert all(r.dialog is not None for r in results), [
        r.reason for r in results if r.dialog is None
    ]
    return [r.dialog for r in results if r.dialog is not None]


def test_all_five_types_pass_the_rule_layer(dialogs: list[Dialog]) -> None:
    assert Counter(d.type for d in dialogs) == {k: 20 for k in DIALOG_TYPES}
    for d in dialogs:
        assert rule_issues(d) == [], (d.type, rule_issues(d))


def test_type_shapes(dialogs: list[Dialog]) -> None:
    for d in dialogs:
        turns = [m for m in d.messages if m.role == "assistant"]
        call_turns = [m for m in turns if m.tool_calls]
        assert d.messages[0].role == "user" and turns[-1].content and not turns[-1].tool_calls
        if d.type == "single":
            assert [len(t.tool_calls) for t in call_turns] == [1]
        elif d.type == "parallel":
            assert len(call_turns) == 1 and len(call_turns[0].tool_calls) >= 2
        elif d.type == "non_tool":
            assert not call_turns and "none of the available tools" in (turns[0].content or "")
        elif d.type == "clarify":
            assert not turns[0].tool_calls and "?" in (turns[0].content or "")
            assert d.messages[2].role == "user" and len(call_turns) == 1
        else:
            first, second = call_turns
            result = json.loads(d.messages[d.messages.index(first) + 1].content or "")
            consumer = d.tool(second.tool_calls[0].name)
            assert consumer is not None
            entity_id = f"{ApiInfo.of(consumer).entity}_id"
            assert second.tool_calls[0].arguments[entity_id] == result["results"][0][entity_id]


def test_every_argument_value_is_in_the_request(dialogs: list[Dialog]) -> None:
    for d in dialogs:
        if d.type in ("single", "parallel"):
            text = d.messages[0].content or ""
            for call in d.calls():
                for value in call.arguments.values():
                    if isinstance(value, str):
                        assert value in text, (value, text)


def test_calls_round_trip_through_core_toolcalls(dialogs: list[Dialog]) -> None:
    for d in dialogs:
        for m in d.messages:
            if m.tool_calls:
                for fmt in ("python", "json", "hermes"):
                    back = parse_tool_calls(render_tool_calls(m.tool_calls, fmt), fmt)  # type: ignore[arg-type]
                    assert [(c.name, c.arguments) for c in back] == [
                        (c.name, c.arguments) for c in m.tool_calls
                    ]


def test_results_fit_and_echo_arguments(dialogs: list[Dialog]) -> None:
    for d in dialogs:
        for _i, m in enumerate(d.messages):
            if m.role == "tool":
                call = next(c for c in d.calls() if c.id == m.tool_call_id)
                result = json.loads(m.content or "")
                for key, value in call.arguments.items():
                    if key.endswith("_id") and key in result:
                        assert result[key] == value


def test_working_format_round_trip(dialogs: list[Dialog]) -> None:
    for d in dialogs[:25]:
        data = json.loads(json.dumps(d.to_json()))
        assert data["tools"][0]["type"] == "function"
        assert Dialog.from_json(data).to_dict() == d.to_dict() | {
            "tools": Dialog.from_json(data).to_dict()["tools"]
        }
        for m in data["messages"]:
            for c in m.get("tool_calls", []):
                assert isinstance(c["function"]["arguments"], str)


def test_generation_is_deterministic_per_index() -> None:
    a = [
        r.dialog.to_dict()
        for r in DialogGenerator(Planner(APIS, 5), batch_size=7).run([3, 11, 42])
        if r.dialog
    ]
    b = [
        r.dialog.to_dict()
        for r in DialogGenerator(Planner(APIS, 5), batch_size=2).run([42, 3, 11])
        if r.dialog
    ]
    assert sorted(map(json.dumps, a)) == sorted(map(json.dumps, b))
    c = [r.dialog.to_dict() for r in DialogGenerator(Planner(APIS, 6)).run([3, 11, 42]) if r.dialog]
    assert a != c


def test_model_assistant_reads_replies() -> None:
    msg = ModelAssistant.read('<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>', 2)
    assert not isinstance(msg, Failure) and msg.tool_calls[0].id == "call_2"
    text = ModelAssistant.read("The answer is 4.")
    assert not isinstance(text, Failure) and text.content == "The answer is 4."
    bad = ModelAssistant.read("[f(a=1")
    assert isinstance(bad, Failure) and "do not parse" in bad.reason
    assert isinstance(ModelAssistant.read("  "), Failure)


def scripted(reply: Any) -> ScriptedGenerator:
    return ScriptedGenerator(reply)


def test_model_agents_with_garbage_fail_with_reasons() -> None:
    junk = scripted(lambda prompt, i: "[[[ garbage (((" if isinstance(prompt, Conversation) else "")
    gen = DialogGenerator(
        Planner(APIS, 0), ModelUser(junk), ModelAssistant(junk), ModelTool(junk), batch_size=4
    )
    results = list(gen.run(list(range(10))))
    assert all(r.dialog is None and r.reason for r in results)
    assert {r.reason for r in results} == {"empty user message"}


def test_model_agents_end_to_end_with_a_scripted_model() -> None:
    planner = Planner(APIS, 0)

    def reply(prompt: Any, i: int) -> str:
        if isinstance(prompt, Conversation):
            tool = prompt.tools[0]
            if any(m.role == "tool" for m in prompt.messages):
                return "All done, here is your answer."
            args = {k: "x" for k in tool.parameters.get("required", [])}
            return render_tool_calls([ToolCall(tool.name, args)], "hermes")
        if "You simulate the API" in prompt:
            return 'Result: {"status": "ok"}'
        return "Please do the thing with x."

    gen = DialogGenerator(
        planner,
        ModelUser(scripted(reply)),
        ModelAssistant(scripted(reply)),
        ModelTool(scripted(reply)),
    )
    results = list(gen.run([0, 1, 3]))  # single, parallel, non_tool plans
    made = [r.dialog for r in results if r.dialog is not None]
    assert made, [r.reason for r in results]
    for d in made:
        roles = [m.role for m in d.messages]
        assert roles[:2] == ["user", "assistant"] and roles[-1] == "assistant"


class FakeScorer:
    def __init__(self, by_type: dict[str, float]) -> None:
        self.by_type = by_type

    def losses(self, pairs: Any) -> list[float]:
        out = []
        for _prompt, target in pairs:
            out.append(self.by_type["text"] if not target.startswith("[") else self.by_type["call"])
        return out


def test_complexity_evaluator_filters_and_steers(dialogs: list[Dialog]) -> None:
    pair = complexity_pair(dialogs[0])
    assert pair is not None and pair[0].startswith("tools: ") and pair[1].startswith("[")
    evaluator = ComplexityEvaluator(FakeScorer({"call": 1.0, "text": 9.0}), low=0.5, high=5.0)
    judged = evaluator.judge(dialogs)
    for d, (_h, reason) in zip(dialogs, judged):
        first = next(m for m in d.messages if m.role == "assistant")
        assert reason == (None if first.tool_calls else "too_hard")
    assert evaluator.weights["non_tool"] < 1 < evaluator.weights["single"]
    gen = DialogGenerator(
        Planner(APIS, 0),
        evaluator=ComplexityEvaluator(FakeScorer({"call": 1.0, "text": 9.0}), 0.5, 5.0),
        batch_size=10,
    )
    results = list(gen.run(list(range(60))))
    kinds = Counter(r.dialog.type for r in results if r.dialog is not None)
    assert "non_tool" not in kinds and "clarify" not in kinds
    assert {r.reason for r in results if r.dialog is None} <= {"too_hard"}
    assert all("complexity_loss" in r.dialog.meta for r in results if r.dialog is not None)
    # steering: after the first batches, too-hard types are sampled less often
    late = results[30:]
    assert sum(r.reason == "too_hard" for r in late) < 12  # 12 of 30 without steering
