"""Our BFCL AST checker: BFCL's rules on hand-made entries, then on the real v4 data; the
multi-turn call check (hand-made entries, then every real multi-turn entry); and the tool-call
evaluation that applies the AST checker to parsed calls."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ifrl.core.errors import RecordError
from ifrl.core.records import Completion, Conversation, Message, SamplingParams, ToolCall, ToolSpec
from ifrl.core.toolcalls import render_tool_calls
from ifrl.evals import tool_use
from ifrl.evals.bfcl import (
    MULTI_TURN_CATEGORIES,
    SINGLE_TURN_CATEGORIES,
    BFCLBenchmark,
    BFCLDataError,
    BFCLEntry,
    category_of,
    check_ast,
    contains_call,
    decode_output,
    find_data_dir,
    load_category,
    score_output,
    standardize_string,
)
from ifrl.evals.bfcl.mutations import MUTATIONS, UNSATISFIABLE, mutation_cases
from ifrl.evals.tool_use import ToolUseCase, case_category, score_tool_calls

FUNCS = [
    {
        "name": "geo.area",
        "description": "Area of a shape.",
        "parameters": {
            "type": "dict",
            "properties": {
                "base": {"type": "float"},
                "height": {"type": "integer"},
                "unit": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "opts": {"type": "dict"},
                "points": {"type": "array", "items": {"type": "dict"}},
                "exact": {"type": "boolean"},
            },
            "required": ["base", "height"],
        },
    },
    {
        "name": "other",
        "description": "Another function.",
        "parameters": {"type": "dict", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
    },
]
TRUTH: list[dict[str, dict[str, list[Any]]]] = [
    {
        "geo.area": {
            "base": [10.0],
            "height": [5],
            "unit": ["square meters", "m^2", ""],
            "tags": [["Red", "blue"], ""],
            "opts": [{"round": [True], "digits": [2, ""]}, ""],
            "points": [[{"x": [1]}, {"x": [2]}], ""],
            "exact": ["", False],
        }
    }
]


def check(text: str, category: str = "simple_python", truth: Any = None) -> tuple[bool, str]:
    entry = BFCLEntry("t_0", [[{"role": "user", "content": "q"}]], FUNCS, truth or TRUTH)
    result = score_output(entry, text, category)
    return result.valid, result.error_type


def test_int_is_accepted_for_float_and_optional_parameters_may_be_left_out() -> None:
    assert check("[geo.area(base=10, height=5)]") == (True, "")
    assert check("geo.area(base=10.0, height=5, unit='m^2')") == (True, "")


def test_string_normalisation_ignores_case_spaces_and_punctuation() -> None:
    assert standardize_string("Square-Meters, 'x'") == 'squaremeters"x"'
    assert check("[geo.area(base=10, height=5, unit='SQUARE meters.')]") == (True, "")
    assert check("[geo.area(base=10, height=5, unit='square feet')]") == (
        False,
        "value_error:string",
    )


def test_parameter_rules_and_their_error_types() -> None:
    assert check("[geo.area(height=5)]") == (False, "simple_function_checker:missing_required")
    assert check("[geo.area(base=10, height=5, color='r')]") == (
        False,
        "simple_function_checker:unexpected_param",
    )
    assert check("[other(x=1)]") == (False, "simple_function_checker:wrong_func_name")
    assert check("[geo.area(base=10, height=5.0)]") == (False, "type_error:simple")
    assert check("[geo.area(base=10, height=6)]") == (False, "value_error:others")
    assert check("[geo.area(base=10, height=5), other(x=1)]") == (
        False,
        "simple_function_checker:wrong_count",
    )
    # A ground-truth parameter without the optional marker "" must be given.
    strict = [{"geo.area": {**TRUTH[0]["geo.area"], "exact": [False]}}]
    assert check("[geo.area(base=10, height=5)]", truth=strict) == (
        False,
        "simple_function_checker:missing_optional",
    )


def test_lists_dicts_and_nested_types() -> None:
    assert check("[geo.area(base=10, height=5, tags=['red', 'BLUE'])]") == (True, "")
    assert check("[geo.area(base=10, height=5, tags=['blue', 'red'])]") == (
        False,
        "value_error:list/tuple",
    )
    # Items are type-checked against the list options; BFCL skips that check when the
    # parameter is optional ("" among its options), and the value check then fails instead.
    required_tags = [{"geo.area": {**TRUTH[0]["geo.area"], "tags": [["Red", "blue"]]}}]
    assert check("[geo.area(base=10, height=5, tags=['red', 3])]", truth=required_tags) == (
        False,
        "type_error:nested",
    )
    assert check("[geo.area(base=10, height=5, tags=['red', 3])]") == (
        False,
        "value_error:list/tuple",
    )
    assert check("[geo.area(base=10, height=5, opts={'round': True})]") == (True, "")
    assert check("[geo.area(base=10, height=5, opts={'round': False})]") == (
        False,
        "value_error:dict_value",
    )
    assert check("[geo.area(base=10, height=5, opts={'round': True, 'z': 1})]") == (
        False,
        "value_error:dict_key",
    )
    assert check("[geo.area(base=10, height=5, points=[{'x': 1}, {'x': 2}])]") == (True, "")
    assert check("[geo.area(base=10, height=5, points=[{'x': 1}])]") == (
        False,
        "value_error:list_dict_count",
    )


def test_parallel_categories_match_calls_in_any_order() -> None:
    truth = [{"other": {"x": [1]}}, {"other": {"x": [2]}}]
    assert check("[other(x=2), other(x=1)]", "parallel", truth) == (True, "")
    assert check("[other(x=2), other(x=3)]", "parallel", truth) == (
        False,
        "parallel_function_checker_no_order:cannot_find_match",
    )
    assert check("[other(x=2)]", "parallel", truth) == (
        False,
        "parallel_function_checker_no_order:wrong_count",
    )
    assert check("[other(x=1)]", "multiple", [{"other": {"x": [1]}}]) == (True, "")


def test_decoding_follows_bfcl_prompting_format() -> None:
    assert decode_output("```\n[other(x=1)]\n```") == [ToolCall("other", {"x": 1})]
    assert decode_output("other(x=1), other(x=2)") == [
        ToolCall("other", {"x": 1}),
        ToolCall("other", {"x": 2}),
    ]
    assert check("I cannot do that.") == (False, "ast_decoder:decoder_failed")
    # Python's grammar: a name with spaces is no call.
    assert check("[get area(base=10, height=5)]") == (False, "ast_decoder:decoder_failed")
    # Already-decoded results (BFCL's FC result files) are read as is.
    assert decode_output([{"other": '{"x": 1}'}]) == [ToolCall("other", {"x": 1})]
    assert decode_output(
        '<tool_call>{"name": "other", "arguments": {"x": 1}}</tool_call>', "hermes"
    )
    assert (
        check_ast(
            FUNCS,
            [ToolCall("geo_area", {"base": 1.0, "height": 5})],
            TRUTH,
            "simple",
            underscore_to_dot=True,
        ).error_type
        == "value_error:others"
    )


def test_relevance_semantics() -> None:
    assert not contains_call("There is no suitable function.")
    assert not contains_call("[]")
    assert contains_call("[other(x=1)]")
    assert check("Sorry, I cannot help.", "irrelevance") == (True, "")
    assert check("[other(x=1)]", "live_irrelevance") == (
        False,
        "irrelevance_error:decoder_success",
    )
    assert check("[other(x=1)]", "live_relevance") == (True, "")
    assert check("no call", "live_relevance") == (False, "relevance_error:decoder_failed")


def test_positional_arguments_decode_as_bfcl_reads_them() -> None:
    # bfcl-eval's decoder (Python's parser) drops positional arguments: the output is a call.
    assert decode_output('[search_engine.query("example")]') == [ToolCall("search_engine.query")]
    assert decode_output('[file_lawsuit("x", court=sup, n=-2)]') == [
        ToolCall("file_lawsuit", {"court": "sup", "n": -2})  # a bare name reads as its text
    ]
    assert check('[file_lawsuit("example")]', "irrelevance") == (
        False,
        "irrelevance_error:decoder_success",
    )
    assert check('[search_engine.query("example")]', "live_relevance") == (True, "")
    # In the AST categories the dropped value is a missing parameter, as BFCL reports it.
    assert check("[geo.area(10.0, height=5)]") == (
        False,
        "simple_function_checker:missing_required",
    )


def test_fixed_semantics_count_an_undecodable_call_attempt_as_a_call() -> None:
    entry = BFCLEntry("t_0", [[{"role": "user", "content": "q"}]], FUNCS, None)
    broken = "[get area(base=10)]"  # a call in intent, not in Python's grammar
    reference = score_output(entry, broken, "live_irrelevance")
    fixed = score_output(entry, broken, "live_irrelevance", semantics="fixed")
    assert reference.valid and reference.error_type == ""
    assert (fixed.valid, fixed.error_type) == (False, "irrelevance_error:undecodable_call")
    refusal = "I cannot help with that."
    assert score_output(entry, refusal, "irrelevance", semantics="fixed").valid


def test_category_of_ids() -> None:
    assert category_of("live_parallel_multiple_3-2-1") == "live_parallel_multiple"
    assert category_of("parallel_multiple_12") == "parallel_multiple"
    assert category_of("multiple_4") == "multiple"
    assert category_of("simple_java_1") is None


def test_missing_data_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BFCLDataError, match=r"no BFCL_v4_simple_python\.json"):
        find_data_dir(tmp_path)


# ---------------------------------------------------------------------------------------------
# The real BFCL v4 data (from an installed bfcl-eval)


@pytest.fixture(scope="module")
def bfcl_data() -> Path:
    try:
        return find_data_dir()
    except BFCLDataError as err:
        pytest.skip(f"BFCL data not installed ({err})")


@pytest.mark.parametrize("category", SINGLE_TURN_CATEGORIES)
def test_ground_truth_scores_100_percent_and_mutations_get_their_error_type(
    bfcl_data: Path, category: str
) -> None:
    entries = load_category(category, bfcl_data)
    assert entries
    wrong: list[tuple[str, str, str, str]] = []
    seen: Counter[str] = Counter()
    for entry in entries:
        for case in mutation_cases(entry, category):
            result = score_output(entry, case.output, category)
            if entry.id in UNSATISFIABLE:
                if case.mutation == "ground_truth":
                    assert not result.valid, entry.id
                continue
            seen[case.mutation] += 1
            if (result.valid, result.error_type) != (case.valid, case.error_type):
                wrong.append((entry.id, case.mutation, case.error_type, result.error_type))
    assert wrong == []
    assert seen["ground_truth"] == len(entries) - sum(e.id in UNSATISFIABLE for e in entries)
    if category in ("irrelevance", "live_irrelevance"):
        assert seen["spurious_call"] == len(entries)
    elif category == "live_relevance":
        assert seen["no_call"] == len(entries)
    else:
        for mutation in MUTATIONS:
            assert seen[mutation] > 0, mutation


@pytest.mark.parametrize("style", ["json", "hermes"])
@pytest.mark.parametrize("category", ["simple_python", "parallel_multiple", "live_multiple"])
def test_native_tool_call_styles_score_the_same(bfcl_data: Path, category: str, style: Any) -> None:
    entries = [e for e in load_category(category, bfcl_data) if e.id not in UNSATISFIABLE][:150]
    for entry in entries:
        for case in mutation_cases(entry, category, style):
            if case.mutation == "no_call":
                continue
            result = score_output(entry, case.output, category, style=style)
            assert (result.valid, result.error_type) == (case.valid, case.error_type), (
                entry.id,
                case.mutation,
            )


@pytest.mark.parametrize("category", ["irrelevance", "live_irrelevance", "live_relevance"])
def test_positional_calls_on_the_real_relevance_data(bfcl_data: Path, category: str) -> None:
    """Every entry's first function called with one positional argument, as in the outputs
    users scored with bfcl-eval: its decoder accepts them, so they are calls."""
    entries = load_category(category, bfcl_data)
    for entry in entries:
        names = [
            f["name"]
            for f in entry.functions
            if all(p.isidentifier() for p in f["name"].split("."))
        ]
        name = names[0] if names else "lookup"  # some entries offer no function at all
        result = score_output(entry, f'[{name}("example")]', category)
        if category == "live_relevance":
            assert (result.valid, result.error_type) == (True, ""), entry.id
        else:
            expected = (False, "irrelevance_error:decoder_success")
            assert (result.valid, result.error_type) == expected, entry.id


def test_data_is_found_without_importing_bfcl_eval(bfcl_data: Path) -> None:
    import sys

    assert (bfcl_data / "possible_answer" / "BFCL_v4_simple_python.json").is_file()
    assert not any(name == "bfcl_eval" or name.startswith("bfcl_eval.") for name in sys.modules)


# ---------------------------------------------------------------------------------------------
# Multi-turn: calls checked turn by turn


MT_FUNCS = [
    {
        "name": "cd",
        "description": "Change directory.",
        "parameters": {
            "type": "dict",
            "properties": {"folder": {"type": "string"}},
            "required": ["folder"],
        },
    },
    {
        "name": "ls",
        "description": "List files.",
        "parameters": {
            "type": "dict",
            "properties": {"a": {"type": "boolean", "default": False}},
            "required": [],
        },
    },
    {
        "name": "sort",
        "description": "Sort a file.",
        "parameters": {
            "type": "dict",
            "properties": {"file_name": {"type": "string"}},
            "required": ["file_name"],
        },
    },
]


def _mt_entry(turns: list[list[str]]) -> BFCLEntry:
    from ifrl.evals.bfcl.multi_turn import parse_ground_truth

    question = [
        [{"role": "user", "content": f"turn {i}"}] if t else [] for i, t in enumerate(turns)
    ]
    return BFCLEntry(
        "multi_turn_base_0", question, MT_FUNCS, turns=parse_ground_truth(turns, MT_FUNCS)
    )


def test_multi_turn_ground_truth_calls_are_read_with_positional_arguments() -> None:
    from ifrl.evals.bfcl.multi_turn import parse_call

    assert parse_call("sort('report.pdf')", MT_FUNCS) == ToolCall(
        "sort", {"file_name": "report.pdf"}
    )
    assert parse_call("cd(folder='..')", MT_FUNCS).arguments == {"folder": ".."}
    for bad in ("cd(folder=x)", "cd(", "os.system('x')", "ls(1, 2)"):
        with pytest.raises(ValueError):
            parse_call(bad, MT_FUNCS)


@pytest.mark.parametrize(
    ("result", "semantics", "expected"),
    [
        ([["[cd(folder='docs')]", "[sort(file_name='a.txt')]"], ["[ls()]"]], "reference", ""),
        # extra calls and another order are fine; a default given explicitly equals its absence
        (
            [["[sort(file_name='a.txt'), ls(a=False), cd(folder='docs')]"], ["[ls(a=False)]"]],
            "reference",
            "",
        ),
        # a call made in an earlier turn counts for a later one, as bfcl-eval's response check
        (
            [["[cd(folder='docs'), sort(file_name='a.txt'), ls()]"], ["Done, nothing else to do."]],
            "reference",
            "multi_turn:empty_turn_model_response",
        ),
        (
            [["[cd(folder='docs'), sort(file_name='a.txt'), ls()]"], ["[cd(folder='docs')]"]],
            "reference",
            "",
        ),
        # decoded call lists are read as they are; undecodable steps are dropped
        (
            [
                [[{"cd": {"folder": "docs"}}, {"sort": '{"file_name": "a.txt"}'}]],
                ["[ls(", "[ls()]"],
            ],
            "reference",
            "",
        ),
        (
            [["[cd(folder='Docs')]", "[sort(file_name='a.txt')]"], ["[ls()]"]],
            "reference",
            "multi_turn:call_mismatch",
        ),
        ([["[cd(folder='docs')]"], ["[ls()]"]], "reference", "multi_turn:call_mismatch"),
        (
            [["[cd(folder='docs')]", "[sort(file_name='a.txt')]"]],
            "reference",
            "multi_turn:force_terminated",
        ),
        ("[cd(folder='docs')]", "reference", "multi_turn:inference_error"),
    ],
)
def test_multi_turn_rules(result: Any, semantics: str, expected: str) -> None:
    entry = _mt_entry([["cd(folder='docs')", "sort('a.txt')"], ["ls()"]])
    verdict = score_output(entry, result, "multi_turn_base", semantics=semantics)  # type: ignore[arg-type]
    assert (verdict.valid, verdict.error_type) == (expected == "", expected), verdict


def test_multi_turn_turns_without_ground_truth() -> None:
    """A turn whose function or value is missing: bfcl-eval does not check it; the fixed
    semantics fail a call made there."""
    entry = _mt_entry([["cd(folder='docs')"], [], ["ls()"]])
    ok = [["[cd(folder='docs')]"], ["I lack a function for that."], ["[ls()]"]]
    called = [["[cd(folder='docs')]"], ["[ls()]"], ["[ls()]"]]
    for result, semantics, expected in [
        (ok, "reference", ""),
        (ok, "fixed", ""),
        (called, "reference", ""),
        (called, "fixed", "multi_turn:irrelevance_error:decoder_success"),
    ]:
        verdict = score_output(entry, result, "multi_turn_miss_func", semantics=semantics)  # type: ignore[arg-type]
        assert (verdict.valid, verdict.error_type) == (expected == "", expected)


@pytest.mark.parametrize("category", MULTI_TURN_CATEGORIES)
def test_multi_turn_ground_truth_scores_100_percent_and_mutations_fail(
    bfcl_data: Path, category: str
) -> None:
    entries = load_category(category, bfcl_data)
    assert len(entries) == 200 and all(e.turns and e.functions for e in entries)
    failures: Counter[str] = Counter()
    for entry in entries:
        turns = entry.turns or ()
        right = [[render_tool_calls(list(t), "python")] if t else [] for t in turns]
        assert score_output(entry, right, category).valid, entry.id
        # as decoded call lists (BFCL's function-calling result files)
        decoded = [[[{c.name: c.arguments} for c in t]] if t else [] for t in turns]
        assert score_output(entry, decoded, category).valid, entry.id
        last = max(i for i, t in enumerate(turns) if t)
        dropped = [list(t) for t in right]
        dropped[last] = (
            [render_tool_calls(list(turns[last][:-1]), "python")] if len(turns[last]) > 1 else []
        )
        verdict = score_output(entry, dropped, category)
        assert not verdict.valid, entry.id
        failures[verdict.error_type] += 1
        assert score_output(entry, right[:-1], category).error_type == "multi_turn:force_terminated"
    assert set(failures) <= {"multi_turn:call_mismatch", "multi_turn:empty_turn_model_response"}


def test_multi_turn_categories_rescore_result_files(bfcl_data: Path, tmp_path: Path) -> None:
    import json

    from ifrl.evals.benchmark import run

    entries = load_category("multi_turn_base", bfcl_data)[:5]
    lines = []
    for k, e in enumerate(entries):
        turns = [[render_tool_calls(list(t), "python")] if t else [] for t in e.turns or ()]
        lines.append({"id": e.id, "result": turns if k else turns[:-1]})
    path = tmp_path / "result.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    result = run(BFCLBenchmark(), tmp_path / "out", responses=path)
    assert result.metrics["accuracy"].value == 0.8 and result.metrics["accuracy"].n == 5
    assert result.breakdowns["error_type"]["multi_turn:force_terminated"].n == 5
    with pytest.raises(BFCLDataError, match="multi-turn categories are scored from BFCL result"):
        BFCLBenchmark(["multi_turn_base"]).examples()


def test_prompt_styles() -> None:
    from ifrl.evals.bfcl.prompts import build_prompt

    entry = BFCLEntry(
        "t_0",
        [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Area?"}]],
        FUNCS,
        TRUTH,
    )
    prompting = build_prompt(entry, "python")
    assert [m.role for m in prompting.messages] == ["system", "user"]
    system = prompting.messages[0].content or ""
    assert '"name": "geo.area"' in system and system.endswith("Be brief.")
    assert prompting.tools == ()
    native = build_prompt(entry, "hermes")
    assert [m.role for m in native.messages] == ["system", "user"]
    params = native.tools[0].parameters
    assert params["type"] == "object"
    assert params["properties"]["base"]["type"] == "number"
    assert params["properties"]["opts"]["type"] == "object"
    assert build_prompt(entry, "json", underscore_to_dot=True).tools[0].name == "geo_area"
    custom = build_prompt(entry, "python", system_prompt="Tools: {functions}")
    assert (custom.messages[0].content or "").startswith('Tools: [\n  {\n    "name": "geo.area"')


# --------------------------------------------------------------------------------------------
# The tool-call evaluation (ifrl.evals.tool_use): one parse per output, then BFCL's AST rules on
# the parsed calls and the structured matcher on the same calls.

WEATHER = ToolSpec(
    "get_weather",
    "Weather in a city.",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "where": {"type": "object", "properties": {"lat": {"type": "number"}}},
        },
        "required": ["city"],
    },
)
CLOCK = ToolSpec(
    "get_time",
    "Local time in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _case(*gold: ToolCall, tools: tuple[ToolSpec, ...] = (WEATHER, CLOCK)) -> ToolUseCase:
    return ToolUseCase("c", Conversation((Message("user", "Paris?"),), tools), gold)


def _hermes(*calls: ToolCall) -> str:
    return render_tool_calls(calls, "hermes")


def test_tool_use_scores_one_parse_by_bfcl_rules_and_the_matcher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gold = ToolCall("get_weather", {"city": "Paris", "days": 2, "where": {"lat": 48.9}})
    case = _case(gold)
    assert case_category(case) == "multiple"
    outputs = [
        _hermes(gold),  # right
        _hermes(ToolCall("get_weather", {**gold.arguments, "city": "PARIS"})),  # BFCL: same
        _hermes(ToolCall("get_weather", {**gold.arguments, "days": 3})),
        _hermes(ToolCall("get_weather", {"city": "Paris", "where": {"lat": 48.9}})),
        render_tool_calls([gold], "python"),  # right calls, not in the asked-for format
        "<tool_call>{broken",
        "It is sunny in Paris.",
    ]
    parses: list[str] = []
    real = tool_use.parse_tool_calls

    def counting(text: str, format: Any = "auto") -> list[ToolCall]:
        parses.append(text)
        return real(text, format)

    monkeypatch.setattr(tool_use, "parse_tool_calls", counting)
    result, samples = score_tool_calls([case] * len(outputs), outputs, style="hermes")
    assert parses == outputs[:6]  # each output that looks like calls is parsed once
    assert [(s["valid"], s["error_type"]) for s in samples] == [
        (True, ""),
        (True, ""),
        (False, "value_error:others"),
        (False, "simple_function_checker:missing_optional"),
        (False, "ast_decoder:decoder_failed"),
        (False, "ast_decoder:decoder_failed"),
        (False, "ast_decoder:decoder_failed"),
    ]
    assert [round(s["score"], 4) for s in samples] == [1.0, 0.8889, 0.8889, 0.7778, 1.0, 0.0, 0.0]
    assert [s["match"] for s in samples][-3:] == ["ok", "parse_error", "no_calls"]
    assert [s["exact"] for s in samples] == [True, False, False, False, True, False, False]
    accuracy, score = result.metrics["accuracy"], result.metrics["score"]
    assert (accuracy.value, accuracy.n) == (pytest.approx(2 / 7), 7)
    assert accuracy.ci_low < 2 / 7 < accuracy.ci_high
    assert score.value == pytest.approx(sum(s["score"] for s in samples) / 7)
    assert score.ci_low <= score.value <= score.ci_high
    assert result.metrics["exact"].value == pytest.approx(2 / 7)
    assert result.info["errors"]["ast_decoder:decoder_failed"] == 3
    # without a style any well-formed calls count
    _, any_format = score_tool_calls([case], [outputs[4]])
    assert any_format[0]["valid"]


def test_tool_use_parallel_and_text_answers() -> None:
    paris = (ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_time", {"city": "Paris"}))
    parallel, text = _case(*paris), _case()
    assert (case_category(parallel), case_category(text)) == ("parallel", "irrelevance")
    assert case_category(_case(paris[0], tools=(WEATHER,))) == "simple"
    _, samples = score_tool_calls(
        [parallel, parallel, text, text],
        [_hermes(*reversed(paris)), _hermes(paris[0]), "Sorry, I can't.", _hermes(paris[0])],
    )
    assert [(s["valid"], s["error_type"]) for s in samples] == [
        (True, ""),
        (False, "parallel_function_checker_no_order:wrong_count"),
        (True, ""),
        (False, "irrelevance_error:decoder_success"),
    ]
    assert [s["score"] for s in samples] == [1.0, 0.5, 1.0, 0.0]


def test_tool_use_cases_from_conversations() -> None:
    conv = Conversation.from_openai(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Paris?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"function": {"name": "get_time", "arguments": '{"city": "Paris"}'}}
                    ],
                },
                {"role": "tool", "content": '{"time": "10:00"}'},
                {"role": "assistant", "content": "It is 10:00."},
            ],
            "tools": [CLOCK.to_openai()],
        }
    )
    case = ToolUseCase.from_conversation(conv, "x")
    assert [m.role for m in case.prompt.messages] == ["system", "user"]
    assert case.gold == (ToolCall("get_time", {"city": "Paris"}),)
    # conversations are cases too (ids by position)
    result, samples = score_tool_calls([conv], [_hermes(*case.gold)])
    assert samples[0]["id"] == "0" and result.metrics["accuracy"].value == 1.0
    with pytest.raises(RecordError, match=r"gold\[0\].name: 'get_weather' is not among the tools"):
        ToolUseCase("y", case.prompt, (ToolCall("get_weather", {}),))
    with pytest.raises(RecordError, match="messages: no assistant turn"):
        ToolUseCase.from_conversation(case.prompt, "z")
    with pytest.raises(ValueError, match="2 outputs for 1 cases"):
        score_tool_calls([case], ["a", "b"])


def test_tool_use_generates_greedily_and_records_rejected_prompts() -> None:
    paris = ToolCall("get_time", {"city": "Paris"})
    cases = [
        ToolUseCase(city, Conversation((Message("user", f"{city}?"),), (CLOCK,)), (paris,))
        for city in ("Paris", "Lima")
    ]
    seen: list[SamplingParams] = []

    class Model:
        def generate(self, prompts: Any, params: SamplingParams) -> list[list[Completion]]:
            seen.append(params)
            if any(p.messages[0].content == "Lima?" for p in prompts):
                raise ValueError("prompt longer than the context")  # a prompt's fault
            return [[Completion(_hermes(paris))] for _ in prompts]

    result, samples = tool_use.evaluate_tool_calls(cases, generator=Model(), style="hermes")
    assert seen[0].greedy and [s["valid"] for s in samples] == [True, False]
    assert samples[1]["output"] == "" and result.info["generation_errors"] == 1
    with pytest.raises(ValueError, match="give the outputs or a generator"):
        tool_use.evaluate_tool_calls(cases)
