"""ToolACE-DEV's per-round transformations: sub-task datasets, proposals, majority voting, rule
filtering and survival statistics (the loop over rounds is the toolace-dev recipe's, tested in
tests/pipelines/test_toolace_dev_recipe.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from toolgen_helpers import ScriptedGenerator, pool

from ifrl.core.config import ConfigError, from_mapping
from ifrl.core.errors import JSONLError
from ifrl.core.jsonl import write_jsonl
from ifrl.core.records import Completion, Conversation
from ifrl.toolgen import (
    DialogGenerator,
    Planner,
    RoundConfig,
    build_subtasks,
    propose_tools,
    read_api,
    read_queries,
    run_round,
    vote,
)
from ifrl.toolgen.selfevolve import ABSTAIN, proposal_prompt

TIDE = {
    "name": "get_tides",
    "description": "Get tide times for a harbour.",
    "parameters": {
        "type": "object",
        "properties": {
            "harbour": {"type": "string", "description": "Harbour"},
            "days": {"type": "integer", "description": "Days", "minimum": 1},
        },
        "required": ["harbour"],
    },
}


def test_build_subtasks_gives_three_tasks() -> None:
    dialogs = [
        r.dialog for r in DialogGenerator(Planner(pool(60), 0)).run(list(range(10))) if r.dialog
    ]
    rows = build_subtasks(dialogs)
    tasks = {r["task"] for r in rows}
    assert tasks == {"invocation", "query_tools", "tool_doc"}
    inv = next(r for r in rows if r["task"] == "invocation")
    assert inv["tools"] and inv["messages"][1]["tool_calls"]
    doc = next(r for r in rows if r["task"] == "tool_doc")
    assert [m["role"] for m in doc["messages"]] == ["system", "user", "assistant"]
    assert json.loads(doc["messages"][-1]["content"])["parameters"]["type"] == "object"
    # rows are what ifrl.rltrain's SFT reads: OpenAI rows through the core codec
    for row in rows[:12]:
        assert Conversation.from_openai(row).messages[-1].role == "assistant"


def test_propose_tools_keeps_valid_definitions() -> None:
    text = "Tools: " + json.dumps(
        [
            TIDE,
            {"name": "x"},
            {
                "name": "bad",
                "description": "has a bad schema",
                "parameters": {"type": "object", "properties": {"a": {"type": "nope"}}},
            },
        ]
    )
    assert [t.name for t in propose_tools(text)] == ["get_tides"]
    with pytest.raises(ValueError):
        propose_tools("I don't know")


def make_model(
    invocations: dict[str, Any], proposals: dict[str, list[Any]] | None = None
) -> ScriptedGenerator:
    """Proposals (system + user prompts): TIDE for every query unless ``proposals`` scripts
    them per query and sample; invocations scripted per query, tools and sample index."""

    def reply(prompt: Any, i: int) -> str:
        assert isinstance(prompt, Conversation)
        if prompt.messages[0].role == "system":  # a proposal
            query = prompt.messages[1].content or ""
            if query == "garbage-proposal":
                return "no idea"
            options = (proposals or {}).get(query, [[TIDE]])
            return json.dumps(options[i % len(options)])
        query = prompt.messages[0].content or ""
        script = invocations[query]
        key = ",".join(t.name for t in prompt.tools)
        if isinstance(script, dict):
            script = script[key]
        return script[i % len(script)]

    return ScriptedGenerator(reply)


SCRIPT = {
    "tides in Brest": ['[get_tides(harbour="Brest")]'] * 3
    + ['[get_tides(harbour="Brest", days=2)]', "sorry"],
    "tides in Oban for 3 days": [
        '<tool_call>{"name": "get_tides", "arguments": {"harbour": "Oban", "days": 3}}</tool_call>'
    ]
    * 5,
    "split vote": ['[get_tides(harbour="A")]'] * 2
    + ['[get_tides(harbour="B")]', '[get_tides(harbour="C")]', "x"],
    "hallucinated": ['[get_moon(phase="full")]'] * 5,
    "broken schema": ['[get_tides(harbour="Hull", days=0)]'] * 5,
    "unparsed": ["[get_tides(harbour=", "[get_tides(harbour=", "[get_tides(harbour=", "ok", "ok"],
    "garbage-proposal": ["unused"],
}


def test_round_survival_statistics() -> None:
    model = make_model(SCRIPT)
    stats, rows = run_round(model, list(SCRIPT), RoundConfig(k=5, abstention=False), 1)
    assert stats.queries == 7 and stats.survived == 2
    assert stats.reasons == {
        "survived": 2,
        "no_majority": 1,
        "hallucinated_tool": 1,
        "rule:call.out_of_range": 1,
        "majority_unparsed": 1,
        "no_valid_tool_proposal": 1,
    }
    inv = [r for r in rows if r["task"] == "invocation"]
    args = [r["messages"][1]["tool_calls"][0]["function"]["arguments"] for r in inv]  # objects
    assert args == [{"harbour": "Brest"}, {"harbour": "Oban", "days": 3}]  # the majority answers
    assert stats.rows == len(rows) and stats.to_dict()["survival_rate"] == round(2 / 7, 4)
    # proposals are sampled (n > 1); identical ones count once
    proposal_prompts = [p for p in model.prompts if p.messages[0].role == "system"]
    assert len(proposal_prompts) == 7 and stats.proposals == 6


TIDE_BY_DATE = {
    "name": "get_tides_on",
    "description": "Get tide times for a harbour on a date.",
    "parameters": {
        "type": "object",
        "properties": {
            "harbour": {"type": "string", "description": "Harbour"},
            "date": {"type": "string", "description": "Day", "format": "date"},
        },
        "required": ["harbour", "date"],
    },
}


def test_sampled_proposals_are_grounded_in_the_query() -> None:
    """Of two proposals, the one whose required values the query gives survives; a proposal
    needing a value the query lacks (a date here) is ungrounded."""
    query = "tides in Brest please"
    model = make_model(
        {
            query: {
                "get_tides_on": ['[get_tides_on(harbour="Brest", date="2025-01-01")]'],
                "get_tides": ['[get_tides(harbour="Brest")]'],
            },
            "tides on 2025-05-05": {
                "get_tides_on": ['[get_tides_on(harbour="Brest", date="2025-05-05")]']
            },
        },
        proposals={query: [[TIDE_BY_DATE], [TIDE]], "tides on 2025-05-05": [[TIDE_BY_DATE]]},
    )
    stats, rows = run_round(model, [query, "tides on 2025-05-05"], RoundConfig(k=3, proposals=2), 1)
    assert stats.survived == 1 and stats.reasons["ungrounded_proposal"] == 1
    inv = next(r for r in rows if r["task"] == "invocation")
    assert inv["messages"][1]["tool_calls"][0]["function"]["name"] == "get_tides"
    assert [t["function"]["name"] for t in inv["tools"]] == ["get_tides"]


def test_abstention_survives_as_data() -> None:
    query = "what is the meaning of life"
    model = make_model({query: ["I cannot answer that with these tools."]})
    stats, rows = run_round(model, [query], RoundConfig(k=3), 1)
    assert (stats.survived, stats.abstained) == (0, 1) and stats.reasons["abstained"] == 1
    (row,) = rows
    assert row["task"] == "invocation" and row["messages"][1] == {
        "role": "assistant",
        "content": ABSTAIN,
    }
    stats, rows = run_round(model, [query], RoundConfig(k=3, abstention=False), 1)
    assert (stats.abstained, rows) == (0, []) and stats.reasons["majority_no_call"] == 1


def test_sampling_prompts_are_prefixes_of_the_training_rows() -> None:
    model = make_model(SCRIPT)
    _, rows = run_round(model, ["tides in Brest"], RoundConfig(k=5), 1)
    by_task = {r["task"]: r for r in rows}
    asked = proposal_prompt("tides in Brest").to_openai()["messages"]
    assert by_task["query_tools"]["messages"][:-1] == asked
    assert [m.to_openai() for m in model.prompts[0].messages] == asked
    invocation = next(p for p in model.prompts if p.messages[0].role == "user")
    assert by_task["invocation"]["messages"][:-1] == [m.to_openai() for m in invocation.messages]


def test_vote_needs_the_agreement_it_is_given() -> None:
    tools = [read_api(TIDE)]
    outs = [Completion('[get_tides(harbour="A")]')] * 2 + [Completion('[get_tides(harbour="B")]')]
    assert vote(outs, tools, 0.7) == ("no_majority", [])
    reason, calls = vote(outs, tools, 0.5)
    assert reason is None and [(c.id, c.arguments) for c in calls] == [("call_0", {"harbour": "A"})]
    assert vote([], tools, 0.5) == ("no_samples", [])


def test_round_config_and_queries_errors_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"c.yaml: k: expected int, got 'many'"):
        from_mapping(RoundConfig, {"k": "many"}, "c.yaml")
    with pytest.raises(ConfigError, match=r"c.yaml: min_agreement: must lie in \(0, 1\]"):
        from_mapping(RoundConfig, {"min_agreement": 1.5}, "c.yaml")
    with pytest.raises(ConfigError, match=r"c.yaml: proposals: must be at least 1"):
        from_mapping(RoundConfig, {"proposals": 0}, "c.yaml")
    with pytest.raises(
        ConfigError, match=r"c.yaml: unknown key 'kk' for RoundConfig; did you mean 'k'"
    ):
        from_mapping(RoundConfig, {"kk": 3}, "c.yaml")
    path = tmp_path / "q.jsonl"
    write_jsonl(path, [{"query": "tides?"}, {"text": "no query"}])
    with pytest.raises(JSONLError, match=r"q.jsonl:2: query: missing or empty"):
        read_queries(path)
