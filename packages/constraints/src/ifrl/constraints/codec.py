"""The one codec of constrained-prompt rows: dataset files, TRL batch columns, verdict rows.

Every dataset format reads into and writes from one record,
:class:`~ifrl.core.records.ConstrainedPrompt` (an id, the prompt, its constraints as
:class:`~ifrl.core.records.ConstraintSpec` with a ``kind`` each, an optional response, and
extra fields kept in ``meta``):

``ifeval``  ``{key, prompt, instruction_id_list, kwargs}`` (IFEval and IFBench; ``None`` kwargs
            are dropped as IFEval ignores them). Mixed datasets add ``kinds``: one ``"hard"`` or
            ``"soft"`` per instruction (without it, ids starting ``soft:`` are soft).
``verif``   ``{id, prompt, checkers: ["[rule] ...", "[llm] ..."]}`` as in VerIF's VerInstruct.
            We write a ``constraints`` list beside ``checkers`` so our own files round-trip
            exactly. A foreign file's ``[llm] TEXT`` becomes ``soft:rubric`` with that rubric.
            A ``[rule] TEXT`` comes with Python source in VerIF's data; that code is data from
            an untrusted file and is **never executed**. ``rules`` decides such a checker:
            ``"judge"`` (default) judges its text as a rubric, lists its position in
            ``meta["judged_rules"]`` and warns (:class:`JudgedRuleWarning`, shown once under
            Python's default filter), so it is never turned into a rubric silently; ``"error"`` rejects the row naming the
            checker.
``openinstruct``  ``{prompt or messages, ground_truth}`` as in open-instruct's IFEval-style data
            (``IF_multi_constraints_upto5``): ``ground_truth`` holds, as a Python or JSON
            literal, ``[{"instruction_id": [...], "kwargs": [...]}]``. Read by format
            detection (not in :data:`FORMATS`, the formats written); written as ``ifeval``.
``native``  ``{id, prompt, constraints: [{id, kwargs, kind}]}``.

A ``response`` field is read in every format; ``prompt`` is a string or a list of OpenAI chat
messages (with an optional ``tools`` list beside it). Bad rows raise ``RecordError`` naming the
field; :func:`read_prompts` turns that into ``path:line: field: problem``. With ``check=True``
the hard constraints are also built against the registry, so an unknown id or kwargs that do
not fit fail at the row (``kwargs[1].num_words: ...: expected an integer``).

The same columns reach reward functions in TRL batches: :func:`batch_specs` reads one row's
constraints from them (``constraints``, or IFEval's ``instruction_id_list`` + ``kwargs`` [+
``kinds``], each optionally a JSON string, as Arrow stores heterogeneous kwargs), and
:func:`training_row` writes the row a GRPO trainer reads. :func:`evaluation_row` is the line
``ifrl constraints verify`` writes per response.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from ifrl.constraints.base import build
from ifrl.constraints.params import ConstraintSpecError
from ifrl.constraints.soft import SOFT_PREFIX, judge_text
from ifrl.core.errors import RecordError
from ifrl.core.jsonl import JSONLWriter, ReadStats, read_jsonl
from ifrl.core.records import ConstrainedPrompt, ConstraintSpec, Conversation
from ifrl.core.registry import UnknownNameError

if TYPE_CHECKING:  # scoring imports this module for its output rows
    from ifrl.constraints.scoring import Evaluation

DatasetFormat = Literal["ifeval", "verif", "native", "openinstruct"]
FORMATS: tuple[DatasetFormat, ...] = ("ifeval", "verif", "native")
READ_FORMATS: tuple[DatasetFormat, ...] = (*FORMATS, "openinstruct")
RuleMode = Literal["judge", "error"]
RULE_MODES: tuple[RuleMode, ...] = ("judge", "error")
Kind = Literal["hard", "soft"]


def detect_format(row: Mapping[str, Any]) -> DatasetFormat:
    """The format of one row: ``instruction_id_list`` → ifeval, ``checkers`` → verif,
    ``constraints`` → native, ``ground_truth`` → openinstruct."""
    if "instruction_id_list" in row:
        return "ifeval"
    if "checkers" in row:
        return "verif"
    if "constraints" in row:
        return "native"
    if "ground_truth" in row:
        return "openinstruct"
    raise RecordError(
        "",
        "unknown format: expected instruction_id_list (IFEval), checkers (VerIF), constraints "
        "or ground_truth (open-instruct)",
    )


def _prompt(row: Mapping[str, Any]) -> str | Conversation:
    value = row.get("prompt")
    if value is None and isinstance(row.get("messages"), list):
        value = row["messages"]  # open-instruct rows hold the conversation in messages
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        try:
            return Conversation.from_openai({"messages": value, "tools": row.get("tools")})
        except RecordError as err:  # name the row's own fields: prompt[i]..., tools[i]...
            field = err.field
            if field.startswith("messages"):
                field = "prompt" + field[len("messages") :]
            raise RecordError(field, err.problem) from None
    raise RecordError("prompt", "missing or not a string or a list of messages")


def _derived_id(text: str) -> str:
    return "p-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _text(prompt: str | Conversation) -> str:
    return prompt if isinstance(prompt, str) else prompt.last_user_text


def _row_id(row: Mapping[str, Any], prompt: str | Conversation) -> str:
    for name in ("id", "key"):
        value = row.get(name)
        if isinstance(value, bool):
            raise RecordError(name, "must be a string or an integer")
        if isinstance(value, (str, int)):
            return str(value)
        if value is not None:
            raise RecordError(name, "must be a string or an integer")
    return _derived_id(_text(prompt))


def _response(row: Mapping[str, Any]) -> str | None:
    value = row.get("response")
    if value is not None and not isinstance(value, str):
        raise RecordError("response", "not a string")
    return value


def _kind_of(cid: str) -> Kind:
    return "soft" if cid.startswith(SOFT_PREFIX) else "hard"


def _record(
    row: Mapping[str, Any],
    prompt: str | Conversation,
    specs: Iterable[ConstraintSpec],
    known: set[str],
    extra: Mapping[str, Any] | None = None,
) -> ConstrainedPrompt:
    known = known | {"key", "id", "prompt", "response"}
    if isinstance(prompt, Conversation):
        known.add("tools")
    meta = {k: v for k, v in row.items() if k not in known}
    meta.update(extra or {})
    return ConstrainedPrompt(_row_id(row, prompt), prompt, tuple(specs), _response(row), meta)


def _ifeval_specs(
    ids: Any, kwargs: Any, kinds: Any, load: Callable[[Any, str], Any] = lambda v, _: v
) -> list[ConstraintSpec]:
    """Specs from IFEval's parallel columns (each value first passed through ``load``)."""
    ids = load(ids, "instruction_id_list")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise RecordError("instruction_id_list", "missing or not a list of non-empty strings")
    kwargs = load(kwargs, "kwargs")
    if kwargs is None:
        kwargs = [{}] * len(ids)
    if not isinstance(kwargs, list) or len(kwargs) != len(ids):
        raise RecordError("kwargs", f"must be a list with one object per instruction ({len(ids)})")
    kinds = load(kinds, "kinds")
    if kinds is not None and (
        not isinstance(kinds, list)
        or len(kinds) != len(ids)
        or not all(k in ("hard", "soft") for k in kinds)
    ):
        raise RecordError("kinds", f"must list 'hard' or 'soft' for each of the {len(ids)} ids")
    specs: list[ConstraintSpec] = []
    for i, (cid, kw) in enumerate(zip(ids, kwargs)):
        kw = load(kw, f"kwargs[{i}]")
        if kw is None:
            kw = {}
        if not isinstance(kw, Mapping):
            raise RecordError(f"kwargs[{i}]", "not an object")
        kind = kinds[i] if kinds is not None else _kind_of(cid)
        specs.append(ConstraintSpec(cid, {k: v for k, v in kw.items() if v is not None}, kind))
    return specs


