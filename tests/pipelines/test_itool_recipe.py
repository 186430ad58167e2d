"""The itool recipe: its stages per iteration, config errors, data conversion, and a tiny run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ifrl.core.config import ConfigError, from_mapping
from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.pipelines.recipe import RecipeError, get_recipe, run_recipe
from ifrl.pipelines.recipes.itool import ItoolConfig, to_conversation
from ifrl.pipelines.recipes.toolace import _dialogs
from ifrl.toolgen.apis import ProgrammaticApiGenerator


def _cfg(mapping: dict[str, Any]) -> ItoolConfig:
    return from_mapping(ItoolConfig, mapping, "itool.yaml")


def test_four_stages_per_iteration() -> None:
    recipe = get_recipe("itool")
    cfg = _cfg(
        {"start": {"model": "m"}, "data": {"train": "t", "eval": "e"}, "itool": {"iterations": 2}}
    )
    assert recipe.stage_names(cfg) == [
        "data",
        "warmup",
        "eval-0",
        "deficiency-1",
        "mcts-1",
        "simpo-1",
        "eval-1",
        "deficiency-2",
        "mcts-2",
        "simpo-2",
        "eval-2",
        "summary",
    ]
    assert recipe.stage_names()[-2:] == ["eval-1", "summary"]  # the default: one iteration
    with pytest.raises(RecipeError, match="did you mean 'mcts-1'"):
        run_recipe(recipe, _cfg({"start": {"model": "m"}}), "unused", from_stage="mcts-3")


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"start\.model: give a model or a toolace_run"):
        _cfg({})
    with pytest.raises(ConfigError, match="itool: model is set by the recipe"):
        _cfg({"start": {"model": "m"}, "itool": {"model": "x"}})
    with pytest.raises(ConfigError, match="did you mean 'mcts_iterations'"):
        _cfg({"start": {"model": "m"}, "itool": {"mcts_iteration": 3}})
    with pytest.raises(ConfigError, match="deficiency: expected perplexity or sampling"):
        _cfg({"start": {"model": "m"}, "itool": {"deficiency": "loss"}})


def _toolgen_dialogs(tmp_path: Path, n: int) -> Path:
    apis = [a for a in ProgrammaticApiGenerator(seed=0).generate(60) if len(a.properties) <= 2]
    write_jsonl(tmp_path / "apis.jsonl", apis[:6])
    _dialogs(tmp_path / "apis.jsonl", n, 0, 2, tmp_path / "dialogs.jsonl", ("single",))
    return tmp_path / "dialogs.jsonl"


def test_toolgen_dialogs_become_first_turn_conversations(tmp_path: Path) -> None:
    row = next(iter(read_jsonl(_toolgen_dialogs(tmp_path, 2))))
    full = to_conversation(row, first_turn=False)
    first = to_conversation(row, first_turn=True)
    assert full is not None and first is not None
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    assert first["messages"][1]["tool_calls"]  # the call the eval checks
    assert len(full["messages"]) > 2 and full["tools"] == first["tools"]
    assert to_conversation({"messages": [{"role": "user", "content": "hi"}]}, True) is None


@pytest.mark.slow
def test_tiny_itool_run_resumes_and_reruns_only_changed_stages(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    dialogs = _toolgen_dialogs(tmp_path, 6)
    mapping: dict[str, Any] = {
        "start": {"model": str(tiny_model_dir)},
        "data": {"train": str(dialogs), "eval": str(dialogs), "eval_limit": 2},
        "itool": {
            "iterations": 1,
            "deficiency_fraction": 0.5,
            "mcts_iterations": 1,
            "mcts_actions": 2,
            "mcts_max_new_tokens": 6,
            "max_steps": 1,
            "per_device_batch_size": 2,
            "eval_max_new_tokens": 6,
            "progress": False,
        },
    }
    recipe = get_recipe("itool")
    run = tmp_path / "run"
    lines: list[str] = []
    states = run_recipe(recipe, _cfg(mapping), run, echo=lines.append)
    done = [k for k, v in states.items() if v["status"] == "done"]
    assert done == ["data", "eval-0", "deficiency-1", "mcts-1", "simpo-1", "eval-1", "summary"]
    rows = states["summary"]["result"]["rows"]
    assert [r["iteration"] for r in rows] == [0, 1]
    for r in rows:
        assert 0.0 <= r["tool_call_score"] <= 1.0
    assert states["data"]["result"]["train_samples"] == 6 * 2  # call turn + answer turn
    assert states["data"]["result"]["eval_samples"] == 2
    mcts = json.loads((run / "iter_1/pairs.json").read_text())
    assert mcts["mcts"]["model_calls"] > 0 and "baseline" in mcts
    assert (run / "summary.md").read_text().startswith("# iTool summary")
    # A simpo-1 that trained has a merged model of its own; one without pairs keeps the model.
    assert states["eval-1"]["result"]["model"] == states["simpo-1"]["result"]["model"]

    again = run_recipe(recipe, _cfg(mapping), run, echo=lines.append)
    assert again == states  # nothing reran
    mapping["itool"]["learning_rate"] = 3e-4  # a training setting: the iterations rerun
    lines.clear()
    run_recipe(recipe, _cfg(mapping), run, echo=lines.append)
    skipped = [line.split(": ")[1].split(" ")[0] for line in lines if "up to date" in line]
    assert skipped == ["data", "eval-0"]
