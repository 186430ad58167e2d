"""Preference pairs from MCTS trees (step-level, shared prefix) and the best-vs-worst baseline.

**From a tree** (:func:`tree_pairs`), at every node with children; the pair's prompt is the
tree's prompt plus the node's prefix (what both sides share), and each side runs from there to
the end of a response.

* **Chosen.** By default (``chosen="correct"``) the chosen side must be correct: the best-scored
  rollout under a child whose reward reaches ``correct_reward`` (1.0: the tool-call matcher's
  exact match), from the child with the highest mean value among those that have one; where no
  sampled continuation is correct and the prefix agrees with the tree's ``reference`` (the gold
  response), the gold continuation from the prefix (``gold_fallback``). Its value is
  ``correct_reward``: a correct response follows from that step. ``chosen="best"`` is the
  paper's rule: the child with the highest mean value, whatever its reward, valued by that mean
  (two children needed).
* **Rejected.** The worst-scored rollout under the lowest-valued other child whose mean value
  lies below the chosen value, by at least ``min_gap``, and that, with ``localize`` (the
  default), departs from the chosen side inside the first argument in which the two differ
  (:func:`localized`): the pair contrasts what an argument says, not two ways of writing the
  same call — so one wrong digit of a date makes a pair. Without ``localize`` the paper's
  heuristic applies instead: the two sides must not be near-duplicates (``duplicate_ratio``).
  Children are tried from the lowest value up.
  ``min_gap`` defaults to 0 (any lower value): one wrong argument of K costs only ``1/(3K)`` of
  the matcher's score, so the paper's 0.1 would drop every pair on a lone wrong argument of a
  call with four or more.
* A pair needs a chosen value of at least ``min_chosen``.

**Baseline** (:func:`best_vs_worst`): sample ``n`` full responses per prompt and pair the best-
with the worst-scored one, at a generation budget the caller picks (:func:`equal_budget_n`
matches an MCTS run's model calls); the same chosen rule applies (a correct best sample, or the
whole reference response, as ``references``), with the same gap and ``localize`` checks.

Pairs are :class:`~ifrl.core.records.PreferencePair` records; :func:`write_pairs` writes the JSONL
the DPO/SimPO trainer reads.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, check_fields, opt
from ifrl.core.generation import Generator
from ifrl.core.jsonl import write_jsonl
from ifrl.core.records import Cost, PreferencePair, RawText, RewardFn
from ifrl.rltrain.fragments import first_difference, response_steps
from ifrl.rltrain.mcts import (
    MCTSConfig,
    SearchNode,
    SearchTree,
    default_reward,
    derive_seed,
    generation_cost,
    score_responses,
)

CHOSEN_RULES = ("correct", "best")
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PairConfig:
    """The pair rule (see the module docstring) and its filters."""

    min_gap: float = opt(
        "Minimum value gap between chosen and rejected (a gap must be positive; the paper: 0.1).",
        0.0,
    )
    min_chosen: float = opt("Minimum value of the chosen side.", 0.0)
    duplicate_ratio: float = opt(
        "Similarity ratio at which two sides count as near-duplicates (without localize).", 0.98
    )
    chosen: str = opt(
        "Which response a pair may choose: correct (reward at least correct_reward; with the "
        "tool-call matcher an exact match) or best (the highest-valued child, the paper's rule).",
        "correct",
        choices=CHOSEN_RULES,
    )
    correct_reward: float = opt("Reward at which a response counts as correct.", 1.0)
    gold_fallback: bool = opt(
        "Where no sampled response is correct, choose the reference (gold) continuation of the "
        "shared prefix, when the prefix agrees with it.",
        True,
    )
    localize: bool = opt(
        "Keep a pair only when rejected departs from chosen inside the first argument (call "
        "name, text piece) in which the two differ.",
        True,
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for a ratio outside (0, 1] or an unknown chosen rule."""
        if not 0.0 < self.duplicate_ratio <= 1.0:
            raise ConfigError(
                "", "duplicate_ratio", f"must lie in (0, 1], got {self.duplicate_ratio}"
            )
        check_fields(self)

    def correct(self, reward: float) -> bool:
        """Whether ``reward`` makes a response correct (within 1e-9)."""
        return reward >= self.correct_reward - _TOLERANCE


