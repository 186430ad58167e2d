"""The export formats: dialogs written for training, and read back.

* ``toolace`` — ToolACE's released shape: ``{"system": <instructions + tool list as JSON>,
  "conversations": [{"from": "user"|"assistant"|"tool", "value": ...}]}`` with calls written
  ``[func(a=1, b="x")]`` and tool turns ``[{"name": ..., "results": {...}}]``.
* ``openai`` — ``{"messages": [...], "tools": [...]}``, the chat rows TRL's ``SFTTrainer`` and
  the models' chat templates read. Tool-call ``arguments`` are JSON **objects** by default: the
  Qwen2.5, Llama-3.1, Mistral and Hermes templates write them with ``| tojson``, so a JSON
  string would be trained on double-encoded (``"arguments": "{\\"city\\": ..."``).
  ``arguments="string"`` writes them as OpenAI's chat API and fine-tuning files take them.
* ``sharegpt`` — LLaMA-Factory's function-calling ShareGPT: ``conversations`` of
  ``human``/``function_call``/``observation``/``gpt`` turns, ``system`` and ``tools`` (a JSON
  string); a ``function_call`` value is ``{"name", "arguments": {...}}`` (a list for several).
* ``hermes`` — Hermes-2-Pro / NousResearch function-calling ShareGPT: ``conversations`` of
  ``system`` (the tools in ``<tools></tools>``), ``human``, ``gpt`` (calls as
  ``<tool_call>{"name", "arguments"}</tool_call>`` blocks) and ``tool`` turns
  (``<tool_response>{"name", "content"}</tool_response>`` blocks).
* ``xlam`` — Salesforce xLAM function-calling rows: ``query``, ``tools`` and ``answers`` (JSON
  strings); one request and the calls that answer it, so only a dialog whose first assistant
  turn makes the calls can be written (its later turns are not part of the row).

Thoughts (:attr:`~ifrl.toolgen.dialog.Dialog.thoughts`) are written only when asked for, and only
where the format has room: ``openai`` opens the assistant turn's content with
``<think>thought</think>`` (calls or text), ``sharegpt`` and ``hermes`` do so in ``gpt`` turns
(``sharegpt`` drops them in ``function_call`` turns: their value must be the call), ``toolace``
and ``xlam`` always drop them.

:func:`import_toolace` reads ToolACE's ``data.json`` (a JSON array, or JSONL) into
:class:`~ifrl.toolgen.dialog.Dialog` records; :func:`import_rows` reads any of the five formats
(:data:`IMPORTERS`). All tool calls go through :mod:`ifrl.core.toolcalls`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from ifrl.core.chat import portable_ids
from ifrl.core.errors import IfrlError, RecordError
from ifrl.core.records import Conversation, Message, ToolCall, ToolSpec
from ifrl.core.toolcalls import (
    ToolCallParseError,
    ToolCallRenderError,
    detect_format,
    parse_tool_calls,
    render_tool_calls,
)
from ifrl.toolgen.apis import read_api
from ifrl.toolgen.dialog import DIALOG_TYPES, Dialog, DialogType, error_of, tool_message
from ifrl.toolgen.verify import reuses_result

ExportFormat = Literal["toolace", "openai", "sharegpt", "hermes", "xlam"]
Arguments = Literal["object", "string"]
#: Tool-call arguments as each format's consumers expect them (trainers and chat templates read
#: objects; only OpenAI's own API and fine-tuning files want strings, ``openai`` with
#: ``arguments="string"``).
DEFAULT_ARGUMENTS: dict[str, Arguments] = {
    "toolace": "object",
    "openai": "object",
    "sharegpt": "object",
    "hermes": "object",
    "xlam": "object",
}

TOOLACE_MARKER = "Here is a list of functions in JSON format that you can invoke"
TOOLACE_SYSTEM = (
    "You are an expert in composing functions. You are given a question and a set of possible "
    "functions. Based on the question, you will need to make one or more function/tool calls to "
    "achieve the purpose. If none of the functions can be used, point it out. If the given "
    "question lacks the parameters required by the function, also point it out.\n"
    "If you decide to invoke any of the function(s), you MUST put it in the format of "
    "[func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)]\n"
    "You SHOULD NOT include any other text in the response.\n"
    f"{TOOLACE_MARKER}:\n{{tools}}"
)


class ExportFormatError(IfrlError, ValueError):
    """A sample cannot be written in, or read from, an export format; the message says why."""


def to_toolace(dialog: Dialog, *, thoughts: bool = False) -> dict[str, Any]:
    """ToolACE's released format (no thoughts: an assistant value is a call list or the
    answer); raises :class:`ExportFormatError` if a call cannot be written."""
    tools = json.dumps([t.definition() for t in dialog.tools], ensure_ascii=False)
    conversations: list[dict[str, str]] = []
    pending_results: list[dict[str, Any]] = []
    for m in dialog.messages:
        if m.role == "tool":
            try:
                result: Any = json.loads(m.content or "null")
            except ValueError:
                result = m.content
            pending_results.append({"name": m.name or "", "results": result})
            continue
        if pending_results:
            conversations.append(
                {"from": "tool", "value": json.dumps(pending_results, ensure_ascii=False)}
            )
            pending_results = []
        if m.role == "system":
            continue
        if m.role == "assistant" and m.tool_calls:
            try:
                value = render_tool_calls(m.tool_calls, "python")
            except ToolCallRenderError as err:
                raise ExportFormatError(
                    f"a call cannot be written in ToolACE's format: {err}"
                ) from None
            conversations.append({"from": "assistant", "value": value})
        else:
            conversations.append({"from": m.role, "value": m.content or ""})
    if pending_results:
        conversations.append(
            {"from": "tool", "value": json.dumps(pending_results, ensure_ascii=False)}
        )
    return {"system": TOOLACE_SYSTEM.replace("{tools}", tools), "conversations": conversations}


def to_openai(
    dialog: Dialog, *, thoughts: bool = False, arguments: Arguments = "object"
) -> dict[str, Any]:
    """``{"messages", "tools"}`` chat rows: tool-call arguments as JSON objects (what TRL and
    the chat templates read; the default) or as JSON strings (OpenAI's API). Call ids become
    ``call00000``, ``call00001``... (nine letters and digits: Mistral's template refuses other
    ids), the tool results' ``tool_call_id`` with them."""
    conv = portable_ids(dialog.conversation(thoughts=thoughts))
    return conv.to_openai(arguments_as=arguments)


def to_sharegpt(dialog: Dialog, *, thoughts: bool = False) -> dict[str, Any]:
    """LLaMA-Factory's function-calling ShareGPT format."""
    turns: list[dict[str, str]] = []
    system = ""
    results: list[Any] = []

    def flush() -> None:
        if results:
            value = results[0] if len(results) == 1 else results
            turns.append({"from": "observation", "value": json.dumps(value, ensure_ascii=False)})
            results.clear()

    for i, m in enumerate(dialog.messages):
        if m.role == "tool":
            try:
                results.append(json.loads(m.content or "null"))
            except ValueError:
                results.append(m.content)
            continue
        flush()
        if m.role == "system":
            system = m.content or ""
        elif m.role == "user":
            turns.append({"from": "human", "value": m.content or ""})
        elif m.tool_calls:
            calls = [{"name": c.name, "arguments": c.arguments} for c in m.tool_calls]
            value = calls[0] if len(calls) == 1 else calls
            turns.append({"from": "function_call", "value": json.dumps(value, ensure_ascii=False)})
        else:
            thought = dialog.thoughts.get(i) if thoughts else None
            prefix = f"<think>{thought}</think>" if thought else ""
            turns.append({"from": "gpt", "value": prefix + (m.content or "")})
    flush()
    return {
        "conversations": turns,
        "system": system,
        "tools": json.dumps([t.definition() for t in dialog.tools], ensure_ascii=False),
    }


HERMES_SYSTEM = (
    "You are a function calling AI model. The functions you may call are described as JSON "
    "signatures within <tools></tools> XML tags:\n<tools>\n{tools}\n</tools>\n"
    "Do not assume values to plug into the functions. For each function call, write a JSON "
    "object with the function's name and its arguments within <tool_call></tool_call> XML "
    'tags:\n<tool_call>\n{{"name": <function-name>, "arguments": <args-dict>}}\n</tool_call>'
)


def _result(message: Message) -> Any:
    try:
        return json.loads(message.content or "null")
    except ValueError:
        return message.content


def to_hermes(dialog: Dialog, *, thoughts: bool = False) -> dict[str, Any]:
    """The Hermes-2-Pro function-calling ShareGPT format (arguments as objects)."""
    tools = "\n".join(json.dumps(t.to_openai(), ensure_ascii=False) for t in dialog.tools)
    system = HERMES_SYSTEM.format(tools=tools)
    turns: list[dict[str, str]] = []
    responses: list[str] = []

    def flush() -> None:
        if responses:
            turns.append({"from": "tool", "value": "\n".join(responses)})
            responses.clear()

    for i, m in enumerate(dialog.messages):
        if m.role == "tool":
            body = {"name": m.name or "", "content": _result(m)}
            responses.append(
                f"<tool_response>\n{json.dumps(body, ensure_ascii=False)}\n</tool_response>"
            )
            continue
        flush()
        if m.role == "system":
            system = f"{m.content or ''}\n\n{system}"
        elif m.role == "user":
            turns.append({"from": "human", "value": m.content or ""})
        else:
            thought = dialog.thoughts.get(i) if thoughts else None
            parts = [f"<think>{thought}</think>"] if thought else []
            if m.content:
                parts.append(m.content)
            parts += [
                "<tool_call>\n"
                + json.dumps({"name": c.name, "arguments": c.arguments}, ensure_ascii=False)
                + "\n</tool_call>"
                for c in m.tool_calls
            ]
            turns.append({"from": "gpt", "value": "\n".join(parts)})
    flush()
    return {"conversations": [{"from": "system", "value": system}, *turns]}


_XLAM_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list",
    "object": "dict",
}


