"""IFEval ``detectable_content:*``: square-bracket placeholders and a postscript."""

from __future__ import annotations

import re
from typing import ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.params import Param
from ifrl.constraints.scan import count_placeholders
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict


@register
class NumberPlaceholders(Constraint):
    """At least N placeholders ``[...]`` (non-greedy, within one line)."""

    id: ClassVar[str] = "detectable_content:number_placeholders"
    params = (
        Param(
            "num_placeholders",
            "int",
            "minimum number",
            minimum=0,
            sample=lambda rng: rng.randint(1, 4),
        ),
    )
    conflicts = frozenset({"detectable_content:number_placeholders"})
    phrasings = (
        "Include at least {num_placeholders} placeholders in square brackets, like [name].",
        "Leave at least {num_placeholders} fill-in fields written in square brackets, such as [date].",
        "Your text needs {num_placeholders} or more placeholders of the form [placeholder].",
    )

    def _check(self, text: Text) -> Verdict:
        n = count_placeholders(text.raw)
        return Verdict.of(n >= self.kwargs["num_placeholders"], f"{n} placeholders")


@register
class Postscript(Constraint):
    """A line containing the postscript marker (``P.S.``, ``P.P.S`` or any other), any case.

    ``P.S.`` and ``P.P.S`` tolerate one optional space after each period (``P. S.``); other
    markers are matched literally.
    """

    id: ClassVar[str] = "detectable_content:postscript"
    params = (
        Param(
            "postscript_marker",
            "str",
            "e.g. P.S. or P.P.S",
            sample=lambda rng: rng.choice(("P.S.", "P.P.S")),
        ),
    )
    conflicts = frozenset(
        {
            "detectable_content:postscript",
            "startend:end_checker",
            "startend:quotation",
            "detectable_format:json_format",
        }
    )
    phrasings = (
        "End your answer with a postscript that starts with {postscript_marker}",
        "Add a postscript at the end, beginning with {postscript_marker}",
        "After the main text, include a note starting with {postscript_marker}",
    )

    def setup(self) -> None:
        # IFEval searches ``\s*MARKER.*$`` (multiline); the leading ``\s*`` and the trailing
        # ``.*$`` match wherever MARKER does, so searching MARKER alone is equivalent (and
        # linear on long runs of spaces).
        marker = self.kwargs["postscript_marker"].strip()
        if marker == "P.P.S":
            pattern = r"p\.\s?p\.\s?s"
        elif marker == "P.S.":
            pattern = r"p\.\s?s\."
        else:
            pattern = re.escape(marker.lower())
        self._pattern = re.compile(pattern)

    def _check(self, text: Text) -> Verdict:
        found = self._pattern.search(text.lower) is not None
        return Verdict.of(found, "postscript found" if found else "no postscript")
