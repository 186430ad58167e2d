"""Our AST checker for the Berkeley Function-Calling Leaderboard (BFCL) AST categories.

It reproduces BFCL's documented scoring rules on decoded calls (a list of
:class:`~ifrl.core.records.ToolCall`), so a score here equals the leaderboard's score:

* **count**: a simple category expects exactly one call; ``multiple`` and ``parallel`` categories
  expect as many calls as the ground truth has.
* **name**: the called function must be the documented one (``underscore_to_dot`` turns ``a.b``
  into ``a_b`` for APIs that forbid dots in tool names).
* **parameters**: every required parameter present; no parameter outside the schema or the
  ground truth; a ground-truth parameter whose options lack ``""`` (the "optional" marker)
  must be given.
* **types**: the schema type maps to a Python type (``any`` counts as a string, ``tuple`` as a
  list); an int is accepted for a float; arrays check their items one level deep; a value whose
  type is the ground truth's (a variable name given as a string) is accepted as is.
* **values**: strings compare after BFCL's normalisation (case, spaces and ``,./-_*^`` ignored,
  ``'`` read as ``"``); lists compare element-wise with the same string normalisation; dicts
  compare key by key against per-key options; lists of dicts item by item; anything else
  must equal one of the options.
* **order**: ``parallel`` categories match calls to ground-truth entries in any order (each
  entry takes the first unmatched call that passes, in order).

Every failure carries BFCL's error type (``simple_function_checker:missing_required``,
``type_error:simple``, ``value_error:string``, ...), so our failure breakdowns line up with the
leaderboard's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from ifrl.core.records import ToolCall

__all__ = [
    "PYTHON_TYPES",
    "CheckResult",
    "answer_type",
    "check_ast",
    "check_call",
    "checker_kind",
    "standardize_string",
]

PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_ITEM_CHECKED = ("array", "tuple")
_IGNORED_CHARS = re.compile(r"[ ,./\-_*^]")

GroundTruth = Sequence[Mapping[str, Mapping[str, Sequence[Any]]]]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict on one sample: ``valid``, BFCL's ``error_type`` ("" when valid) and why."""

    valid: bool
    error_type: str = ""
    error: str = ""


OK = CheckResult(True)


def _fail(error_type: str, error: str) -> CheckResult:
    return CheckResult(False, error_type, error)


def standardize_string(text: str) -> str:
    """BFCL's string normalisation: drop spaces and ``,./-_*^``, lower-case, ``'`` → ``"``."""
    return _IGNORED_CHARS.sub("", text).lower().replace("'", '"')


def _std(value: Any) -> Any:
    return standardize_string(value) if type(value) is str else value


def checker_kind(category: str) -> str:
    """``parallel``, ``multiple`` or ``simple``: which count/order rule a category follows."""
    if "parallel" in category:
        return "parallel"
    if "multiple" in category:
        return "multiple"
    return "simple"


def check_ast(
    functions: Sequence[Mapping[str, Any]],
    calls: Sequence[ToolCall],
    ground_truth: GroundTruth,
    category: str,
    *,
    underscore_to_dot: bool = False,
) -> CheckResult:
    """Check decoded ``calls`` against a BFCL entry's ``ground_truth`` for ``category``.

    ``functions`` is the entry's ``function`` list; ``ground_truth`` its possible answers, one
    ``{function_name: {param: [options...]}}`` per expected call.
    """
    kind = checker_kind(category)
    if kind == "parallel":
        return _check_parallel(functions, calls, ground_truth, underscore_to_dot)
    if kind == "multiple":
        if len(calls) != len(ground_truth):
            return _fail(
                "multiple_function_checker:wrong_count",
                f"expected {len(ground_truth)} call(s), got {len(calls)}",
            )
        doc = _find_doc(functions, _expected_name(ground_truth[0]))
        return check_call(doc, calls[0], ground_truth[0], underscore_to_dot=underscore_to_dot)
    if len(calls) != 1:
        return _fail("simple_function_checker:wrong_count", f"expected 1 call, got {len(calls)}")
    return check_call(functions[0], calls[0], ground_truth[0], underscore_to_dot=underscore_to_dot)


