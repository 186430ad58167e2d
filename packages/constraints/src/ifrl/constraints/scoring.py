"""Strict and loose scoring with IFEval's semantics.

*Strict*: the constraint's verdict on the response. *Loose*: the constraint passes if it passes
on any of eight variants of the response: as is, without its first line, without its last
line, without both (each stripped), and each of those four with every ``*`` removed. A blank
text fails every constraint. Each distinct variant is analysed once (:class:`Text` caches) and
shared by all of the response's constraints; loose checking stops at the first passing variant
and is skipped when the strict verdict already passes.

:func:`check_hard_all` gives the verdicts on :class:`~ifrl.core.records.ConstraintSpec` records
(the ground truth of judge audits and simulated judges).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ifrl.constraints.base import Constraint, Semantics, build_all
from ifrl.constraints.codec import evaluation_row
from ifrl.constraints.text import Text
from ifrl.core.config import check_choice
from ifrl.core.records import ConstraintSpec, Verdict

Mode = Literal["strict", "loose"]


_VARIANT_NAMES = (
    "as is",
    "no *",
    "no first line",
    "no last line",
    "no first/last line",
    "no first line, no *",
    "no last line, no *",
    "no first/last line, no *",
)


def named_variants(response: str) -> list[tuple[str, str]]:
    """IFEval's eight loose variants as (name, text), duplicates removed, first name kept."""
    lines = response.split("\n")
    no_first = "\n".join(lines[1:]).strip()
    no_last = "\n".join(lines[:-1]).strip()
    no_both = "\n".join(lines[1:-1]).strip()
    candidates = (
        response,
        response.replace("*", ""),
        no_first,
        no_last,
        no_both,
        no_first.replace("*", ""),
        no_last.replace("*", ""),
        no_both.replace("*", ""),
    )
    seen: dict[str, str] = {}
    for name, text in zip(_VARIANT_NAMES, candidates):
        seen.setdefault(text, name)
    return [(name, text) for text, name in seen.items()]


def loose_variants(response: str) -> list[str]:
    """IFEval's eight loose variants of ``response`` (duplicates removed, order kept)."""
    return [text for _, text in named_variants(response)]


class ResponseView:
    """A response and its loose variants, each analysed at most once."""

    __slots__ = ("_texts", "_variants", "response")

    def __init__(self, response: str) -> None:
        self.response = response
        self._variants: list[tuple[str, str]] | None = None
        self._texts: dict[str, Text] = {response: Text(response)}

    @property
    def strict(self) -> Text:
        return self._texts[self.response]

    def text(self, variant: str) -> Text:
        t = self._texts.get(variant)
        if t is None:
            t = self._texts[variant] = Text(variant)
        return t

    def variants(self) -> list[tuple[str, str]]:
        """The loose variants as (name, text), the response itself first."""
        if self._variants is None:
            self._variants = named_variants(self.response)
        return self._variants

    def check(self, constraint: Constraint, mode: Mode) -> Verdict:
        """``constraint``'s verdict in ``mode`` (loose: the first passing variant's verdict)."""
        verdict = constraint.check(self.strict)
        if mode == "strict" or verdict.passed:
            return verdict
        for name, variant in self.variants()[1:]:
            v = constraint.check(self.text(variant))
            if v.passed:
                return Verdict(True, 1.0, f"loose ({name}): {v.reason}")
        return verdict


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Strict and loose per-instruction results of one response."""

    instruction_id_list: tuple[str, ...]
    strict: tuple[bool, ...]
    loose: tuple[bool, ...]
    key: Any = None
    reasons: tuple[str, ...] = field(default=(), compare=False)

    @property
    def follow_all_strict(self) -> bool:
        return all(self.strict)

    @property
    def follow_all_loose(self) -> bool:
        return all(self.loose)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's output line (:func:`ifrl.constraints.codec.evaluation_row`)."""
        return evaluation_row(self)


