"""A robust labeller on the tiny model: `branch` and `uniform` resume after a run killed mid-line
(a torn last line), `--shard i/n`, the exports current trainers read, ProcessBench-format scoring
into `ifrl eval prm`, the GSM8K planted-error set, one step cut, and `ifrl prm study`."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")

from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.core.records import StepSample
from ifrl.prm.cli import cli


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _questions(path: Path, n: int = 3) -> Path:
    rows = [{"question": f"{i + 2} + {i + 1}", "answer": str(2 * i + 3)} for i in range(n)]
    write_jsonl(path, rows)
    return path


def _tear(path: Path) -> bytes:
    """Cut the file inside its last line, as a run killed mid-write leaves it."""
    data = path.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1
    torn = data[: last + (len(data) - last) // 2]
    path.write_bytes(torn)
    return data


def _same_tree(a: dict, b: dict) -> bool:
    strip = [{k: v for k, v in n.items() if k != "entropies"} for n in a["nodes"]]
    if strip != [{k: v for k, v in n.items() if k != "entropies"} for n in b["nodes"]]:
        return False
    pairs = [
        (x, y)
        for n, m in zip(a["nodes"], b["nodes"])
        for x, y in zip(n["entropies"], m["entropies"])
    ]
    return a["cost"] == b["cost"] and all(abs(x - y) < 1e-4 for x, y in pairs)


def test_branch_resumes_after_a_torn_last_line_and_shards(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = _questions(tmp_path / "q.jsonl")
    common = ["--model", str(tiny_model_dir), "--data", str(data), "--max-new-tokens", "10"]
    common += ["--tau", "0", "--max-branches", "3"]
    whole = tmp_path / "trees.jsonl"
    out = json.loads(_run(["branch", *common, "--out", str(whole)]).strip().splitlines()[-1])
    assert set(out["anchor_rate"]) >= {"0", "0.5", "1"} and out["anchor_rate"]["0"] > 0
    assert out["anchor_rate"]["0"] >= out["anchor_rate"]["1"]  # fewer anchors at a higher tau
    full = whole.read_bytes()
    _tear(whole)
    with pytest.raises(Exception):  # noqa: B017 - the torn file is not valid JSONL
        list(read_jsonl(whole))
    result = CliRunner().invoke(cli, ["branch", *common, "--out", str(whole)])
    assert result.exit_code == 0, result.output
    assert "1 questions to branch (2 already in" in result.stderr
    # The torn tree is grown again, the others kept as they were (entropies of a question
    # decoded alone differ from those decoded in a batch by float noise only).
    trees = [json.loads(x) for x in full.splitlines()]
    again = list(read_jsonl(whole))
    assert again[:2] == trees[:2] and _same_tree(again[2], trees[2])
    assert all(t["cost"]["generated_tokens"] > 0 for t in trees)
    # Two shards label disjoint halves of the questions; together all of them.
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _run(["branch", *common, "--shard", "0/2", "--out", str(a)])
    _run(["branch", *common, "--shard", "1/2", "--out", str(b)])
    ids = [[r["question_id"] for r in read_jsonl(p)] for p in (a, b)]
    assert ids == [["q-1", "q-3"], ["q-2"]]
    sharded = {r["question_id"]: r for p in (a, b) for r in read_jsonl(p)}
    assert all(_same_tree(sharded[t["question_id"]], t) for t in trees)
    bad = CliRunner().invoke(cli, ["branch", *common, "--shard", "2/2", "--out", str(a)])
    assert bad.exit_code == 2 and "need 0 <= i < n" in bad.output


def test_uniform_on_tree_leaves_resumes_without_duplicates(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = _questions(tmp_path / "q.jsonl")
    common = ["--model", str(tiny_model_dir), "--data", str(data), "--max-new-tokens", "10"]
    trees = tmp_path / "trees.jsonl"
    _run(["branch", *common, "--tau", "0", "--max-branches", "3", "--out", str(trees)])
    uni = tmp_path / "uniform.jsonl"
    args = ["uniform", *common, "--rollouts", "2", "--trees", str(trees), "--solutions", "2"]
    out = json.loads(_run([*args, "--out", str(uni)]).strip().splitlines()[-1])
    rows = list(read_jsonl(uni, StepSample))
    assert len(rows) == 3 * 2
    from ifrl.prm.branching import BranchTree

    first = BranchTree.from_dict(next(iter(read_jsonl(trees))))
    choices = [first.branch_choices(r.meta["leaf"]) for r in rows[:2]]
    assert set(choices[0]) == {0} and choices == sorted(choices)  # the greedy leaf first
    assert all(r.meta["solutions"] == 2 and r.meta["split"] == "newline" for r in rows)
    # Each question's cost: sampling its two solutions plus the rollouts.
    per_q = {r.meta["question_id"]: r.meta["cost"]["generated_tokens"] for r in rows}
    assert sum(per_q.values()) == out["cost"]["generated_tokens"]
    full = uni.read_bytes()
    # Killed while writing the last question's second line: its first line is complete.
    _tear(uni)
    result = CliRunner().invoke(cli, [*args, "--out", str(uni)])
    assert result.exit_code == 0, result.output
    assert "1 questions to label (2 already in" in result.stderr
    assert uni.read_bytes() == full  # same rollouts (seeded), no duplicate line
    again = CliRunner().invoke(cli, [*args, "--out", str(uni)])
    assert "0 questions to label (3 already in" in again.stderr and uni.read_bytes() == full

    # The greedy baseline resumes the same way (one line per question).
    greedy = tmp_path / "greedy.jsonl"
    plain = ["uniform", *common, "--rollouts", "2"]
    _run([*plain, "--out", str(greedy)])
    whole = greedy.read_bytes()
    _tear(greedy)
    _run([*plain, "--out", str(greedy)])
    assert greedy.read_bytes() == whole

    # The study: both labelers on the same leaves, per line step and per question.
    report = tmp_path / "study.json"
    got = json.loads(
        _run(
            [
                "study",
                "--trees",
                str(trees),
                "--uniform",
                str(uni),
                "--model",
                str(tiny_model_dir),
                "--out",
                str(report),
            ]
        )
    )
    assert got["questions"] == 3 and got["cost_ratio_line"] > 0 and got["cost_ratio_question"] > 0
    assert got["cost_ratio_line_ci95"] is None  # 3 questions: too few for an interval
    full_report = json.loads(report.read_text())
    assert full_report["uniform"]["solutions"] == 6 and full_report["edu"]["solutions"] == 9
    bad = CliRunner().invoke(
        cli,
        ["study", "--trees", str(trees), "--uniform", str(greedy), "--model", str(tiny_model_dir)],
    )
    assert bad.exit_code == 2 and "label with --trees" in bad.output


def test_cost_ratio_intervals_resample_questions() -> None:
    from ifrl.prm.study import QuestionCost, cost_ratio_intervals

    same = [QuestionCost(10, 40, 2, 4)] * 5
    got = cost_ratio_intervals(same, resamples=200)
    assert got == {"cost_ratio_line_ci95": [2.0, 2.0], "cost_ratio_question_ci95": [4.0, 4.0]}
    # one cheap and one dear question: resamples of only one kind bound the ratio
    mixed = [QuestionCost(10, 20, 1, 1), QuestionCost(10, 80, 1, 1)] * 10
    low, high = cost_ratio_intervals(mixed, resamples=500)["cost_ratio_question_ci95"] or [0, 0]
    assert 2.0 < low < 5.0 < high < 8.0
    assert cost_ratio_intervals(same[:4])["cost_ratio_line_ci95"] is None  # too few to resample
    assert cost_ratio_intervals([QuestionCost(0, 5, 0, 1)] * 5) == {
        "cost_ratio_line_ci95": None,
        "cost_ratio_question_ci95": None,
    }


def test_exports_processbench_scoring_and_one_step_cut(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = _questions(tmp_path / "q.jsonl", 2)
    common = ["--model", str(tiny_model_dir), "--data", str(data), "--max-new-tokens", "8"]
    trees = tmp_path / "trees.jsonl"
    _run(["branch", *common, "--tau", "0", "--max-branches", "2", "--out", str(trees)])
    base = ["label", "--trees", str(trees), "--model", str(tiny_model_dir)]
    stepwise, old, rlhf = tmp_path / "s.jsonl", tmp_path / "t.jsonl", tmp_path / "o.jsonl"
    _run([*base, "--format", "stepwise", "--out", str(stepwise)])
    renamed = CliRunner().invoke(cli, [*base, "--format", "trl", "--out", str(old)])
    assert renamed.exit_code == 0 and "--format stepwise" in renamed.stderr
    assert old.read_bytes() == stepwise.read_bytes()
    row = next(iter(read_jsonl(stepwise)))
    assert set(row) == {"prompt", "completions", "labels"}
    _run([*base, "--format", "openrlhf", "--label", "hard", "--out", str(rlhf)])
    row = next(iter(read_jsonl(rlhf)))
    assert set(row) == {"input", "value"} and set(row["value"]) <= {"+", "-"}
    assert row["input"].count("ки") == len(row["value"])

    # One step cut: labels record it, training refuses another, the PRM records its own.
    lines, anchors = tmp_path / "lines.jsonl", tmp_path / "anchors.jsonl"
    _run([*base, "--out", str(lines)])
    _run([*base, "--split", "anchor", "--out", str(anchors)])
    assert {s.meta["split"] for s in read_jsonl(lines, StepSample)} == {"newline"}
    prm_dir = tmp_path / "prm"
    train = ["train", "--model", str(tiny_model_dir), "--epochs", "1", "--device", "cpu"]
    refused = CliRunner().invoke(cli, [*train, "--data", str(anchors), "--out", str(prm_dir)])
    assert refused.exit_code == 2 and "cut at anchor steps, not newline" in refused.output
    _run([*train, "--data", str(lines), "--out", str(prm_dir)])
    assert json.loads((prm_dir / "prm_config.json").read_text())["split"] == "newline"

    # ProcessBench items (a JSON array, as the dataset ships): `problem` reaches the PRM
    # through the template; `ifrl eval prm` computes first-error F1 from the scores.
    items = [
        {"id": "a", "problem": "3 + 4", "steps": ["Step 1: 3 + 4 = 7", "#### 7"], "label": -1},
        {"id": "b", "problem": "3 + 4", "steps": ["Step 1: 3 + 4 = 8", "#### 8"], "label": 0},
    ]
    bench = tmp_path / "pb.json"
    bench.write_text(json.dumps(items), encoding="utf-8")
    scored = tmp_path / "scored.jsonl"
    _run(["score", "--prm", str(prm_dir), "--data", str(bench), "--out", str(scored)])
    got = list(read_jsonl(scored))
    assert [len(r["step_scores"]) for r in got] == [2, 2] and got[0]["label"] == -1
    from ifrl.prm.model import ProcessRewardModel

    prm = ProcessRewardModel.load(prm_dir)
    direct = prm.score_batch([("Question: 3 + 4\n", items[0]["steps"])])[0]
    assert got[0]["step_scores"] == pytest.approx(direct, abs=1e-5)
    if importlib.util.find_spec("ifrl.evals") is not None:  # not a dependency of ifrl-edu-prm
        from ifrl.evals.cli import cli as eval_cli

        out = tmp_path / "eval"
        result = CliRunner().invoke(
            eval_cli, ["prm", "--responses", str(scored), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        metrics = json.loads((out / "results.json").read_text())["metrics"]
        assert set(metrics) >= {"f1", "error_acc", "correct_acc"}
    wrong_cut = CliRunner().invoke(
        cli,
        ["score", "--prm", str(prm_dir), "--data", str(bench), "--split", "anchor", "--out", "x"],
    )
    assert wrong_cut.exit_code == 2 and "trained on newline steps" in wrong_cut.output


def test_planted_errors_from_the_shared_gsm8k_file(tmp_path: Path) -> None:
    from ifrl_testdata import shared_data

    from ifrl.prm.processbench import calc, load_processbench

    gsm8k = shared_data("gsm8k", "test.jsonl")
    out = tmp_path / "planted.jsonl"
    counts = json.loads(
        _run(["planted", "--data", str(gsm8k), "--limit", "200", "--out", str(out)])
    )
    items = load_processbench(out)
    assert counts["items"] == len(items) and counts["planted"] == counts["clean"] >= 190
    rows = list(read_jsonl(gsm8k))[:200]
    by_id = {p.id: p for p in items}
    checked = 0
    for p in items:
        if p.label < 0:
            continue
        clean = by_id[p.id.rsplit("-", 1)[0] + "-clean"]
        assert clean.label == -1 and len(clean.steps) == len(p.steps)
        # Steps before k are untouched, step k differs, the final line holds the final answer.
        assert (
            p.steps[: p.label] == clean.steps[: p.label]
            and p.steps[p.label] != clean.steps[p.label]
        )
        assert p.steps[-1].startswith("####")
        index = int(p.id.split("-")[1])
        assert clean.steps[-1].strip() == rows[index]["answer"].strip().splitlines()[-1]
        # Every calculation after the planted one is recomputed: its written result is right
        # (to the 4 decimals a non-integer result is written with).
        for step in p.steps[p.label + 1 : -1]:
            for expr, result in re.findall(r"<<([^<>=]*)=([^<>]*)>>", step):
                try:
                    assert abs(calc(expr) - calc(result)) <= 1e-3 * max(1, abs(calc(result)))
                    checked += 1
                except ValueError:
                    pass
    assert checked > 100
    # Most planted errors change the final answer (the wrong number is used later on).
    changed = sum(1 for p in items if p.label >= 0 and p.final_answer_correct is False)
    assert changed / counts["planted"] > 0.8
