"""Monte Carlo Tree Search over response fragments (iTool, arXiv 2501.09766).

A tree grows one response: the root is the empty response to a prompt, and each node adds a
*fragment* — the first ``fragments_per_node`` pieces of a sampled continuation. With
``node_split="arguments"`` (the default) a piece is one step of :mod:`ifrl.rltrain.fragments`:
a tool call's head, then each argument (name and value) of Python-style, JSON or Hermes calls,
and outside tool calls the text up to a split marker; so with one piece per node and the default
depth of 10 the tree can branch at every argument of a call with up to 9 arguments. With
``node_split="punctuation"`` a piece ends at every split marker (default ``". "``, ``", "``,
``"="``, ``"("``), iTool's splitting: the paper's settings are ``fragments_per_node=2`` and
``max_depth=3``, under which a Python-style call never branches after its second argument.
One iteration per tree:

1. **selection** — from the root, repeatedly step to the child maximising
   ``value / (visits + 1) + w * prior * sqrt(ln N_parent / (visits + 1))`` (``value`` is the sum
   of backed-up rewards, ``prior = exp(mean token logprob)`` of the fragment, ``N_parent`` the
   parent's visits, ``ln`` of at least 1), until a node without children;
2. **expansion + rollout** — unless that node is terminal (its rollout ended within its fragment)
   or at ``max_depth``, sample ``num_actions`` continuations of the node's prefix from any
   :class:`~ifrl.core.generation.Generator` (the rendered prompt plus the prefix, sent as
   :class:`~ifrl.core.records.RawText`); each is inserted below the node fragment by fragment
   (following children with the same fragment, like a trie) and becomes a new node where it
   first differs; the whole continuation is that node's rollout, scored by a ``RewardFn``
   (default: the structured tool-call matcher, :class:`~ifrl.core.matcher.ToolCallReward`);
3. **backup** — each rollout reward is added to ``value`` and ``visits`` of the child and every
   ancestor; a terminal or depth-capped leaf backs up its own reward again.

Expansion and rollout share one sample (one model call per action). :func:`search` runs a fixed
number of iterations over many trees at once, sending the expansions of all trees to the backend
in one ``generate`` call per iteration so it runs full batches. Sampling seeds derive from
``config.seed``, the iteration and the batch, so the same inputs give the same trees.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from ifrl.core.config import ConfigError, check_fields, opt
from ifrl.core.generation import Generator
from ifrl.core.matcher import ToolCallReward
from ifrl.core.records import Completion, Cost, RawText, RewardFn, SamplingParams
from ifrl.rltrain.fragments import DEFAULT_MARKERS, split_fragments, step_boundaries

NODE_SPLITS = ("arguments", "punctuation")


@dataclass(frozen=True)
class MCTSConfig:
    """Search settings; iTool's except ``max_new_tokens`` (expansion = rollout) and the nodes,
    which follow a tool call's arguments (the paper: ``node_split="punctuation"``,
    ``fragments_per_node=2``, ``max_depth=3``)."""

    iterations: int = opt("Iterations (selection, expansion, backup) per tree.", 5, minimum=1)
    num_actions: int = opt("Continuations sampled per expansion.", 3, minimum=1)
    temperature: float = opt("Sampling temperature of expansions.", 1.5)
    top_p: float = opt("Nucleus sampling mass of expansions.", 1.0)
    top_k: int = opt("Top-k sampling of expansions (0 disables).", 0)
    max_new_tokens: int = opt(
        "Token budget of an expansion (which is also its rollout).", 128, minimum=1
    )
    node_split: str = opt(
        "How responses are cut into fragments: arguments (a tool call's head, then one fragment "
        "per argument; text outside calls at the split markers) or punctuation (at every split "
        "marker, the paper's).",
        "arguments",
        choices=NODE_SPLITS,
    )
    fragments_per_node: int = opt("Fragments a node holds.", 1, minimum=1)
    max_depth: int = opt("Depth cap of the tree.", 10, minimum=1)
    split_markers: tuple[str, ...] = opt("Fragment split markers.", DEFAULT_MARKERS)
    exploration_weight: float = opt("Weight w of the prior term in selection.", 1.0)
    seed: int = opt("Seed the sampling seeds derive from.", 0)
    stop: tuple[str, ...] = opt("Stop strings of expansions.", ())

    def __post_init__(self) -> None:
        self.validate()

    def sampling(self, n: int, seed: int, *, logprobs: bool) -> SamplingParams:
        """``n`` samples per prompt with these settings and ``seed``."""
        return SamplingParams(
            n=n,
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            max_new_tokens=self.max_new_tokens,
            stop=self.stop,
            seed=seed,
            logprobs=logprobs,
        )

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid setting."""
        check_fields(self)
        if not self.split_markers or any(not m for m in self.split_markers):
            raise ConfigError("", "split_markers", "need at least one non-empty marker")


