"""The constraint-type base class and the registry of constraint types.

A constraint type is a :class:`Constraint` subclass registered with :func:`register` under its
id (``"keywords:existence"``). It declares its kwargs schema (``params``), the ids it conflicts
with, and phrasings for :meth:`Constraint.describe`. An instance binds validated kwargs and a
:data:`Semantics` and checks responses with :meth:`Constraint.check`, which never raises.

Two semantics decide a verdict: ``"reference"`` (the default) reproduces the benchmark's own
checker, quirks included (``_check``); ``"fixed"`` applies the type's documented correction
(``_check_fixed``) where the reference scores wrongly, and is the reference elsewhere.

Third-party packages add types through the ``ifrl.constraints`` entry-point group (the entry
point loads a :class:`Constraint` subclass).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal

from ifrl.constraints.params import ConstraintSpecError, Param, validate_kwargs
from ifrl.constraints.text import Text, as_text
from ifrl.core.config import check_choice
from ifrl.core.records import ConstraintSpec, Verdict
from ifrl.core.registry import Registry

REGISTRY: Registry[type[Constraint]] = Registry("constraint", entry_point_group="ifrl.constraints")

ERROR_PREFIX = "verifier error"

Semantics = Literal["reference", "fixed"]
SEMANTICS: tuple[Semantics, ...] = ("reference", "fixed")
_FIELD = re.compile(r"\{(\w+)\}")  # a {name} placeholder in a phrasing; other braces stay


class Constraint:
    """A hard constraint bound to validated kwargs.

    Subclasses set ``id``, ``params``, ``conflicts`` and ``phrasings`` (text with ``{name}``
    placeholders for the rendered kwargs; any other braces are kept literally) and implement
    :meth:`_check` (the reference decision) and, where the reference scores wrongly,
    :meth:`_check_fixed`; :meth:`setup` may precompute from ``self.kwargs`` and
    ``self.semantics``.
    """

    id: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    conflicts: ClassVar[frozenset[str]] = frozenset()
    phrasings: ClassVar[tuple[str, ...]] = ()
    kind: ClassVar[str] = "hard"

    def __init__(
        self, kwargs: Mapping[str, Any] | None = None, semantics: Semantics = "reference"
    ) -> None:
        self.semantics: Semantics = check_semantics(semantics)
        self.kwargs: dict[str, Any] = validate_kwargs(self.id, self.params, kwargs)
        self.setup()

    @classmethod
    def family(cls) -> str:
        """The id's family prefix (``"keywords"`` for ``"keywords:existence"``)."""
        return cls.id.split(":", 1)[0]

    def setup(self) -> None:
        """Precompute from ``self.kwargs``; raise ``ConstraintSpecError`` for invalid combinations."""

    @classmethod
    def has_fix(cls) -> bool:
        """Whether ``semantics="fixed"`` decides differently from the reference for this type."""
        return cls._check_fixed is not Constraint._check_fixed

    def _check(self, text: Text) -> Verdict:
        raise NotImplementedError

    def _check_fixed(self, text: Text) -> Verdict:
        return self._check(text)

    def check(self, response: str | Text) -> Verdict:
        """The verdict for ``response`` in this constraint's semantics. Never raises.

        A blank response fails every constraint (as IFEval scores it). An unexpected internal
        failure gives a failing verdict whose reason starts with ``"verifier error"`` (where the
        reference checker itself raises, e.g. on an index out of range, that is its verdict).
        """
        try:
            text = as_text(response)
            if not text.raw.strip():
                return Verdict.of(False, "empty response")
            if self.semantics == "fixed":
                return self._check_fixed(text)
            return self._check(text)
        except Exception as err:  # never let a verifier crash a scoring run
            return Verdict.of(False, f"{ERROR_PREFIX}: {type(err).__name__}: {err}"[:300])

    def spec(self) -> ConstraintSpec:
        """This constraint as a :class:`ConstraintSpec` record."""
        return ConstraintSpec(self.id, dict(self.kwargs), "hard")

    # -- synthesis -----------------------------------------------------------------------

    @classmethod
    def sample_kwargs(cls, rng: random.Random, prompt: str = "") -> dict[str, Any]:
        """Valid kwargs drawn at random (``prompt`` is the instruction they will be added to)."""
        return {p.name: p.draw(rng) for p in cls.params if p.required}

    @classmethod
    def render_kwargs(cls, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Kwargs as shown in phrasings: each through its parameter's ``render``."""
        shown = {p.name: p.render for p in cls.params if p.render is not None}
        return {k: shown[k](v) if k in shown else v for k, v in kwargs.items()}

    @classmethod
    def describe(cls, kwargs: Mapping[str, Any], rng: random.Random) -> str:
        """Instruction text asking for this constraint, in one of several phrasings."""
        checked = validate_kwargs(cls.id, cls.params, kwargs)
        cls(checked)  # reject invalid combinations before writing text for them
        values = cls.render_kwargs(checked)
        template = rng.choice(cls.phrasings)
        return _FIELD.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], template)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        """A JSON description of the type: id, family, kwargs and conflicts."""
        return {
            "id": cls.id,
            "family": cls.family(),
            "kind": cls.kind,
            "fixed": cls.has_fix(),
            "kwargs": [p.to_dict() for p in cls.params],
            "conflicts": sorted(cls.conflicts),
        }


