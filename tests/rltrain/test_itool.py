"""The steps of an iTool iteration: config, deficiency, MCTS and baseline pairs, preference training.

The loop over iterations, its run directory and resuming are the ``itool`` recipe's
(tests/pipelines/test_itool_recipe.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from test_mcts import CANDIDATES, GOLD, ScriptedGenerator

from ifrl.core.config import ConfigError, load_config
from ifrl.core.jsonl import write_jsonl
from ifrl.core.records import PreferencePair, ToolCall
from ifrl.rltrain import (
    IterationConfig,
    ToolSample,
    baseline_pairs,
    search_pairs,
    select_deficient,
    summary_row,
    train_preferences,
)

BASE = "Q: "


def _samples(n: int) -> list[ToolSample]:
    gold = tuple(ToolCall.from_dict(c) for c in GOLD)
    return [ToolSample(f"s{i}", BASE, CANDIDATES[0], gold) for i in range(n)]


def test_config_checks(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("mcts_iteratons: 3\n")
    with pytest.raises(ConfigError, match="did you mean 'mcts_iterations'"):
        load_config(IterationConfig, cfg_file)
    with pytest.raises(ConfigError, match="deficiency: expected perplexity or sampling"):
        IterationConfig(deficiency="random").validate()
    with pytest.raises(ConfigError, match="mcts_actions: must be at least 1"):
        IterationConfig(mcts_actions=0).validate()
    with pytest.raises(ConfigError, match="pair_duplicate_ratio"):
        IterationConfig(pair_duplicate_ratio=0.0).validate()
    cfg_file.write_text(
        "mcts_split_markers: ['. ', ', ']\nloss_type: sigmoid\nlearning_rate: 0.5\n"
    )
    cfg = load_config(IterationConfig, cfg_file)
    assert cfg.mcts_config(5).split_markers == (". ", ", ") and cfg.mcts_config(5).seed == 5
    assert cfg.use_lora and cfg.loss_type == "sigmoid"
    dpo = cfg.dpo_config("m", "pairs.jsonl", "out")
    assert (dpo.model, dpo.data, dpo.output_dir, dpo.loss_type) == (
        "m",
        "pairs.jsonl",
        "out",
        "sigmoid",
    )
    assert dpo.learning_rate == 0.5 and dpo.use_lora and dpo.merge_lora and dpo.resume


def test_mcts_pairs_and_the_equal_budget_baseline() -> None:
    cfg = IterationConfig(mcts_iterations=5, seed=2)
    samples = _samples(4)
    pairs, cost = search_pairs(samples, ScriptedGenerator(BASE), cfg, iteration=1)
    assert pairs and cost.calls > 0 and cost.batches > 0
    assert {p.meta["sample_id"] for p in pairs} <= {s.id for s in samples}
    again, cost_again = search_pairs(samples, ScriptedGenerator(BASE), cfg, iteration=1)
    assert again == pairs and cost_again == cost  # seeded by config.seed, iteration and batch
    other, _ = search_pairs(samples, ScriptedGenerator(BASE), cfg, iteration=2)
    assert other != pairs
    base, base_cost, n = baseline_pairs(samples, ScriptedGenerator(BASE), cost, cfg, iteration=1)
    assert n == round(cost.calls / 4) and base_cost.calls == n * len(samples)
    assert all(p.chosen == CANDIDATES[0] and p.meta["source"] == "best_vs_worst" for p in base)


def test_select_deficient_by_sampling_and_by_perplexity(tiny_model_dir: Path) -> None:
    right = ToolSample("right", BASE, CANDIDATES[0], (ToolCall("never_called", {}),))
    samples = [right, *_samples(1)]
    cfg = IterationConfig(deficiency="sampling", deficiency_k=8)
    kept, info = select_deficient(samples, ScriptedGenerator(BASE), cfg, iteration=1)
    assert [s.id for s in kept] == ["right", "s0"]
    assert info == {"selector": "sampling", "kept": 2, "model_calls": 16, "total": 2}

    from ifrl.core.backends.hf import HFGenerator

    texts = [f"Say {w}." for w in ("one", "two", "three", "four")]
    samples = [ToolSample(str(i), "User: hi\nAssistant: ", t) for i, t in enumerate(texts)]
    gen = HFGenerator(tiny_model_dir, device="cpu")
    kept, info = select_deficient(samples, gen, IterationConfig(deficiency_fraction=0.5), 1)
    assert len(kept) == 2 and info["selector"] == "perplexity" and info["total"] == 4
    assert info["mean_kept_perplexity"] >= info["mean_perplexity"] > 1.0
    with pytest.raises(TypeError, match="perplexity"):
        select_deficient(samples, ScriptedGenerator(BASE), IterationConfig(), 1)


def test_train_preferences_merges_a_new_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    pairs = [PreferencePair(f"Q{i}: ", "yes", "no") for i in range(4)]
    write_jsonl(tmp_path / "pairs.jsonl", pairs)
    cfg = IterationConfig(max_steps=1, per_device_batch_size=2, progress=False)
    info = train_preferences(tmp_path / "pairs.jsonl", str(tiny_model_dir), tmp_path / "run", cfg)
    assert info["model"] == str(tmp_path / "run" / "final")
    assert (tmp_path / "run" / "final" / "config.json").exists()  # merged: a plain model
    assert not (tmp_path / "run" / "final" / "adapter_config.json").exists()
    assert math.isfinite(info["loss"])


def test_summary_row_reads_cost_summaries() -> None:
    costs = {
        "mcts": {"pairs": 3.0, "model_calls": 30.0, "pairs_per_1000_calls": 100.0},
        "baseline": {"pairs": 1.0, "model_calls": 28.0},
    }
    row = summary_row(1, "m", {"tool_call_accuracy": 0.5}, costs, {"loss": 0.7, "pairs": 3}, 5)
    assert row["mcts_model_calls"] == 30.0 and row["mcts_pairs_per_1000_calls"] == 100.0
    assert row["baseline_pairs"] == 1.0 and row["train_loss"] == 0.7 and row["deficient"] == 5
    assert row["tool_call_score"] is None and summary_row(0, None, {}, {}, {})["mcts_pairs"] is None
