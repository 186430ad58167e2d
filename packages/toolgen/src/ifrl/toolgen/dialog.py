"""The dialog record and its working format (OpenAI messages with ``tools``).

One JSONL line per dialog::

    {"type": "single|parallel|dependent|non_tool|clarify",
     "tools": [{"type": "function", "function": {"name", "description", "parameters",
                                                 "responses"?}}],
     "messages": [{"role": "user", "content": ...},
                  {"role": "assistant", "content": null,
                   "tool_calls": [{"id", "type": "function",
                                   "function": {"name", "arguments": "<json>"}}]},
                  {"role": "tool", "tool_call_id": ..., "name": ..., "content": "<json>"},
                  {"role": "assistant", "content": ...}],
     "meta": {...}}

``responses`` (the API's result schema) is our addition to OpenAI's function entry; exports to
other formats drop it. Tool-call arguments may be a JSON string (OpenAI) or an object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ifrl.core.errors import RecordError
from ifrl.core.records import Message, Record, ToolCall
from ifrl.toolgen.apis import Api

DialogType = Literal["single", "parallel", "dependent", "non_tool", "clarify"]
DIALOG_TYPES: tuple[DialogType, ...] = ("single", "parallel", "dependent", "non_tool", "clarify")


@dataclass(frozen=True, slots=True)
class Dialog(Record):
    """A generated dialog: its type, the tools offered, the messages and free-form ``meta``."""

    type: DialogType
    tools: tuple[Api, ...]
    messages: tuple[Message, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def tool(self, name: str) -> Api | None:
        """The offered tool called ``name``, if any."""
        for api in self.tools:
            if api.name == name:
                return api
        return None

    def calls(self) -> list[ToolCall]:
        """Every tool call of every assistant turn, in order."""
        return [c for m in self.messages if m.role == "assistant" for c in m.tool_calls]

    def to_json(self) -> dict[str, Any]:
        """The working-format line (see the module docstring)."""
        return {
            "type": self.type,
            "tools": [t.to_openai(with_responses=True) for t in self.tools],
            "messages": [message_to_json(m) for m in self.messages],
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: Any) -> Dialog:
        """Validate a working-format line; raises ``RecordError`` naming the field."""
        if not isinstance(data, Mapping):
            raise RecordError("", "a dialog must be a JSON object")
        kind = data.get("type")
        if kind not in DIALOG_TYPES:
            raise RecordError("type", f"must be one of {list(DIALOG_TYPES)}, got {kind!r}")
        tools_data = data.get("tools", [])
        if not isinstance(tools_data, list):
            raise RecordError("tools", "expected a list")
        tools = []
        for i, entry in enumerate(tools_data):
            try:
                tools.append(Api.from_openai(entry if isinstance(entry, Mapping) else {}))
            except RecordError as err:
                raise err.nested(f"tools[{i}]") from None
        msgs = data.get("messages")
        if not isinstance(msgs, list):
            raise RecordError("messages", "expected a list")
        messages = tuple(message_from_json(m, f"messages[{i}]") for i, m in enumerate(msgs))
        meta = data.get("meta", {})
        if not isinstance(meta, Mapping):
            raise RecordError("meta", "expected an object")
        return cls(kind, tuple(tools), messages, dict(meta))


def message_to_json(message: Message) -> dict[str, Any]:
    """One message in OpenAI's shape (tool-call arguments as JSON strings)."""
    return message.to_openai()


def message_from_json(data: Any, where: str) -> Message:
    """Read one OpenAI-style message; errors name ``where`` (e.g. ``messages[2].role``)."""
    try:
        return Message.from_openai(data)
    except RecordError as err:
        raise err.nested(where) from None


def tool_message(call: ToolCall, result: Any) -> Message:
    """The tool turn answering ``call`` with a JSON ``result``."""
    return Message(
        "tool", json.dumps(result, ensure_ascii=False), name=call.name, tool_call_id=call.id
    )


__all__ = [
    "DIALOG_TYPES",
    "Dialog",
    "DialogType",
    "message_from_json",
    "message_to_json",
    "tool_message",
]