def _native_specs(raw: Any, column: str = "constraints") -> list[ConstraintSpec]:
    if not isinstance(raw, list):
        raise RecordError(column, "missing or not a list")
    specs = []
    for i, item in enumerate(raw):
        try:
            specs.append(ConstraintSpec.from_dict(item))
        except RecordError as err:
            raise err.nested(f"{column}[{i}]") from None
    return specs


def _tag(checker: str) -> tuple[str, str]:
    tag, _, text = checker.strip().partition("]")
    return tag.lstrip("[").strip().lower(), text.strip()


class JudgedRuleWarning(UserWarning):
    """A VerIF ``[rule]`` checker was read as a judged rubric (its code is never run)."""


def _from_verif(
    row: Mapping[str, Any], prompt: str | Conversation, rules: RuleMode
) -> ConstrainedPrompt:
    checkers = row.get("checkers")
    if not isinstance(checkers, list) or not all(isinstance(c, str) for c in checkers):
        raise RecordError("checkers", "missing or not a list of strings")
    if rules not in RULE_MODES:
        raise ValueError(f"rules must be one of {list(RULE_MODES)}, got {rules!r}")
    specs: list[ConstraintSpec] = []
    judged_rules: list[int] = []
    for i, checker in enumerate(checkers):
        tag, text = _tag(checker)
        if tag not in ("rule", "llm") or not text:
            raise RecordError(f"checkers[{i}]", "must read '[rule] TEXT' or '[llm] TEXT'")
        if tag == "rule":
            if rules == "error":
                raise RecordError(
                    f"checkers[{i}]",
                    "a [rule] checker: its code is never run; read with rules='judge' to "
                    "judge its text as a rubric",
                )
            judged_rules.append(i)
        specs.append(ConstraintSpec("soft:rubric", {"rubric": text}, "soft"))
    if judged_rules:
        warnings.warn(
            "VerIF [rule] checkers are judged as rubrics (their code is never run); each row "
            "lists them in meta['judged_rules']; rules='error' rejects them",
            JudgedRuleWarning,
            stacklevel=4,
        )
    extra = {"judged_rules": judged_rules} if judged_rules else None
    return _record(row, prompt, specs, {"checkers"}, extra)


