"""IFEval ``punctuation:no_comma``: no ``,`` anywhere."""

from __future__ import annotations

from typing import ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict


@register
class NoComma(Constraint):
    """The response contains no ASCII comma."""

    id: ClassVar[str] = "punctuation:no_comma"
    conflicts = frozenset({"punctuation:no_comma"})
    phrasings = (
        "Do not use any commas in your response.",
        "Write your answer without a single comma.",
        "Commas are not allowed anywhere in your reply.",
    )

    def _check(self, text: Text) -> Verdict:
        n = text.raw.count(",")
        return Verdict.of(n == 0, f"{n} commas")
