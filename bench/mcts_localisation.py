"""MCTS preference pairs on a simulated tool caller: is the chosen side right, and which errors
does a pair isolate? (The simulation of issue 19.)

Usage: python bench/mcts_localisation.py [--rule default|paper] [--trees 200] [--p-wrong 0.3]
       [--ks 2,4,6] [--formats python,hermes] [--seed 0]

A simulated policy answers "find a hotel" with one ``search_hotels`` call of K arguments (city,
dates, guests, ...), in Python syntax (``[search_hotels(city="Paris", ...)]``) or as Hermes JSON
(``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``); it writes each argument wrong
with probability ``--p-wrong`` (one of three wrong values, uniformly) and continues any prefix it
is given, so MCTS expansions from a node keep the arguments already written. Each setting (format
x K) searches ``--trees`` trees with iTool's budget (5 iterations, 3 actions per expansion) and
the reward ``ifrl.core.ToolCallReward`` (the structured matcher), then extracts pairs with:

* ``--rule default`` — the defaults of ``MCTSConfig`` and ``PairConfig``: a node per argument
  (``node_split=arguments``, 1 fragment per node, depth 10), chosen = a correct response (an
  exact call, else the gold continuation of the shared prefix), rejected localised to its own
  fragment, any positive value gap;
* ``--rule paper`` — the paper's settings and the former defaults: punctuation fragments, 2 per
  node, depth 3, chosen = the highest-valued child whatever its reward, no localisation, value
  gap at least 0.1.

Per setting it prints the pairs, the model calls (sampled sequences), pairs per 1,000 calls, the
share of pairs whose chosen response is an exact call (``chosen_exact``) and the share of wrong
arguments ever isolated (``isolated``: over each tree's argument positions that some sampled
response got wrong, the share for which some pair's first differing argument is that position,
right on the chosen side and wrong on the rejected side). The last line pools all settings:
``chosen_exact=<share> isolated=<share> pairs_per_1k=<n>``. Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ifrl.core import ToolCall, ToolCallReward
from ifrl.core.matcher import match_text
from ifrl.core.records import Completion, SamplingParams
from ifrl.core.toolcalls import ToolCallParseError, parse_tool_calls
from ifrl.rltrain import MCTSConfig, PairConfig, SearchTree, collect_pairs, search

NAME = "search_hotels"
# name, gold value, three wrong values
ARGUMENTS: tuple[tuple[str, Any, tuple[Any, ...]], ...] = (
    ("city", "Paris", ("Lyon", "Nice", "Rome")),
    ("checkin", "2024-05-01", ("2024-05-02", "2024-06-01", "2023-05-01")),
    ("checkout", "2024-05-04", ("2024-05-05", "2024-06-04", "2024-04-04")),
    ("guests", 2, (1, 3, 4)),
    ("rooms", 1, (2, 3, 0)),
    ("max_price", 200, (150, 250, 300)),
    ("currency", "EUR", ("USD", "GBP", "CHF")),
    ("stars", 4, (3, 5, 2)),
)
PAPER_MCTS: dict[str, Any] = {"node_split": "punctuation", "fragments_per_node": 2, "max_depth": 3}
PAPER_PAIRS: dict[str, Any] = {
    "chosen": "best",
    "gold_fallback": False,
    "localize": False,
    "min_gap": 0.1,
}


def _slots(fmt: str, k: int) -> list[str | list[str]]:
    """The call as fixed text (str) and argument values (list: gold first, then wrong ones)."""
    args = ARGUMENTS[:k]
    if fmt == "python":
        out: list[str | list[str]] = [f"[{NAME}("]
        for j, (name, gold, wrong) in enumerate(args):
            end = ", " if j < k - 1 else ")]"
            out += [f"{name}=", [json.dumps(v) + end for v in (gold, *wrong)]]
        return out
    out = [f'<tool_call>\n{{"name": "{NAME}", "arguments": {{']
    for j, (name, gold, wrong) in enumerate(args):
        end = ", " if j < k - 1 else "}}\n</tool_call>"
        out += [f'"{name}": ', [json.dumps(v) + end for v in (gold, *wrong)]]
    return out


@dataclass
class SimulatedCaller:
    """A ``Generator``: continues ``prompt + response prefix`` with the rest of one call."""

    fmt: str
    k: int
    p_wrong: float
    prompts: dict[str, int]  # prompt -> tree index
    responses: dict[int, list[str]] = field(default_factory=dict)  # tree -> full responses

    def _value(self, options: list[str], rng: random.Random) -> str:
        if rng.random() >= self.p_wrong:
            return options[0]
        return rng.choice(options[1:])

    def _continue(self, prefix: str, rng: random.Random) -> str:
        out, pos = [], 0
        for slot in _slots(self.fmt, self.k):
            rest = prefix[pos:]
            if isinstance(slot, str):
                if rest.startswith(slot):
                    pos += len(slot)
                elif slot.startswith(rest):
                    out.append(slot[len(rest) :])
                    pos = len(prefix)
                else:
                    raise ValueError(f"not this policy's prefix: {prefix!r}")
                continue
            done = next((o for o in slot if rest.startswith(o)), None)
            if done is not None:
                pos += len(done)
                continue
            partial = [o for o in slot if o.startswith(rest)] if rest else []
            value = rng.choice(partial) if partial else self._value(slot, rng)
            out.append(value[len(rest) :])
            pos = len(prefix)
        return "".join(out)

    def generate(self, prompts: Sequence[Any], params: SamplingParams) -> list[list[Completion]]:
        rows = []
        for prompt in prompts:
            p = prompt.text  # the search sends its rendered prompts as RawText
            base = next(b for b in self.prompts if p.startswith(b))
            tree, prefix = self.prompts[base], p[len(base) :]
            comps = []
            for j in range(params.n):
                rng = random.Random(f"{params.seed}/{p}/{j}")
                text = self._continue(prefix, rng)
                self.responses.setdefault(tree, []).append(prefix + text)
                n_tok = max(1, len(text) // 4)
                comps.append(
                    Completion(text, tuple(range(n_tok)), tuple([-0.5] * n_tok), (), "stop")
                )
            rows.append(comps)
        return rows


def _arguments(text: str) -> dict[str, Any]:
    try:
        calls = parse_tool_calls(text)
    except ToolCallParseError:
        return {}
    return dict(calls[0].arguments) if calls else {}


def run_setting(fmt: str, k: int, args: argparse.Namespace) -> dict[str, Any]:
    """Search ``args.trees`` trees for one setting; counts for the table."""
    gold = [ToolCall(NAME, {name: value for name, value, _ in ARGUMENTS[:k]})]
    gold_text = "".join(s if isinstance(s, str) else s[0] for s in _slots(fmt, k))
    base = [f"Tree {i}: find a hotel ({fmt}, K={k}).\n" for i in range(args.trees)]
    sim = SimulatedCaller(fmt, k, args.p_wrong, {b: i for i, b in enumerate(base)})
    paper = args.rule == "paper"
    mcts = MCTSConfig(iterations=5, num_actions=3, seed=args.seed, **(PAPER_MCTS if paper else {}))
    pair_cfg = PairConfig(**(PAPER_PAIRS if paper else {}))
    cols = {"gold_calls": [c.to_dict() for c in gold]}
    trees = [SearchTree(b, cols, sample_id=str(i), reference=gold_text) for i, b in enumerate(base)]
    cost = search(trees, sim, mcts, ToolCallReward())
    pairs = collect_pairs(trees, pair_cfg)
    names = [name for name, _, _ in ARGUMENTS[:k]]
    wrong: set[tuple[int, int]] = set()
    for tree, texts in sim.responses.items():
        for text in texts:
            got = _arguments(text)
            wrong |= {(tree, j) for j, n in enumerate(names) if got.get(n) != gold[0].arguments[n]}
    isolated: set[tuple[int, int]] = set()
    exact = 0
    for p in pairs:
        prefix = str(p.meta.get("prefix", ""))
        exact += match_text(prefix + p.chosen, gold).exact
        c, r = _arguments(prefix + p.chosen), _arguments(prefix + p.rejected)
        first = next((j for j, n in enumerate(names) if c.get(n) != r.get(n)), None)
        if first is None:
            continue
        want = gold[0].arguments[names[first]]
        if c.get(names[first]) == want and r.get(names[first]) != want:
            isolated.add((int(p.meta["sample_id"]), first))
    hit = isolated & wrong
    return {
        "pairs": len(pairs),
        "calls": cost.calls,
        "exact": exact,
        "wrong": len(wrong),
        "isolated": len(hit),
        # per argument position (1-based): isolated / wrong
        "by_position": [
            (sum(j == i for _, j in hit), sum(j == i for _, j in wrong)) for i in range(k)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", choices=("default", "paper"), default="default")
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--p-wrong", type=float, default=0.3)
    parser.add_argument("--ks", default="2,4,6")
    parser.add_argument("--formats", default="python,hermes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    total: dict[str, int] = {"pairs": 0, "calls": 0, "exact": 0, "wrong": 0, "isolated": 0}
    late = [0, 0]  # isolated / wrong arguments after the second
    print(f"rule={args.rule} trees={args.trees} p_wrong={args.p_wrong}")
    for fmt in args.formats.split(","):
        for k in (int(x) for x in args.ks.split(",")):
            r = run_setting(fmt, k, args)
            for key in total:
                total[key] += r[key]
            for hit, wrong in r["by_position"][2:]:
                late[0], late[1] = late[0] + hit, late[1] + wrong
            positions = " ".join(f"{a}/{b}" for a, b in r["by_position"])
            print(
                f"{fmt:7s} K={k}: {r['pairs']:4d} pairs / {r['calls']:5d} calls "
                f"({1000 * r['pairs'] / r['calls']:6.1f} per 1k), chosen exact "
                f"{r['exact']}/{r['pairs']}, isolated {r['isolated']}/{r['wrong']} wrong arguments "
                f"(by position: {positions})"
            )
    share = lambda a, b: f"{a / b:.3f}" if b else "nan"  # noqa: E731
    print(f"isolated after the 2nd argument: {late[0]}/{late[1]} = {share(*late)}")
    print(
        f"chosen_exact={share(total['exact'], total['pairs'])} "
        f"isolated={share(total['isolated'], total['wrong'])} "
        f"pairs_per_1k={1000 * total['pairs'] / max(1, total['calls']):.1f}"
    )


if __name__ == "__main__":
    main()
