"""Semantic rule checks: what a dialog says must fit what its tools did.

Each function returns ``(code, where, message)`` triples (the rule layer of
:mod:`ifrl.toolgen.verify` turns them into issues):

* :func:`float_integers` — ``call.integer_as_float``: an argument the schema types ``integer``
  written as a float (``5.0``); JSON Schema accepts it, BFCL's checker does not.
* :func:`result_fit` — ``dialog.result_call_mismatch`` (a tool turn names another function than
  the call its id answers) and ``consistency.result_id_mismatch`` (a result field named like an
  id argument of the call, ``hotel_id``, holds another id).
* :func:`answer_facts` / :func:`ungrounded_facts` — ``dialog.ungrounded_answer``: numbers, ids,
  dates, times, emails and names (capitalised words past a sentence's start) that an answer
  states must appear in the tool results, the user's turns or the call arguments before it.
* :func:`clarify_target` — ``dialog.clarify_wrong_parameter``: a clarifying question (an
  assistant question between two user turns, followed by calls) must name a required
  parameter whose value the user had not given yet and gives in the answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ifrl.core.records import Message, ToolCall, ToolSpec

Found = tuple[str, str, str]

_PATTERNS = (
    ("date", re.compile(r"\b\d{4}-\d{2}-\d{2}\b")),
    ("time", re.compile(r"\b\d{1,2}:\d{2}\b")),
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("url", re.compile(r"https?://\S+[\w/]")),
    ("id", re.compile(r"\b[A-Za-z]{1,4}\d{3,}[A-Za-z0-9]*\b")),
    ("number", re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?![\w])")),
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_CAPITAL = re.compile(r"[A-Z][\w'-]*")
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+")
_COMMON = frozenset(["I", "I'm", "I've", "I'll", "I'd", "OK", "Okay"])


def leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    else:
        yield value


def mentioned(value: Any, context: str) -> bool:
    """Whether a leaf value appears in the (lower-cased, space-normalised) ``context``."""
    if isinstance(value, str):
        needle = " ".join(value.lower().split())
        return not needle or needle in context
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return re.search(rf"(?<![\d.]){re.escape(str(value))}(?!\d)", context) is not None
    if isinstance(value, float):
        forms = {repr(value), f"{value:g}", f"{value:.2f}"}
        if value.is_integer():
            forms.add(str(int(value)))
        return any(re.search(rf"(?<![\d.]){re.escape(f)}(?!\d)", context) for f in forms)
    return True


def float_integers(schema: Any, value: Any, path: str = "") -> list[tuple[str, str]]:
    """``(path, message)`` for every integer-typed position of ``schema`` holding a float."""
    if not isinstance(schema, Mapping):
        return []
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "integer" in kinds and "number" not in kinds and isinstance(value, float):
        return [(path, f"integer written as a float ({value!r}); BFCL's checker rejects it")]
    out: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        props = schema.get("properties") or {}
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            out += float_integers(props.get(key), item, sub)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += float_integers(schema.get("items"), item, f"{path}[{i}]")
    return out


def result_fit(call: ToolCall, message: Message, payload: Any, where: str) -> list[Found]:
    """Whether the tool turn ``message`` (its parsed ``payload``) answers ``call``."""
    out: list[Found] = []
    if message.name and message.name != call.name:
        out.append(
            (
                "dialog.result_call_mismatch",
                where,
                f"the result of call {call.id!r} ({call.name}) is labelled {message.name!r}",
            )
        )
    if isinstance(payload, Mapping):
        for key, value in call.arguments.items():
            scalar = isinstance(value, (str, int))
            if key.endswith("_id") and key in payload and scalar and payload[key] != value:
                out.append(
                    (
                        "consistency.result_id_mismatch",
                        f"{where}.content.{key}",
                        f"{call.name} was called with {key}={value!r} but its result has "
                        f"{key}={payload[key]!r}",
                    )
                )
    return out


def answer_facts(text: str) -> list[tuple[str, str]]:
    """``(kind, fact)`` for every checkable fact an answer states (see the module docstring)."""
    found: list[tuple[str, str]] = []
    rest = text
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(rest):
            found.append((kind, m.group(0).rstrip(".,")))
        rest = pattern.sub(" ", rest)
    for sentence in _SENTENCE.split(rest):
        words = sentence.replace("(", " ").replace(")", " ").split()
        run: list[str] = []
        for i, raw in enumerate([*words, ""]):
            word = raw.strip(".,;:!?\"'")
            if word and _CAPITAL.fullmatch(word) and word not in _COMMON and i > 0:
                run.append(word)
                continue
            if run:
                found.append(("name", " ".join(run)))
            run = []
    return found


def _numbers(text: str) -> set[float]:
    return {float(x) for x in _NUMBER.findall(text.replace(",", ""))}


def ungrounded_facts(text: str, context: str) -> list[tuple[str, str]]:
    """The facts of ``text`` found nowhere in ``context`` (tool results, user turns, call
    arguments: raw text, matched case-insensitively; numbers compared by value)."""
    low = " ".join(context.lower().split())
    numbers = _numbers(context)
    missing = []
    for kind, fact in answer_facts(text):
        if kind == "number":
            literal = re.search(rf"(?<![\d.]){re.escape(fact.lower())}(?!\d)", low)
            if float(fact.replace(",", "")) not in numbers and literal is None:
                missing.append((kind, fact))  # (a literal match: a number inside a uuid)
        elif " ".join(fact.lower().split()) not in low:
            missing.append((kind, fact))
    return missing


def _names(param: str) -> set[str]:
    spaced = param.replace("_", " ").lower()
    forms = {param.lower(), spaced}
    if spaced.endswith(" id"):
        forms.add(spaced[:-3])
    if spaced.endswith(" list"):
        forms.add(spaced[:-5])
    return forms


def _named_parameters(
    text: str, calls: Sequence[ToolCall], tools: Mapping[str, ToolSpec]
) -> set[str]:
    """The parameters of the calls' tools that ``text`` names, longest name first (so ``end
    date`` names ``end_date``, not ``date``)."""
    question = " " + " ".join(text.lower().replace("_", " ").split()) + " "
    forms = sorted(
        {
            (form, p)
            for c in calls
            for p in (tools[c.name].properties if c.name in tools else ())
            for form in _names(p)
        },
        key=lambda fp: -len(fp[0]),
    )
    named = set()
    for form, param in forms:
        pattern = re.compile(rf"(?<![a-z0-9]){re.escape(form)}s?(?![a-z0-9])")
        if pattern.search(question):
            named.add(param)
            question = pattern.sub(" ", question)
    return named


def clarifying_questions(messages: Sequence[Message]) -> list[int]:
    """Indices of clarifying questions: an assistant question right after a user turn,
    answered by the user, then followed by calls."""
    out = []
    for i in range(1, len(messages) - 2):
        m, after = messages[i], messages[i + 2]
        if m.role != "assistant" or m.tool_calls or messages[i - 1].role != "user":
            continue
        if messages[i + 1].role != "user" or not (m.content or "").rstrip().endswith("?"):
            continue
        if after.role == "assistant" and after.tool_calls:
            out.append(i)
    return out


def missing_values(messages: Sequence[Message], i: int, tools: Mapping[str, ToolSpec]) -> set[str]:
    """The required parameters of the calls after question ``i`` whose values the user gave
    only in the answer to it."""
    before = " ".join(
        " ".join((x.content or "").lower().split())
        for x in messages[:i]
        if x.role in ("user", "tool")
    )
    answer = " ".join((messages[i + 1].content or "").lower().split())
    missing: set[str] = set()
    for call in messages[i + 2].tool_calls:
        api = tools.get(call.name)
        for name in api.required if api is not None else ():
            found = list(leaves(call.arguments.get(name)))
            given_before = all(mentioned(v, before) for v in found)
            if (
                name in call.arguments
                and not given_before
                and all(mentioned(v, answer) for v in found)
            ):
                missing.add(name)
    return missing


def clarify_target(messages: Sequence[Message], tools: Mapping[str, ToolSpec]) -> list[Found]:
    """Clarifying questions that do not ask for what the user left out (see the module
    docstring)."""
    out: list[Found] = []
    for i in clarifying_questions(messages):
        missing = missing_values(messages, i, tools)
        named = _named_parameters(messages[i].content or "", messages[i + 2].tool_calls, tools)
        if missing and not named & missing:
            out.append(
                (
                    "dialog.clarify_wrong_parameter",
                    f"messages[{i}]",
                    f"the question asks for none of the missing required values "
                    f"({', '.join(sorted(missing))})",
                )
            )
    return out


def context_text(messages: Sequence[Message]) -> str:
    """What an answer may draw facts from: the user turns, tool results and call arguments."""
    parts = []
    for m in messages:
        if m.role in ("user", "tool"):
            parts.append(m.content or "")
        for call in m.tool_calls:
            parts.append(json.dumps(call.arguments, ensure_ascii=False))
    return "\n".join(parts)


__all__ = [
    "answer_facts",
    "clarify_target",
    "clarifying_questions",
    "context_text",
    "float_integers",
    "leaves",
    "mentioned",
    "missing_values",
    "result_fit",
    "ungrounded_facts",
]
