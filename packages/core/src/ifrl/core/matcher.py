"""A structured tool-call matcher: score predicted calls against ground-truth calls.

Calls are compared as structures, not strings: predicted calls are parsed with
:func:`ifrl.core.toolcalls.parse_tool_calls`, paired with gold calls by the assignment that
maximises the total score (so parallel calls may come in any order), and each pair is scored on
its function name, its argument names and its argument values.

Per-call score (``0`` when the names differ)::

    (name_weight * 1 + keys_weight * |P ∩ G| / |P ∪ G| + values_weight * equal / |P ∪ G|)
    / (name_weight + keys_weight + values_weight)

where ``P``/``G`` are the predicted/gold argument names and ``equal`` counts shared names whose
values are equal under :func:`values_equal`. Missing and extra arguments both lower the score.
The overall score is the sum of the matched call scores divided by ``max(len(pred), len(gold))``;
``exact`` means every call matched with score 1 and the counts agree.

A gold answer without calls (a text answer) scores 1 when the prediction holds no tool call.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ifrl.core.records import ToolCall
from ifrl.core.toolcalls import CallFormat, ToolCallParseError, detect_format, parse_tool_calls

GoldCalls = Sequence[ToolCall]


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The outcome of matching one response: a score in [0, 1], exactness and a short reason."""

    score: float
    exact: bool
    reason: str


@dataclass(frozen=True, slots=True)
class MatcherConfig:
    """Weights of the per-call score and the value comparison options."""

    name_weight: float = 1.0
    keys_weight: float = 1.0
    values_weight: float = 1.0
    case_sensitive: bool = True
    numeric_strings: bool = False
    float_tolerance: float = 1e-9


def values_equal(pred: Any, gold: Any, config: MatcherConfig = MatcherConfig()) -> bool:
    """Type-aware equality of two JSON-like values.

    Booleans equal only booleans; ints and floats compare numerically (``1 == 1.0``) within
    ``float_tolerance`` (relative); strings compare after stripping whitespace (case-insensitively
    unless ``case_sensitive``); with ``numeric_strings`` a numeric string equals the number it
    spells. Lists compare element by element in order, dicts key by key; ``None`` equals ``None``.
    """
    if isinstance(gold, bool) or isinstance(pred, bool):
        return isinstance(gold, bool) and isinstance(pred, bool) and gold == pred
    if isinstance(gold, (int, float)) and isinstance(pred, (int, float)):
        return math.isclose(float(pred), float(gold), rel_tol=config.float_tolerance, abs_tol=0.0)
    if config.numeric_strings:
        if isinstance(gold, (int, float)) and isinstance(pred, str):
            return _number_string_equals(pred, gold, config)
        if isinstance(pred, (int, float)) and isinstance(gold, str):
            return _number_string_equals(gold, pred, config)
    if isinstance(gold, str) and isinstance(pred, str):
        a, b = pred.strip(), gold.strip()
        return a == b if config.case_sensitive else a.casefold() == b.casefold()
    if isinstance(gold, (list, tuple)) and isinstance(pred, (list, tuple)):
        return len(gold) == len(pred) and all(
            values_equal(p, g, config) for p, g in zip(pred, gold)
        )
    if isinstance(gold, Mapping) and isinstance(pred, Mapping):
        return set(gold) == set(pred) and all(values_equal(pred[k], gold[k], config) for k in gold)
    if gold is None or pred is None:
        return gold is None and pred is None
    return bool(pred == gold)


def _number_string_equals(text: str, number: float, config: MatcherConfig) -> bool:
    try:
        value = float(text.strip())
    except ValueError:
        return False
    return math.isclose(value, float(number), rel_tol=config.float_tolerance, abs_tol=0.0)


def call_score(pred: ToolCall, gold: ToolCall, config: MatcherConfig = MatcherConfig()) -> float:
    """The per-call score in [0, 1] (see the module docstring); 0 when the names differ."""
    if pred.name.strip() != gold.name.strip():
        return 0.0
    pk, gk = set(pred.arguments), set(gold.arguments)
    union = pk | gk
    if not union:
        keys = values = 1.0
    else:
        shared = pk & gk
        keys = len(shared) / len(union)
        equal = sum(values_equal(pred.arguments[k], gold.arguments[k], config) for k in shared)
        values = equal / len(union)
    total = config.name_weight + config.keys_weight + config.values_weight
    return (config.name_weight + config.keys_weight * keys + config.values_weight * values) / total


