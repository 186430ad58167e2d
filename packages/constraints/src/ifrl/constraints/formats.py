"""Dataset formats for constrained prompts: IFEval/IFBench, VerIF-style checkers, and native.

Every format reads into and writes from one record, :class:`ConstrainedPrompt` (an id, the prompt,
its constraints as :class:`~ifrl.core.records.ConstraintSpec` with a ``kind`` each, an optional
response, and extra fields kept in ``meta``):

``ifeval``  ``{key, prompt, instruction_id_list, kwargs}`` (IFEval and IFBench; ``None`` kwargs
            are dropped as IFEval ignores them). Mixed datasets add ``kinds``: one ``"hard"`` or
            ``"soft"`` per instruction (without it, ids starting ``soft:`` are soft).
``verif``   ``{id, prompt, checkers: ["[rule] ...", "[llm] ..."]}`` as in VerIF's VerInstruct.
            We write a ``constraints`` list beside ``checkers`` so our own files round-trip
            exactly; a foreign file's ``[llm] TEXT`` becomes ``soft:rubric`` with that rubric,
            and a ``[rule] TEXT`` (whose code we never execute) is judged as a rubric too, or
            rejected with ``rules="error"``; ``meta["judged_rules"]`` lists those positions.
``native``  ``{id, prompt, constraints: [{id, kwargs, kind}]}``.

A ``response`` field is read in every format. Bad rows raise ``RecordError`` naming the field;
:func:`read_prompts` turns that into ``path:line: field: problem``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ifrl.constraints.soft import SOFT_PREFIX, judge_text
from ifrl.core.errors import RecordError
from ifrl.core.jsonl import JSONLWriter, ReadStats, read_jsonl
from ifrl.core.records import ConstraintSpec, Record

Format = Literal["ifeval", "verif", "native"]
FORMATS: tuple[Format, ...] = ("ifeval", "verif", "native")
RuleMode = Literal["judge", "error"]


@dataclass(frozen=True, slots=True)
class ConstrainedPrompt(Record):
    """A prompt with its constraints (hard and soft), optionally a response, and extra fields."""

    id: str
    prompt: str
    constraints: tuple[ConstraintSpec, ...]
    response: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def hard(self) -> tuple[ConstraintSpec, ...]:
        return tuple(c for c in self.constraints if c.kind == "hard")

    @property
    def soft(self) -> tuple[ConstraintSpec, ...]:
        return tuple(c for c in self.constraints if c.kind == "soft")


def detect_format(row: Mapping[str, Any]) -> Format:
    """The format of one row: ``instruction_id_list`` → ifeval, ``checkers`` → verif, else native."""
    if "instruction_id_list" in row:
        return "ifeval"
    if "checkers" in row:
        return "verif"
    if "constraints" in row:
        return "native"
    raise RecordError(
        "", "unknown format: expected instruction_id_list (IFEval), checkers (VerIF) or constraints"
    )


def _str(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str):
        raise RecordError(name, "missing or not a string")
    return value


def _row_id(row: Mapping[str, Any], prompt: str) -> str:
    for name in ("id", "key"):
        value = row.get(name)
        if isinstance(value, bool):
            raise RecordError(name, "must be a string or an integer")
        if isinstance(value, (str, int)):
            return str(value)
        if value is not None:
            raise RecordError(name, "must be a string or an integer")
    return "p-" + hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:12]


def _response(row: Mapping[str, Any]) -> str | None:
    value = row.get("response")
    if value is not None and not isinstance(value, str):
        raise RecordError("response", "not a string")
    return value


def _kind_of(cid: str) -> Literal["hard", "soft"]:
    return "soft" if cid.startswith(SOFT_PREFIX) else "hard"


def _from_ifeval(row: Mapping[str, Any]) -> ConstrainedPrompt:
    prompt = _str(row, "prompt")
    ids = row.get("instruction_id_list")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise RecordError("instruction_id_list", "missing or not a list of non-empty strings")
    kwargs = row.get("kwargs", [{}] * len(ids))
    if not isinstance(kwargs, list) or len(kwargs) != len(ids):
        raise RecordError("kwargs", f"must be a list with one object per instruction ({len(ids)})")
    kinds = row.get("kinds")
    if kinds is not None and (
        not isinstance(kinds, list)
        or len(kinds) != len(ids)
        or not all(k in ("hard", "soft") for k in kinds)
    ):
        raise RecordError("kinds", f"must list 'hard' or 'soft' for each of the {len(ids)} ids")
    specs: list[ConstraintSpec] = []
    for i, (cid, kw) in enumerate(zip(ids, kwargs)):
        if kw is None:
            kw = {}
        if not isinstance(kw, Mapping):
            raise RecordError(f"kwargs[{i}]", "not an object")
        kind = kinds[i] if kinds is not None else _kind_of(cid)
        specs.append(ConstraintSpec(cid, {k: v for k, v in kw.items() if v is not None}, kind))
    known = {"key", "id", "prompt", "instruction_id_list", "kwargs", "kinds", "response"}
    meta = {k: v for k, v in row.items() if k not in known}
    return ConstrainedPrompt(_row_id(row, prompt), prompt, tuple(specs), _response(row), meta)


def _from_native(row: Mapping[str, Any]) -> ConstrainedPrompt:
    prompt = _str(row, "prompt")
    raw = row.get("constraints")
    if not isinstance(raw, list):
        raise RecordError("constraints", "missing or not a list")
    specs = []
    for i, item in enumerate(raw):
        try:
            specs.append(ConstraintSpec.from_dict(item))
        except RecordError as err:
            raise err.nested(f"constraints[{i}]") from None
    known = {"key", "id", "prompt", "constraints", "checkers", "response"}
    meta = {k: v for k, v in row.items() if k not in known}
    return ConstrainedPrompt(_row_id(row, prompt), prompt, tuple(specs), _response(row), meta)


def _from_verif(row: Mapping[str, Any], rules: RuleMode) -> ConstrainedPrompt:
    if "constraints" in row:  # written by us: the specs are exact
        return _from_native(row)
    prompt = _str(row, "prompt")
    checkers = row.get("checkers")
    if not isinstance(checkers, list) or not all(isinstance(c, str) for c in checkers):
        raise RecordError("checkers", "missing or not a list of strings")
    specs: list[ConstraintSpec] = []
    judged_rules: list[int] = []
    for i, checker in enumerate(checkers):
        tag, _, text = checker.strip().partition("]")
        tag = tag.lstrip("[").strip().lower()
        text = text.strip()
        if tag not in ("rule", "llm") or not text:
            raise RecordError(f"checkers[{i}]", "must read '[rule] TEXT' or '[llm] TEXT'")
        if tag == "rule":
            if rules == "error":
                raise RecordError(
                    f"checkers[{i}]", "a [rule] checker without a registered constraint spec"
                )
            judged_rules.append(i)
        specs.append(ConstraintSpec("soft:rubric", {"rubric": text}, "soft"))
    known = {"key", "id", "prompt", "checkers", "functions", "response"}
    meta = {k: v for k, v in row.items() if k not in known}
    if judged_rules:
        meta["judged_rules"] = judged_rules
    return ConstrainedPrompt(_row_id(row, prompt), prompt, tuple(specs), _response(row), meta)


def from_row(
    row: Mapping[str, Any], fmt: Format | None = None, *, rules: RuleMode = "judge"
) -> ConstrainedPrompt:
    """Read one row (format detected when ``fmt`` is None); ``RecordError`` names the field."""
    if not isinstance(row, Mapping):
        raise RecordError("", "expected an object")
    fmt = fmt or detect_format(row)
    if fmt == "ifeval":
        return _from_ifeval(row)
    if fmt == "verif":
        return _from_verif(row, rules)
    if fmt == "native":
        return _from_native(row)
    raise ValueError(f"unknown format {fmt!r}; expected one of {list(FORMATS)}")


def checker_text(
    spec: ConstraintSpec, describe: Callable[[ConstraintSpec], str] | None = None
) -> str:
    """The VerIF checker string for a constraint: ``[rule] instruction`` or ``[llm] rubric``."""
    tag = "[llm]" if spec.kind == "soft" else "[rule]"
    return f"{tag} {judge_text(spec, describe)}"


def to_row(
    item: ConstrainedPrompt,
    fmt: Format,
    *,
    describe: Callable[[ConstraintSpec], str] | None = None,
) -> dict[str, Any]:
    """One row of ``fmt`` for ``item`` (``meta`` fields are written back beside the others)."""
    row: dict[str, Any] = {}
    if fmt == "ifeval":
        row["key"] = int(item.id) if item.id.isdigit() else item.id
        row["prompt"] = item.prompt
        row["instruction_id_list"] = [c.id for c in item.constraints]
        row["kwargs"] = [dict(c.kwargs) for c in item.constraints]
        if any(c.kind != _kind_of(c.id) for c in item.constraints):
            row["kinds"] = [c.kind for c in item.constraints]
    elif fmt in ("verif", "native"):
        row["id"] = item.id
        row["prompt"] = item.prompt
        if fmt == "verif":
            row["checkers"] = [checker_text(c, describe) for c in item.constraints]
        row["constraints"] = [c.to_dict() for c in item.constraints]
    else:
        raise ValueError(f"unknown format {fmt!r}; expected one of {list(FORMATS)}")
    if item.response is not None:
        row["response"] = item.response
    for k, v in item.meta.items():
        row.setdefault(k, v)
    return row


def read_prompts(
    path: str | os.PathLike[str],
    fmt: Format | None = None,
    *,
    rules: RuleMode = "judge",
    skip_bad: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[ConstrainedPrompt]:
    """Stream the constrained prompts of a JSONL file (``path:line: field: problem`` on bad rows)."""

    def convert(row: dict[str, Any]) -> ConstrainedPrompt:
        return from_row(row, fmt, rules=rules)

    return read_jsonl(path, convert, skip_bad=skip_bad, stats=stats)


def write_prompts(
    path: str | os.PathLike[str],
    items: Iterable[ConstrainedPrompt],
    fmt: Format,
    *,
    describe: Callable[[ConstraintSpec], str] | None = None,
) -> int:
    """Write ``items`` as ``fmt`` JSONL atomically; return how many rows were written."""
    with JSONLWriter(path) as writer:
        for item in items:
            writer.write(to_row(item, fmt, describe=describe))
    return writer.written


__all__ = [
    "FORMATS",
    "ConstrainedPrompt",
    "Format",
    "checker_text",
    "detect_format",
    "from_row",
    "read_prompts",
    "to_row",
    "write_prompts",
]
