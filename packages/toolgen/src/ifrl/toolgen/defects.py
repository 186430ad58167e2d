"""Planted defects: copies of a clean dialog with one known fault, to measure the verifier.

Each :class:`Defect` plants one fault and says who must catch it: ``rule_code``, the rule-layer
code (None when no rule can see it), and ``judge_check``, the judge check whose question the
fault breaks (None when it is a schema fault a judge is not asked about). :data:`DEFECTS` holds

* the semantic faults: ``swapped_arguments`` (two argument values trade places, as an origin and
  a destination: only a judge sees it), ``contradicting_answer`` (an answer's number, name or id
  changed), ``contradicting_status`` (an answer's status word changed: only a judge),
  ``result_id_mismatch`` (a result carries another id than its call), ``swapped_results`` (two
  results answer each other's calls), ``wrong_clarification`` (the question asks for a value the
  user gave) and ``integer_as_float`` (``5`` written ``5.0``);
* the schema and grounding faults: ``unknown_function``, ``missing_required``,
  ``unknown_argument``, ``wrong_type``, ``not_in_enum``, ``bad_format``, ``out_of_range`` (the
  user's text says the new value too, so only the schema is broken) and ``ungrounded_value``.

:func:`plant` applies one by name; it returns None when the dialog has no place for that fault.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ifrl.core.records import Message, ToolCall, ToolSpec
from ifrl.toolgen import phrasing as ph
from ifrl.toolgen.dialog import Dialog, error_of
from ifrl.toolgen.semantic import (
    answer_facts,
    clarifying_questions,
    context_text,
    missing_values,
    ungrounded_facts,
)
from ifrl.toolgen.tool_schema import value_issues
from ifrl.toolgen.world import CITIES, entity_id

Planter = Callable[[Dialog, random.Random], "Dialog | None"]
STATUSES = ("confirmed", "pending", "completed", "cancelled", "updated")
_PAIRS = (("origin", "destination"), ("start_date", "end_date"), ("city", "country"))


@dataclass(frozen=True)
class Defect:
    """A fault class: how to plant it and who must catch it."""

    name: str
    plant: Planter
    rule_code: str | None
    judge_check: str | None
    semantic: bool


def _calls(d: Dialog) -> list[tuple[int, int, ToolCall]]:
    return [(i, j, c) for i, m in enumerate(d.messages) for j, c in enumerate(m.tool_calls)]


def _with_call(d: Dialog, i: int, j: int, call: ToolCall) -> Dialog:
    m = d.messages[i]
    calls = list(m.tool_calls)
    calls[j] = call
    return _with_message(d, i, m.replace(tool_calls=tuple(calls)))


def _with_message(d: Dialog, i: int, message: Message) -> Dialog:
    messages = list(d.messages)
    messages[i] = message
    return d.replace(messages=tuple(messages))


def _user_text(d: Dialog) -> str:
    return " ".join((m.content or "") for m in d.messages if m.role == "user")


def _retell(d: Dialog, old: str, new: str) -> Dialog | None:
    """``d`` with the user's ``old`` (a whole word, said once) replaced by ``new``."""
    pattern = re.compile(rf"(?<![\w.-]){re.escape(old)}(?![\w-])")
    if len(pattern.findall(_user_text(d))) != 1:
        return None
    messages = [
        m.replace(content=pattern.sub(new, m.content or "")) if m.role == "user" else m
        for m in d.messages
    ]
    return d.replace(messages=tuple(messages))


def _api(d: Dialog, name: str) -> ToolSpec | None:
    return d.tool(name)


def _args_where(
    d: Dialog, test: Callable[[ToolSpec, str, Any], bool]
) -> list[tuple[int, int, ToolCall, str]]:
    out = []
    for i, j, call in _calls(d):
        api = _api(d, call.name)
        if api is None:
            continue
        out += [(i, j, call, k) for k, v in call.arguments.items() if test(api, k, v)]
    return out


