"""The toolace recipe's held-out tool-call cases: right calls pass, wrong ones fail."""

from __future__ import annotations

from pathlib import Path

from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.core.records import ToolCall
from ifrl.core.toolcalls import render_tool_calls
from ifrl.evals.tool_use import ToolUseCase, case_category, score_tool_calls
from ifrl.pipelines.recipes.toolace import heldout_cases, write_dialogs
from ifrl.toolgen import Dialog, ProgrammaticApiGenerator


def _cases(tmp_path: Path) -> list[ToolUseCase]:
    apis = list(ProgrammaticApiGenerator(seed=3).generate(12))
    write_jsonl(tmp_path / "apis.jsonl", apis)
    write_dialogs(tmp_path / "apis.jsonl", 30, 1, 3, tmp_path / "dialogs.jsonl")
    return heldout_cases(tmp_path / "dialogs.jsonl", 10)


def test_ground_truth_calls_pass_and_wrong_ones_fail(tmp_path: Path) -> None:
    cases = _cases(tmp_path)
    assert len(cases) == 10
    assert {case_category(c) for c in cases} >= {"parallel", "multiple"}
    dialogs = [Dialog.from_json(r) for r in read_jsonl(tmp_path / "dialogs.jsonl")]
    assert dialogs
    for case in cases:
        right = render_tool_calls(case.gold, "hermes")
        first = case.gold[0]
        wrong_name = render_tool_calls(
            [ToolCall(first.name + "_x", first.arguments), *case.gold[1:]], "hermes"
        )
        python = render_tool_calls(case.gold, "python")
        result, samples = score_tool_calls(
            [case] * 4, [right, wrong_name, "I cannot help with that.", python], style="hermes"
        )
        assert [s["valid"] for s in samples] == [True, False, False, False], (case, samples)
        # the matcher scores the same parse: full credit for the right calls in any format
        assert [s["exact"] for s in samples] == [True, False, False, True]
        assert samples[2]["error_type"] == samples[3]["error_type"] == "ast_decoder:decoder_failed"
        assert result.metrics["accuracy"].value == 0.25 and result.metrics["accuracy"].n == 4
