"""Turn BFCL model outputs into tool calls, through :mod:`ifrl.core.toolcalls`.

* ``python`` (BFCL's prompting format): like the leaderboard, surrounding backticks, spaces and
  line breaks are stripped and a missing ``[`` / ``]`` is added before the text is parsed as a
  Python-style call list. A function name must then be a (dotted) Python identifier and argument
  names must not be Python keywords, as BFCL's decoder (Python's own parser) requires. What our
  parser rejects but BFCL's decoder accepts is then read as BFCL reads it: positional arguments
  are dropped (``[f("x")]`` is a call of ``f`` without arguments) and a value that is no literal
  is kept as its source text (a bare name, a call, an expression: BFCL evaluates expressions,
  we never evaluate model output).
* ``json`` / ``hermes`` (native tool calls): parsed as such.
* A result that is already decoded (BFCL's function-calling result files store a list of
  ``{name: arguments}`` with arguments as an object or a JSON string) is read as is.

Every decoding failure raises :class:`~ifrl.core.toolcalls.ToolCallParseError`.
"""

from __future__ import annotations

import ast
import json
import keyword
from collections.abc import Mapping
from typing import Any, Literal

from ifrl.core.records import ToolCall
from ifrl.core.toolcalls import ToolCallParseError, detect_format, parse_tool_calls

__all__ = ["STYLES", "Style", "attempts_call", "contains_call", "decode_output"]

Style = Literal["python", "json", "hermes"]
STYLES: tuple[Style, ...] = ("python", "json", "hermes")


def _is_dotted_identifier(name: str) -> bool:
    parts = name.split(".")
    return all(p.isidentifier() and not keyword.iskeyword(p) for p in parts)


def _decode_python(text: str) -> list[ToolCall]:
    body = text.strip("`\n ")
    if not body.startswith("["):
        body = "[" + body
    if not body.endswith("]"):
        body = body + "]"
    try:
        calls = parse_tool_calls(body, format="python")
    except ToolCallParseError:
        lenient = _decode_as_bfcl(body)
        if lenient is None:
            raise
        calls = lenient
    for i, call in enumerate(calls):
        if not _is_dotted_identifier(call.name):
            raise ToolCallParseError(
                "python", f"call {i}", f"{call.name!r} is not a Python function name"
            )
        for key in call.arguments:
            if keyword.iskeyword(key):
                raise ToolCallParseError(
                    "python", f"call {i}", f"argument name {key!r} is a Python keyword"
                )
    return calls


def _decode_as_bfcl(body: str) -> list[ToolCall] | None:
    """BFCL's own reading of a call list (Python's parser; positional arguments dropped,
    non-literal values kept as source text), or None where BFCL's decoder fails too."""
    try:
        tree = ast.parse(body.strip().strip("'"), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    nodes = [tree.body] if isinstance(tree.body, ast.Call) else getattr(tree.body, "elts", None)
    if nodes is None or not all(isinstance(n, ast.Call) for n in nodes):
        return None
    calls = []
    for node in nodes:
        parts: list[str] = []
        func = node.func
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if isinstance(func, ast.Name):
            parts.append(func.id)
        name = ".".join(reversed(parts))
        if not name:
            return None
        arguments = {kw.arg: _value_as_bfcl(kw.value) for kw in node.keywords if kw.arg}
        calls.append(ToolCall(name, arguments))
    return calls


def _value_as_bfcl(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return ast.unparse(node)


def _decode_structured(result: list[Any]) -> list[ToolCall]:
    calls = []
    for i, item in enumerate(result):
        if not isinstance(item, Mapping) or len(item) != 1:
            raise ToolCallParseError("json", f"[{i}]", "expected an object {name: arguments}")
        name, args = next(iter(item.items()))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except json.JSONDecodeError as err:
                raise ToolCallParseError("json", f"[{i}].{name}", f"invalid JSON: {err}") from None
        if not isinstance(args, dict) or not isinstance(name, str) or not name.strip():
            raise ToolCallParseError("json", f"[{i}]", "expected {name: {argument: value}}")
        calls.append(ToolCall(name, args))
    return calls


def decode_output(result: str | list[Any], style: Style = "python") -> list[ToolCall]:
    """The tool calls of one model output; :class:`ToolCallParseError` when it has none."""
    if isinstance(result, list):
        return _decode_structured(result)
    if not isinstance(result, str):
        raise ToolCallParseError(style, "<result>", f"expected text, got {type(result).__name__}")
    if style == "python":
        return _decode_python(result)
    return parse_tool_calls(result, format=style)


def attempts_call(result: str | list[Any]) -> bool:
    """Whether an output *looks like* a call (a call list, JSON or a tool-call tag), whether or
    not it decodes: the stricter relevance rule's notion of "not an abstention"."""
    if isinstance(result, list):
        return bool(result)
    return detect_format(result) is not None


def contains_call(result: str | list[Any], style: Style = "python") -> bool:
    """BFCL's relevance rule: the output decodes and holds at least one call."""
    try:
        return len(decode_output(result, style)) > 0
    except ToolCallParseError:
        return False
