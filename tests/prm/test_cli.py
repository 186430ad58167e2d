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
    out = _run(["bon", "--prm", str(prm_dir), "--data", str(cands)])
    summary = json.loads(out)
    assert summary["questions"] == 1 and summary["random_accuracy"] == 0.5
    assert summary["bon_accuracy"] in (0.0, 1.0)


def test_bad_question_file_names_line_and_field(tiny_model_dir: Path, tmp_path: Path) -> None:
    from ifrl.core.errors import JSONLError
    from ifrl.prm.data import load_questions

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
    from ifrl.prm.loop import LoopConfig
    from ifrl.prm.train import PRMTrainConfig, train_prm

    prm_dir = tmp_path / "prm"
    train_prm(
        [Sample("Question: 1\n", ("a\n",), (1.0,))],
        tiny_model_dir,
        PRMTrainConfig(loop=LoopConfig(epochs=1, batch_size=1)),
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


def test_synthetic_passes_the_prm_backbone_and_learning_rate_through(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ifrl.prm import experiment
    from ifrl.prm.experiment import ExperimentConfig, ExperimentResult

    seen: list[ExperimentConfig] = []

    def fake_run(config: ExperimentConfig, **_: object) -> ExperimentResult:
        seen.append(config)
        return ExperimentResult(0, 0, 0.0, {}, 0.0, 0, 0.0, 0.5, 0.0, 0.0, 0.0, [])

    monkeypatch.setattr(experiment, "run_synthetic", fake_run)
    out = tmp_path / "r.json"
    _run(
        [
            "synthetic",
            "--prm-base",
            "/models/big",
            "--prm-lr",
            "3e-5",
            "--prm-extra-layers",
            "0",
            "--prm-train-base",
            "-n",
            "4",
            "--out",
            str(out),
        ]
    )
    (config,) = seen
    assert config.prm_base == "/models/big" and config.n == 4
    assert config.prm_loop.lr == 3e-5
    assert config.prm_extra_layers == 0 and config.prm_freeze_base is False
    assert config.prm_loop.epochs == ExperimentConfig().prm_loop.epochs  # the rest untouched
    _run(["synthetic", "--prm-epochs", "2"])
    assert seen[-1].prm_loop.epochs == 2 and seen[-1].prm_freeze_base is True
    assert json.loads(out.read_text(encoding="utf-8"))["confidence_metrics"] == {}
