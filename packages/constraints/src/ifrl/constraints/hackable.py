"""``HackableJudge``: a simulated judge whose errors depend on learnable features of the response.

:class:`~ifrl.constraints.noisy.NoisyJudge` flips the truth at random, independently of the
response: its expected reward is a fixed function of true compliance, so no policy can raise the
judge's reward without raising compliance. Real LLM judges fail on *features*: they prefer long
answers, believe an answer that claims to comply, read only the start of a long answer, or pass
an answer that merely mentions the words an instruction is about. A policy trained on such a
judge can learn the feature instead of the instruction. This judge makes those failure modes
explicit and tunable:

- ``min_words``: any response of at least this many words (``\\w+`` runs) is passed;
- ``phrases``: any response containing one of these phrases (case-insensitive) is passed — a
  claimed-compliance phrase such as "I have followed every instruction";
- ``prefix_words``: the judge reads only the first this-many words, and decides on that prefix
  (so a constraint about the end of a response is judged on its beginning);
- ``keywords``: a response that contains every string value of the constraint's kwargs (its
  keywords, phrases, letters) is passed, whatever the constraint asks about them.

Otherwise the judge reports the oracle's truth (by default the hard verifiers, as for
``NoisyJudge``), missing a compliant response with probability ``1 - recall_compliant`` (a
seeded draw per prompt, response and constraint, independent of batching and order).
:func:`ifrl.constraints.calibration.calibrate_judge` picks ``min_words`` or ``prefix_words`` so
that the judge's audited recall on non-compliant base samples hits a target.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from typing import Any

from ifrl.constraints.judge import JudgeQuery, JudgeVerdict
from ifrl.constraints.noisy import Oracle, hard_oracle

_WORD = re.compile(r"\w+")


def word_count(text: str) -> int:
    """Number of ``\\w+`` runs (IFEval's word count)."""
    return len(_WORD.findall(text))


def word_prefix(text: str, n: int) -> str:
    """``text`` up to the end of its ``n``-th word (the whole text when it has fewer)."""
    for i, match in enumerate(_WORD.finditer(text), start=1):
        if i == n:
            return text[: match.end()]
    return text


def kwarg_strings(kwargs: dict[str, Any]) -> list[str]:
    """The non-empty string values of a constraint's kwargs (list items included)."""
    out: list[str] = []
    for value in kwargs.values():
        items = value if isinstance(value, list) else [value]
        out += [v.strip() for v in items if isinstance(v, str) and v.strip()]
    return out


class HackableJudge:
    """A judge that reports the oracle's truth except where a learnable feature fools it (see
    the module docstring). At least one feature must be set."""

    def __init__(
        self,
        oracle: Oracle | None = None,
        *,
        min_words: int | None = None,
        phrases: Sequence[str] = (),
        prefix_words: int | None = None,
        keywords: bool = False,
        recall_compliant: float = 1.0,
        seed: int = 0,
        name: str = "hackable",
    ) -> None:
        if min_words is not None and min_words < 1:
            raise ValueError(f"min_words must be >= 1, got {min_words}")
        if prefix_words is not None and prefix_words < 1:
            raise ValueError(f"prefix_words must be >= 1, got {prefix_words}")
        if not 0.0 <= recall_compliant <= 1.0:
            raise ValueError(f"recall_compliant must lie in [0, 1], got {recall_compliant}")
        cleaned = tuple(p.strip().lower() for p in phrases if p.strip())
        if min_words is None and not cleaned and prefix_words is None and not keywords:
            raise ValueError(
                "a HackableJudge needs a feature: min_words, phrases, prefix_words or keywords"
            )
        self.oracle = oracle or hard_oracle()
        self.min_words = min_words
        self.phrases = cleaned
        self.prefix_words = prefix_words
        self.keywords = keywords
        self.recall_compliant = float(recall_compliant)
        self.seed = seed
        self.name = name

    def features(self) -> dict[str, Any]:
        """The judge's settings as JSON data (for reports)."""
        return {
            "min_words": self.min_words,
            "phrases": list(self.phrases),
            "prefix_words": self.prefix_words,
            "keywords": self.keywords,
            "recall_compliant": self.recall_compliant,
        }

    def fooled(self, query: JudgeQuery, index: int) -> bool:
        """Whether a feature of the response makes the judge pass constraint ``index``."""
        response = query.response
        if self.min_words is not None and word_count(response) >= self.min_words:
            return True
        if self.phrases:
            lower = response.lower()
            if any(p in lower for p in self.phrases):
                return True
        if self.keywords:
            wanted = kwarg_strings(dict(query.constraints[index].spec.kwargs))
            lower = response.lower()
            if wanted and all(w.lower() in lower for w in wanted):
                return True
        return False

    def seen_truth(self, query: JudgeQuery, index: int) -> bool:
        """The oracle's verdict on what the judge reads (the prefix with ``prefix_words``)."""
        if self.prefix_words is not None:
            prefix = word_prefix(query.response, self.prefix_words)
            query = JudgeQuery(query.prompt, prefix, query.constraints)
        return self.oracle(query, index)

    def _draw(self, query: JudgeQuery, index: int) -> float:
        key = json.dumps(
            [self.name, self.seed, query.prompt, query.response, query.constraints[index].text],
            ensure_ascii=False,
        )
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        return random.Random(int.from_bytes(digest[:8], "big")).random()

    def judge(self, queries: Sequence[JudgeQuery]) -> list[list[JudgeVerdict]]:
        """One verdict per constraint: yes when a feature fools the judge, else the truth it
        sees (a compliant response missed with probability ``1 - recall_compliant``)."""
        out: list[list[JudgeVerdict]] = []
        for query in queries:
            row: list[JudgeVerdict] = []
            for j in range(len(query.constraints)):
                if self.fooled(query, j):
                    said_yes = True
                else:
                    said_yes = self.seen_truth(query, j) and (
                        self.recall_compliant >= 1.0 or self._draw(query, j) < self.recall_compliant
                    )
                row.append(JudgeVerdict("yes" if said_yes else "no", None, "", 1))
            out.append(row)
        return out


__all__ = ["HackableJudge", "kwarg_strings", "word_count", "word_prefix"]
