"""IFEval ``detectable_format:*``: bullets, fixed answers, highlights, sections, JSON, title."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifeval.ids import ALL_IFEVAL
from ifrl.constraints.params import Param
from ifrl.constraints.scan import count_bullets, titles
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_HIGHLIGHT = re.compile(r"\*[^\n\*]*\*")
_BOLD = re.compile(r"\*\*[^\n\*]*\*\*")

CONSTRAINED_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")

_ALL_IFEVAL = ALL_IFEVAL


@register
class NumberBulletLists(Constraint):
    """Exactly N markdown bullet lines (``* item`` or ``- item``)."""

    id: ClassVar[str] = "detectable_format:number_bullet_lists"
    params = (
        Param(
            "num_bullets", "int", "exact number", minimum=0, sample=lambda rng: rng.randint(2, 6)
        ),
    )
    conflicts = frozenset(
        {"detectable_format:number_bullet_lists", "detectable_format:json_format"}
    )
    phrasings = (
        "Give exactly {num_bullets} markdown bullet points, such as:\n* first point\n* second point",
        "Format your answer as a list of exactly {num_bullets} bullets, each line starting with '* '.",
        "Use precisely {num_bullets} bullet points (markdown '* ' items), no more, no fewer.",
    )

    def _check(self, text: Text) -> Verdict:
        n = count_bullets(text.raw, "*") + count_bullets(text.raw, "-")
        return Verdict.of(n == self.kwargs["num_bullets"], f"{n} bullets")


@register
class ConstrainedResponse(Constraint):
    """The response contains one of "My answer is yes/no/maybe."."""

    id: ClassVar[str] = "detectable_format:constrained_response"
    conflicts = _ALL_IFEVAL
    phrasings = (
        "Answer with one of these options: {options}",
        "Reply using exactly one of the following: {options}",
    )

    def _check(self, text: Text) -> Verdict:
        raw = text.raw.strip()
        for option in CONSTRAINED_OPTIONS:
            if option in raw:
                return Verdict.of(True, f"contains {option!r}")
        return Verdict.of(False, "none of the options")

    @classmethod
    def render_kwargs(cls, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        return {"options": ", ".join(f'"{o}"' for o in CONSTRAINED_OPTIONS)}


@register
class NumberHighlightedSections(Constraint):
    """At least N non-empty ``*highlighted*`` spans (``**bold**`` spans also count)."""

    id: ClassVar[str] = "detectable_format:number_highlighted_sections"
    params = (
        Param(
            "num_highlights",
            "int",
            "minimum number",
            minimum=0,
            sample=lambda rng: rng.randint(1, 4),
        ),
    )
    conflicts = frozenset(
        {"detectable_format:number_highlighted_sections", "detectable_format:json_format"}
    )
    phrasings = (
        "Highlight at least {num_highlights} parts of your answer with markdown, e.g. *important part*.",
        "Mark at least {num_highlights} sections in italics using asterisks, like *this section*.",
        "Emphasise {num_highlights} or more passages with single asterisks (*like this*).",
    )

    def _check(self, text: Text) -> Verdict:
        n = sum(1 for h in _HIGHLIGHT.findall(text.raw) if h.strip("*").strip())
        n += sum(1 for h in _BOLD.findall(text.raw) if h[2:-2].strip())
        return Verdict.of(n >= self.kwargs["num_highlights"], f"{n} highlighted sections")


@register
class MultipleSections(Constraint):
    """At least N sections, each starting with the splitter word and a number ("Section 2")."""

    id: ClassVar[str] = "detectable_format:multiple_sections"
    params = (
        Param(
            "section_spliter",
            "str",
            "the word that opens a section (case-sensitive)",
            sample=lambda rng: rng.choice(("Section", "SECTION", "Part", "PART")),
        ),
        Param(
            "num_sections", "int", "minimum number", minimum=0, sample=lambda rng: rng.randint(2, 5)
        ),
    )
    conflicts = frozenset(
        {
            "detectable_format:multiple_sections",
            "language:response_language",
            "detectable_format:number_highlighted_sections",
            "detectable_format:json_format",
        }
    )
    phrasings = (
        "Organise your answer in {num_sections} sections, each starting with '{section_spliter} N' "
        "(N being its number), e.g.\n{section_spliter} 1\n...\n{section_spliter} 2\n...",
        "Split the response into {num_sections} sections headed '{section_spliter} 1', "
        "'{section_spliter} 2', and so on.",
    )

    def setup(self) -> None:
        word = re.escape(self.kwargs["section_spliter"].strip())
        self._pattern = re.compile(r"\s?" + word + r"\s?\d+\s?")

    def _check(self, text: Text) -> Verdict:
        n = len(self._pattern.split(text.raw)) - 1
        return Verdict.of(n >= self.kwargs["num_sections"], f"{n} sections")


@register
class JsonFormat(Constraint):
    """The whole response parses as JSON, optionally inside a ```json fence."""

    id: ClassVar[str] = "detectable_format:json_format"
    conflicts = _ALL_IFEVAL - {"keywords:forbidden_words", "keywords:existence"}
    phrasings = (
        "Wrap your entire output in JSON; markdown code fences (```) are allowed.",
        "Your whole reply must be valid JSON (you may put it in a ``` block).",
    )

    def _check(self, text: Text) -> Verdict:
        body = text.raw.strip()
        for prefix in ("```json", "```Json", "```JSON", "```"):
            body = body.removeprefix(prefix)
        body = body.removesuffix("```").strip()
        try:
            json.loads(body)
        except (ValueError, RecursionError) as err:
            return Verdict.of(False, f"not JSON: {str(err)[:80]}")
        return Verdict.of(True, "valid JSON")


@register
class Title(Constraint):
    """A non-blank title in double angular brackets, ``<<like this>>``, on one line."""

    id: ClassVar[str] = "detectable_format:title"
    conflicts = frozenset({"detectable_format:title"})
    phrasings = (
        "Give your answer a title wrapped in double angular brackets, such as <<my title>>.",
        "Start with a title in double angle brackets, e.g. <<a short title>>.",
    )

    def _check(self, text: Text) -> Verdict:
        for title in titles(text.raw):
            if title.lstrip("<").rstrip(">").strip():
                return Verdict.of(True, f"title {title!r}")
        return Verdict.of(False, "no <<title>>")
