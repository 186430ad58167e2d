"""Pair extraction (the default rule: chosen is correct, rejected differs first in an argument;
the paper's rule), the best-vs-worst baseline and cost accounting."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_mcts import CANDIDATES, GOLD, PAPER, ScriptedGenerator

from ifrl.core.jsonl import read_jsonl
from ifrl.core.matcher import match_text
from ifrl.core.records import Cost, PreferencePair, ToolCall
from ifrl.rltrain.dpo import load_pairs
from ifrl.rltrain.mcts import MCTSConfig, SearchNode, SearchTree, backup, search
from ifrl.rltrain.pairs import (
    PairConfig,
    best_vs_worst,
    collect_pairs,
    cost_summary,
    equal_budget_n,
    localized,
    near_duplicate,
    tree_pairs,
    write_pairs,
)

#: The paper's pair rule (and the former defaults): the best child, a value gap of 0.1.
PAPER_RULE = PairConfig(chosen="best", gold_fallback=False, localize=False, min_gap=0.1)
BENCH = Path(__file__).resolve().parents[2] / "bench" / "mcts_localisation.py"


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


def test_pairs_from_a_hand_built_tree_under_the_papers_rule() -> None:
    tree = _tree()
    pairs = tree_pairs(tree, PAPER_RULE)
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
    pairs = tree_pairs(tree, PairConfig(chosen="best", localize=False, min_gap=0.0))
    assert len(pairs) == 2
    step = pairs[1]
    # A1 vs A2 share A's prefix: a step-level preference.
    assert step.prompt == "P:f(x=" and step.meta["prefix"] == "f(x="
    assert step.chosen == "1, z=2)" and step.rejected == "2, z=2)"
    assert step.meta["depth"] == 1 and step.meta["node"] == [0]
    assert step.meta["chosen_value"] - step.meta["rejected_value"] == pytest.approx(0.05)


def test_chosen_floor() -> None:
    rule = PAPER_RULE.__dict__
    assert tree_pairs(_tree(), PairConfig(**{**rule, "min_chosen": 0.8})) == []
    assert len(tree_pairs(_tree(), PairConfig(**{**rule, "min_chosen": 0.7}))) == 1


def _wrong_best_tree(reference: str = "") -> SearchTree:
    """The highest-valued child is wrong; an exact response lies under a lower-valued one.

    root -> A 'f(x=2, ' (0.83), B 'f(x=1, ' (exact 1.0, and B1 below at 0.5), C 'g(' (0.0)."""
    tree = SearchTree("P:", sample_id="s2", reference=reference)
    root = tree.root
    _child(root, "f(x=2, ", "y=2)", 5 / 6)
    b = _child(root, "f(x=1, ", "y=2)", 1.0)
    _child(b, "y=3)", "", 0.5)
    _child(root, "g(", "x=1, y=2)", 0.0)
    return tree


def test_the_default_chosen_side_is_correct_where_the_papers_is_not() -> None:
    paper = tree_pairs(_wrong_best_tree(), PAPER_RULE)
    assert [p.chosen for p in paper] == ["f(x=2, y=2)"]  # the best-valued child: a wrong call
    (root_pair,) = tree_pairs(_wrong_best_tree())
    assert root_pair.chosen == "f(x=1, y=2)" and root_pair.rejected == "g(x=1, y=2)"
    assert root_pair.meta["chosen_source"] == "sample" and root_pair.meta["chosen_reward"] == 1.0
    assert root_pair.meta["chosen_value"] == 1.0  # a correct response follows this step
    # Below B the exact rollout is B's own, held by no child: only with the gold response as
    # reference does B's step get a pair (gold continuation against B1's wrong y).
    pairs = tree_pairs(_wrong_best_tree(reference="f(x=1, y=2)"))
    assert [(p.prompt, p.chosen, p.rejected) for p in pairs] == [
        ("P:", "f(x=1, y=2)", "g(x=1, y=2)"),
        ("P:f(x=1, ", "y=2)", "y=3)"),
    ]
    assert [p.meta["chosen_source"] for p in pairs] == ["sample", "reference"]


def test_the_gold_continuation_stands_in_where_no_sample_is_correct() -> None:
    tree = SearchTree("P:", sample_id="s3", reference="f(x=1, y=2)")
    a = _child(tree.root, "f(", "x=2, y=2)", 0.8)
    _child(a, "x=2, ", "y=2)", 0.8)
    bad = _child(a, "x=3, ", "y=5)", 0.6)
    _child(bad, "y=5)", "", 0.6)
    pairs = tree_pairs(tree)
    assert [(p.prompt, p.chosen, p.rejected) for p in pairs] == [
        ("P:", "f(x=1, y=2)", "f(x=3, y=5)"),  # the root: gold against the worst rollout
        ("P:f(", "x=1, y=2)", "x=3, y=5)"),  # after the shared head: gold from there on
    ]
    assert {p.meta["chosen_source"] for p in pairs} == {"reference"}
    # Under x=3 the prefix disagrees with the gold response: no pair there.
    assert not any(p.meta["prefix"].startswith("f(x=3") for p in pairs)
    assert tree_pairs(tree, PairConfig(gold_fallback=False)) == []


def test_rejected_must_first_differ_inside_an_argument() -> None:
    assert localized('f(x=1, y="2024-05-01")', 'f(x=1, y="2024-05-02")')  # one wrong digit
    assert localized("f(x=1, y=2)", "f(x=1)")  # a missing argument
    assert localized('<tool_call>{"name": "f", "arguments": {"a": 1}}', "I cannot help.")
    assert not localized("f(x=1, y=2)", "f(x = 1, y=3)")  # parts over spacing before y differs
    assert not localized("f(x=1, y='a')", 'f(x=1, y="a")')  # the same call written otherwise
    assert not localized("f(x=1)", "f(x=1)")
    # A tree: the lowest-valued sibling parts over formatting, so the next one is rejected.
    tree = SearchTree("P:", sample_id="s4")
    _child(tree.root, "f(x=1, ", "y=2)", 1.0)
    _child(tree.root, "f(x = 1, ", "y=3)", 0.0)
    _child(tree.root, "f(x=5, ", "y=2)", 0.5)
    (pair,) = tree_pairs(tree)
    assert pair.rejected == "f(x=5, y=2)" and pair.chosen == "f(x=1, y=2)"
    assert tree_pairs(tree, PairConfig(localize=False))[0].rejected == "f(x = 1, y=3)"


def test_near_duplicates_are_dropped() -> None:
    tree = SearchTree("P:")
    _child(tree.root, "a ", "b", 1.0)
    _child(tree.root, "a  ", "B", 0.0)
    assert tree_pairs(tree, PAPER_RULE) == []
    same = SearchTree("P:")
    _child(same.root, "a ", "b", 1.0)
    _child(same.root, "a  ", "b", 0.0)
    assert tree_pairs(same) == []  # the same words: nothing differs
    assert near_duplicate("x  y", "X y")
    assert near_duplicate("a" * 99 + "b", "a" * 100, ratio=0.98)
    assert not near_duplicate("a" * 99 + "b", "a" * 100, ratio=1.0)
    assert not near_duplicate('f(city="Paris")', 'f(city="Lyon")')


def test_pairs_roundtrip_to_the_dpo_reader(tmp_path: Path) -> None:
    pairs = tree_pairs(_tree(), PairConfig(chosen="best", localize=False, min_gap=0.0))
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
    gold = [ToolCall.from_dict(c) for c in GOLD]
    for p in pairs:
        assert p.meta["chosen_value"] - p.meta["rejected_value"] > 0.0
        assert p.meta["chosen_reward"] > p.meta["rejected_reward"]
        assert (p.prompt + p.chosen)[len(base) :] == CANDIDATES[0]  # the exact call
        assert match_text(p.meta["prefix"] + p.chosen, gold).exact
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


def _chosen_exact(rule: PairConfig, seeds: range) -> list[bool]:
    out = []
    for seed in seeds:
        trees = [SearchTree("Q: ", {"gold_calls": GOLD}, sample_id=str(i)) for i in range(6)]
        search(trees, ScriptedGenerator("Q: "), MCTSConfig(**{**PAPER.__dict__, "seed": seed}))
        gold = [ToolCall.from_dict(c) for c in GOLD]
        out += [
            match_text(p.meta["prefix"] + p.chosen, gold).exact for p in collect_pairs(trees, rule)
        ]
    return out


def test_chosen_is_exact_under_the_default_rule_on_the_papers_trees() -> None:
    """On the same trees (the paper's fragments), the paper's rule chooses wrong calls (a wrong
    city scores more than a missing argument); the default rule never does."""
    seeds = range(8)
    paper = _chosen_exact(PAPER_RULE, seeds)
    default = _chosen_exact(PairConfig(), seeds)
    assert paper and not all(paper)
    assert default and all(default)


def test_baseline_chosen_rule() -> None:
    bad = ['get_weather(city="Lyon", days=3)', 'get_weather(city="Paris")']

    class Wrong(ScriptedGenerator):
        def generate(self, prompts, params):  # type: ignore[no-untyped-def]
            return [
                [c.__class__(bad[j % 2], c.token_ids, c.logprobs) for j, c in enumerate(row)]
                for row in super().generate(prompts, params)
            ]

    cols = [{"gold_calls": GOLD}]
    none, _ = best_vs_worst(["Q: "], Wrong("Q: "), 4, columns=cols)
    assert none == []  # no correct sample, no reference
    (pair,), _ = best_vs_worst(["Q: "], Wrong("Q: "), 4, columns=cols, references=[CANDIDATES[0]])
    assert pair.chosen == CANDIDATES[0] and pair.meta["chosen_source"] == "reference"
    paper, _ = best_vs_worst(["Q: "], Wrong("Q: "), 4, columns=cols, config=PAPER_RULE)
    assert paper[0].chosen == bad[0]  # the paper's rule: the best sample, itself wrong


@pytest.mark.slow
def test_localisation_bench_before_and_after() -> None:
    """The simulation of issue 19 (bench/mcts_localisation.py), test-sized."""

    def run(rule: str) -> dict[str, float]:
        proc = subprocess.run(
            [sys.executable, str(BENCH), "--rule", rule, "--trees", "30"],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        last = proc.stdout.strip().splitlines()[-1]
        assert re.fullmatch(r"chosen_exact=\S+ isolated=\S+ pairs_per_1k=\S+", last), last
        return {k: float(v) for k, v in (kv.split("=") for kv in last.split())}

    before, after = run("paper"), run("default")
    assert after["chosen_exact"] == 1.0 and before["chosen_exact"] < 1.0
    assert after["isolated"] > before["isolated"]


def test_cost_summary_without_pairs() -> None:
    s = cost_summary(Cost(calls=10, generated_tokens=50, batches=1), 0)
    assert s["pairs_per_1000_calls"] == 0.0 and s["calls_per_pair"] is None
    with pytest.raises(ValueError, match="at least 2"):
        best_vs_worst(["p"], ScriptedGenerator("p"), 1)
