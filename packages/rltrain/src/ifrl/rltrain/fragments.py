"""Response fragments for tree search: one step per tool-call argument, punctuation elsewhere.

:func:`response_steps` cuts a response (possibly unfinished, as sampled) into :class:`Step` s that
concatenate back to it:

* in a tool call, written Python-style (``[f(a=1, b="x")]``, bare ``f(a=1)``), as JSON
  (``{"name": "f", "arguments": {"a": 1}}`` or a list of those) or in Hermes ``<tool_call>``
  tags, the call's head (``[f(``, ``<tool_call>\\n{"name": "f", "arguments": {``) is one step
  and each argument — its name and its value, with the separator or closing brackets after it
  — is one step; values that hold lists, dicts or commas stay whole;
* text outside tool calls is cut after every split marker (the punctuation splitting of iTool,
  :func:`split_fragments`).

The format is recognised by :func:`ifrl.core.toolcalls.detect_format`. Each step also carries
what it says (``kind``, ``call``, ``key``, ``value``), so :func:`same_step` can tell two
differently written but equal arguments apart from a real difference: preference pairs use it to
find the first argument in which two responses differ (:func:`first_difference`).

Cutting is causal: a prefix of a response that ends on a step boundary is cut exactly as the
response is up to there, except that whitespace after a separator joins the step before it.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ifrl.core.matcher import values_equal
from ifrl.core.toolcalls import detect_format

DEFAULT_MARKERS: tuple[str, ...] = (". ", ", ", "=", "(")
StepKind = Literal["head", "arg", "text"]
_WS = " \t\r\n"
_OPEN_TAG, _CLOSE_TAG = "<tool_call>", "</tool_call>"
_ARGUMENT_KEYS = ("arguments", "parameters")
_RAW = object()  # the value of a step whose value text does not parse


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a response: characters ``[start, end)`` and what they say.

    ``kind`` is ``head`` (a call's name: ``key`` is the function name), ``arg`` (``key`` is the
    argument name, ``value`` its parsed value, ``raw`` its text) or ``text`` (``raw`` is the
    whitespace-collapsed text). ``call`` counts the calls of the response from 0 (-1 for text).
    """

    start: int
    end: int
    kind: StepKind
    call: int = -1
    key: str = ""
    value: Any = None
    raw: str = ""


def split_fragments(text: str, markers: Sequence[str] = DEFAULT_MARKERS) -> list[str]:
    """Split ``text`` after every marker occurrence; the pieces concatenate back to ``text``."""
    pieces: list[str] = []
    start = i = 0
    while i < len(text):
        hit = next((m for m in markers if text.startswith(m, i)), None)
        if hit is None:
            i += 1
            continue
        i += len(hit)
        pieces.append(text[start:i])
        start = i
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _parse_value(text: str, python: bool) -> Any:
    text = text.strip()
    if not text:
        return _RAW
    attempts = (ast.literal_eval, json.loads) if python else (json.loads, ast.literal_eval)
    for parse in attempts:
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            continue
    return _RAW


def _skip_ws(text: str, i: int, end: int) -> int:
    while i < end and text[i] in _WS:
        i += 1
    return i


def _skip_string(text: str, i: int, end: int) -> int:
    """Index after the string starting at ``text[i]`` (a quote), or ``end`` if it is unclosed."""
    quote = text[i]
    if quote != '"' and text.startswith(quote * 3, i):  # a Python triple-quoted string
        close = text.find(quote * 3, i + 3, end)
        return end if close < 0 else close + 3
    j = i + 1
    while j < end:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == quote:
            return j + 1
        j += 1
    return end


