"""Labelling at scale: shards of the questions and resuming from what an output file holds.

* ``--shard i/n`` (``0 <= i < n``) keeps the questions whose position in the input is ``i``
  modulo ``n`` (:func:`parse_shard`, :func:`take_shard`), so ``n`` processes or machines label
  disjoint parts of one file, each into its own output.
* :func:`written_keys` reads the keys (``question_id``) already in an output file for a rerun to
  skip. A run killed mid-write leaves a partial last line: it is ignored here (that question is
  labelled again) and cut off by the append that follows (:class:`ifrl.core.jsonl.JSONLWriter`);
  a bad line anywhere else is an error naming the file and the line.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from typing import Any, TypeVar

from ifrl.core.errors import JSONLError
from ifrl.core.jsonl import write_jsonl

T = TypeVar("T")


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``"i/n"`` as ``(i, n)`` (None stays None); ``ValueError`` unless ``0 <= i < n``."""
    if value is None or value == "":
        return None
    index, sep, count = value.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        raise ValueError(f"expected i/n such as 0/4, got {value!r}") from None
    if not sep or not 0 <= i < n:
        raise ValueError(f"need 0 <= i < n in i/n, got {value!r}")
    return i, n


def take_shard(items: Sequence[T], shard: tuple[int, int] | None) -> list[T]:
    """The items at positions ``i`` modulo ``n`` (all of them without a shard)."""
    if shard is None:
        return list(items)
    i, n = shard
    return [x for k, x in enumerate(items) if k % n == i]


def _get(row: Any, field: str) -> Any:
    for part in field.split("."):
        if not isinstance(row, dict) or part not in row:
            return None
        row = row[part]
    return row


def _complete_rows(name: str, field: str) -> list[tuple[str, dict[str, Any]]]:
    with open(name, "rb") as fh:
        data = fh.read()
    complete = data[: data.rfind(b"\n") + 1]
    rows: list[tuple[str, dict[str, Any]]] = []
    for lineno, raw in enumerate(complete.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row: Any = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise JSONLError(name, lineno, "", f"not valid JSON ({err})") from None
        key = _get(row, field)
        if key is None:
            raise JSONLError(name, lineno, field, "missing")
        rows.append((str(key), row))
    return rows


def written_keys(
    path: str | os.PathLike[str], field: str = "question_id", count: str | None = None
) -> set[str]:
    """The ``field`` values (dotted: ``meta.question_id``) of the complete lines of a JSONL
    output, empty when it is missing; a partial last line is ignored.

    With ``count`` (the field holding how many lines a key has, e.g. ``meta.solutions``), a key
    is written only when all its lines are; the lines of a key left incomplete by a killed run
    are removed from the file (rewritten atomically), so labelling it again adds no duplicate.
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        return set()
    rows = _complete_rows(name, field)
    if count is None:
        return {key for key, _ in rows}
    have = Counter(key for key, _ in rows)
    whole = {key for key, row in rows if have[key] == int(_get(row, count) or 1)}
    if len(whole) < len(have):
        write_jsonl(name, [row for key, row in rows if key in whole])
    return whole


__all__ = ["parse_shard", "take_shard", "written_keys"]