def _literal(value: Any, field: str) -> Any:
    """A JSON or Python literal held in a string (open-instruct writes both)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        pass
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as err:
        raise RecordError(field, f"not a JSON or Python literal: {err}") from None


def _ground_truth_specs(value: Any, field: str = "ground_truth") -> list[ConstraintSpec]:
    """Specs from open-instruct's ``ground_truth``: ``[{"instruction_id", "kwargs"}]`` (a
    list whose first item may itself be a JSON string, or one object)."""
    data = _literal(value, field)
    if isinstance(data, list):
        if not data:
            raise RecordError(field, "an empty list")
        data = _literal(data[0], f"{field}[0]")
    if not isinstance(data, Mapping) or "instruction_id" not in data:
        raise RecordError(field, "expected {'instruction_id': [...], 'kwargs': [...]}")
    ids = data["instruction_id"]
    if isinstance(ids, str):
        ids = [ids]
    try:
        return _ifeval_specs(ids, data.get("kwargs"), None)
    except RecordError as err:
        name = "instruction_id" if err.field == "instruction_id_list" else err.field
        raise RecordError(f"{field}.{name}", err.problem) from None


def _check(item: ConstrainedPrompt, fmt: DatasetFormat) -> None:
    """Build every hard constraint; ``RecordError`` naming the row's field when one does not."""
    for i, spec in enumerate(item.constraints):
        if spec.kind != "hard":
            continue
        where_id, where_kw = (
            (f"instruction_id_list[{i}]", f"kwargs[{i}]")
            if fmt == "ifeval"
            else (f"constraints[{i}].id", f"constraints[{i}].kwargs")
        )
        try:
            build(spec.id, spec.kwargs)
        except UnknownNameError as err:
            raise RecordError(where_id, str(err)) from None
        except ConstraintSpecError as err:
            field = f"{where_kw}.{err.field}" if err.field else where_kw
            raise RecordError(field, f"{spec.id}: {err.problem}") from None


