"""Records: JSON round trips and validation errors that name the field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifrl.core import (
    Completion,
    ConstraintSpec,
    Conversation,
    Message,
    PreferencePair,
    RecordError,
    SamplingParams,
    StepSample,
    ToolCall,
    ToolSpec,
    Verdict,
)

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def test_conversation_round_trip_with_tools() -> None:
    conv = Conversation(
        messages=(
            Message("system", "be brief"),
            Message("user", "weather in Paris?"),
            Message("assistant", None, (ToolCall("get_weather", {"city": "Paris"}, id="c1"),)),
            Message("tool", '{"temp": 21}', name="get_weather", tool_call_id="c1"),
            Message("assistant", "21 degrees."),
        ),
        tools=(
            ToolSpec(
                "get_weather",
                "Current weather",
                {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            ),
        ),
    )
    data = json.loads(json.dumps(conv.to_dict()))
    assert Conversation.from_dict(data) == conv
    chat = conv.chat()
    assert chat[2]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": {"city": "Paris"},
    }
    assert chat[3]["tool_call_id"] == "c1"


@given(
    name=st.text(min_size=1, max_size=10).filter(str.strip),
    args=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
)
def test_tool_call_round_trip(name: str, args: dict) -> None:
    call = ToolCall(name, args)
    assert ToolCall.from_dict(json.loads(json.dumps(call.to_dict()))) == call


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        ({"messages": [{"role": "user"}, {"role": "bot"}]}, "messages[1].role", "must be one of"),
        (
            {"messages": [{"role": "user", "content": 3}]},
            "messages[0].content",
            "expected string or null",
        ),
        ({"messages": "hi"}, "messages", "expected a list"),
        ({}, "messages", "missing required field"),
        ({"messages": [], "tool": []}, "tool", "unknown field"),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{"arguments": {}}]}]},
            "messages[0].tool_calls[0].name",
            "missing required field",
        ),
        (
            {"messages": [{"role": "user", "tool_calls": [{"name": "f"}]}]},
            "messages[0].tool_calls",
            "only assistant messages",
        ),
        ({"messages": [], "tools": [{"name": "f"}, {"name": "f"}]}, "tools", "duplicate tool name"),
        (
            {"messages": [], "tools": [{"name": "f", "parameters": {"type": "array"}}]},
            "tools[0].parameters.type",
            "object schema",
        ),
    ],
)
def test_conversation_errors_name_the_field(data: dict, field: str, problem: str) -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(data)
    assert info.value.field == field
    assert problem in info.value.problem


def test_numbers_and_booleans_are_not_confused() -> None:
    with pytest.raises(RecordError, match="expected a boolean"):
        Verdict.from_dict({"passed": 1})
    with pytest.raises(RecordError, match="expected an integer"):
        SamplingParams.from_dict({"n": True})
    assert SamplingParams.from_dict({"temperature": 1}).temperature == 1.0
    with pytest.raises(RecordError, match="expected an integer"):
        SamplingParams.from_dict({"max_new_tokens": 2.5})


def test_value_checks() -> None:
    with pytest.raises(RecordError) as info:
        StepSample.from_dict({"prompt": "q", "steps": ["a", "b"], "labels": [1.0]})
    assert info.value.field == "labels"
    with pytest.raises(RecordError) as info:
        StepSample.from_dict({"prompt": "q", "steps": ["a"], "labels": [1.5]})
    assert info.value.field == "labels[0]"
    with pytest.raises(RecordError, match="score"):
        Verdict(True, 2.0)
    with pytest.raises(RecordError, match="top_p"):
        SamplingParams(top_p=0.0)
    with pytest.raises(RecordError, match="3 entries for 2 token ids"):
        Completion("ab", token_ids=(1, 2), logprobs=(0.0, 0.0, 0.0))
    assert SamplingParams(temperature=0).greedy


def test_other_records_round_trip() -> None:
    records = [
        ConstraintSpec("keywords:existence", {"keywords": ["a", "b"]}),
        ConstraintSpec("tone:formal", {}, kind="soft"),
        Verdict.of(True, "ok"),
        Completion("hi", (5, 6), (-0.1, -0.2), (1.0, 0.5), "stop"),
        PreferencePair("p", "good", "bad", {"gap": 0.5}),
        StepSample("q", ("s1", "s2"), (1.0, 0.25)),
        SamplingParams(n=4, stop=("\n",), seed=3),
    ]
    for record in records:
        again = type(record).from_dict(json.loads(json.dumps(record.to_dict())))
        assert again == record
    assert Verdict.of(False).score == 0.0
    with pytest.raises(RecordError, match="must be one of"):
        ConstraintSpec.from_dict({"id": "x", "kind": "medium"})


def test_toolspec_openai_forms() -> None:
    wrapped = {
        "type": "function",
        "function": {
            "name": "f",
            "description": "d",
            "parameters": {"type": "object", "properties": {}},
        },
    }
    spec = ToolSpec.from_openai(wrapped)
    assert spec.to_openai() == wrapped
    assert ToolSpec.from_openai(wrapped["function"]) == spec


def test_costs_add_up_and_subtract_field_by_field() -> None:
    from ifrl.core.records import Cost

    before, after = Cost(1, 10, 30, 1), Cost(4, 25, 100, 3)
    assert before + Cost(3, 15, 70, 2) == after
    assert after - before == Cost(3, 15, 70, 2)  # what was spent in between
    assert after - after == Cost()
