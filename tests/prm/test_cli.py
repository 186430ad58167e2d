"""`ifrl prm` end to end on the tiny model: branch -> label -> train -> score -> bon (+ uniform)."""

from __future__ import annotations

import json
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


def test_pipeline(tiny_model_dir: Path, tmp_path: Path) -> None:
    model = str(tiny_model_dir)
    questions = tmp_path / "q.jsonl"
    write_jsonl(
        questions,
        [
            {"question": "3 + 4", "answer": "Step 1: 3 + 4 = 7\n#### 7"},
            {"question": "9 - 2", "answer": "7"},
            {"id": "third", "question": "1 + 1", "reference": "2"},
        ],
    )
    trees = tmp_path / "trees.jsonl"
    common = ["--model", model, "--data", str(questions), "--max-new-tokens", "10"]
    out = _run(["branch", *common, "--tau", "0", "--max-branches", "4", "--out", str(trees)])
    assert json.loads(out.strip().splitlines()[-1])["cost"]["calls"] == 3 * 4
    rows = list(read_jsonl(trees))
    assert [r["question_id"] for r in rows] == ["q-1", "q-2", "third"]
    assert [r["reference"] for r in rows] == ["7", "7", "2"]
    # Rerunning resumes: nothing left to do, nothing appended.
    _run(["branch", *common, "--tau", "0", "--max-branches", "4", "--out", str(trees)])
    assert len(list(read_jsonl(trees))) == 3

    steps = tmp_path / "steps.jsonl"
    _run(["label", "--trees", str(trees), "--model", model, "--out", str(steps)])
    samples = list(read_jsonl(steps, StepSample))
    assert len(samples) == 12 and all(s.meta["method"] == "edu" for s in samples)
    trl = tmp_path / "trl.jsonl"
    _run(["label", "--trees", str(trees), "--model", model, "--format", "trl", "--out", str(trl)])
    first = next(iter(read_jsonl(trl)))
    assert set(first) == {"prompt", "completions", "labels"}
    assert all(isinstance(x, bool) for x in first["labels"])

    uni = tmp_path / "uniform.jsonl"
    out = _run(["uniform", *common, "--rollouts", "2", "--out", str(uni)])
    assert len(list(read_jsonl(uni, StepSample))) == 3

    prm_dir = tmp_path / "prm"
    out = _run(
        ["train", "--model", model, "--data", str(steps), "--out", str(prm_dir), "--epochs", "1"]
    )
    assert json.loads(out)["samples"] == 12
    assert (prm_dir / "prm_config.json").is_file()
    deeper = tmp_path / "prm-deeper"
    args = ["--extra-layers", "1", "--freeze-base", "--epochs", "1", "--out", str(deeper)]
    _run(["train", "--model", model, "--data", str(steps), *args])
    depth = json.loads((tiny_model_dir / "config.json").read_text())["num_hidden_layers"]
    assert json.loads((deeper / "config.json").read_text())["num_hidden_layers"] == depth + 1

    scored = tmp_path / "scored.jsonl"
    _run(["score", "--prm", str(prm_dir), "--data", str(steps), "--out", str(scored)])
    for row in read_jsonl(scored):
        assert len(row["step_scores"]) == len(row["steps"])
        assert row["score"] == min(row["step_scores"])

    cands = tmp_path / "cands.jsonl"
    write_jsonl(
        cands,
        [
            {
                "prompt": "Question: 3 + 4\n",
                "candidates": ["3 + 4 = 7\n#### 7", "#### 8"],
                "reference": "7",
            }
        ],
    )
    picked = tmp_path / "picked.jsonl"
    result = CliRunner().invoke(
        cli, ["bon", "--prm", str(prm_dir), "--data", str(cands), "--out", str(picked)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"questions": 1}
    # Best-of-N metrics moved to `ifrl eval prm`; the message names the commands to run.
    assert "ifrl prm score" in result.stderr and "ifrl eval prm --responses" in result.stderr
    (row,) = list(read_jsonl(picked))
    assert row["chosen"] in (0, 1) and len(row["scores"]) == 2
    assert row["chosen_correct"] == (row["chosen"] == 0)
    # `ifrl prm score` on candidates writes what `ifrl eval prm` reads.
    _run(["score", "--prm", str(prm_dir), "--data", str(cands), "--out", str(scored)])
    (line,) = list(read_jsonl(scored))
    assert line["gold"] == "7" and line["chosen"] == row["chosen"]
    assert [c["response"] for c in line["candidates"]] == ["3 + 4 = 7\n#### 7", "#### 8"]
    assert [c["score"] for c in line["candidates"]] == pytest.approx(row["scores"])


def test_bad_question_file_names_line_and_field(tiny_model_dir: Path, tmp_path: Path) -> None:
    from ifrl.core.errors import JSONLError
    from ifrl.prm.questions import load_questions

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "1 + 1", "answer": "2"}\n{"answer": "3"}\n', encoding="utf-8")
    with pytest.raises(JSONLError, match=r"bad.jsonl:2: question: missing"):
        load_questions(bad)
    bad.write_text('{"question": "q", "answer": "#### none"}\n', encoding="utf-8")
    with pytest.raises(JSONLError, match=r"bad.jsonl:1: answer:"):
        load_questions(bad)
    good = tmp_path / "good.jsonl"
    good.write_text("".join(f'{{"question": "q{i}", "answer": "{i}"}}\n' for i in range(5)))
    picked = load_questions(good, limit=2, offset=1, template="Q: {question}\nA:")
    assert [(q.id, q.prompt, q.reference) for q in picked] == [
        ("good-2", "Q: q1\nA:", "1"),
        ("good-3", "Q: q2\nA:", "2"),
    ]


