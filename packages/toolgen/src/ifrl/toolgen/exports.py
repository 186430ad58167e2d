"""The export formats: dialogs written for training, and ToolACE's released data read back.

* ``toolace`` — ToolACE's released shape: ``{"system": <instructions + tool list as JSON>,
  "conversations": [{"from": "user"|"assistant"|"tool", "value": ...}]}`` with calls written
  ``[func(a=1, b="x")]`` and tool turns ``[{"name": ..., "results": {...}}]``.
* ``openai`` — ``{"messages": [...], "tools": [...]}`` as OpenAI's chat API takes them.
* ``sharegpt`` — LLaMA-Factory's function-calling ShareGPT: ``conversations`` of
  ``human``/``function_call``/``observation``/``gpt`` turns, ``system`` and ``tools`` (a JSON
  string).

Thoughts (:attr:`~ifrl.toolgen.dialog.Dialog.thoughts`) are written only when asked for, and only
where the format has room: ``openai`` opens the assistant turn's content with
``<think>thought</think>`` (calls or text), ``sharegpt`` does so in ``gpt`` turns and drops them
in ``function_call`` turns (their value must be the call), ``toolace`` always drops them.

:func:`import_toolace` reads ToolACE's ``data.json`` (a JSON array, or JSONL) into
:class:`~ifrl.toolgen.dialog.Dialog` records. All tool calls go through
:mod:`ifrl.core.toolcalls`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from ifrl.core.errors import IfrlError, RecordError
from ifrl.core.records import Message, ToolCall, ToolSpec
from ifrl.core.toolcalls import (
    ToolCallParseError,
    ToolCallRenderError,
    detect_format,
    parse_tool_calls,
    render_tool_calls,
)
from ifrl.toolgen.apis import read_api
from ifrl.toolgen.dialog import Dialog, DialogType, error_of, tool_message
from ifrl.toolgen.verify import reuses_result

ExportFormat = Literal["toolace", "openai", "sharegpt"]

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


def to_openai(dialog: Dialog, *, thoughts: bool = False) -> dict[str, Any]:
    """``{"messages", "tools"}`` for OpenAI's chat API (arguments as JSON strings)."""
    return dialog.conversation(thoughts=thoughts).to_openai()


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


EXPORTERS: dict[ExportFormat, Callable[..., dict[str, Any]]] = {
    "toolace": to_toolace,
    "openai": to_openai,
    "sharegpt": to_sharegpt,
}


def export(
    dialogs: Iterator[Dialog] | Sequence[Dialog], fmt: ExportFormat, *, thoughts: bool = False
) -> Iterator[dict[str, Any] | ExportFormatError]:
    """Convert dialogs (with their thoughts where the format has room, when ``thoughts``);
    yields an :class:`ExportFormatError` in place of a sample that cannot be written."""
    try:
        convert = EXPORTERS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown export format {fmt!r}; choose from {sorted(EXPORTERS)}"
        ) from None
    for dialog in dialogs:
        try:
            yield convert(dialog, thoughts=thoughts)
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
    dialogs: list[Dialog] = []
    stats: Counter[str] = Counter()
    errors: list[str] = []
    for pos, sample in read_samples(path):
        try:
            if isinstance(sample, ExportFormatError):
                raise sample
            dialog = from_toolace(sample)
        except (ExportFormatError, RecordError) as err:
            stats["skipped"] += 1
            errors.append(f"{path}:{pos}: {err}")
            continue
        stats["imported"] += 1
        stats[f"type:{dialog.type}"] += 1
        dialogs.append(dialog)
    return dialogs, stats, errors


__all__ = [
    "EXPORTERS",
    "TOOLACE_MARKER",
    "ExportFormat",
    "ExportFormatError",
    "export",
    "from_toolace",
    "import_toolace",
    "read_samples",
    "to_openai",
    "to_sharegpt",
    "to_toolace",
    "tools_from_system",
]
