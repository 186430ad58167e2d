"""JSON Schema helpers for tool definitions: normalising, checking, validating and sampling values.

* :func:`normalize_schema` turns the loose schemas found in released data (BFCL/ToolACE
  ``"type": "dict"``, Python type names, ``"required": null``) into JSON Schema.
* :func:`schema_problems` checks a function's parameter schema against the JSON Schema
  meta-schema (draft 2020-12) and our clarity rules.
* :func:`value_issues` validates a value against a schema and classifies every violation into a
  short code (``wrong_type``, ``not_in_enum``, ``bad_format``, ``out_of_range``...).
* :func:`sample_value` draws a value that fits a schema (type, enum, format, range, pattern,
  nested arrays and objects) from a seeded :class:`random.Random`.

Schema ``pattern`` and ``patternProperties`` regexes come from data, so they run with a time
budget (:data:`PATTERN_TIMEOUT_S` per match, the ``regex`` package's timeout): a pattern that
backtracks catastrophically (``^(a|a)*$`` on 30 ``a``'s and a ``!``) ends in a
``pattern_timeout`` issue instead of running for minutes. Python's ``re`` never sees them.
"""

from __future__ import annotations

import datetime as _dt
import json
import random
import re
import string
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.validators
import regex
from jsonschema import Draft202012Validator, FormatChecker

from ifrl.core.errors import IfrlError

JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
_TYPE_ALIASES = {
    "dict": "object",
    "str": "string",
    "int": "integer",
    "float": "number",
    "double": "number",
    "long": "integer",
    "bool": "boolean",
    "list": "array",
    "tuple": "array",
    "any": None,
    "none": "null",
}


class SampleError(IfrlError, ValueError):
    """No value fitting the schema could be drawn (e.g. an unsupported ``pattern``)."""


# --------------------------------------------------------------------------------------------
# Normalising released schemas