def test_branch_with_prm_pruning(tiny_model_dir: Path, tmp_path: Path) -> None:
    from ifrl.core.records import StepSample as Sample
    from ifrl.prm.train import PRMTrainConfig, train_prm

    prm_dir = tmp_path / "prm"
    train_prm(
        [Sample("Question: 1\n", ("a\n",), (1.0,))],
        tiny_model_dir,
        PRMTrainConfig(epochs=1, batch_size=1),
        out_dir=prm_dir,
        progress=False,
    )
    questions = tmp_path / "q.jsonl"
    write_jsonl(questions, [{"question": "3 + 4", "answer": "7"}])
    common = ["--model", str(tiny_model_dir), "--data", str(questions), "--max-new-tokens", "8"]
    common += ["--tau", "0", "--max-branches", "4"]
    kept, pruned = tmp_path / "kept.jsonl", tmp_path / "pruned.jsonl"
    _run(
        [
            "branch",
            *common,
            "--prune-with",
            str(prm_dir),
            "--prune-threshold",
            "0",
            "--out",
            str(kept),
        ]
    )
    _run(
        [
            "branch",
            *common,
            "--prune-with",
            str(prm_dir),
            "--prune-threshold",
            "1.01",
            "--out",
            str(pruned),
        ]
    )
    (tree_kept,) = list(read_jsonl(kept))
    (tree_pruned,) = list(read_jsonl(pruned))
    assert not any(n["pruned"] for n in tree_kept["nodes"])
    # Every non-greedy branch scores below 1.01 and is dropped; only the greedy path grows on.
    non_greedy = [n for n in tree_pruned["nodes"] if n["rank"] > 0]
    assert non_greedy and all(n["pruned"] and 0.0 < n["prune_score"] < 1.0 for n in non_greedy)