@dataclass(eq=False)
class SearchNode:
    """A tree node: the fragment it adds, its statistics and the rollout that created it.

    ``prefix`` is the response up to and including this node's fragment; ``rollout`` the full
    response sampled when the node was created (it starts with ``prefix``) and ``reward`` its
    score. ``value`` sums the rewards backed up through the node.
    """

    fragment: str = ""
    prefix: str = ""
    depth: int = 0
    prior: float = 1.0
    parent: SearchNode | None = field(default=None, repr=False)
    children: list[SearchNode] = field(default_factory=list, repr=False)
    visits: int = 0
    value: float = 0.0
    reward: float = 0.0
    rollout: str = ""
    terminal: bool = False

    @property
    def mean_value(self) -> float:
        """Mean backed-up reward (0 before any visit)."""
        return self.value / self.visits if self.visits else 0.0

    def add_child(self, child: SearchNode) -> SearchNode:
        child.parent = self
        child.depth = self.depth + 1
        self.children.append(child)
        return child

    def path(self) -> tuple[int, ...]:
        """Child indices from the root to this node."""
        out: list[int] = []
        node = self
        while node.parent is not None:
            out.append(node.parent.children.index(node))
            node = node.parent
        return tuple(reversed(out))

    def walk(self) -> Iterator[SearchNode]:
        """This node and its descendants, depth first, children in order."""
        yield self
        for c in self.children:
            yield from c.walk()


@dataclass
class SearchTree:
    """One search: the prompt (text the policy's chat template rendered, generation prompt
    included: the response continues it, and each expansion sends it with the node's prefix as
    :class:`~ifrl.core.records.RawText`), reward columns, the root, and optionally a
    ``reference`` response known to be correct (the gold response, as the policy would write
    it), which pairs may choose where no sampled continuation is correct."""

    prompt: str
    columns: Mapping[str, Any] = field(default_factory=dict)
    root: SearchNode = field(default_factory=SearchNode)
    sample_id: str = ""
    reference: str = ""


# ------------------------------------------------------------------------------------------------
# Fragments


def head_fragments(text: str, k: int, markers: Sequence[str] = DEFAULT_MARKERS) -> tuple[str, str]:
    """The first ``k`` punctuation fragments of ``text`` and the rest."""
    pieces = split_fragments(text, markers)
    head = "".join(pieces[:k])
    return head, text[len(head) :]


def node_pieces(text: str, start: int = 0, config: MCTSConfig = MCTSConfig()) -> list[str]:
    """The node fragments of ``text[start:]``: groups of ``fragments_per_node`` pieces cut as
    ``config.node_split`` says; they concatenate back to ``text[start:]``.

    Argument steps are found in the whole ``text`` (``text[:start]`` is the response so far, so
    the continuation is cut in context); a first piece of whitespace alone joins the next one.
    """
    if config.node_split == "punctuation":
        pieces = split_fragments(text[start:], config.split_markers)
    else:
        ends = [e for e in step_boundaries(text, config.split_markers) if e > start]
        if len(ends) > 1 and not text[start : ends[0]].strip():
            ends = ends[1:]
        pieces = [text[a:b] for a, b in zip([start, *ends], ends)]
    k = config.fragments_per_node
    return ["".join(pieces[i : i + k]) for i in range(0, len(pieces), k)]


