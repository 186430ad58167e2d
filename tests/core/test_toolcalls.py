"""Tool-call formats: parsing, rendering, errors, and render→parse round trips."""

from __future__ import annotations

import contextlib
import json
import keyword
import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifrl.core.errors import IfrlError
from ifrl.core.matcher import match_text
from ifrl.core.records import Message, ToolCall
from ifrl.core.toolcalls import (
    FORMATS,
    ToolCallParseError,
    ToolCallRenderError,
    _span,
    detect_format,
    is_python_key,
    is_python_name,
    parse_tool_calls,
    render_tool_calls,
)


def same(a: list[ToolCall], b: list[ToolCall]) -> bool:
    """Type-strict equality (1 and 1.0 differ, as do True and 1)."""
    dump = lambda calls: json.dumps([c.to_dict() for c in calls], sort_keys=True)  # noqa: E731
    return dump(a) == dump(b)


# ---------------------------------------------------------------------------------------------
# Python-style call lists


def test_python_basic_list() -> None:
    calls = parse_tool_calls('[f(a=1, b="x"), g(c=[1, {"d": 2}])]', "python")
    assert calls == [ToolCall("f", {"a": 1, "b": "x"}), ToolCall("g", {"c": [1, {"d": 2}]})]


def test_python_names_with_spaces_and_dots() -> None:
    calls = parse_tool_calls('[Get Weather(city="Paris"), math.factorial(n=5)]')
    assert [c.name for c in calls] == ["Get Weather", "math.factorial"]
    assert calls[1].arguments == {"n": 5}


def test_python_literals() -> None:
    text = (
        "[f(t=True, f=False, n=None, neg=-3, pos=+2, fl=-1.5e-3, tup=(1, 2), "
        "s='it\\'s, (tricky) [x]', d={'k': [None, {'z': -0.5}]}, j=[true, false, null])]"
    )
    (call,) = parse_tool_calls(text)
    assert call.arguments == {
        "t": True,
        "f": False,
        "n": None,
        "neg": -3,
        "pos": 2,
        "fl": -0.0015,
        "tup": [1, 2],
        "s": "it's, (tricky) [x]",
        "d": {"k": [None, {"z": -0.5}]},
        "j": [True, False, None],
    }
    assert type(call.arguments["t"]) is bool


def test_python_strings_with_quotes_commas_parens_and_triple_quotes() -> None:
    (call,) = parse_tool_calls(
        '[search(q="a \\"b\\", c)", r=\'x=y]\', t="""multi\nline "quoted" ), text""")]'
    )
    assert call.arguments == {"q": 'a "b", c)', "r": "x=y]", "t": 'multi\nline "quoted" ), text'}


def test_python_keyword_argument_names_and_layout() -> None:
    text = '[\n  book flight(from="NYC", to="LAX", class="economy"),\n  lambda.x(if=1,)\n]'
    calls = parse_tool_calls(text)
    assert calls == [
        ToolCall("book flight", {"from": "NYC", "to": "LAX", "class": "economy"}),
        ToolCall("lambda.x", {"if": 1}),
    ]


def test_python_bare_call_empty_list_and_fence() -> None:
    assert parse_tool_calls("f(a=1)") == [ToolCall("f", {"a": 1})]
    assert parse_tool_calls("f(a=1), g()", "python") == [ToolCall("f", {"a": 1}), ToolCall("g")]
    assert parse_tool_calls("[]", "python") == []
    assert parse_tool_calls("  [f()]  ") == [ToolCall("f")]
    assert parse_tool_calls("```python\n[f(x=2)]\n```") == [ToolCall("f", {"x": 2})]