def _xlam_parameters(tool: ToolSpec) -> dict[str, Any]:
    required = set(tool.parameters.get("required", []))
    out: dict[str, Any] = {}
    for name, schema in dict(tool.parameters.get("properties", {})).items():
        spec = dict(schema)
        kind = _XLAM_TYPES.get(str(spec.get("type", "string")), str(spec.get("type", "str")))
        spec["type"] = kind if name in required else f"{kind}, optional"
        out[name] = spec
    return out


def to_xlam(dialog: Dialog, *, thoughts: bool = False) -> dict[str, Any]:
    """xLAM's ``{"query", "tools", "answers"}`` row: the first user request and the calls of the
    first assistant turn; raises :class:`ExportFormatError` when that turn makes no call."""
    user = next((m for m in dialog.messages if m.role == "user"), None)
    first = next((m for m in dialog.messages if m.role == "assistant"), None)
    if user is None or first is None or not first.tool_calls:
        raise ExportFormatError(
            "xlam holds a request and the calls that answer it: this dialog's first assistant "
            "turn makes no call"
        )
    tools = [
        {"name": t.name, "description": t.description, "parameters": _xlam_parameters(t)}
        for t in dialog.tools
    ]
    answers = [{"name": c.name, "arguments": c.arguments} for c in first.tool_calls]
    return {
        "query": user.content or "",
        "tools": json.dumps(tools, ensure_ascii=False),
        "answers": json.dumps(answers, ensure_ascii=False),
    }


