"""Reward functions for RL with TRL's calling convention.

``reward(prompts, completions, **columns) -> list[float | None]``: TRL's ``GRPOTrainer`` passes
the batch's prompts, the generated completions (strings, or message lists for conversational
data) and every other dataset column as a keyword argument (one value per completion). The
constraints of each row are read from a column:

* ``constraints``: a list of ``{"id", "kwargs"}`` objects (``ConstraintSpec`` dicts), or
* IFEval's two columns ``instruction_id_list`` and ``kwargs``.

Either may also be a JSON string (Arrow cannot store heterogeneous kwargs dicts as a struct).
Rows without hard constraints get ``None`` (TRL then ignores this function for that row).
Soft constraints (``kind: "soft"``) need a judge and are not scored here.

Modes: ``all`` gives 1.0 when every constraint passes, else 0.0; ``fraction`` the share that
passes. ``strictness`` picks IFEval's strict or loose verdict. ``strip_think`` scores only the
text after the last ``</think>``; a completion that opens ``<think>`` and never closes it scores
as an empty answer (fails).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ifrl.constraints.base import build
from ifrl.constraints.errors import ConstraintSpecError
from ifrl.constraints.scoring import ResponseView

RewardMode = Literal["all", "fraction"]
Strictness = Literal["strict", "loose"]


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string, or the last message's content in a list."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return str(completion.get("content") or "")
    if isinstance(completion, Sequence) and completion:
        return completion_text(completion[-1])
    return ""


def strip_thinking(text: str) -> str:
    """The answer after the last ``</think>``; ``""`` if ``<think>`` is never closed."""
    end = text.rfind("</think>")
    if end >= 0:
        return text[end + len("</think>") :]
    if "<think>" in text:
        return ""
    return text


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as err:
            raise ConstraintSpecError("", "constraints", f"not valid JSON: {err}") from err
    return value


def row_constraints(columns: Mapping[str, Any], index: int, column: str) -> list[tuple[str, Any]]:
    """The (id, kwargs) pairs of hard constraints for row ``index`` of the batch columns."""
    if column in columns and columns[column] is not None:
        specs = _json(columns[column][index])
        if specs is None:
            return []
        out = []
        for i, spec in enumerate(specs):
            spec = _json(spec)
            if not isinstance(spec, Mapping) or "id" not in spec:
                raise ConstraintSpecError("", f"{column}[{i}]", "expected an object with an 'id'")
            if spec.get("kind", "hard") != "hard":
                continue
            out.append((str(spec["id"]), spec.get("kwargs") or {}))
        return out
    if "instruction_id_list" in columns:
        ids = _json(columns["instruction_id_list"][index]) or []
        kwargs = _json(columns["kwargs"][index]) if "kwargs" in columns else None
        kwargs = kwargs if kwargs is not None else [{}] * len(ids)
        if len(kwargs) != len(ids):
            raise ConstraintSpecError(
                "", "kwargs", f"has {len(kwargs)} entries for {len(ids)} instruction ids"
            )
        return [(str(cid), _json(k) or {}) for cid, k in zip(ids, kwargs)]
    raise ConstraintSpecError(
        "", column, f"no '{column}' or 'instruction_id_list' column among {sorted(columns)}"
    )


class ConstraintReward:
    """A TRL-compatible reward: share (or all-or-nothing) of a row's constraints satisfied."""

    def __init__(
        self,
        mode: RewardMode = "all",
        strictness: Strictness = "strict",
        *,
        column: str = "constraints",
        strip_think: bool = False,
        name: str | None = None,
    ) -> None:
        if mode not in ("all", "fraction"):
            raise ValueError(f"mode must be 'all' or 'fraction', got {mode!r}")
        if strictness not in ("strict", "loose"):
            raise ValueError(f"strictness must be 'strict' or 'loose', got {strictness!r}")
        self.mode = mode
        self.strictness = strictness
        self.column = column
        self.strip_think = strip_think
        self.__name__ = name or f"constraints_{strictness}_{mode}"

    def score(self, completion: Any, constraints: Sequence[tuple[str, Any]]) -> float | None:
        """The reward of one completion for its (id, kwargs) constraints."""
        if not constraints:
            return None
        text = completion_text(completion)
        if self.strip_think:
            text = strip_thinking(text)
        view = ResponseView(text)
        passed = [view.check(build(cid, kw), self.strictness).passed for cid, kw in constraints]
        if self.mode == "all":
            return 1.0 if all(passed) else 0.0
        return sum(passed) / len(passed)

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        return [
            self.score(c, row_constraints(columns, i, self.column))
            for i, c in enumerate(completions)
        ]


def constraint_reward(
    mode: RewardMode = "all",
    strictness: Strictness = "strict",
    *,
    column: str = "constraints",
    strip_think: bool = False,
) -> ConstraintReward:
    """A reward function for TRL's ``GRPOTrainer(reward_funcs=[...])``."""
    return ConstraintReward(mode, strictness, column=column, strip_think=strip_think)


strict_all = ConstraintReward("all", "strict")
strict_fraction = ConstraintReward("fraction", "strict")
loose_all = ConstraintReward("all", "loose")
loose_fraction = ConstraintReward("fraction", "loose")

__all__ = [
    "ConstraintReward",
    "completion_text",
    "constraint_reward",
    "loose_all",
    "loose_fraction",
    "row_constraints",
    "strict_all",
    "strict_fraction",
    "strip_thinking",
]