@pytest.mark.parametrize(
    ("text", "problem", "offset"),
    [
        ("[f(1)]", "positional argument", 3),
        ('[f(a=1, "x")]', "positional argument", 8),
        ("[f(a=1]", "unexpected ']'", 6),
        ("[f(a=[1)]", "mismatched ')'", 7),
        ('[f(a="x)]', "unterminated string", 5),
        ("[f(a=x)]", "unquoted name 'x'", 5),
        ('[f(a=__import__("os").system("rm -rf /"))]', "not a literal value (Call)", 5),
        ("[f(a=1+2)]", "not a literal value (BinOp)", 5),
        ("[f(a=1, a=2)]", "repeated", 8),
        ("[f(a=)]", "missing value for argument 'a'", 5),
        ("[f(a=1,,b=2)]", "empty argument", 7),
        ("[(a=1)]", "missing function name", 1),
        ("[f(a=1) g(b=2)]", "unexpected text after a call", 7),
        ("[f(a=1)] trailing", "unexpected text after the closing ']'", 8),
        ("[f(a=1)", "missing closing ']'", 7),
        ("[f(a=1", "unclosed '('", 2),
        ("[f(a=b=1)]", "invalid value", 5),
        ("[f(a={1: 2})]", "dict keys must be strings", 5),
        ("[f(a={**x})]", "'**' unpacking", 5),
        ("[f(a={1, 2})]", "not a literal value (Set)", 5),
        ("[f(a=b'x')]", "unsupported constant of type bytes", 5),
        ("[f(a=1e999)]", "non-finite number", 5),
        ("[f(a=-x)]", "a sign applies only to a number", 5),
        ('[f(a=f"{x}")]', "not a literal value (JoinedStr)", 5),
        ("[f(1x=2)]", "invalid argument name '1x'", 3),
        ("", "empty text", 0),
        ("[g, f(a=1)]", "expected a call name", 2),
    ],
)
def test_python_errors_say_what_and_where(text: str, problem: str, offset: int) -> None:
    with pytest.raises(ToolCallParseError) as info:
        parse_tool_calls(text, "python")
    err = info.value
    assert problem in err.problem, str(err)
    assert err.offset == offset, str(err)
    assert err.format == "python"
    assert f"offset {offset} " in str(err)
    assert isinstance(err, IfrlError) and isinstance(err, ValueError)


def test_python_error_reports_line_and_column() -> None:
    with pytest.raises(ToolCallParseError, match=r"line 2, column 5"):
        parse_tool_calls("[f(a=1),\n  g(2)]", "python")


def test_python_never_evaluates(tmp_path: Any) -> None:
    marker = tmp_path / "pwned"
    text = f"[f(a=open({str(marker)!r}, 'w').write('x'))]"
    with pytest.raises(ToolCallParseError):
        parse_tool_calls(text, "python")
    assert not marker.exists()


def test_python_deep_nesting_is_an_error_not_a_crash() -> None:
    for depth in (150, 5000):
        text = "[f(a=" + "[" * depth + "]" * depth + ")]"
        try:
            (call,) = parse_tool_calls(text, "python")
        except ToolCallParseError as err:
            assert "nest" in str(err) or "invalid value" in str(err)
        else:
            assert isinstance(call.arguments["a"], list)


def test_python_render_rejects_what_it_cannot_write() -> None:
    with pytest.raises(ToolCallRenderError, match="function name"):
        render_tool_calls([ToolCall("f(x)")], "python")
    with pytest.raises(ToolCallRenderError, match="argument name"):
        render_tool_calls([ToolCall("f", {"first-name": 1})], "python")
    with pytest.raises(ToolCallRenderError, match="non-finite"):
        render_tool_calls([ToolCall("f", {"x": [float("nan")]})], "python")
    with pytest.raises(ToolCallRenderError, match="not a string"):
        render_tool_calls([ToolCall("f", {"x": {1: 2}})], "python")


def test_python_render_drops_ids_and_writes_python_literals() -> None:
    text = render_tool_calls([ToolCall("Get Weather", {"a": True, "b": None}, id="c1")], "python")
    assert text == "[Get Weather(a=True, b=None)]"


def test_name_and_key_predicates() -> None:
    assert is_python_name("Get Weather") and is_python_name("math.factorial")
    assert not is_python_name(" f") and not is_python_name("f(") and not is_python_name("")
    assert is_python_key("from") and is_python_key("città")
    assert not is_python_key("a-b") and not is_python_key("1a")


# ---------------------------------------------------------------------------------------------
# JSON (OpenAI)


