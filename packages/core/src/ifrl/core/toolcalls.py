"""Parse and render tool calls in the three formats models write them in.

* ``python`` — a Python-style call list as used by ToolACE and BFCL:
  ``[get_weather(city="Paris"), math.factorial(n=5), Get Weather(days=[1, 2])]``. Function names
  may contain spaces and dots; arguments are keyword-only Python literals (strings, numbers,
  ``True``/``False``/``None`` — and JSON's ``true``/``false``/``null`` —, lists, tuples, dicts with
  string keys). Argument names may be Python keywords (``from=...``). Values are read from the
  syntax tree (:mod:`ast`), never evaluated. A bare ``f(a=1)`` without brackets is accepted too.
  Ids are not part of this format: rendering drops them.
* ``json`` — OpenAI-style JSON: ``{"name": ..., "arguments": {...} or "<json string>"}`` (or
  ``"parameters"``), a list of those, OpenAI ``tool_calls`` entries
  ``{"id", "type": "function", "function": {"name", "arguments"}}``, an assistant message with
  ``"tool_calls"``, or several such values one after another.
* ``hermes`` — ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` tags (text between tags
  is ignored; a final tag left open because generation stopped at ``</tool_call>`` is accepted).

:func:`parse_tool_calls` returns :class:`~ifrl.core.records.ToolCall` records or raises
:class:`ToolCallParseError` — for any input string, never another exception. Surrounding
whitespace and a Markdown code fence are ignored in every format. :func:`render_tool_calls` is the
inverse: parsing what it renders gives back equal calls.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from ifrl.core.errors import IfrlError, RecordError, field_path
from ifrl.core.records import ToolCall

CallFormat = Literal["python", "json", "hermes"]
FORMATS: tuple[CallFormat, ...] = ("python", "json", "hermes")


class ToolCallParseError(IfrlError, ValueError):
    """Text is not a well-formed tool call list in the expected format.

    ``format`` names the format, ``where`` the place (``offset 12 (line 1, column 13)`` or a JSON
    path such as ``[1].function.arguments``), ``offset`` the 0-based character offset in the
    parsed text when known, and ``problem`` what is wrong.
    """

    def __init__(self, format: str, where: str, problem: str, offset: int | None = None) -> None:
        self.format = format
        self.where = where
        self.problem = problem
        self.offset = offset
        super().__init__(f"{format} tool calls: {where}: {problem}")


class ToolCallRenderError(IfrlError, ValueError):
    """Calls cannot be written in the requested format (e.g. a non-finite number)."""


# --------------------------------------------------------------------------------------------
# Shared helpers


def _is_tag_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_+-"


def _span(text: str) -> tuple[int, int]:
    """Start and end of the payload: surrounding whitespace and one code fence removed.

    A fence is ```` ```lang ```` (letters, digits, ``_+-``), blanks, an optional newline, the
    payload, an optional newline and blanks, and a closing ```` ``` ```` ending the text. One
    linear scan from each side (a regex here backtracks quadratically on long blank runs).
    """
    end = len(text.rstrip())
    start = min(len(text) - len(text.lstrip()), end)
    if not (text.startswith("```", start) and text.endswith("```", 0, end) and end - start >= 6):
        return start, end
    s, e = start + 3, end - 3
    while s < e and _is_tag_char(text[s]):
        s += 1
    while s < e and text[s] in " \t":
        s += 1
    if s < e and text[s] == "\n":
        s += 1
    while e > s and text[e - 1] in " \t":
        e -= 1
    if e > s and text[e - 1] == "\n":
        e -= 1
    inner = text[s:e]
    s += len(inner) - len(inner.lstrip())
    e -= len(inner) - len(inner.rstrip())
    return s, max(s, e)


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"offset {offset} (line {line}, column {col})"


def _near(text: str, offset: int) -> str:
    snippet = text[offset : offset + 24]
    if not snippet:
        return " at end of text"
    return f" near {snippet!r}"


def _make_call(
    fmt: str, where: str, name: str, arguments: dict[str, Any], id: str | None
) -> ToolCall:
    try:
        return ToolCall(name, arguments, id)
    except RecordError as err:  # pragma: no cover - callers validate first
        raise ToolCallParseError(fmt, where, str(err)) from None


# --------------------------------------------------------------------------------------------
# Python-style call lists

# Strings (triple-quoted first), a lone quote (an unterminated string), or a structural character.
_PY_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|[\"'()\[\]{},=]",
    re.S,
)
_KEY = re.compile(r"[^\W\d]\w*")
_NAME_FORBIDDEN = frozenset("()[]{},=\"'\n\r")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_JSON_NAMES = {"true": True, "false": False, "null": None}


def is_python_name(name: str) -> bool:
    """Whether ``name`` can be written as a function name in the Python call format."""
    return bool(name) and name == name.strip() and _NAME_FORBIDDEN.isdisjoint(name)


def is_python_key(key: str) -> bool:
    """Whether ``key`` can be written as an argument name in the Python call format."""
    return _KEY.fullmatch(key) is not None


class _PyCall:
    __slots__ = ("args", "name", "offset")

    def __init__(self, name: str, offset: int) -> None:
        self.name = name
        self.offset = offset
        self.args: list[tuple[str, int, int]] = []  # key, value start, value end


def _parse_python(text: str) -> list[ToolCall]:
    start, end = _span(text)
    fast = _parse_python_fast(text[start:end])
    if fast is not None:
        return fast
    calls = _scan_python(text, start, end)
    values = [(s, e) for call in calls for _, s, e in call.args]
    parsed = _python_values(text, values)
    out: list[ToolCall] = []
    k = 0
    for call in calls:
        arguments: dict[str, Any] = {}
        for key, _, _ in call.args:
            arguments[key] = parsed[k]
            k += 1
        out.append(_make_call("python", _where(text, call.offset), call.name, arguments, None))
    return out


def _dotted_name(node: Any) -> str | None:
    """``a.b.c`` for a Name / Attribute chain, else None."""
    parts: list[str] = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)
        node = node.value
    if type(node) is not ast.Name:
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _parse_python_fast(payload: str) -> list[ToolCall] | None:
    """The common case in one :func:`ast.parse`: a one-line ASCII list of (or one) calls with
    plain or dotted names and keyword literal arguments. Returns None whenever the input is
    anything else, so the tolerant scanner decides (names with spaces, Python keywords as argument
    names, comments, errors); on every input it accepts, the result equals the scanner's.
    """
    if not payload or "(" not in payload or not payload.isascii():
        return None
    if "\n" in payload or "\r" in payload or "#" in payload:
        return None  # comments and line continuations: only the scanner reads them strictly
    try:
        body = ast.parse(payload, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    if type(body) is ast.Call:
        nodes: list[Any] = [body]
    elif type(body) is ast.List and body.elts:
        nodes = body.elts
    else:
        return None
    out: list[ToolCall] = []
    for node in nodes:
        if type(node) is not ast.Call or node.args:
            return None
        func = node.func
        name = _dotted_name(func)
        # The source must spell the name exactly as the tree does, starting the call: no
        # parentheses around it, no spaces around its dots.
        if (
            name is None
            or node.col_offset != func.col_offset
            or payload[func.col_offset : func.end_col_offset] != name
        ):
            return None
        arguments: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None or kw.arg in arguments:  # ast.parse accepts repeated keywords
                return None
            try:
                arguments[kw.arg] = _literal(kw.value)
            except (_NotLiteral, RecursionError):
                return None
        out.append(ToolCall(name, arguments, None))
    return out


def _py_error(text: str, offset: int, problem: str) -> ToolCallParseError:
    return ToolCallParseError("python", _where(text, offset), problem, offset)


def _scan_python(text: str, start: int, end: int) -> list[_PyCall]:
    """Split the call list into names and argument value spans (brackets and strings aware)."""
    if start == end:
        raise _py_error(text, start, "empty text, expected a call list such as [f(a=1)]")
    tokens = [(m.start(), m.group()) for m in _PY_TOKEN.finditer(text, start, end)]
    n = len(tokens)
    bracketed = text[start] == "["
    i = 1 if bracketed else 0
    name_from = start + 1 if bracketed else start
    calls: list[_PyCall] = []
    while True:
        # Expect a function name followed by "(" — or, in a bracketed list, the closing "]".
        if i >= n:
            if bracketed:
                raise _py_error(text, end, "missing closing ']' of the call list")
            raise _py_error(text, name_from, "expected a call name(...)" + _near(text, name_from))
        pos, tok = tokens[i]
        if tok == "]" and bracketed and not text[name_from:pos].strip():
            if pos + 1 != end:
                raise _py_error(text, pos + 1, "unexpected text after the closing ']'")
            return calls  # "[]", or a trailing comma before "]"
        if tok != "(":
            if tok[0] in "\"'" and len(tok) == 1:
                raise _py_error(text, pos, "unterminated string")
            raise _py_error(text, pos, f"expected a call name(...), got {tok[:20]!r}")
        name = text[name_from:pos].strip()
        if not name:
            raise _py_error(text, pos, "missing function name before '('")
        if not is_python_name(name):
            raise _py_error(text, name_from, f"invalid function name {name[:40]!r}")
        raw = text[name_from:pos]
        call = _PyCall(name, name_from + len(raw) - len(raw.lstrip()))
        i = _scan_arguments(text, tokens, i, call)
        calls.append(call)
        # After the call: "," then another call, "]" (bracketed), or the end of the text.
        close = tokens[i - 1][0] + 1
        if i >= n:
            if text[close:end].strip():
                raise _py_error(text, close, "unexpected text after a call" + _near(text, close))
            if bracketed:
                raise _py_error(text, end, "missing closing ']' of the call list")
            return calls
        pos, tok = tokens[i]
        if text[close:pos].strip():
            raise _py_error(text, close, "unexpected text after a call" + _near(text, close))
        if tok == ",":
            i += 1
            name_from = pos + 1
            continue
        if tok == "]" and bracketed:
            if pos + 1 != end:
                raise _py_error(text, pos + 1, "unexpected text after the closing ']'")
            return calls
        raise _py_error(text, pos, f"expected ',' or ']' after a call, got {tok[:20]!r}")


def _scan_arguments(text: str, tokens: list[tuple[int, str]], i: int, call: _PyCall) -> int:
    """Scan ``(k=v, ...)`` starting at the ``(`` token ``i``; return the index after ``)``."""
    open_pos = tokens[i][0]
    i += 1
    seg_start = open_pos + 1
    eq = -1
    stack: list[str] = []
    seen: set[str] = set()
    n = len(tokens)
    while i < n:
        pos, tok = tokens[i]
        i += 1
        if len(tok) > 1:  # a string literal
            continue
        if tok in "([{":
            stack.append(tok)
        elif tok in ")]}":
            if stack:
                if stack[-1] != _CLOSERS[tok]:
                    raise _py_error(text, pos, f"mismatched {tok!r} (opened with {stack[-1]!r})")
                stack.pop()
            elif tok != ")":
                raise _py_error(
                    text, pos, f"unexpected {tok!r} inside the arguments of {call.name!r}"
                )
            else:
                _argument(text, call, seg_start, pos, eq, seen, final=True)
                return i
        elif tok in "\"'":
            raise _py_error(text, pos, "unterminated string")
        elif stack:
            continue
        elif tok == ",":
            _argument(text, call, seg_start, pos, eq, seen, final=False)
            seg_start = pos + 1
            eq = -1
        elif eq < 0:  # "="
            eq = pos
    raise _py_error(text, open_pos, f"unclosed '(' of the call {call.name!r}")


def _argument(
    text: str, call: _PyCall, seg_start: int, seg_end: int, eq: int, seen: set[str], *, final: bool
) -> None:
    if eq < 0:
        if not text[seg_start:seg_end].strip():
            # Allowed: f() (the first and only segment) and a trailing comma f(a=1,).
            if final and (call.args or text[seg_start - 1] == "("):
                return
            raise _py_error(text, seg_start, f"empty argument in the call {call.name!r}")
        raise _py_error(
            text,
            seg_start + len(text[seg_start:seg_end]) - len(text[seg_start:seg_end].lstrip()),
            f"positional argument in the call {call.name!r}: tool calls take keyword arguments"
            " (name=value)",
        )
    raw = text[seg_start:eq]
    key = raw.strip()
    at = seg_start + len(raw) - len(raw.lstrip())
    if not is_python_key(key):
        raise _py_error(text, at, f"invalid argument name {key[:40]!r} in {call.name!r}")
    if key in seen:
        raise _py_error(text, at, f"argument {key!r} repeated in the call {call.name!r}")
    if not text[eq + 1 : seg_end].strip():
        raise _py_error(text, eq + 1, f"missing value for argument {key!r} of {call.name!r}")
    seen.add(key)
    call.args.append((key, eq + 1, seg_end))


class _NotLiteral(Exception):
    def __init__(self, node: ast.AST, problem: str) -> None:
        self.node = node
        self.problem = problem


def _python_values(text: str, spans: Sequence[tuple[int, int]]) -> list[Any]:
    """Read every value span as a Python literal with a single :func:`ast.parse`."""
    if not spans:
        return []
    source = "[" + ",".join(f"({text[s:e]}\n)" for s, e in spans) + "]"
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError, UnicodeError):
        _locate_syntax_error(text, spans)
        raise _py_error(text, spans[0][0], "invalid argument values") from None
    body = tree.body
    if not isinstance(body, ast.List) or len(body.elts) != len(spans):
        raise _py_error(text, spans[0][0], "invalid argument values")  # pragma: no cover
    out: list[Any] = []
    for node, (s, e) in zip(body.elts, spans):
        try:
            out.append(_literal(node))
        except _NotLiteral as bad:
            offset = s + len(text[s:e]) - len(text[s:e].lstrip())
            raise _py_error(text, offset, f"{bad.problem} in {text[s:e].strip()[:40]!r}") from None
        except RecursionError:
            raise _py_error(text, s, "value nested too deeply") from None
    return out


def _locate_syntax_error(text: str, spans: Sequence[tuple[int, int]]) -> None:
    """Raise a :class:`ToolCallParseError` at the first value that does not parse."""
    for s, e in spans:
        try:
            ast.parse(f"({text[s:e]}\n)", mode="eval")
        except SyntaxError as err:
            raise _py_error(
                text, s, f"invalid value {text[s:e].strip()[:40]!r}: {err.msg}"
            ) from None
        except (ValueError, RecursionError, MemoryError, OverflowError, UnicodeError) as err:
            raise _py_error(text, s, f"invalid value {text[s:e].strip()[:40]!r}: {err}") from None


def _literal(node: Any) -> Any:
    """The JSON value of a literal syntax-tree node (``node`` is an :class:`ast.AST`)."""
    kind = type(node)
    if kind is ast.Constant:
        value = node.value
        vtype = type(value)
        if vtype is str or vtype is int or vtype is bool or value is None:
            return value
        if vtype is float:
            if not math.isfinite(value):
                raise _NotLiteral(node, "non-finite number")
            return value
        raise _NotLiteral(node, f"unsupported constant of type {vtype.__name__}")
    if kind is ast.List or kind is ast.Tuple:
        return [_literal(e) for e in node.elts]
    if kind is ast.Dict:
        out: dict[str, Any] = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise _NotLiteral(node, "'**' unpacking is not a literal")
            key = _literal(k)
            if type(key) is not str:
                raise _NotLiteral(k, "dict keys must be strings")
            out[key] = _literal(v)
        return out
    if kind is ast.UnaryOp and type(node.op) in (ast.USub, ast.UAdd):
        operand = node.operand
        if type(operand) is ast.Constant and type(operand.value) in (int, float):
            number: int | float = operand.value  # type: ignore[assignment]
            if type(number) is float and not math.isfinite(number):
                raise _NotLiteral(node, "non-finite number")
            return -number if type(node.op) is ast.USub else number
        raise _NotLiteral(node, "a sign applies only to a number")
    if kind is ast.Name:
        if node.id in _JSON_NAMES:
            return _JSON_NAMES[node.id]
        raise _NotLiteral(node, f"unquoted name {node.id!r} is not a literal value")
    raise _NotLiteral(node, f"not a literal value ({kind.__name__})")


def _py_str(s: str) -> str:
    try:
        return json.dumps(s, ensure_ascii=not s.isascii() and _has_surrogate(s))
    except (TypeError, ValueError) as err:  # pragma: no cover - json.dumps accepts every str
        raise ToolCallRenderError(str(err)) from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogate(s: str) -> bool:
    return _SURROGATE.search(s) is not None


def _py_value(value: Any, where: str) -> str:
    if value is None:
        return "None"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, str):
        return _py_str(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ToolCallRenderError(f"{where}: non-finite number {value!r} cannot be rendered")
        return repr(float(value))
    if isinstance(value, Mapping):
        parts = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise ToolCallRenderError(f"{where}: dict key {k!r} is not a string")
            parts.append(f"{_py_str(k)}: {_py_value(v, f'{where}.{k}')}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_py_value(v, f"{where}[{i}]") for i, v in enumerate(value)) + "]"
    raise ToolCallRenderError(f"{where}: {type(value).__name__} is not a JSON value")


def _render_python(calls: Sequence[ToolCall]) -> str:
    parts = []
    for i, call in enumerate(calls):
        if not is_python_name(call.name):
            raise ToolCallRenderError(
                f"calls[{i}].name: {call.name!r} cannot be a Python-style function name"
                " (no brackets, quotes, '=', ',', line breaks or surrounding spaces)"
            )
        args = []
        for key, value in call.arguments.items():
            if not is_python_key(key):
                raise ToolCallRenderError(
                    f"calls[{i}].arguments: {key!r} cannot be a Python-style argument name"
                )
            args.append(f"{key}={_py_value(value, f'calls[{i}].arguments.{key}')}")
        parts.append(f"{call.name}({', '.join(args)})")
    return "[" + ", ".join(parts) + "]"


# --------------------------------------------------------------------------------------------
# JSON (OpenAI-style)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_WS = re.compile(r"\s*")


def _json_values(text: str, start: int, end: int, fmt: str) -> list[tuple[Any, int]]:
    """Decode one or more whitespace-separated JSON values in ``text[start:end]``."""
    body = text[:end]
    out: list[tuple[Any, int]] = []
    pos = start
    while True:
        try:
            value, stop = _DECODER.raw_decode(body, pos)
        except json.JSONDecodeError as err:
            raise ToolCallParseError(
                fmt, _where(text, err.pos), f"invalid JSON: {err.msg}", err.pos
            ) from None
        except (ValueError, RecursionError) as err:
            raise ToolCallParseError(fmt, _where(text, pos), f"invalid JSON: {err}", pos) from None
        out.append((value, pos))
        m = _WS.match(body, stop)
        pos = m.end() if m else stop
        if pos >= end:
            return out


def _decode_arguments(value: Any, fmt: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = _DECODER.decode(value)
        except json.JSONDecodeError as err:
            raise ToolCallParseError(
                fmt, where, f"arguments string is not valid JSON: {err.msg} at {err.pos}"
            ) from None
        except (ValueError, RecursionError) as err:
            raise ToolCallParseError(
                fmt, where, f"arguments string is not valid JSON: {err}"
            ) from None
    if not isinstance(value, dict):
        raise ToolCallParseError(
            fmt, where, f"arguments must be an object, got {type(value).__name__}"
        )
    return value


def _json_calls(value: Any, fmt: str, where: str, out: list[ToolCall]) -> None:
    if isinstance(value, list):
        for i, item in enumerate(value):
            _json_calls(item, fmt, f"{where}[{i}]", out)
        return
    if not isinstance(value, dict):
        raise ToolCallParseError(
            fmt, where or "<top>", f"expected a tool call object, got {type(value).__name__}"
        )
    if "name" not in value and "function" not in value and "tool_calls" in value:
        entries = value["tool_calls"]
        if entries is None:
            return
        if not isinstance(entries, list):
            raise ToolCallParseError(fmt, field_path(where, "tool_calls"), "must be a list")
        for i, item in enumerate(entries):
            _json_calls(item, fmt, field_path(where, f"tool_calls[{i}]"), out)
        return
    call_id = value.get("id")
    body = value
    body_where = where
    if "name" not in value and isinstance(value.get("function"), dict):
        body = value["function"]
        body_where = field_path(where, "function")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ToolCallParseError(
            fmt,
            field_path(body_where, "name"),
            "missing or empty function name (a non-empty string)",
        )
    if "arguments" in body:
        raw, key = body["arguments"], "arguments"
    else:
        raw, key = body.get("parameters"), "parameters"
    arguments = _decode_arguments(raw, fmt, field_path(body_where, key))
    if call_id is not None and not isinstance(call_id, str):
        raise ToolCallParseError(fmt, field_path(where, "id"), "must be a string")
    out.append(_make_call(fmt, where or "<top>", name, arguments, call_id))


def _parse_json(text: str) -> list[ToolCall]:
    start, end = _span(text)
    if start == end:
        raise ToolCallParseError("json", _where(text, start), "empty text", start)
    out: list[ToolCall] = []
    values = _json_values(text, start, end, "json")
    for k, (value, _) in enumerate(values):
        _json_calls(value, "json", f"[value {k}]" if len(values) > 1 else "", out)
    return out


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ToolCallRenderError(f"arguments are not JSON: {err}") from None


def _plain(call: ToolCall) -> dict[str, Any]:
    out: dict[str, Any] = {"name": call.name, "arguments": call.arguments}
    if call.id is not None:
        out["id"] = call.id
    return out


def _render_json(calls: Sequence[ToolCall]) -> str:
    return _dumps([_plain(c) for c in calls])


# --------------------------------------------------------------------------------------------
# Hermes <tool_call> tags

_OPEN = "<tool_call>"
_CLOSE = "</tool_call>"


def _parse_hermes(text: str) -> list[ToolCall]:
    out: list[ToolCall] = []
    pos = text.find(_OPEN)
    if pos < 0:
        raise ToolCallParseError("hermes", "<text>", "no <tool_call> tag found", None)
    k = 0
    while pos >= 0:
        body = pos + len(_OPEN)
        close = text.find(_CLOSE, body)
        stop = close if close >= 0 else len(text)
        s = _WS.match(text, body)
        start = s.end() if s else body
        end = len(text[start:stop].rstrip()) + start
        if start >= end:
            problem = "empty <tool_call> tag" if close >= 0 else "unterminated <tool_call> tag"
            raise ToolCallParseError("hermes", _where(text, pos), problem, pos)
        try:
            values = _json_values(text, start, end, "hermes")
        except ToolCallParseError as err:
            if close < 0:
                raise ToolCallParseError(
                    "hermes", err.where, f"unterminated <tool_call> tag: {err.problem}", err.offset
                ) from None
            raise
        for value, _ in values:
            _json_calls(value, "hermes", f"tag {k}", out)
        k += 1
        if close < 0:
            break
        pos = text.find(_OPEN, close + len(_CLOSE))
    return out


def _render_hermes(calls: Sequence[ToolCall]) -> str:
    # "</" is written "<\\/" (a valid JSON escape) so argument text cannot close the tag early.
    bodies = (_dumps(_plain(c)).replace("</", "<\\/") for c in calls)
    return "\n".join(f"{_OPEN}\n{body}\n{_CLOSE}" for body in bodies)


# --------------------------------------------------------------------------------------------
# Entry points

_BARE_CALL = re.compile(r"[^\W\d][\w.]*\s*\(")


def detect_format(text: str) -> CallFormat | None:
    """Guess the format of model output; ``None`` when it does not look like tool calls."""
    if not isinstance(text, str):
        return None
    if _OPEN in text:
        return "hermes"
    start, end = _span(text)
    if start == end:
        return None
    first = text[start]
    if first == "{":
        return "json"
    if first == "[":
        m = _WS.match(text, start + 1)
        nxt = m.end() if m else start + 1
        if nxt < end and text[nxt] == "{":
            return "json"
        return "python"
    if _BARE_CALL.match(text, start, end):
        return "python"
    return None


_PARSERS = {"python": _parse_python, "json": _parse_json, "hermes": _parse_hermes}


def parse_tool_calls(text: str, format: CallFormat | Literal["auto"] = "auto") -> list[ToolCall]:
    """Parse model output into tool calls; raise :class:`ToolCallParseError` when malformed.

    ``format="auto"`` picks the format with :func:`detect_format` and raises
    :class:`ToolCallParseError` when the text looks like none of them.
    """
    if not isinstance(text, str):
        raise ToolCallParseError(
            str(format), "<text>", f"expected a string, got {type(text).__name__}"
        )
    if format == "auto":
        detected = detect_format(text)
        if detected is None:
            raise ToolCallParseError(
                "auto",
                "<text>",
                'no tool calls recognised (expected [f(a=1)], JSON {"name": ...} or <tool_call>'
                " tags)",
            )
        format = detected
    parser = _PARSERS.get(format)
    if parser is None:
        raise ValueError(
            f"unknown tool-call format {format!r}; choose from {list(FORMATS)} or 'auto'"
        )
    try:
        return parser(text)
    except ToolCallParseError:
        raise
    except RecursionError:
        raise ToolCallParseError(format, "<text>", "input nested too deeply") from None


_RENDERERS = {"python": _render_python, "json": _render_json, "hermes": _render_hermes}


def render_tool_calls(calls: Iterable[ToolCall], format: CallFormat) -> str:
    """Write calls in ``format``; :func:`parse_tool_calls` reads the result back unchanged.

    The Python format has no ids (they are dropped). Raises :class:`ToolCallRenderError` when a
    value cannot be written (non-finite numbers, non-string dict keys, and, for the Python format,
    names that its syntax cannot hold).
    """
    renderer = _RENDERERS.get(format)
    if renderer is None:
        raise ValueError(f"unknown tool-call format {format!r}; choose from {list(FORMATS)}")
    return renderer(list(calls))


__all__ = [
    "FORMATS",
    "CallFormat",
    "ToolCallParseError",
    "ToolCallRenderError",
    "detect_format",
    "is_python_key",
    "is_python_name",
    "parse_tool_calls",
    "render_tool_calls",
]
