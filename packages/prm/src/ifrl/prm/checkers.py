"""Pluggable answer checkers: does a finished solution reach the reference answer?

A checker is a callable ``(response, reference) -> bool``. Built in, by name in :data:`CHECKERS`:

* ``gsm8k``: the final number of the response (``#### 42``, ``\\boxed{42}``, ``The answer is 42``,
  else the last number; commas, currency, units and trailing zeros normalised) equals the
  reference, a bare number or a full GSM8K solution ending ``#### 42``. The extraction is
  :mod:`ifrl.core.answers`.
* ``exact``: the stripped response equals the stripped reference.
* ``regex``: the reference is a regular expression that must match somewhere in the response.

Third-party checkers register through the ``ifrl.prm.checkers`` entry-point group.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ifrl.core.answers import is_correct
from ifrl.core.registry import Registry

Checker = Callable[[str, str], bool]

CHECKERS: Registry[Checker] = Registry("answer checker", entry_point_group="ifrl.prm.checkers")


@CHECKERS.register("gsm8k")
def check_gsm8k(response: str, reference: str) -> bool:
    """The response's final number equals the reference's (exactly, as fractions)."""
    return is_correct(response, reference)


@CHECKERS.register("exact")
def check_exact(response: str, reference: str) -> bool:
    """The response equals the reference after stripping surrounding whitespace."""
    return response.strip() == reference.strip()


@CHECKERS.register("regex")
def check_regex(response: str, reference: str) -> bool:
    """The reference, read as a regular expression, matches somewhere in the response."""
    return re.search(reference, response) is not None


def get_checker(name: str) -> Checker:
    """The checker registered as ``name`` (``UnknownNameError`` with suggestions otherwise)."""
    return CHECKERS.get(name)


__all__ = ["CHECKERS", "Checker", "check_exact", "check_gsm8k", "check_regex", "get_checker"]
