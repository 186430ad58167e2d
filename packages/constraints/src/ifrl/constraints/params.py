"""Kwargs schemas: each constraint type declares its parameters as :class:`Param` entries.

``validate_kwargs`` checks a kwargs mapping against them the way IFEval reads kwargs:
``None`` values count as absent; anything else must have the declared type, lie in the
declared range or choices, and be known to the type. Kwargs that do not fit raise
:class:`ConstraintSpecError`, naming the constraint id and the field.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ifrl.core.errors import IfrlError

ParamType = Literal["int", "str", "str_list"]


class ConstraintSpecError(IfrlError, ValueError):
    """Kwargs that do not fit a constraint type's schema; names the constraint id and field."""

    def __init__(self, constraint_id: str, field: str, problem: str) -> None:
        self.constraint_id = constraint_id
        self.field = field
        self.problem = problem
        where = f"{constraint_id}.{field}" if field else constraint_id
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class Param:
    """One keyword argument of a constraint type.

    ``minimum``/``maximum`` bound ints (and list lengths for ``str_list``), ``choices``
    restricts strings, ``sample`` draws a value for synthesis (defaults to the range/choices),
    ``render`` is how phrasings show the value (default: as it is).
    """

    name: str
    type: ParamType
    help: str = ""
    required: bool = True
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    sample: Callable[[random.Random], Any] | None = None
    render: Callable[[Any], str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON description of the parameter (for ``ifrl constraints list``)."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required}
        if self.choices:
            out["choices"] = list(self.choices)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.help:
            out["help"] = self.help
        return out

    def draw(self, rng: random.Random) -> Any:
        """A random valid value."""
        if self.sample is not None:
            return self.sample(rng)
        if self.choices:
            return rng.choice(self.choices)
        if self.type == "int":
            lo = self.minimum if self.minimum is not None else 0
            hi = self.maximum if self.maximum is not None else lo + 10
            return rng.randint(lo, hi)
        raise NotImplementedError(f"parameter {self.name!r} needs a sampler")

    def check(self, cid: str, value: Any) -> Any:
        """The validated value; ``ConstraintSpecError`` naming ``cid`` and the field otherwise."""
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise ConstraintSpecError(cid, self.name, f"expected an integer, got {value!r}")
            self._bounds(cid, value, "")
            return value
        if self.type == "str":
            if not isinstance(value, str):
                raise ConstraintSpecError(cid, self.name, f"expected a string, got {value!r}")
            if self.choices and value not in self.choices:
                raise ConstraintSpecError(
                    cid, self.name, f"must be one of {list(self.choices)}, got {value!r}"
                )
            return value
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ConstraintSpecError(cid, self.name, f"expected a list of strings, got {value!r}")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise ConstraintSpecError(
                    cid, f"{self.name}[{i}]", f"expected a string, got {item!r}"
                )
        self._bounds(cid, len(value), " items")
        return list(value)

    def _bounds(self, cid: str, n: int, unit: str) -> None:
        if self.minimum is not None and n < self.minimum:
            raise ConstraintSpecError(cid, self.name, f"must be >= {self.minimum}{unit}, got {n}")
        if self.maximum is not None and n > self.maximum:
            raise ConstraintSpecError(cid, self.name, f"must be <= {self.maximum}{unit}, got {n}")


def validate_kwargs(
    cid: str, params: Sequence[Param], kwargs: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Validated kwargs: ``None`` values dropped, unknown or missing fields rejected."""
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, Mapping):
        raise ConstraintSpecError(cid, "", f"kwargs must be an object, got {kwargs!r}")
    known = {p.name: p for p in params}
    out: dict[str, Any] = {}
    for name, value in kwargs.items():
        if value is None:
            continue
        param = known.get(name)
        if param is None:
            allowed = ", ".join(known) or "none"
            raise ConstraintSpecError(cid, str(name), f"unknown kwarg (allowed: {allowed})")
        out[name] = param.check(cid, value)
    for p in params:
        if p.required and p.name not in out:
            raise ConstraintSpecError(cid, p.name, "missing required kwarg")
    return out
