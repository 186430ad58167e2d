"""The typed records that flow between ifrl packages.

All records are frozen dataclasses with slots. ``to_dict()`` gives plain JSON data and
``Record.from_dict(data)`` validates JSON data back into a record, raising
:class:`~ifrl.core.errors.RecordError` that names the offending field (``messages[1].role``).
Sequences are stored as tuples so records stay immutable; mappings (JSON Schemas, kwargs,
metadata) are kept as plain dicts of JSON values.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import (
    Any,
    ClassVar,
    Literal,
    Protocol,
    TypeVar,
    Union,
    get_args,
    get_origin,
    runtime_checkable,
)

from ifrl.core.errors import RecordError, field_path

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
            return {k: _convert(args[1], v, field_path(where, k)) for k, v in value.items()}
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
        raise RecordError(field_path(where, str(unknown[0])), f"unknown field for {cls.__name__}")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise RecordError(field_path(where, name), "missing required field")
            continue
        kwargs[name] = _convert(hints[name], data[name], field_path(where, name))
    try:
        return cls(**kwargs)
    except RecordError as err:
        if not where:
            raise
        raise err.nested(where) from None


# --------------------------------------------------------------------------------------------
# Conversations and tools


ArgumentsAs = Literal["string", "object"]


def _dumps(value: Any, where: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise RecordError(where, f"not JSON data: {err}") from None


@dataclass(frozen=True, slots=True)
class ToolCall(Record):
    """A call of a named function with JSON arguments; ``id`` pairs it with its tool result."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise RecordError("name", "must not be empty")

    def to_openai(self, *, arguments_as: ArgumentsAs = "string") -> dict[str, Any]:
        """One entry of an OpenAI message's ``tool_calls``: ``{"id"?, "type": "function",
        "function": {"name", "arguments"}}``, arguments as a JSON string (the API's form) or
        as an object (the form chat templates read)."""
        args: Any = self.arguments
        if arguments_as == "string":
            args = _dumps(self.arguments, "arguments")
        entry: dict[str, Any] = {
            "type": "function",
            "function": {"name": self.name, "arguments": args},
        }
        return {"id": self.id, **entry} if self.id is not None else entry

    @classmethod
    def from_openai(cls, data: Any) -> ToolCall:
        """Read a ``tool_calls`` entry (``{"id", "type", "function": {...}}``) or a bare
        ``{"name", "arguments"}``; arguments may be a JSON string or an object."""
        if not isinstance(data, Mapping):
            raise RecordError("", f"a tool call must be an object, got {_describe(data)}")
        body, where = data, ""
        if "name" not in data and isinstance(data.get("function"), Mapping):
            body, where = data["function"], "function"
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RecordError(field_path(where, "name"), "missing or not a non-empty string")
        raw = body.get("arguments", {})
        if isinstance(raw, str):
            try:
                raw = json.loads(raw) if raw.strip() else {}
            except ValueError as err:
                raise RecordError(
                    field_path(where, "arguments"), f"not valid JSON: {err}"
                ) from None
        if not isinstance(raw, Mapping):
            raise RecordError(
                field_path(where, "arguments"), f"expected an object, got {_describe(raw)}"
            )
        call_id = data.get("id")
        if call_id is not None and not isinstance(call_id, str):
            raise RecordError("id", f"expected a string, got {_describe(call_id)}")
        return cls(name, dict(raw), call_id)


