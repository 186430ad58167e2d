"""Dialog generation: the seven types, values that respect meaning, results consistent with their
calls and with each other, paraphrase banks, thoughts, the type mix, model agents, complexity."""

from __future__ import annotations

import json
import re
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
from ifrl.toolgen import phrasing as ph
from ifrl.toolgen.apis import ApiInfo
from ifrl.toolgen.dialog import DIALOG_TYPES, Dialog, error_of
from ifrl.toolgen.dialogs.agents import Failure
from ifrl.toolgen.dialogs.complexity import complexity_sample
from ifrl.toolgen.semantic import missing_values
from ifrl.toolgen.verify import rule_issues
from ifrl.toolgen.world import CITIES

APIS = pool(150)


@pytest.fixture(scope="module")
def dialogs() -> list[Dialog]:
    results = list(DialogGenerator(Planner(APIS, 0)).run(list(range(210))))
    assert all(r.dialog is not None for r in results), [
        r.reason for r in results if r.dialog is None
    ]
    return [r.dialog for r in results if r.dialog is not None]


def _results(d: Dialog) -> dict[str, Any]:
    return {
        m.tool_call_id or "": json.loads(m.content or "") for m in d.messages if m.role == "tool"
    }


def test_all_seven_types_pass_the_rule_layer(dialogs: list[Dialog]) -> None:
    assert Counter(d.type for d in dialogs) == {k: 30 for k in DIALOG_TYPES}
    for d in dialogs:
        assert rule_issues(d) == [], (d.type, rule_issues(d))


def test_type_shapes(dialogs: list[Dialog]) -> None:
    for d in dialogs:
        turns = [m for m in d.messages if m.role == "assistant"]
        call_turns = [m for m in turns if m.tool_calls]
        users = [m for m in d.messages if m.role == "user"]
        assert d.messages[0].role == "user" and turns[-1].content and not turns[-1].tool_calls
        results = _results(d)
        if d.type == "single":
            assert [len(t.tool_calls) for t in call_turns] == [1]
        elif d.type == "parallel":
            assert len(call_turns) == 1 and len(call_turns[0].tool_calls) >= 2
        elif d.type == "non_tool":
            assert not call_turns and len(turns) == 1
        elif d.type == "clarify":
            assert not turns[0].tool_calls and (turns[0].content or "").endswith("?")
            assert d.messages[2].role == "user" and len(call_turns) == 1
        elif d.type == "dependent":
            first, second = call_turns
            result = results[first.tool_calls[0].id or ""]
            consumer = d.tool(second.tool_calls[0].name)
            assert consumer is not None
            entity_id = f"{ApiInfo.of(consumer).entity}_id"
            assert second.tool_calls[0].arguments[entity_id] == result["results"][0][entity_id]
        elif d.type == "multi_request":
            assert 2 <= len(users) <= 4 and len(call_turns) == len(users)
            # the second request names one of the first request's records; the call takes its id
            first = results[call_turns[0].tool_calls[0].id or ""]["results"]
            call = call_turns[1].tool_calls[0]
            key = next(k for k in call.arguments if k.endswith("_id"))
            record = next(r for r in first if r[key] == call.arguments[key])
            assert record["name"] in (users[1].content or "")
        else:  # tool_error
            errors = [r for r in results.values() if error_of(r) is not None]
            assert len(errors) == 1 and len(users) == 1
            retried = len(call_turns) == 2
            if retried:  # a transient error: the same call again, then an answer from it
                a, b = (t.tool_calls[0] for t in call_turns)
                assert (a.name, a.arguments) == (b.name, b.arguments) and a.id != b.id
            else:  # a permanent one: the answer quotes the tool's message
                found = error_of(errors[0])
                assert found is not None and found["message"] in (turns[-1].content or "")


def test_values_respect_meaning(dialogs: list[Dialog]) -> None:
    cities = {c.name: c for c in CITIES}
    seen: Counter[str] = Counter()
    for d in dialogs:
        for call in d.calls():
            a = call.arguments
            if "start_date" in a and "end_date" in a:
                assert a["start_date"] < a["end_date"], a
                seen["range"] += 1
            if "origin" in a and "destination" in a:
                assert a["origin"] != a["destination"], a
                seen["route"] += 1
            if isinstance(a.get("guests"), int):
                assert 1 <= a["guests"] <= 10  # a plausible party (world.py picks 1-10)
            if isinstance(a.get("city"), str) and isinstance(a.get("coordinates"), dict):
                city = cities[a["city"]]
                assert a["coordinates"] == {"lat": round(city.lat, 4), "lon": round(city.lon, 4)}
                seen["place"] += 1
            if isinstance(a.get("email"), str) and isinstance(a.get("name"), str):
                seen["person"] += 1
    assert seen["range"] and seen["route"]


