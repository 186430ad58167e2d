"""IFEval and IFBench through ifrl.evals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evals_helpers import invoke
from ifrl_testdata import shared_data

from ifrl.evals.results import load_result


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

    out = invoke(
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
    invoke(
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
