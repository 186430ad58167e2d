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
passes. ``kinds="verifiable"`` also scores constraints marked ``soft`` whose type has a verifier (a
verifiable type standing in for a judged one, as in judge experiments: the true compliance).

``on_unknown`` says what a constraint id the registry does not know does (datasets such as
open-instruct's carry types a release may not have): ``"raise"`` (default) raises
``UnknownNameError``; ``"skip"`` leaves it out of the row's score (a row with nothing left gets
``None``); ``"zero"`` counts it as failed. Either way each id is warned about once
(:class:`UnknownConstraintWarning`) and, with TRL's ``log_metric``, the share of constraints
unknown in the batch is logged as ``<name>/unknown_constraints``. With ``per_constraint=True``
each constraint type's pass rate in the batch is logged as ``<name>/pass/<id>`` (which types the
policy learns). ``strictness`` picks IFEval's strict or loose verdict and ``semantics`` the
checkers:
``"reference"`` (the benchmarks' own, default) or ``"fixed"`` (the documented corrections: a
reward that is wrong teaches the policy the wrong thing). ``strip_think`` scores only the text
after the last ``</think>``; a completion that opens ``<think>`` and never closes it scores as
an empty answer (fails).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from ifrl.constraints.base import REGISTRY, Constraint, Semantics, build, check_semantics
from ifrl.constraints.codec import batch_specs
from ifrl.constraints.scoring import ResponseView
from ifrl.core.config import check_choice
from ifrl.core.records import ConstraintSpec, completion_text

RewardMode = Literal["all", "fraction"]
Strictness = Literal["strict", "loose"]
OnUnknown = Literal["raise", "skip", "zero"]
ON_UNKNOWN: tuple[OnUnknown, ...] = ("raise", "skip", "zero")
Kinds = Literal["hard", "verifiable"]


class UnknownConstraintWarning(UserWarning):
    """A reward met a constraint id it does not know and skipped it or scored it 0."""


_WARNED: set[tuple[str, str]] = set()


def _warn_unknown(cid: str, policy: str) -> None:
    if (cid, policy) in _WARNED:
        return
    _WARNED.add((cid, policy))
    what = "left out of the reward" if policy == "skip" else "scored as failed"
    warnings.warn(
        f"unknown constraint id {cid!r}: {what} (on_unknown={policy!r})",
        UnknownConstraintWarning,
        stacklevel=3,
    )