def test_backend_selection(tiny_model_dir: Path, tmp_path: Path) -> None:
    """--backend picks the step decoder; backends without token-level decoding are refused."""
    from ifrl.prm.decoding import HFStepDecoder, step_decoder_for

    questions = tmp_path / "q.jsonl"
    write_jsonl(questions, [{"question": "3 + 4", "answer": "7"}])
    common = ["--model", str(tiny_model_dir), "--data", str(questions), "--max-new-tokens", "6"]
    explicit, default = tmp_path / "hf.jsonl", tmp_path / "default.jsonl"
    _run(["branch", *common, "--backend", "hf", "--device", "cpu", "--out", str(explicit)])
    _run(["branch", *common, "--out", str(default)])
    assert list(read_jsonl(explicit)) == list(read_jsonl(default))

    result = CliRunner().invoke(cli, ["uniform", *common, "--backend", "openai", "--out", "x"])
    assert result.exit_code == 2 and "'openai' is not one of 'hf', 'vllm'" in result.output
    with pytest.raises(ValueError, match=r"must be one of \['hf', 'vllm'\], got 'openai'"):
        step_decoder_for("openai", str(tiny_model_dir))
    decoder = step_decoder_for("hf", str(tiny_model_dir), device="cpu", batch_size=3, stop=["#"])
    assert isinstance(decoder, HFStepDecoder) and decoder.stop == ("#",)
    assert decoder.generator.batch_size == 3


def test_synthetic_moved_to_the_edu_prm_recipe() -> None:
    args = ["synthetic", "--prm-base", "/models/big", "--prm-train-base", "-n", "4"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "ifrl pipeline run edu-prm --config examples/edu-prm-synthetic.yaml" in result.output


def test_commands_take_their_config_fields_as_options(tmp_path: Path) -> None:
    """Options generated from BranchConfig / UniformConfig / PRMTrainConfig are checked by the
    config kit: a bad value is a usage error naming the field."""
    data = tmp_path / "q.jsonl"
    write_jsonl(data, [{"question": "1 + 1", "answer": "2"}])
    bad = ["branch", "--model", "m", "--data", str(data), "--tau", "x", "--out", "t.jsonl"]
    result = CliRunner().invoke(cli, bad)
    assert result.exit_code == 2 and "command line: tau: expected float, got 'x'" in result.output
    bad = ["train", "--model", "m", "--data", str(data), "--out", "p", "--epochs", "0"]
    result = CliRunner().invoke(cli, bad)
    assert result.exit_code == 2 and "epochs: must be > 0, got 0.0" in result.output
    for command, flags in [
        ("branch", ["--tau", "--top-k", "--max-depth", "--max-branches", "--exclude-digits"]),
        ("uniform", ["--rollouts", "--max-new-tokens", "--seed", "--checker", "--label"]),
        ("train", ["--epochs", "--lr", "--lora-r", "--extra-layers", "--freeze-base", "--seed"]),
    ]:
        shown = CliRunner().invoke(cli, [command, "--help"]).output
        for flag in [*flags, "--config"]:
            assert flag in shown, (command, flag)
    assert "--top-k-entropy" in CliRunner().invoke(cli, ["branch", "--help"]).output


@pytest.mark.parametrize("command", ["bon", "score"])
def test_candidates_that_are_not_a_list_fail_naming_file_line_and_field(
    tmp_path: Path, command: str
) -> None:
    from ifrl.core.cli import main

    data = tmp_path / "cands.jsonl"
    data.write_text(
        '{"prompt": "1 + 1", "candidates": ["2", "3"], "reference": "2"}\n'
        '{"prompt": "2 + 2", "candidates": "abc", "reference": "4"}\n',
        encoding="utf-8",
    )
    prm_dir = tmp_path / "prm"
    prm_dir.mkdir()  # never loaded: the data is checked first
    out = tmp_path / "out.jsonl"
    args = ["prm", command, "--prm", str(prm_dir), "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"{data}:2: candidates: must be a list of solution texts, got a str" in result.output
    assert not out.exists()
    data.write_text('{"prompt": "1 + 1", "candidates": ["2", 3]}\n', encoding="utf-8")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and f"{data}:1: candidates.1: must be a solution text" in (
        result.output
    )