EXPORTERS: dict[ExportFormat, Callable[..., dict[str, Any]]] = {
    "toolace": to_toolace,
    "openai": to_openai,
    "sharegpt": to_sharegpt,
    "hermes": to_hermes,
    "xlam": to_xlam,
}


def export(
    dialogs: Iterator[Dialog] | Sequence[Dialog],
    fmt: ExportFormat,
    *,
    thoughts: bool = False,
    arguments: Arguments | None = None,
) -> Iterator[dict[str, Any] | ExportFormatError]:
    """Convert dialogs (with their thoughts where the format has room, when ``thoughts``);
    yields an :class:`ExportFormatError` in place of a sample that cannot be written.

    ``arguments`` (``object`` or ``string``; default :data:`DEFAULT_ARGUMENTS`) is how tool-call
    arguments are written; only ``openai`` can write strings (the others hold calls inside
    text or a JSON value whose readers expect objects)."""
    try:
        convert = EXPORTERS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown export format {fmt!r}; choose from {sorted(EXPORTERS)}"
        ) from None
    arguments = arguments or DEFAULT_ARGUMENTS[fmt]
    if arguments not in ("object", "string"):
        raise ValueError(f"arguments must be 'object' or 'string', got {arguments!r}")
    if arguments == "string" and fmt != "openai":
        raise ValueError(
            f"arguments 'string': only the openai format writes arguments as JSON strings "
            f"({fmt} readers expect objects)"
        )
    extra = {"arguments": arguments} if fmt == "openai" else {}
    for dialog in dialogs:
        try:
            yield convert(dialog, thoughts=thoughts, **extra)
        except ExportFormatError as err:
            yield err
        except RecordError as err:
            yield ExportFormatError(str(err))