def check_on_unknown(value: str) -> OnUnknown:
    """``value`` when it is ``raise``, ``skip`` or ``zero``; ``ValueError`` otherwise."""
    check_choice("on_unknown", value, ON_UNKNOWN)
    return value  # type: ignore[return-value]


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
        on_unknown: OnUnknown = "raise",
        kinds: Kinds = "hard",
        per_constraint: bool = False,
    ) -> None:
        check_choice("mode", mode, ("all", "fraction"))
        check_choice("strictness", strictness, ("strict", "loose"))
        self.mode = mode
        self.strictness = strictness
        self.column = column
        self.strip_think = strip_think
        self.semantics = check_semantics(semantics)
        self.on_unknown = check_on_unknown(on_unknown)
        check_choice("kinds", kinds, ("hard", "verifiable"))
        self.kinds: Kinds = kinds
        suffix = "_fixed" if semantics == "fixed" else ""
        self.__name__ = name or f"constraints_{strictness}_{mode}{suffix}"
        self.per_constraint = per_constraint
        self._unknown = 0
        self._seen = 0
        self._passes: dict[str, list[int]] = {}

    def scored(self, constraints: Sequence[ConstraintSpec]) -> list[ConstraintSpec]:
        """The constraints this reward verifies: the hard ones, and with
        ``kinds="verifiable"`` also those marked soft whose type has a verifier."""
        if self.kinds == "verifiable":
            return [c for c in constraints if c.kind == "hard" or c.id in REGISTRY]
        return [c for c in constraints if c.kind == "hard"]

    def known(self, specs: Sequence[ConstraintSpec]) -> list[ConstraintSpec | None]:
        """``specs`` with each unknown id replaced by ``None`` (``on_unknown`` skip or zero;
        ``UnknownNameError`` with ``raise``)."""
        out: list[ConstraintSpec | None] = []
        for spec in specs:
            self._seen += 1
            if spec.id in REGISTRY or self.on_unknown == "raise":
                out.append(spec)  # an unknown id raises when built, with suggestions
                continue
            self._unknown += 1
            _warn_unknown(spec.id, self.on_unknown)
            out.append(None)
        return out

    def _built(self, specs: Sequence[ConstraintSpec | None]) -> list[Constraint | None]:
        return [None if s is None else build(s.id, s.kwargs, self.semantics) for s in specs]

    def _log_unknown(self, log_metric: Callable[[str, float], None] | None) -> None:
        if log_metric is not None and self.on_unknown != "raise" and self._seen:
            log_metric(f"{self.__name__}/unknown_constraints", self._unknown / self._seen)
        self._unknown = self._seen = 0

    def answer(self, completion: Any) -> str:
        """The text a completion is scored on (after ``</think>`` with ``strip_think``)."""
        text = completion_text(completion)
        return strip_thinking(text) if self.strip_think else text

    def score(self, completion: Any, constraints: Sequence[ConstraintSpec]) -> float | None:
        """The reward of one completion for its constraints (soft ones are left out, unless
        ``kinds="verifiable"``); ``None`` when none is scored."""
        built = self._built(self.known(self.scored(constraints)))
        if self.on_unknown == "skip":
            built = [c for c in built if c is not None]
        if not built:
            return None
        view = ResponseView(self.answer(completion))
        passed = [c is not None and view.check(c, self.strictness).passed for c in built]
        if self.per_constraint:
            for c, ok in zip(built, passed):
                if c is not None:
                    tally = self._passes.setdefault(c.id, [0, 0])
                    tally[0] += bool(ok)
                    tally[1] += 1
        if self.mode == "all":
            return 1.0 if all(passed) else 0.0
        return sum(passed) / len(passed)

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        log_metric = columns.pop("log_metric", None)
        self._passes = {}
        out = [
            self.score(c, batch_specs(columns, i, self.column)) for i, c in enumerate(completions)
        ]
        self._log_unknown(log_metric)
        self._log_per_constraint(log_metric)
        return out

    def _log_per_constraint(self, log_metric: Callable[[str, float], None] | None) -> None:
        if log_metric is not None and self.per_constraint:
            for cid, (ok, n) in sorted(self._passes.items()):
                log_metric(f"{self.__name__}/pass/{cid}", ok / n)
        self._passes = {}


def constraint_reward(
    mode: RewardMode = "all",
    strictness: Strictness = "strict",
    *,
    column: str = "constraints",
    strip_think: bool = False,
    semantics: Semantics = "reference",
    on_unknown: OnUnknown = "raise",
) -> ConstraintReward:
    """A reward function for TRL's ``GRPOTrainer(reward_funcs=[...])``."""
    return ConstraintReward(
        mode,
        strictness,
        column=column,
        strip_think=strip_think,
        semantics=semantics,
        on_unknown=on_unknown,
    )


strict_all = ConstraintReward("all", "strict")
strict_fraction = ConstraintReward("fraction", "strict")
loose_all = ConstraintReward("all", "loose")
loose_fraction = ConstraintReward("fraction", "loose")

__all__ = [
    "ON_UNKNOWN",
    "ConstraintReward",
    "Kinds",
    "OnUnknown",
    "UnknownConstraintWarning",
    "check_on_unknown",
    "completion_text",
    "constraint_reward",
    "loose_all",
    "loose_fraction",
    "prompt_text",
    "strict_all",
    "strict_fraction",
    "strip_thinking",
]
