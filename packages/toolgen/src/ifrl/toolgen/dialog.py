"""The dialog record and its working format (OpenAI messages with ``tools``).

One JSONL line per dialog::

    {"type": "single|parallel|dependent|non_tool|clarify|multi_request|tool_error",
     "tools": [{"type": "function", "function": {"name", "description", "parameters",
                                                 "responses"?}}],
     "messages": [<OpenAI chat messages: user, assistant (with tool calls), tool, ...>],
     "thoughts": {"<message index>": "<the assistant's plan for that turn>"}?,
     "meta": {...}}

``thoughts`` (optional) hold a thought or plan per assistant turn, by the turn's index in
``messages``; exports write them where the format has room and drop them elsewhere. A tool turn
whose content is ``{"error": {"code", "message"}}`` is an error result (:func:`error_of`).

Messages go through the core codec (:meth:`~ifrl.core.records.Message.to_openai` /
``from_openai``: tool-call arguments are written as JSON strings and read as strings or
objects). ``responses`` (the API's result schema) is our addition to OpenAI's function entry;
exports to other formats drop it. Tools are read leniently (:func:`~ifrl.toolgen.apis.read_api`)
and may repeat a name: the verifier reports that as ``api.duplicate_name``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ifrl.core.errors import RecordError
from ifrl.core.records import Conversation, Message, Record, ToolCall, ToolSpec
from ifrl.toolgen.apis import read_api

DialogType = Literal[
    "single", "parallel", "dependent", "non_tool", "clarify", "multi_request", "tool_error"
]
DIALOG_TYPES: tuple[DialogType, ...] = (
    "single",
    "parallel",
    "dependent",
    "non_tool",
    "clarify",
    "multi_request",
    "tool_error",
)


@dataclass(frozen=True, slots=True)
class Dialog(Record):
    """A generated dialog: its type, the tools offered, the messages, free-form ``meta`` and
    optional ``thoughts`` (the assistant's plan per turn, keyed by message index)."""

    type: DialogType
    tools: tuple[ToolSpec, ...]
    messages: tuple[Message, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    thoughts: dict[int, str] = field(default_factory=dict)

    def tool(self, name: str) -> ToolSpec | None:
        """The offered tool called ``name``, if any."""
        return next((t for t in self.tools if t.name == name), None)

    def calls(self) -> list[ToolCall]:
        """Every tool call of every assistant turn, in order."""
        return [c for m in self.messages if m.role == "assistant" for c in m.tool_calls]

    def conversation(self, *, thoughts: bool = False) -> Conversation:
        """The messages and tools as a :class:`~ifrl.core.records.Conversation` (its
        ``to_openai()`` is the OpenAI ``{"messages", "tools"}`` row SFT trains on). With
        ``thoughts``, each assistant turn that has one opens with ``<think>thought</think>``."""
        messages = self.messages
        if thoughts and self.thoughts:
            messages = tuple(
                m.replace(content=f"<think>{self.thoughts[i]}</think>" + (m.content or ""))
                if i in self.thoughts and m.role == "assistant"
                else m
                for i, m in enumerate(self.messages)
            )
        return Conversation(messages, self.tools)

    def to_json(self) -> dict[str, Any]:
        """The working-format line (see the module docstring)."""
        out: dict[str, Any] = {
            "type": self.type,
            "tools": [t.to_openai(with_responses=True) for t in self.tools],
            "messages": [m.to_openai() for m in self.messages],
        }
        if self.thoughts:
            out["thoughts"] = {str(i): t for i, t in sorted(self.thoughts.items())}
        out["meta"] = self.meta
        return out

    @classmethod
    def from_json(cls, data: Any) -> Dialog:
        """Validate a working-format line; raises ``RecordError`` naming the field."""
        if not isinstance(data, Mapping):
            raise RecordError("", "a dialog must be a JSON object")
        kind = data.get("type")
        if kind not in DIALOG_TYPES:
            raise RecordError("type", f"must be one of {list(DIALOG_TYPES)}, got {kind!r}")
        tools = _each(data.get("tools", []), "tools", read_api)
        messages = _each(data.get("messages"), "messages", Message.from_openai)
        meta = data.get("meta", {})
        if not isinstance(meta, Mapping):
            raise RecordError("meta", "expected an object")
        return cls(kind, tools, messages, dict(meta), _thoughts(data.get("thoughts"), messages))


def _thoughts(raw: Any, messages: tuple[Message, ...]) -> dict[int, str]:
    """``{"<index>": text}`` of assistant turns; errors name ``thoughts.<index>``."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise RecordError("thoughts", "expected an object {message index: text}")
    out: dict[int, str] = {}
    for key, text in raw.items():
        index = int(key) if isinstance(key, str) and key.isdigit() else -1
        if not 0 <= index < len(messages) or messages[index].role != "assistant":
            raise RecordError(f"thoughts.{key}", "must be the index of an assistant message")
        if not isinstance(text, str):
            raise RecordError(f"thoughts.{key}", "expected a string")
        out[index] = text
    return out


def _each(items: Any, where: str, read: Any) -> tuple[Any, ...]:
    """``read`` applied to every entry of the list ``items``; errors name ``where[i]``."""
    if not isinstance(items, list):
        raise RecordError(where, "expected a list")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(read(item))
        except RecordError as err:
            raise err.nested(f"{where}[{i}]") from None
    return tuple(out)


def tool_message(call: ToolCall, result: Any) -> Message:
    """The tool turn answering ``call`` with a JSON ``result``."""
    return Message(
        "tool", json.dumps(result, ensure_ascii=False), name=call.name, tool_call_id=call.id
    )


def error_result(code: str, message: str) -> dict[str, Any]:
    """A tool's error result: ``{"error": {"code", "message"}}``."""
    return {"error": {"code": code, "message": message}}


def error_of(result: Any) -> dict[str, str] | None:
    """The ``{"code", "message"}`` of an error result (see :func:`error_result`), else None."""
    if (
        isinstance(result, Mapping)
        and len(result) == 1
        and isinstance(result.get("error"), Mapping)
    ):
        body = result["error"]
        if isinstance(body.get("code"), str) and isinstance(body.get("message"), str):
            return {"code": body["code"], "message": body["message"]}
    return None


__all__ = ["DIALOG_TYPES", "Dialog", "DialogType", "error_of", "error_result", "tool_message"]
