"""The toolace-dev recipe: the sub-task SFT, then ToolACE-DEV rounds as stages (round → SFT →
held-out eval), config errors, fine-tuning between rounds, resume (also after a failed stage),
new queries per round, and the tiny config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ifrl.core.cli import main
from ifrl.core.config import ConfigError, from_mapping, load_config
from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.core.records import Completion, Conversation, SamplingParams
from ifrl.pipelines.recipe import get_recipe, run_recipe
from ifrl.pipelines.recipes import toolace_dev
from ifrl.pipelines.recipes.toolace_dev import ToolaceDevConfig
from ifrl.toolgen import DIALOG_TYPES, DialogGenerator, Planner, ProgrammaticApiGenerator

ROOT = Path(__file__).resolve().parents[2]
TIDE = {
    "name": "get_tides",
    "description": "Get tide times for a harbour.",
    "parameters": {
        "type": "object",
        "properties": {
            "harbour": {"type": "string", "description": "Harbour"},
            "days": {"type": "integer", "description": "Days", "minimum": 1},
        },
        "required": ["harbour"],
    },
}
SCRIPT = {
    "tides in Brest": ['[get_tides(harbour="Brest")]'] * 3
    + ['[get_tides(harbour="Brest", days=2)]', "sorry"],
    "tides in Oban for 3 days": [
        '<tool_call>{"name": "get_tides", "arguments": {"harbour": "Oban", "days": 3}}</tool_call>'
    ]
    * 5,
    "split vote": ['[get_tides(harbour="A")]'] * 2
    + ['[get_tides(harbour="B")]', '[get_tides(harbour="C")]', "x"],
    "hallucinated": ['[get_moon(phase="full")]'] * 5,
    "broken schema": ['[get_tides(harbour="Hull", days=0)]'] * 5,
    "unparsed": ["[get_tides(harbour=", "[get_tides(harbour=", "[get_tides(harbour=", "ok", "ok"],
    "garbage-proposal": ["unused"],
}


class Scripted:
    """Proposals (system + user prompts): TIDE for every query; invocations scripted per query
    and sample index; any other prompt (the held-out eval) gets a text answer."""

    def __init__(self) -> None:
        self.prompts: list[Any] = []
        self.params: list[SamplingParams] = []

    def generate(self, prompts: list[Any], params: SamplingParams) -> list[list[Completion]]:
        self.prompts.extend(prompts)
        self.params.append(params)
        return [[Completion(self.reply(p, i)) for i in range(params.n)] for p in prompts]

    @staticmethod
    def reply(prompt: Any, i: int) -> str:
        assert isinstance(prompt, Conversation)
        if prompt.messages[0].role == "system":
            query = prompt.messages[1].content or ""
            return "no idea" if query == "garbage-proposal" else json.dumps([TIDE])
        script = SCRIPT.get(prompt.messages[0].content or "", ["I cannot help."])
        return script[i % len(script)]


def _config(tmp_path: Path, sft: bool = True, **evolve: Any) -> ToolaceDevConfig:
    write_jsonl(tmp_path / "queries.jsonl", [{"query": q} for q in SCRIPT])
    apis = list(ProgrammaticApiGenerator(seed=5).generate(8))
    planner = Planner(apis, seed=5)
    planner.weights = {"single": 1.0, **{k: 0.0 for k in DIALOG_TYPES if k != "single"}}
    seed = [r.dialog.to_json() for r in DialogGenerator(planner).run(range(2)) if r.dialog]
    write_jsonl(tmp_path / "seed.jsonl", seed)
    mapping = {
        "model": {"path": "m0"},
        "data": {
            "queries": str(tmp_path / "queries.jsonl"),
            "seed_data": str(tmp_path / "seed.jsonl"),
            "apis": 6,
            "heldout_apis": 4,
        },
        "evolve": {"k": 5, "abstention": False, **evolve},
        "sft": {"enabled": sft},
        "eval": {"n": 3},
    }
    cfg: ToolaceDevConfig = from_mapping(ToolaceDevConfig, mapping, "toolace-dev.yaml")
    return cfg


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """The recipe's generators and fine-tuning replaced by recording fakes."""
    seen: dict[str, list[Any]] = {"models": [], "tuned": [], "generators": []}

    def make_generator(section: Any, model: str) -> Scripted:
        seen["models"].append(model)
        seen["generators"].append(Scripted())
        return seen["generators"][-1]

    def finetune(cfg: Any, model: str, data: Path, out: Path, *_: Any) -> str:
        seen["tuned"].append((model, out.parent.name))
        return f"{model.split('+')[0]}+r{out.parent.name.split('_')[1]}"

    monkeypatch.setattr(toolace_dev, "make_generator", make_generator)
    monkeypatch.setattr(toolace_dev, "finetune", finetune)
    return seen