def test_results_fit_their_calls_and_the_session(dialogs: list[Dialog]) -> None:
    for d in dialogs:
        names: dict[str, str] = {}
        for m in d.messages:
            if m.role != "tool":
                continue
            call = next(c for c in d.calls() if c.id == m.tool_call_id)
            result = json.loads(m.content or "")
            assert m.name == call.name
            for row in result.get("results", []) if isinstance(result, dict) else []:
                key = next(k for k in row if k.endswith("_id"))
                names[row[key]] = row["name"]
            for key, value in call.arguments.items():
                if key.endswith("_id") and key in result:
                    assert result[key] == value
                    # a record found earlier keeps its name in later results
                    if value in names and "message" in result:
                        assert names[value] in result["message"]
            assert "cedar birch" not in (m.content or "")  # no word salad


def test_every_argument_value_is_in_the_user_turns_or_an_earlier_result(
    dialogs: list[Dialog],
) -> None:
    for d in dialogs:
        said = ""
        for m in d.messages:
            if m.role in ("user", "tool"):
                said += " " + (m.content or "")
            for call in m.tool_calls:
                for value in call.arguments.values():
                    if isinstance(value, str):
                        assert value in said, (value, said)


def test_clarifying_questions_ask_for_the_missing_value(dialogs: list[Dialog]) -> None:
    for d in dialogs:
        if d.type != "clarify":
            continue
        tools = {t.name: t for t in d.tools}
        missing = missing_values(d.messages, 1, tools)  # given only in the answer
        asked = (d.messages[1].content or "").lower()
        assert len(missing) == 1 and ph.label(next(iter(missing))) in asked, (asked, missing)


def test_paraphrase_banks_have_twenty_grammatical_forms() -> None:
    slot = re.compile(r"\{(\w+)\}")
    for name, bank in ph.BANKS.items():
        assert len(set(bank)) >= 20, name
        for form in bank:
            assert form == form.strip() and "  " not in form, (name, form)
            assert form.count("{") == form.count("}") == len(slot.findall(form)), (name, form)


def test_no_template_slot_is_left_unfilled(dialogs: list[Dialog]) -> None:
    for d in dialogs:
        for m in d.messages:
            if m.role != "tool":
                assert "{" not in (m.content or "") and "}" not in (m.content or ""), m.content


def test_final_answers_do_not_share_one_opening(dialogs: list[Dialog]) -> None:
    openings = Counter(" ".join((d.messages[-1].content or "").split()[:3]) for d in dialogs)
    assert openings.most_common(1)[0][1] / len(dialogs) <= 0.05, openings.most_common(3)


def test_calls_round_trip_through_core_toolcalls(dialogs: list[Dialog]) -> None:
    for d in dialogs:
        for m in d.messages:
            if m.tool_calls:
                for fmt in ("python", "json", "hermes"):
                    back = parse_tool_calls(render_tool_calls(m.tool_calls, fmt), fmt)  # type: ignore[arg-type]
                    assert [(c.name, c.arguments) for c in back] == [
                        (c.name, c.arguments) for c in m.tool_calls
                    ]


def test_working_format_round_trip(dialogs: list[Dialog]) -> None:
    for d in dialogs[:40]:
        data = json.loads(json.dumps(d.to_json()))
        assert data["tools"][0]["type"] == "function"
        back = Dialog.from_json(data)
        assert back.messages == d.messages and back.type == d.type and back.thoughts == d.thoughts
        for m in data["messages"]:
            for c in m.get("tool_calls", []):
                assert isinstance(c["function"]["arguments"], str)


def test_thoughts_are_kept_per_assistant_turn_and_round_trip() -> None:
    made = [r.dialog for r in DialogGenerator(Planner(APIS, 0), thoughts=1.0).run(range(21))]
    for d in made:
        assert d is not None
        turns = {i for i, m in enumerate(d.messages) if m.role == "assistant"}
        # every assistant turn but a transient error's retry carries a thought
        assert set(d.thoughts) <= turns and len(d.thoughts) >= len(turns) - 1
        back = Dialog.from_json(json.loads(json.dumps(d.to_json())))
        assert back.thoughts == d.thoughts
        conv = d.conversation(thoughts=True)
        for i in d.thoughts:
            assert (conv.messages[i].content or "").startswith(f"<think>{d.thoughts[i]}</think>")
        assert d.conversation().messages == d.messages
    bad = made[0].to_json() if made[0] else {}
    bad["thoughts"] = {"0": "the user turn cannot think"}
    with pytest.raises(Exception, match=r"thoughts\.0: must be the index of an assistant message"):
        Dialog.from_json(bad)


