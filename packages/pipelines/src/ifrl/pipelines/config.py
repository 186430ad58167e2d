"""Recipe configs: one YAML file per recipe, validated into nested config dataclasses.

A recipe config is a dataclass whose fields are *sections* (themselves dataclasses, one per stage
or shared concern) or plain values. Every field carries ``metadata={"help": ...}``. Errors name
the file and the dotted field (``toolace.yaml: sft.max_steps: expected int, got 'x'``); unknown
keys get a "did you mean" hint. Sections may define ``validate()`` to check their own values.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import field, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from ifrl.core.errors import IfrlError

T = TypeVar("T")


class PipelineConfigError(IfrlError, ValueError):
    """A recipe config is invalid; the message names the file and the field."""


def opt(help: str, default: Any = dataclasses.MISSING, *, factory: Any = None) -> Any:
    """A dataclass field with help text (``factory`` for mutable or dataclass defaults)."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(args[0], value, where)
    if is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, Mapping):
            raise PipelineConfigError(f"{where}: expected a mapping, got {value!r}")
        return build_section(tp, value, where)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        if not isinstance(value, (list, tuple)):
            raise PipelineConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise PipelineConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise PipelineConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp in (int, float):
        ok = isinstance(value, int) or (tp is float and isinstance(value, float))
        if isinstance(value, bool) or not ok:
            raise PipelineConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
        return tp(value)
    if tp is str:
        if not isinstance(value, str):
            raise PipelineConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if tp is Any:
        return value
    raise PipelineConfigError(f"{where}: unsupported field type {tp!r}")


def build_section(cls: type[T], data: Mapping[str, Any], where: str) -> T:
    """Build the dataclass ``cls`` from ``data``; ``where`` prefixes every error message."""
    return _build(cls, data, where, sep=".", noun="field")


def _build(cls: type[T], data: Mapping[str, Any], where: str, *, sep: str, noun: str) -> T:
    """Build ``cls`` from ``data``: unknown keys (with suggestions), types, then ``validate()``.

    Errors read ``{where}: unknown {noun} ...`` or ``{where}{sep}{key}...``.
    """
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=2, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise PipelineConfigError(
                f"{where}: unknown {noun} {key!r}{hint} (known: {', '.join(names)})"
            )
        kwargs[key] = _convert(hints[key], value, f"{where}{sep}{key}")
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if check is not None:
        try:
            check()
        except (ValueError, IfrlError) as err:
            raise PipelineConfigError(f"{where}{sep}{err}") from None
    return obj


def load_recipe_config(cls: type[T], path: str | Path) -> T:
    """Read the YAML file ``path`` into ``cls``; errors name ``path`` and the field."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise PipelineConfigError(f"{p}: cannot read: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise PipelineConfigError(f"{p}: invalid YAML: {err}") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise PipelineConfigError(f"{p}: expected a mapping of sections at the top level")
    return config_from_mapping(cls, data, str(p))


def config_from_mapping(cls: type[T], data: Mapping[str, Any], source: str) -> T:
    """Like :func:`load_recipe_config` for an already-parsed mapping; ``source`` names it."""
    return _build(cls, data, source, sep=": ", noun="section")


def section_dict(obj: Any) -> Any:
    """A JSON-ready copy of a config (section) for hashing and writing."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: section_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [section_dict(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): section_dict(v) for k, v in obj.items()}
    return obj


def describe(cls: type, prefix: str = "") -> list[str]:
    """One line per field (recursing into sections): ``name (type, default): help``."""
    lines: list[str] = []
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        tp = hints[f.name]
        name = f"{prefix}{f.name}"
        if is_dataclass(tp) and isinstance(tp, type):
            lines.append(f"{name}: {f.metadata.get('help', '')}")
            lines.extend(describe(tp, prefix=name + "."))
            continue
        default: Any
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = "required"
        label = getattr(tp, "__name__", str(tp).replace("typing.", ""))
        lines.append(f"{name} ({label}, default {default!r}): {f.metadata.get('help', '')}")
    return lines
