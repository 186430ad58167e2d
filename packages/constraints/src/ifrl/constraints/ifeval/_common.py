"""Shared pieces of the IFEval constraint families: relations, sampling vocabularies."""

from __future__ import annotations

import random
from collections.abc import Sequence

from ifrl.constraints.params import Param

RELATIONS = ("less than", "at least")

# Words used when synthesising keyword-style constraints (our own list of common nouns/verbs).
VOCAB = (
    "river",
    "garden",
    "window",
    "planet",
    "coffee",
    "market",
    "history",
    "journey",
    "balance",
    "signal",
    "harvest",
    "engine",
    "forest",
    "mirror",
    "thunder",
    "lantern",
    "compass",
    "village",
    "orbit",
    "canvas",
    "ladder",
    "shadow",
    "meadow",
    "puzzle",
    "rocket",
    "island",
    "winter",
    "harbor",
    "silver",
    "pocket",
    "bridge",
    "season",
    "castle",
    "number",
    "ticket",
    "letter",
    "secret",
    "danger",
    "bottle",
    "camera",
    "circle",
    "doctor",
    "energy",
    "family",
    "friend",
    "future",
    "ground",
    "health",
    "memory",
    "nature",
    "office",
    "people",
    "reason",
    "school",
    "screen",
    "simple",
    "spirit",
    "strong",
    "summer",
    "theory",
    "travel",
    "valley",
    "weather",
    "wonder",
    "budget",
    "climate",
    "kitchen",
    "library",
    "picture",
    "quality",
)


def compare(actual: int, relation: str, threshold: int) -> bool:
    """``actual < threshold`` for "less than", ``actual >= threshold`` for "at least"."""
    return actual < threshold if relation == "less than" else actual >= threshold


def relation_param(name: str = "relation") -> Param:
    help = "comparison with the threshold"
    return Param(name, "str", help, choices=RELATIONS, render=relation_words)


def relation_words(relation: str) -> str:
    """The relation as English ("fewer than" / "at least")."""
    return "fewer than" if relation == "less than" else "at least"


def quoted_list(words: Sequence[str]) -> str:
    """``'a', 'b' and 'c'``."""
    items = [f"'{w}'" for w in words]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def sample_words(rng: random.Random, k: int) -> list[str]:
    return rng.sample(VOCAB, k)