def from_row(
    row: Mapping[str, Any],
    fmt: DatasetFormat | None = None,
    *,
    rules: RuleMode = "judge",
    check: bool = False,
) -> ConstrainedPrompt:
    """Read one row (format detected when ``fmt`` is None); ``RecordError`` names the field.

    ``check`` also builds the hard constraints against the registry (see the module docstring).
    """
    if not isinstance(row, Mapping):
        raise RecordError("", "expected an object")
    fmt = fmt or detect_format(row)
    if fmt not in READ_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {list(READ_FORMATS)}")
    prompt = _prompt(row)
    if fmt == "ifeval":
        specs = _ifeval_specs(row.get("instruction_id_list"), row.get("kwargs"), row.get("kinds"))
        item = _record(row, prompt, specs, {"instruction_id_list", "kwargs", "kinds"})
    elif fmt == "verif" and "constraints" not in row:
        item = _from_verif(row, prompt, rules)
    elif fmt == "openinstruct":
        specs = _ground_truth_specs(row.get("ground_truth"))
        item = _record(row, prompt, specs, {"ground_truth", "messages"})
    else:  # native, or verif written by us (the specs beside the checkers are exact)
        item = _record(
            row,
            prompt,
            _native_specs(row.get("constraints")),
            {"constraints", "checkers"},
        )
    if check:
        _check(item, "ifeval" if fmt in ("ifeval", "openinstruct") else "native")
    return item


def checker_text(
    spec: ConstraintSpec, describe: Callable[[ConstraintSpec], str] | None = None
) -> str:
    """The VerIF checker string for a constraint: ``[rule] instruction`` or ``[llm] rubric``."""
    tag = "[llm]" if spec.kind == "soft" else "[rule]"
    return f"{tag} {judge_text(spec, describe)}"


def row_key(item: ConstrainedPrompt) -> int | str | None:
    """The ``key`` of ``item``'s IFEval row: an integer for a numeric id (IFEval's keys are),
    ``None`` when the id was derived from the prompt (the row had none), else the id."""
    if item.id == _derived_id(item.text):
        return None
    return int(item.id) if item.id.isdigit() else item.id


def _prompt_value(item: ConstrainedPrompt, row: dict[str, Any]) -> None:
    if isinstance(item.prompt, str):
        row["prompt"] = item.prompt
        return
    data = item.prompt.to_openai()
    row["prompt"] = data["messages"]
    if data["tools"]:
        row["tools"] = data["tools"]


def to_row(
    item: ConstrainedPrompt,
    fmt: DatasetFormat,
    *,
    describe: Callable[[ConstraintSpec], str] | None = None,
) -> dict[str, Any]:
    """One row of ``fmt`` for ``item`` (``meta`` fields are written back beside the others)."""
    row: dict[str, Any] = {}
    if fmt in ("ifeval", "openinstruct"):
        key = row_key(item)
        if key is not None:
            row["key"] = key
        _prompt_value(item, row)
        row["instruction_id_list"] = [c.id for c in item.constraints]
        row["kwargs"] = [dict(c.kwargs) for c in item.constraints]
        if any(c.kind != _kind_of(c.id) for c in item.constraints):
            row["kinds"] = [c.kind for c in item.constraints]
    elif fmt in ("verif", "native"):
        row["id"] = item.id
        _prompt_value(item, row)
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
    fmt: DatasetFormat | None = None,
    *,
    rules: RuleMode = "judge",
    check: bool = False,
    skip_bad: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[ConstrainedPrompt]:
    """Stream the constrained prompts of a JSONL file (``path:line: field: problem`` on bad rows)."""

    def convert(row: dict[str, Any]) -> ConstrainedPrompt:
        return from_row(row, fmt, rules=rules, check=check)

    return read_jsonl(path, convert, skip_bad=skip_bad, stats=stats)


