"""The one JSONL reader and writer of ifrl.

* :func:`read_jsonl` streams a file line by line, optionally validating each line into a record
  type, and reports bad input as ``path:line: field: problem``. With ``skip_bad=True`` it skips
  bad lines and counts them in a :class:`ReadStats` instead.
* :class:`JSONLWriter` writes atomically: lines go to a temporary file beside the target that is
  renamed over it on success, so a crash never leaves a half-written file. With
  ``append=True`` it extends an existing file (for resumable jobs), flushing after every line.
* :func:`to_dataset` / :func:`from_dataset` convert records to and from ``datasets.Dataset``.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar, overload

from ifrl.core.errors import JSONLError, RecordError, field_path
from ifrl.core.records import Record

R = TypeVar("R", bound=Record)
T = TypeVar("T")

PathLike = str | os.PathLike[str]


@dataclass
class ReadStats:
    """What a read saw: lines read, records yielded, bad lines skipped (with their messages)."""

    lines: int = 0
    records: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


@overload
def read_jsonl(
    path: PathLike,
    record: None = None,
    *,
    skip_bad: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[dict[str, Any]]: ...


@overload
def read_jsonl(
    path: PathLike,
    record: type[R],
    *,
    skip_bad: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[R]: ...


@overload
def read_jsonl(
    path: PathLike,
    record: Callable[[dict[str, Any]], T],
    *,
    skip_bad: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[T]: ...


def read_jsonl(
    path: PathLike,
    record: Any = None,
    *,
    skip_bad: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[Any]:
    """Stream the JSON objects of a JSONL file, validated into ``record`` when given.

    ``record`` is a :class:`Record` subclass (validated with ``from_dict``) or any callable
    taking the parsed dict that raises ``RecordError`` for bad data. Blank lines are ignored.
    Raises :class:`JSONLError` (``path:line: field: problem``) on the first bad line unless
    ``skip_bad`` is set, in which case bad lines are counted in ``stats``.
    """
    convert: Callable[[dict[str, Any]], Any] | None
    if record is None:
        convert = None
    elif isinstance(record, type) and issubclass(record, Record):
        convert = record.from_dict
    else:
        convert = record
    st = stats if stats is not None else ReadStats()
    name = os.fspath(path)
    with open(name, "rb") as fh:
        for lineno, raw_bytes in enumerate(fh, start=1):
            st.lines += 1
            try:
                raw = raw_bytes.decode("utf-8")
            except UnicodeDecodeError as err:
                bad = JSONLError(
                    name, lineno, "", f"not UTF-8 text ({err.reason} at byte {err.start})"
                )
                if not skip_bad:
                    raise bad from err
                st.skipped += 1
                st.errors.append(str(bad))
                continue
            if not raw.strip():
                continue
            try:
                value = _parse_line(raw, name, lineno, convert)
            except JSONLError as err:
                if not skip_bad:
                    raise
                st.skipped += 1
                st.errors.append(str(err))
                continue
            st.records += 1
            yield value


def _lone_surrogate(value: Any, where: str) -> str | None:
    """The field path of the first string holding a lone surrogate, or None."""
    if isinstance(value, str):
        return where if any("\ud800" <= ch <= "\udfff" for ch in value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _lone_surrogate(key, where) is not None:
                return field_path(where, key)
            found = _lone_surrogate(item, field_path(where, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _lone_surrogate(item, f"{where}[{i}]")
            if found is not None:
                return found
    return None


def _parse_line(
    raw: str, name: str, lineno: int, convert: Callable[[dict[str, Any]], Any] | None
) -> Any:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        content = raw.rstrip("\r\n")
        truncated = err.pos >= len(content) - 1 or err.msg.startswith("Unterminated")
        what = "truncated JSON" if truncated else "invalid JSON"
        raise JSONLError(name, lineno, "", f"{what}: {err.msg} (column {err.colno})") from err
    except RecursionError:
        raise JSONLError(name, lineno, "", "JSON nested too deeply to read") from None
    if "\\ud" in raw or "\\uD" in raw:  # only an escape can spell a lone surrogate
        where = _lone_surrogate(data, "")
        if where is not None:
            raise JSONLError(
                name, lineno, where, "holds a lone UTF-16 surrogate (\\ud800-\\udfff): not text"
            )
    if not isinstance(data, dict):
        raise JSONLError(name, lineno, "", f"expected a JSON object, got {type(data).__name__}")
    if convert is None:
        return data
    try:
        return convert(data)
    except RecordError as err:
        raise JSONLError(name, lineno, err.field, err.problem) from err


def count_lines(path: PathLike) -> int:
    """The number of non-blank lines of a file (0 when it does not exist); for resuming."""
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def _dump(item: Any) -> str:
    data = item.to_dict() if isinstance(item, Record) else item
    if not isinstance(data, Mapping):
        raise TypeError(f"JSONL lines must be objects or records, got {type(item).__name__}")
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class JSONLWriter:
    """Write records or dicts as JSONL; atomic by default, appending when resuming.

    Use as a context manager. In atomic mode (``append=False``) nothing appears at ``path``
    until the block exits without an exception; on an exception the temporary file is removed
    and any previous file at ``path`` is left untouched. In append mode each line is flushed
    as written, and a partial last line left by a crash is cut off before appending.
    """

    def __init__(self, path: PathLike, *, append: bool = False) -> None:
        self.path = Path(path)
        self.append = append
        self.written = 0
        self._fh: IO[str] | None = None
        self._tmp: str | None = None

    def __enter__(self) -> JSONLWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.append:
            _truncate_partial_line(self.path)
            self._fh = open(self.path, "a", encoding="utf-8", newline="\n")
        else:
            fd, self._tmp = atomic_temp(self.path)
            self._fh = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        return self

    def write(self, item: Any) -> None:
        """Write one record or dict as a line."""
        if self._fh is None:
            raise RuntimeError("JSONLWriter.write outside its 'with' block")
        self._fh.write(_dump(item) + "\n")
        self.written += 1
        if self.append:
            self._fh.flush()

    def write_all(self, items: Iterable[Any]) -> None:
        for item in items:
            self.write(item)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._fh is not None
        fh, self._fh = self._fh, None
        if self.append:
            fh.close()
            return
        assert self._tmp is not None
        if exc_type is not None:
            fh.close()
            os.unlink(self._tmp)
            return
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(self._tmp, self.path)


def atomic_temp(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target`` (``.NAME.<pid>-<random>.tmp``) for an atomic
    write, as ``(fd, path)``. Temporary files of ``target`` left by processes that no longer run
    (killed before they could rename or remove theirs) are removed first."""
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*-*.tmp"):
        pid = stale.name[len(target.name) + 2 :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                stale.unlink()
    return tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}-", suffix=".tmp", dir=target.parent
    )


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def _truncate_partial_line(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        fh.truncate(cut)


def write_jsonl(path: PathLike, items: Iterable[Any], *, append: bool = False) -> int:
    """Write all ``items`` to ``path`` (atomically unless ``append``); return how many."""
    with JSONLWriter(path, append=append) as writer:
        writer.write_all(items)
    return writer.written


def write_json(path: PathLike, data: Any, *, indent: int = 2) -> None:
    """Write one JSON document atomically (temporary file + rename)."""
    write_text(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def write_text(path: PathLike, text: str) -> None:
    """Write a text file atomically (temporary file + rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = atomic_temp(target)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(target: PathLike) -> Iterator[Path]:
    """A new temporary directory beside ``target`` to fill; when the block ends normally it
    takes ``target``'s place (an old ``target`` is moved aside, then removed), otherwise it is
    removed: ``target`` is always absent, the old one or the whole new one."""
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def to_dataset(items: Iterable[Any]) -> Any:
    """A ``datasets.Dataset`` with one row per record or dict (needs the ``datasets`` package)."""
    from ifrl.core.errors import require

    require("datasets", "ifrl-core", "datasets")
    import datasets

    rows = [item.to_dict() if isinstance(item, Record) else dict(item) for item in items]
    return datasets.Dataset.from_list(rows)


def from_dataset(dataset: Iterable[Mapping[str, Any]], record: type[R]) -> Iterator[R]:
    """Validate the rows of a ``datasets.Dataset`` (or any iterable of dicts) into records.

    Errors name the row: ``row 7: messages[0].role: ...``.
    """
    for i, row in enumerate(dataset):
        try:
            yield record.from_dict(dict(row))
        except RecordError as err:
            raise RecordError(f"row {i}: {err.field}", err.problem) from err
