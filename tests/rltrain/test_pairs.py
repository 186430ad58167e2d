"""Pair extraction from hand-built trees, the best-vs-worst baseline and cost accounting."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_mcts import CANDIDATES, GOLD, ScriptedGenerator

from ifrl.core.jsonl import read_jsonl
from ifrl.core.records import Cost, PreferencePair
from ifrl.rltrain.dpo import load_pairs
from ifrl.rltrain.mcts import MCTSConfig, SearchNode, SearchTree, backup, search
from ifrl.rltrain.pairs import (
    PairConfig,
    best_vs_worst,
    collect_pairs,
    cost_summary,
    equal_budget_n,
    near_duplicate,
    tree_pairs,
    write_pairs,
)


def _child(parent: SearchNode, fragment: str, rollout_tail: str, reward: float) -> SearchNode:
    node = parent.add_child(
        SearchNode(
            fragment=fragment,
            prefix=parent.prefix + fragment,
            reward=reward,
            rollout=parent.prefix + fragment + rollout_tail,
        )
    )
    backup(node, reward)
    return node


def _tree() -> SearchTree:
    """root -> A (1.0), B (0.0), C (0.5); A -> A1 (0.6), A2 (0.55)."""
    tree = SearchTree("P:", sample_id="s1")
    root = tree.root
    a = _child(root, "f(x=", "1)", 1.0)
    _child(root, "g(x=", "1)", 0.0)
    _child(root, "f(y=", "1)", 0.5)
    _child(a, "1, ", "z=2)", 0.6)
    _child(a, "2, ", "z=2)", 0.55)
    return tree


def test_pairs_from_a_hand_built_tree() -> None:
    tree = _tree()
    pairs = tree_pairs(tree, PairConfig(min_gap=0.1))
    # A's mean is (1 + 0.6 + 0.55) / 3 = 0.7167, B's 0.0: one pair at the root.
    assert len(pairs) == 1
    pair = pairs[0]
    assert pair.prompt == "P:"
    assert pair.chosen == "f(x=1)"  # the best rollout under A is A's own (1.0)
    assert pair.rejected == "g(x=1)"
    assert pair.meta["chosen_value"] == pytest.approx((1 + 0.6 + 0.55) / 3)
    assert pair.meta["rejected_value"] == 0.0
    assert pair.meta["chosen_visits"] == 3 and pair.meta["rejected_visits"] == 1
    assert pair.meta["depth"] == 0 and pair.meta["node"] == [] and pair.meta["sample_id"] == "s1"
    assert pair.meta["chosen_fragment"] == "f(x=" and pair.meta["source"] == "mcts"


def test_gap_threshold_and_shared_prefix() -> None:
    tree = _tree()
    pairs = tree_pairs(tree, PairConfig(min_gap=0.0))
    assert len(pairs) == 2
    step = pairs[1]
    # A1 vs A2 share A's prefix: a step-level preference.
    assert step.prompt == "P:f(x=" and step.meta["prefix"] == "f(x="
    assert step.chosen == "1, z=2)" and step.rejected == "2, z=2)"
    assert step.meta["depth"] == 1 and step.meta["node"] == [0]
    assert step.meta["chosen_value"] - step.meta["rejected_value"] == pytest.approx(0.05)


def test_chosen_floor() -> None:
    assert tree_pairs(_tree(), PairConfig(min_chosen=0.8)) == []
    assert len(tree_pairs(_tree(), PairConfig(min_chosen=0.7))) == 1


def test_near_duplicates_are_dropped() -> None:
    tree = SearchTree("P:")
    _child(tree.root, "a ", "b", 1.0)
    _child(tree.root, "a  ", "B", 0.0)
    assert tree_pairs(tree) == []
    assert near_duplicate("x  y", "X y")
    assert near_duplicate("a" * 99 + "b", "a" * 100, ratio=0.98)
    assert not near_duplicate("a" * 99 + "b", "a" * 100, ratio=1.0)
    assert not near_duplicate('f(city="Paris")', 'f(city="Lyon")')


def test_pairs_roundtrip_to_the_dpo_reader(tmp_path: Path) -> None:
    pairs = tree_pairs(_tree(), PairConfig(min_gap=0.0))
    path = tmp_path / "pairs.jsonl"
    assert write_pairs(path, pairs) == 2
    assert list(read_jsonl(path, PreferencePair)) == pairs
    rows = load_pairs(path)
    assert rows[1]["prompt"] == "P:f(x=" and rows[1]["chosen"] == "1, z=2)"


def test_search_then_pairs_and_baseline_at_equal_budget() -> None:
    base = "Q: "
    trees = [SearchTree(base, {"gold_calls": GOLD}, sample_id=str(i)) for i in range(4)]
    cost = search(trees, ScriptedGenerator(base), MCTSConfig(iterations=5, seed=0))
    pairs = collect_pairs(trees)
    assert pairs, "the scripted candidates differ in reward, so some node must give a pair"
    for p in pairs:
        assert p.meta["chosen_value"] - p.meta["rejected_value"] >= 0.1
        assert p.meta["chosen_reward"] > p.meta["rejected_reward"]
        assert (p.prompt + p.chosen)[len(base) :] in CANDIDATES
    n = equal_budget_n(cost, len(trees))
    assert n == round(cost.calls / 4)
    base_pairs, base_cost = best_vs_worst(
        [base] * 4,
        ScriptedGenerator(base),
        n,
        columns=[{"gold_calls": GOLD}] * 4,
        sample_ids=["0", "1", "2", "3"],
    )
    assert base_cost.calls == 4 * n and base_cost.batches == 1
    assert len(base_pairs) <= 4
    for p in base_pairs:
        assert p.chosen == CANDIDATES[0]  # the best of many samples is the exact call
        assert p.meta["source"] == "best_vs_worst" and p.meta["chosen_reward"] == 1.0
    summary = cost_summary(base_cost, len(base_pairs))
    assert summary["pairs_per_1000_calls"] == pytest.approx(1000 * len(base_pairs) / (4 * n))


def test_cost_summary_without_pairs() -> None:
    s = cost_summary(Cost(calls=10, generated_tokens=50, batches=1), 0)
    assert s["pairs_per_1000_calls"] == 0.0 and s["calls_per_pair"] is None
    with pytest.raises(ValueError, match="at least 2"):
        best_vs_worst(["p"], ScriptedGenerator("p"), 1)
