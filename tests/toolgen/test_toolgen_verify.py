"""Dual-layer verification: planted defects are caught with the right code; clean data passes;
the model layer asks one strictly parsed question per check."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from toolgen_helpers import ScriptedGenerator

from ifrl.core.records import Conversation
from ifrl.toolgen.dialog import Dialog
from ifrl.toolgen.judges import JUDGE_CHECKS, JudgeVerifier, applies, judge_prompt, parse_verdict
from ifrl.toolgen.verify import rule_issues, verify_file, verify_records

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_forecast",
        "description": "Get the weather forecast for a city on a date.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "date": {"type": "string", "description": "Day, YYYY-MM-DD", "format": "date"},
                "unit": {"type": "string", "description": "Units", "enum": ["metric", "imperial"]},
                "days": {
                    "type": "integer",
                    "description": "Days ahead",
                    "minimum": 1,
                    "maximum": 7,
                },
            },
            "required": ["city", "date"],
        },
        "responses": {
            "type": "object",
            "properties": {"temperature": {"type": "number"}, "summary": {"type": "string"}},
            "required": ["temperature", "summary"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search_hotels",
        "description": "Search hotels in a city and return their ids.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
        "responses": {
            "type": "object",
            "properties": {"results": {"type": "array", "items": {"type": "object"}}},
            "required": ["results"],
        },
    },
}
BOOK = {
    "type": "function",
    "function": {
        "name": "book_hotel",
        "description": "Book one hotel by its id for some guests.",
        "parameters": {
            "type": "object",
            "properties": {
                "hotel_id": {"type": "string", "description": "Hotel id"},
                "guests": {"type": "integer", "description": "Guests", "minimum": 1},
            },
            "required": ["hotel_id"],
        },
        "responses": {"type": "object", "properties": {"status": {"type": "string"}}},
    },
}


def call(name: str, args: dict[str, Any], cid: str = "call_0") -> dict[str, Any]:
    return {
        "id": cid,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }


def single() -> dict[str, Any]:
    return copy.deepcopy(_single())


def _single() -> dict[str, Any]:
    return {
        "type": "single",
        "tools": [WEATHER, SEARCH],
        "messages": [
            {
                "role": "user",
                "content": "What's the weather in Paris on 2025-03-02, metric please?",
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    call("get_forecast", {"city": "Paris", "date": "2025-03-02", "unit": "metric"})
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "call_0",
                "name": "get_forecast",
                "content": json.dumps({"temperature": 12.5, "summary": "cloudy"}),
            },
            {"role": "assistant", "content": "It will be cloudy and 12.5 degrees in Paris."},
        ],
    }


def dependent() -> dict[str, Any]:
    return copy.deepcopy(_dependent())


def _dependent() -> dict[str, Any]:
    return {
        "type": "dependent",
        "tools": [SEARCH, BOOK],
        "messages": [
            {
                "role": "user",
                "content": "Find a hotel in Lima and book the first one for 2 guests.",
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [call("search_hotels", {"city": "Lima"})],
            },
            {
                "role": "tool",
                "tool_call_id": "call_0",
                "name": "search_hotels",
                "content": json.dumps({"results": [{"hotel_id": "HT12345"}]}),
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [call("book_hotel", {"hotel_id": "HT12345", "guests": 2}, "call_1")],
            },
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "name": "book_hotel",
                "content": json.dumps({"status": "confirmed"}),
            },
            {"role": "assistant", "content": "Booked hotel HT12345 for 2 guests."},
        ],
    }


def clarify() -> dict[str, Any]:
    d = single()
    d["type"] = "clarify"
    d["messages"][0]["content"] = "What's the weather in Paris, metric please?"
    d["messages"][1:1] = [
        {"role": "assistant", "content": "Sure, which date should I use?"},
        {"role": "user", "content": "2025-03-02."},
    ]
    return d


def session() -> dict[str, Any]:
    d = dependent()
    d["type"] = "multi_request"
    d["messages"][0]["content"] = "Find a hotel in Lima."
    d["messages"][3:3] = [
        {"role": "assistant", "content": "I found HT12345."},
        {"role": "user", "content": "Book it for 2 guests."},
    ]
    return d


def tool_error() -> dict[str, Any]:
    d = single()
    d["type"] = "tool_error"
    d["messages"][2]["content"] = json.dumps(
        {"error": {"code": "timeout", "message": "The forecast service timed out."}}
    )
    d["messages"][3]["content"] = "Sorry, that failed: The forecast service timed out."
    return d


def codes(data: Any) -> set[str]:
    (verified,) = verify_records([(1, data)])
    return {i.code for i in verified.issues}


def set_args(
    data: dict[str, Any], args: dict[str, Any], turn: int = 1, name: str | None = None
) -> None:
    fn = data["messages"][turn]["tool_calls"][0]["function"]
    fn["arguments"] = json.dumps(args)
    if name is not None:
        fn["name"] = name


def test_clean_dialogs_pass() -> None:
    for make in (single, dependent, clarify, session, tool_error):
        assert codes(make()) == set(), make.__name__


def planted() -> list[tuple[str, Any]]:
    cases = []
    d = single()
    set_args(d, {"city": "Paris", "date": "2025-03-02"}, name="get_weather_now")
    cases.append(("call.unknown_function", d))
    d = single()
    set_args(d, {"city": "Paris"})
    cases.append(("call.missing_required", d))
    d = single()
    set_args(d, {"city": "Paris", "date": "2025-03-02", "days": "2"})
    d["messages"][0]["content"] += " For 2 days."
    cases.append(("call.wrong_type", d))
    d = single()
    set_args(d, {"city": "Paris", "date": "2025-03-02", "unit": "kelvin"})
    d["messages"][0]["content"] += " In kelvin."
    cases.append(("call.not_in_enum", d))
    d = single()
    set_args(d, {"city": "Paris", "date": "2025-03-02", "wind": True})
    cases.append(("call.unknown_argument", d))
    d = single()
    set_args(d, {"city": "Paris", "date": "March 2"})
    d["messages"][0]["content"] += " (March 2)"
    cases.append(("call.bad_format", d))
    d = single()
    set_args(d, {"city": "Paris", "date": "2025-03-02", "days": 30})
    d["messages"][0]["content"] += " for 30 days"
    cases.append(("call.out_of_range", d))
    d = single()
    set_args(d, {"city": "Berlin", "date": "2025-03-02"})  # the user asked about Paris
    cases.append(("call.ungrounded_value", d))
    d = single()
    d["messages"][2]["content"] = json.dumps({"temperature": "warm", "summary": "cloudy"})
    cases.append(("dialog.result_schema", d))
    d = single()
    d["messages"][2]["content"] = "sunny, 20 degrees"
    cases.append(("dialog.result_not_json", d))
    d = single()
    del d["messages"][2]
    cases.append(("dialog.missing_result", d))
    d = single()
    d["messages"][2]["tool_call_id"] = "call_9"
    cases.append(("dialog.orphan_result", d))
    d = single()
    d["messages"].insert(1, {"role": "user", "content": "Paris please"})
    cases.append(("dialog.bad_roles", d))
    d = single()
    d["messages"].pop()
    cases.append(("dialog.no_final_answer", d))
    d = single()
    d["type"] = "parallel"
    cases.append(("consistency.type_mismatch", d))
    d = single()
    d["type"] = "non_tool"
    cases.append(("consistency.type_mismatch", d))
    d = dependent()
    set_args(d, {"hotel_id": "HT99999", "guests": 2}, turn=3)
    d["messages"][0]["content"] += " (HT99999)"
    cases.append(("consistency.type_mismatch", d))
    d = single()
    d["tools"] = [copy.deepcopy(WEATHER), copy.deepcopy(WEATHER)]
    cases.append(("api.duplicate_name", d))
    d = single()
    d["tools"][1]["function"]["parameters"]["properties"]["city"]["type"] = "town"
    cases.append(("api.invalid_schema", d))
    d = single()
    d["tools"][1]["function"]["description"] = ""
    cases.append(("api.unclear", d))
    d = single()
    set_args(d, {"city": "Paris", "date": "2025-03-02", "days": 2.0})
    d["messages"][0]["content"] += " For 2 days."
    cases.append(("call.integer_as_float", d))
    d = single()
    d["messages"][2]["name"] = "search_hotels"
    cases.append(("dialog.result_call_mismatch", d))
    d = dependent()
    d["messages"][4]["content"] = json.dumps({"hotel_id": "HT77777", "status": "confirmed"})
    cases.append(("consistency.result_id_mismatch", d))
    d = single()
    d["messages"][3]["content"] = "It will be cloudy and 9.5 degrees in Paris."
    cases.append(("dialog.ungrounded_answer", d))
    d = single()
    d["messages"][3]["content"] = "It will be cloudy and 12.5 degrees in Lisbon."
    cases.append(("dialog.ungrounded_answer", d))
    d = clarify()
    d["messages"][1]["content"] = "Which unit would you like?"
    cases.append(("dialog.clarify_wrong_parameter", d))
    d = clarify()
    d["messages"][1]["content"] = "Could you give me a few more details?"
    cases.append(("dialog.clarify_wrong_parameter", d))
    d = dependent()
    d["type"] = "multi_request"
    cases.append(("consistency.type_mismatch", d))
    d = single()
    d["type"] = "tool_error"
    cases.append(("consistency.type_mismatch", d))
    d = single()
    d["messages"][1]["tool_calls"][0]["function"]["arguments"] = "{not json"
    cases.append(("dialog.malformed", d))
    cases.append(("dialog.malformed", {"type": "single", "tools": [], "messages": "nope"}))
    cases.append(("dialog.malformed", {"type": "chitchat", "tools": [], "messages": []}))
    return cases


@pytest.mark.parametrize(("code", "data"), planted(), ids=[c for c, _ in planted()])
def test_planted_defect_is_caught_with_its_code(code: str, data: Any) -> None:
    found = codes(data)
    assert code in found, found


def test_issue_names_where() -> None:
    d = single()
    set_args(d, {"city": "Paris", "date": "2025-03-02", "unit": "kelvin"})
    d["messages"][0]["content"] += " In kelvin."
    (v,) = verify_records([(7, d)])
    (issue,) = v.issues
    assert issue.where == "messages[1].tool_calls[0].arguments.unit"
    assert "kelvin" in issue.message and issue.check == "call_executability"


def test_grounding_can_be_turned_off() -> None:
    d = single()
    set_args(d, {"city": "Berlin", "date": "2025-03-02"})
    (v,) = verify_records([(1, d)], grounding=False)
    assert v.kept


def judge_reply(text: str) -> ScriptedGenerator:
    return ScriptedGenerator(lambda prompt, i: text)


def test_judge_prompts_are_conversations_told_the_type_one_per_check() -> None:
    d = Dialog.from_json(dependent())
    for check in JUDGE_CHECKS:
        prompt = judge_prompt(d, check)
        assert isinstance(prompt, Conversation)
        assert [m.role for m in prompt.messages] == ["system", "user"]
        user = prompt.messages[1].content or ""
        assert user.startswith("Dialog type: dependent (one request where a later call uses")
        assert "[2] assistant calls: search_hotels" in user and "[id call_0]" in user
    texts = {judge_prompt(d, c).messages[1].content for c in JUDGE_CHECKS}
    assert len(texts) == len(JUDGE_CHECKS)  # one question per check


def test_checks_are_asked_only_where_they_apply() -> None:
    no_call = Dialog.from_json(single()).replace(type="non_tool")
    no_call = no_call.replace(messages=(no_call.messages[0], no_call.messages[3]))
    assert [c for c in JUDGE_CHECKS if applies(no_call, c)] == ["fulfilment"]
    assert all(applies(Dialog.from_json(single()), c) for c in JUDGE_CHECKS)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"verdict": "pass", "reason": "fine"}', True),
        ('{"verdict": "fail"}', False),
        ('```json\n{"verdict": "fail", "reason": "x"}\n```', False),
        ('  {"verdict": "pass", "reason": ""}\n', True),
        ('Sure! {"verdict": "pass", "reason": "x"}', None),  # prose around the object
        ('{"verdict": "pass", "reason": "x"} Thanks', None),
        ('{"verdict": "yes", "reason": "x"}', None),
        ('{"verdict": "pass", "reason": "x", "score": 1}', None),  # an unexpected key
        ('{"verdict": "pass", "reason": 3}', None),
        ('["pass"]', None),
        ('```python\n{"verdict": "pass"}\n```', None),
        ("", None),
    ],
)
def test_verdicts_are_parsed_strictly(reply: str, expected: bool | None) -> None:
    assert parse_verdict(reply)[0] is expected


def test_model_layer_codes() -> None:
    ok = '{"verdict": "pass", "reason": "fine"}'
    (v,) = verify_records([(1, single())], judge=JudgeVerifier(judge_reply(ok)))
    assert v.kept
    bad = '{"verdict": "fail", "reason": "r"}'
    (v,) = verify_records([(1, single())], judge=JudgeVerifier(judge_reply(bad)))
    assert {i.code for i in v.issues} == {
        "model.hallucinated_value",
        "model.unfulfilled",
        "model.tool_response_mismatch",
        "model.unfaithful_answer",
    }
    assert {i.check for i in v.issues} == {f"model_{c}" for c in JUDGE_CHECKS}
    (v,) = verify_records([(1, single())], judge=JudgeVerifier(judge_reply("sure! looks fine")))
    assert [i.code for i in v.issues] == ["model.judge_unparseable"] * 4
    only = JudgeVerifier(judge_reply(bad), checks=["faithfulness"])
    (v,) = verify_records([(1, single())], judge=only)
    assert [i.code for i in v.issues] == ["model.unfaithful_answer"]
    with pytest.raises(ValueError, match="unknown judge check 'vibes'"):
        JudgeVerifier(judge_reply(ok), checks=["vibes"])


def test_judge_only_sees_rule_passing_samples() -> None:
    fake = judge_reply('{"verdict": "pass"}')
    bad = single()
    set_args(bad, {"city": "Paris"})
    verify_records([(1, bad), (2, single())], judge=JudgeVerifier(fake))
    assert len(fake.prompts) == len(JUDGE_CHECKS)
    assert all("get_forecast" in (p.messages[1].content or "") for p in fake.prompts)


def test_verify_file_report_shard_and_resume(tmp_path: Path) -> None:
    src = tmp_path / "dialogs.jsonl"
    bad = single()
    set_args(bad, {"city": "Paris"})
    lines = [json.dumps(single()), json.dumps(bad), "{truncated", json.dumps(dependent())]
    src.write_text("\n".join(lines) + "\n")
    out, rej, report = tmp_path / "kept.jsonl", tmp_path / "rej.jsonl", tmp_path / "report.md"
    rep = verify_file(src, out, rej, report=report)
    assert (rep.total, rep.kept) == (4, 2)
    assert rep.codes == {"call.missing_required": 1, "dialog.malformed": 1}
    rejected = [json.loads(x) for x in rej.read_text().splitlines()]
    assert [r["line"] for r in rejected] == [2, 3]
    assert rejected[0]["rejected"][0]["code"] == "call.missing_required"
    text = report.read_text()
    assert "| call_executability | 4 | 1 |" in text and "| call.missing_required | 1 |" in text
    assert json.loads(report.with_suffix(".json").read_text())["rejected"] == 2
    # resume: nothing left to do; the report still counts the earlier rows
    rep2 = verify_file(src, out, rej)
    assert rep2.to_dict() == rep.to_dict() and len(out.read_text().splitlines()) == 2
    # shards partition the lines
    a = verify_file(src, tmp_path / "a.jsonl", tmp_path / "ar.jsonl", shard=(0, 2))
    b = verify_file(src, tmp_path / "b.jsonl", tmp_path / "br.jsonl", shard=(1, 2))
    assert (a.total, b.total) == (2, 2) and a.kept + b.kept == 2


def test_rule_issues_on_record_directly() -> None:
    assert rule_issues(Dialog.from_json(single())) == []


def test_error_results_are_exempt_from_the_response_schema() -> None:
    assert codes(tool_error()) == set()
    d = tool_error()
    d["messages"][2]["content"] = json.dumps({"error": "timeout"})  # not the error shape
    assert "dialog.result_schema" in codes(d)


def test_answers_may_repeat_what_the_user_said_or_a_result_returned() -> None:
    d = dependent()
    d["messages"][-1]["content"] = "Booked HT12345 in Lima for 2 guests; status confirmed."
    assert codes(d) == set()
    (v,) = verify_records([(1, d)], grounding=False)
    assert v.kept
    d["messages"][-1]["content"] = "Booked HT12345 for 3 guests at the Grand Palace."
    (v,) = verify_records([(1, d)])
    (issue,) = v.issues
    assert issue.code == "dialog.ungrounded_answer" and issue.where == "messages[5]"
    assert "number '3'" in issue.message and "name 'Grand Palace'" in issue.message


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def mutated_dialogs(draw: st.DrawFn) -> Any:
    """A clean dialog with one field replaced by a random JSON value."""
    data = draw(st.sampled_from([single, dependent]))()
    paths: list[list[Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, [*path, k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, [*path, i])

    walk(data, [])
    path = draw(st.sampled_from(paths[1:]))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = draw(json_values)
    return data


@settings(max_examples=300, deadline=None)
@given(json_values | mutated_dialogs())
def test_verifier_never_crashes(data: Any) -> None:
    (v,) = verify_records([(1, data)])
    assert v.kept or all(i.code and i.message for i in v.issues)


def test_verify_file_without_rejected_file_starts_over(tmp_path: Path) -> None:
    src = tmp_path / "dialogs.jsonl"
    src.write_text(json.dumps(single()) + "\n" + json.dumps(dependent()) + "\n")
    out = tmp_path / "kept.jsonl"
    for _ in range(2):
        rep = verify_file(src, out)
        assert rep.total == 2 and len(out.read_text().splitlines()) == 2
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []


def _redos(pattern: str, value: str) -> dict[str, Any]:
    data = single()
    params = data["tools"][0]["function"]["parameters"]
    params["properties"]["city"]["pattern"] = pattern
    set_args(data, {"city": value, "date": "2025-03-02"})
    return data


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # Python's re takes ~30 s on this one; the regex engine answers at once.
        (r"^(a+)+$", "call.bad_format"),
        # Catastrophic for every backtracking engine: stopped by the time budget.
        (r"^(a|a)*$", "call.pattern_timeout"),
    ],
)
def test_schema_patterns_from_data_run_with_a_time_budget(pattern: str, expected: str) -> None:
    import time

    from ifrl.toolgen.tool_schema import pattern_search

    pattern_search.cache_clear()
    start = time.perf_counter()
    (v,) = verify_records([(1, _redos(pattern, "a" * 26 + "!"))], grounding=False)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, elapsed
    found = [i for i in v.issues if i.code == expected]
    assert found and found[0].where.endswith("city"), v.issues
    if expected == "call.pattern_timeout":
        assert "did not finish within" in found[0].message
    # A value the pattern accepts is still accepted.
    (ok,) = verify_records([(1, _redos(pattern, "a" * 26))], grounding=False)
    assert not [i for i in ok.issues if i.check == "call_executability"], ok.issues


def test_pattern_properties_and_additional_properties_are_bounded_too() -> None:
    import time

    from ifrl.toolgen.tool_schema import value_issues

    schema = {
        "type": "object",
        "patternProperties": {r"^(a|a)*$": {"type": "integer"}},
        "additionalProperties": False,
    }
    start = time.perf_counter()
    issues = value_issues(schema, {"a" * 30 + "!": 1})
    assert time.perf_counter() - start < 1.0
    assert [code for code, _, _ in issues] == ["pattern_timeout"]
    assert value_issues(schema, {"aaa": 1}) == []
    assert [c for c, _, _ in value_issues(schema, {"aaa": "x"})] == ["wrong_type"]
    assert [c for c, _, _ in value_issues(schema, {"b": 1})] == ["unknown_argument"]
    both = {"patternProperties": {"^a": {}}, "unevaluatedProperties": False}
    assert value_issues(both, {"a": 1})[0][0] == "invalid_schema"


def test_verify_killed_mid_run_resumes_from_its_partial_outputs(tmp_path: Path) -> None:
    """Rows are appended as verified; a run killed midway leaves them in ``*.partial`` files
    and a rerun continues after them, ending with the outputs and report of an uninterrupted
    run. Earlier final outputs are replaced only when a run ends."""
    from ifrl.toolgen import verify as verify_mod
    from ifrl.toolgen.verify import partial_path

    bad = single()
    set_args(bad, {"city": "Paris"})
    rows = [single(), bad, dependent(), clarify(), session(), tool_error()] * 3
    lines = [json.dumps(r) for r in rows]
    lines.insert(4, "{truncated")
    src = tmp_path / "dialogs.jsonl"
    src.write_text("\n".join(lines) + "\n")
    ref_out, ref_rej = tmp_path / "ref.jsonl", tmp_path / "ref_rej.jsonl"
    ref = verify_file(src, ref_out, ref_rej, report=tmp_path / "ref.md", batch_size=4)

    out, rej = tmp_path / "kept.jsonl", tmp_path / "rej.jsonl"
    out.write_text("earlier\n")  # an earlier run's file: untouched until the new run ends
    calls = {"n": 0}
    real = verify_mod.verify_records

    def dying(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # killed while verifying the third batch
        return real(*args, **kwargs)

    verify_mod.verify_records = dying  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            verify_file(src, out, rej, batch_size=4, resume=False)
    finally:
        verify_mod.verify_records = real  # type: ignore[assignment]
    assert out.read_text() == "earlier\n" and not rej.exists()
    part_out, part_rej = partial_path(out), partial_path(rej)
    assert len(part_out.read_text().splitlines()) + len(part_rej.read_text().splitlines()) == 8
    # A crash can leave half a line: cut off on resume.
    with open(part_rej, "a", encoding="utf-8") as fh:
        fh.write('{"half": ')
    seen: list[int] = []

    def counting(records: Any, **kwargs: Any) -> Any:
        seen.extend(line for line, _ in records)
        return real(records, **kwargs)

    verify_mod.verify_records = counting  # type: ignore[assignment]
    try:
        rep = verify_file(src, out, rej, report=tmp_path / "r.md", batch_size=4)
    finally:
        verify_mod.verify_records = real  # type: ignore[assignment]
    assert len(seen) == len(lines) - 8 and min(seen) == 9  # only what was left was verified
    assert rep.to_dict() == ref.to_dict()
    assert out.read_text() == ref_out.read_text() and rej.read_text() == ref_rej.read_text()
    assert (tmp_path / "r.md").read_text() == (tmp_path / "ref.md").read_text()
    assert not part_out.exists() and not part_rej.exists()


def test_verify_resumes_after_a_kill_between_the_two_renames(tmp_path: Path) -> None:
    from ifrl.toolgen.verify import partial_path

    src = tmp_path / "dialogs.jsonl"
    bad = single()
    set_args(bad, {"city": "Paris"})
    src.write_text("\n".join(json.dumps(r) for r in (single(), bad, dependent())) + "\n")
    out, rej = tmp_path / "kept.jsonl", tmp_path / "rej.jsonl"
    ref = verify_file(src, out, rej)
    kept = out.read_text()
    out.rename(partial_path(out))  # the rejected file was renamed, the kept one not yet
    rep = verify_file(src, out, rej)
    assert rep.to_dict() == ref.to_dict() and out.read_text() == kept


def test_megabyte_texts_verify_within_a_budget() -> None:
    """A 1 MB final answer, argument or tool result verifies in linear time (measured about
    0.7 s, 0.3 s and 0.1 s on a loaded 2-core machine; the budget is 5 s each)."""
    import random
    import time

    rng = random.Random(0)
    words = ["alpha", "river", "stone", "12.5", "Paris", "2025-03-02", "cloudy", "degrees"]
    big = " ".join(rng.choice(words) for _ in range(200_000))[:1_000_000]
    answer, argument, result = single(), single(), single()
    answer["messages"][-1]["content"] = big
    set_args(argument, {"city": big, "date": "2025-03-02"})
    argument["messages"][0]["content"] += " " + big
    argument["tools"][0]["function"]["parameters"]["properties"]["city"]["pattern"] = (
        "^[a-z0-9 .,-]+$"
    )
    result["messages"][2]["content"] = json.dumps({"temperature": 12.5, "summary": big})
    for data, expected in (
        (answer, {"dialog.ungrounded_answer"}),
        (argument, {"call.bad_format"}),  # capitals in "Paris" break the pattern
        (result, set()),
    ):
        start = time.perf_counter()
        (v,) = verify_records([(1, data)])
        assert time.perf_counter() - start < 5.0
        assert {i.code for i in v.issues} == expected


def test_a_pattern_mismatch_names_a_shortened_value() -> None:
    from ifrl.toolgen.tool_schema import value_issues

    [(code, _, message)] = value_issues({"type": "string", "pattern": "^a+$"}, "b" * 10_000)
    assert code == "bad_format" and len(message) < 120 and "..." in message
