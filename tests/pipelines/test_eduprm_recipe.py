"""The edu-prm recipe: config errors, GSM8K-format questions, and a tiny end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ifrl.core.config import ConfigError, from_mapping
from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.pipelines.recipe import StageContext, get_recipe, run_recipe
from ifrl.pipelines.recipes.eduprm import EduPrmConfig, stage_questions


def _cfg(mapping: dict[str, Any]) -> EduPrmConfig:
    return from_mapping(EduPrmConfig, mapping, "edu.yaml")


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"edu\.yaml: questions\.checker: .*gsm8k"):
        _cfg({"questions": {"checker": "gsm8"}})
    with pytest.raises(ConfigError, match=r"edu.yaml: branch\.top_k"):
        _cfg({"branch": {"top_k": 0}})
    with pytest.raises(ConfigError, match=r"bon\.aggregation: expected min, last"):
        _cfg({"bon": {"aggregation": "max"}})
    with pytest.raises(ConfigError, match=r"policy\.backend: expected hf or vllm"):
        _cfg({"policy": {"backend": "openai"}})
    assert get_recipe("edu-prm").stage_names() == [
        "policy",
        "questions",
        "branch",
        "label",
        "uniform",
        "train",
        "bon",
    ]


def test_gsm8k_format_questions_split_into_train_and_eval(tmp_path: Path) -> None:
    rows = [
        {"question": f"What is {i} + 1?", "answer": f"{i} + 1 = {i + 1}\n#### {i + 1}"}
        for i in range(5)
    ]
    write_jsonl(tmp_path / "q.jsonl", rows)
    cfg = _cfg({"questions": {"source": str(tmp_path / "q.jsonl"), "train": 3, "eval": 2}})
    ctx = StageContext(tmp_path / "run", cfg, "questions", lambda s: None, {})
    assert stage_questions(ctx) == {"train": 3, "eval": 2}
    held = list(read_jsonl(tmp_path / "run/questions/eval.jsonl"))
    assert [q["reference"] for q in held] == ["4", "5"]  # the lines after the training ones
    assert held[0]["prompt"] == "Question: What is 3 + 1?\n"
    cfg = _cfg({"questions": {"source": str(tmp_path / "q.jsonl"), "train": 4, "eval": 2}})
    with pytest.raises(ConfigError, match="holds 4 training and 1 held-out"):
        stage_questions(StageContext(tmp_path / "run", cfg, "questions", lambda s: None, {}))
    write_jsonl(tmp_path / "bad.jsonl", [{"question": "no answer"}] * 3)
    cfg = _cfg({"questions": {"source": str(tmp_path / "bad.jsonl"), "train": 1, "eval": 1}})
    with pytest.raises(ConfigError, match="has no answer to check against"):
        stage_questions(StageContext(tmp_path / "run", cfg, "questions", lambda s: None, {}))


@pytest.mark.slow
def test_tiny_edu_prm_run(tmp_path: Path, tiny_model_dir: Path) -> None:
    mapping: dict[str, Any] = {
        "policy": {"warmup_problems": 32, "warmup_epochs": 1.0},
        "questions": {"train": 3, "eval": 2},
        "branch": {"max_depth": 1, "max_branches": 2, "max_new_tokens": 12, "chunk": 2},
        "uniform": {"rollouts": 2},
        "prm": {"epochs": 1.0, "batch_size": 4, "max_length": 96},
        "bon": {"n": 3},
    }
    run = tmp_path / "run"
    states = run_recipe(get_recipe("edu-prm"), _cfg(mapping), run, echo=lambda s: None)
    assert all(v["status"] == "done" for v in states.values()) and len(states) == 7
    branch = states["branch"]["result"]
    assert branch["trees"] == 3 and branch["cost"]["generated_tokens"] > 0
    label = states["label"]["result"]
    assert label["cost"]["labeled_steps"] > 0 and 0.0 <= label["leaf_accuracy"] <= 1.0
    uni = states["uniform"]["result"]
    assert uni["cost"]["questions"] == 3 and uni["cost"]["generated_tokens"] > 0
    assert uni["generated_tokens_per_step_ratio"] == pytest.approx(
        uni["cost"]["generated_tokens_per_step"] / label["cost"]["generated_tokens_per_step"]
    )
    bon = states["bon"]["result"]
    assert bon["questions"] == 2 and bon["n"] == 3
    assert bon["random_accuracy"] <= bon["oracle_accuracy"]
    assert bon["bon_accuracy"] <= bon["oracle_accuracy"]
    cands = list(read_jsonl(run / "bon/candidates.jsonl"))
    assert [len(c["candidates"]) for c in cands] == [3, 3]
    assert (run / "prm").is_dir() and json.loads((run / "train.json").read_text())["losses"]

    # Branching resumes chunk by chunk: an interrupted attempt keeps the chunks it finished.
    first = (run / "branch/chunk_00000.json").stat().st_mtime_ns
    (run / "branch/chunk_00001.json").unlink()
    (run / "trees.jsonl").unlink()
    state = json.loads((run / "state.json").read_text())
    state["stages"]["branch"]["status"] = "running"
    (run / "state.json").write_text(json.dumps(state))
    lines: list[str] = []
    again = run_recipe(get_recipe("edu-prm"), _cfg(mapping), run, echo=lines.append)
    assert (run / "branch/chunk_00000.json").stat().st_mtime_ns == first
    assert again["branch"]["result"] == branch  # greedy trees: the same trees and cost
    assert sum("up to date" in line for line in lines) == 6  # only branch ran again
