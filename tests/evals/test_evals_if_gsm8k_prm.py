"""IFEval/IFBench, GSM8K and PRM runners: reference numbers, voting, metrics, CLI output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from ifrl_testdata import shared_data

from ifrl.evals.cli import cli
from ifrl.evals.gsm8k import GSM8KBenchmark
from ifrl.evals.prm import PRMBenchmark, first_error, first_error_f1
from ifrl.evals.results import load_result
from ifrl.evals.stats import bootstrap, majority_vote, proportion, wilson_interval


def _invoke(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_ifeval_cli_prints_the_reference_accuracies_on_the_gpt4_responses(tmp_path: Path) -> None:
    data = shared_data("ifeval", "input_data.jsonl")
    responses = shared_data("ifeval", "responses_gpt4.jsonl")
    verdicts = [
        json.loads(line)
        for line in shared_data("ifeval", "reference_verdicts_gpt4.jsonl").read_text().splitlines()
    ]
    ref_ps = sum(all(v["strict"]) for v in verdicts) / len(verdicts)
    ref_pl = sum(all(v["loose"]) for v in verdicts) / len(verdicts)
    n_inst = sum(len(v["strict"]) for v in verdicts)
    ref_is = sum(sum(v["strict"]) for v in verdicts) / n_inst
    ref_il = sum(sum(v["loose"]) for v in verdicts) / n_inst

    out = _invoke(
        ["ifeval", "--data", str(data), "--responses", str(responses), "--out", str(tmp_path)]
    )
    for name, ref, n in (
        ("prompt_level_strict_acc", ref_ps, 541),
        ("prompt_level_loose_acc", ref_pl, 541),
        ("inst_level_strict_acc", ref_is, n_inst),
        ("inst_level_loose_acc", ref_il, n_inst),
    ):
        assert f"| {name} | {100 * ref:.2f} |" in out
        assert f"| {n} |" in out
    result = load_result(tmp_path)
    assert result.metrics["prompt_level_strict_acc"].value == pytest.approx(ref_ps, abs=1e-12)
    assert result.metrics["inst_level_loose_acc"].value == pytest.approx(ref_il, abs=1e-12)
    # Per-instruction-type accuracy, a plot of it, and one sample line per prompt.
    strict_types = result.breakdowns["instruction type (strict)"]
    assert sum(m.n for m in strict_types.values()) == n_inst
    assert (tmp_path / "plots" / "instruction_type_strict.png").stat().st_size > 5000
    lines = (tmp_path / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 541
    first = json.loads(lines[0])
    assert {"prompt", "response", "strict", "loose", "reasons"} <= set(first)


def test_ifbench_scores_through_the_constraint_registry(tmp_path: Path) -> None:
    data = shared_data("ifbench", "IFBench_test.jsonl")
    rows = [json.loads(line) for line in data.read_text().splitlines()][:40]
    responses = tmp_path / "r.jsonl"
    responses.write_text(
        "\n".join(json.dumps({"key": r["key"], "response": "Short answer."}) for r in rows) + "\n"
    )
    _invoke(
        [
            "ifbench",
            "--data",
            str(data),
            "--responses",
            str(responses),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    result = load_result(tmp_path / "o")
    n_ids = sum(len(r["instruction_id_list"]) for r in rows)
    unsupported = sum(result.info.get("unsupported_instruction_ids", {}).values())
    assert result.metrics["inst_level_strict_acc"].n + unsupported == n_ids


def test_gsm8k_majority_vote_and_gold_solutions(tmp_path: Path) -> None:
    data = shared_data("gsm8k", "test.jsonl")
    rows = [json.loads(line) for line in data.read_text().splitlines()][:12]
    responses = tmp_path / "r.jsonl"
    with responses.open("w") as fh:
        for i, row in enumerate(rows):
            wrong = "So the answer is 123456789."
            # Two of three samples right for even problems, one of three for odd ones.
            texts = [row["answer"], wrong, row["answer"] if i % 2 == 0 else wrong]
            fh.write(json.dumps({"id": str(i), "responses": texts}) + "\n")
    _invoke(
        ["gsm8k", "--data", str(data), "--responses", str(responses), "--out", str(tmp_path / "o")]
    )
    result = load_result(tmp_path / "o")
    assert result.metrics["maj@3"].value == pytest.approx(0.5)
    assert result.metrics["pass@1"].value == pytest.approx(18 / 36)
    assert result.metrics["pass@3"].value == 1.0
    bench = GSM8KBenchmark(data, limit=5)
    examples = bench.examples()
    gold = {e.id: [rows[int(e.id)]["answer"]] for e in examples}
    res, samples = bench.score(examples, gold)
    assert res.metrics["maj@1"].value == 1.0 and len(samples) == 5


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


def test_stats() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    m = proportion(7, 10)
    assert m.value == 0.7 and m.ci_low < 0.7 < m.ci_high and m.n == 10
    assert majority_vote(["3", None, "4", "4", "3"]) == "3"  # tie: first seen
    assert majority_vote([None, None]) is None
    a = bootstrap([1, 0, 1, 1], lambda v: sum(v) / len(v), seed=3)
    b = bootstrap([1, 0, 1, 1], lambda v: sum(v) / len(v), seed=3)
    assert a == b and a.ci_low <= 0.75 <= a.ci_high


def test_ifeval_reads_lm_eval_sample_logs(tmp_path: Path) -> None:
    from ifrl.evals.ifeval import IFEvalBenchmark

    data = shared_data("ifeval", "input_data.jsonl")
    docs = [json.loads(line) for line in data.read_text().splitlines()][:3]
    log = tmp_path / "samples_ifeval.jsonl"
    log.write_text(
        "\n".join(
            json.dumps(
                {
                    "doc": d,
                    "resps": [["all lowercase, no capitals here"]],
                    "filtered_resps": ["all lowercase"],
                }
            )
            for d in docs
        )
        + "\n"
    )
    bench = IFEvalBenchmark(data)
    got = bench.read_responses(log)
    assert got == {str(d["key"]): ["all lowercase"] for d in docs}