def _best_assignment(scores: list[list[float]]) -> list[tuple[int, int]]:
    """Pairs (pred, gold) maximising the summed score: exhaustive up to 7 calls, else greedy."""
    n_pred, n_gold = len(scores), len(scores[0]) if scores else 0
    if n_pred == 0 or n_gold == 0:
        return []
    if min(n_pred, n_gold) <= 7 and max(n_pred, n_gold) <= 8:
        best: tuple[float, list[tuple[int, int]]] = (-1.0, [])
        if n_pred <= n_gold:
            for perm in itertools.permutations(range(n_gold), n_pred):
                pairs = list(enumerate(perm))
                total = sum(scores[p][g] for p, g in pairs)
                if total > best[0]:
                    best = (total, pairs)
        else:
            for perm in itertools.permutations(range(n_pred), n_gold):
                pairs = [(p, g) for g, p in enumerate(perm)]
                total = sum(scores[p][g] for p, g in pairs)
                if total > best[0]:
                    best = (total, pairs)
        return best[1]
    cells = sorted(
        ((scores[p][g], p, g) for p in range(n_pred) for g in range(n_gold)),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    used_p: set[int] = set()
    used_g: set[int] = set()
    out = []
    for _s, p, g in cells:
        if p not in used_p and g not in used_g:
            used_p.add(p)
            used_g.add(g)
            out.append((p, g))
    return out


def match_calls(
    pred: Sequence[ToolCall], gold: GoldCalls, config: MatcherConfig = MatcherConfig()
) -> MatchResult:
    """Score predicted calls against gold calls, order-independently (see the module docstring)."""
    if not gold:
        if pred:
            return MatchResult(0.0, False, "calls_for_text_answer")
        return MatchResult(1.0, True, "ok")
    if not pred:
        return MatchResult(0.0, False, "no_calls")
    scores = [[call_score(p, g, config) for g in gold] for p in pred]
    pairs = _best_assignment(scores)
    total = sum(scores[p][g] for p, g in pairs)
    score = total / max(len(pred), len(gold))
    exact = len(pred) == len(gold) and all(scores[p][g] >= 1.0 - 1e-12 for p, g in pairs)
    return MatchResult(score, exact, "ok" if exact else _reason(pred, gold, pairs, config))


def _reason(
    pred: Sequence[ToolCall],
    gold: GoldCalls,
    pairs: list[tuple[int, int]],
    config: MatcherConfig,
) -> str:
    if len(pred) > len(gold):
        return "extra_call"
    if len(pred) < len(gold):
        return "missing_call"
    for p, g in pairs:
        a, b = pred[p], gold[g]
        if a.name.strip() != b.name.strip():
            return "wrong_name"
        if set(b.arguments) - set(a.arguments):
            return "missing_argument"
        if set(a.arguments) - set(b.arguments):
            return "extra_argument"
        if any(not values_equal(a.arguments[k], b.arguments[k], config) for k in b.arguments):
            return "wrong_value"
    return "mismatch"


def match_text(
    text: str,
    gold: GoldCalls,
    config: MatcherConfig = MatcherConfig(),
    format: CallFormat | None = None,
) -> MatchResult:
    """Parse ``text`` (format detected unless given) and score it against ``gold``.

    Text that looks like no tool call counts as "no calls"; text that looks like calls but does
    not parse scores 0 with reason ``parse_error``.
    """
    fmt = format or detect_format(text)
    if fmt is None:
        return match_calls([], gold, config)
    try:
        pred = parse_tool_calls(text, fmt)
    except ToolCallParseError:
        return MatchResult(0.0, False, "parse_error")
    return match_calls(pred, gold, config)


def gold_from_json(value: Any) -> list[ToolCall]:
    """Gold calls from a JSON column: a list of ``{"name", "arguments"}`` (or OpenAI) dicts."""
    if value is None:
        return []
    if isinstance(value, str):
        return parse_tool_calls(value) if value.strip() else []
    return [item if isinstance(item, ToolCall) else ToolCall.from_openai(item) for item in value]


class ToolCallReward:
    """A ``RewardFn``: the matcher score of each completion against its ``gold_calls`` column.

    Completions are strings or chat message lists (the last message's content is scored).
    ``gold_calls`` holds, per row, a list of calls (``ToolCall`` or dicts) or ``[]`` for a text
    answer. With ``exact_only`` the reward is 1.0 for an exact match and 0.0 otherwise.
    """

    __name__ = "tool_call_match"

    def __init__(self, config: MatcherConfig = MatcherConfig(), exact_only: bool = False) -> None:
        self.config = config
        self.exact_only = exact_only

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        golds = columns.get("gold_calls")
        if golds is None:
            raise ValueError("ToolCallReward needs a gold_calls column")
        out: list[float | None] = []
        for completion, gold in zip(completions, golds, strict=True):
            text = completion
            if isinstance(completion, list):
                text = completion[-1].get("content") or "" if completion else ""
            result = match_text(str(text), gold_from_json(gold), self.config)
            out.append(float(result.exact) if self.exact_only else result.score)
        return out