def write_prompts(
    path: str | os.PathLike[str],
    items: Iterable[ConstrainedPrompt],
    fmt: DatasetFormat,
    *,
    describe: Callable[[ConstraintSpec], str] | None = None,
) -> int:
    """Write ``items`` as ``fmt`` JSONL atomically; return how many rows were written."""
    with JSONLWriter(path) as writer:
        for item in items:
            writer.write(to_row(item, fmt, describe=describe))
    return writer.written


# --------------------------------------------------------------------------------------------
# TRL batches and verdict rows


def _json(value: Any, field: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as err:
            raise RecordError(field, f"not valid JSON: {err}") from err
    return value


def _present(spec: Any) -> Any:
    """A constraint object without its null fields and null kwargs."""
    if not isinstance(spec, Mapping):
        return spec
    out = {k: v for k, v in spec.items() if v is not None}
    if isinstance(out.get("kwargs"), Mapping):
        out["kwargs"] = {k: v for k, v in out["kwargs"].items() if v is not None}
    return out


def batch_specs(
    columns: Mapping[str, Any], index: int, column: str = "constraints"
) -> list[ConstraintSpec]:
    """Every constraint (hard and soft) of row ``index`` of a TRL batch's ``columns``.

    Read from ``column`` (``{"id", "kwargs", "kind"}`` objects), else from IFEval's columns,
    else from open-instruct's ``ground_truth`` column.
    Null fields count as absent (Arrow fills the fields a row lacks with nulls).
    ``ConstraintSpecError`` names the column and field of a malformed value.
    """
    try:
        if column in columns and columns[column] is not None:
            raw = _json(columns[column][index], column) or []
            return _native_specs(
                [_present(_json(s, f"{column}[{i}]")) for i, s in enumerate(raw)], column
            )
        if "instruction_id_list" in columns:

            def cell(name: str) -> Any:
                return _json(columns[name][index], name) if name in columns else None

            ids = cell("instruction_id_list") or []
            return _ifeval_specs(ids, cell("kwargs"), cell("kinds"), _json)
        if "ground_truth" in columns and columns["ground_truth"] is not None:
            return _ground_truth_specs(columns["ground_truth"][index])
    except RecordError as err:
        raise ConstraintSpecError("", err.field, err.problem) from None
    raise ConstraintSpecError(
        "",
        column,
        f"no '{column}', 'instruction_id_list' or 'ground_truth' column among {sorted(columns)}",
    )


def training_row(item: ConstrainedPrompt) -> dict[str, Any]:
    """The row a GRPO trainer reads: ``prompt`` as chat messages and ``constraints``.

    The prompt is :meth:`ConstrainedPrompt.conversation` (a string becomes one user message),
    the conversation the IFEval-style evaluation renders, so rollouts go through the policy's
    chat template exactly as evaluation prompts do (a string row would be sampled as raw text).
    """
    return {
        "prompt": item.conversation().chat(),
        "constraints": [c.to_dict() for c in item.constraints],
    }


def evaluation_row(evaluation: Evaluation) -> dict[str, Any]:
    """The verdict line of one response: key, ids, strict and loose verdicts, follow-all flags."""
    return {
        "key": evaluation.key,
        "instruction_id_list": list(evaluation.instruction_id_list),
        "strict": list(evaluation.strict),
        "loose": list(evaluation.loose),
        "follow_all_strict": evaluation.follow_all_strict,
        "follow_all_loose": evaluation.follow_all_loose,
    }


__all__ = [
    "FORMATS",
    "READ_FORMATS",
    "RULE_MODES",
    "DatasetFormat",
    "JudgedRuleWarning",
    "RuleMode",
    "batch_specs",
    "checker_text",
    "detect_format",
    "evaluation_row",
    "from_row",
    "read_prompts",
    "row_key",
    "to_row",
    "training_row",
    "write_prompts",
]
