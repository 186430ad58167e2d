"""MCTS over response fragments: selection, backup, expansion, batching, determinism."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from ifrl.core.generation import Prompt
from ifrl.core.records import Completion, Cost, SamplingParams, ToolCall
from ifrl.rltrain.mcts import (
    MCTSConfig,
    SearchNode,
    SearchTree,
    add_rollout,
    backup,
    expandable,
    fragment_prior,
    head_fragments,
    search,
    select,
    split_fragments,
    uct_score,
)

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
            assert isinstance(p, str)
            prefix = p[len(self.base) :]
            options = [c for c in CANDIDATES if c.startswith(prefix)] or [prefix]
            rows = []
            for j in range(params.n):
                rng = random.Random(f"{params.seed}/{p}/{j}")
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
    cfg = MCTSConfig()
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
        root, 'get_weather(city="Lyon", days=3, unit="C")', 0.0, config=MCTSConfig(max_depth=2)
    )
    assert capped is lyon and lyon.visits == 2
    assert root.visits == 6


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
    from ifrl.core.matcher import ToolCallReward

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