def _set_arg(d: Dialog, i: int, j: int, call: ToolCall, key: str, value: Any) -> Dialog:
    return _with_call(d, i, j, call.replace(arguments={**call.arguments, key: value}))


def _schema(api: ToolSpec, key: str) -> dict[str, Any]:
    return dict(api.properties.get(key) or {})


def swapped_arguments(d: Dialog, rng: random.Random) -> Dialog | None:
    said = _user_text(d)
    found = []
    for i, j, call in _calls(d):
        api = _api(d, call.name)
        args = call.arguments
        keys = [
            k for k, v in args.items() if isinstance(v, str) and v in said and not k.endswith("_id")
        ]
        for a in keys:
            for b in keys:
                fits = (
                    api is not None
                    and not value_issues(_schema(api, a), args[b])
                    and not value_issues(_schema(api, b), args[a])
                )
                if a < b and args[a] != args[b] and fits:
                    found.append((any({a, b} == set(p) for p in _PAIRS), i, j, call, a, b))
    if not found:
        return None
    best = [f for f in found if f[0]] or found
    _, i, j, call, a, b = rng.choice(best)
    args = {**call.arguments, a: call.arguments[b], b: call.arguments[a]}
    return _with_call(d, i, j, call.replace(arguments=args))


def _last_answer(d: Dialog) -> int | None:
    last = len(d.messages) - 1
    m = d.messages[last]
    return (
        last
        if m.role == "assistant" and not m.tool_calls and "tool" in [x.role for x in d.messages]
        else None
    )


def contradicting_answer(d: Dialog, rng: random.Random) -> Dialog | None:
    i = _last_answer(d)
    if i is None:
        return None
    text = d.messages[i].content or ""
    context = context_text(d.messages[:i])
    facts = [(k, f) for k, f in answer_facts(text) if k in ("number", "name", "id")]
    rng.shuffle(facts)
    for kind, fact in facts:
        if kind == "number":
            new = str(round(float(fact) + rng.choice((1.3, 7, 12.5, 42)), 1)).removesuffix(".0")
        elif kind == "id":
            new = f"{fact[:2].upper()}{rng.randint(10000, 99999)}"
        else:
            new = f"{rng.choice(('Northgate', 'Bellwether', 'Quillon', 'Marisol'))} {fact.split()[-1]}"
        changed = text.replace(fact, new, 1)
        if changed != text and ungrounded_facts(changed, context):
            return _with_message(d, i, d.messages[i].replace(content=changed))
    return None


def contradicting_status(d: Dialog, rng: random.Random) -> Dialog | None:
    i = _last_answer(d)
    if i is None:
        return None
    text = d.messages[i].content or ""
    present = [s for s in STATUSES if re.search(rf"\b{s}\b", text)]
    if not present:
        return None
    old = rng.choice(present)
    new = rng.choice([s for s in STATUSES if s != old])
    return _with_message(
        d, i, d.messages[i].replace(content=re.sub(rf"\b{old}\b", new, text, count=1))
    )


def _results(d: Dialog) -> list[tuple[int, Any]]:
    out = []
    for i, m in enumerate(d.messages):
        if m.role == "tool":
            try:
                payload = json.loads(m.content or "null")
            except ValueError:
                continue
            if error_of(payload) is None:
                out.append((i, payload))
    return out


def result_id_mismatch(d: Dialog, rng: random.Random) -> Dialog | None:
    calls = {c.id: c for _, _, c in _calls(d)}
    found = []
    for i, payload in _results(d):
        call = calls.get(d.messages[i].tool_call_id)
        if call is None or not isinstance(payload, dict):
            continue
        found += [
            (i, payload, k)
            for k, v in call.arguments.items()
            if k.endswith("_id") and payload.get(k) == v
        ]
    if not found:
        return None
    i, payload, key = rng.choice(found)
    new = entity_id(key.removesuffix("_id"), rng)
    content = json.dumps({**payload, key: new}, ensure_ascii=False)
    return _with_message(d, i, d.messages[i].replace(content=content))


