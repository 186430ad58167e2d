"""The JSONL reader's error messages and the writer's atomicity and resumability."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ifrl.core import JSONLError, JSONLWriter, Message, ReadStats, read_jsonl, write_jsonl
from ifrl.core.jsonl import count_lines, from_dataset, to_dataset, write_json


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_records_and_skips_blank_lines(tmp_path: Path) -> None:
    p = write(
        tmp_path / "m.jsonl",
        '{"role": "user", "content": "a"}\n\n{"role": "assistant", "content": "b"}\n',
    )
    assert [m.content for m in read_jsonl(p, Message)] == ["a", "b"]
    assert list(read_jsonl(p)) == [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
    ]


def test_truncated_line_names_path_and_line(tmp_path: Path) -> None:
    p = write(tmp_path / "m.jsonl", '{"role": "user", "content": "a"}\n{"role": "user", "cont')
    with pytest.raises(JSONLError) as info:
        list(read_jsonl(p, Message))
    err = info.value
    assert (err.path, err.line) == (str(p), 2)
    assert str(err).startswith(f"{p}:2: ")
    assert "truncated JSON" in str(err)


def test_wrong_type_names_field(tmp_path: Path) -> None:
    p = write(
        tmp_path / "m.jsonl",
        '{"role": "user", "content": "a"}\n{"role": "user", "content": ["x"]}\n',
    )
    with pytest.raises(JSONLError) as info:
        list(read_jsonl(p, Message))
    assert str(info.value) == f"{p}:2: content: expected string or null, got a list"


def test_missing_field_names_field(tmp_path: Path) -> None:
    p = write(tmp_path / "m.jsonl", '\n\n{"content": "a"}\n')
    with pytest.raises(JSONLError) as info:
        list(read_jsonl(p, Message))
    assert (info.value.line, info.value.field) == (3, "role")
    assert str(info.value) == f"{p}:3: role: missing required field"


def test_non_object_and_non_utf8(tmp_path: Path) -> None:
    p = write(tmp_path / "a.jsonl", "[1, 2]\n")
    with pytest.raises(JSONLError, match=r":1: <line>: expected a JSON object, got list"):
        list(read_jsonl(p))
    q = tmp_path / "b.jsonl"
    q.write_bytes(b'{"a": 1}\n{"a": "\xff"}\n')
    with pytest.raises(JSONLError, match=r":2: <line>: not UTF-8"):
        list(read_jsonl(q))


def test_skip_bad_counts(tmp_path: Path) -> None:
    p = write(
        tmp_path / "m.jsonl",
        '{"role": "user"}\n{"role": 1}\nnot json\n{"role": "tool", "content": "x"}\n',
    )
    stats = ReadStats()
    got = list(read_jsonl(p, Message, skip_bad=True, stats=stats))
    assert [m.role for m in got] == ["user", "tool"]
    assert (stats.lines, stats.records, stats.skipped) == (4, 2, 2)
    assert stats.errors[0].startswith(f"{p}:2: role:")
    assert stats.errors[1].startswith(f"{p}:3: <line>: invalid JSON")


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    p = tmp_path / "out.jsonl"
    write_jsonl(p, [{"a": 1}])
    with pytest.raises(RuntimeError), JSONLWriter(p) as w:
        w.write({"a": 2})
        raise RuntimeError("crash mid-write")
    assert list(read_jsonl(p)) == [{"a": 1}]
    assert [f.name for f in tmp_path.iterdir()] == ["out.jsonl"]  # no temp file left behind


def test_append_resumes_and_drops_partial_line(tmp_path: Path) -> None:
    p = tmp_path / "out.jsonl"
    write_jsonl(p, [Message("user", "a")])
    with open(p, "a", encoding="utf-8") as fh:
        fh.write('{"role": "us')  # a crash in the middle of a line
    assert count_lines(p) == 2
    write_jsonl(p, [Message("user", "b")], append=True)
    assert [m.content for m in read_jsonl(p, Message)] == ["a", "b"]
    assert count_lines(tmp_path / "missing.jsonl") == 0


def test_write_json_is_atomic_and_readable(tmp_path: Path) -> None:
    p = tmp_path / "d" / "x.json"
    write_json(p, {"k": [1, 2]})
    assert p.read_text().startswith("{")


def test_datasets_round_trip() -> None:
    pytest.importorskip("datasets")
    msgs = [Message("user", "a"), Message("assistant", "b")]
    ds = to_dataset(msgs)
    assert ds.num_rows == 2
    assert list(from_dataset(ds, Message)) == msgs
    bad = to_dataset([{"role": "user", "content": "x"}, {"role": "robot", "content": "y"}])
    with pytest.raises(Exception, match=r"row 1: role"):
        list(from_dataset(bad, Message))


def test_lone_surrogates_and_deep_nesting_are_reported_with_their_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": "\\ud83d\\ude00"}\n{"b": {"c": ["ok", "bad \\ud800"]}}\n')
    with pytest.raises(JSONLError, match=r"bad\.jsonl:2: b\.c\[1\]: holds a lone UTF-16 surrogate"):
        list(read_jsonl(path))
    path.write_text("[" * 100_000 + "\n")
    with pytest.raises(JSONLError, match=r"bad\.jsonl:1: <line>: JSON nested too deeply"):
        list(read_jsonl(path))
    path.write_text('{"emoji": "\\ud83d\\ude00"}\n')  # a surrogate *pair* is one character
    assert list(read_jsonl(path)) == [{"emoji": "\U0001f600"}]


def test_temporary_files_of_killed_writers_are_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    orphan = tmp_path / f".out.jsonl.{dead.stdout.strip()}-abc123.tmp"  # SIGKILLed mid-write
    orphan.write_text('{"half": ')
    live = tmp_path / f".out.jsonl.{os.getpid()}-def456.tmp"  # another writer, still running
    live.write_text("")
    write_jsonl(target, [{"a": 1}])
    assert not orphan.exists() and live.exists()
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == [live.name]


def test_sigterm_unwinds_an_ifrl_command_and_removes_its_temporary_file(tmp_path: Path) -> None:
    script = f"""
import os, signal, click
from ifrl.core.cli import IfrlGroup
from ifrl.core.jsonl import JSONLWriter

@click.group(cls=IfrlGroup)
@click.option("--debug", is_flag=True)
def group(debug):
    pass

@group.command()
def write():
    with JSONLWriter({str(tmp_path / "out.jsonl")!r}) as w:
        w.write({{"a": 1}})
        os.kill(os.getpid(), signal.SIGTERM)

group(["write"])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_the_target_whole_or_not_at_all(tmp_path: Path) -> None:
    from ifrl.core.jsonl import atomic_dir

    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("one")
    assert (target / "a.txt").read_text() == "one"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("killed mid-write")
    assert (target / "a.txt").read_text() == "one"  # the old directory, untouched
    with atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("two")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary left behind