# --------------------------------------------------------------------------------------------
# Import


def tools_from_system(system: str) -> list[ToolSpec]:
    """The tool list written in a ToolACE system prompt (after the marker, else the first list)."""
    decoder = json.JSONDecoder()
    starts: list[int] = []
    marker = system.find(TOOLACE_MARKER)
    if marker >= 0:
        pos = system.find("[", marker)
        if pos >= 0:
            starts.append(pos)
    starts += [i for i, ch in enumerate(system) if ch == "["]
    for pos in starts:
        try:
            value, _ = decoder.raw_decode(system, pos)
        except (ValueError, RecursionError):
            continue
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, Mapping) and "name" in v for v in value)
        ):
            tools = []
            for i, entry in enumerate(value):
                try:
                    tools.append(read_api(entry))
                except RecordError as err:
                    raise ExportFormatError(f"tools[{i}]: {err}") from None
            return tools
    raise ExportFormatError("no tool list found in the system prompt")


def _infer_type(
    call_turns: list[int],
    first_is_text: bool,
    user_after: bool,
    dependent: bool,
    errors: bool = False,
    session: bool = False,
) -> DialogType:
    if not call_turns:
        return "non_tool"
    if errors:
        return "tool_error"
    if first_is_text and user_after:
        return "clarify"
    if session:
        return "multi_request"
    if len(call_turns) >= 2 and dependent:
        return "dependent"
    if max(call_turns) >= 2:
        return "parallel"
    return "single"