@dataclass(frozen=True, slots=True)
class ToolSpec(Record):
    """A function the model may call: name, description and a JSON Schema for its arguments.

    ``responses`` is an optional JSON Schema of what the function returns (ToolACE's API
    definitions carry one; OpenAI's tool entries do not) and ``meta`` free-form metadata that is
    not part of the definition (where a synthesized API came from: domain, complexity, ...).
    """

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    responses: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise RecordError("name", "must not be empty")
        if self.parameters.get("type", "object") != "object":
            raise RecordError("parameters.type", "a function's parameters must be an object schema")

    @property
    def required(self) -> list[str]:
        """The names of the required parameters."""
        return list(self.parameters.get("required") or [])

    @property
    def properties(self) -> dict[str, Any]:
        """The parameters' JSON Schemas by name."""
        return dict(self.parameters.get("properties") or {})

    def definition(self, *, with_responses: bool = False) -> dict[str, Any]:
        """The bare function definition ``{"name", "description", "parameters"}`` (and
        ``responses`` when asked for and known)."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }
        if with_responses and self.responses is not None:
            out["responses"] = self.responses
        return out

    def to_openai(self, *, with_responses: bool = False) -> dict[str, Any]:
        """OpenAI's ``{"type": "function", "function": {...}}`` tool entry."""
        return {"type": "function", "function": self.definition(with_responses=with_responses)}

    @classmethod
    def from_openai(cls, data: Any) -> ToolSpec:
        """Read OpenAI's wrapped form or a bare function definition (``responses`` optional;
        other keys of the entry, such as ``strict``, are ignored)."""
        if not isinstance(data, Mapping):
            raise RecordError("", f"a tool must be an object, got {_describe(data)}")
        if data.get("type") == "function" and isinstance(data.get("function"), Mapping):
            data = data["function"]
        known = {
            k: data[k] for k in ("name", "description", "parameters", "responses") if k in data
        }
        if known.get("description") is None:
            known.pop("description", None)
        return cls.from_dict(known)


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
        """The message as a chat-template dict (tool-call arguments stay objects)."""
        return self.to_openai(arguments_as="object")

    def to_openai(self, *, arguments_as: ArgumentsAs = "string") -> dict[str, Any]:
        """The message as an OpenAI chat message (tool-call arguments as JSON strings by default)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [c.to_openai(arguments_as=arguments_as) for c in self.tool_calls]
        if self.name is not None:
            out["name"] = self.name
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out

    @classmethod
    def from_openai(cls, data: Any) -> Message:
        """Read an OpenAI (or chat-template) message; ``RecordError`` names the field.

        Content may be a string, null, a list of ``{"type": "text", "text"}`` parts (joined) or
        other JSON (kept as its JSON text); tool-call arguments may be strings or objects.
        """
        if not isinstance(data, Mapping):
            raise RecordError("", f"a message must be an object, got {_describe(data)}")
        role = data.get("role")
        if role not in ROLES:
            raise RecordError("role", f"must be one of {list(ROLES)}, got {role!r}")
        content = data.get("content")
        if isinstance(content, list) and all(
            isinstance(p, Mapping) and p.get("type") == "text" for p in content
        ):
            content = "".join(str(p.get("text") or "") for p in content)
        elif content is not None and not isinstance(content, str):
            if not isinstance(content, (Mapping, list)):
                raise RecordError("content", f"expected a string or null, got {_describe(content)}")
            content = json.dumps(content, ensure_ascii=False)
        raw_calls = data.get("tool_calls") or []
        if not isinstance(raw_calls, list):
            raise RecordError("tool_calls", f"expected a list, got {_describe(raw_calls)}")
        calls = []
        for i, entry in enumerate(raw_calls):
            try:
                calls.append(ToolCall.from_openai(entry))
            except RecordError as err:
                raise err.nested(f"tool_calls[{i}]") from None
        for key in ("name", "tool_call_id"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise RecordError(key, f"expected a string, got {_describe(data[key])}")
        return cls(role, content, tuple(calls), data.get("name"), data.get("tool_call_id"))


def openai_reply_text(message: Mapping[str, Any]) -> str:
    """The text an OpenAI chat reply stands for: its content, then its tool calls as one JSON
    list of ``{"name", "arguments"}`` (arguments decoded when they are JSON, else kept as the
    model wrote them, for the tool-call parser to report)."""
    text = message.get("content")
    out = text if isinstance(text, str) else ""
    calls = message.get("tool_calls")
    if not isinstance(calls, list) or not calls:
        return out
    plain: list[dict[str, Any]] = []
    for entry in calls:
        fn = entry.get("function", entry) if isinstance(entry, Mapping) else {}
        fn = fn if isinstance(fn, Mapping) else {}
        args = fn.get("arguments", {})
        if isinstance(args, str):
            with contextlib.suppress(ValueError):
                args = json.loads(args)
        plain.append({"name": fn.get("name"), "arguments": args})
    return out + json.dumps(plain, ensure_ascii=False)


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

    def to_openai(
        self, *, arguments_as: ArgumentsAs = "string", fill_ids: bool = False
    ) -> dict[str, Any]:
        """``{"messages", "tools"}`` in OpenAI's form (the rows TRL's SFTTrainer reads take
        ``arguments_as="object"``); ``fill_ids`` gives id-less tool calls ``call_<m>_<i>``
        ids, as OpenAI-compatible servers require."""
        messages = []
        for m, message in enumerate(self.messages):
            if fill_ids and any(c.id is None for c in message.tool_calls):
                calls = tuple(
                    c if c.id is not None else dataclasses.replace(c, id=f"call_{m}_{i}")
                    for i, c in enumerate(message.tool_calls)
                )
                message = dataclasses.replace(message, tool_calls=calls)
            messages.append(message.to_openai(arguments_as=arguments_as))
        return {"messages": messages, "tools": [t.to_openai() for t in self.tools]}

    @classmethod
    def from_openai(cls, data: Any) -> Conversation:
        """Read ``{"messages", "tools"?}`` in OpenAI's (or TRL's) form; ``RecordError`` names
        the field (``messages[2].tool_calls[0].function.arguments``)."""
        if not isinstance(data, Mapping):
            raise RecordError("", f"expected an object, got {_describe(data)}")
        raw_messages = data.get("messages")
        if not isinstance(raw_messages, list):
            raise RecordError("messages", "missing or not a list")
        raw_tools = data.get("tools") or []
        if not isinstance(raw_tools, list):
            raise RecordError("tools", f"expected a list, got {_describe(raw_tools)}")
        tools = []
        for i, entry in enumerate(raw_tools):
            try:
                tools.append(ToolSpec.from_openai(entry))
            except RecordError as err:
                raise err.nested(f"tools[{i}]") from None
        messages = []
        for i, entry in enumerate(raw_messages):
            try:
                messages.append(Message.from_openai(entry))
            except RecordError as err:
                raise err.nested(f"messages[{i}]") from None
        return cls(tuple(messages), tuple(tools))

    @property
    def last_user_text(self) -> str:
        """The content of the last user message (``""`` when there is none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content or ""
        return ""


@dataclass(frozen=True, slots=True)
class RawText(Record):
    """A prompt sent to the model exactly as written: no chat template is applied.

    For base models without a chat template, and for text the caller rendered itself with the
    model's own template (e.g. a rendered prompt plus the start of a response that a search
    continues). A backend tokenizes it as is (adding the tokenizer's BOS token only when the
    text does not already start with it); an OpenAI-compatible server gets it at
    ``/completions``.
    """

    text: str


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


@dataclass(frozen=True, slots=True)
class ConstrainedPrompt(Record):
    """A prompt with the constraints its response must meet (hard and soft), optionally a
    response, and extra fields in ``meta``.

    ``prompt`` is the user's text or a whole :class:`Conversation` (system turn, earlier turns,
    tools). The one codec for the datasets that carry such prompts (IFEval/IFBench rows, VerIF
    rows, our own, TRL batch columns) is :mod:`ifrl.constraints.codec`.
    """

    id: str
    prompt: str | Conversation
    constraints: tuple[ConstraintSpec, ...]
    response: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The prompt's text: the string itself, or a conversation's last user message."""
        return self.prompt if isinstance(self.prompt, str) else self.prompt.last_user_text

    def conversation(self) -> Conversation:
        """The prompt as a conversation (a string becomes one user message)."""
        if isinstance(self.prompt, Conversation):
            return self.prompt
        return Conversation((Message("user", self.prompt),))

    @property
    def hard(self) -> tuple[ConstraintSpec, ...]:
        return tuple(c for c in self.constraints if c.kind == "hard")

    @property
    def soft(self) -> tuple[ConstraintSpec, ...]:
        return tuple(c for c in self.constraints if c.kind == "soft")


@runtime_checkable
class RewardFn(Protocol):
    """A reward function with TRL's calling convention.

    ``reward(prompts, completions, **columns)`` gets the batch's prompts, the generated
    completions (strings, or message lists for conversational data) and every other dataset
    column as a keyword argument (one value per completion); it returns one reward per
    completion, ``None`` where it has no opinion (TRL then ignores it for that row). Every
    reward of the project has this signature, so each plugs into TRL's ``GRPOTrainer`` as is.
    """

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]: ...


def completion_text(completion: Any) -> str:
    """The text of a completion a :class:`RewardFn` receives: the string, or the last
    message's content in a message list."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return str(completion.get("content") or "")
    if isinstance(completion, Sequence) and completion:
        return completion_text(completion[-1])
    return ""


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


@dataclass(frozen=True, slots=True)
class Cost(Record):
    """Model usage: sequences generated (``calls``), generated tokens, forward tokens (prefix
    plus generated: what a model actually processes) and ``generate`` batches. Costs add up
    with ``+``; ``after - before`` is what was spent in between."""

    calls: int = 0
    generated_tokens: int = 0
    forward_tokens: int = 0
    batches: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(*(getattr(self, f) + getattr(other, f) for f in self.__slots__))

    def __sub__(self, other: Cost) -> Cost:
        return Cost(*(getattr(self, f) - getattr(other, f) for f in self.__slots__))

    @classmethod
    def of(
        cls, completions: Sequence[Completion], *, prefix_tokens: int = 0, batches: int = 1
    ) -> Cost:
        """The cost of ``completions`` sampled from prompts of ``prefix_tokens`` tokens each in
        ``batches`` generate calls."""
        generated = sum(len(c.token_ids) for c in completions)
        return cls(
            len(completions), generated, generated + prefix_tokens * len(completions), batches
        )

    def per(self, count: int) -> dict[str, float]:
        """Each counter but ``batches`` divided by ``count`` (zeros when ``count`` is 0)."""
        names = ("calls", "generated_tokens", "forward_tokens")
        if count <= 0:
            return {n: 0.0 for n in names}
        return {n: getattr(self, n) / count for n in names}


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
    "ArgumentsAs",
    "Completion",
    "ConstrainedPrompt",
    "ConstraintSpec",
    "Conversation",
    "Cost",
    "Message",
    "PreferencePair",
    "RawText",
    "Record",
    "RewardFn",
    "SamplingParams",
    "StepSample",
    "ToolCall",
    "ToolSpec",
    "Verdict",
    "completion_text",
    "openai_reply_text",
]