_WS = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Whitespace-collapsed, stripped, case-folded text (for duplicate checks)."""
    return _WS.sub(" ", text).strip().casefold()


def near_duplicate(a: str, b: str, ratio: float = 0.98) -> bool:
    """Equal after :func:`normalize`, or a ``difflib`` similarity ratio of at least ``ratio``."""
    na, nb = normalize(a), normalize(b)
    if na == nb:
        return True
    if ratio >= 1.0:
        return False
    return difflib.SequenceMatcher(None, na, nb, autojunk=False).ratio() >= ratio


def _extreme_rollout(node: SearchNode, best: bool) -> SearchNode:
    pick = node
    for n in node.walk():
        if (n.reward > pick.reward) if best else (n.reward < pick.reward):
            pick = n
    return pick


@dataclass(frozen=True)
class _Chosen:
    child: SearchNode | None  # None: the reference continuation
    text: str
    value: float
    reward: float


def _choose(tree: SearchTree, node: SearchNode, config: PairConfig) -> _Chosen | None:
    """The chosen side at ``node`` under ``config.chosen`` (None: no pair here)."""
    if config.chosen == "best":
        if len(node.children) < 2:
            return None
        child = max(node.children, key=lambda c: c.mean_value)
        best = _extreme_rollout(child, best=True)
        return _Chosen(child, best.rollout[len(node.prefix) :], child.mean_value, best.reward)
    correct = []
    for child in node.children:
        best = _extreme_rollout(child, best=True)
        if config.correct(best.reward):
            correct.append((child, best))
    if correct:
        child, best = max(correct, key=lambda cb: cb[0].mean_value)
        text = best.rollout[len(node.prefix) :]
        return _Chosen(child, text, config.correct_reward, best.reward)
    ref = tree.reference
    if config.gold_fallback and len(ref) > len(node.prefix) and ref.startswith(node.prefix):
        return _Chosen(None, ref[len(node.prefix) :], config.correct_reward, config.correct_reward)
    return None


def localized(chosen: str, rejected: str) -> bool:
    """Whether ``rejected`` departs from ``chosen`` (their first differing character) inside the
    first step in which the two say different things — an argument's name or value, a call's
    name, a text piece (:func:`ifrl.rltrain.fragments.first_difference`). False when they say
    the same, or when they part over formatting before their first real difference."""
    a, b = response_steps(chosen), response_steps(rejected)
    i = first_difference(a, b)
    if i is None or not b:
        return False
    step = b[i] if i < len(b) else b[-1]  # rejected ran out: its last step ends too early
    d = next((j for j, (x, y) in enumerate(zip(chosen, rejected)) if x != y), None)
    d = min(len(chosen), len(rejected)) if d is None else d
    return step.start <= d <= step.end


def _distinct(prefix: str, chosen: str, rejected: str, config: PairConfig) -> bool:
    """Whether two continuations of ``prefix`` make a pair: the responses differ in an argument
    (``localize``), or else the continuations are no near-duplicates."""
    if config.localize:
        return localized(prefix + chosen, prefix + rejected)
    return not near_duplicate(chosen, rejected, config.duplicate_ratio)


def tree_pairs(tree: SearchTree, config: PairConfig = PairConfig()) -> list[PreferencePair]:
    """The step-level pairs of one searched tree (see the module docstring), root first."""
    out: list[PreferencePair] = []
    seen: set[tuple[str, str, str]] = set()
    for node in tree.root.walk():
        if not node.children:
            continue
        chosen = _choose(tree, node, config)
        if chosen is None or chosen.value < config.min_chosen:
            continue
        others = [c for c in node.children if c is not chosen.child]
        candidates = sorted(others, key=lambda c: c.mean_value)  # stable: first on ties
        if not config.localize:
            candidates = candidates[:1]
        for rejected in candidates:
            gap = chosen.value - rejected.mean_value
            if gap <= 0.0 or gap < config.min_gap:
                break  # later candidates have higher values
            worst = _extreme_rollout(rejected, best=False)
            r_text = worst.rollout[len(node.prefix) :]
            if not _distinct(node.prefix, chosen.text, r_text, config):
                continue
            prompt = tree.prompt + node.prefix
            key = (prompt, chosen.text, r_text)
            if key not in seen:
                seen.add(key)
                out.append(_tree_pair(tree, node, chosen, rejected, worst, r_text))
            break
    return out


def _tree_pair(
    tree: SearchTree,
    node: SearchNode,
    chosen: _Chosen,
    rejected: SearchNode,
    worst: SearchNode,
    r_text: str,
) -> PreferencePair:
    child = chosen.child
    return PreferencePair(
        prompt=tree.prompt + node.prefix,
        chosen=chosen.text,
        rejected=r_text,
        meta={
            "source": "mcts",
            "sample_id": tree.sample_id,
            "prefix": node.prefix,
            "depth": node.depth,
            "node": list(node.path()),
            "chosen_source": "sample" if child is not None else "reference",
            "chosen_value": chosen.value,
            "rejected_value": rejected.mean_value,
            "chosen_visits": child.visits if child is not None else 0,
            "rejected_visits": rejected.visits,
            "chosen_reward": chosen.reward,
            "rejected_reward": worst.reward,
            "chosen_fragment": child.fragment if child is not None else "",
            "rejected_fragment": rejected.fragment,
        },
    )


def collect_pairs(
    trees: Iterable[SearchTree], config: PairConfig = PairConfig()
) -> list[PreferencePair]:
    """:func:`tree_pairs` of every tree, in order."""
    return [p for t in trees for p in tree_pairs(t, config)]


def equal_budget_n(cost: Cost, num_prompts: int) -> int:
    """Samples per prompt that spend the model calls of ``cost`` over ``num_prompts`` (at least 2)."""
    return max(2, round(cost.calls / max(1, num_prompts)))


def best_vs_worst(
    prompts: Sequence[str],
    generator: Generator,
    n: int,
    *,
    columns: Sequence[Mapping[str, Any]] | None = None,
    sample_ids: Sequence[str] | None = None,
    mcts: MCTSConfig | None = None,
    reward_fn: RewardFn | None = None,
    config: PairConfig = PairConfig(),
    batch_prompts: int = 0,
    references: Sequence[str] | None = None,
) -> tuple[list[PreferencePair], Cost]:
    """Sample ``n`` responses per prompt (the search's sampling settings) and pair best vs worst;
    ``prompts`` are texts rendered with the policy's chat template (sent as
    :class:`~ifrl.core.records.RawText`); ``references`` (one per prompt, "" for none) are the gold responses the chosen rule may
    fall back to."""
    if n < 2:
        raise ValueError(f"n: best-vs-worst needs at least 2 samples, got {n}")
    reward_fn = reward_fn or default_reward()
    mcts = mcts or MCTSConfig()
    cost = Cost()
    tokenizer = getattr(generator, "tokenizer", None)
    cols = list(columns) if columns is not None else [{} for _ in prompts]
    ids = list(sample_ids) if sample_ids is not None else [str(i) for i in range(len(prompts))]
    refs = list(references) if references is not None else ["" for _ in prompts]
    group = batch_prompts if batch_prompts > 0 else max(1, len(prompts))
    out: list[PreferencePair] = []
    for g, start in enumerate(range(0, len(prompts), group)):
        chunk = list(range(start, min(start + group, len(prompts))))
        asked = [prompts[i] for i in chunk]
        seed = derive_seed(mcts.seed, -1, g)
        # Prompts rendered with the policy's chat template: sent as they are.
        outputs = generator.generate(
            [RawText(p) for p in asked], mcts.sampling(n, seed, logprobs=False)
        )
        cost += generation_cost(outputs, asked, tokenizer)
        trees = [SearchTree(prompts[i], cols[i]) for i in chunk for _ in range(n)]
        texts = [c.text for comps in outputs for c in comps]
        rewards = score_responses(reward_fn, trees, [t.prompt for t in trees], texts)
        for k, i in enumerate(chunk):
            rs = rewards[k * n : (k + 1) * n]
            ts = texts[k * n : (k + 1) * n]
            hi = max(range(n), key=lambda j: rs[j])
            lo = min(range(n), key=lambda j: rs[j])
            chosen, c_reward, source = ts[hi], rs[hi], "sample"
            if config.chosen == "correct" and not config.correct(c_reward):
                if not (config.gold_fallback and refs[i]):
                    continue
                chosen, c_reward, source = refs[i], config.correct_reward, "reference"
            gap = c_reward - rs[lo]
            if gap <= 0.0 or gap < config.min_gap or c_reward < config.min_chosen:
                continue
            if not _distinct("", chosen, ts[lo], config):
                continue
            out.append(
                PreferencePair(
                    prompt=prompts[i],
                    chosen=chosen,
                    rejected=ts[lo],
                    meta={
                        "source": "best_vs_worst",
                        "sample_id": ids[i],
                        "n": n,
                        "chosen_source": source,
                        "chosen_reward": c_reward,
                        "rejected_reward": rs[lo],
                    },
                )
            )
    return out, cost


def cost_summary(cost: Cost, num_pairs: int) -> dict[str, float | None]:
    """Cost totals plus pairs per 1000 model calls and model calls / tokens per pair.

    The sequences generated are reported as ``model_calls`` (the key summaries have always used).
    """
    return {
        "model_calls": float(cost.calls),
        "generated_tokens": float(cost.generated_tokens),
        "forward_tokens": float(cost.forward_tokens),
        "batches": float(cost.batches),
        "pairs": float(num_pairs),
        "pairs_per_1000_calls": 1000.0 * num_pairs / cost.calls if cost.calls else 0.0,
        "calls_per_pair": cost.calls / num_pairs if num_pairs else None,
        "tokens_per_pair": cost.generated_tokens / num_pairs if num_pairs else None,
    }


def write_pairs(path: str | Path, pairs: Iterable[PreferencePair]) -> int:
    """Write pairs as JSONL atomically (the DPO/SimPO trainer's input); returns the count."""
    return write_jsonl(path, pairs)