def from_toolace(sample: Any) -> Dialog:
    """One ToolACE sample as a :class:`Dialog`; raises :class:`ExportFormatError` saying why not."""
    if not isinstance(sample, Mapping):
        raise ExportFormatError("a sample must be an object")
    system = sample.get("system", "")
    turns = sample.get("conversations")
    if not isinstance(system, str) or not isinstance(turns, list):
        raise ExportFormatError("a sample needs 'system' (string) and 'conversations' (list)")
    tools = tools_from_system(system)
    messages: list[Message] = []
    pending: list[ToolCall] = []
    call_turns: list[int] = []
    first_is_text: bool | None = None
    user_after = False
    n_calls = 0
    results: list[Any] = []
    later_args: list[Any] = []
    errors = False
    requests: list[tuple[int, list[Any]]] = []  # per user turn: results before it, its calls
    for i, turn in enumerate(turns):
        if not isinstance(turn, Mapping) or not isinstance(turn.get("value"), str):
            raise ExportFormatError(f"conversations[{i}]: needs 'from' and a string 'value'")
        role, value = turn.get("from"), turn["value"]
        if role in ("user", "human"):
            if first_is_text is not None:
                user_after = True
            requests.append((len(results), []))
            messages.append(Message("user", value))
        elif role in ("assistant", "gpt"):
            if detect_format(value) == "python":
                try:
                    calls = parse_tool_calls(value, "python")
                except ToolCallParseError as err:
                    raise ExportFormatError(f"conversations[{i}]: {err}") from None
                calls = [c.replace(id=f"call_{n_calls + k}") for k, c in enumerate(calls)]
                n_calls += len(calls)
                if call_turns:
                    later_args.extend(c.arguments for c in calls)
                if requests:
                    requests[-1][1].extend(c.arguments for c in calls)
                call_turns.append(len(calls))
                if first_is_text is None:
                    first_is_text = False
                pending = list(calls)
                messages.append(Message("assistant", None, tuple(calls)))
            else:
                if first_is_text is None:
                    first_is_text = True
                messages.append(Message("assistant", value))
        elif role in ("tool", "observation", "function"):
            try:
                payload = json.loads(value)
            except ValueError:
                raise ExportFormatError(f"conversations[{i}]: tool value is not JSON") from None
            entries = payload if isinstance(payload, list) else [payload]
            for entry in entries:
                if not pending:
                    raise ExportFormatError(
                        f"conversations[{i}]: a tool result without a pending call"
                    )
                name = entry.get("name") if isinstance(entry, Mapping) else None
                match = next((c for c in pending if c.name == name), pending[0])
                pending.remove(match)
                result = (
                    entry.get("results", entry)
                    if isinstance(entry, Mapping) and "results" in entry
                    else entry
                )
                errors = errors or error_of(result) is not None
                results.append(result)
                messages.append(tool_message(match, result))
        else:
            raise ExportFormatError(f"conversations[{i}]: unknown speaker {role!r}")
    dependent = reuses_result(results, later_args)
    served = [(before, args) for before, args in requests if args]
    session = len(served) >= 2 and any(
        reuses_result(results[:before], args) for before, args in served[1:]
    )
    kind = _infer_type(call_turns, bool(first_is_text), user_after, dependent, errors, session)
    return Dialog(kind, tuple(tools), tuple(messages), {"source": "toolace"})


def infer_type(messages: Sequence[Message]) -> DialogType:
    """The dialog type of imported messages, read from their shape as :func:`from_toolace`
    does: calls or not, a text turn answered by the user (clarify), tool errors, results reused
    by later calls (dependent) or by later requests (multi_request), several calls in a turn."""
    call_turns: list[int] = []
    first_is_text: bool | None = None
    user_after = False
    results: list[Any] = []
    later_args: list[Any] = []
    errors = False
    requests: list[tuple[int, list[Any]]] = []
    for m in messages:
        if m.role == "user":
            if first_is_text is not None:
                user_after = True
            requests.append((len(results), []))
        elif m.role == "assistant" and m.tool_calls:
            args = [c.arguments for c in m.tool_calls]
            if call_turns:
                later_args.extend(args)
            if requests:
                requests[-1][1].extend(args)
            call_turns.append(len(m.tool_calls))
            if first_is_text is None:
                first_is_text = False
        elif m.role == "assistant":
            if first_is_text is None:
                first_is_text = True
        elif m.role == "tool":
            result = _result(m)
            errors = errors or error_of(result) is not None
            results.append(result)
    dependent = reuses_result(results, later_args)
    served = [(before, args) for before, args in requests if args]
    session = len(served) >= 2 and any(
        reuses_result(results[:before], args) for before, args in served[1:]
    )
    return _infer_type(call_turns, bool(first_is_text), user_after, dependent, errors, session)


