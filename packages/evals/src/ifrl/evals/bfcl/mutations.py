"""Ground-truth answers rendered as model outputs, and systematic mutations of them.

Used to test a BFCL checker (ours, and the reference in ``bench/``): the ground truth must pass,
and every mutation class must fail with a known error type, or pass when it should (calls in
another order). Mutation classes:

``wrong_value``, ``missing_parameter``, ``extra_parameter``, ``swapped_order``, ``wrong_type``,
``wrong_function``, ``no_call`` (and ``spurious_call`` for the irrelevance categories).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ifrl.core.records import ToolCall
from ifrl.core.toolcalls import render_tool_calls
from ifrl.evals.bfcl.checker import PYTHON_TYPES, answer_type, check_call, checker_kind
from ifrl.evals.bfcl.data import BFCLEntry
from ifrl.evals.bfcl.decode import Style

__all__ = [
    "MUTATIONS",
    "NO_CALL_TEXT",
    "UNSATISFIABLE",
    "Case",
    "ground_truth_calls",
    "mutation_cases",
    "render_output",
]

MUTATIONS = (
    "wrong_value",
    "missing_parameter",
    "extra_parameter",
    "swapped_order",
    "wrong_type",
    "wrong_function",
    "no_call",
)
NO_CALL_TEXT = "I am sorry, none of the available functions can do that."
_EXTRA = "ifrl_extra_param"

# Entries of the BFCL v4 data that no output can pass under BFCL's own rules (the reference
# checker rejects their ground truth too; see bench/bfcl_checker_vs_reference.py).
UNSATISFIABLE: dict[str, str] = {
    "live_simple_106-63-0": "required array parameters have no possible answer at all ([])",
    "live_simple_112-68-0": "required array parameters have no possible answer at all ([])",
    "live_multiple_862-181-3": "the ground truth passes 'journey_start_time', which "
    "Trains_1_FindTrains does not document",
    "live_multiple_964-207-0": "the ground truth omits the required 'statement' and passes "
    "the undocumented 'question'",
}
_WRONG_NAME = "ifrl_wrong_function"


@dataclass(frozen=True, slots=True)
class Case:
    """One test output for an entry: which mutation, the output text, the expected verdict."""

    id: str
    mutation: str
    output: str
    valid: bool
    error_type: str = ""


def _first_option(options: Sequence[Any]) -> tuple[bool, Any]:
    for option in options:
        if option != "":
            return True, _concrete(option)
    return False, None


def _concrete(value: Any) -> Any:
    """A ground-truth option as a plain value (dict options hold per-key option lists)."""
    if isinstance(value, Mapping):
        out = {}
        for key, options in value.items():
            if isinstance(options, list):
                found, item = _first_option(options)
                if found:
                    out[key] = item
            else:
                out[key] = options
        return out
    if isinstance(value, list):
        return [_concrete(v) if isinstance(v, Mapping) else v for v in value]
    return value


def ground_truth_calls(entry: BFCLEntry) -> list[ToolCall]:
    """The ground truth as calls: each parameter takes its first option other than ``""``.

    An optional parameter (``""`` among its options) that the function's schema lacks is left
    out; a required parameter whose only option is ``""`` is given as the empty string (which
    BFCL's string normalisation accepts).
    """
    calls = []
    for answer in entry.ground_truth or []:
        name, params = next(iter(answer.items()))
        schema = _doc(entry, name).get("parameters", {})
        props = schema.get("properties", {})
        required = schema.get("required", [])
        args = {}
        for param, options in params.items():
            found, value = _first_option(options)
            if found and (param in props or "" not in options):
                args[param] = value
            elif not found and param in required and "" in options:
                kind = props.get(param, {}).get("type")
                args[param] = [] if kind in ("array", "tuple") else ""
        calls.append(ToolCall(name, args))
    return calls


def render_output(calls: Sequence[ToolCall], style: Style = "python") -> str:
    """Calls written as a model would in ``style``."""
    return render_tool_calls(calls, style)


def _dummy(schema: Mapping[str, Any]) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    return {
        "string": "x",
        "integer": 1,
        "float": 1.5,
        "boolean": True,
        "array": [],
        "tuple": [],
        "dict": {},
        "any": "x",
    }.get(schema.get("type", "string"), "x")


def _dummy_call(entry: BFCLEntry) -> ToolCall:
    if not entry.functions:
        return ToolCall("some_function", {"query": "x"})
    func = entry.functions[0]
    params = func.get("parameters", {})
    props = params.get("properties", {})
    args = {p: _dummy(props.get(p, {})) for p in params.get("required", [])}
    return ToolCall(func["name"], args)


def _doc(entry: BFCLEntry, name: str) -> Mapping[str, Any]:
    for func in entry.functions:
        if func["name"] == name:
            return func
    return entry.functions[0]


def _replace(calls: list[ToolCall], index: int, call: ToolCall) -> list[ToolCall]:
    return [call if i == index else c for i, c in enumerate(calls)]


def mutation_cases(entry: BFCLEntry, category: str, style: Style = "python") -> list[Case]:
    """The ground-truth case and every applicable mutation case for ``entry``."""
    if entry.ground_truth is None:
        return _relevance_cases(entry, category, style)
    kind = checker_kind(category)
    calls = ground_truth_calls(entry)
    cases = [Case(entry.id, "ground_truth", render_output(calls, style), True)]

    def add(mutation: str, mutated: list[ToolCall], error_type: str) -> None:
        if kind == "parallel" and error_type:
            error_type = "parallel_function_checker_no_order:cannot_find_match"
        cases.append(
            Case(entry.id, mutation, render_output(mutated, style), not error_type, error_type)
        )

    first = calls[0]
    name, options_by_param = next(iter(entry.ground_truth[0].items()))
    doc = _doc(entry, name)
    schema = doc.get("parameters", {})
    props = schema.get("properties", {})

    wrong = _wrong_value(first, props, options_by_param)
    if wrong is not None:
        add("wrong_value", _replace(calls, 0, wrong[0]), wrong[1])

    required = [p for p in schema.get("required", []) if p in first.arguments]
    needed = [p for p in first.arguments if "" not in options_by_param.get(p, [""])]
    if required or needed:
        drop = required[0] if required else needed[0]
        kept = {k: v for k, v in first.arguments.items() if k != drop}
        error = "missing_required" if required else "missing_optional"
        add(
            "missing_parameter",
            _replace(calls, 0, ToolCall(first.name, kept)),
            f"simple_function_checker:{error}",
        )

    extra = ToolCall(first.name, {**first.arguments, _EXTRA: 1})
    add("extra_parameter", _replace(calls, 0, extra), "simple_function_checker:unexpected_param")

    if kind == "parallel" and len(calls) > 1:
        # Calls are matched greedily in ground-truth order; reversing them is only sure to
        # pass when no ground-truth entry accepts another entry's call.
        if not _ambiguous(entry, calls):
            add("swapped_order", list(reversed(calls)), "")
    elif len(first.arguments) > 1:
        swapped = ToolCall(first.name, dict(reversed(list(first.arguments.items()))))
        add("swapped_order", _replace(calls, 0, swapped), "")

    typed = _wrong_type(first, props, options_by_param)
    if typed is not None:
        add("wrong_type", _replace(calls, 0, typed), "type_error:simple")

    add(
        "wrong_function",
        _replace(calls, 0, ToolCall(_WRONG_NAME, first.arguments)),
        "simple_function_checker:wrong_func_name",
    )
    cases.append(Case(entry.id, "no_call", NO_CALL_TEXT, False, "ast_decoder:decoder_failed"))
    return cases


def _ambiguous(entry: BFCLEntry, calls: Sequence[ToolCall]) -> bool:
    for i, answer in enumerate(entry.ground_truth or []):
        doc = _doc(entry, next(iter(answer)))
        for j, call in enumerate(calls):
            if i != j and check_call(doc, call, answer).valid:
                return True
    return False


def _relevance_cases(entry: BFCLEntry, category: str, style: Style) -> list[Case]:
    call_text = render_output([_dummy_call(entry)], style)
    if "irrelevance" in category:
        return [
            Case(entry.id, "ground_truth", NO_CALL_TEXT, True),
            Case(entry.id, "spurious_call", call_text, False, "irrelevance_error:decoder_success"),
        ]
    return [
        Case(entry.id, "ground_truth", call_text, True),
        Case(entry.id, "no_call", NO_CALL_TEXT, False, "relevance_error:decoder_failed"),
    ]


def _wrong_value(
    call: ToolCall, props: Mapping[str, Any], options_by_param: Mapping[str, Sequence[Any]]
) -> tuple[ToolCall, str] | None:
    """Replace the first scalar parameter by a value outside its options."""
    for param, value in call.arguments.items():
        type_name = props.get(param, {}).get("type")
        options = options_by_param.get(param, [])
        expected = PYTHON_TYPES.get(type_name or "")
        answer = answer_type(options)
        if type_name in ("string", "any") and answer is str:
            new: Any = "ifrl mutated value"
            error = "value_error:string"
        elif type_name == "boolean" and answer is bool and (not value) not in options:
            new, error = (not value), "value_error:others"
        elif type_name in ("integer", "float") and answer in (int, float) and expected:
            numbers = [o for o in options if type(o) in (int, float)]
            new = expected(max(numbers) + 7) if numbers else expected(7)
            error = "value_error:others"
        else:
            continue
        return ToolCall(call.name, {**call.arguments, param: new}), error
    return None


def _wrong_type(
    call: ToolCall, props: Mapping[str, Any], options_by_param: Mapping[str, Sequence[Any]]
) -> ToolCall | None:
    """Replace the first parameter whose options have the schema's type by a value of another."""
    for param in call.arguments:
        type_name = props.get(param, {}).get("type") or ""
        expected = PYTHON_TYPES.get(type_name)
        answer = answer_type(options_by_param.get(param, []))
        if expected is None or answer is None:
            continue
        if answer is not expected and not (expected is float and answer is int):
            continue
        new: Any = 12345 if expected is str else "ifrl"
        return ToolCall(call.name, {**call.arguments, param: new})
    return None
