"""BFCL's multi-turn categories, checked on the calls (response-based, no back-end executed).

A multi-turn result (BFCL's result files) is a list with one entry per user turn, each a list of
the model's step outputs in that turn (raw text, or a decoded call list). bfcl-eval executes the
model's and the ground truth's calls on its Python back-ends and compares states and execution
results; we never execute anything, so the check compares the calls themselves:

1. a result that is not a list is ``multi_turn:inference_error``; one with another number of
   turns than the ground truth is ``multi_turn:force_terminated`` (as bfcl-eval);
2. steps are decoded as in the single-turn categories; a step that does not decode, or decodes
   to no call, is dropped (as bfcl-eval);
3. a turn whose ground truth has calls but where the model made none is
   ``multi_turn:empty_turn_model_response`` (as bfcl-eval);
4. every ground-truth call of a turn must be matched by a distinct call the model made in that
   turn or an earlier one (order-free, extra calls allowed: bfcl-eval's response check compares
   execution results the same way): same function, equal arguments once the documented defaults
   are filled in on both sides; otherwise ``multi_turn:call_mismatch`` names the missing calls.
   A model that reaches the same state by other calls fails here where bfcl-eval might pass it.
5. a turn whose ground truth is empty (the missing-function and missing-parameter turns):
   ``reference`` semantics do not check it (bfcl-eval does not); ``fixed`` fails a call made
   there (``multi_turn:irrelevance_error:decoder_success``).

Ground-truth calls are read with :func:`parse_ground_truth` (Python's parser, literals only;
positional arguments take the documented parameters in order).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any

from ifrl.core.records import ToolCall
from ifrl.core.toolcalls import ToolCallParseError
from ifrl.evals.bfcl.checker import CheckResult
from ifrl.evals.bfcl.data import BFCLEntry
from ifrl.evals.bfcl.decode import Style, decode_output

__all__ = ["parse_call", "parse_ground_truth", "score_multi_turn"]


def _params(functions: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {f["name"]: (f.get("parameters") or {}).get("properties") or {} for f in functions}


def parse_call(text: str, functions: Sequence[Mapping[str, Any]]) -> ToolCall:
    """One ground-truth call string (``mv(source='a', destination='b')``, ``sort('f')``) as a
    call; raises ``ValueError`` saying why not."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as err:
        raise ValueError(f"{text!r} is not a call: {err.msg}") from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"{text!r} is not a call of a named function")
    name = node.func.id
    order = list(_params(functions).get(name, {}))
    if len(node.args) > len(order):
        raise ValueError(f"{text!r}: more positional arguments than {name} documents")
    try:
        args = {order[i]: ast.literal_eval(a) for i, a in enumerate(node.args)}
        args.update({k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg})
    except ValueError:
        raise ValueError(f"{text!r}: an argument is not a literal") from None
    return ToolCall(name, args)


def parse_ground_truth(
    turns: Sequence[Sequence[str]], functions: Sequence[Mapping[str, Any]]
) -> tuple[tuple[ToolCall, ...], ...]:
    """The calls of every turn of a multi-turn ground truth."""
    return tuple(tuple(parse_call(c, functions) for c in turn) for turn in turns)


def _filled(
    call: ToolCall, params: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> dict[str, Any]:
    defaults = {
        k: s["default"]
        for k, s in params.get(call.name, {}).items()
        if isinstance(s, Mapping) and "default" in s
    }
    return {**defaults, **call.arguments}


def _decode_turn(turn: Any, style: Style) -> list[ToolCall]:
    steps = turn if isinstance(turn, list) and not _is_call_list(turn) else [turn]
    calls: list[ToolCall] = []
    for step in steps:
        try:
            calls += decode_output(step, style)
        except ToolCallParseError:
            continue
    return calls


def _is_call_list(value: list[Any]) -> bool:
    """A decoded call list (``[{name: args}]``) rather than a list of steps."""
    return bool(value) and all(isinstance(v, Mapping) for v in value)


def score_multi_turn(
    entry: BFCLEntry, result: Any, *, style: Style = "python", semantics: str = "reference"
) -> CheckResult:
    """The verdict on one multi-turn result (see the module docstring)."""
    truth = entry.turns
    if truth is None:
        raise ValueError(f"{entry.id}: no multi-turn ground truth")
    if not isinstance(result, list):
        return CheckResult(
            False,
            "multi_turn:inference_error",
            "the result is not a list of turns (multi-turn results come from a run with "
            "BFCL's execution loop)",
        )
    if len(result) != len(truth):
        return CheckResult(
            False,
            "multi_turn:force_terminated",
            f"{len(result)} turns in the result, {len(truth)} in the ground truth",
        )
    params = _params(entry.functions)
    made: list[dict[str, Any]] = []
    for t, (turn, wanted) in enumerate(zip(result, truth)):
        calls = _decode_turn(turn, style)
        made += [{"name": c.name, "arguments": _filled(c, params)} for c in calls]
        if not wanted:
            if semantics == "fixed" and calls:
                return CheckResult(
                    False,
                    "multi_turn:irrelevance_error:decoder_success",
                    f"turn {t}: calls were made where the function or a value is missing",
                )
            continue
        if not calls:
            return CheckResult(
                False, "multi_turn:empty_turn_model_response", f"turn {t}: no call was made"
            )
        pool = list(made)
        missing = []
        for call in wanted:
            target = {"name": call.name, "arguments": _filled(call, params)}
            if target in pool:
                pool.remove(target)
            else:
                missing.append(call)
        if missing:
            shown = "; ".join(f"{c.name}({c.arguments})" for c in missing[:3])
            return CheckResult(
                False, "multi_turn:call_mismatch", f"turn {t}: no matching call for {shown}"
            )
    return CheckResult(True)
