"""The one config kit: dataclass configs read from mappings, YAML files and command-line overrides.

Every ``XConfig`` of the project is a dataclass whose fields carry help text (:func:`opt`). A
field is a plain value (``str``, ``int``, ``float``, ``bool``, an optional, a tuple, a mapping)
or a *section*: another config dataclass, read from a nested mapping. The same class drives the
YAML file, the command line (:func:`ifrl.core.cli.config_options`) and ``--help``.

* :func:`from_mapping` validates a mapping into a config: unknown keys fail with a "did you
  mean" hint, values are checked against the field's type, and a ``validate()`` method, when the
  class has one, checks the values together.
* :func:`load_config` reads a YAML file (optional) and applies overrides on top; overrides are
  dotted keys (``sft.max_steps``) whose string values (from a command line) are converted to the
  field's type.
* :func:`to_dict` gives a JSON-ready copy (for hashing and writing), :func:`describe` one help
  line per field.

Every error is a :class:`ConfigError` that names the source (a file, ``command line``), the
dotted field and the problem: ``toolace.yaml: sft.max_steps: expected int, got 'x'``.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from ifrl.core.errors import IfrlError, field_path

T = TypeVar("T")

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class ConfigError(IfrlError, ValueError):
    """A config key or value is invalid.

    ``str(err)`` reads ``source: field: problem``; ``source`` is a file name or ``command line``
    (empty when unknown) and ``field`` the dotted path of the key (empty for the whole config).
    A ``validate()`` method raises ``ConfigError("", field, problem)``: the kit fills in the
    source and the section's path.
    """

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        super().__init__(": ".join(p for p in (source, field, problem) if p))

    def within(self, source: str, prefix: str) -> ConfigError:
        """The same error seen from ``source`` with ``prefix`` in front of its field."""
        field = ".".join(p for p in (prefix, self.field) if p)
        return ConfigError(self.source or source, field, self.problem)


def opt(
    help: str,
    default: Any = dataclasses.MISSING,
    *,
    factory: Any = None,
    minimum: float | None = None,
    choices: Sequence[Any] = (),
) -> Any:
    """A config field with ``help`` text; ``factory`` for mutable and section defaults.

    Without a default (and a factory) the field is required. ``minimum`` bounds a number from
    below (a count of 0 or -4 is an error naming the field, not an empty or odd run);
    ``choices`` are the values allowed (for a tuple field: its items; a ``Literal`` field's are
    its values). :func:`check_fields` enforces both.
    """
    metadata = {"help": help, "minimum": minimum, "choices": tuple(choices)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_fields(config: Any) -> None:
    """Raise :class:`ConfigError` naming the first field of ``config`` below its ``minimum`` or
    outside its ``choices`` (see :func:`opt`). The kit checks every config it builds; a
    ``validate()`` method calls it so that a config made in code is checked the same way."""
    literals = _literal_values(type(config))
    for f in fields(config):
        value = getattr(config, f.name)
        low = f.metadata.get("minimum")
        allowed = f.metadata.get("choices") or literals.get(f.name)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if low is not None and number and value < low:
            shown = int(low) if float(low).is_integer() else low
            raise ConfigError("", f.name, f"must be at least {shown}, got {value!r}")
        if allowed and value is not _UNSET:
            for item in value if isinstance(value, tuple) else (value,):
                check_choice(f.name, item, allowed)


_LITERALS: dict[type, dict[str, tuple[Any, ...]]] = {}


def _literal_values(cls: type) -> dict[str, tuple[Any, ...]]:
    """The allowed values of each ``Literal`` field of ``cls`` (computed once per class)."""
    if cls not in _LITERALS:
        hints = field_types(cls).items()
        literal = {
            n: typing.get_args(t) for n, t in hints if typing.get_origin(t) is typing.Literal
        }
        _LITERALS[cls] = literal
    return _LITERALS[cls]


def check_choice(field: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise :class:`ConfigError` naming ``field`` when ``value`` is not one of ``choices``."""
    if value not in choices:
        *head, last = map(str, choices)
        options = f"{', '.join(head)} or {last}" if head else last
        raise ConfigError("", field, f"expected {options}, got {value!r}")


def is_section(tp: Any) -> bool:
    """Whether the annotation ``tp`` is a config section (a dataclass type)."""
    return isinstance(tp, type) and is_dataclass(tp)


