"""IFEval ``startend:*``: end with an exact phrase; wrap the response in double quotes."""

from __future__ import annotations

from typing import ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.params import Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_ENDINGS = (
    "Is there anything else I can help with?",
    "Let me know if you have additional questions.",
    "That is all.",
    "Any other questions?",
    "Thanks for reading.",
)


@register
class EndChecker(Constraint):
    """The response ends with ``end_phrase`` (case-insensitive; outer spaces and ``"`` ignored)."""

    id: ClassVar[str] = "startend:end_checker"
    params = (
        Param("end_phrase", "str", "the closing phrase", sample=lambda rng: rng.choice(_ENDINGS)),
    )
    conflicts = frozenset({"startend:end_checker", "detectable_content:postscript"})
    phrasings = (
        'Finish your response with the exact phrase "{end_phrase}" and write nothing after it.',
        "End with these exact words: {end_phrase} (nothing may follow them).",
        'The very last words of your answer must be "{end_phrase}".',
    )

    def setup(self) -> None:
        self._phrase = self.kwargs["end_phrase"].strip().lower()

    def _check(self, text: Text) -> Verdict:
        ok = text.raw.strip().strip('"').lower().endswith(self._phrase)
        return Verdict.of(ok, "ends with the phrase" if ok else "does not end with the phrase")


@register
class Quotation(Constraint):
    """The (stripped) response starts and ends with ``"`` and is longer than one character."""

    id: ClassVar[str] = "startend:quotation"
    conflicts = frozenset({"startend:quotation", "detectable_format:title"})
    phrasings = (
        "Wrap your entire response in double quotation marks.",
        'Put your whole answer inside double quotes ("...").',
    )

    def _check(self, text: Text) -> Verdict:
        raw = text.raw.strip()
        ok = len(raw) > 1 and raw[0] == '"' and raw[-1] == '"'
        return Verdict.of(ok, "wrapped in double quotes" if ok else "not wrapped in double quotes")