def evaluate(
    response: str,
    instruction_id_list: Sequence[str],
    kwargs: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    key: Any = None,
    semantics: Semantics = "reference",
) -> Evaluation:
    """Strict and loose results of ``response`` for IFEval-style ids and kwargs.

    ``kwargs`` defaults to no kwargs for every id; ``semantics`` is ``"reference"`` (the
    benchmark's own verdicts) or ``"fixed"``. Raises ``UnknownNameError`` for unknown ids and
    ``ConstraintSpecError`` for kwargs that do not fit the schema.
    """
    ids = list(instruction_id_list)
    constraints = build_all(ids, kwargs if kwargs is not None else [None] * len(ids), semantics)
    return evaluate_constraints(response, constraints, key=key)


def evaluate_constraints(
    response: str, constraints: Sequence[Constraint], *, key: Any = None
) -> Evaluation:
    """Strict and loose results of ``response`` for built constraints."""
    view = ResponseView(response if isinstance(response, str) else str(response))
    strict: list[bool] = []
    loose: list[bool] = []
    reasons: list[str] = []
    for c in constraints:
        s = view.check(c, "strict")
        strict.append(s.passed)
        reasons.append(s.reason)
        loose.append(s.passed or view.check(c, "loose").passed)
    return Evaluation(
        tuple(c.id for c in constraints), tuple(strict), tuple(loose), key, tuple(reasons)
    )


def verify(
    response: str,
    instruction_id_list: Sequence[str],
    kwargs: Sequence[Mapping[str, Any] | None] | None = None,
    mode: Mode = "strict",
    *,
    semantics: Semantics = "reference",
) -> list[Verdict]:
    """One :class:`Verdict` per instruction id for ``response`` in ``mode`` ("strict"/"loose")
    and ``semantics`` ("reference"/"fixed")."""
    check_choice("mode", mode, ("strict", "loose"))
    ids = list(instruction_id_list)
    constraints = build_all(ids, kwargs if kwargs is not None else [None] * len(ids), semantics)
    view = ResponseView(response)
    return [view.check(c, mode) for c in constraints]


def check_hard_all(
    response: str,
    specs: Sequence[ConstraintSpec],
    mode: Mode = "strict",
    semantics: Semantics = "reference",
) -> list[bool]:
    """The hard verifiers' verdicts on ``response``, one per spec (analysed once).

    Raises ``UnknownNameError`` for an unknown id and ``ConstraintSpecError`` for bad kwargs.
    """
    ids, kwargs = [s.id for s in specs], [s.kwargs for s in specs]
    return [v.passed for v in verify(response, ids, kwargs, mode, semantics=semantics)]


def check_hard(
    response: str,
    spec: ConstraintSpec,
    mode: Mode = "strict",
    semantics: Semantics = "reference",
) -> bool:
    """Whether ``response`` passes the hard constraint ``spec`` (``strict`` or ``loose``)."""
    return check_hard_all(response, [spec], mode, semantics)[0]


@dataclass(frozen=True, slots=True)
class Accuracy:
    """IFEval's four accuracies over a set of evaluations."""

    prompts: int
    instructions: int
    prompt_strict: float
    prompt_loose: float
    instruction_strict: float
    instruction_loose: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompts": self.prompts,
            "instructions": self.instructions,
            "prompt_level_strict_acc": self.prompt_strict,
            "prompt_level_loose_acc": self.prompt_loose,
            "inst_level_strict_acc": self.instruction_strict,
            "inst_level_loose_acc": self.instruction_loose,
        }


def accuracy(evaluations: Iterable[Evaluation]) -> Accuracy:
    """Prompt-level (all instructions followed) and instruction-level accuracies."""
    n = ps = pl = ni = is_ = il = 0
    for e in evaluations:
        n += 1
        ps += e.follow_all_strict
        pl += e.follow_all_loose
        ni += len(e.strict)
        is_ += sum(e.strict)
        il += sum(e.loose)
    return Accuracy(
        n,
        ni,
        ps / n if n else 0.0,
        pl / n if n else 0.0,
        is_ / ni if ni else 0.0,
        il / ni if ni else 0.0,
    )
