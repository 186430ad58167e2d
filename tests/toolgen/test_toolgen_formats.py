"""Export to ToolACE/OpenAI/ShareGPT and import of ToolACE's released data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from toolgen_helpers import pool

from ifrl.core.records import ToolCall
from ifrl.core.toolcalls import parse_tool_calls
from ifrl.toolgen import DialogGenerator, Planner
from ifrl.toolgen.dialog import Dialog
from ifrl.toolgen.exports import (
    TOOLACE_MARKER,
    ExportFormatError,
    export,
    from_toolace,
    import_toolace,
    to_openai,
    to_sharegpt,
    to_toolace,
    tools_from_system,
)
from ifrl.toolgen.verify import rule_issues

DIALOGS = [r.dialog for r in DialogGenerator(Planner(pool(80), 1)).run(list(range(20))) if r.dialog]

# A sample in ToolACE's released shape (written for this test): names with spaces, BFCL-style
# "dict" types, results as [{"name", "results"}].
TOOLACE_SAMPLE = {
    "system": (
        "You are an expert in composing functions. ...\n"
        f"{TOOLACE_MARKER}:\n"
        + json.dumps(
            [
                {
                    "name": "Get Weather",
                    "description": "Current weather for a city.",
                    "parameters": {
                        "type": "dict",
                        "properties": {
                            "city": {"type": "string", "description": "City"},
                            "days": {"type": "int", "description": "Days"},
                        },
                        "required": ["city"],
                    },
                    "required": None,
                },
                {
                    "name": "Get Time",
                    "description": "Local time in a city.",
                    "parameters": {
                        "type": "dict",
                        "properties": {"city": {"type": "string", "description": "City"}},
                        "required": ["city"],
                    },
                },
            ]
        )
        + "\nShould you decide to return the function call(s), put them in the format [func(a=1)]."
    ),
    "conversations": [
        {"from": "user", "value": "Weather and time in Paris for 2 days?"},
        {
            "from": "assistant",
            "value": '[Get Weather(city="Paris", days=2), Get Time(city="Paris")]',
        },
        {
            "from": "tool",
            "value": json.dumps(
                [
                    {"name": "Get Weather", "results": {"temp": 12}},
                    {"name": "Get Time", "results": {"time": "10:00"}},
                ]
            ),
        },
        {"from": "assistant", "value": "It is 12 degrees and 10:00 in Paris."},
    ],
}


def test_toolace_export_matches_the_released_shape_and_round_trips() -> None:
    for d in DIALOGS:
        row = to_toolace(d)
        assert set(row) == {"system", "conversations"}
        assert TOOLACE_MARKER in row["system"]
        assert {
            t["name"] for t in json.loads(row["system"].split(TOOLACE_MARKER + ":\n", 1)[1])
        } == {t.name for t in d.tools}
        assert {c["from"] for c in row["conversations"]} <= {"user", "assistant", "tool"}
        for c in row["conversations"]:
            if c["from"] == "assistant" and c["value"].startswith("["):
                assert parse_tool_calls(c["value"], "python")
            if c["from"] == "tool":
                assert all({"name", "results"} <= set(r) for r in json.loads(c["value"]))
        back = from_toolace(row)
        assert back.type == d.type
        assert [(c.name, c.arguments) for c in back.calls()] == [
            (c.name, c.arguments) for c in d.calls()
        ]
        assert [i.code for i in rule_issues(back)] == []


def test_import_released_sample() -> None:
    d = from_toolace(TOOLACE_SAMPLE)
    assert d.type == "parallel"
    assert [t.name for t in d.tools] == ["Get Weather", "Get Time"]
    assert d.tools[0].parameters["type"] == "object"
    assert d.tools[0].parameters["properties"]["days"]["type"] == "integer"
    assert d.calls() == [
        ToolCall("Get Weather", {"city": "Paris", "days": 2}, "call_0"),
        ToolCall("Get Time", {"city": "Paris"}, "call_1"),
    ]
    tool_msgs = [m for m in d.messages if m.role == "tool"]
    assert [(m.name, m.tool_call_id, json.loads(m.content or "")) for m in tool_msgs] == [
        ("Get Weather", "call_0", {"temp": 12}),
        ("Get Time", "call_1", {"time": "10:00"}),
    ]
    assert rule_issues(d) == []


def test_import_file_skips_bad_samples_with_reasons(tmp_path: Path) -> None:
    bad_call = json.loads(json.dumps(TOOLACE_SAMPLE))
    bad_call["conversations"][1]["value"] = '[Get Weather(city="Paris"'
    no_tools = {"system": "no tools here", "conversations": []}
    path = tmp_path / "data.json"
    path.write_text(json.dumps([TOOLACE_SAMPLE, bad_call, no_tools, "junk"]))
    dialogs, stats, errors = import_toolace(path)
    assert len(dialogs) == 1 and stats["imported"] == 1 and stats["skipped"] == 3
    assert errors[0].startswith(f"{path}:2: conversations[1]: python tool calls")
    assert "no tool list" in errors[1] and errors[2].endswith("a sample must be an object")


def test_tools_from_system_without_marker() -> None:
    tools = tools_from_system(
        'Tools: [{"name": "f", "description": "does f things", "parameters": {"type": "dict", "properties": {}}}] ok'
    )
    assert tools[0].name == "f" and tools[0].parameters["type"] == "object"
    with pytest.raises(ExportFormatError):
        tools_from_system("[1, 2]")


def test_openai_and_sharegpt_shapes() -> None:
    d = next(x for x in DIALOGS if x.type == "parallel")
    oa = to_openai(d)
    assert set(oa) == {"messages", "tools"}
    assert all("responses" not in t["function"] for t in oa["tools"])
    call_msg = next(m for m in oa["messages"] if m.get("tool_calls"))
    # Objects by default (what TRL and the chat templates read); strings for OpenAI's API.
    assert all(isinstance(c["function"]["arguments"], dict) for c in call_msg["tool_calls"])
    strings = next(m for m in to_openai(d, arguments="string")["messages"] if m.get("tool_calls"))
    assert all(isinstance(c["function"]["arguments"], str) for c in strings["tool_calls"])
    with pytest.raises(ValueError, match="only the openai format"):
        list(export([d], "sharegpt", arguments="string"))
    sg = to_sharegpt(d)
    froms = [t["from"] for t in sg["conversations"]]
    assert froms == ["human", "function_call", "observation", "gpt"]
    calls = json.loads(sg["conversations"][1]["value"])
    assert isinstance(calls, list) and len(calls) == len(d.calls())
    assert json.loads(sg["tools"])[0]["name"] == d.tools[0].name


def test_export_yields_errors_for_unwritable_calls() -> None:
    d = DIALOGS[0]
    weird = d.replace(
        messages=tuple(
            m.replace(
                tool_calls=tuple(c.replace(arguments={"first-name": 1}) for c in m.tool_calls)
            )
            if m.tool_calls
            else m
            for m in d.messages
        )
    )
    out = list(export([weird, d], "toolace"))
    assert isinstance(out[0], ExportFormatError) and isinstance(out[1], dict)
    with pytest.raises(ValueError, match="unknown export format"):
        list(export([d], "alpaca"))  # type: ignore[arg-type]


def test_openai_export_is_readable_by_dialog_reader() -> None:
    for d in DIALOGS[:5]:
        row = to_openai(d)
        back = Dialog.from_json({"type": d.type, **row})
        assert [c.arguments for c in back.calls()] == [c.arguments for c in d.calls()]


def test_thoughts_are_written_where_the_format_has_room() -> None:
    made = [r.dialog for r in DialogGenerator(Planner(pool(80), 1), thoughts=1.0).run(range(7))]
    for d in made:
        assert d is not None and d.thoughts
        oa = to_openai(d, thoughts=True)
        for i, thought in d.thoughts.items():
            assert oa["messages"][i]["content"].startswith(f"<think>{thought}</think>")
        assert "<think>" not in json.dumps(to_openai(d))
        sg = to_sharegpt(d, thoughts=True)
        for turn in sg["conversations"]:
            if turn["from"] == "function_call":
                json.loads(turn["value"])  # still the call, nothing else
        texts = [i for i, m in enumerate(d.messages) if m.role == "assistant" and not m.tool_calls]
        gpt = [t["value"] for t in sg["conversations"] if t["from"] == "gpt"]
        assert all(v.startswith("<think>") for v, i in zip(gpt, texts) if i in d.thoughts)
        assert "<think>" not in json.dumps(to_toolace(d, thoughts=True))
        back = from_toolace(to_toolace(d))
        assert back.type == d.type and back.thoughts == {}


def test_import_infers_sessions_and_tool_errors() -> None:
    for kind in ("multi_request", "tool_error"):
        d = next(x for x in DIALOGS if x.type == kind)
        back = from_toolace(to_toolace(d))
        assert back.type == kind and rule_issues(back) == []