def _dialog(messages: Sequence[Message], tools: Sequence[ToolSpec], source: str) -> Dialog:
    return Dialog(infer_type(messages), tuple(tools), tuple(messages), {"source": source})


def _object(sample: Any) -> Mapping[str, Any]:
    if not isinstance(sample, Mapping):
        raise ExportFormatError("a sample must be an object")
    return sample


def _tools(entries: Any, field: str) -> list[ToolSpec]:
    if isinstance(entries, str):
        try:
            entries = json.loads(entries)
        except ValueError:
            raise ExportFormatError(f"{field}: not valid JSON") from None
    if not isinstance(entries, list):
        raise ExportFormatError(f"{field}: expected a list of tools")
    out = []
    for i, entry in enumerate(entries):
        try:
            out.append(read_api(entry))
        except RecordError as err:
            raise ExportFormatError(f"{field}[{i}]: {err}") from None
    return out


def _answer(pending: list[ToolCall], name: Any, result: Any, where: str) -> Message:
    if not pending:
        raise ExportFormatError(f"{where}: a tool result without a pending call")
    match = next((c for c in pending if c.name == name), pending[0])
    pending.remove(match)
    return tool_message(match, result)


def _calls(raw: Sequence[Any], first_id: int, where: str) -> list[ToolCall]:
    calls = []
    for k, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise ExportFormatError(f"{where}: a call needs a 'name'")
        args = entry.get("arguments", entry.get("parameters", {}))
        if isinstance(args, str):  # tolerated on import: some files write strings
            try:
                args = json.loads(args)
            except ValueError:
                raise ExportFormatError(f"{where}: arguments are not JSON") from None
        if not isinstance(args, Mapping):
            raise ExportFormatError(f"{where}: arguments must be an object")
        calls.append(ToolCall(entry["name"], dict(args), id=f"call_{first_id + k}"))
    return calls


def from_openai_row(sample: Any) -> Dialog:
    """An ``openai`` row (arguments as objects or strings) as a :class:`Dialog`; a ``type``
    key, when valid, is kept, else the type is inferred."""
    data = _object(sample)
    try:
        conv = Conversation.from_openai(dict(data))
    except RecordError as err:
        raise ExportFormatError(str(err)) from None
    dialog = _dialog(conv.messages, conv.tools, "openai")
    kind = data.get("type")
    return dialog.replace(type=kind) if kind in DIALOG_TYPES else dialog


def _turns(data: Mapping[str, Any]) -> list[tuple[int, str, str]]:
    turns = data.get("conversations")
    if not isinstance(turns, list):
        raise ExportFormatError("a sample needs 'conversations' (list)")
    out = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, Mapping) or not isinstance(turn.get("value"), str):
            raise ExportFormatError(f"conversations[{i}]: needs 'from' and a string 'value'")
        out.append((i, str(turn.get("from")), turn["value"]))
    return out


