"""What a dialog file holds, as a practitioner would check it before training on it.

:func:`dialog_stats` reports, over a sequence of dialogs:

* the dialog-type mix, user and assistant turns per dialog, calls per dialog;
* lexical diversity: distinct-1/2 of the user turns and of the assistant's text turns (distinct
  n-grams over all n-grams of the corpus; tokens are the whitespace-separated words,
  lower-cased, punctuation attached, as distinct-n is usually computed and as the issue that
  set the goals measured it);
* template reuse: the share of dialogs whose final answer opens with the same three tokens (the
  most common opening), the same for first user turns, and the most common final-answer
  skeleton (tokens with digits or capitals masked);
* the argument-type mix (JSON types; strings split into dates, times, emails, urls, ids and
  free text), error results and thoughts.

:data:`GOALS` are the targets the toolgen README quotes for offline data: distinct-2 of user
turns >= 0.6 and no final-answer opening shared by more than 5% of dialogs.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ifrl.toolgen.dialog import Dialog, error_of

_WORD = re.compile(r"[a-z0-9]+(?:[-'.:/@_][a-z0-9]+)*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{1,2}:\d{2}")
_ID = re.compile(r"[A-Za-z]{1,3}\d{4,}")

# (metric, comparison, threshold): the targets for offline data.
GOALS = (
    ("user_distinct_2", ">=", 0.6),
    ("final_answer_top_opening_share", "<=", 0.05),
)


def tokens(text: str) -> list[str]:
    """The tokens of ``text``: its whitespace-separated words, lower-cased."""
    return text.lower().split()


def _words(text: str) -> list[str]:
    """Words without punctuation (for openings)."""
    return _WORD.findall(text.lower())


def distinct(texts: Iterable[str], n: int, limit: int | None = None) -> tuple[float, int]:
    """Distinct-n of a corpus: ``(unique n-grams / all n-grams, all n-grams)``.

    Distinct-n falls as a corpus grows (each new text can only repeat more of what came
    before), so two corpora compare only at the same number of n-grams: ``limit`` counts the
    first ``limit`` n-grams in order and stops (mid-text if need be). A corpus with fewer
    n-grams than ``limit`` is counted whole; the second element says how many were counted.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of n-grams, got {limit}")
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        toks = tokens(text)
        for i in range(len(toks) - n + 1):
            if total == limit:
                return len(seen) / total, total
            seen.add(tuple(toks[i : i + n]))
            total += 1
    return (len(seen) / total if total else 0.0), total


