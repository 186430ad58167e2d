"""Soft constraints: instructions that only a judge can check (tone, style, audience, rubrics).

A soft constraint is a :class:`~ifrl.core.records.ConstraintSpec` with ``kind="soft"`` whose id
names a :class:`SoftConstraintType` in :data:`SOFT_CONSTRAINTS`. Each type writes the instruction
for the prompt (:meth:`SoftConstraintType.describe`) and the rubric a judge reads
(:meth:`SoftConstraintType.rubric`), draws kwargs (:meth:`SoftConstraintType.sample_kwargs`) and
validates them. Built-in types:

===============  ============================================================================
``soft:tone``      ``{"tone": ...}``: the response's tone (formal, friendly, enthusiastic, ...)
``soft:style``     ``{"style": ...}``: written in a given style (a news report, a fairy tale, ...)
``soft:audience``  ``{"audience": ...}``: suited to a reader (an 8-year-old, domain experts, ...)
``soft:rubric``    ``{"rubric": TEXT}``: any content rubric, written as a yes/no criterion
===============  ============================================================================

Third parties register more through the ``ifrl.soft_constraints`` entry-point group.
:func:`judge_text` gives the text a judge reads for *any* constraint: the rubric of a soft one,
the instruction text of a hard one (so judges can be audited on hard constraints).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ifrl.constraints.base import get_type
from ifrl.core.errors import RecordError
from ifrl.core.records import ConstraintSpec
from ifrl.core.registry import Registry

SOFT_PREFIX = "soft:"


class SoftConstraintError(RecordError):
    """Bad kwargs for a soft constraint; the field reads ``<id>.<kwarg>``."""


@dataclass(frozen=True)
class SoftConstraintType:
    """A kind of judged constraint.

    ``choices`` maps each kwarg to the values :meth:`sample_kwargs` draws from; a kwarg with no
    choices (``()``) is free text. ``phrasings`` are instruction templates (one is drawn per
    prompt) and ``rubric_template`` is the criterion a judge reads; both use ``{kwarg}`` fields.
    ``conflicts`` lists soft ids that must not share a prompt with this one.
    """

    id: str
    category: str
    choices: Mapping[str, tuple[str, ...]]
    phrasings: tuple[str, ...]
    rubric_template: str
    conflicts: frozenset[str] = field(default_factory=frozenset)

    def validate(self, kwargs: Mapping[str, Any]) -> dict[str, str]:
        """Kwargs as strings; :class:`SoftConstraintError` naming the field when they do not fit."""
        out: dict[str, str] = {}
        for name in kwargs:
            if name not in self.choices:
                raise SoftConstraintError(f"{self.id}.{name}", "unknown kwarg")
        for name in self.choices:
            value = kwargs.get(name)
            if not isinstance(value, str) or not value.strip():
                raise SoftConstraintError(f"{self.id}.{name}", "missing or not a non-empty string")
            out[name] = value.strip()
        return out

    def describe(self, kwargs: Mapping[str, Any], rng: random.Random | None = None) -> str:
        """The instruction to put in the prompt (a phrasing drawn with ``rng``; the first without)."""
        values = self.validate(kwargs)
        template = rng.choice(self.phrasings) if rng is not None else self.phrasings[0]
        return template.format(**values)

    def rubric(self, kwargs: Mapping[str, Any]) -> str:
        """The yes/no criterion a judge reads."""
        return self.rubric_template.format(**self.validate(kwargs))

    def sample_kwargs(self, rng: random.Random) -> dict[str, str]:
        """Draw kwargs from ``choices`` (free-text kwargs cannot be drawn)."""
        out: dict[str, str] = {}
        for name, options in self.choices.items():
            if not options:
                raise SoftConstraintError(f"{self.id}.{name}", "free text: cannot be sampled")
            out[name] = rng.choice(options)
        return out

    @property
    def samplable(self) -> bool:
        return all(self.choices.values())

    def spec(self, **kwargs: str) -> ConstraintSpec:
        """A validated ``ConstraintSpec(kind="soft")`` of this type."""
        return ConstraintSpec(self.id, dict(self.validate(kwargs)), "soft")


SOFT_CONSTRAINTS: Registry[SoftConstraintType] = Registry(
    "soft constraint", entry_point_group="ifrl.soft_constraints"
)


def register_soft(t: SoftConstraintType) -> SoftConstraintType:
    """Register a soft constraint type under its id (which must start with ``soft:``)."""
    if not t.id.startswith(SOFT_PREFIX):
        raise ValueError(f"soft constraint ids start with {SOFT_PREFIX!r}: {t.id!r}")
    SOFT_CONSTRAINTS.add(t.id, t)
    return t


TONE = register_soft(
    SoftConstraintType(
        id="soft:tone",
        category="tone",
        choices={
            "tone": (
                "formal",
                "friendly",
                "enthusiastic",
                "humorous",
                "empathetic",
                "neutral",
                "persuasive",
                "serious",
            )
        },
        phrasings=(
            "Write in a {tone} tone.",
            "Keep the tone of your answer {tone} throughout.",
            "Your response should sound {tone}.",
        ),
        rubric_template="The response is written in a {tone} tone throughout.",
        conflicts=frozenset({"soft:tone"}),
    )
)

STYLE = register_soft(
    SoftConstraintType(
        id="soft:style",
        category="style",
        choices={
            "style": (
                "a news report",
                "a fairy tale",
                "a technical manual",
                "a personal diary entry",
                "a sports commentary",
                "a product advertisement",
                "an academic abstract",
            )
        },
        phrasings=(
            "Write your answer in the style of {style}.",
            "Present the response as if it were {style}.",
            "Adopt the style of {style}.",
        ),
        rubric_template="The response is written in the style of {style}.",
        conflicts=frozenset({"soft:style"}),
    )
)

AUDIENCE = register_soft(
    SoftConstraintType(
        id="soft:audience",
        category="audience",
        choices={
            "audience": (
                "an 8-year-old child",
                "domain experts",
                "complete beginners",
                "busy executives",
                "high-school students",
                "non-native English speakers",
            )
        },
        phrasings=(
            "Write for {audience}.",
            "Make sure the answer suits {audience}.",
            "Your reader is {audience}: adapt the vocabulary and depth to them.",
        ),
        rubric_template=(
            "The response's vocabulary, depth and explanations suit {audience} as readers."
        ),
        conflicts=frozenset({"soft:audience"}),
    )
)

RUBRIC = register_soft(
    SoftConstraintType(
        id="soft:rubric",
        category="content",
        choices={"rubric": ()},
        phrasings=("{rubric}",),
        rubric_template="{rubric}",
    )
)


def is_soft(spec: ConstraintSpec) -> bool:
    """Whether a judge (not code) checks this constraint."""
    return spec.kind == "soft"


def soft_type(spec: ConstraintSpec) -> SoftConstraintType:
    """The registered type of a soft spec (``UnknownNameError`` with suggestions otherwise)."""
    return SOFT_CONSTRAINTS.get(spec.id)


def sample_soft(
    rng: random.Random, k: int, *, types: Sequence[str] | None = None
) -> list[ConstraintSpec]:
    """Up to ``k`` soft specs of distinct, non-conflicting, samplable types (drawn with ``rng``)."""
    pool = [t for t in (types or SOFT_CONSTRAINTS.names()) if SOFT_CONSTRAINTS.get(t).samplable]
    chosen: list[SoftConstraintType] = []
    for cid in rng.sample(pool, len(pool)):
        t = SOFT_CONSTRAINTS.get(cid)
        if len(chosen) == k:
            break
        if any(t.id in c.conflicts or c.id in t.conflicts or c.id == t.id for c in chosen):
            continue
        chosen.append(t)
    return [ConstraintSpec(t.id, t.sample_kwargs(rng), "soft") for t in chosen]


def add_soft(
    prompt: str, rng: random.Random, k: int, *, types: Sequence[str] | None = None
) -> tuple[str, list[ConstraintSpec]]:
    """``prompt`` with ``k`` soft instructions appended, and their specs (for mixed datasets)."""
    specs = sample_soft(rng, k, types=types)
    texts = [soft_type(s).describe(s.kwargs, rng) for s in specs]
    return " ".join([prompt.strip(), *texts]), specs


HardDescriber = Callable[[ConstraintSpec], str]


def describe_hard(spec: ConstraintSpec) -> str:
    """The instruction text of a hard constraint: its first phrasing drawn with a fixed seed.

    Raises ``UnknownNameError`` for an unknown id and ``ConstraintSpecError`` for bad kwargs.
    """
    return get_type(spec.id).describe(spec.kwargs, random.Random(0))


def judge_text(spec: ConstraintSpec, describe: HardDescriber | None = None) -> str:
    """The text a judge reads for ``spec``.

    Soft constraints give their rubric. Hard ones (and a hard type marked ``kind="soft"`` to be
    judged rather than verified) give ``describe(spec)`` when passed, else :func:`describe_hard`
    (stable: a fixed seed picks the phrasing).
    """
    if is_soft(spec) and spec.id.startswith(SOFT_PREFIX):
        return soft_type(spec).rubric(spec.kwargs)
    return (describe or describe_hard)(spec)


__all__ = [
    "AUDIENCE",
    "RUBRIC",
    "SOFT_CONSTRAINTS",
    "SOFT_PREFIX",
    "STYLE",
    "TONE",
    "HardDescriber",
    "SoftConstraintError",
    "SoftConstraintType",
    "add_soft",
    "describe_hard",
    "is_soft",
    "judge_text",
    "register_soft",
    "sample_soft",
    "soft_type",
]