def from_sharegpt(sample: Any) -> Dialog:
    """A LLaMA-Factory ``sharegpt`` row as a :class:`Dialog`."""
    data = _object(sample)
    tools = _tools(data.get("tools", "[]"), "tools")
    messages: list[Message] = []
    if isinstance(data.get("system"), str) and data["system"]:
        messages.append(Message("system", data["system"]))
    pending: list[ToolCall] = []
    n_calls = 0
    for i, role, value in _turns(data):
        where = f"conversations[{i}]"
        if role == "human":
            messages.append(Message("user", value))
        elif role == "gpt":
            messages.append(Message("assistant", value))
        elif role == "function_call":
            try:
                raw = json.loads(value)
            except ValueError:
                raise ExportFormatError(f"{where}: the call is not JSON") from None
            calls = _calls(raw if isinstance(raw, list) else [raw], n_calls, where)
            n_calls += len(calls)
            pending = list(calls)
            messages.append(Message("assistant", None, tuple(calls)))
        elif role == "observation":
            try:
                raw = json.loads(value)
            except ValueError:
                raw = value
            several = isinstance(raw, list) and len(pending) > 1 and len(raw) == len(pending)
            for result in raw if several else [raw]:
                messages.append(
                    _answer(pending, pending[0].name if pending else None, result, where)
                )
        else:
            raise ExportFormatError(f"{where}: unknown speaker {role!r}")
    return _dialog(messages, tools, "sharegpt")


_TOOLS_BLOCK = re.compile(r"<tools>\s*(.*?)\s*</tools>", re.S)
_RESPONSE = re.compile(r"<tool_response>\s*(.*?)\s*</tool_response>", re.S)
_THINK = re.compile(r"^<think>.*?</think>\s*", re.S)


def from_hermes(sample: Any) -> Dialog:
    """A Hermes function-calling ShareGPT row as a :class:`Dialog`."""
    data = _object(sample)
    turns = _turns(data)
    tools: list[ToolSpec] = []
    messages: list[Message] = []
    pending: list[ToolCall] = []
    n_calls = 0
    for i, role, value in turns:
        where = f"conversations[{i}]"
        if role == "system":
            # The first non-empty <tools> block (instructions may name the tags first).
            body = next((b for b in _TOOLS_BLOCK.findall(value) if b.strip()), None)
            if body is None:
                messages.append(Message("system", value))
                continue
            try:
                entries = (
                    json.loads(body)
                    if body.startswith("[")
                    else [json.loads(line) for line in body.splitlines() if line.strip()]
                )
            except ValueError:
                raise ExportFormatError(f"{where}: the <tools> block is not JSON") from None
            tools = _tools(entries, f"{where}.tools")
            own = value.split("\n\n" + HERMES_SYSTEM.split("{tools}")[0], 1)
            if len(own) == 2 and own[0].strip():
                messages.append(Message("system", own[0]))
        elif role == "human":
            messages.append(Message("user", value))
        elif role == "gpt":
            text = _THINK.sub("", value)
            at = text.find("<tool_call>")
            if at < 0:
                messages.append(Message("assistant", text))
                continue
            try:
                parsed = parse_tool_calls(text[at:], "hermes")
            except ToolCallParseError as err:
                raise ExportFormatError(f"{where}: {err}") from None
            calls = [c.replace(id=f"call_{n_calls + k}") for k, c in enumerate(parsed)]
            n_calls += len(calls)
            pending = list(calls)
            content = text[:at].strip() or None
            messages.append(Message("assistant", content, tuple(calls)))
        elif role == "tool":
            found = _RESPONSE.findall(value)
            if not found:
                raise ExportFormatError(f"{where}: no <tool_response> block")
            for body in found:
                try:
                    entry = json.loads(body)
                except ValueError:
                    raise ExportFormatError(f"{where}: a tool response is not JSON") from None
                name = entry.get("name") if isinstance(entry, Mapping) else None
                result = entry.get("content", entry) if isinstance(entry, Mapping) else entry
                messages.append(_answer(pending, name, result, where))
        else:
            raise ExportFormatError(f"{where}: unknown speaker {role!r}")
    return _dialog(messages, tools, "hermes")


_FROM_XLAM = {v: k for k, v in _XLAM_TYPES.items()}