def test_json_shapes() -> None:
    expected = [ToolCall("f", {"a": 1}), ToolCall("g", {})]
    assert parse_tool_calls('[{"name": "f", "arguments": {"a": 1}}, {"name": "g"}]') == expected
    assert parse_tool_calls('{"name": "f", "arguments": "{\\"a\\": 1}"}') == expected[:1]
    assert parse_tool_calls('{"name": "f", "parameters": {"a": 1}}', "json") == expected[:1]
    assert parse_tool_calls('{"name": "f", "arguments": {"a": 1}}\n{"name": "g"}') == expected
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}},
            {"id": "c2", "type": "function", "function": {"name": "g", "arguments": ""}},
        ],
    }
    parsed = parse_tool_calls(json.dumps(message))
    assert parsed == [ToolCall("f", {"a": 1}, "c1"), ToolCall("g", {}, "c2")]
    assert list(Message.from_openai(message).tool_calls) == parsed
    assert [ToolCall.from_openai(e) for e in message["tool_calls"]] == parsed
    assert Message.from_openai({"role": "assistant", "tool_calls": None}).tool_calls == ()


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ('{"name": "f", "arguments": {"a": 1}', "offset", "invalid JSON"),
        ('[{"name": "f"}, {"arguments": {}}]', "[1].name", "missing or empty function name"),
        ('{"name": "f", "arguments": "{bad"}', "arguments", "not valid JSON"),
        ('{"name": "f", "arguments": [1]}', "arguments", "must be an object"),
        ('{"type": "function", "function": {"name": ""}}', "function.name", "empty"),
        ('{"tool_calls": {"name": "f"}}', "tool_calls", "must be a list"),
        ('{"name": "f", "id": 3}', "id", "must be a string"),
        ('{"name": "f", "arguments": {"x": NaN}}', "offset", "NaN"),
        ("42", "<top>", "expected a tool call object"),
    ],
)
def test_json_errors_name_the_path(text: str, where: str, problem: str) -> None:
    with pytest.raises(ToolCallParseError) as info:
        parse_tool_calls(text, "json")
    assert info.value.where.startswith(where), str(info.value)
    assert problem in info.value.problem, str(info.value)


def test_openai_entries_round_trip() -> None:
    calls = [ToolCall("f", {"a": [1, "x"]}, "call_1"), ToolCall("g", {})]
    entries = [c.to_openai() for c in calls]
    assert entries[0] == {
        "id": "call_1",
        "type": "function",
        "function": {"name": "f", "arguments": '{"a": [1, "x"]}'},
    }
    assert [ToolCall.from_openai(e) for e in entries] == calls
    objects = [c.to_openai(arguments_as="object") for c in calls]
    assert [ToolCall.from_openai(e) for e in objects] == calls


# ---------------------------------------------------------------------------------------------
# Hermes


def test_hermes_several_tags_with_text_between() -> None:
    text = (
        "Let me check.\n<tool_call>\n"
        '{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>{"name": "get_time", "arguments": {}}</tool_call> done'
    )
    assert parse_tool_calls(text) == [
        ToolCall("get_weather", {"city": "Paris"}),
        ToolCall("get_time"),
    ]


def test_hermes_final_tag_left_open_by_a_stop_string() -> None:
    text = '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n'
    assert parse_tool_calls(text) == [ToolCall("f", {"a": 1})]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no tags here", "no <tool_call> tag"),
        ("<tool_call></tool_call>", "empty <tool_call> tag"),
        ('<tool_call>{"name": "f", "arguments": {</tool_call>', "invalid JSON"),
        ('<tool_call>{"name": "f", "arguments": {"a": ', "unterminated <tool_call> tag"),
        ('<tool_call>{"arguments": {}}</tool_call>', "missing or empty function name"),
    ],
)
def test_hermes_errors(text: str, problem: str) -> None:
    with pytest.raises(ToolCallParseError, match="hermes") as info:
        parse_tool_calls(text, "hermes")
    assert problem in info.value.problem


def test_hermes_render_escapes_closing_tag_in_arguments() -> None:
    calls = [ToolCall("f", {"x": "</tool_call><tool_call>"})]
    text = render_tool_calls(calls, "hermes")
    assert text.count("</tool_call>") == 1
    assert parse_tool_calls(text) == calls


# ---------------------------------------------------------------------------------------------
# Entry points


