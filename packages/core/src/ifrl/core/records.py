"""The typed records that flow between ifrl packages.

All records are frozen dataclasses with slots. ``to_dict()`` gives plain JSON data and
``Record.from_dict(data)`` validates JSON data back into a record, raising
:class:`~ifrl.core.errors.RecordError` that names the offending field (``messages[1].role``).
Sequences are stored as tuples so records stay immutable; mappings (JSON Schemas, kwargs,
metadata) are kept as plain dicts of JSON values.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from ifrl.core.errors import RecordError

R = TypeVar("R", bound="Record")

ROLES = ("system", "user", "assistant", "tool")


class Record:
    """Mixin giving dataclass records JSON conversion with field-naming validation."""

    __slots__ = ()
    _hints: ClassVar[dict[type, dict[str, Any]]] = {}

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-compatible data (tuples become lists, records become dicts)."""
        return {f.name: _to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls: type[R], data: Any) -> R:
        """Validate JSON data into this record type; raise ``RecordError`` naming the field."""
        return typing.cast(R, _convert(cls, data, ""))

    def replace(self: R, **changes: Any) -> R:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _type_hints(cls: type) -> dict[str, Any]:
    hints = Record._hints.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        Record._hints[cls] = hints
    return hints


def _to_json(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _to_json(v) for k, v in value.items()}
    return value


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if isinstance(tp, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(
            tp.__name__, tp.__name__
        )
    return str(tp)


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert lists to tuples / dicts to records."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Union or origin is types.UnionType:
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors: list[RecordError] = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, where)
            except RecordError as err:
                errors.append(err)
        deepest = max(errors, key=lambda e: len(e.field))
        if deepest.field != where:
            raise deepest
        names = " or ".join(_type_name(o) for o in options)
        raise RecordError(where, f"expected {names}, got {_describe(value)}")
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise RecordError(where, f"must be one of {list(allowed)}, got {value!r}")
        return value
    if origin is tuple:
        args = get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise RecordError(where, f"expected a list, got {_describe(value)}")
        item_tp = args[0] if args else Any
        return tuple(_convert(item_tp, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise RecordError(where, f"expected an object, got {_describe(value)}")
        args = get_args(tp)
        if args:
            for k in value:
                if not isinstance(k, str):
                    raise RecordError(where, f"keys must be strings, got {k!r}")
            return {k: _convert(args[1], v, _join(where, k)) for k, v in value.items()}
        return dict(value)
    if isinstance(tp, type) and issubclass(tp, Record):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise RecordError(where, f"expected an object, got {_describe(value)}")
        return _build(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise RecordError(where, f"expected a boolean, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordError(where, f"expected an integer, got {_describe(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecordError(where, f"expected a number, got {_describe(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise RecordError(where, f"expected a string, got {_describe(value)}")
        return value
    raise TypeError(f"unsupported annotation {tp!r} at {where!r}")  # a bug in a record class


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"string {shown!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _build(cls: type[Record], data: Mapping[str, Any], where: str) -> Record:
    hints = _type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise RecordError(_join(where, str(unknown[0])), f"unknown field for {cls.__name__}")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise RecordError(_join(where, name), "missing required field")
            continue
        kwargs[name] = _convert(hints[name], data[name], _join(where, name))
    try:
        return cls(**kwargs)
    except RecordError as err:
        if not where:
            raise
        raise err.nested(where) from None


# --------------------------------------------------------------------------------------------
# Conversations and tools


@dataclass(frozen=True, slots=True)
class ToolCall(Record):
    """A call of a named function with JSON arguments; ``id`` pairs it with its tool result."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise RecordError("name", "must not be empty")


@dataclass(frozen=True, slots=True)
class ToolSpec(Record):
    """A function the model may call: name, description and a JSON Schema for its arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise RecordError("name", "must not be empty")
        if self.parameters.get("type", "object") != "object":
            raise RecordError("parameters.type", "a function's parameters must be an object schema")

    def to_openai(self) -> dict[str, Any]:
        """OpenAI's ``{"type": "function", "function": {...}}`` tool entry."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    @classmethod
    def from_openai(cls, data: Mapping[str, Any]) -> ToolSpec:
        """Accept both OpenAI's wrapped form and a bare function definition."""
        if data.get("type") == "function" and isinstance(data.get("function"), Mapping):
            data = data["function"]
        return cls.from_dict(dict(data))


@dataclass(frozen=True, slots=True)
class Message(Record):
    """One chat turn. Assistant turns may carry tool calls; tool turns answer one call."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = ""
    tool_calls: tuple[ToolCall, ...] = ()
    name: str | None = None
    tool_call_id: str | None = None

    def __post_init__(self) -> None:
        if self.tool_calls and self.role != "assistant":
            raise RecordError(
                "tool_calls", f"only assistant messages carry tool calls, not {self.role}"
            )

    def to_chat(self) -> dict[str, Any]:
        """The message as a chat-template/OpenAI dict (tool-call arguments stay dicts)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [
                {
                    "type": "function",
                    **({"id": c.id} if c.id else {}),
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in self.tool_calls
            ]
        if self.name is not None:
            out["name"] = self.name
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


@dataclass(frozen=True, slots=True)
class Conversation(Record):
    """Messages plus the tools available to the assistant."""

    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()

    def __post_init__(self) -> None:
        names = [t.name for t in self.tools]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise RecordError("tools", f"duplicate tool name {sorted(dup)[0]!r}")

    def chat(self) -> list[dict[str, Any]]:
        """Messages as chat-template dicts."""
        return [m.to_chat() for m in self.messages]


# --------------------------------------------------------------------------------------------
# Constraints


@dataclass(frozen=True, slots=True)
class ConstraintSpec(Record):
    """One instruction constraint: a registered id, its kwargs, and whether code or a judge checks it."""

    id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    kind: Literal["hard", "soft"] = "hard"

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise RecordError("id", "must not be empty")


@dataclass(frozen=True, slots=True)
class Verdict(Record):
    """The outcome of checking one constraint: pass/fail, a score in [0, 1], and why."""

    passed: bool
    score: float = 0.0
    reason: str = ""

    def __post_init__(self) -> None:
        if not (0.0 <= self.score <= 1.0) or math.isnan(self.score):
            raise RecordError("score", f"must lie in [0, 1], got {self.score}")

    @classmethod
    def of(cls, passed: bool, reason: str = "") -> Verdict:
        """A binary verdict: score 1.0 when passed, else 0.0."""
        return cls(passed, 1.0 if passed else 0.0, reason)


# --------------------------------------------------------------------------------------------
# Generation


@dataclass(frozen=True, slots=True)
class SamplingParams(Record):
    """How to sample completions. ``temperature == 0`` means greedy decoding."""

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: bool = True

    def __post_init__(self) -> None:
        if self.n < 1:
            raise RecordError("n", f"must be at least 1, got {self.n}")
        if self.temperature < 0:
            raise RecordError("temperature", f"must be >= 0, got {self.temperature}")
        if not (0.0 < self.top_p <= 1.0):
            raise RecordError("top_p", f"must lie in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise RecordError("top_k", f"must be >= 0 (0 disables), got {self.top_k}")
        if self.max_new_tokens < 1:
            raise RecordError("max_new_tokens", f"must be at least 1, got {self.max_new_tokens}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass(frozen=True, slots=True)
class Completion(Record):
    """A generated continuation with per-token data for the generated tokens.

    ``logprobs[i]`` is the log-probability of ``token_ids[i]`` under the sampling distribution's
    model (before temperature); ``entropies[i]`` is the entropy (nats) of the full next-token
    distribution at that position. Backends fill what they can; empty tuples mean unknown.
    """

    text: str
    token_ids: tuple[int, ...] = ()
    logprobs: tuple[float, ...] = ()
    entropies: tuple[float, ...] = ()
    finish_reason: str | None = None

    def __post_init__(self) -> None:
        n = len(self.token_ids)
        for name in ("logprobs", "entropies"):
            got = len(getattr(self, name))
            if got and n and got != n:
                raise RecordError(name, f"has {got} entries for {n} token ids")


# --------------------------------------------------------------------------------------------
# Training data


@dataclass(frozen=True, slots=True)
class PreferencePair(Record):
    """A prompt with a preferred and a dispreferred continuation (DPO/SimPO input)."""

    prompt: str
    chosen: str
    rejected: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepSample(Record):
    """A solution split into steps, each with a label in [0, 1] (soft Monte Carlo or hard 0/1)."""

    prompt: str
    steps: tuple[str, ...]
    labels: tuple[float, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.steps) != len(self.labels):
            raise RecordError(
                "labels", f"has {len(self.labels)} labels for {len(self.steps)} steps"
            )
        for i, label in enumerate(self.labels):
            if not (0.0 <= label <= 1.0):
                raise RecordError(f"labels[{i}]", f"must lie in [0, 1], got {label}")


__all__ = [
    "ROLES",
    "Completion",
    "ConstraintSpec",
    "Conversation",
    "Message",
    "PreferencePair",
    "Record",
    "SamplingParams",
    "StepSample",
    "ToolCall",
    "ToolSpec",
    "Verdict",
]