class _Scanner:
    """Collects the steps of one response; a step is emitted at each boundary."""

    def __init__(self, text: str, markers: Sequence[str]) -> None:
        self.text = text
        self.markers = markers
        self.steps: list[Step] = []
        self.calls = 0
        self.step_start = 0
        self.kind: StepKind = "text"
        self.call = -1
        self.key = ""
        self.value_start = -1
        self.value_end = -1
        self.python = True

    def begin(self, kind: StepKind, start: int) -> None:
        self.step_start, self.kind, self.key = start, kind, ""
        self.value_start = self.value_end = -1

    def emit(self, end: int) -> None:
        """Close the step in progress at ``end`` (nothing when it is empty)."""
        start = self.step_start
        if end <= start:
            return
        raw = self.text[start:end]
        if self.kind == "arg" and self.value_start >= 0:
            if self.value_end >= 0:
                value_text = self.text[self.value_start : self.value_end].rstrip(_WS + ",")
                value, raw = _parse_value(value_text, self.python), _collapse(value_text)
            else:  # cut off: equal to no finished value
                value, raw = _RAW, _collapse(self.text[self.value_start : end]) + " …"
            step = Step(start, end, "arg", self.call, self.key, value, raw)
        elif self.kind == "head" and self.key:
            step = Step(start, end, "head", self.call, self.key, None, _collapse(raw))
        else:  # an unfinished head or argument, or closing brackets alone
            step = Step(start, end, "text", self.call, "", None, _collapse(raw))
        self.steps.append(step)
        self.step_start = end

    def text_steps(self, start: int, end: int) -> None:
        """Steps of plain text ``[start, end)`` by the split markers."""
        self.emit(start)
        pos = start
        for piece in split_fragments(self.text[start:end], self.markers):
            self.steps.append(Step(pos, pos + len(piece), "text", -1, "", None, _collapse(piece)))
            pos += len(piece)
        self.begin("text", end)

    # -- Python-style calls ----------------------------------------------------------------

    def python_calls(self, start: int, end: int) -> int:
        """Scan Python-style calls from ``start``; returns where the outermost bracket closed."""
        text = self.text
        stack: list[tuple[str, str]] = []  # (bracket, role): role call / list / other
        self.python = True
        self.emit(start)
        self.begin("head", start)
        i = start
        while i < end:
            ch = text[i]
            top = stack[-1][1] if stack else None
            if ch in "\"'":
                i = _skip_string(text, i, end)
                continue
            if ch in "([{":
                in_call = any(role == "call" for _, role in stack)
                role = "call" if ch == "(" and not in_call else "list" if not stack else "other"
                stack.append((ch, role))
                i += 1
                if role == "call":
                    name = text[self.step_start : i - 1].strip(_WS + "[,")
                    self.key, self.call = name, self.calls
                    self.calls += 1
                    i = _skip_ws(text, i, end)
                    self.emit(i)
                    self.begin("arg", i)
                continue
            if ch in ")]}":
                if stack:
                    _, role = stack.pop()
                    if role == "call" and self.kind == "arg" and self.value_end < 0:
                        self.value_end = i
                i += 1
                if not stack:
                    return i
                continue
            if ch == "=" and top == "call" and self.kind == "arg" and self.value_start < 0:
                self.key = text[self.step_start : i].strip()
                self.value_start = i + 1
            elif ch == "," and top in ("call", "list"):
                if top == "call":
                    self.value_end = i
                i = _skip_ws(text, i + 1, end)
                self.emit(i)
                self.begin("arg" if top == "call" else "head", i)
                continue
            i += 1
        return end

    # -- JSON calls ------------------------------------------------------------------------

    def json_calls(self, start: int, end: int, step_start: int) -> int:
        """Scan JSON calls from ``start`` (the step in progress began at ``step_start``);
        returns where the outermost bracket closed."""
        text = self.text
        stack: list[list[Any]] = []  # [bracket, role, last key, after colon]
        self.python = False
        self.emit(step_start)
        self.begin("head", step_start)
        name = ""
        i = start
        while i < end:
            ch = text[i]
            frame = stack[-1] if stack else None
            role = frame[1] if frame else None
            if ch == '"':
                j = _skip_string(text, i, end)
                if frame is not None and frame[0] == "{":
                    word = text[i + 1 : j - 1] if j <= end and text[j - 1] == '"' else ""
                    if not frame[3]:
                        frame[2] = word
                    elif role == "call" and frame[2] == "name":
                        name = word
                i = j
                continue
            if ch in "{[":
                if ch == "{" and frame is not None and role == "call" and frame[3]:
                    new = "args" if frame[2] in _ARGUMENT_KEYS else "call"
                elif ch == "{" and (frame is None or role == "list"):
                    new = "call"
                elif ch == "[" and frame is None:
                    new = "list"
                else:
                    new = "other"
                stack.append([ch, new, "", False])
                i += 1
                if new == "args":
                    self.key, self.call = name, self.calls
                    self.calls += 1
                    i = _skip_ws(text, i, end)
                    self.emit(i)
                    self.begin("arg", i)
                continue
            if ch in "}]":
                if stack:
                    popped = stack.pop()
                    if popped[1] == "args" and self.kind == "arg" and self.value_end < 0:
                        self.value_end = i
                i += 1
                if not stack:
                    return i
                continue
            if ch == ":" and frame is not None and frame[0] == "{":
                frame[3] = True
                if role == "args" and self.kind == "arg" and self.value_start < 0:
                    self.key, self.value_start = frame[2], i + 1
            elif ch == ",":
                if frame is not None and frame[0] == "{":
                    frame[3] = False
                if role in ("args", "list"):
                    if role == "args":
                        self.value_end = i
                    i = _skip_ws(text, i + 1, end)
                    self.emit(i)
                    self.begin("arg" if role == "args" else "head", i)
                    name = "" if role == "list" else name
                    continue
            i += 1
        return end

    # -- whole responses -------------------------------------------------------------------

    def hermes(self) -> None:
        text, n, pos = self.text, len(self.text), 0
        while pos < n:
            tag = text.find(_OPEN_TAG, pos)
            if tag < 0:
                self.text_steps(pos, n)
                return
            if tag > pos:
                self.text_steps(pos, tag)
            body = tag + len(_OPEN_TAG)
            close = text.find(_CLOSE_TAG, body)
            stop = n if close < 0 else close
            self.json_calls(_skip_ws(text, body, stop), stop, tag)
            if close < 0:
                self.emit(n)
                return
            pos = _skip_ws(text, close + len(_CLOSE_TAG), n)
            self.emit(pos)
            self.begin("text", pos)

    def run(self) -> list[Step]:
        text, n = self.text, len(self.text)
        fmt = detect_format(text)
        if fmt is None:
            self.text_steps(0, n)
        elif fmt == "hermes":
            self.hermes()
        else:
            first = _skip_ws(text, 0, n)
            if first > 0:
                self.text_steps(0, first)
            scan = self.python_calls if fmt == "python" else self.json_steps
            done = scan(first, n)
            rest = _skip_ws(text, done, n)
            self.emit(rest)
            if rest < n:
                self.text_steps(rest, n)
        self.emit(n)
        return self.steps

    def json_steps(self, start: int, end: int) -> int:
        return self.json_calls(start, end, start)


