"""IFEval ``combination:*``: two responses separated by ``******``; repeat the prompt first."""

from __future__ import annotations

from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifeval.format import _ALL_IFEVAL
from ifrl.constraints.params import Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict


@register
class TwoResponses(Constraint):
    """Exactly two different non-empty responses separated by six asterisks (``******``)."""

    id: ClassVar[str] = "combination:two_responses"
    conflicts = _ALL_IFEVAL - {
        "keywords:forbidden_words",
        "keywords:existence",
        "language:response_language",
        "detectable_format:title",
        "punctuation:no_comma",
    }
    phrasings = (
        "Give two different responses, separated by six asterisks: ******.",
        "Write two distinct answers and put ****** (six asterisks) between them, nothing else.",
    )

    def _check(self, text: Text) -> Verdict:
        parts = text.raw.split("******")
        answers = []
        last = len(parts) - 1
        for i, part in enumerate(parts):
            if not part.strip():
                if i not in (0, last):
                    return Verdict.of(False, "an empty response between separators")
            else:
                answers.append(part)
        if len(answers) != 2:
            return Verdict.of(False, f"{len(answers)} responses")
        if answers[0].strip() == answers[1].strip():
            return Verdict.of(False, "the two responses are identical")
        return Verdict.of(True, "two different responses")


@register
class RepeatPrompt(Constraint):
    """The response starts with ``prompt_to_repeat`` (case-insensitive, ends stripped)."""

    id: ClassVar[str] = "combination:repeat_prompt"
    params = (Param("prompt_to_repeat", "str", "the request to repeat verbatim"),)
    conflicts = _ALL_IFEVAL - {
        "keywords:existence",
        "detectable_format:title",
        "punctuation:no_comma",
    }
    phrasings = (
        "First repeat the request above word for word, without any change, then give your "
        "answer (say nothing before the repetition, and do not repeat this sentence).",
        "Begin by copying the request exactly as written (excluding this sentence), with no "
        "words before it, and only then answer.",
    )

    def setup(self) -> None:
        self._prefix = self.kwargs["prompt_to_repeat"].strip().lower()

    @classmethod
    def sample_kwargs(cls, rng: Any, prompt: str = "") -> dict[str, Any]:
        return {"prompt_to_repeat": prompt or "Describe your favourite season."}

    def _check(self, text: Text) -> Verdict:
        ok = text.raw.strip().lower().startswith(self._prefix)
        return Verdict.of(
            ok, "starts with the request" if ok else "does not repeat the request first"
        )
