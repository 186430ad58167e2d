"""Reading verification inputs: IFEval-format rows with responses, or IFEval input + responses.

Every row is validated as it is read, including its constraints (ids and kwargs), so bad input
fails with ``path:line: field: problem`` (``kwargs[1].num_words: expected an integer``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ifrl.constraints.base import Constraint, build_all
from ifrl.constraints.errors import ConstraintSpecError
from ifrl.core.errors import JSONLError, RecordError
from ifrl.core.jsonl import PathLike, read_jsonl
from ifrl.core.registry import UnknownNameError


@dataclass(frozen=True, slots=True)
class VerifyItem:
    """One response to verify against its prompt's constraints."""

    key: Any
    prompt: str
    response: str
    constraints: tuple[Constraint, ...]

    @property
    def instruction_id_list(self) -> list[str]:
        return [c.id for c in self.constraints]


def _constraints(row: Mapping[str, Any]) -> tuple[Constraint, ...]:
    ids = row.get("instruction_id_list")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise RecordError("instruction_id_list", "missing or not a list of strings")
    kwargs = row.get("kwargs", [{}] * len(ids))
    if kwargs is None:
        kwargs = [{}] * len(ids)
    if not isinstance(kwargs, list):
        raise RecordError("kwargs", "must be a list with one object per instruction id")
    if len(kwargs) != len(ids):
        raise RecordError("kwargs", f"has {len(kwargs)} entries for {len(ids)} instruction ids")
    for i, k in enumerate(kwargs):
        if k is not None and not isinstance(k, Mapping):
            raise RecordError(f"kwargs[{i}]", "must be an object or null")
    for i, cid in enumerate(ids):
        try:
            build_all([cid], [kwargs[i]])
        except UnknownNameError as err:
            raise RecordError(f"instruction_id_list[{i}]", str(err)) from None
        except ConstraintSpecError as err:
            field = f"kwargs[{i}].{err.field}" if err.field else f"kwargs[{i}]"
            raise RecordError(field, f"{cid}: {err.problem}") from None
    return tuple(build_all(ids, kwargs))


def _string(row: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = row.get(name, default)
    if not isinstance(value, str):
        raise RecordError(name, "missing or not a string")
    return value


def _item(row: dict[str, Any]) -> VerifyItem:
    return VerifyItem(
        row.get("key"), _string(row, "prompt", ""), _string(row, "response"), _constraints(row)
    )


def read_items(path: PathLike) -> Iterator[VerifyItem]:
    """Rows with ``prompt``, ``response``, ``instruction_id_list``, ``kwargs`` (and ``key``)."""
    return read_jsonl(path, _item)


@dataclass(frozen=True, slots=True)
class Pairing:
    """Items made by pairing an IFEval input file with a responses file, and what was left."""

    items: list[VerifyItem]
    inputs_without_response: list[Any]
    responses_without_input: int


def _input_row(row: dict[str, Any]) -> tuple[Any, str, tuple[Constraint, ...]]:
    return row.get("key"), _string(row, "prompt"), _constraints(row)


def pair_responses(inputs: PathLike, responses: PathLike, *, by_line: bool = False) -> Pairing:
    """Pair IFEval ``inputs`` with ``responses`` (``{prompt, response}`` lines).

    By default a response belongs to the input with the same ``prompt`` text; ``by_line``
    pairs line n with line n instead (the files must then have the same number of rows).
    """
    rows = list(read_jsonl(inputs, _input_row))
    resp = list(read_jsonl(responses, lambda r: (r.get("prompt"), _string(r, "response"))))
    if by_line:
        if len(rows) != len(resp):
            raise JSONLError(
                str(responses), len(resp), "", f"has {len(resp)} rows for {len(rows)} inputs"
            )
        items = [VerifyItem(k, p, r, c) for (k, p, c), (_, r) in zip(rows, resp)]
        return Pairing(items, [], 0)
    by_prompt: dict[str, str] = {}
    for prompt, response in resp:
        if isinstance(prompt, str):
            by_prompt.setdefault(prompt, response)
    items = []
    missing = []
    used: set[str] = set()
    for key, prompt, constraints in rows:
        if prompt in by_prompt:
            items.append(VerifyItem(key, prompt, by_prompt[prompt], constraints))
            used.add(prompt)
        else:
            missing.append(key)
    return Pairing(items, missing, len(resp) - len(used))