def from_xlam(sample: Any) -> Dialog:
    """An xLAM row as a single-turn :class:`Dialog` (the request and its calls)."""
    data = _object(sample)
    if not isinstance(data.get("query"), str):
        raise ExportFormatError("query: expected a string")
    try:
        raw_tools = json.loads(data.get("tools", "[]"))
        answers = json.loads(data.get("answers", "[]"))
    except (TypeError, ValueError):
        raise ExportFormatError("tools and answers must be JSON strings") from None
    if not isinstance(raw_tools, list) or not isinstance(answers, list):
        raise ExportFormatError("tools and answers must be JSON lists")
    tools = []
    for i, t in enumerate(raw_tools):
        params = t.get("parameters", {}) if isinstance(t, Mapping) else None
        if not isinstance(params, Mapping):
            raise ExportFormatError(f"tools[{i}]: parameters must be an object")
        properties: dict[str, Any] = {}
        required = []
        for name, spec in params.items():
            spec = dict(spec) if isinstance(spec, Mapping) else {}
            kind = str(spec.get("type", "str"))
            optional = kind.endswith(", optional")
            kind = kind.removesuffix(", optional").strip()
            spec["type"] = _FROM_XLAM.get(kind, kind)
            properties[name] = spec
            if not optional:
                required.append(name)
        schema = {"type": "object", "properties": properties, "required": required}
        tools += _tools([{**t, "parameters": schema}], f"tools[{i}]")
    calls = _calls(answers, 0, "answers")
    messages = [Message("user", data["query"])]
    if calls:
        messages.append(Message("assistant", None, tuple(calls)))
    return _dialog(messages, tools, "xlam")


IMPORTERS: dict[ExportFormat, Callable[[Any], Dialog]] = {
    "toolace": from_toolace,
    "openai": from_openai_row,
    "sharegpt": from_sharegpt,
    "hermes": from_hermes,
    "xlam": from_xlam,
}


def read_samples(path: str | Path) -> Iterator[tuple[int, Any]]:
    """``(position, sample)`` from a JSON array file or a JSONL file (position is 1-based)."""
    text = Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except ValueError as err:
            raise ExportFormatError(f"{path}: not valid JSON: {err}") from None
        yield from enumerate(data, start=1)
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield lineno, json.loads(line)
            except ValueError as err:
                yield lineno, ExportFormatError(f"{path}:{lineno}: not valid JSON: {err}")


def import_toolace(path: str | Path) -> tuple[list[Dialog], Counter[str], list[str]]:
    """Read ToolACE's data file; returns dialogs, counts, and ``path:item: reason`` for skips."""
    return import_rows(path, "toolace")


def import_rows(
    path: str | Path, fmt: ExportFormat = "toolace"
) -> tuple[list[Dialog], Counter[str], list[str]]:
    """Read a file in any export format (a JSON array or JSONL); returns dialogs, counts, and
    ``path:item: reason`` for each skipped sample."""
    try:
        read = IMPORTERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {sorted(IMPORTERS)}") from None
    dialogs: list[Dialog] = []
    stats: Counter[str] = Counter()
    errors: list[str] = []
    for pos, sample in read_samples(path):
        try:
            if isinstance(sample, ExportFormatError):
                raise sample
            dialog = read(sample)
        except (ExportFormatError, RecordError) as err:
            stats["skipped"] += 1
            errors.append(f"{path}:{pos}: {err}")
            continue
        stats["imported"] += 1
        stats[f"type:{dialog.type}"] += 1
        dialogs.append(dialog)
    return dialogs, stats, errors


__all__ = [
    "DEFAULT_ARGUMENTS",
    "EXPORTERS",
    "HERMES_SYSTEM",
    "IMPORTERS",
    "TOOLACE_MARKER",
    "Arguments",
    "ExportFormat",
    "ExportFormatError",
    "export",
    "from_hermes",
    "from_openai_row",
    "from_sharegpt",
    "from_toolace",
    "from_xlam",
    "import_rows",
    "import_toolace",
    "infer_type",
    "read_samples",
    "to_hermes",
    "to_openai",
    "to_sharegpt",
    "to_toolace",
    "to_xlam",
    "tools_from_system",
]