def test_three_stages_per_round() -> None:
    recipe = get_recipe("toolace-dev")
    cfg = from_mapping(ToolaceDevConfig, {"evolve": {"rounds": 2}}, "c.yaml")
    assert recipe.stage_names(cfg) == [
        "data",
        "eval-base",
        "sft-0",
        "eval-0",
        "round-1",
        "sft-1",
        "eval-1",
        "round-2",
        "sft-2",
        "eval-2",
        "summary",
    ]
    off = from_mapping(ToolaceDevConfig, {"sft": {"enabled": False}}, "c.yaml")
    active = [s.name for s in recipe.stages_for(off) if s.enabled is None or s.enabled(off)]
    assert active == ["data", "eval-base", "round-1", "round-2", "round-3", "summary"]


def test_config_errors_name_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    for text, message in [
        ("evolve: {rounds: 0}\n", "c.yaml: evolve.rounds: must be at least 1"),
        ("evolve: {k: many}\n", "c.yaml: evolve.k: expected int, got 'many'"),
        ("evolve: {roundz: 3}\n", "did you mean 'rounds'"),
        ("evolve: {min_agreement: 0}\n", r"evolve.min_agreement: must lie in \(0, 1\]"),
        ("model: {backend: programmatic}\n", "model.backend: expected hf, vllm or openai"),
        ("sft: {trainer: {max_step: 3}}\n", "did you mean 'max_steps'"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(ToolaceDevConfig, path)
    path.write_text("evolve: {rounds: 0}\n")
    result = CliRunner().invoke(main, ["pipeline", "run", "toolace-dev", "--config", str(path)])
    assert result.exit_code != 0 and "evolve.rounds: must be at least 1" in result.output


def test_rounds_finetune_log_and_resume(tmp_path: Path, scripted: dict[str, list[Any]]) -> None:
    cfg = _config(tmp_path, rounds=2, reuse_queries=True)
    run = tmp_path / "run"
    logs: list[str] = []
    states = run_recipe(get_recipe("toolace-dev"), cfg, run, echo=logs.append)
    # eval-base and the sub-task SFT's eval load the start and m0+r0, the rounds the tuned ones
    assert scripted["models"] == ["m0", "m0+r0", "m0+r0", "m0+r1", "m0+r1", "m0+r2"]
    assert scripted["tuned"] == [("m0", "round_0"), ("m0+r0", "round_1"), ("m0+r1", "round_2")]
    rounds = list(read_jsonl(run / "rounds.jsonl"))
    assert [r["survived"] for r in rounds] == [2, 2]
    assert rounds[1]["model"] == "m0+r2" and rounds[0]["survival_rate"] == round(2 / 7, 4)
    assert rounds[0]["reasons"]["hallucinated_tool"] == 1 and rounds[0]["valid_proposals"] == 6
    assert len(list(read_jsonl(run / "round_1/train.jsonl"))) == rounds[0]["training_rows"] > 0
    assert any(line.startswith("    round 1: 2/7 queries survived") for line in logs)
    # every stage's model is evaluated through ifrl.evals on the held-out dialogs (text answers)
    heldout = list(read_jsonl(run / "heldout.jsonl"))
    assert [h["stage"] for h in heldout] == ["eval-base", "eval-0", "eval-1", "eval-2"]
    assert all(h["accuracy"] == h["exact"] == 0.0 and h["n"] == 3 for h in heldout)
    assert rounds[0]["accuracy"] == 0.0 and states["eval-2"]["result"]["n"] == 3
    summary = states["summary"]["result"]
    assert summary["survived"] == [2, 2] and summary["accuracy_by_stage"]["eval-0"] == 0.0
    # a rerun resumes: no new generation, no new fine-tuning
    again = run_recipe(get_recipe("toolace-dev"), cfg, run, echo=logs.append)
    assert again["summary"]["result"] == states["summary"]["result"]
    assert len(scripted["models"]) == 6 and len(scripted["tuned"]) == 3


def test_a_failed_round_resumes_where_it_stopped(
    tmp_path: Path, scripted: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _config(tmp_path, rounds=2, reuse_queries=True)
    run = tmp_path / "run"
    real = toolace_dev.run_round

    def crash_in_round_2(generator: Any, queries: Any, config: Any, r: int) -> Any:
        if r == 2:
            raise RuntimeError("killed")
        return real(generator, queries, config, r)

    monkeypatch.setattr(toolace_dev, "run_round", crash_in_round_2)
    with pytest.raises(RuntimeError, match="killed"):
        run_recipe(get_recipe("toolace-dev"), cfg, run, echo=lambda _: None)
    state = json.loads((run / "state.json").read_text())["stages"]
    assert state["round-2"]["status"] == "failed" and state["eval-1"]["status"] == "done"
    before = (len(scripted["models"]), len(scripted["tuned"]))
    monkeypatch.setattr(toolace_dev, "run_round", real)
    logs: list[str] = []
    run_recipe(get_recipe("toolace-dev"), cfg, run, echo=logs.append)
    skipped = [line.split(": ")[1].split(" ")[0] for line in logs if "up to date, skipped" in line]
    assert skipped == ["data", "eval-base", "sft-0", "eval-0", "round-1", "sft-1", "eval-1"]
    # only round 2, its SFT and its eval ran again
    assert len(scripted["models"]) - before[0] == 2 and len(scripted["tuned"]) - before[1] == 1
    assert [r["round"] for r in read_jsonl(run / "rounds.jsonl")] == [1, 2]


def test_new_queries_each_round(tmp_path: Path, scripted: dict[str, list[Any]]) -> None:
    cfg = _config(tmp_path, rounds=2)
    run_recipe(get_recipe("toolace-dev"), cfg, tmp_path / "run", echo=lambda _: None)
    seen = [
        p.messages[0].content
        for g in scripted["generators"]
        for p in g.prompts
        if isinstance(p, Conversation) and p.messages[0].content in SCRIPT
    ]
    first = set(list(SCRIPT)[:4])
    assert set(seen) >= first - {"garbage-proposal"} and len(seen) == len(set(seen))
    stats = [json.loads((tmp_path / f"run/round_{r}/stats.json").read_text()) for r in (1, 2)]
    assert [s["queries"] for s in stats] == [4, 3]
    # proposals are sampled: n > 1 per proposal prompt
    assert {g.params[0].n for g in scripted["generators"] if g.params} >= {3}


def test_without_sft_only_data_is_collected(tmp_path: Path, scripted: dict[str, list[Any]]) -> None:
    cfg = _config(tmp_path, sft=False, rounds=2, reuse_queries=True)
    run_recipe(get_recipe("toolace-dev"), cfg, tmp_path / "run", echo=lambda _: None)
    assert scripted["tuned"] == [] and set(scripted["models"]) == {"m0"}
    rounds = list(read_jsonl(tmp_path / "run/rounds.jsonl"))
    assert [r["model"] for r in rounds] == ["m0", "m0"] and rounds[0]["accuracy"] is None


@pytest.mark.slow
def test_tiny_config_runs_and_resumes(tmp_path: Path, tiny_model_dir: Path) -> None:
    run = tmp_path / "run"
    args = [
        "pipeline",
        "run",
        "toolace-dev",
        "--config",
        str(ROOT / "examples/toolace-dev-tiny.yaml"),
    ]
    result = CliRunner().invoke(main, [*args, "--run-dir", str(run)])
    assert result.exit_code == 0, result.output
    state = json.loads((run / "state.json").read_text())["stages"]
    assert all(s["status"] == "done" for s in state.values())
    rounds = list(read_jsonl(run / "rounds.jsonl"))
    assert [r["round"] for r in rounds] == [1, 2]
    # sft-0 trains on the seed dialogs' sub-task rows (at least three per dialog)
    assert state["data"]["result"]["seed_rows"] >= 3 * 8
    tuned = state["sft-0"]["result"]["model"]
    assert Path(tuned).is_dir() and tuned != str(tiny_model_dir)
    for where in ("base", "round_0", "round_1", "round_2"):
        result = json.loads((run / f"{where}/eval/results.json").read_text())
        assert result["n"] > 0 and {"accuracy", "exact", "score"} <= set(result)
    assert len(list(read_jsonl(run / "heldout.jsonl"))) == 4
    again = CliRunner().invoke(main, [*args, "--run-dir", str(run)])
    assert again.exit_code == 0, again.output
    assert again.output.count("up to date, skipped") == len(state)
