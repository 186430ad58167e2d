"""Preference pairs from MCTS trees (step-level, shared prefix) and the best-vs-worst baseline.

**From a tree** (:func:`tree_pairs`): at every node with at least two children, chosen = the child
with the highest mean value, rejected = the one with the lowest (first in order on ties). A pair is
kept when the value gap is at least ``min_gap``, the chosen value at least ``min_chosen``, and the
two completions are not near-duplicates. The pair's prompt is the tree's prompt plus the node's
prefix (what both sides share); chosen is the best-scored rollout under the chosen child and
rejected the worst-scored rollout under the rejected child, each from the shared prefix on, so
both are full responses and the chosen one outscores the rejected one by at least the gap.

**Baseline** (:func:`best_vs_worst`): sample ``n`` full responses per prompt and pair the best-
with the worst-scored one under the same filters, at a generation budget the caller picks
(:func:`equal_budget_n` matches an MCTS run's model calls).

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

from ifrl.core.config import ConfigError, opt
from ifrl.core.generation import Generator
from ifrl.core.jsonl import write_jsonl
from ifrl.core.records import Cost, PreferencePair, RewardFn
from ifrl.rltrain.mcts import (
    MCTSConfig,
    SearchNode,
    SearchTree,
    default_reward,
    derive_seed,
    generation_cost,
    score_responses,
)


@dataclass(frozen=True)
class PairConfig:
    """Filters on extracted pairs."""

    min_gap: float = opt("Minimum value gap between chosen and rejected.", 0.1)
    min_chosen: float = opt("Minimum value of the chosen side.", 0.0)
    duplicate_ratio: float = opt(
        "Similarity ratio at which two sides count as near-duplicates.", 0.98
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for a ratio outside (0, 1]."""
        if not 0.0 < self.duplicate_ratio <= 1.0:
            raise ConfigError(
                "", "duplicate_ratio", f"must lie in (0, 1], got {self.duplicate_ratio}"
            )


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


def tree_pairs(tree: SearchTree, config: PairConfig = PairConfig()) -> list[PreferencePair]:
    """The step-level pairs of one searched tree (see the module docstring), root first."""
    out: list[PreferencePair] = []
    seen: set[tuple[str, str, str]] = set()
    for node in tree.root.walk():
        if len(node.children) < 2:
            continue
        chosen = max(node.children, key=lambda c: c.mean_value)
        rejected = min(node.children, key=lambda c: c.mean_value)
        gap = chosen.mean_value - rejected.mean_value
        if gap < config.min_gap or chosen.mean_value < config.min_chosen:
            continue
        best = _extreme_rollout(chosen, best=True)
        worst = _extreme_rollout(rejected, best=False)
        c_text = best.rollout[len(node.prefix) :]
        r_text = worst.rollout[len(node.prefix) :]
        if near_duplicate(c_text, r_text, config.duplicate_ratio):
            continue
        prompt = tree.prompt + node.prefix
        key = (prompt, c_text, r_text)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            PreferencePair(
                prompt=prompt,
                chosen=c_text,
                rejected=r_text,
                meta={
                    "source": "mcts",
                    "sample_id": tree.sample_id,
                    "prefix": node.prefix,
                    "depth": node.depth,
                    "node": list(node.path()),
                    "chosen_value": chosen.mean_value,
                    "rejected_value": rejected.mean_value,
                    "chosen_visits": chosen.visits,
                    "rejected_visits": rejected.visits,
                    "chosen_reward": best.reward,
                    "rejected_reward": worst.reward,
                    "chosen_fragment": chosen.fragment,
                    "rejected_fragment": rejected.fragment,
                },
            )
        )
    return out


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
) -> tuple[list[PreferencePair], Cost]:
    """Sample ``n`` responses per prompt (the search's sampling settings) and pair best vs worst."""
    if n < 2:
        raise ValueError(f"n: best-vs-worst needs at least 2 samples, got {n}")
    reward_fn = reward_fn or default_reward()
    mcts = mcts or MCTSConfig()
    cost = Cost()
    tokenizer = getattr(generator, "tokenizer", None)
    cols = list(columns) if columns is not None else [{} for _ in prompts]
    ids = list(sample_ids) if sample_ids is not None else [str(i) for i in range(len(prompts))]
    group = batch_prompts if batch_prompts > 0 else max(1, len(prompts))
    out: list[PreferencePair] = []
    for g, start in enumerate(range(0, len(prompts), group)):
        chunk = list(range(start, min(start + group, len(prompts))))
        asked = [prompts[i] for i in chunk]
        seed = derive_seed(mcts.seed, -1, g)
        outputs = generator.generate(asked, mcts.sampling(n, seed, logprobs=False))
        cost += generation_cost(outputs, asked, tokenizer)
        trees = [SearchTree(prompts[i], cols[i]) for i in chunk for _ in range(n)]
        texts = [c.text for comps in outputs for c in comps]
        rewards = score_responses(reward_fn, trees, [t.prompt for t in trees], texts)
        for k, i in enumerate(chunk):
            rs = rewards[k * n : (k + 1) * n]
            ts = texts[k * n : (k + 1) * n]
            hi = max(range(n), key=lambda j: rs[j])
            lo = min(range(n), key=lambda j: rs[j])
            if rs[hi] - rs[lo] < config.min_gap or rs[hi] < config.min_chosen:
                continue
            if near_duplicate(ts[hi], ts[lo], config.duplicate_ratio):
                continue
            out.append(
                PreferencePair(
                    prompt=prompts[i],
                    chosen=ts[hi],
                    rejected=ts[lo],
                    meta={
                        "source": "best_vs_worst",
                        "sample_id": ids[i],
                        "n": n,
                        "chosen_reward": rs[hi],
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
