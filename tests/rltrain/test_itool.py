"""The iTool loop: config, held-out evaluation, summary, and an end-to-end resumable run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from ifrl.core.generation import Prompt
from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.core.records import Completion, PreferencePair, SamplingParams, ToolCall
from ifrl.rltrain.cli_itool import itool
from ifrl.rltrain.config import ConfigError, load_config
from ifrl.rltrain.deficiency import ToolSample
from ifrl.rltrain.itool import ITool, ITOOLConfig, evaluate, plot_accuracy


class Echo:
    """Answers each prompt with a fixed text per prompt."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        assert params.greedy
        return [[Completion(self.answers[str(p)])] for p in prompts]


def test_config_checks(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("model: m\nmcts_iteratons: 3\n")
    with pytest.raises(ConfigError, match="mcts_iterations"):
        load_config(ITOOLConfig, cfg_file)
    with pytest.raises(ConfigError, match="deficiency"):
        ITOOLConfig(deficiency="random").validate()
    with pytest.raises(ConfigError, match="eval_data"):
        ITool(ITOOLConfig(model="m", data="d.jsonl"))
    cfg_file.write_text("model: m\nmcts_split_markers: ['. ', ', ']\nloss_type: sigmoid\n")
    cfg = load_config(ITOOLConfig, cfg_file)
    assert cfg.mcts_config(5).split_markers == (". ", ", ") and cfg.mcts_config(5).seed == 5
    assert cfg.use_lora and cfg.loss_type == "sigmoid"


def test_evaluate_scores_tool_calls_and_text() -> None:
    call = ToolCall("f", {"a": 1})
    samples = [
        ToolSample("1", "p1", "", (call,)),
        ToolSample("2", "p2", "", (call,)),
        ToolSample("3", "p3", "", (call,)),
        ToolSample("4", "p4", "", ()),
    ]
    gen = Echo({"p1": "[f(a=1)]", "p2": "[f(a=2)]", "p3": "[f(a=", "p4": "Sure."})
    scores = evaluate(gen, samples)
    assert scores["tool_call_accuracy"] == pytest.approx(1 / 3)
    assert scores["tool_call_score"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert scores["tool_call_parse_errors"] == pytest.approx(1 / 3)
    assert scores["text_accuracy"] == 1.0 and scores["tool_samples"] == 3


def test_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rows = [
        {"iteration": 0, "tool_call_accuracy": 0.2, "tool_call_score": 0.5},
        {"iteration": 1, "tool_call_accuracy": 0.3, "tool_call_score": 0.6},
    ]
    assert plot_accuracy(rows, tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"


def _tool_data(tmp_path: Path, n_train: int, n_eval: int) -> tuple[Path, Path]:
    pytest.importorskip("ifrl.toolgen")
    from ifrl.toolgen.apis import ProgrammaticApiGenerator
    from ifrl.toolgen.dialogs import DialogGenerator, Planner
    from ifrl.toolgen.formats import to_openai

    apis = list(ProgrammaticApiGenerator(seed=0).generate(4))
    planner = Planner(apis, seed=0, max_tools=2)
    planner.weights = {
        "single": 1.0,
        "parallel": 0.0,
        "dependent": 0.0,
        "non_tool": 0.0,
        "clarify": 0.0,
    }
    rows = [
        to_openai(r.dialog)
        for r in DialogGenerator(planner).run(range(n_train + n_eval))
        if r.dialog
    ]
    train, held = tmp_path / "train.jsonl", tmp_path / "eval.jsonl"
    write_jsonl(train, rows[:n_train])
    write_jsonl(held, rows[n_train:])
    return train, held


@pytest.mark.slow
def test_itool_end_to_end_and_resume(tmp_path: Path, tiny_model_dir: Path) -> None:
    train, held = _tool_data(tmp_path, 6, 2)
    out = tmp_path / "run"
    config = tmp_path / "itool.yaml"
    config.write_text(
        f"model: {tiny_model_dir}\ndata: {train}\neval_data: {held}\noutput_dir: {out}\n"
        "device: cpu\nlast_turn_only: false\nsft_steps: 4\nsft_batch_size: 2\nsft_learning_rate: 1e-3\n"
        "sft_curriculum: tool_calls\nmax_steps: 2\nper_device_batch_size: 2\nlearning_rate: 1e-4\n"
        "deficiency_fraction: 0.5\nmcts_iterations: 2\nmcts_actions: 2\nmcts_max_new_tokens: 16\n"
        "mcts_chunk: 2\npair_min_gap: 0.0\neval_max_new_tokens: 16\nprogress: false\nseed: 3\n"
    )
    result = CliRunner().invoke(itool, ["--config", str(config)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["iteration"] for r in rows] == [0, 1]
    assert rows[0]["model"].endswith("warmup/final")
    for r in rows:
        assert 0.0 <= r["tool_call_accuracy"] <= 1.0
    it = out / "iter_1"
    deficient = list(read_jsonl(it / "deficiency.jsonl", ToolSample.from_dict))
    train_samples = list(read_jsonl(out / "data" / "train_samples.jsonl", ToolSample.from_dict))
    assert 0 < len(deficient) < len(train_samples)
    pairs = list(read_jsonl(it / "pairs.jsonl", PreferencePair))
    costs = json.loads((it / "pairs.json").read_text())
    assert costs["mcts"]["pairs"] == len(pairs) and costs["mcts"]["model_calls"] > 0
    searched = [s for s in deficient if s.gold_calls]
    assert costs["baseline"]["model_calls"] == costs["baseline"]["n"] * len(searched)
    if pairs:
        assert rows[1]["model"].endswith("simpo/final")
        assert (it / "simpo" / "final" / "config.json").exists()
    summary = (out / "summary.md").read_text()
    assert "MCTS pairs/1k calls" in summary and summary.count("\n| ") >= 2
    # A rerun resumes: every stage is read back, nothing is recomputed.
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}
    again = ITool(load_config(ITOOLConfig, config)).run()
    assert [r["tool_call_accuracy"] for r in again] == [r["tool_call_accuracy"] for r in rows]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
