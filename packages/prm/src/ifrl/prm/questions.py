"""Questions to label, and reading them: GSM8K-style JSONL (``question`` + ``answer``) or our own
form.

Each line is an object with the question text under ``question`` (or ``prompt``) and the gold
answer under ``answer`` (a GSM8K solution ending ``#### 42``, or a bare answer) or
``reference``; an optional ``id`` names it (default: ``<file stem>-<n>`` for the n-th record).
Bad lines raise :class:`~ifrl.core.errors.JSONLError` naming the file, the line and the field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifrl.core.answers import gold_answer
from ifrl.core.errors import RecordError
from ifrl.core.jsonl import read_jsonl
from ifrl.core.records import Record

DEFAULT_TEMPLATE = "Question: {question}\n"


@dataclass(frozen=True, slots=True)
class Question(Record):
    """A question to label: its id, the prompt text given to the model, and the gold answer
    (``to_dict`` / ``from_dict`` write and read it as is)."""

    id: str
    prompt: str
    reference: str | None = None


def question_from_dict(
    data: dict[str, Any], default_id: str, template: str = DEFAULT_TEMPLATE
) -> Question:
    """One :class:`Question` from a JSON object (``RecordError`` names the bad field)."""
    text = data.get("question", data.get("prompt"))
    if not isinstance(text, str) or not text.strip():
        raise RecordError("question", "missing or not a non-empty string")
    ref: Any = data.get("reference")
    if ref is None and "answer" in data:
        answer = data["answer"]
        if not isinstance(answer, (str, int, float)) or isinstance(answer, bool):
            raise RecordError("answer", "must be a string or a number")
        answer = str(answer)
        try:
            ref = gold_answer(answer) if "####" in answer else answer.strip()
        except ValueError as err:
            raise RecordError("answer", str(err)) from err
    if ref is not None and not isinstance(ref, str):
        ref = str(ref)
    qid = data.get("id", default_id)
    return Question(str(qid), template.format(question=text.strip()), ref)


def load_questions(
    path: str | os.PathLike[str],
    *,
    limit: int | None = None,
    offset: int = 0,
    template: str = DEFAULT_TEMPLATE,
) -> list[Question]:
    """Questions from a JSONL file, lines ``offset`` to ``offset + limit``."""
    stem = Path(path).stem
    out: list[Question] = []
    counter = {"line": 0}

    def convert(data: dict[str, Any]) -> Question:
        counter["line"] += 1
        return question_from_dict(data, f"{stem}-{counter['line']}", template)

    for i, q in enumerate(read_jsonl(path, convert)):
        if i < offset:
            continue
        if limit is not None and len(out) >= limit:
            break
        out.append(q)
    return out


__all__ = ["DEFAULT_TEMPLATE", "Question", "load_questions", "question_from_dict"]
