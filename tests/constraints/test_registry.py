"""Registering a constraint type of one's own: decorator, schema, describe, verify."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import ClassVar

import pytest

from ifrl.constraints import REGISTRY, Constraint, ConstraintSpecError, Param, register, verify
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict


@pytest.fixture
def shout() -> Iterator[type[Constraint]]:
    @register
    class Shout(Constraint):
        id: ClassVar[str] = "test:exclamations"
        params = (Param("n", "int", "how many", minimum=1, maximum=9),)
        phrasings = ('Use {n} exclamation marks, e.g. {"like": "this!"}, {} and {n}.',)

        def _check(self, text: Text) -> Verdict:
            k = text.raw.count("!")
            return Verdict.of(k == self.kwargs["n"], f"{k} exclamation marks")

    yield Shout
    REGISTRY._entries.pop(Shout.id)


def test_a_registered_type_verifies_describes_and_validates(shout: type[Constraint]) -> None:
    assert "test:exclamations" in REGISTRY.names()
    assert [v.passed for v in verify("Hi! Bye!", [shout.id], [{"n": 2}])] == [True]
    assert [v.passed for v in verify("Hi!", [shout.id], [{"n": 2}])] == [False]
    # only {name} placeholders are filled; other braces stay as written
    text = shout.describe({"n": 3}, random.Random(0))
    assert text == 'Use 3 exclamation marks, e.g. {"like": "this!"}, {} and 3.'
    with pytest.raises(ConstraintSpecError, match=r"test:exclamations\.n: must be <= 9"):
        verify("x", [shout.id], [{"n": 10}])
    kwargs = shout.sample_kwargs(random.Random(1))
    assert 1 <= kwargs["n"] <= 9


def test_registering_an_id_twice_is_an_error(shout: type[Constraint]) -> None:
    with pytest.raises(Exception, match="already registered"):

        @register
        class Again(Constraint):
            id: ClassVar[str] = "test:exclamations"
            phrasings = ("x",)
