"""`ifrl toolgen stats`: distinct-n, template reuse, type mix and shape of a dialog file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from toolgen_helpers import pool

from ifrl.core.jsonl import write_jsonl
from ifrl.core.records import Message
from ifrl.toolgen import DialogGenerator, Planner, dialog_stats
from ifrl.toolgen.cli import cli
from ifrl.toolgen.dialog import Dialog
from ifrl.toolgen.dialog_stats import distinct, tokens


def test_tokens_are_lower_cased_whitespace_words() -> None:
    """Punctuation stays attached, as distinct-n is usually computed (and as the issue that set
    the goals measured it)."""
    assert tokens("Book HO12345 on 2025-03-02, mail ada.l@example.com!") == [
        "book",
        "ho12345",
        "on",
        "2025-03-02,",
        "mail",
        "ada.l@example.com!",
    ]


def test_distinct_n_is_unique_over_all_ngrams() -> None:
    texts = ["a b c", "a b d", "x"]
    assert distinct(texts, 1) == (5 / 7, 7)
    assert distinct(texts, 2) == (3 / 4, 4)  # ab bc ab bd
    assert distinct([], 2) == (0.0, 0)


def test_distinct_n_at_a_fixed_size_counts_the_first_ngrams_only() -> None:
    """Corpora of different sizes compare at the same n-gram count: the cut falls mid-text,
    and a corpus smaller than the limit is counted whole."""
    texts = ["a b c", "a b d", "a b c"]  # ab bc | ab bd | ab bc
    assert distinct(texts, 2, limit=3) == (2 / 3, 3)  # ab bc ab
    assert distinct(texts, 2, limit=4) == (3 / 4, 4)
    assert distinct(texts, 2, limit=100) == distinct(texts, 2) == (3 / 6, 6)
    with pytest.raises(ValueError, match="positive"):
        distinct(texts, 2, limit=0)


def _dialog(kind: str, user: str, answer: str) -> Dialog:
    return Dialog(kind, (), (Message("user", user), Message("assistant", answer)))  # type: ignore[arg-type]


def test_openings_shapes_and_goals() -> None:
    dialogs = [
        _dialog("non_tool", f"please do task {i}", "Here is what I found" if i % 2 else f"Done {i}")
        for i in range(10)
    ]
    stats = dialog_stats(dialogs)
    out = stats.to_dict()
    assert out["types"] == {"non_tool": {"count": 10, "share": 1.0}}
    assert out["openings"]["final_answer"][0] == {"value": "here is what", "count": 5, "share": 0.5}
    assert out["distinct_openings"]["final_answer"] == 6
    assert out["turns_per_dialog"]["user_mean"] == 1.0
    goals = {g["metric"]: g for g in stats.goals()}
    assert goals["final_answer_top_opening_share"] == {
        "metric": "final_answer_top_opening_share",
        "value": 0.5,
        "goal": "<= 0.05",
        "met": False,
    }
    assert "| final_answer_top_opening_share | 0.5 | <= 0.05 | no |" in stats.to_markdown()


@pytest.fixture(scope="module")
def generated() -> list[Dialog]:
    return [r.dialog for r in DialogGenerator(Planner(pool(200), 0)).run(range(700)) if r.dialog]


def test_generated_data_has_varied_answers_and_a_full_type_mix(generated: list[Dialog]) -> None:
    out = dialog_stats(generated).to_dict()
    assert len(out["types"]) == 7
    assert out["openings"]["final_answer"][0]["share"] <= 0.05
    assert out["error_results"] == 100  # every tool_error dialog has exactly one
    assert out["turns_per_dialog"]["user_mean"] > 1.3  # sessions and clarifications
    assert {"string:date", "string:email", "string:id", "integer", "number", "object"} <= set(
        out["argument_types"]
    )


def test_stats_command(tmp_path: Path, generated: list[Dialog]) -> None:
    src = tmp_path / "d.jsonl"
    write_jsonl(src, [d.to_json() for d in generated[:200]])
    report = tmp_path / "stats.md"
    result = CliRunner().invoke(cli, ["stats", str(src), "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert "## Goals" in result.output and report.read_text() == result.output
    data = json.loads(report.with_suffix(".json").read_text())
    assert data["dialogs"] == 200 and {g["metric"] for g in data["goals"]} == {
        "user_distinct_2",
        "final_answer_top_opening_share",
    }
    met = all(g["met"] for g in data["goals"])
    strict = CliRunner().invoke(cli, ["stats", str(src), "--require-goals"])
    assert strict.exit_code == (0 if met else 1)