def normalize_schema(schema: Any) -> Any:
    """A JSON Schema equivalent of a loosely written one (returns a new object)."""
    if isinstance(schema, list):
        return [normalize_schema(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            norm = _normalize_type(value)
            if norm is not None:
                out["type"] = norm
        elif key == "required":
            if isinstance(value, list) and value:
                out["required"] = [v for v in value if isinstance(v, str)]
            # "required": null / false / [] in released data mean "nothing required"
        elif key in ("properties", "$defs", "definitions", "patternProperties"):
            if isinstance(value, Mapping):
                out[key] = {k: normalize_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "contains") or key in (
            "anyOf",
            "oneOf",
            "allOf",
            "prefixItems",
        ):
            out[key] = normalize_schema(value)
        else:
            out[key] = value
    if (
        out.get("type") == "object"
        and "properties" not in out
        and "additionalProperties" not in out
    ):
        out["properties"] = {}
    return out


def _normalize_type(value: Any) -> Any:
    if isinstance(value, str):
        low = value.strip().lower()
        return _TYPE_ALIASES.get(low, low) if low not in JSON_TYPES else low
    if isinstance(value, list):
        types = [_normalize_type(v) for v in value]
        return [t for t in types if t is not None] or None
    return value


# --------------------------------------------------------------------------------------------
# Formats (our own checks, so results do not depend on optional jsonschema extras)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?")
_PHONE = re.compile(r"\+?[0-9][0-9 -]{6,18}[0-9]")


def _is_date(value: str) -> bool:
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _is_datetime(value: str) -> bool:
    try:
        _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value or " " in value


def _is_ipv4(value: str) -> bool:
    parts = value.split(".")
    return len(parts) == 4 and all(
        p.isdigit() and 0 <= int(p) <= 255 and p == str(int(p)) for p in parts
    )


FORMAT_CHECKS: dict[str, Any] = {
    "date": _is_date,
    "date-time": _is_datetime,
    "time": lambda v: _TIME.fullmatch(v) is not None,
    "email": lambda v: _EMAIL.fullmatch(v) is not None,
    "uri": lambda v: _URI.fullmatch(v) is not None,
    "url": lambda v: _URI.fullmatch(v) is not None,
    "uuid": lambda v: _UUID.fullmatch(v) is not None,
    "ipv4": _is_ipv4,
    "phone": lambda v: _PHONE.fullmatch(v) is not None,
}

_FORMAT_CHECKER = FormatChecker(formats=())
for _name, _check in FORMAT_CHECKS.items():
    _FORMAT_CHECKER.checks(_name)(
        lambda value, _c=_check: not isinstance(value, str) or bool(_c(value))
    )


# --------------------------------------------------------------------------------------------
# Checking definitions


def schema_problems(parameters: Any) -> list[str]:
    """Problems of a function's ``parameters`` schema; empty when it is valid and clear.

    Checks the JSON Schema meta-schema (draft 2020-12), that the root is an object schema, that
    ``required`` names declared properties, and that ``default``/``enum`` values fit their own
    schema.
    """
    if not isinstance(parameters, Mapping):
        return [f"parameters must be an object schema, got {type(parameters).__name__}"]
    problem = meta_schema_problem(parameters)
    if problem is not None:
        return [problem]
    problems: list[str] = []
    if parameters.get("type") != "object":
        problems.append("the root of parameters must have type 'object'")
    _walk_problems(parameters, "parameters", problems)
    return problems


def meta_schema_problem(schema: Mapping[str, Any]) -> str | None:
    """Why ``schema`` is not a valid JSON Schema (draft 2020-12), or ``None``.

    Property subschemas are checked one by one and the answers cached, since pools reuse them.
    """
    props = schema.get("properties")
    if isinstance(props, Mapping):
        for name, sub in props.items():
            found = _meta_problem(json.dumps(sub, sort_keys=True, default=str))
            if found is not None:
                path, message = found
                where = f"properties/{name}" + (f"/{path}" if path else "")
                return f"not a valid JSON Schema at {where}: {message}"
        schema = {k: v for k, v in schema.items() if k != "properties"}
    required = schema.get("required")
    if isinstance(required, list) and all(isinstance(r, str) for r in required):
        if len(set(required)) != len(required):
            return "not a valid JSON Schema at required: has repeated names"
        schema = {k: v for k, v in schema.items() if k != "required"}
    found = _meta_problem(json.dumps(schema, sort_keys=True, default=str))
    if found is not None:
        return f"not a valid JSON Schema at {found[0] or '<root>'}: {found[1]}"
    return None


@lru_cache(maxsize=65536)
def _meta_problem(schema_json: str) -> tuple[str, str] | None:
    try:
        Draft202012Validator.check_schema(json.loads(schema_json))
    except jsonschema.SchemaError as err:
        return "/".join(str(p) for p in err.absolute_path), err.message
    return None


def _walk_problems(schema: Mapping[str, Any], where: str, problems: list[str]) -> None:
    props = schema.get("properties")
    if isinstance(props, Mapping):
        for name in schema.get("required", []) or []:
            if name not in props:
                problems.append(f"{where}.required names {name!r}, which is not a property")
        for name, sub in props.items():
            if isinstance(sub, Mapping):
                _walk_problems(sub, f"{where}.{name}", problems)
    items = schema.get("items")
    if isinstance(items, Mapping):
        _walk_problems(items, f"{where}[]", problems)
    for key in ("default",):
        if key in schema:
            sub = {k: v for k, v in schema.items() if k != "default"}
            if value_issues(sub, schema[key]):
                problems.append(f"{where}.default does not fit its own schema")
    if "enum" in schema and isinstance(schema["enum"], list):
        sub = {k: v for k, v in schema.items() if k not in ("enum", "default")}
        for v in schema["enum"]:
            if value_issues(sub, v):
                problems.append(f"{where}.enum value {v!r} does not fit the declared type")
                break


# --------------------------------------------------------------------------------------------
# Patterns from data, with a time budget

#: Seconds one regex match of a schema pattern may take (checked by the ``regex`` engine, so
#: a match can overrun it by a fraction).
PATTERN_TIMEOUT_S = 0.05


@lru_cache(maxsize=2048)
def _compiled(pattern: str) -> Any:
    return regex.compile(pattern)


@lru_cache(maxsize=8192)
def pattern_search(pattern: str, value: str) -> bool | None:
    """Whether ``pattern`` matches somewhere in ``value`` (JSON Schema's ``pattern``), or
    ``None`` when the match ran past :data:`PATTERN_TIMEOUT_S` seconds.

    Raises ``regex.error`` for a pattern that does not compile.
    """
    try:
        return _compiled(pattern).search(value, timeout=PATTERN_TIMEOUT_S) is not None
    except TimeoutError:
        return None


def _timeout_error(pattern: str, value: str) -> jsonschema.ValidationError:
    return jsonschema.ValidationError(
        f"pattern {pattern[:80]!r} did not finish within {PATTERN_TIMEOUT_S} s on a "
        f"{len(value)}-character value (catastrophic backtracking); the value is not accepted",
        validator="pattern_timeout",  # type: ignore[arg-type]
    )


def _pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "string"):
        return
    found = pattern_search(patrn, instance)
    if found is None:
        yield _timeout_error(patrn, instance)
    elif not found:
        shown = instance if len(instance) <= 80 else instance[:77] + "..."
        yield jsonschema.ValidationError(f"{shown!r} does not match {patrn!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for patrn, subschema in patterns.items():
        for key, value in instance.items():
            found = pattern_search(patrn, key)
            if found is None:
                yield _timeout_error(patrn, key)
            elif found:
                yield from validator.descend(value, subschema, path=key, schema_path=patrn)


_ADDITIONAL = Draft202012Validator.VALIDATORS["additionalProperties"]


def _additional_properties(validator: Any, ap: Any, instance: Any, schema: Any) -> Any:
    patterns = schema.get("patternProperties")
    if not patterns or not validator.is_type(instance, "object"):
        yield from _ADDITIONAL(validator, ap, instance, schema)
        return
    props = schema.get("properties", {})
    extras = []
    for key in instance:
        if key in props:
            continue
        hits = [pattern_search(p, key) for p in patterns]
        if None in hits:
            yield _timeout_error(next(p for p, h in zip(patterns, hits) if h is None), key)
        elif not any(hits):
            extras.append(key)
    if validator.is_type(ap, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], ap, path=extra)
    elif not ap and extras:
        joined = ", ".join(repr(e) for e in sorted(extras))
        yield jsonschema.ValidationError(
            f"{joined} {'does' if len(extras) == 1 else 'do'} not match any of the regexes: "
            + ", ".join(repr(p) for p in sorted(patterns))
        )


#: Draft 2020-12 with every data regex run through :func:`pattern_search`.
BoundedValidator = jsonschema.validators.extend(
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


def _has_key(schema: Any, key: str) -> bool:
    if isinstance(schema, Mapping):
        return key in schema or any(_has_key(v, key) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_key(v, key) for v in schema)
    return False


# --------------------------------------------------------------------------------------------
# Validating values

_CODES = {
    "type": "wrong_type",
    "enum": "not_in_enum",
    "const": "not_in_enum",
    "format": "bad_format",
    "pattern": "bad_format",
    "pattern_timeout": "pattern_timeout",
    "minimum": "out_of_range",
    "maximum": "out_of_range",
    "exclusiveMinimum": "out_of_range",
    "exclusiveMaximum": "out_of_range",
    "minLength": "out_of_range",
    "maxLength": "out_of_range",
    "minItems": "out_of_range",
    "maxItems": "out_of_range",
    "multipleOf": "out_of_range",
    "required": "missing_required",
    "additionalProperties": "unknown_argument",
}


@lru_cache(maxsize=4096)
def _validator(schema_json: str) -> Any:
    """A validator, or why the schema is not a valid JSON Schema (jsonschema's behaviour on
    invalid schemas is undefined, so it never sees one)."""
    try:
        schema = json.loads(schema_json)
    except (ValueError, RecursionError) as err:
        return f"schema is not JSON: {err}"
    if isinstance(schema, Mapping):
        problem = meta_schema_problem(schema)
    else:
        problem = None if isinstance(schema, bool) else "a schema must be an object"
    if problem is not None:
        return problem
    for patrn in _patterns(schema):
        try:
            _compiled(patrn)
        except (regex.error, OverflowError, RecursionError) as err:
            return f"pattern {patrn[:80]!r} is not a regular expression: {err}"
    if _has_key(schema, "unevaluatedProperties") and _has_key(schema, "patternProperties"):
        # jsonschema would run those patterns through Python's re, without a time budget.
        return "unevaluatedProperties with patternProperties is not supported"
    return BoundedValidator(schema, format_checker=_FORMAT_CHECKER)


def _patterns(schema: Any) -> list[str]:
    """Every ``pattern`` value and ``patternProperties`` key in ``schema``."""
    out: list[str] = []
    if isinstance(schema, Mapping):
        if isinstance(schema.get("pattern"), str):
            out.append(schema["pattern"])
        if isinstance(schema.get("patternProperties"), Mapping):
            out += [p for p in schema["patternProperties"] if isinstance(p, str)]
        for key, value in schema.items():
            if key not in ("enum", "const", "default", "examples"):
                out += _patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            out += _patterns(value)
    return out


def validator_for(schema: Mapping[str, Any]) -> Any:
    """A cached draft 2020-12 validator (with our format checks and data patterns run with a
    time budget, :data:`BoundedValidator`) for ``schema``.

    Raises ``jsonschema.SchemaError`` when ``schema`` is not a valid JSON Schema.
    """
    found = _validator(json.dumps(schema, sort_keys=True, default=str))
    if isinstance(found, str):
        raise jsonschema.SchemaError(found)
    return found


_FAST_KEYS = frozenset(
    [
        "type",
        "enum",
        "const",
        "format",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "items",
        "properties",
        "required",
        "additionalProperties",
        "description",
        "title",
        "default",
        "examples",
        "$comment",
    ]
)
_TYPE_CHECKS: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _same(a: Any, b: Any) -> bool | None:
    """JSON equality of scalars as jsonschema sees it (1 == 1.0, True != 1); None: not scalar."""
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def fast_valid(schema: Any, value: Any) -> bool | None:
    """Whether ``value`` fits ``schema`` for the common keyword subset, without jsonschema.

    ``None`` means "cannot tell" (an unsupported keyword or a non-scalar enum): ask jsonschema.
    It only ever answers ``True`` when jsonschema would report no error.
    """
    if schema is True or schema == {}:
        return True
    if not isinstance(schema, dict) or not _FAST_KEYS.issuperset(schema):
        return None
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        checks = [_TYPE_CHECKS.get(k) for k in kinds]
        if any(c is None for c in checks):
            return None
        if not any(c(value) for c in checks):  # type: ignore[misc]
            return False
    for key in ("enum", "const"):
        if key in schema:
            options = schema["enum"] if key == "enum" else [schema["const"]]
            if not isinstance(options, list):
                return None
            hits = [_same(value, o) for o in options]
            if None in hits:
                return None
            if not any(hits):
                return False
    if isinstance(value, str):
        fmt = schema.get("format")
        if fmt is not None:
            check = FORMAT_CHECKS.get(fmt)
            if check is not None and not check(value):
                return False
        if "pattern" in schema:
            try:
                found = pattern_search(schema["pattern"], value)
            except (regex.error, TypeError, OverflowError, RecursionError):
                return None
            if not found:  # no match, or no answer within the time budget
                return None if found is None else False
        if len(value) < schema.get("minLength", 0):
            return False
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return False
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            if "minimum" in schema and value < schema["minimum"]:
                return False
            if "maximum" in schema and value > schema["maximum"]:
                return False
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                return False
            if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
                return False
        except TypeError:
            return None
    elif isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return False
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return False
        if "items" in schema:
            for item in value:
                ok = fast_valid(schema["items"], item)
                if ok is not True:
                    return ok
    elif isinstance(value, dict):
        props = schema.get("properties", {})
        if not isinstance(props, dict):
            return None
        for name in schema.get("required", ()):
            if name not in value:
                return False
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            sub = props.get(name)
            if sub is None:
                if extra is False:
                    return False
                if extra is not True:
                    ok = fast_valid(extra, item)
                    if ok is not True:
                        return ok
                continue
            ok = fast_valid(sub, item)
            if ok is not True:
                return ok
    return True


def value_issues(schema: Mapping[str, Any], value: Any) -> list[tuple[str, str, str]]:
    """Violations of ``schema`` by ``value`` as ``(code, path, message)``; empty when it fits.

    An invalid schema gives one ``("invalid_schema", "", why)`` entry.
    """
    try:
        found = _validator(json.dumps(schema, sort_keys=True, default=str))
    except (TypeError, ValueError, RecursionError) as exc:
        return [("invalid_schema", "", str(exc))]
    if isinstance(found, str):
        return [("invalid_schema", "", found)]
    if fast_valid(schema, value) is True:
        return []
    try:
        errors = sorted(found.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    except (jsonschema.SchemaError, jsonschema.exceptions.UnknownType, RecursionError) as exc:
        return [("invalid_schema", "", str(exc))]
    out: list[tuple[str, str, str]] = []
    for err in errors:
        path = ".".join(str(p) for p in err.absolute_path)
        found = (_CODES.get(str(err.validator), "invalid_value"), path, err.message)
        if found not in out:  # e.g. one key's pattern timeout seen by two keywords
            out.append(found)
    return out


# --------------------------------------------------------------------------------------------
# Sampling values

_WORDS = [
    "alpha",
    "amber",
    "atlas",
    "birch",
    "cedar",
    "delta",
    "ember",
    "falcon",
    "garnet",
    "harbor",
    "indigo",
    "juniper",
    "kestrel",
    "lumen",
    "maple",
    "nova",
    "onyx",
    "pioneer",
    "quartz",
    "raven",
    "sierra",
    "tundra",
    "umber",
    "vertex",
    "willow",
    "zephyr",
]


def sample_value(schema: Mapping[str, Any], rng: random.Random, pool: Any = None) -> Any:
    """A value that fits ``schema``; ``pool`` (a list) offers preferred values for strings.

    Raises :class:`SampleError` when the schema cannot be satisfied by this sampler.
    """
    for _ in range(8):
        value = _draw(schema, rng, pool, depth=0)
        if not value_issues(schema, value):
            return value
    raise SampleError(f"could not draw a value for schema {json.dumps(schema)[:120]}")


def _draw(schema: Mapping[str, Any], rng: random.Random, pool: Any, depth: int) -> Any:
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _draw(rng.choice(schema[key]), rng, pool, depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice([k for k in kind if k != "null"] or ["null"])
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "string":
        return _draw_string(schema, rng, pool)
    if kind == "integer":
        lo, hi = _bounds(schema, integer=True)
        return rng.randint(int(lo), int(hi))
    if kind == "number":
        lo, hi = _bounds(schema, integer=False)
        return round(rng.uniform(lo, hi), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "array":
        items = (
            schema.get("items") if isinstance(schema.get("items"), Mapping) else {"type": "string"}
        )
        lo = int(schema.get("minItems", 1))
        hi = max(lo, min(int(schema.get("maxItems", lo + 2)), lo + 3))
        n = rng.randint(lo, hi)
        values: list[Any] = []
        for attempt in range(n * 4):
            if len(values) == n:
                break
            v = _draw(items, rng, pool, depth + 1)  # type: ignore[arg-type]
            # Distinct values read naturally ("Paris and Lima"); repeats only if they must.
            if v not in values or (not schema.get("uniqueItems") and attempt >= n * 3):
                values.append(v)
        return values
    if kind == "object":
        props = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        out: dict[str, Any] = {}
        for name, sub in props.items():
            if name in required or (depth < 2 and rng.random() < 0.5):
                out[name] = _draw(sub if isinstance(sub, Mapping) else {}, rng, None, depth + 1)
        return out
    raise SampleError(f"unsupported type {kind!r}")


def _bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[float, float]:
    lo = schema.get("minimum", schema.get("exclusiveMinimum"))
    hi = schema.get("maximum", schema.get("exclusiveMaximum"))
    step = 1 if integer else 0.01
    if "exclusiveMinimum" in schema and "minimum" not in schema:
        lo = lo + step
    if "exclusiveMaximum" in schema and "maximum" not in schema:
        hi = hi - step
    if lo is None and hi is None:
        lo, hi = (1, 100) if integer else (1.0, 100.0)
    elif lo is None:
        lo = hi - 100
    elif hi is None:
        hi = lo + 100
    if integer:
        import math

        lo, hi = math.ceil(lo), math.floor(hi)
    return lo, max(lo, hi)


def _draw_string(schema: Mapping[str, Any], rng: random.Random, pool: Any) -> str:
    fmt = schema.get("format")
    if fmt == "date":
        day = _dt.date(2025, 1, 1) + _dt.timedelta(days=rng.randint(0, 700))
        return day.isoformat()
    if fmt == "date-time":
        moment = _dt.datetime(2025, 1, 1, 0, 0) + _dt.timedelta(minutes=15 * rng.randint(0, 60000))
        return moment.strftime("%Y-%m-%dT%H:%M:00")
    if fmt == "time":
        return f"{rng.randint(6, 22):02d}:{rng.choice((0, 15, 30, 45)):02d}"
    if fmt == "email":
        return f"{rng.choice(_WORDS)}.{rng.choice(_WORDS)}@example.com"
    if fmt in ("uri", "url"):
        return f"https://www.{rng.choice(_WORDS)}.com/{rng.choice(_WORDS)}"
    if fmt == "uuid":
        return "-".join(
            "".join(rng.choice("0123456789abcdef") for _ in range(n)) for n in (8, 4, 4, 4, 12)
        )
    if fmt == "ipv4":
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    if fmt == "phone":
        return "+1 555 " + "".join(rng.choice(string.digits) for _ in range(7))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        return _from_pattern(pattern, rng)
    if isinstance(pool, list) and pool:
        candidates = [v for v in pool if isinstance(v, str)]
        if candidates:
            value = rng.choice(candidates)
            return _fit_length(value, schema, rng)
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 2)))
    return _fit_length(words, schema, rng)


def _fit_length(value: str, schema: Mapping[str, Any], rng: random.Random) -> str:
    lo = int(schema.get("minLength", 0))
    hi = schema.get("maxLength")
    while len(value) < lo:
        value += " " + rng.choice(_WORDS)
    if hi is not None and len(value) > int(hi):
        value = value[: int(hi)].rstrip() or value[: int(hi)]
    return value


_PATTERN_PART = re.compile(r"(\\d|\[[^\]]+\]|[A-Za-z0-9_\- ])(\{(\d+)(?:,(\d+))?\}|\+)?")


def _from_pattern(pattern: str, rng: random.Random) -> str:
    """Draw from simple anchored patterns: literals, ``\\d`` and classes with ``{n}``/``{m,n}``/``+``."""
    body = pattern.removeprefix("^").removesuffix("$")
    out: list[str] = []
    pos = 0
    while pos < len(body):
        m = _PATTERN_PART.match(body, pos)
        if m is None:
            raise SampleError(f"cannot draw a string for pattern {pattern!r}")
        atom, quant, lo, hi = m.group(1), m.group(2), m.group(3), m.group(4)
        chars = _atom_chars(atom)
        if quant == "+":
            count = rng.randint(1, 6)
        elif lo is not None:
            count = rng.randint(int(lo), int(hi) if hi is not None else int(lo))
        else:
            count = 1
        out.append("".join(rng.choice(chars) for _ in range(count)))
        pos = m.end()
    return "".join(out)


def _atom_chars(atom: str) -> str:
    if atom == "\\d":
        return string.digits
    if atom.startswith("["):
        inner = atom[1:-1]
        chars: list[str] = []
        i = 0
        while i < len(inner):
            if i + 2 < len(inner) and inner[i + 1] == "-":
                chars.extend(chr(c) for c in range(ord(inner[i]), ord(inner[i + 2]) + 1))
                i += 3
            else:
                chars.append(inner[i])
                i += 1
        return "".join(chars)
    return atom


__all__ = [
    "FORMAT_CHECKS",
    "JSON_TYPES",
    "SampleError",
    "fast_valid",
    "normalize_schema",
    "sample_value",
    "schema_problems",
    "validator_for",
    "value_issues",
]
