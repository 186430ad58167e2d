"""PRM evaluations through ifrl.evals: first-error F1 and Best-of-N."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ifrl.evals.cli import cli
from ifrl.evals.prm import PRMBenchmark, first_error, first_error_f1


def test_prm_first_error_f1_and_best_of_n(tmp_path: Path) -> None:
    assert first_error([0.9, 0.4, 0.1]) == 1
    assert first_error([0.9, 0.8]) == -1
    metrics = first_error_f1([-1, 1, 0], [-1, 1, 1])
    assert metrics["error_acc"].value == 0.5
    assert metrics["correct_acc"].value == 1.0
    assert metrics["f1"].value == pytest.approx(2 * 0.5 / 1.5)

    lines = [
        {"id": "a", "label": -1, "step_scores": [0.9, 0.8]},
        {"id": "b", "label": 1, "step_scores": [0.9, 0.2, 0.1]},
        {"id": "c", "label": 0, "prediction": 1},
        # The PRM picks the lone right answer that majority vote misses.
        {
            "id": "d",
            "gold": "18",
            "candidates": [
                {"response": "#### 18", "score": 0.9},
                {"response": "#### 17", "score": 0.1},
                {"answer": "17", "score": 0.2},
                {"response": "The answer is 17", "score": 0.3},
            ],
        },
    ]
    path = tmp_path / "scored.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    bench = PRMBenchmark(threshold=0.5)
    responses = bench.read_responses(path)
    result, samples = bench.score(bench.examples(), responses)
    assert result.metrics["f1"].value == pytest.approx(2 / 3)
    assert result.metrics["best_of_n_acc"].value == 1.0
    assert result.metrics["majority_acc"].value == 0.0
    assert result.metrics["random_acc"].value == 0.25
    assert result.metrics["oracle_acc"].value == 1.0
    assert [s["valid"] for s in samples] == [True, True, False, True]

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "gold": "1", "candidates": [{"response": "1"}]}) + "\n")
    result_cli = CliRunner().invoke(
        cli, ["prm", "--responses", str(bad), "--out", str(tmp_path / "o")]
    )
    assert result_cli.exit_code != 0
    assert "bad.jsonl:1: candidates[0].score" in result_cli.output
