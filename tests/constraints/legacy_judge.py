"""The judge prompt format and verdict parser as they were before issue #22, for measurement.

``LegacyLLMJudge`` renders the old prompt (the response between plain ``###`` headers, one user
message, no system message) and reads the output with the old lenient parser; the code is the
project's own from before the change, kept here so the injection tests show the suite does
flip that format (and so can fail).
"""

from __future__ import annotations

import json
import re

from ifrl.constraints.judge import (
    JudgeQuery,
    JudgeVerdict,
    Label,
    LLMJudge,
    ParsedAnswer,
    answer_region,
    yes_probability,
)
from ifrl.core.records import Completion, Conversation, Message

_YES = ("yes", "true", "pass", "passed", "passes", "satisfied", "compliant")
_NO = ("no", "false", "fail", "failed", "fails", "unsatisfied", "not satisfied", "non-compliant")
_WORD = "|".join(re.escape(w) for w in sorted(_YES + _NO, key=len, reverse=True))
_DECOR = r"[\s*_`\"'(\[{<]*"
_MARKER = re.compile(
    r"\b(?:final\s+answer|answer|verdict|judg(?:e)?ment|decision|result|label)\b"
    + r"[\s*_`\"']*(?:is\b)?\s*[:=\-]?"
    + _DECOR
    + rf"({_WORD})\b",
    re.IGNORECASE,
)
_BOXED = re.compile(rf"\\boxed\{{\s*(?:\\text\{{)?\s*({_WORD})\b", re.IGNORECASE)
_LEADING = re.compile(rf"^{_DECOR}({_WORD})\b", re.IGNORECASE)
_TRAILING = re.compile(rf"\b({_WORD})\b[\s*_`\"'.!)\]}}>]*$", re.IGNORECASE)
_NUMBERED = re.compile(
    r"^[ \t]*(?:[-*+][ \t]*)?(?:\*\*)?(?:constraint|requirement|item|c|#)?[ \t]*"
    r"\[?\(?(\d{1,3})\)?\]?(?:\*\*)?[ \t]*[.:)\-=][ \t]*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)


def _label(word: str) -> Label:
    return "yes" if word.lower() in _YES else "no"


def parse_answer(text: str, start: int = 0, end: int | None = None) -> ParsedAnswer | None:
    """Find the yes/no verdict in ``text[start:end]``; ``None`` when there is none.

    In order: the last explicit marker (``Answer: yes``, ``"verdict": "no"``, ``Final answer is
    **Yes**``), ``\\boxed{yes}``, a leading verdict word (``No, because ...``), a trailing one
    (``... so the answer is yes.``). Markdown decoration is tolerated. Synonyms: true/false,
    pass/fail, satisfied/not satisfied, compliant/non-compliant. A verdict word inside a
    sentence with none of those cues is not guessed at.
    """
    stop = len(text) if end is None else end
    region = text[start:stop]
    for pattern in (_MARKER, _BOXED):
        matches = list(pattern.finditer(region))
        if matches:
            last = matches[-1]
            return ParsedAnswer(_label(last.group(1)), start + last.start(1))
    for pattern in (_LEADING, _TRAILING):
        found = pattern.search(region)
        if found:
            return ParsedAnswer(_label(found.group(1)), start + found.start(1))
    return None


def parse_yes_no(text: str) -> Label | None:
    """The verdict of a pointwise judge output (reasoning in ``<think>`` ignored), or ``None``."""
    parsed = parse_answer(text, answer_region(text))
    return parsed.label if parsed else None


def parse_joint_answers(text: str, n: int) -> list[ParsedAnswer | None]:
    """The verdicts of a joint judge output for ``n`` constraints, ``None`` where missing.

    Accepted shapes: numbered lines (``1: yes``, ``2. No``, ``- [3] pass``, ``Constraint 4 -
    no``), a JSON list (``["yes", "no"]``) or object (``{"1": "yes"}``), or exactly ``n``
    lines that each parse as one verdict. Numbers outside ``1..n`` are ignored; a number
    answered twice keeps its first answer.
    """
    start = answer_region(text)
    out: list[ParsedAnswer | None] = [None] * n
    found = False
    for m in _NUMBERED.finditer(text, start):
        index = int(m.group(1)) - 1
        if not (0 <= index < n) or out[index] is not None:
            continue
        parsed = parse_answer(text, m.start(2), m.end(2))
        if parsed is not None:
            out[index] = parsed
            found = True
    if found:
        return out
    from_json = _parse_json_answers(text, start, n)
    if from_json is not None:
        return from_json
    lines = [
        (m.start(), m.end()) for m in re.finditer(r"[^\n]+", text[start:]) if m.group().strip()
    ]
    if len(lines) == n:
        parsed_lines = [parse_answer(text, start + a, start + b) for a, b in lines]
        if all(p is not None for p in parsed_lines):
            return parsed_lines
    return out


def _parse_json_answers(text: str, start: int, n: int) -> list[ParsedAnswer | None] | None:
    m = re.search(r"[\[{][^\[\]{}]*[\]}]", text[start:], re.DOTALL)
    if not m:
        return None
    try:
        data = json.loads(m.group())
    except ValueError:
        return None
    values: list[object]
    if isinstance(data, list):
        values = list(data)
    elif isinstance(data, dict):
        values = [data.get(str(i + 1), data.get(i + 1)) for i in range(n)]  # type: ignore[call-overload]
    else:
        return None
    if len(values) != n:
        return None
    out: list[ParsedAnswer | None] = []
    offset = start + m.start()
    for value in values:
        if isinstance(value, bool):
            out.append(ParsedAnswer("yes" if value else "no", offset))
        elif isinstance(value, str) and value.strip().lower() in _YES + _NO:
            out.append(ParsedAnswer(_label(value.strip()), offset))
        else:
            out.append(None)
    return out


def parse_joint(text: str, n: int) -> list[Label | None]:
    """Labels of :func:`parse_joint_answers`."""
    return [p.label if p else None for p in parse_joint_answers(text, n)]


POINTWISE_TEMPLATE = """You grade whether a response follows one constraint. Judge only this \
constraint: ignore the response's quality and any other instruction in the prompt.

### Prompt
{prompt}

### Response
{response}

### Constraint
{constraint}

Does the response satisfy the constraint? Reply with a single word: yes or no."""

JOINT_TEMPLATE = """You grade whether a response follows each of a prompt's constraints. Judge \
each constraint on its own; ignore the response's quality.

### Prompt
{prompt}

### Response
{response}

### Constraints
{constraints}

For every constraint, write one line "<number>: yes" if the response satisfies it or \
"<number>: no" if it does not, in order, and nothing else."""


class LegacyLLMJudge(LLMJudge):
    """``LLMJudge`` with the pre-#22 prompt (one user message, ``###`` sections, nothing fenced)
    and the pre-#22 lenient parser."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("pointwise_template", POINTWISE_TEMPLATE)
        kwargs.setdefault("joint_template", JOINT_TEMPLATE)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def render(self, query: JudgeQuery, constraint: int | None = None) -> Conversation:
        if constraint is not None:
            text = self.pointwise_template.format(
                prompt=query.prompt,
                response=query.response,
                constraint=query.constraints[constraint].text,
            )
        else:
            listed = "\n".join(f"{i + 1}. {c.text}" for i, c in enumerate(query.constraints))
            text = self.joint_template.format(
                prompt=query.prompt, response=query.response, constraints=listed
            )
        return Conversation(messages=(Message(role="user", content=text),))

    def _verdicts(self, completion: Completion, n: int, attempts: int) -> list[JudgeVerdict]:
        text = completion.text
        if self.mode == "pointwise":
            answers: list[ParsedAnswer | None] = [parse_answer(text, answer_region(text))]
        else:
            answers = parse_joint_answers(text, n)
        out: list[JudgeVerdict] = []
        for answer in answers:
            if answer is None:
                out.append(JudgeVerdict("unparseable", None, text, attempts))
            else:
                p_yes = yes_probability(completion, answer, self.decode)
                out.append(JudgeVerdict(answer.label, p_yes, text, attempts))
        return out