def response_steps(text: str, markers: Sequence[str] = DEFAULT_MARKERS) -> list[Step]:
    """The steps of ``text`` (see the module docstring); their spans tile ``text``."""
    return _Scanner(text, markers).run()


def step_boundaries(text: str, markers: Sequence[str] = DEFAULT_MARKERS) -> list[int]:
    """The end offsets of the steps of ``text`` (the last is ``len(text)``; none for "")."""
    return [s.end for s in response_steps(text, markers)]


def same_step(a: Step, b: Step) -> bool:
    """Whether two steps say the same: a call's name, an argument's name and value (compared
    as values: ``"x"`` and ``'x'``, ``1`` and ``1.0`` are equal), or text up to whitespace."""
    if (a.kind, a.call, a.key) != (b.kind, b.call, b.key):
        return False
    if a.kind != "arg":
        return a.raw == b.raw if a.kind == "text" else True
    if a.value is _RAW or b.value is _RAW:
        return a.raw == b.raw
    return values_equal(a.value, b.value)


def first_difference(a: Sequence[Step], b: Sequence[Step]) -> int | None:
    """Index of the first position where ``a`` and ``b`` say different things (a step missing
    on one side counts); ``None`` when they say the same throughout."""
    for i, (x, y) in enumerate(zip(a, b)):
        if not same_step(x, y):
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


__all__ = [
    "DEFAULT_MARKERS",
    "Step",
    "first_difference",
    "response_steps",
    "same_step",
    "split_fragments",
    "step_boundaries",
]