def test_type_mix_is_controlled_by_weights() -> None:
    planner = Planner(APIS, 3)
    weights: dict[str, float] = dict.fromkeys(DIALOG_TYPES, 0.0)
    planner.weights = weights | {"single": 3.0, "tool_error": 1.0}
    kinds = Counter(r.dialog.type for r in DialogGenerator(planner).run(range(400)) if r.dialog)
    assert set(kinds) == {"single", "tool_error"}
    assert 0.65 < kinds["single"] / 400 < 0.85


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


def _role(prompt: Any) -> str:
    """Who a prompt is for: the assistant (no system message), else the system's first words."""
    if not isinstance(prompt, Conversation):
        return "string"
    first = prompt.messages[0]
    return "assistant" if first.role != "system" else (first.content or "").split(".")[0]


def test_model_agent_prompts_are_conversations() -> None:
    seen: list[Any] = []

    def reply(prompt: Any, i: int) -> str:
        seen.append(prompt)
        return "[[[ garbage ((("

    junk = ScriptedGenerator(reply)
    gen = DialogGenerator(
        Planner(APIS, 0), ModelUser(junk), ModelAssistant(junk), ModelTool(junk), batch_size=4
    )
    results = list(gen.run(list(range(10))))
    assert all(r.dialog is None and r.reason for r in results)
    assert all(isinstance(p, Conversation) for p in seen)
    users = [p for p in seen if _role(p).startswith("You play a user")]
    assert users and all([m.role for m in p.messages] == ["system", "user"] for p in users)


def test_model_agents_end_to_end_with_a_scripted_model() -> None:
    planner = Planner(APIS, 0)

    def reply(prompt: Any, i: int) -> str:
        role = _role(prompt)
        if role == "assistant":
            tool = prompt.tools[0]
            if any(m.role == "tool" for m in prompt.messages):
                return "All done, here is your answer."
            args = {k: "x" for k in tool.parameters.get("required", [])}
            return render_tool_calls([ToolCall(tool.name, args)], "hermes")
        if role.startswith("You simulate an API"):
            if "This call fails" in (prompt.messages[1].content or ""):
                return '{"error": {"code": "unavailable", "message": "down"}}'
            return 'Result: {"status": "ok"}'
        return "Please do the thing with x."

    gen = DialogGenerator(
        planner,
        ModelUser(ScriptedGenerator(reply)),
        ModelAssistant(ScriptedGenerator(reply)),
        ModelTool(ScriptedGenerator(reply)),
    )
    results = list(gen.run([0, 1, 3, 5, 6]))  # single, parallel, non_tool, session, tool_error
    made = {r.dialog.type: r.dialog for r in results if r.dialog is not None}
    assert {"single", "multi_request", "tool_error"} <= set(made), [r.reason for r in results]
    for d in made.values():
        roles = [m.role for m in d.messages]
        assert roles[:2] == ["user", "assistant"] and roles[-1] == "assistant"
    session = made["multi_request"]
    assert sum(m.role == "user" for m in session.messages) >= 2  # follow-ups were asked
    errors = [json.loads(m.content or "") for m in made["tool_error"].messages if m.role == "tool"]
    assert error_of(errors[0]) == {"code": "unavailable", "message": "down"}


class FakeScorer:
    def __init__(self, by_type: dict[str, float]) -> None:
        self.by_type = by_type

    def losses(self, samples: Any) -> list[float]:
        out = []
        for sample in samples:
            assert isinstance(sample, Conversation) and sample.messages[-1].role == "assistant"
            kind = "call" if sample.messages[-1].tool_calls else "text"
            out.append(self.by_type[kind])
        return out


def test_complexity_evaluator_filters_and_steers(dialogs: list[Dialog]) -> None:
    sample = complexity_sample(dialogs[0])
    assert sample is not None and sample.tools == dialogs[0].tools
    first = next(i for i, m in enumerate(dialogs[0].messages) if m.role == "assistant")
    assert sample.messages == dialogs[0].messages[: first + 1]
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
    results = list(gen.run(list(range(70))))
    kinds = Counter(r.dialog.type for r in results if r.dialog is not None)
    assert "non_tool" not in kinds and "clarify" not in kinds
    assert {r.reason for r in results if r.dialog is None} <= {"too_hard"}
    assert all("complexity_loss" in r.dialog.meta for r in results if r.dialog is not None)
    # steering: after the first batches, too-hard types are sampled less often
    late = results[40:]
    assert sum(r.reason == "too_hard" for r in late) < 5  # 2 of 7 types: 8.6 of 30 unsteered