def swapped_results(d: Dialog, rng: random.Random) -> Dialog | None:
    for i, m in enumerate(d.messages):
        names = [c.name for c in m.tool_calls]
        if len(set(names)) < 2:
            continue
        tools = [k for k in range(i + 1, len(d.messages)) if d.messages[k].role == "tool"][
            : len(names)
        ]
        pairs = [
            (a, b)
            for a in tools
            for b in tools
            if a < b and d.messages[a].name != d.messages[b].name
        ]
        if pairs:
            a, b = rng.choice(pairs)
            ma, mb = d.messages[a], d.messages[b]
            d = _with_message(d, a, ma.replace(tool_call_id=mb.tool_call_id))
            return _with_message(d, b, mb.replace(tool_call_id=ma.tool_call_id))
    return None


def wrong_clarification(d: Dialog, rng: random.Random) -> Dialog | None:
    tools = {t.name: t for t in d.tools}
    for i in clarifying_questions(d.messages):
        missing = missing_values(d.messages, i, tools)
        if not missing:
            continue
        given = [k for c in d.messages[i + 2].tool_calls for k in c.arguments if k not in missing]
        label = ph.label(rng.choice(given)) if given else "preferred contact method"
        question = ph.fill(
            rng.choice(ph.CLARIFY_QUESTIONS),
            rng,
            label=label,
            a_label=ph.indefinite(label),
            action="go ahead",
        )
        return _with_message(d, i, d.messages[i].replace(content=question))
    return None


def integer_as_float(d: Dialog, rng: random.Random) -> Dialog | None:
    found = _args_where(
        d, lambda api, k, v: _schema(api, k).get("type") == "integer" and type(v) is int
    )
    if not found:
        return None
    i, j, call, key = rng.choice(found)
    return _set_arg(d, i, j, call, key, float(call.arguments[key]))


def unknown_function(d: Dialog, rng: random.Random) -> Dialog | None:
    found = _calls(d)
    if not found:
        return None
    i, j, call = rng.choice(found)
    return _with_call(d, i, j, call.replace(name=f"{call.name}_v2"))


def missing_required(d: Dialog, rng: random.Random) -> Dialog | None:
    found = _args_where(d, lambda api, k, v: k in api.required)
    if not found:
        return None
    i, j, call, key = rng.choice(found)
    return _with_call(
        d, i, j, call.replace(arguments={k: v for k, v in call.arguments.items() if k != key})
    )


def unknown_argument(d: Dialog, rng: random.Random) -> Dialog | None:
    found = _calls(d)
    if not found:
        return None
    i, j, call = rng.choice(found)
    return _set_arg(
        d, i, j, call, rng.choice(("priority_level", "verbose_mode", "region_code")), "high"
    )


def _retold(
    d: Dialog,
    rng: random.Random,
    test: Callable[[ToolSpec, str, Any], bool],
    new: Callable[[ToolSpec, str, Any], Any],
) -> Dialog | None:
    found = _args_where(d, test)
    rng.shuffle(found)
    for i, j, call, key in found:
        old, api = call.arguments[key], d.tool(call.name)
        if api is None:
            continue
        value = new(api, key, old)
        told = _retell(d, ph.render_value(old), ph.render_value(value))
        if told is not None:
            return _set_arg(told, i, j, call, key, value)
    return None


def wrong_type(d: Dialog, rng: random.Random) -> Dialog | None:
    return _retold(
        d,
        rng,
        lambda api, k, v: _schema(api, k).get("type") == "integer" and type(v) is int,
        lambda api, k, v: str(v),
    )


def not_in_enum(d: Dialog, rng: random.Random) -> Dialog | None:
    return _retold(
        d,
        rng,
        lambda api, k, v: isinstance(_schema(api, k).get("enum"), list) and isinstance(v, str),
        lambda api, k, v: "other",
    )


