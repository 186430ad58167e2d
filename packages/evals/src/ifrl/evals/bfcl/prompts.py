"""Prompts for BFCL entries, in two styles.

* ``python`` (BFCL's prompting format): a system prompt lists the functions as JSON and asks for
  a Python-style call list ``[func(a=1), other(b="x")]`` and nothing else; the output is decoded
  as such. The wording is ours; pass ``system_prompt`` (with a ``{functions}`` placeholder) to
  use another, e.g. the leaderboard's own.
* ``json`` / ``hermes`` (native tool calls): the functions go to the chat template as tools
  (BFCL's types converted to JSON Schema) and the output is decoded as JSON or Hermes
  ``<tool_call>`` tags through :mod:`ifrl.core.toolcalls`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ifrl.core.records import Conversation, Message, ToolSpec
from ifrl.evals.bfcl.data import BFCLEntry
from ifrl.evals.bfcl.decode import Style

__all__ = ["DEFAULT_SYSTEM_PROMPT", "build_prompt", "to_json_schema"]

DEFAULT_SYSTEM_PROMPT = (
    "You can call functions to answer the user. Decide which of the functions below to call, "
    "and with which arguments, to do what the user asks. If no function fits the request, say "
    "so in plain words instead of calling one; if the request lacks values a function needs, "
    "say that too.\n\n"
    "To call functions, answer with nothing but a Python-style list of calls with keyword "
    "arguments, for example [func_a(x=1, y='text'), func_b(z=[1, 2])].\n\n"
    "The functions, as JSON:\n{functions}\n"
)

_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": None}


def to_json_schema(schema: Any) -> Any:
    """BFCL's parameter schema as JSON Schema (``dict`` → object, ``float`` → number, ...)."""
    if isinstance(schema, list):
        return [to_json_schema(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            mapped = _TYPES.get(value, value)
            if mapped is not None:
                out[key] = mapped
        elif key == "properties" and isinstance(value, Mapping):
            out[key] = {k: to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = to_json_schema(value)
        else:
            out[key] = value
    return out


def _messages(entry: BFCLEntry) -> list[Message]:
    out = []
    for m in entry.messages:
        role = m.get("role", "user")
        if role not in ("system", "user", "assistant", "tool"):
            role = "user"
        out.append(Message(role, str(m.get("content") or "")))
    return out


def build_prompt(
    entry: BFCLEntry,
    style: Style = "python",
    *,
    system_prompt: str | None = None,
    underscore_to_dot: bool = False,
) -> Conversation:
    """The conversation to send for ``entry`` in ``style``.

    With ``underscore_to_dot``, native tools named ``a.b`` are offered as ``a_b`` (for APIs that
    reject dots in tool names; the checker then expects ``a_b``).
    """
    messages = _messages(entry)
    if style == "python":
        template = system_prompt if system_prompt is not None else DEFAULT_SYSTEM_PROMPT
        system = template.replace("{functions}", json.dumps(entry.functions, indent=2))
        if messages and messages[0].role == "system":
            system = f"{system}\n{messages[0].content}"
            messages = messages[1:]
        return Conversation((Message("system", system), *messages))
    tools = tuple(
        ToolSpec(
            f["name"].replace(".", "_") if underscore_to_dot else f["name"],
            str(f.get("description", "")),
            {**to_json_schema(f.get("parameters", {})), "type": "object"},
        )
        for f in entry.functions
    )
    return Conversation(tuple(messages), tools)