def fragment_prior(
    completion: Completion, n_chars: int, tokenizer: Any = None, start_char: int = 0
) -> float:
    """``exp(mean logprob)`` of the tokens covering characters ``[start_char, n_chars)``.

    With a tokenizer, the covering tokens run from the first token whose decoded prefix passes
    ``start_char`` to the shortest token prefix whose decoding reaches ``n_chars`` characters;
    without one, all tokens count. No logprobs gives 1.0.
    """
    lps = list(completion.logprobs)
    if not lps:
        return 1.0
    first, k = 0, len(lps)
    if tokenizer is not None and completion.token_ids:
        ids = list(completion.token_ids)
        found_first = start_char <= 0
        for j in range(1, len(ids) + 1):
            length = len(tokenizer.decode(ids[:j], skip_special_tokens=True))
            if not found_first and length > start_char:
                first, found_first = j - 1, True
            if length >= n_chars:
                k = j
                break
    k = max(first + 1, min(k, len(lps)))
    first = min(first, len(lps) - 1)
    span = lps[first:k]
    return math.exp(sum(span) / len(span))


# ------------------------------------------------------------------------------------------------
# Selection and backup


def uct_score(child: SearchNode, parent_visits: int, weight: float) -> float:
    """``value/(visits+1) + w * prior * sqrt(ln N_parent / (visits+1))`` with ``ln`` of ≥ 1."""
    exploit = child.value / (child.visits + 1)
    explore = weight * child.prior * math.sqrt(math.log(max(parent_visits, 1)) / (child.visits + 1))
    return exploit + explore


def select(root: SearchNode, weight: float = 1.0) -> SearchNode:
    """Descend from ``root`` by :func:`uct_score` (first child wins ties) to a childless node."""
    node = root
    while node.children:
        parent_visits = node.visits
        node = max(node.children, key=lambda c: uct_score(c, parent_visits, weight))
    return node


def backup(node: SearchNode, reward: float) -> None:
    """Add one visit and ``reward`` to ``node`` and each of its ancestors."""
    cur: SearchNode | None = node
    while cur is not None:
        cur.visits += 1
        cur.value += reward
        cur = cur.parent


def expandable(node: SearchNode, max_depth: int) -> bool:
    """Whether a selected node gets children: not terminal and above the depth cap."""
    return not node.terminal and node.depth < max_depth


def add_rollout(
    parent: SearchNode,
    continuation: str,
    reward: float,
    *,
    prior: float | Callable[[int, int], float] = 1.0,
    finished: bool = True,
    config: MCTSConfig = MCTSConfig(),
) -> SearchNode:
    """Insert a sampled ``continuation`` of ``parent`` into the tree and back up ``reward``.

    The continuation is cut into node fragments (:func:`node_pieces`). It follows existing
    children with the same fragment (a trie insertion) and becomes a new child where it first
    differs, so no rollout is lost when samples share their start; past the depth cap, or when
    it ends on an existing node, that node is revisited. A new node is terminal when the
    continuation ``finished`` within its fragment. ``prior`` is a number or a function of the
    node's character span in ``continuation``. Returns the node the reward was backed up from.
    """
    rollout = parent.prefix + continuation
    pieces = node_pieces(rollout, len(parent.prefix), config) or [""]
    node, offset = parent, 0
    for k, head in enumerate(pieces):
        same = next((c for c in node.children if c.fragment == head), None)
        if same is None:
            child = node.add_child(
                SearchNode(
                    fragment=head,
                    prefix=node.prefix + head,
                    prior=prior(offset, offset + len(head)) if callable(prior) else prior,
                    reward=reward,
                    rollout=rollout,
                    terminal=finished and not "".join(pieces[k + 1 :]).strip(),
                )
            )
            backup(child, reward)
            return child
        node, offset = same, offset + len(head)
        if k == len(pieces) - 1 or node.terminal or node.depth >= config.max_depth:
            break
    backup(node, reward)
    return node


# ------------------------------------------------------------------------------------------------
# Batched search


def derive_seed(base: int, iteration: int, batch: int) -> int:
    """A 62-bit sampling seed for one iteration of one batch of trees."""
    return random.Random(f"{base}/{iteration}/{batch}").getrandbits(62)


def default_reward() -> RewardFn:
    """The structured tool-call matcher score against a ``gold_calls`` column."""
    return ToolCallReward()


