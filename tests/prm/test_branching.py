"""EDU branching on the tiny model: anchors, tree shape, caps and query-cost accounting."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from ifrl.core.records import Cost  # noqa: E402
from ifrl.prm.branching import (  # noqa: E402
    BranchConfig,
    BranchTree,
    anchor_positions,
    build_trees,
    is_excluded,
)
from ifrl.prm.decoding import HFStepDecoder  # noqa: E402
from ifrl.prm.questions import Question  # noqa: E402

PROMPT = "Question: Ana has 3 apples. She gets 4 more. How many apples does Ana have?\n"


@pytest.fixture(scope="module")
def decoder(tiny_model_dir: Path) -> HFStepDecoder:
    return HFStepDecoder.from_pretrained(tiny_model_dir, batch_size=16)


def _forward(decoder: HFStepDecoder, ids: list[int]) -> Any:
    """Log-softmax of the next-token distribution after every prefix of ``ids`` (one pass)."""
    with torch.no_grad():
        logits = decoder.generator.model(torch.tensor([ids])).logits[0].double()
    return torch.log_softmax(logits, -1)


def test_is_excluded_symbols_whitespace_digits_special() -> None:
    cfg = BranchConfig()
    for text in [" ", "\n", ".", " =", "+", ",", " )", "**", "×", "?!"]:
        assert is_excluded(text, cfg), text
    for text in [" apples", "The", "3", " 42", "x"]:
        assert not is_excluded(text, cfg), text
    assert is_excluded(" 42", BranchConfig(exclude_digits=True))
    assert is_excluded("x", BranchConfig(extra_symbols="x"))
    assert is_excluded("Hello", cfg, special=True)


def test_anchors_equal_independent_entropy_positions(decoder: HFStepDecoder) -> None:
    prompt_ids = decoder.encode(PROMPT)
    n = 24
    greedy = decoder.greedy([prompt_ids], [n], top_n=1)[0]
    ids = prompt_ids + list(greedy.token_ids)
    logp = _forward(decoder, ids)[len(prompt_ids) - 1 : len(ids) - 1]
    entropy = (-(logp.exp() * logp).sum(-1)).tolist()
    assert list(greedy.token_ids) == logp.argmax(-1).tolist()
    tok = decoder.tokenizer
    # Pick tau so that only some positions qualify, then compute the anchors independently.
    # tau lies halfway between two entropies: the generator's and this forward pass's entropies
    # differ by float rounding, so tau must not equal one of them.
    ranked = sorted(entropy)
    k = len(entropy) * 2 // 3
    tau = (ranked[k - 1] + ranked[k]) / 2
    special = set(tok.all_special_ids)
    expected = [
        i
        for i in range(1, n)
        if entropy[i] > tau
        and not (
            greedy.token_ids[i] in special
            or not tok.decode([greedy.token_ids[i]]).strip()
            or all(not c.isalnum() for c in tok.decode([greedy.token_ids[i]]).strip())
        )
    ]
    assert 1 <= len(expected) <= 8
    cfg = BranchConfig(tau=tau, max_depth=len(expected), max_branches=4096, max_new_tokens=n)
    assert anchor_positions(greedy.entropies, greedy.token_ids, tok, cfg) == expected
    tree = build_trees(decoder, [Question("q", PROMPT)], cfg)[0]
    # Follow the all-greedy path: its anchors are where its rank-0 children start.
    node, starts = tree.nodes[0], []
    while node.children:
        node = tree.nodes[node.children[0]]
        starts.append(node.start)
    assert starts == expected
    assert tree.solution_ids(node.id) == list(greedy.token_ids)
    assert [e for n_ in tree.path(node.id) for e in n_.entropies] == pytest.approx(
        entropy, abs=1e-5
    )


def test_leaves_are_exactly_the_branch_combinations(decoder: HFStepDecoder) -> None:
    depth = 3
    cfg = BranchConfig(tau=0.0, max_depth=depth, max_branches=64, max_new_tokens=10)
    tree = build_trees(decoder, [Question("q", PROMPT)], cfg)[0]
    leaves = tree.leaves()
    choices = sorted(tree.branch_choices(leaf.id) for leaf in leaves)
    assert choices == sorted(itertools.product(range(2), repeat=depth))
    prompt_ids = tree.prompt_ids
    for leaf in leaves:
        path = tree.path(leaf.id)
        solution = tree.solution_ids(leaf.id)
        logp = _forward(decoder, prompt_ids + solution)[len(prompt_ids) - 1 : -1]
        starts = {n.start: n.rank for n in path[1:]}
        for pos, token in enumerate(solution):
            ranked = torch.argsort(-logp[pos], stable=True).tolist()
            # At an anchor the child's token is the rank-th most likely; elsewhere greedy.
            assert token == ranked[starts.get(pos, 0)]
        assert len(solution) == cfg.max_new_tokens or leaf.finish_reason == "stop"
        # Spans tile the solution.
        assert [n.start for n in path[1:]] == [p.end for p in path[:-1]]


def test_caps_on_branches_and_depth(decoder: HFStepDecoder) -> None:
    cfg = BranchConfig(tau=0.0, max_depth=10, max_branches=5, max_new_tokens=12, top_k=2)
    trees = build_trees(decoder, [Question("a", PROMPT), Question("b", "Hi there")], cfg)
    for tree in trees:
        assert len(tree.leaves()) == 5
        assert max(n.depth for n in tree.nodes) <= 10
        for n in tree.nodes:
            assert len(n.children) in (0, 2)
    shallow = build_trees(decoder, [Question("a", PROMPT)], BranchConfig(tau=0.0, max_depth=1))[0]
    assert len(shallow.leaves()) == 2 and max(n.depth for n in shallow.nodes) == 1


def test_top_k_three_and_cost_accounting(decoder: HFStepDecoder) -> None:
    decoder.cost = Cost()
    cfg = BranchConfig(tau=0.0, top_k=3, max_depth=2, max_branches=100, max_new_tokens=8)
    tree = build_trees(decoder, [Question("q", PROMPT)], cfg)[0]
    assert len(tree.leaves()) == 9
    assert all(len(n.children) in (0, 3) for n in tree.nodes)
    non_greedy = [n for n in tree.nodes if n.rank > 0]
    # One query for the root and one per non-greedy child; the greedy child reuses its parent's
    # continuation, and a non-greedy child's first token comes from the anchor's top-k.
    assert decoder.cost.calls == 1 + len(non_greedy)
    total = sum(len(n.token_ids) for n in tree.nodes)
    assert decoder.cost.generated_tokens == total - len(non_greedy)
    prefix = len(tree.prompt_ids)
    # The root query generated the root step and its greedy descendants' tokens.
    expected_forward = prefix + sum(len(m.token_ids) for m in tree.nodes if _under(tree, m.id, 0))
    for n in non_greedy:
        path_len = n.start + 1
        generated = sum(len(m.token_ids) for m in tree.nodes if _under(tree, m.id, n.id))
        expected_forward += prefix + path_len + generated - 1
    assert decoder.cost.forward_tokens == expected_forward


def _under(tree: BranchTree, node_id: int, ancestor: int) -> bool:
    """Whether node_id's tokens were generated by ancestor's query (ancestor or greedy chain)."""
    cur = tree.nodes[node_id]
    while cur.id != ancestor:
        if cur.rank != 0 or cur.parent is None:
            return False
        cur = tree.nodes[cur.parent]
    return True


def test_pruning_drops_low_scoring_branches(decoder: HFStepDecoder) -> None:
    cfg = BranchConfig(tau=0.0, max_depth=2, max_branches=64, max_new_tokens=8)
    seen: list[int] = []

    def pruner(prompt: str, steps: Any) -> float:
        seen.append(len(steps))
        return 0.0 if len(seen) == 1 else 1.0  # prune the first non-greedy branch scored

    tree = build_trees(decoder, [Question("q", PROMPT)], cfg, pruner=pruner)[0]
    pruned = [n for n in tree.nodes if n.pruned]
    assert len(pruned) == 1 and not pruned[0].children and pruned[0].prune_score == 0.0
    assert len(tree.leaves(include_pruned=True)) == len(tree.leaves()) + 1
    assert len(tree.leaves()) == 2  # the pruned depth-1 branch is not expanded


def test_tree_round_trips_through_json(decoder: HFStepDecoder) -> None:
    cfg = BranchConfig(tau=0.0, max_depth=2, max_new_tokens=6)
    tree = build_trees(decoder, [Question("q", PROMPT, "7")], cfg)[0]
    again = BranchTree.from_dict(tree.to_dict())
    assert again.to_dict() == tree.to_dict()
