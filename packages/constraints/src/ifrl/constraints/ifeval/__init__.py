"""The 25 IFEval instruction types, with IFEval's ids and kwargs names (importing registers them)."""

from ifrl.constraints.ifeval import (
    case,
    combination,
    content,
    format,
    keywords,
    language,
    length,
    punctuation,
    startend,
)
from ifrl.constraints.ifeval.ids import IFEVAL_IDS

__all__ = [
    "IFEVAL_IDS",
    "case",
    "combination",
    "content",
    "format",
    "keywords",
    "language",
    "length",
    "punctuation",
    "startend",
]
