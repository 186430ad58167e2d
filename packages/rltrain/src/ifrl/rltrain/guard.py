"""A reward that penalises degenerate answers: too short, too long, repetitive, missing a part.

Verifiable instruction-following rewards are easy to satisfy with useless text: a one-word
answer has no commas, is all lowercase and stays under any word limit. Under such a reward a
small policy collapses to one-word outputs that are compliant and useless. :class:`GuardReward`
adds the task back: added to the main reward (TRL sums reward functions with their weights), it
gives 0 to an answer that passes every check and ``penalty`` to one that fails any, so a
degenerate compliant answer scores no better than a non-compliant one.

It has TRL's calling convention, so it also plugs into TRL's ``GRPOTrainer``; with a
``log_metric`` keyword (passed by TRL and by :class:`~ifrl.rltrain.GRPOTrainer`) it logs the
share of answers failing each check as ``<name>/<check>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ifrl.core.records import completion_text

_WORD = re.compile(r"\w+(?:['’-]\w+)*")
CHECKS = ("too_short", "too_long", "repetitive", "missing_required", "missing_column")


@dataclass(frozen=True)
class GuardReward:
    """0 for an answer that passes every enabled check, ``penalty`` for one that fails any.

    Checks (each off at its default):

    - ``min_words`` / ``max_words``: word count (``\\w+`` runs) at least / at most this
      (``max_words=0``: no limit);
    - ``min_distinct``: distinct words / words at least this (``"yes yes yes yes"`` has 0.25);
      only answers of ``min_distinct_from`` words or more are judged, short ones are left to
      ``min_words``;
    - ``required``: regular expressions that must all match (``re.search``), e.g. ``r"\\d"`` for
      a numeric answer;
    - ``required_column``: a dataset column holding, per row, a string or a list of strings the
      answer must contain (case-insensitive), e.g. the topic the prompt asks about; a row whose
      value is null is not checked.
    """

    min_words: int = 0
    max_words: int = 0
    min_distinct: float = 0.0
    min_distinct_from: int = 8
    required: tuple[str, ...] = ()
    required_column: str = ""
    penalty: float = -1.0
    name: str = "guard"

    def __post_init__(self) -> None:
        if self.min_words < 0 or self.max_words < 0:
            raise ValueError("min_words and max_words must be >= 0")
        if self.max_words and self.max_words < self.min_words:
            raise ValueError(f"max_words={self.max_words} is below min_words={self.min_words}")
        if not 0.0 <= self.min_distinct <= 1.0:
            raise ValueError(f"min_distinct must lie in [0, 1], got {self.min_distinct}")
        for pattern in self.required:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"required pattern {pattern!r}: {err}") from None

    @property
    def __name__(self) -> str:  # the name TRL and GRPOTrainer log the reward under
        return self.name

    def enabled_checks(self) -> tuple[str, ...]:
        """The checks this guard runs, in :data:`CHECKS` order."""
        on = (
            self.min_words > 0,
            self.max_words > 0,
            self.min_distinct > 0,
            bool(self.required),
            bool(self.required_column),
        )
        return tuple(c for c, enabled in zip(CHECKS, on) if enabled)

    def failures(self, completion: Any, needed: Any = None) -> tuple[str, ...]:
        """The checks ``completion`` fails (empty: it passes); ``needed`` is its row's
        ``required_column`` value."""
        text = completion_text(completion)
        words = [w.lower() for w in _WORD.findall(text)]
        failed: list[str] = []
        if len(words) < self.min_words:
            failed.append("too_short")
        if self.max_words and len(words) > self.max_words:
            failed.append("too_long")
        if (
            self.min_distinct
            and len(words) >= self.min_distinct_from
            and len(set(words)) / len(words) < self.min_distinct
        ):
            failed.append("repetitive")
        if any(re.search(p, text) is None for p in self.required):
            failed.append("missing_required")
        if needed is not None:
            parts = [needed] if isinstance(needed, str) else list(needed)
            lowered = text.lower()
            if any(str(p).lower() not in lowered for p in parts):
                failed.append("missing_column")
        return tuple(failed)

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        needed: Sequence[Any] = [None] * len(completions)
        if self.required_column:
            if self.required_column not in columns:
                raise KeyError(
                    f"{self.name}: no column {self.required_column!r} among {sorted(columns)}"
                )
            needed = columns[self.required_column]
        fails = [self.failures(c, n) for c, n in zip(completions, needed)]
        log: Callable[[str, float], None] | None = columns.get("log_metric")
        if callable(log) and fails:
            for check in self.enabled_checks():
                log(f"{self.name}/{check}", sum(check in f for f in fails) / len(fails))
            log(f"{self.name}/failed", sum(bool(f) for f in fails) / len(fails))
        return [self.penalty if f else 0.0 for f in fails]
