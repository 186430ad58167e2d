"""Entropy-anchored branching (EDU): grow a tree of solutions from each question.

Decoding is greedy. At every generated position the entropy ``H`` of the full next-token
distribution is known (exact with :class:`~ifrl.prm.decoding.HFStepDecoder`). A position is an
**anchor** when

* ``H > tau`` (strictly), and
* its top (greedy) token is not excluded: special tokens (end of sequence), whitespace-only
  tokens, punctuation / maths-symbol-only tokens (:data:`SYMBOLS`), and, when
  ``exclude_digits``, digit-only tokens (see :func:`is_excluded`), and
* the current step already holds at least ``min_step_tokens`` tokens.

An anchor closes the current step and branches: the ``top_k`` most likely tokens each start a
child step, which is then decoded greedily up to its own next anchor. The greedy (top-1) child
reuses the continuation already decoded, so only the other ``top_k - 1`` children cost a query.
Branching stops along a path after ``max_depth`` anchors, and for a question once it has
``max_branches`` leaves; past those caps decoding simply continues greedily. Nodes are expanded
breadth-first (shallow anchors get the branch budget first), and all pending continuations of all
questions are decoded in one batched call per round.

Stop strings belong to the decoder (``HFStepDecoder(generator, stop=...)``) and to grading
(:func:`ifrl.prm.labels.solution_text`). Every root-to-leaf path is a complete solution. Nodes record their tokens, the entropy of every
token's distribution, and their span in the solution. With a ``pruner`` (P-EDU), a non-greedy
child whose path scores below ``prune_threshold`` once its step is decoded is marked pruned: it is
not branched further and its leaves are left out of the labels.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from tqdm.auto import tqdm

from ifrl.core.config import check_fields, opt
from ifrl.core.errors import RecordError
from ifrl.core.records import Cost
from ifrl.prm.decoding import StepDecoder, call_cost
from ifrl.prm.questions import Question

#: Characters that make a token a "symbol" token (never an anchor): ASCII punctuation and the
#: usual maths operators.
SYMBOLS = frozenset(string.punctuation) | frozenset("×÷−±·√∑∏∞≤≥≠≈°%‰")

Pruner = Callable[[str, Sequence[str]], float]


@dataclass(frozen=True)
class BranchConfig:
    """How to branch. ``tau`` in nats; caps are per question (branches) and per path (depth).

    Checked on construction: :class:`~ifrl.core.config.ConfigError` names the bad field.
    """

    tau: float = opt("Entropy threshold (nats) of an anchor.", 1.0)
    top_k: int = opt("Tokens branched on at an anchor.", 2, minimum=1)
    max_depth: int = opt("Anchors (branchings) along one path.", 4, minimum=0)
    max_branches: int = opt("Leaves (solutions) per question.", 16, minimum=1)
    max_new_tokens: int = opt("Tokens per solution.", 256, minimum=1)
    min_step_tokens: int = opt("Tokens a step holds before an anchor.", 1, minimum=1)
    exclude_digits: bool = opt("Digit-only tokens are no anchors.", False)
    extra_symbols: str = opt("More characters counted as symbols (never anchors).", "")
    prune_threshold: float = opt("P-EDU: branches whose path scores below this stop.", 0.2)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        check_fields(self)


def is_excluded(token_text: str, config: BranchConfig, *, special: bool = False) -> bool:
    """Whether a token (decoded text) can never be an anchor."""
    if special:
        return True
    stripped = token_text.strip()
    if not stripped:
        return True
    symbols = SYMBOLS | frozenset(config.extra_symbols)
    if all(ch in symbols or unicodedata.category(ch).startswith("P") for ch in stripped):
        return True
    return config.exclude_digits and stripped.isdigit()


def anchor_positions(
    entropies: Sequence[float],
    top_tokens: Sequence[int],
    tokenizer: Any,
    config: BranchConfig,
    *,
    start_len: int = 0,
) -> list[int]:
    """Every position of a greedy continuation that qualifies as an anchor.

    ``start_len`` is the number of tokens the current step holds before position 0 (0 for a
    solution's first step). The branching itself only uses the first one of each step.
    """
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    out = []
    for i, (h, tok) in enumerate(zip(entropies, top_tokens)):
        if h <= config.tau or start_len + i < config.min_step_tokens:
            continue
        if is_excluded(tokenizer.decode([tok]), config, special=tok in special):
            continue
        out.append(i)
    return out


def anchor_cuts(
    entropies: Sequence[float], top_tokens: Sequence[int], tokenizer: Any, config: BranchConfig
) -> list[int]:
    """Where a solution's steps start when it is cut at entropy anchors as :func:`build_trees`
    cuts its paths: offset 0, then each anchor (at least ``min_step_tokens`` after the step's
    start), at most ``max_depth`` of them. ``entropies[i]`` / ``top_tokens[i]`` describe the
    distribution solution token ``i`` was drawn from (teacher forcing for a given text)."""
    cuts = [0]
    for i in range(len(entropies)):
        if len(cuts) > config.max_depth:
            break
        if i == 0 or i - cuts[-1] < config.min_step_tokens:
            continue
        if anchor_positions([entropies[i]], [top_tokens[i]], tokenizer, config, start_len=i):
            cuts.append(i)
    return cuts


def anchor_split(decoder: Any, prompt: str, text: str, config: BranchConfig) -> list[str]:
    """A solution text cut into steps at the policy's entropy anchors (:func:`anchor_cuts`);
    ``decoder`` needs ``forced`` (teacher-forced entropies: :class:`HFStepDecoder`)."""
    if not hasattr(decoder, "forced"):
        raise ValueError("cutting at anchors needs teacher-forced entropies: use the hf backend")
    tok = decoder.tokenizer
    ids = list(tok.encode(text, add_special_tokens=False))
    if not ids:
        return [text] if text else []
    entropies, top = decoder.forced(decoder.encode(prompt), ids)
    cuts = [*anchor_cuts(entropies, top, tok, config), len(ids)]
    return [str(tok.decode(ids[a:b])) for a, b in itertools.pairwise(cuts) if b > a]


@dataclass
class BranchNode:
    """One step of a solution tree: the tokens from an anchor (or the start) to the next anchor.

    ``entropies[i]`` is the entropy of the distribution ``token_ids[i]`` was chosen from, so for a
    non-root node ``entropies[0]`` is its anchor's entropy (shared with its siblings). ``rank``
    is the token's rank at the parent's anchor (0 = greedy). ``start`` is the offset of the step
    in the solution's tokens. ``finish_reason`` is set on leaves.
    """

    id: int
    parent: int | None
    depth: int
    rank: int
    start: int
    token_ids: list[int] = field(default_factory=list)
    entropies: list[float] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    finish_reason: str | None = None
    pruned: bool = False
    prune_score: float | None = None

    @property
    def end(self) -> int:
        return self.start + len(self.token_ids)

    @property
    def anchor_entropy(self) -> float | None:
        return self.entropies[0] if self.parent is not None and self.entropies else None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: copy.copy(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BranchNode:
        return cls(**data)


@dataclass
class BranchTree:
    """The solution tree of one question (``nodes[0]`` is the root step) and what growing it
    cost (its share of the decoder calls; ``batches`` is not attributed: 0)."""

    question_id: str
    prompt: str
    reference: str | None
    prompt_ids: list[int]
    nodes: list[BranchNode]
    cost: Cost = field(default_factory=Cost)

    def path(self, node_id: int) -> list[BranchNode]:
        """The nodes from the root to ``node_id``."""
        out = []
        cur: int | None = node_id
        while cur is not None:
            node = self.nodes[cur]
            out.append(node)
            cur = node.parent
        return out[::-1]

    def leaves(self, *, include_pruned: bool = False) -> list[BranchNode]:
        """Leaves in id order; those under a pruned node are left out unless asked for."""
        out = []
        for n in self.nodes:
            if n.children:
                continue
            if not include_pruned and any(p.pruned for p in self.path(n.id)):
                continue
            out.append(n)
        return out

    def solution_ids(self, leaf_id: int) -> list[int]:
        """The tokens of the solution ending at ``leaf_id``."""
        return [t for n in self.path(leaf_id) for t in n.token_ids]

    def branch_choices(self, leaf_id: int) -> tuple[int, ...]:
        """The rank chosen at each anchor on the way to ``leaf_id``."""
        return tuple(n.rank for n in self.path(leaf_id)[1:])

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: copy.copy(getattr(self, f.name)) for f in fields(self)}
        return {**out, "nodes": [n.to_dict() for n in self.nodes], "cost": self.cost.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BranchTree:
        for key in ("question_id", "prompt", "prompt_ids", "nodes"):
            if key not in data:
                raise RecordError(key, "missing required field")
        return cls(
            question_id=str(data["question_id"]),
            prompt=data["prompt"],
            reference=data.get("reference"),
            prompt_ids=list(data["prompt_ids"]),
            nodes=[BranchNode.from_dict(n) for n in data["nodes"]],
            cost=Cost.from_dict(data["cost"]) if data.get("cost") else Cost(),
        )


def anchor_rates(
    trees: Sequence[BranchTree], tokenizer: Any, taus: Sequence[float], config: BranchConfig
) -> dict[str, float]:
    """For each threshold in ``taus``: the share of the trees' decoded positions that would be
    anchors (entropy above it, top token not excluded; ``min_step_tokens`` aside). Each position
    counts once: the first token of a non-greedy branch repeats its anchor's position."""
    entropies: list[float] = []
    excluded: list[bool] = []
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    seen: dict[int, bool] = {}
    for tree in trees:
        for node in tree.nodes:
            skip = 1 if node.rank > 0 else 0
            for tok, h in zip(node.token_ids[skip:], node.entropies[skip:]):
                if tok not in seen:
                    seen[tok] = is_excluded(tokenizer.decode([tok]), config, special=tok in special)
                entropies.append(h)
                excluded.append(seen[tok])
    total = len(entropies)
    return {
        f"{tau:g}": (
            sum(1 for h, x in zip(entropies, excluded) if h > tau and not x) / total
            if total
            else 0.0
        )
        for tau in taus
    }


@dataclass
class _Scan:
    tree: int
    node: int
    tokens: tuple[int, ...]
    entropies: tuple[float, ...]
    top: tuple[tuple[tuple[int, float], ...], ...]
    finish_reason: str | None


def build_trees(
    decoder: StepDecoder,
    questions: Sequence[Question],
    config: BranchConfig | None = None,
    *,
    pruner: Pruner | None = None,
    progress: bool = False,
) -> list[BranchTree]:
    """Grow one EDU tree per question (see the module docstring); costs go to ``decoder.cost``."""
    config = config or BranchConfig()
    tok = decoder.tokenizer
    special = set(getattr(tok, "all_special_ids", []) or [])
    trees: list[BranchTree] = []
    leaves: list[int] = []
    pending: list[tuple[int, int]] = []  # (tree, node) waiting for a greedy continuation
    for q in questions:
        prompt_ids = decoder.encode(q.prompt)
        if not prompt_ids:
            raise RecordError("prompt", f"question {q.id!r} has an empty prompt")
        root = BranchNode(0, None, 0, 0, 0)
        trees.append(BranchTree(q.id, q.prompt, q.reference, prompt_ids, [root]))
        leaves.append(1)
        pending.append((len(trees) - 1, 0))

    bar = tqdm(total=len(questions), desc="branching", unit="question", disable=not progress)
    round_no = 0
    while pending:
        round_no += 1
        prefixes, budgets = [], []
        for t, nid in pending:
            tree = trees[t]
            path_ids = tree.solution_ids(nid)
            prefixes.append(tree.prompt_ids + path_ids)
            budgets.append(config.max_new_tokens - len(path_ids))
        traces = decoder.greedy(prefixes, budgets, top_n=config.top_k)
        for (t, _), prefix, tr in zip(pending, prefixes, traces):
            share = call_cost([prefix], [[tr.token_ids]])
            trees[t].cost += Cost(share.calls, share.generated_tokens, share.forward_tokens)
        heap: list[tuple[int, int, _Scan]] = []
        for seq, ((t, nid), tr) in enumerate(zip(pending, traces)):
            scan = _Scan(t, nid, tr.token_ids, tr.entropies, tr.top, tr.finish_reason)
            heapq.heappush(heap, (trees[t].nodes[nid].depth, seq, scan))
        pending = []
        seq = len(traces)
        while heap:
            _, _, scan = heapq.heappop(heap)
            for child in _scan(trees[scan.tree], scan, config, tok, special, leaves, pruner):
                node = trees[scan.tree].nodes[child.node]
                if child.tokens or child.finish_reason is not None:
                    seq += 1
                    heapq.heappush(heap, (node.depth, seq, child))
                else:
                    pending.append((scan.tree, child.node))
        bar.set_postfix(round=round_no, pending=len(pending))
    bar.update(len(questions))
    bar.close()
    return trees


def _scan(
    tree: BranchTree,
    scan: _Scan,
    config: BranchConfig,
    tok: Any,
    special: set[int],
    leaves: list[int],
    pruner: Pruner | None,
) -> list[_Scan]:
    """Place a decoded continuation into ``scan.node``; return the children still to place.

    A child returned with tokens (or a finish reason) is the greedy child reusing the rest of
    this continuation; one returned without needs its own greedy decode.
    """
    node = tree.nodes[scan.node]
    can_branch = node.depth < config.max_depth and config.top_k > 1
    anchor = None
    if can_branch and leaves[scan.tree] < config.max_branches:
        # Decoding is greedy, so the chosen token is the top token at each position.
        found = anchor_positions(
            scan.entropies, scan.tokens, tok, config, start_len=len(node.token_ids)
        )
        anchor = found[0] if found else None
    cut = len(scan.tokens) if anchor is None else anchor
    node.token_ids.extend(scan.tokens[:cut])
    node.entropies.extend(scan.entropies[:cut])

    if pruner is not None and node.rank > 0 and node.prune_score is None:
        steps = [tok.decode(n.token_ids) for n in tree.path(node.id)]
        node.prune_score = float(pruner(tree.prompt, steps))
        if node.prune_score < config.prune_threshold:
            node.pruned = True
            node.finish_reason = "pruned"
            leaves[scan.tree] -= 1
            return []

    if anchor is None:
        node.finish_reason = scan.finish_reason or "length"
        return []

    greedy_tok = scan.tokens[anchor]
    alts = [greedy_tok] + [t for t, _ in scan.top[anchor] if t != greedy_tok]
    alts = alts[: config.top_k]
    room = config.max_branches - leaves[scan.tree]
    alts = alts[: 1 + max(0, room)]
    if len(alts) < 2:  # no budget left: not a branch point after all
        node.token_ids.extend(scan.tokens[cut:])
        node.entropies.extend(scan.entropies[cut:])
        node.finish_reason = scan.finish_reason or "length"
        return []
    leaves[scan.tree] += len(alts) - 1
    h = scan.entropies[anchor]
    solution_len = node.end
    out = []
    for rank, t in enumerate(alts):
        child = BranchNode(len(tree.nodes), node.id, node.depth + 1, rank, solution_len, [t], [h])
        tree.nodes.append(child)
        node.children.append(child.id)
        if rank == 0:
            rest = slice(anchor + 1, None)
            out.append(
                _Scan(
                    scan.tree,
                    child.id,
                    scan.tokens[rest],
                    scan.entropies[rest],
                    scan.top[rest],
                    scan.finish_reason or "length",
                )
            )
        elif t in special or solution_len + 1 >= config.max_new_tokens:
            # Ends right here (end of sequence, or no budget left to continue).
            child.finish_reason = "stop" if t in special else "length"
            if pruner is not None:
                out.append(_Scan(scan.tree, child.id, (), (), (), child.finish_reason))
        else:
            out.append(_Scan(scan.tree, child.id, (), (), (), None))
    return out


__all__ = [
    "SYMBOLS",
    "BranchConfig",
    "BranchNode",
    "BranchTree",
    "Pruner",
    "anchor_cuts",
    "anchor_positions",
    "anchor_rates",
    "anchor_split",
    "build_trees",
    "is_excluded",
]
