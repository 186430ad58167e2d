"""The programmatic agents: a templated user, an assistant that follows the plan, and a tool
that answers from the API's response schema. Offline, seeded per dialog, with a known correct
answer: every argument value appears in the user's request, results echo the arguments they
share a name with."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ifrl.core.records import Message, ToolCall, ToolSpec
from ifrl.toolgen.apis import ApiInfo
from ifrl.toolgen.dialogs.agents import DialogState, Failure
from ifrl.toolgen.dialogs.plans import Plan, plan_rng
from ifrl.toolgen.tool_schema import SampleError, sample_value, value_issues


def render_value(value: Any) -> str:
    """How a query writes a value; the verifier's grounding check looks for exactly this."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        parts = [render_value(v) for v in value]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if isinstance(value, Mapping):
        return (
            "("
            + ", ".join(f"{k.replace('_', ' ')} {render_value(v)}" for k, v in value.items())
            + ")"
        )
    return str(value)


def phrase(api: ToolSpec, name: str, value: Any, info: ApiInfo | None = None) -> str:
    """One argument as a phrase of a request (``"in Paris"``, ``"with details"``); ``info``:
    the API's metadata when known (else read from ``api.meta``)."""
    phrases = (info or ApiInfo.of(api)).phrases
    template = phrases.get(name) or f"{name.replace('_', ' ')} {{v}}"
    if isinstance(value, bool):
        if "{flag}" in template:
            return template.replace("{flag}", "with" if value else "without")
        return f"{'with' if value else 'without'} {name.replace('_', ' ')}"
    return template.replace("{flag}", "with").replace("{v}", render_value(value))


def describe_request(
    api: ToolSpec, args: Mapping[str, Any], skip: Sequence[str] = (), info: ApiInfo | None = None
) -> str:
    """A request for ``api`` mentioning every argument (except ``skip``)."""
    info = info or ApiInfo.of(api)
    action = info.functionalities[0] if info.functionalities else api.name.replace("_", " ")
    parts = [phrase(api, k, v, info) for k, v in args.items() if k not in skip]
    return action + (" " + " ".join(parts) if parts else "")


_OPENERS = ("Can you", "Please", "Could you", "I need you to", "Help me")
_THEN = ("then", "after that", "and once you have it,")


class TemplateUser:
    """Writes requests from templates so every argument value appears in the text."""

    def open(self, states: Sequence[DialogState]) -> list[str | Failure]:
        return [self._open(s.plan) for s in states]

    def _open(self, plan: Plan) -> str:
        rng = plan_rng(plan.seed, plan.index, "user")
        opener = rng.choice(_OPENERS)
        end = "?" if opener in ("Can you", "Could you") else "."
        if plan.type in ("single", "non_tool"):
            api, args = plan.steps[0].calls[0]
            return f"{opener} {describe_request(api, args, info=plan.info(api))}{end}"
        if plan.type == "clarify":
            api, args = plan.steps[0].calls[0]
            request = describe_request(api, args, [plan.missing or ""], plan.info(api))
            return f"{opener} {request}{end}"
        if plan.type == "parallel":
            parts = [
                describe_request(api, args, info=plan.info(api))
                for api, args in plan.steps[0].calls
            ]
            return f"{opener} {'; also '.join(parts)}{end}"
        (p_api, p_args), (c_api, c_args) = plan.steps[0].calls[0], plan.steps[1].calls[0]
        dep = plan.dependency
        c_info = plan.info(c_api)
        rest = describe_request(c_api, c_args, [dep.argument if dep else ""], c_info)
        return (
            f"{opener} {describe_request(p_api, p_args, info=plan.info(p_api))}, "
            f"{rng.choice(_THEN)} {rest} for the first "
            f"{c_info.entity.replace('_', ' ') or 'result'} you find{end}"
        )

    def clarify(self, states: Sequence[DialogState]) -> list[str | Failure]:
        out: list[str | Failure] = []
        for s in states:
            api, args = s.plan.steps[0].calls[0]
            missing = s.plan.missing
            if missing is None or missing not in args:
                out.append(Failure("nothing to clarify"))
                continue
            out.append(f"Sure: {phrase(api, missing, args[missing], s.plan.info(api))}.")
        return out