def score_responses(
    reward_fn: RewardFn,
    trees: Sequence[SearchTree],
    prompts: Sequence[str],
    responses: Sequence[str],
) -> list[float]:
    """Rewards of ``responses`` (one per tree row), columns gathered from the trees; None -> 0."""
    keys = sorted({k for t in trees for k in t.columns})
    columns = {k: [t.columns.get(k) for t in trees] for k in keys}
    values = reward_fn(list(prompts), list(responses), **columns)
    if len(values) != len(responses):
        raise ValueError(f"the reward function returned {len(values)} values for {len(responses)}")
    return [0.0 if v is None else float(v) for v in values]


def search(
    trees: Sequence[SearchTree],
    generator: Generator,
    config: MCTSConfig = MCTSConfig(),
    reward_fn: RewardFn | None = None,
    *,
    batch_trees: int = 0,
    progress: bool = False,
) -> Cost:
    """Run ``config.iterations`` iterations on every tree; returns the generation cost.

    ``batch_trees`` trees share one ``generate`` call per iteration (0: all of them; 1: one tree
    at a time, the unbatched baseline).
    """
    reward_fn = reward_fn or default_reward()
    cost = Cost()
    tokenizer = getattr(generator, "tokenizer", None)
    group = batch_trees if batch_trees > 0 else max(1, len(trees))
    groups = [trees[i : i + group] for i in range(0, len(trees), group)]
    bar = tqdm(total=len(trees) * config.iterations, desc="mcts", disable=not progress)
    for g, chunk in enumerate(groups):
        for it in range(config.iterations):
            seed = derive_seed(config.seed, it, g)
            cost += _iteration(chunk, generator, config, reward_fn, tokenizer, seed)
            bar.update(len(chunk))
    bar.close()
    return cost


def generation_cost(
    outputs: Sequence[Sequence[Completion]], prompts: Sequence[str], tokenizer: Any
) -> Cost:
    """The :class:`~ifrl.core.records.Cost` of one ``generate`` call: ``outputs[i]`` sampled
    from ``prompts[i]`` (prompt tokens are counted when a ``tokenizer`` is given)."""
    cost = Cost(batches=1)
    for prompt, comps in zip(prompts, outputs):
        n = len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) if tokenizer else 0
        cost += Cost.of(comps, prefix_tokens=n, batches=0)
    return cost


def _span_prior(completion: Completion, tokenizer: Any) -> Callable[[int, int], float]:
    def prior(start: int, end: int) -> float:
        return fragment_prior(completion, end, tokenizer, start_char=start)

    return prior


def _iteration(
    trees: Sequence[SearchTree],
    generator: Generator,
    config: MCTSConfig,
    reward_fn: RewardFn,
    tokenizer: Any,
    seed: int,
) -> Cost:
    leaves = [select(t.root, config.exploration_weight) for t in trees]
    grow = [i for i, leaf in enumerate(leaves) if expandable(leaf, config.max_depth)]
    growing = set(grow)
    for i, leaf in enumerate(leaves):
        if i not in growing and leaf.visits:
            backup(leaf, leaf.reward)
    if not grow:
        return Cost()
    prompts = [trees[i].prompt + leaves[i].prefix for i in grow]
    # The tree's prompt was rendered with the policy's chat template and the prefix is the
    # policy's own text: the model continues that text as it is.
    outputs = generator.generate(
        [RawText(p) for p in prompts], config.sampling(config.num_actions, seed, logprobs=True)
    )
    flat_trees, flat_prompts, flat_responses, flat = [], [], [], []
    for i, comps in zip(grow, outputs):
        for c in comps:
            flat_trees.append(trees[i])
            flat_prompts.append(trees[i].prompt)
            flat_responses.append(leaves[i].prefix + c.text)
            flat.append((i, c))
    rewards = score_responses(reward_fn, flat_trees, flat_prompts, flat_responses)
    for (i, c), r in zip(flat, rewards):
        add_rollout(
            leaves[i],
            c.text,
            r,
            prior=_span_prior(c, tokenizer),
            finished=c.finish_reason == "stop",
            config=config,
        )
    return generation_cost(outputs, prompts, tokenizer)
