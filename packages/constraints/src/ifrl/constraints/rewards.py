"""Reward functions for RL with TRL's calling convention.

``reward(prompts, completions, **columns) -> list[float | None]``: TRL's ``GRPOTrainer`` passes
the batch's prompts, the generated completions (strings, or message lists for conversational
data) and every other dataset column as a keyword argument (one value per completion). The
constraints of each row are read by :func:`ifrl.constraints.codec.batch_specs`: a
``constraints`` column (``{"id", "kwargs", "kind"}`` objects) or IFEval's
``instruction_id_list`` and ``kwargs`` columns, either possibly a JSON string (Arrow cannot
store heterogeneous kwargs dicts as a struct).
Rows without hard constraints get ``None`` (TRL then ignores this function for that row).
Soft constraints (``kind: "soft"``) need a judge and are not scored here.

Modes: ``all`` gives 1.0 when every constraint passes, else 0.0; ``fraction`` the share that
passes. ``strictness`` picks IFEval's strict or loose verdict and ``semantics`` the checkers:
``"reference"`` (the benchmarks' own, default) or ``"fixed"`` (the documented corrections: a
reward that is wrong teaches the policy the wrong thing). ``strip_think`` scores only the text
after the last ``</think>``; a completion that opens ``<think>`` and never closes it scores as
an empty answer (fails).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ifrl.constraints.base import Semantics, build, check_semantics
from ifrl.constraints.codec import batch_specs
from ifrl.constraints.scoring import ResponseView
from ifrl.core.records import ConstraintSpec

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


def prompt_text(prompt: Any) -> str:
    """A TRL prompt as text: the string, or the last user message of a conversation."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence):
        for message in reversed(prompt):
            if isinstance(message, Mapping) and message.get("role") == "user":
                return str(message.get("content") or "")
    return completion_text(prompt)


class ConstraintReward:
    """A TRL-compatible reward: share (or all-or-nothing) of a row's constraints satisfied."""

    def __init__(
        self,
        mode: RewardMode = "all",
        strictness: Strictness = "strict",
        *,
        column: str = "constraints",
        strip_think: bool = False,
        semantics: Semantics = "reference",
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
        self.semantics = check_semantics(semantics)
        suffix = "_fixed" if semantics == "fixed" else ""
        self.__name__ = name or f"constraints_{strictness}_{mode}{suffix}"

    def answer(self, completion: Any) -> str:
        """The text a completion is scored on (after ``</think>`` with ``strip_think``)."""
        text = completion_text(completion)
        return strip_thinking(text) if self.strip_think else text

    def score(self, completion: Any, constraints: Sequence[ConstraintSpec]) -> float | None:
        """The reward of one completion for its constraints (soft ones are left out)."""
        hard = [c for c in constraints if c.kind == "hard"]
        if not hard:
            return None
        view = ResponseView(self.answer(completion))
        built = [build(c.id, c.kwargs, self.semantics) for c in hard]
        passed = [view.check(c, self.strictness).passed for c in built]
        if self.mode == "all":
            return 1.0 if all(passed) else 0.0
        return sum(passed) / len(passed)

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        return [
            self.score(c, batch_specs(columns, i, self.column)) for i, c in enumerate(completions)
        ]


def constraint_reward(
    mode: RewardMode = "all",
    strictness: Strictness = "strict",
    *,
    column: str = "constraints",
    strip_think: bool = False,
    semantics: Semantics = "reference",
) -> ConstraintReward:
    """A reward function for TRL's ``GRPOTrainer(reward_funcs=[...])``."""
    return ConstraintReward(
        mode, strictness, column=column, strip_think=strip_think, semantics=semantics
    )


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
    "prompt_text",
    "strict_all",
    "strict_fraction",
    "strip_thinking",
]
