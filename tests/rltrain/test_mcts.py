"""MCTS over response fragments: argument-level nodes, selection, backup, expansion, batching,
determinism."""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifrl.core.generation import Prompt
from ifrl.core.matcher import ToolCallReward, match_text
from ifrl.core.records import Completion, Cost, RawText, SamplingParams, ToolCall
from ifrl.core.toolcalls import CallFormat, render_tool_calls
from ifrl.rltrain.fragments import first_difference, response_steps
from ifrl.rltrain.mcts import (
    MCTSConfig,
    SearchNode,
    SearchTree,
    add_rollout,
    backup,
    expandable,
    fragment_prior,
    head_fragments,
    node_pieces,
    search,
    select,
    split_fragments,
    uct_score,
)
from ifrl.rltrain.pairs import tree_pairs

#: The paper's fragments (and the former defaults): punctuation, two per node, depth 3.
PAPER = MCTSConfig(node_split="punctuation", fragments_per_node=2, max_depth=3)

GOLD = [{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]
CANDIDATES = [
    'get_weather(city="Paris", days=3)',
    'get_weather(city="Lyon", days=3)',
    'get_weather(city="Paris")',
    'get_forecast(city="Paris", days=3)',
]


class ScriptedGenerator:
    """Continues a prompt with the rest of a candidate that extends the response so far."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.calls: list[int] = []

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        self.calls.append(len(prompts))
        out = []
        for p in prompts:
            # Rendered prompts (and their prefixes) are sent as raw text, never re-templated.
            assert isinstance(p, RawText), f"expected RawText, got {type(p).__name__}"
            prefix = p.text[len(self.base) :]
            options = [c for c in CANDIDATES if c.startswith(prefix)] or [prefix]
            rows = []
            for j in range(params.n):
                rng = random.Random(f"{params.seed}/{p.text}/{j}")
                text = rng.choice(options)[len(prefix) :]
                n_tok = max(1, len(text) // 4)
                rows.append(
                    Completion(
                        text=text,
                        token_ids=tuple(range(n_tok)),
                        logprobs=tuple(-0.5 for _ in range(n_tok)),
                        finish_reason="stop",
                    )
                )
            out.append(rows)
        return out


def _node(reward: float, prior: float = 1.0, fragment: str = "") -> SearchNode:
    return SearchNode(fragment=fragment, prior=prior, reward=reward)


def test_split_fragments_keeps_text() -> None:
    text = 'get_weather(city="Paris", days=3). Done'
    pieces = split_fragments(text)
    assert pieces == ["get_weather(", "city=", '"Paris", ', "days=", "3). ", "Done"]
    assert "".join(pieces) == text
    assert head_fragments(text, 2) == ("get_weather(city=", '"Paris", days=3). Done')
    assert split_fragments("a;b;c", [";"]) == ["a;", "b;", "c"]


def test_selection_on_a_hand_built_tree() -> None:
    root = SearchNode()
    a = root.add_child(_node(1.0, prior=0.5))
    b = root.add_child(_node(0.0, prior=0.2))
    backup(a, 1.0)
    backup(b, 0.0)
    assert root.visits == 2 and root.value == 1.0
    ln = math.log(2)
    assert uct_score(a, 2, 1.0) == pytest.approx(1 / 2 + 0.5 * math.sqrt(ln / 2))
    assert uct_score(b, 2, 1.0) == pytest.approx(0.2 * math.sqrt(ln / 2))
    assert select(root) is a
    # Exploration wins once a is visited often with little value and b has a high prior.
    a.visits, a.value = 10, 1.0
    b.prior = 1.0
    root.visits = 11
    assert uct_score(a, 11, 1.0) == pytest.approx(1 / 11 + 0.5 * math.sqrt(math.log(11) / 11))
    assert select(root) is b
    # Without exploration, exploitation alone decides: a (1/11) beats b (0/2).
    assert select(root, weight=0.0) is a
    # Selection descends to a childless node.
    a1 = a.add_child(_node(0.3))
    assert select(root, weight=0.0) is a1 and a1.depth == 2


def test_backup_adds_to_every_ancestor() -> None:
    root = SearchNode()
    a = root.add_child(_node(0.0))
    a1 = a.add_child(_node(0.0))
    backup(a1, 0.75)
    backup(a, 0.25)
    assert (root.visits, root.value) == (2, 1.0)
    assert (a.visits, a.value) == (2, 1.0)
    assert (a1.visits, a1.value) == (1, 0.75)
    assert a.mean_value == 0.5 and SearchNode().mean_value == 0.0


def test_add_rollout_fragments_trie_and_terminal() -> None:
    cfg = PAPER
    root = SearchNode()
    c = add_rollout(root, 'get_weather(city="Paris", days=3)', 1.0, prior=0.4, config=cfg)
    assert c.fragment == "get_weather(city=" and c.prefix == c.fragment and not c.terminal
    assert c.rollout == 'get_weather(city="Paris", days=3)' and c.reward == 1.0 and c.prior == 0.4
    # A rollout sharing the first fragment continues below it instead of duplicating it.
    spans: list[tuple[int, int]] = []

    def prior(a: int, b: int) -> float:
        spans.append((a, b))
        return 0.25

    lyon = add_rollout(root, 'get_weather(city="Lyon", days=3)', 0.5, prior=prior, config=cfg)
    assert len(root.children) == 1 and lyon.parent is c and lyon.depth == 2
    assert lyon.fragment == '"Lyon", days=' and lyon.prefix == 'get_weather(city="Lyon", days='
    assert lyon.rollout == 'get_weather(city="Lyon", days=3)' and lyon.prior == 0.25
    assert spans == [(17, 30)]
    assert (c.visits, c.value, c.reward) == (2, 1.5, 1.0)  # the first rollout stays c's own
    done = add_rollout(c, '"Paris")', 1.0, finished=True, config=cfg)
    assert done.terminal and done.prefix == 'get_weather(city="Paris")' and done.depth == 2
    cut = add_rollout(c, '"Rome"', 0.0, finished=False, config=cfg)
    assert not cut.terminal
    assert not expandable(done, 3) and expandable(cut, 3) and not expandable(cut, 2)
    # Ending on an existing node, or reaching the depth cap on one, revisits it.
    again = add_rollout(root, "get_weather(city=", 0.0, config=cfg)
    assert again is c and c.visits == 5
    capped = add_rollout(
        root,
        'get_weather(city="Lyon", days=3, unit="C")',
        0.0,
        config=dataclasses.replace(PAPER, max_depth=2),
    )
    assert capped is lyon and lyon.visits == 2
    assert root.visits == 6


ARGS = {
    "city": "Paris",
    "checkin": "2024-05-01",
    "nights": 3,
    "guests": [2, 1],
    "rooms": 1,
    "currency": "EUR",
    "note": "quiet, high floor",
    "filters": {"pool": True, "gym": False},
}
WRONG = {
    "city": "Lyon",
    "checkin": "2024-06-01",
    "nights": 4,
    "guests": [1, 2],
    "rooms": 2,
    "currency": "USD",
    "note": "quiet, low floor",
    "filters": {"pool": False, "gym": False},
}
FORMATS: tuple[CallFormat, ...] = ("python", "json", "hermes")


def _call(k: int, wrong: int = 0) -> ToolCall:
    """search_hotels with the first ``k`` arguments; argument ``wrong`` (1-based) wrong."""
    names = list(ARGS)[:k]
    return ToolCall(
        "search_hotels", {n: WRONG[n] if i + 1 == wrong else ARGS[n] for i, n in enumerate(names)}
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_argument_nodes_hold_one_argument_each(fmt: CallFormat) -> None:
    text = render_tool_calls([_call(8), ToolCall("get_weather", {"city": "Paris"})], fmt)
    pieces = node_pieces(text)
    assert "".join(pieces) == text
    steps = response_steps(text)
    assert [(s.kind, s.call, s.key) for s in steps] == [
        ("head", 0, "search_hotels"),
        *[("arg", 0, name) for name in ARGS],
        ("head", 1, "get_weather"),
        ("arg", 1, "city"),
    ]
    assert [text[s.start : s.end] for s in steps] == pieces  # a node per argument
    assert [s.value for s in steps if s.kind == "arg"] == [*ARGS.values(), "Paris"]
    # Cut in context: a continuation from a node boundary gives the same pieces.
    for j in range(1, len(pieces)):
        start = len("".join(pieces[:j]))
        assert node_pieces(text, start) == pieces[j:]
    # The paper's punctuation splitting stays available.
    assert node_pieces(text, 0, PAPER) == [
        "".join(split_fragments(text)[i : i + 2]) for i in range(0, len(split_fragments(text)), 2)
    ]


CALL_TEXTS = [render_tool_calls([_call(8)], fmt) for fmt in FORMATS]


@given(
    st.one_of(
        st.text(max_size=80),
        st.tuples(st.sampled_from(CALL_TEXTS), st.integers(0, 400), st.text(max_size=8)).map(
            lambda t: t[0][: t[1]] + t[2]  # a call cut anywhere, then anything
        ),
    ),
    st.integers(0, 100),
)
def test_steps_tile_any_text_and_pieces_any_continuation(text: str, start: int) -> None:
    steps = response_steps(text)
    assert "".join(text[s.start : s.end] for s in steps) == text
    assert all(s.start < s.end for s in steps)
    start = min(start, len(text))
    assert "".join(node_pieces(text, start)) == text[start:]


def test_text_outside_calls_is_cut_at_the_markers() -> None:
    text = 'Sure. I will search, then answer. <tool_call>\n{"name": "f", "arguments": {"a": 1}}'
    assert node_pieces(text) == [
        "Sure. ",
        "I will search, ",
        "then answer. ",
        '<tool_call>\n{"name": "f", "arguments": {',
        '"a": 1}}',
    ]
    assert node_pieces("No tool needed. Bye") == ["No tool needed. ", "Bye"]
    assert node_pieces("") == []
    with pytest.raises(ValueError, match="node_split"):
        MCTSConfig(node_split="words")


def _reward(text: str, gold: ToolCall) -> float:
    value = ToolCallReward()(["p"], [text], gold_calls=[[gold]])[0]
    assert value is not None
    return value


def _grow_along_gold(fmt: CallFormat, k: int, config: MCTSConfig) -> tuple[SearchTree, list[str]]:
    """Grow the tree as a policy that gets each argument right or wrong would: from the node on
    the gold path before argument j (while it may be expanded), one continuation wrong at
    argument j and the gold one, which becomes the next node on the path. Returns the tree and
    the prefixes of the nodes that branched (one per argument reached)."""
    gold = _call(k)
    gold_text = render_tool_calls([gold], fmt)
    tree = SearchTree("Q: ", {"gold_calls": [gold]}, reference=gold_text)
    node = add_rollout(tree.root, gold_text, 1.0, config=config)  # the call's head
    prefixes = []
    for j in range(1, k + 1):
        if not expandable(node, config.max_depth):
            break
        wrong_text = render_tool_calls([_call(k, wrong=j)], fmt)
        assert wrong_text.startswith(node.prefix)
        add_rollout(node, wrong_text[len(node.prefix) :], _reward(wrong_text, gold), config=config)
        prefixes.append(node.prefix)
        node = add_rollout(node, gold_text[len(node.prefix) :], 1.0, config=config)
    return tree, prefixes


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("k", range(1, 9))
def test_argument_nodes_reach_the_kth_argument_at_the_default_depth(
    fmt: CallFormat, k: int
) -> None:
    tree, prefixes = _grow_along_gold(fmt, k, MCTSConfig())
    assert len(prefixes) == k  # the tree branched right before every argument, the K-th too
    gold = _call(k)
    pairs = tree_pairs(tree)
    by_prefix = {p.meta["prefix"]: p for p in pairs}
    for j, prefix in enumerate(prefixes, start=1):
        pair = by_prefix[prefix]  # a pair whose shared prefix ends right before argument j
        assert match_text(prefix + pair.chosen, [gold]).exact
        steps = response_steps(prefix + pair.rejected)
        first = first_difference(response_steps(prefix + pair.chosen), steps)
        assert first is not None and steps[first].key == list(ARGS)[j - 1]  # the j-th argument
        assert steps[first].start == len(prefix)


@pytest.mark.parametrize("k", range(3, 9))
def test_the_papers_python_nodes_never_branch_after_the_second_argument(k: int) -> None:
    _, prefixes = _grow_along_gold("python", k, PAPER)
    assert len(prefixes) < 3  # the contrast: errors in later arguments are never isolated


def test_fragment_prior() -> None:
    comp = Completion("abcd", token_ids=(1, 2), logprobs=(-1.0, -3.0))
    assert fragment_prior(comp, 4) == pytest.approx(math.exp(-2.0))
    assert fragment_prior(Completion("x"), 1) == 1.0

    class Tok:
        def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
            return "ab"[: len(ids)] if len(ids) < 2 else "abcd"

    assert fragment_prior(comp, 1, Tok()) == pytest.approx(math.exp(-1.0))
    assert fragment_prior(comp, 4, Tok(), start_char=2) == pytest.approx(math.exp(-3.0))
    assert fragment_prior(comp, 4, Tok(), start_char=1) == pytest.approx(math.exp(-3.0))
    assert fragment_prior(comp, 2, Tok()) == pytest.approx(math.exp(-2.0))


def _trees(n: int, base: str) -> list[SearchTree]:
    return [SearchTree(base, {"gold_calls": GOLD}, sample_id=str(i)) for i in range(n)]


def test_search_grows_trees_with_matcher_rewards() -> None:
    base = "User: weather in Paris for 3 days?\nAssistant: "
    gen = ScriptedGenerator(base)
    trees = _trees(3, base)
    cfg = MCTSConfig(iterations=4, num_actions=3, seed=1)
    cost = search(trees, gen, cfg)
    assert gen.calls[0] == 3  # all trees expand in one call
    assert cost.batches == len(gen.calls)
    assert cost.calls == sum(gen.calls) * 3
    for t in trees:
        rollouts = [n for n in t.root.walk() if n is not t.root]
        assert rollouts and all(0.0 <= n.reward <= 1.0 for n in rollouts)
        assert all(n.rollout.startswith(n.prefix) for n in rollouts)
        assert t.root.visits >= cfg.num_actions
        assert max(n.depth for n in t.root.walk()) <= cfg.max_depth
        exact = [n for n in rollouts if n.rollout == CANDIDATES[0]]
        assert all(n.reward == 1.0 for n in exact)
        assert all(0 < n.prior <= 1 for n in rollouts)


def test_search_is_deterministic_and_batches() -> None:
    base = "Q: "

    def run(batch_trees: int) -> tuple[list[list[tuple[str, int, float]]], Cost, list[int]]:
        gen = ScriptedGenerator(base)
        trees = _trees(4, base)
        cost = search(trees, gen, MCTSConfig(iterations=3, seed=7), batch_trees=batch_trees)
        shape = [[(n.prefix, n.visits, n.value) for n in t.root.walk()] for t in trees]
        return shape, cost, gen.calls

    a, cost_a, calls_a = run(0)
    b, _, _ = run(0)
    assert a == b
    _, cost_one, calls_one = run(1)
    assert max(calls_a) == 4 and max(calls_one) == 1
    assert cost_one.batches > cost_a.batches


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="num_actions"):
        MCTSConfig(num_actions=0)
    with pytest.raises(ValueError, match="split_markers"):
        MCTSConfig(split_markers=("",))


@pytest.mark.slow
def test_search_with_the_tiny_model(tiny_model_dir: Path) -> None:
    from ifrl.core.backends.hf import HFGenerator

    gen = HFGenerator(tiny_model_dir, batch_size=16)
    prompt = "<|im_start|>user\nweather in Paris?<|im_end|>\n<|im_start|>assistant\n"
    cfg = MCTSConfig(iterations=2, num_actions=2, max_new_tokens=12, seed=3)

    def run() -> list[tuple[str, float]]:
        trees = [SearchTree(prompt, {"gold_calls": [ToolCall("get_weather", {"city": "Paris"})]})]
        cost = search(trees, gen, cfg, ToolCallReward())
        assert cost.generated_tokens > 0 and cost.calls >= 2
        return [(n.rollout, n.prior) for n in trees[0].root.walk()]

    first = run()
    assert first == run()
    assert all(0.0 < p <= 1.0 for _, p in first)
