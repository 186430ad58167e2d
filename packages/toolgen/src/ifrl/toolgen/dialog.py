"""The dialog record and its working format (OpenAI messages with ``tools``).

One JSONL line per dialog::

    {"type": "single|parallel|dependent|non_tool|clarify",
     "tools": [{"type": "function", "function": {"name", "description", "parameters",
                                                 "responses"?}}],
     "messages": [<OpenAI chat messages: user, assistant (with tool calls), tool, ...>],
     "meta": {...}}

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

DialogType = Literal["single", "parallel", "dependent", "non_tool", "clarify"]
DIALOG_TYPES: tuple[DialogType, ...] = ("single", "parallel", "dependent", "non_tool", "clarify")


@dataclass(frozen=True, slots=True)
class Dialog(Record):
    """A generated dialog: its type, the tools offered, the messages and free-form ``meta``."""

    type: DialogType
    tools: tuple[ToolSpec, ...]
    messages: tuple[Message, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def tool(self, name: str) -> ToolSpec | None:
        """The offered tool called ``name``, if any."""
        return next((t for t in self.tools if t.name == name), None)

    def calls(self) -> list[ToolCall]:
        """Every tool call of every assistant turn, in order."""
        return [c for m in self.messages if m.role == "assistant" for c in m.tool_calls]

    def conversation(self) -> Conversation:
        """The messages and tools as a :class:`~ifrl.core.records.Conversation` (its
        ``to_openai()`` is the OpenAI ``{"messages", "tools"}`` row SFT trains on)."""
        return Conversation(self.messages, self.tools)

    def to_json(self) -> dict[str, Any]:
        """The working-format line (see the module docstring)."""
        return {
            "type": self.type,
            "tools": [t.to_openai(with_responses=True) for t in self.tools],
            "messages": [m.to_openai() for m in self.messages],
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
        tools = _each(data.get("tools", []), "tools", read_api)
        messages = _each(data.get("messages"), "messages", Message.from_openai)
        meta = data.get("meta", {})
        if not isinstance(meta, Mapping):
            raise RecordError("meta", "expected an object")
        return cls(kind, tools, messages, dict(meta))


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


__all__ = ["DIALOG_TYPES", "Dialog", "DialogType", "tool_message"]