def bad_format(d: Dialog, rng: random.Random) -> Dialog | None:
    def reformat(api: ToolSpec, key: str, value: Any) -> Any:
        fmt = _schema(api, key).get("format")
        if fmt == "date":
            y, m, day = value.split("-")
            return f"{day}/{m}/{y}"
        if fmt == "time":
            return value.replace(":", "h")
        if fmt == "email":
            return value.replace("@", " at ")
        return value.split("://", 1)[-1].replace(".", " dot ")

    return _retold(
        d,
        rng,
        lambda api, k, v: (
            _schema(api, k).get("format") in ("date", "time", "email", "uri") and isinstance(v, str)
        ),
        reformat,
    )


def out_of_range(d: Dialog, rng: random.Random) -> Dialog | None:
    return _retold(
        d,
        rng,
        lambda api, k, v: "maximum" in _schema(api, k) and type(v) is int,
        lambda api, k, v: int(_schema(api, k)["maximum"]) + rng.choice((1, 5, 40)),
    )


def ungrounded_value(d: Dialog, rng: random.Random) -> Dialog | None:
    said = " ".join(context_text(d.messages).lower().split())

    def free(api: ToolSpec, key: str, value: Any) -> bool:
        schema = _schema(api, key)
        return (
            isinstance(value, str)
            and schema.get("type") == "string"
            and not {"enum", "format", "pattern"} & set(schema)
        )

    found = _args_where(d, free)
    if not found:
        return None
    i, j, call, key = rng.choice(found)
    fresh = [c.name for c in CITIES if c.name.lower() not in said]
    return _set_arg(d, i, j, call, key, rng.choice(fresh) if fresh else "Quillon Falls")


DEFECTS: dict[str, Defect] = {
    d.name: d
    for d in (
        Defect("swapped_arguments", swapped_arguments, None, "hallucination", True),
        Defect(
            "contradicting_answer",
            contradicting_answer,
            "dialog.ungrounded_answer",
            "faithfulness",
            True,
        ),
        Defect("contradicting_status", contradicting_status, None, "faithfulness", True),
        Defect(
            "result_id_mismatch",
            result_id_mismatch,
            "consistency.result_id_mismatch",
            "result_fit",
            True,
        ),
        Defect(
            "swapped_results", swapped_results, "dialog.result_call_mismatch", "result_fit", True
        ),
        Defect(
            "wrong_clarification",
            wrong_clarification,
            "dialog.clarify_wrong_parameter",
            "fulfilment",
            True,
        ),
        Defect("integer_as_float", integer_as_float, "call.integer_as_float", None, True),
        Defect(
            "unknown_function", unknown_function, "call.unknown_function", "hallucination", False
        ),
        Defect("missing_required", missing_required, "call.missing_required", "fulfilment", False),
        Defect(
            "unknown_argument", unknown_argument, "call.unknown_argument", "hallucination", False
        ),
        Defect("wrong_type", wrong_type, "call.wrong_type", None, False),
        Defect("not_in_enum", not_in_enum, "call.not_in_enum", None, False),
        Defect("bad_format", bad_format, "call.bad_format", None, False),
        Defect("out_of_range", out_of_range, "call.out_of_range", None, False),
        Defect(
            "ungrounded_value", ungrounded_value, "call.ungrounded_value", "hallucination", False
        ),
    )
}


def plant(dialog: Dialog, defect: str, rng: random.Random) -> Dialog | None:
    """``dialog`` with the named fault planted (None when it has no place for it); the copy's
    ``meta.planted`` names the fault."""
    try:
        found = DEFECTS[defect]
    except KeyError:
        raise ValueError(f"unknown defect {defect!r}; choose from {sorted(DEFECTS)}") from None
    planted = found.plant(dialog, rng)
    if planted is None:
        return None
    return planted.replace(meta={**planted.meta, "planted": defect})


__all__ = ["DEFECTS", "Defect", "plant"]