def register(cls: type[Constraint]) -> type[Constraint]:
    """Class decorator: add a :class:`Constraint` subclass to :data:`REGISTRY` under its id."""
    if not cls.id or not cls.phrasings:
        raise TypeError(f"{cls.__name__} needs an id and at least one phrasing")
    REGISTRY.add(cls.id, cls)
    return cls


def get_type(cid: str) -> type[Constraint]:
    """The registered type for ``cid`` (``UnknownNameError`` with suggestions otherwise)."""
    return REGISTRY.get(cid)


def conflicting(a: str, b: str) -> bool:
    """Whether constraint ids ``a`` and ``b`` must not be combined (symmetric; ``a == b`` too)."""
    if a == b:
        return True
    ta = REGISTRY.get(a) if a in REGISTRY else None
    tb = REGISTRY.get(b) if b in REGISTRY else None
    return bool((ta and b in ta.conflicts) or (tb and a in tb.conflicts))


def check_semantics(semantics: str) -> Semantics:
    """``semantics`` when it is ``"reference"`` or ``"fixed"``; ``ValueError`` otherwise."""
    check_choice("semantics", semantics, SEMANTICS)
    return semantics  # type: ignore[return-value]


def _freeze(value: Any) -> Any:
    """A hashable stand-in for JSON data (lists become tuples, dicts sorted item tuples)."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("__list__", *(_freeze(v) for v in value))
    return (type(value).__name__, value)


_BUILT: dict[tuple[str, Any, str], Constraint] = {}
_MAX_BUILT = 8192


def clear_build_cache() -> None:
    """Forget the shared constraint instances (for benchmarks and tests)."""
    _BUILT.clear()


def build(
    cid: str, kwargs: Mapping[str, Any] | None = None, semantics: Semantics = "reference"
) -> Constraint:
    """A constraint instance for ``cid``, ``kwargs`` and ``semantics``; identical requests
    share one instance (kwargs are validated into the instance's own copy).

    Raises ``UnknownNameError`` for an unknown id, ``ConstraintSpecError`` for bad kwargs and
    ``ValueError`` for an unknown semantics.
    """
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise ConstraintSpecError(cid, "", f"kwargs must be an object, got {kwargs!r}")
    try:
        key: tuple[str, Any, str] | None = (cid, _freeze(kwargs or {}), semantics)
        hit = _BUILT.get(key)  # type: ignore[arg-type]
    except TypeError:  # an unhashable leaf: built without sharing
        key, hit = None, None
    if hit is not None:
        return hit
    built = REGISTRY.get(cid)(kwargs, check_semantics(semantics))
    if key is not None:
        if len(_BUILT) >= _MAX_BUILT:
            _BUILT.clear()
        _BUILT[key] = built
    return built


def build_all(
    ids: Iterable[str],
    kwargs_list: Iterable[Mapping[str, Any] | None],
    semantics: Semantics = "reference",
) -> list[Constraint]:
    """Constraints for parallel lists of ids and kwargs (IFEval's two columns)."""
    ids = list(ids)
    kw = list(kwargs_list)
    if len(kw) != len(ids):
        raise ConstraintSpecError(
            "", "kwargs", f"has {len(kw)} entries for {len(ids)} instruction ids"
        )
    return [build(cid, k, semantics) for cid, k in zip(ids, kw)]