def _expected_name(answer: Mapping[str, Any]) -> str:
    return next(iter(answer))


def _find_doc(functions: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    for doc in functions:
        if doc.get("name") == name:
            return doc
    raise ValueError(f"the ground truth calls {name!r}, which no function description documents")


def _check_parallel(
    functions: Sequence[Mapping[str, Any]],
    calls: Sequence[ToolCall],
    ground_truth: GroundTruth,
    underscore_to_dot: bool,
) -> CheckResult:
    if len(calls) != len(ground_truth):
        return _fail(
            "parallel_function_checker_no_order:wrong_count",
            f"expected {len(ground_truth)} call(s), got {len(calls)}",
        )
    used: set[int] = set()
    for i, answer in enumerate(ground_truth):
        doc = _find_doc(functions, _expected_name(answer))
        reasons = []
        for j, call in enumerate(calls):
            if j in used:
                continue
            result = check_call(doc, call, answer, underscore_to_dot=underscore_to_dot)
            if result.valid:
                used.add(j)
                break
            reasons.append(f"call {j}: {result.error_type}: {result.error}")
        else:
            return _fail(
                "parallel_function_checker_no_order:cannot_find_match",
                f"no call matches expected call {i} ({_expected_name(answer)}); "
                + "; ".join(reasons),
            )
    return OK


def check_call(
    doc: Mapping[str, Any],
    call: ToolCall,
    answer: Mapping[str, Mapping[str, Sequence[Any]]],
    *,
    underscore_to_dot: bool = False,
) -> CheckResult:
    """Check one call against one function description and one ground-truth entry."""
    options_by_param = next(iter(answer.values()))
    name = doc["name"]
    if underscore_to_dot:
        name = name.replace(".", "_")
    if call.name != name:
        return _fail(
            "simple_function_checker:wrong_func_name",
            f"expected a call of {name!r}, got {call.name!r}",
        )
    schema = doc.get("parameters", {})
    properties: Mapping[str, Any] = schema.get("properties", {})
    args = call.arguments
    for param in schema.get("required", []):
        if param not in args:
            return _fail(
                "simple_function_checker:missing_required", f"missing required parameter {param!r}"
            )
    for param, raw_value in args.items():
        if param not in properties or param not in options_by_param:
            return _fail(
                "simple_function_checker:unexpected_param", f"unexpected parameter {param!r}"
            )
        result = _check_param(param, raw_value, properties[param], options_by_param[param])
        if not result.valid:
            return result
    for param, options in options_by_param.items():
        if param not in args and "" not in options:
            return _fail(
                "simple_function_checker:missing_optional",
                f"parameter {param!r} is required by the ground truth but not given",
            )
    return OK


def _check_param(
    param: str, value: Any, details: Mapping[str, Any], options: Sequence[Any]
) -> CheckResult:
    type_name = details.get("type", "")
    expected = PYTHON_TYPES.get(type_name)
    if expected is None:
        return _fail("type_error:unknown_schema_type", f"{param!r} has schema type {type_name!r}")
    item_type: type | None = None
    if type_name in _ITEM_CHECKED:
        item_type = PYTHON_TYPES.get(details.get("items", {}).get("type", ""))
    if type_name == "tuple" and type(value) is tuple:
        value = list(value)
    if type_name == "float" and type(value) is int:
        value = float(value)

    failure, is_variable = _check_type(param, value, options, type_name, expected, item_type)
    if failure is not None:
        return failure
    if not is_variable:
        if expected is dict:
            return _check_dict(param, value, options)
        if expected is list and item_type is dict:
            return _check_list_of_dicts(param, value, options)
        if expected is str:
            return _check_string(param, value, options)
        if expected is list:
            return _check_list(param, value, options)
    if value not in options:
        return _fail("value_error:others", f"{param!r}: {value!r} is not one of {list(options)!r}")
    return OK


def answer_type(options: Sequence[Any]) -> type | None:
    """The type of the first ground-truth option that is not the optional marker ``""``."""
    for option in options:
        if option != "":
            return type(option)
    return None


def _check_type(
    param: str,
    value: Any,
    options: Sequence[Any],
    type_name: str,
    expected: type,
    item_type: type | None,
) -> tuple[CheckResult | None, bool]:
    """(failure or None, is_variable). A variable is a value typed like the ground truth."""
    answered = answer_type(options)
    is_variable = answered is not None and answered is not expected
    if type(value) is expected:
        if item_type is None:
            return None, is_variable
        items = cast("list[Any]", value)
        for option in options:
            if type(option) is not list or all(_item_ok(v, option, item_type) for v in items):
                return None, is_variable
        if answered is not None and type(value) is answered:
            return (
                _fail(
                    "type_error:nested",
                    f"{param!r}: items of {value!r} are not all of type {item_type.__name__}",
                ),
                True,
            )
        return _type_failure(param, value, type_name), False
    if answered is not None and type(value) is answered:
        return None, True
    return _type_failure(param, value, type_name), False


def _type_failure(param: str, value: Any, type_name: str) -> CheckResult:
    return _fail(
        "type_error:simple",
        f"{param!r} must be of type {type_name}, got {type(value).__name__} {value!r}",
    )


def _item_ok(item: Any, option: Sequence[Any], item_type: type) -> bool:
    if type(item) is item_type:
        return True
    answered = answer_type(option)
    return answered is not None and type(item) is answered


def _check_string(param: str, value: str, options: Sequence[Any]) -> CheckResult:
    wanted = [standardize_string(o) for o in options if type(o) is str]
    if standardize_string(value) not in wanted:
        return _fail(
            "value_error:string",
            f"{param!r}: {value!r} is not one of {list(options)!r} (case-insensitive)",
        )
    return OK


def _check_list(param: str, value: list[Any], options: Sequence[Any]) -> CheckResult:
    got = [_std(v) for v in value]
    # An option that is a string (the optional marker "") is compared as its characters.
    candidates = [[_std(v) for v in o] for o in options if isinstance(o, (list, tuple, str))]
    if got not in candidates:
        return _fail(
            "value_error:list/tuple", f"{param!r}: {value!r} is not one of {list(options)!r}"
        )
    return OK


def _check_dict(param: str, value: Any, options: Sequence[Any]) -> CheckResult:
    result = _fail("dict_checker:unclear", f"{param!r}: no dict option to compare with")
    if not isinstance(value, Mapping):
        return _fail("value_error:dict_value", f"{param!r}: {value!r} is not a dict")
    for option in options:
        if option == "" or not isinstance(option, Mapping):
            continue
        failure: CheckResult | None = None
        for key, item in value.items():
            if key not in option:
                failure = _fail("value_error:dict_key", f"{param!r}: unexpected dict key {key!r}")
                break
            if _std(item) not in [_std(o) for o in option[key]]:
                failure = _fail(
                    "value_error:dict_value",
                    f"{param!r}[{key!r}]: {item!r} is not one of {list(option[key])!r}",
                )
                break
        for key, key_options in option.items():
            if key not in value and "" not in key_options:
                failure = _fail("value_error:dict_key", f"{param!r}: missing dict key {key!r}")
                break
        if failure is None:
            return OK
        result = failure
    return result


def _check_list_of_dicts(param: str, value: list[Any], options: Sequence[Any]) -> CheckResult:
    result = _fail("list_dict_checker:unclear", f"{param!r}: no list option to compare with")
    for option in options:
        if not isinstance(option, (list, tuple, str)):
            continue
        if len(value) != len(option):
            result = _fail(
                "value_error:list_dict_count",
                f"{param!r}: {len(value)} dicts where {len(option)} are expected",
            )
            continue
        failed = None
        for item, expected in zip(value, option):
            item_result = _check_dict(param, item, [expected])
            if not item_result.valid:
                failed = item_result
                break
        if failed is None:
            return OK
        result = failed
    return result