def test_detect_format() -> None:
    assert detect_format("[f(a=1)]") == "python"
    assert detect_format("[]") == "python"
    assert detect_format("math.sqrt(x=2)") == "python"
    assert detect_format('[ {"name": "f"}]') == "json"
    assert detect_format('{"name": "f"}') == "json"
    assert detect_format('x <tool_call>{"name": "f"}</tool_call>') == "hermes"
    assert detect_format("The weather in Paris is sunny.") is None
    assert detect_format("I will call get(a=1)") is None
    assert detect_format("") is None


def test_auto_rejects_prose_and_unknown_format() -> None:
    with pytest.raises(ToolCallParseError, match="no tool calls recognised"):
        parse_tool_calls("Sorry, I cannot help with that.")
    with pytest.raises(ValueError, match="unknown tool-call format"):
        parse_tool_calls("[f()]", "xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown tool-call format"):
        render_tool_calls([], "xml")  # type: ignore[arg-type]
    with pytest.raises(ToolCallParseError, match="expected a string"):
        parse_tool_calls(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Properties

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
python_keys = (
    identifiers | st.sampled_from(keyword.kwlist) | st.from_regex(r"[^\W\d]\w{0,5}", fullmatch=True)
)
spaced_names = st.from_regex(
    r"[A-Za-z_][A-Za-z0-9_]{0,8}([ .][A-Za-z0-9_]{1,8}){0,3}", fullmatch=True
)
odd_names = st.text(min_size=1, max_size=12).map(str.strip).filter(is_python_name)
call_ids = st.none() | st.text(min_size=1, max_size=8)


@st.composite
def call_lists(draw: st.DrawFn, *, python: bool, names: st.SearchStrategy[str]) -> list[ToolCall]:
    keys = python_keys if python else st.text(max_size=8)
    n = draw(st.integers(min_value=0, max_value=3))
    return [
        ToolCall(
            draw(names),
            draw(st.dictionaries(keys, json_values, max_size=4)),
            None if python else draw(call_ids),
        )
        for _ in range(n)
    ]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(call_lists(python=True, names=spaced_names | odd_names))
def test_python_round_trip(calls: list[ToolCall]) -> None:
    text = render_tool_calls(calls, "python")
    assert same(parse_tool_calls(text, "python"), calls), text


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(call_lists(python=False, names=st.text(min_size=1, max_size=12).filter(str.strip)))
def test_json_round_trip(calls: list[ToolCall]) -> None:
    text = render_tool_calls(calls, "json")
    assert same(parse_tool_calls(text, "json"), calls), text
    assert same([ToolCall.from_openai(c.to_openai()) for c in calls], calls)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(call_lists(python=False, names=st.text(min_size=1, max_size=12).filter(str.strip)))
def test_hermes_round_trip(calls: list[ToolCall]) -> None:
    text = render_tool_calls(calls, "hermes")
    if calls:
        assert same(parse_tool_calls(text, "hermes"), calls), text
    else:
        assert text == ""


@settings(max_examples=200)
@given(call_lists(python=True, names=spaced_names).filter(bool), st.sampled_from(FORMATS))
def test_auto_detects_every_rendered_format(calls: list[ToolCall], fmt: Any) -> None:
    assert same(parse_tool_calls(render_tool_calls(calls, fmt)), calls)


grammar_junk = st.text(alphabet="[](){}\"'=,.:#\\ \nabfTruex01-+e*<>/_", max_size=40)


@settings(max_examples=500)
@given(st.text() | grammar_junk, st.sampled_from(("auto", *FORMATS)))
def test_junk_never_crashes(text: str, fmt: Any) -> None:
    try:
        calls = parse_tool_calls(text, fmt)
    except ToolCallParseError as err:
        assert err.problem and err.where
    else:
        assert all(isinstance(c, ToolCall) and c.name.strip() for c in calls)


@settings(max_examples=300)
@given(call_lists(python=True, names=spaced_names).filter(bool), st.data())
def test_truncated_output_never_crashes(calls: list[ToolCall], data: st.DataObject) -> None:
    for fmt in FORMATS:
        text = render_tool_calls(calls, fmt)
        cut = data.draw(st.integers(min_value=0, max_value=len(text)))
        try:
            parsed = parse_tool_calls(text[:cut], fmt)
        except ToolCallParseError as err:
            assert err.format == fmt
        else:  # a cut at the very end, or one that leaves complete calls
            assert len(parsed) <= len(calls)


# The one-parse fast path must give exactly what the tolerant scanner gives, or defer to it.
_FAST_CASES = [
    "[f(a=1,)]",
    "[f(a=1),]",
    "f(a=1)",
    "[math . f(a=1)]",
    "[math .f(a=1), math.f(a=2)]",
    "[math.f(a=1)]",
    "[f(a = 1)]",
    "[f (a=1)]",
    "[f()]",
    "[(f)(a=1)]",
    "[(a).b(x=1)]",
    "[f(a=1) # note\n]",
    "[f(a=1), \\\n g()]",
    "[f(a=(1,2))]",
    "[f(a=true, b=null)]",
    "[f(a=-1.5e3)]",
    '[f(a="x" "y")]',
    "[f(a={1: 2})]",
    "[f(1)]",
    "[f(**k)]",
    "[f(a=1, a=2)]",
    "[f(a=1)(b=2)]",
    "[Get Weather(city='Paris')]",
    "[f(from=1)]",
    "[]",
    "[f(a=[1, {'b': None}]), g.h.i(x='y')]",
]


def _scanner(text: str) -> Any:
    """What the tolerant scanner makes of ``text``: calls, or the error's problem."""
    from ifrl.core import toolcalls

    try:
        start, end = toolcalls._span(text)
        calls = toolcalls._scan_python(text, start, end)
        values = iter(toolcalls._python_values(text, [(s, e) for c in calls for _, s, e in c.args]))
    except ToolCallParseError as err:
        return err.problem
    return [(c.name, {k: next(values) for k, _, _ in c.args}) for c in calls]


def _check_fast(text: str) -> None:
    from ifrl.core import toolcalls

    start, end = toolcalls._span(text)
    fast = toolcalls._parse_python_fast(text[start:end])
    if fast is not None:
        assert [(c.name, c.arguments) for c in fast] == _scanner(text), text


@pytest.mark.parametrize("text", _FAST_CASES)
def test_python_fast_path_equals_scanner(text: str) -> None:
    _check_fast(text)


@settings(max_examples=400)
@given(grammar_junk | st.text(alphabet="[](){}\"'=,.:#\\ \nabfgx01-+eNTrueFals*", max_size=40))
def test_python_fast_path_equals_scanner_on_junk(text: str) -> None:
    _check_fast(text)


@settings(max_examples=200)
@given(call_lists(python=True, names=spaced_names))
def test_python_fast_path_equals_scanner_on_rendered_calls(calls: list[ToolCall]) -> None:
    _check_fast(render_tool_calls(calls, "python"))


_REFERENCE_FENCE = re.compile(r"```[\w+-]*[ \t]*\n?(.*?)\n?[ \t]*```", re.S)


def _reference_span(text: str) -> tuple[int, int]:
    """The fence rule as a regex (correct, but quadratic on long blank runs): the oracle."""
    end = len(text.rstrip())
    start = min(len(text) - len(text.lstrip()), end)
    if text.startswith("```", start) and end - start >= 6:
        m = _REFERENCE_FENCE.fullmatch(text, start, end)
        if m is not None:
            inner = m.group(1)
            s, e = m.start(1), m.end(1)
            s += len(inner) - len(inner.lstrip())
            e -= len(inner) - len(inner.rstrip())
            return s, max(s, e)
    return start, end


@settings(max_examples=500)
@given(st.text(alphabet="`ab_+-\n \t[](){}=1", max_size=40))
def test_the_linear_fence_scan_equals_the_regex_rule(text: str) -> None:
    assert _span(text) == _reference_span(text)
    fenced = f"```{text}```"
    assert _span(fenced) == _reference_span(fenced)


@pytest.mark.parametrize(
    "text",
    ["```" + " " * 100_000, "```json" + " " * 100_000 + "x", " " * 100_000 + "```\n[f(a=1)]```"],
)
def test_long_blank_runs_parse_in_linear_time(text: str) -> None:
    start = time.perf_counter()
    for fmt in ("auto", "python", "json", "hermes"):
        with contextlib.suppress(ToolCallParseError):
            parse_tool_calls(text, fmt)  # type: ignore[arg-type]
    match_text(text, [ToolCall("f", {"a": 1})])
    assert time.perf_counter() - start < 5.0  # quadratic scans took minutes here