def _skeleton(text: str) -> str:
    return " ".join(
        "#" if any(c.isdigit() for c in w) or w[:1].isupper() else w.lower() for w in text.split()
    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        if _DATE.fullmatch(value):
            return "string:date"
        if _TIME.fullmatch(value):
            return "string:time"
        if "@" in value:
            return "string:email"
        if value.startswith(("http://", "https://")):
            return "string:url"
        if _ID.fullmatch(value):
            return "string:id"
        return "string:text"
    return "null"


def _shares(counter: Counter[str], n: int, top: int = 5) -> list[dict[str, Any]]:
    return [{"value": k, "count": c, "share": round(c / n, 4)} for k, c in counter.most_common(top)]


@dataclass
class DialogStats:
    """The report of :func:`dialog_stats` (``to_dict`` / ``to_markdown``)."""

    dialogs: int = 0
    types: Counter[str] = field(default_factory=Counter)
    user_turns: Counter[int] = field(default_factory=Counter)
    assistant_turns: Counter[int] = field(default_factory=Counter)
    calls: Counter[int] = field(default_factory=Counter)
    argument_types: Counter[str] = field(default_factory=Counter)
    error_results: int = 0
    thoughts: int = 0
    diversity: dict[str, dict[str, float]] = field(default_factory=dict)
    openings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    distinct_openings: dict[str, int] = field(default_factory=dict)
    skeletons: list[dict[str, Any]] = field(default_factory=list)

    def metric(self, name: str) -> float:
        """A goal metric by name (see :data:`GOALS`)."""
        if name == "user_distinct_2":
            return self.diversity["user"]["distinct_2"]
        if name == "final_answer_top_opening_share":
            top = self.openings.get("final_answer") or [{"share": 0.0}]
            return float(top[0]["share"])
        raise KeyError(name)

    def goals(self) -> list[dict[str, Any]]:
        """Each goal with its measured value and whether it is met."""
        out = []
        for name, op, threshold in GOALS:
            value = self.metric(name)
            met = value >= threshold if op == ">=" else value <= threshold
            out.append(
                {"metric": name, "value": round(value, 4), "goal": f"{op} {threshold}", "met": met}
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        def mean(c: Counter[int]) -> float:
            n = sum(c.values())
            return round(sum(k * v for k, v in c.items()) / n, 3) if n else 0.0

        return {
            "dialogs": self.dialogs,
            "types": {
                k: {"count": v, "share": round(v / self.dialogs, 4)}
                for k, v in sorted(self.types.items())
            },
            "turns_per_dialog": {
                "user_mean": mean(self.user_turns),
                "user": {str(k): v for k, v in sorted(self.user_turns.items())},
                "assistant_mean": mean(self.assistant_turns),
            },
            "calls_per_dialog": {
                "mean": mean(self.calls),
                "histogram": {str(k): v for k, v in sorted(self.calls.items())},
            },
            "argument_types": dict(self.argument_types.most_common()),
            "error_results": self.error_results,
            "thoughts": self.thoughts,
            "diversity": self.diversity,
            "openings": self.openings,
            "distinct_openings": self.distinct_openings,
            "final_answer_skeletons": self.skeletons,
            "goals": self.goals(),
        }

    def to_markdown(self) -> str:
        d = self.to_dict()
        lines = ["# Dialog statistics", "", f"- dialogs: {self.dialogs}", ""]
        lines += ["## Goals", "", "| metric | value | goal | met |", "|---|---:|---|---|"]
        lines += [
            f"| {g['metric']} | {g['value']} | {g['goal']} | {'yes' if g['met'] else 'no'} |"
            for g in d["goals"]
        ]
        lines += ["", "## Types", "", "| type | dialogs | share |", "|---|---:|---:|"]
        lines += [f"| {k} | {v['count']} | {v['share']:.3f} |" for k, v in d["types"].items()]
        lines += [
            "",
            "## Diversity",
            "",
            "| turns | distinct-1 | distinct-2 | bigrams |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {k} | {v['distinct_1']:.3f} | {v['distinct_2']:.3f} | {int(v['bigrams'])} |"
            for k, v in self.diversity.items()
        ]
        lines += ["", "## Template reuse (most common openings: first three tokens)", ""]
        for where, rows in self.openings.items():
            lines.append(
                f"- {where} ({self.distinct_openings[where]} distinct): "
                + "; ".join(f"`{r['value']}` {r['share']:.3f}" for r in rows)
            )
        lines += [
            "- final-answer skeletons: "
            + "; ".join(f"`{r['value'][:60]}` {r['share']:.3f}" for r in self.skeletons[:3])
        ]
        t = d["turns_per_dialog"]
        lines += [
            "",
            "## Shape",
            "",
            f"- user turns per dialog: mean {t['user_mean']}, histogram {t['user']}",
            f"- assistant turns per dialog: mean {t['assistant_mean']}",
            f"- calls per dialog: mean {d['calls_per_dialog']['mean']}, histogram {d['calls_per_dialog']['histogram']}",
            f"- error results: {self.error_results}; thoughts: {self.thoughts}",
            f"- argument types: {json.dumps(d['argument_types'])}",
        ]
        return "\n".join(lines) + "\n"


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    else:
        yield value


def dialog_stats(dialogs: Iterable[Dialog]) -> DialogStats:
    """The statistics of ``dialogs`` (see the module docstring)."""
    stats = DialogStats()
    user_texts: list[str] = []
    assistant_texts: list[str] = []
    openings: dict[str, Counter[str]] = {"first_user_turn": Counter(), "final_answer": Counter()}
    skeletons: Counter[str] = Counter()
    for d in dialogs:
        stats.dialogs += 1
        stats.types[d.type] += 1
        users = [m.content or "" for m in d.messages if m.role == "user"]
        texts = [m.content or "" for m in d.messages if m.role == "assistant" and not m.tool_calls]
        stats.user_turns[len(users)] += 1
        stats.assistant_turns[sum(m.role == "assistant" for m in d.messages)] += 1
        calls = d.calls()
        stats.calls[len(calls)] += 1
        for call in calls:
            for value in call.arguments.values():
                kind = _kind(value)
                stats.argument_types[kind] += 1
                if kind in ("array", "object"):
                    stats.argument_types.update(f"{kind}/{_kind(v)}" for v in _leaves(value))
        for m in d.messages:
            if m.role == "tool":
                with contextlib.suppress(ValueError):
                    stats.error_results += error_of(json.loads(m.content or "null")) is not None
        stats.thoughts += len(d.thoughts)
        user_texts += users
        assistant_texts += texts
        if users:
            openings["first_user_turn"][" ".join(_words(users[0])[:3])] += 1
        if texts:
            openings["final_answer"][" ".join(_words(texts[-1])[:3])] += 1
            skeletons[_skeleton(texts[-1])] += 1
    for name, texts_ in (("user", user_texts), ("assistant", assistant_texts)):
        d1, n1 = distinct(texts_, 1)
        d2, n2 = distinct(texts_, 2)
        stats.diversity[name] = {
            "distinct_1": round(d1, 4),
            "distinct_2": round(d2, 4),
            "tokens": n1,
            "bigrams": n2,
        }
    n = max(1, stats.dialogs)
    stats.openings = {k: _shares(c, n) for k, c in openings.items()}
    stats.distinct_openings = {k: len(c) for k, c in openings.items()}
    stats.skeletons = _shares(skeletons, n, 3)
    return stats


__all__ = ["GOALS", "DialogStats", "dialog_stats", "distinct", "tokens"]
