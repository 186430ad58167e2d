"""The toolace recipe's held-out BFCL-style entries: right calls pass, wrong ones fail."""

from __future__ import annotations

from pathlib import Path

from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.core.records import ToolCall
from ifrl.core.toolcalls import render_tool_calls
from ifrl.evals.bfcl.score import score_output
from ifrl.pipelines.recipes.toolace import _dialogs, heldout_entries
from ifrl.toolgen.apis import ProgrammaticApiGenerator
from ifrl.toolgen.dialog import Dialog


def _value(option: object) -> object:
    """Back from a ground-truth option to the value (dicts hold option lists)."""
    if isinstance(option, dict):
        return {k: v[0] for k, v in option.items()}
    if isinstance(option, list) and option and all(isinstance(x, dict) for x in option):
        return [_value(x) for x in option]
    return option


def _entries(tmp_path: Path) -> list:
    apis = list(ProgrammaticApiGenerator(seed=3).generate(12))
    write_jsonl(tmp_path / "apis.jsonl", apis)
    _dialogs(tmp_path / "apis.jsonl", 30, 1, 3, tmp_path / "dialogs.jsonl")
    return heldout_entries(tmp_path / "dialogs.jsonl", 10)


def test_ground_truth_calls_pass_and_wrong_ones_fail(tmp_path: Path) -> None:
    entries = _entries(tmp_path)
    assert len(entries) == 10
    assert {c for _, c in entries} >= {"parallel", "multiple"}
    dialogs = {i: Dialog.from_json(r) for i, r in enumerate(read_jsonl(tmp_path / "dialogs.jsonl"))}
    assert dialogs
    for entry, category in entries:
        calls = [
            ToolCall(name, {k: _value(v[0]) for k, v in args.items() if v != [""]})
            for gt in entry.ground_truth
            for name, args in gt.items()
        ]
        right = render_tool_calls(calls, "hermes")
        assert score_output(entry, right, category, style="hermes").valid, (entry, right)
        first = calls[0]
        wrong_name = [ToolCall(first.name + "_x", first.arguments), *calls[1:]]
        assert not score_output(
            entry, render_tool_calls(wrong_name, "hermes"), category, style="hermes"
        ).valid
        assert not score_output(entry, "I cannot help with that.", category, style="hermes").valid