def field_types(cls: type) -> dict[str, Any]:
    """The resolved type of every field of the config class ``cls``."""
    return typing.get_type_hints(cls)


def type_label(tp: Any) -> str:
    """A short name of a field type for help texts (``int``, ``tuple[str, ...]``, ``a|b``)."""
    if typing.get_origin(tp) is typing.Literal:
        return "|".join(str(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _suggest(key: str, names: list[str]) -> str:
    close = difflib.get_close_matches(key, names, n=2, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _convert(tp: Any, value: Any, source: str, where: str, strings: bool) -> Any:
    """``value`` checked against ``tp`` (strings converted when they come from a command line)."""

    def fail(problem: str) -> ConfigError:
        return ConfigError(source, where, problem)

    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        nullable = type(None) in typing.get_args(tp)
        if nullable and (
            value is None
            or (strings and isinstance(value, str) and value.lower() in ("none", "null"))
        ):
            return None
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        errors: list[ConfigError] = []
        for option in options:
            try:
                return _convert(option, value, source, where, strings)
            except ConfigError as err:
                errors.append(err)
        if len(errors) == 1:
            raise errors[0]
        raise fail(f"expected {' or '.join(type_label(o) for o in options)}, got {value!r}")
    if typing.get_origin(tp) is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise fail(f"expected {' or '.join(str(a) for a in allowed)}, got {value!r}")
        return value
    if is_section(tp):
        if not isinstance(value, Mapping):
            raise fail(f"expected a mapping, got {value!r}")
        return _build(tp, value, source, where, strings)
    if origin is tuple:
        args = typing.get_args(tp)
        item = args[0] if args else Any
        if strings and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise fail(f"expected a list, got {value!r}")
        return tuple(
            _convert(item, v, source, f"{where}[{i}]", strings) for i, v in enumerate(value)
        )
    if origin is dict or tp is dict:
        return _mapping(value, source, where, strings)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if strings and isinstance(value, str) and value.lower() in _TRUE + _FALSE:
            return value.lower() in _TRUE
        raise fail(f"expected true or false, got {value!r}")
    if tp in (int, float):
        if isinstance(value, bool):
            raise fail(f"expected {tp.__name__}, got {value!r}")
        if strings and isinstance(value, str):
            try:
                value = int(value) if tp is int else float(value)
            except ValueError:
                raise fail(f"expected {tp.__name__}, got {value!r}") from None
        if tp is int and not isinstance(value, int):
            raise fail(f"expected int, got {value!r}")
        if tp is float and not isinstance(value, (int, float)):
            raise fail(f"expected float, got {value!r}")
        return tp(value)
    if tp is str:
        if isinstance(value, str):
            return value
        if strings or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return str(value)
        raise fail(f"expected a string, got {value!r}")
    raise fail(f"unsupported field type {tp!r}")  # a bug in a config class


def _mapping(value: Any, source: str, where: str, strings: bool) -> dict[str, Any]:
    """A mapping field: a YAML mapping, or on a command line a YAML flow mapping
    (``'{max_model_len: 1024}'``) or ``key=value,key=value`` pairs read as YAML scalars."""
    if strings and isinstance(value, str):
        import yaml

        text = value.strip()
        try:
            if text.startswith("{"):
                value = yaml.safe_load(text)
            else:
                pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
                if any(len(pair) != 2 for pair in pairs):
                    raise ConfigError(
                        source,
                        where,
                        f"expected key=value pairs or a {{key: value}} mapping, got {text!r}",
                    )
                value = {k.strip(): yaml.safe_load(v.strip()) for k, v in pairs}
        except yaml.YAMLError as err:
            raise ConfigError(source, where, f"invalid mapping {text!r}: {err}") from None
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(source, where, f"expected a mapping of names to values, got {value!r}")
    return dict(value)


class _Unset:
    """Stands for a required value a file leaves to the command line (see :func:`load_config`)."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


def _build(
    cls: type[T],
    data: Mapping[str, Any],
    source: str,
    where: str,
    strings: bool,
    complete: bool = True,
) -> T:
    """``cls`` from ``data``. With ``complete=False`` (a file that overrides will complete) a
    missing required value is left unset and ``validate()`` is not run yet."""
    hints = field_types(cls)
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if value is _UNSET:
            continue
        name = str(key).replace("-", "_")
        if name not in names:
            raise ConfigError(
                source,
                where,
                f"unknown key {key!r} for {cls.__name__}{_suggest(name, names)} "
                f"(known: {', '.join(names)})",
            )
        tp = hints[name]
        if is_section(tp) and isinstance(value, Mapping):
            kwargs[name] = _build(tp, value, source, field_path(where, name), strings, complete)
        else:
            kwargs[name] = _convert(tp, value, source, field_path(where, name), strings)
    missing = [
        f.name
        for f in fields(cls)  # type: ignore[arg-type]
        if f.name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing and complete:
        raise ConfigError(source, field_path(where, missing[0]), "required")
    kwargs.update(dict.fromkeys(missing, _UNSET))
    try:
        obj = cls(**kwargs)
        check_fields(obj)
    except ConfigError as err:
        raise err.within(source, where) from None
    check = getattr(obj, "validate", None)
    if callable(check) and complete:
        try:
            check()
        except ConfigError as err:
            raise err.within(source, where) from None
        except (ValueError, TypeError) as err:
            raise ConfigError(source, where, str(err)) from None
    return obj


def from_mapping(
    cls: type[T], data: Mapping[str, Any], source: str = "", *, strings: bool = False
) -> T:
    """Validate ``data`` into the config class ``cls``; errors name ``source`` and the field.

    ``strings=True`` converts string values to the field's type (``"5"`` → 5, ``"true"`` →
    True, ``"a,b"`` → a tuple): the form values take on a command line.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(source, "", f"expected a mapping of keys to values, got {data!r}")
    return _build(cls, data, source, "", strings)


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The mapping at the top of the YAML file ``path`` (``{}`` for an empty file)."""
    import yaml

    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as err:
        raise ConfigError(name, "", f"cannot read: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(name, "", f"invalid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(name, "", "expected a mapping of keys to values at the top level")
    return data


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    head, _, rest = key.partition(".")
    if not rest:
        data[head] = value
        return
    inner = data.get(head)
    if not isinstance(inner, dict):
        inner = {}
    data[head] = {**inner}
    _set_dotted(data[head], rest, value)


def load_config(
    cls: type[T],
    path: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> T:
    """Read the YAML file ``path`` (optional) into ``cls`` with ``overrides`` applied on top.

    Override keys may be dotted (``sft.max_steps``); their values are converted from strings.
    The file's values are checked first (errors name it), then the overrides and what needs
    the whole config (required values, ``validate()``; errors name ``command line``).
    """
    source = os.fspath(path) if path is not None else ""
    data = read_yaml(path) if path is not None else {}
    if not overrides:
        return from_mapping(cls, data, source)
    base = _build(cls, data, source, "", strings=False, complete=False)
    merged = to_dict(base, keep_tuples=True)
    for key, value in overrides.items():
        _set_dotted(merged, key.replace("-", "_"), value)
    return from_mapping(cls, merged, "command line", strings=True)


def to_dict(obj: Any, *, keep_tuples: bool = False) -> Any:
    """A JSON-ready copy of a config (sections become mappings, tuples lists)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name), keep_tuples=keep_tuples) for f in fields(obj)}
    if isinstance(obj, tuple) and keep_tuples:
        return tuple(to_dict(v, keep_tuples=True) for v in obj)
    if isinstance(obj, (list, tuple)):
        return [to_dict(v, keep_tuples=keep_tuples) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v, keep_tuples=keep_tuples) for k, v in obj.items()}
    return obj


def field_default(f: dataclasses.Field[Any]) -> Any:
    """A field's default value (built from its factory), or ``dataclasses.MISSING``."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def describe(cls: type, prefix: str = "") -> list[str]:
    """One line per field, recursing into sections: ``name (type, default ...): help``."""
    lines: list[str] = []
    hints = field_types(cls)
    for f in fields(cls):  # type: ignore[arg-type]
        tp = hints[f.name]
        name = f"{prefix}{f.name}"
        text = f.metadata.get("help", "")
        if is_section(tp):
            lines.append(f"{name}: {text}")
            lines.extend(describe(tp, prefix=name + "."))
            continue
        default = field_default(f)
        shown = "required" if default is dataclasses.MISSING else f"default {default!r}"
        lines.append(f"{name} ({type_label(tp)}, {shown}): {text}")
    return lines


__all__ = [
    "ConfigError",
    "check_choice",
    "check_fields",
    "describe",
    "field_default",
    "field_types",
    "from_mapping",
    "is_section",
    "load_config",
    "opt",
    "read_yaml",
    "to_dict",
    "type_label",
]
