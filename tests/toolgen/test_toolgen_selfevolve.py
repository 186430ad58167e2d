"""ToolACE-DEV: sub-task datasets, majority voting, rule filtering, rounds, resume, config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from toolgen_helpers import ScriptedGenerator, pool

from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.core.records import Conversation
from ifrl.toolgen.dialogs import DialogGenerator, Planner
from ifrl.toolgen.selfevolve import (
    ConfigError,
    SelfEvolveConfig,
    SelfEvolver,
    build_subtasks,
    propose_tools,
)

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
    assert json.loads(doc["messages"][1]["content"])["parameters"]["type"] == "object"
    # rows are what ifrl.rltrain's SFT reads
    sft = pytest.importorskip("ifrl.rltrain.sft")
    for row in rows[:12]:
        sft.parse_conversation(row)


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


def make_model(invocations: dict[str, list[str]]) -> ScriptedGenerator:
    """Proposals: TIDE for every query; invocations scripted per query and sample index."""

    def reply(prompt: Any, i: int) -> str:
        if isinstance(prompt, Conversation):
            query = prompt.messages[0].content or ""
            return invocations[query][i % len(invocations[query])]
        if "garbage-proposal" in prompt:
            return "no idea"
        return json.dumps([TIDE])

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


class RecordingTuner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Path, int]] = []

    def finetune(self, model: str, data: Path, output_dir: Path, round: int) -> str:
        self.calls.append((model, data, round))
        return f"{model}+r{round}"


def config(tmp_path: Path, **kw: Any) -> SelfEvolveConfig:
    queries = tmp_path / "queries.jsonl"
    write_jsonl(queries, [{"query": q} for q in SCRIPT])
    return SelfEvolveConfig.from_dict(
        {"queries": str(queries), "output_dir": str(tmp_path / "run"), "model": "m0", "k": 5, **kw}
    )


def test_round_survival_statistics(tmp_path: Path) -> None:
    cfg = config(tmp_path, rounds=1)
    model = make_model(SCRIPT)
    stats, rows = SelfEvolver(cfg, lambda m: model).run_round(model, list(SCRIPT), 1)
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
    args = [json.loads(r["messages"][1]["tool_calls"][0]["function"]["arguments"]) for r in inv]
    assert args == [{"harbour": "Brest"}, {"harbour": "Oban", "days": 3}]  # the majority answers


def test_rounds_finetune_log_and_resume(tmp_path: Path) -> None:
    tuner = RecordingTuner()
    models: list[str] = []

    def factory(name: str) -> ScriptedGenerator:
        models.append(name)
        return make_model(SCRIPT)

    cfg = config(tmp_path, rounds=2, reuse_queries=True, finetune="rltrain")
    history = SelfEvolver(cfg, factory, tuner).run()
    assert [h.survived for h in history] == [2, 2]
    assert models == ["m0", "m0+r1"] and [c[2] for c in tuner.calls] == [1, 2]
    rounds = list(read_jsonl(tmp_path / "run" / "rounds.jsonl"))
    assert rounds[1]["model"] == "m0+r1+r2" and rounds[0]["survival_rate"] == round(2 / 7, 4)
    assert rounds[0]["reasons"]["hallucinated_tool"] == 1
    assert (
        len(list(read_jsonl(tmp_path / "run" / "round_1" / "train.jsonl")))
        == rounds[0]["training_rows"]
        > 0
    )
    # a rerun resumes: no new generation, no new fine-tuning
    again = SelfEvolver(cfg, factory, tuner).run()
    assert [h.survived for h in again] == [2, 2] and len(tuner.calls) == 2 and len(models) == 2


def test_new_queries_each_round(tmp_path: Path) -> None:
    cfg = config(tmp_path, rounds=2)
    model = make_model(SCRIPT)
    SelfEvolver(cfg, lambda m: model).run()
    seen = [p.messages[0].content for p in model.prompts if isinstance(p, Conversation)]
    first = set(list(SCRIPT)[:4])
    assert set(seen) >= first - {"garbage-proposal"} and len(seen) == len(set(seen))


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("queries: q.jsonl\nroundz: 3\n")
    with pytest.raises(ConfigError, match=r"c.yaml: roundz: unknown setting"):
        SelfEvolveConfig.from_yaml(path)
    path.write_text("queries: q.jsonl\nk: many\n")
    with pytest.raises(ConfigError, match="k: expected a number"):
        SelfEvolveConfig.from_yaml(path)
    with pytest.raises(ConfigError, match="finetune: must be none or rltrain"):
        SelfEvolveConfig.from_dict({"queries": "q", "finetune": "lora"})
    with pytest.raises(ConfigError, match="queries: required"):
        SelfEvolveConfig.from_dict({})
