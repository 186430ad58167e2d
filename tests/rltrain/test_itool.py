"""The steps of an iTool iteration: config, deficiency, MCTS and baseline pairs, preference
training, and the generators of successive models (PolicyRollouts).

The loop over iterations, its run directory and resuming are the ``itool`` recipe's
(tests/pipelines/test_itool_recipe.py); vLLM rollouts: tests/rltrain/test_itool_vllm.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from test_mcts import CANDIDATES, GOLD, ScriptedGenerator

from ifrl.core.config import ConfigError, load_config
from ifrl.core.generation import Prompt, register_backend
from ifrl.core.jsonl import write_jsonl
from ifrl.core.records import Completion, PreferencePair, SamplingParams, ToolCall
from ifrl.rltrain import (
    IterationConfig,
    PolicyRollouts,
    ToolSample,
    baseline_pairs,
    pair_summary,
    search_pairs,
    select_deficient,
    summary_row,
    train_preferences,
)
from ifrl.rltrain.itool import reference_text

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
    with pytest.raises(ConfigError, match="mcts_node_split: expected arguments or punctuation"):
        IterationConfig(mcts_node_split="words").validate()
    with pytest.raises(ConfigError, match="pair_chosen: expected correct or best"):
        IterationConfig(pair_chosen="any").validate()
    defaults = IterationConfig()
    mcts, rule = defaults.mcts_config(0), defaults.pair_config()
    assert (mcts.node_split, mcts.fragments_per_node, mcts.max_depth) == ("arguments", 1, 10)
    assert (rule.chosen, rule.gold_fallback, rule.localize, rule.min_gap) == (
        "correct",
        True,
        True,
        0.0,
    )
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
    assert all(p.meta["chosen_exact"] for p in pairs)
    assert pair_summary(pairs)["chosen_exact_share"] == 1.0
    assert {p.meta["sample_id"] for p in pairs} <= {s.id for s in samples}
    again, cost_again = search_pairs(samples, ScriptedGenerator(BASE), cfg, iteration=1)
    assert again == pairs and cost_again == cost  # seeded by config.seed, iteration and batch
    other, _ = search_pairs(samples, ScriptedGenerator(BASE), cfg, iteration=2)
    assert other != pairs
    base, base_cost, n = baseline_pairs(samples, ScriptedGenerator(BASE), cost, cfg, iteration=1)
    assert n == round(cost.calls / 4) and base_cost.calls == n * len(samples)
    assert all(p.chosen == CANDIDATES[0] and p.meta["source"] == "best_vs_worst" for p in base)
    assert all(p.meta["chosen_exact"] for p in base)
    # The paper's rule picks wrong chosen sides, and the report says so.
    paper = IterationConfig(
        mcts_iterations=5,
        seed=2,
        mcts_node_split="punctuation",
        mcts_fragments_per_node=2,
        mcts_max_depth=3,
        pair_chosen="best",
        pair_localize=False,
        pair_min_gap=0.1,
    )
    shares = [
        pair_summary(search_pairs(samples, ScriptedGenerator(BASE), paper, k)[0])[
            "chosen_exact_share"
        ]
        for k in range(1, 6)
    ]
    assert any(share is not None and share < 1.0 for share in shares)
    assert pair_summary([]) == {"chosen_exact_share": None, "reference_chosen_share": None}


def test_the_reference_is_the_gold_response_as_sampled_text(tiny_model_dir: Path) -> None:
    from ifrl.rltrain import load_tokenizer

    call = ToolCall("f", {"a": 1})
    gold = '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>'
    sample = ToolSample("s", BASE, gold + "<|im_end|>", (call,))
    assert reference_text(sample, load_tokenizer(str(tiny_model_dir))) == gold
    assert reference_text(sample) == gold + "<|im_end|>"  # no tokenizer: as given
    wrong = ToolSample("w", BASE, gold, (ToolCall("g", {}),))
    assert reference_text(wrong) == ""  # a response that is not the gold calls is no reference


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
    # A scorer (model, tokenizer) gives the same selection without a generator.
    again, info_again = select_deficient(
        samples,
        None,
        IterationConfig(deficiency_fraction=0.5),
        1,
        scorer=(gen.model, gen.tokenizer),
    )
    assert again == kept and info_again == info


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


class Engine:
    """A fake engine backend that holds its own weights and records what it was loaded with."""

    built: ClassVar[list[str]] = []

    def __init__(self, model: str, **options: Any) -> None:
        Engine.built.append(model)
        self.options = options
        self.loads: list[dict[str, torch.Tensor]] = []

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        return [[Completion("x")] * params.n for _ in prompts]

    def load_weights(self, weights: dict[str, torch.Tensor] | Iterable[Any]) -> None:
        self.loads.append(dict(weights))


register_backend("test-itool-engine")(Engine)


def test_policy_rollouts_build_one_engine_and_load_each_new_model(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from ifrl.core.tiny import build_tiny_model

    other = build_tiny_model(seed=1, out_dir=tmp_path / "other")
    Engine.built.clear()
    rollouts = PolicyRollouts("test-itool-engine", options={"max_model_len": 64}, dtype="float32")
    first = rollouts.generator(str(tiny_model_dir))
    assert isinstance(first, Engine) and first.options["max_model_len"] == 64
    assert rollouts.generator(str(tiny_model_dir)) is first and not first.loads
    second = rollouts.generator(str(other))
    assert second is first and Engine.built == [str(tiny_model_dir)] and rollouts.loads == 1
    from transformers import AutoModelForCausalLM

    want = AutoModelForCausalLM.from_pretrained(other).state_dict()
    (loaded,) = first.loads
    assert set(loaded) == set(want)
    assert all(torch.equal(loaded[k], want[k]) for k in want)
    model, tok = rollouts.scorer(str(other))  # logits from transformers, not the engine
    assert torch.equal(model.state_dict()["model.norm.weight"], want["model.norm.weight"])
    assert tok.eos_token


def test_policy_rollouts_on_transformers(tiny_model_dir: Path) -> None:
    rollouts = PolicyRollouts("hf", device="cpu", batch_size=4)
    gen = rollouts.generator(str(tiny_model_dir))
    assert rollouts.generator(str(tiny_model_dir)) is gen
    model, tok = rollouts.scorer(str(tiny_model_dir))
    assert model is gen.model and tok is gen.tokenizer  # type: ignore[attr-defined]
    rollouts.release()
    assert rollouts.generator(str(tiny_model_dir)) is not gen
    with pytest.raises(ValueError, match="dtype"):
        PolicyRollouts("hf", dtype="int8")