def _lookup(value: Any, path: Sequence[str | int]) -> Any:
    for key in path:
        ok_list = (
            isinstance(key, int) and isinstance(value, list) and -len(value) <= key < len(value)
        )
        ok_map = isinstance(key, str) and isinstance(value, Mapping) and key in value
        if not (ok_list or ok_map):
            raise KeyError(key)
        value = value[key]  # type: ignore[index]
    return value


def _results(messages: Sequence[Message]) -> list[tuple[str, Any]]:
    out = []
    for m in messages:
        if m.role == "tool":
            try:
                out.append((m.name or "", json.loads(m.content or "null")))
            except ValueError:
                out.append((m.name or "", m.content))
    return out


def summarize_results(results: Sequence[tuple[str, Any]]) -> str:
    """A short answer that reports scalar fields of the tool results."""
    parts = []
    for name, result in results:
        facts = []
        if isinstance(result, Mapping):
            for key, value in result.items():
                if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                    facts.append(f"{key.replace('_', ' ')} {value}")
                elif isinstance(value, list) and value and isinstance(value[0], Mapping):
                    first = value[0]
                    label = next((str(v) for v in first.values() if isinstance(v, str)), "")
                    facts.append(f"{len(value)} {key.replace('_', ' ')} (first: {label})")
        parts.append(f"{name.replace('_', ' ')}: " + (", ".join(facts[:4]) or "done"))
    return "Here is what I found. " + "; ".join(parts) + "."


class PlannedAssistant:
    """Follows the plan: asks for the missing argument, makes the planned calls, then answers."""

    def respond(self, states: Sequence[DialogState]) -> list[Message | Failure]:
        return [self._respond(s) for s in states]

    def _respond(self, state: DialogState) -> Message | Failure:
        plan = state.plan
        if plan.type == "non_tool":
            wanted = plan.info(plan.unsupported).functionalities if plan.unsupported else ()
            action = wanted[0] if wanted else "do that"
            names = ", ".join(t.name for t in plan.tools)
            return Message(
                "assistant",
                f"I'm sorry, none of the available tools ({names}) can {action}, so I can't do "
                "that here.",
            )
        if plan.type == "clarify" and not state.asked:
            api, _ = plan.steps[0].calls[0]
            missing = plan.missing or ""
            desc = str((api.properties.get(missing) or {}).get("description", "")).rstrip(".")
            label = missing.replace("_", " ")
            return Message(
                "assistant",
                f"I can do that. Which {label} should I use?" + (f" ({desc})" if desc else ""),
            )
        if state.step < len(plan.steps):
            step = plan.steps[state.step]
            calls: list[ToolCall] = []
            for api, args in step.calls:
                args = dict(args)
                dep = plan.dependency
                if dep is not None and state.step == 1 and dep.argument in args:
                    results = _results(state.messages)
                    if not results:
                        return Failure("dependent call without an earlier result")
                    try:
                        args[dep.argument] = _lookup(results[-1][1], dep.path)
                    except KeyError:
                        return Failure("the earlier result lacks the value the next call needs")
                calls.append(ToolCall(api.name, args, f"call_{state.calls_made + len(calls)}"))
            return Message("assistant", None, tuple(calls))
        return Message("assistant", summarize_results(_results(state.messages)))


class SchemaTool:
    """Returns results sampled from the API's response schema (seeded per dialog and call).

    Result fields named like an argument echo that argument's value (an id stays the same id).
    """

    def execute(self, requests: Sequence[tuple[DialogState, ToolSpec, ToolCall]]) -> list[Any]:
        out: list[Any] = []
        for state, api, call in requests:
            rng = plan_rng(state.plan.seed, state.plan.index, f"tool:{call.id}")
            try:
                result = sample_value(api.responses or {"type": "object"}, rng)
            except SampleError as err:
                out.append(Failure(f"cannot simulate {api.name}: {err}"))
                continue
            if isinstance(result, dict):
                props = (api.responses or {}).get("properties", {})
                for key, value in call.arguments.items():
                    if key in props and not value_issues(props[key], value):
                        result[key] = value
            out.append(result)
        return out


__all__ = [
    "PlannedAssistant",
    "SchemaTool",
    "TemplateUser",
    "describe_request",
    "phrase",
    "render_value",
    "summarize_results",
]
