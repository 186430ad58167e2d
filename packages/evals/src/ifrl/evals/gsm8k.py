"""The ``gsm8k`` benchmark: final-answer accuracy with majority voting over ``n`` samples.

Data: JSONL ``{"question", "answer"}`` with the gold solution ending ``#### N`` (the official
files), from ``data=PATH`` or, when online, the Hugging Face hub (``openai/gsm8k``, ``main``,
``test``). Example ids are the 0-based line numbers (``"0"``, ``"1"``, ...).

Answers are extracted and compared with :mod:`ifrl.core.answers`. Metrics: ``maj@n`` (the
majority answer over the samples is right), ``pass@1`` (mean correctness of single samples) and,
with ``n > 1``, ``pass@n`` (any sample right).

Response files (``--responses``): lines ``{"id" or "question", "response"}`` or with
``"responses": [...]``; several lines for the same example add samples.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ifrl.core.answers import answers_match, extract_answer, gold_answer
from ifrl.core.errors import IfrlError, JSONLError, RecordError
from ifrl.core.jsonl import read_jsonl
from ifrl.core.records import Conversation, Message
from ifrl.core.stats import majority_vote, proportion
from ifrl.evals.benchmark import Example, Responses, register_benchmark
from ifrl.evals.results import EvalResult

__all__ = ["INSTRUCTION", "GSM8KBenchmark"]

INSTRUCTION = (
    "Solve the problem step by step. Finish with a last line of the form '#### <number>'.\n\n"
)


def _row(data: dict[str, Any]) -> tuple[str, str]:
    for field in ("question", "answer"):
        if not isinstance(data.get(field), str):
            raise RecordError(field, "missing or not a string")
    try:
        gold = gold_answer(data["answer"])
    except ValueError as err:
        raise RecordError("answer", str(err)) from None
    return data["question"], gold


@register_benchmark("gsm8k")
class GSM8KBenchmark:
    """GSM8K test problems; ``limit`` keeps the first N."""

    name = "gsm8k"

    def __init__(
        self,
        data: str | os.PathLike[str] | None = None,
        *,
        limit: int | None = None,
        instruction: str = INSTRUCTION,
    ) -> None:
        self.data = data
        self.limit = limit
        self.instruction = instruction
        self._rows: list[tuple[str, str]] | None = None

    def rows(self) -> list[tuple[str, str]]:
        """``(question, gold answer)`` of every problem (cached)."""
        if self._rows is None:
            if self.data is not None:
                self._rows = list(read_jsonl(self.data, _row))
            else:
                self._rows = _from_hub()
        return self._rows

    def examples(self) -> list[Example]:
        rows = self.rows()
        if self.limit is not None:
            rows = rows[: self.limit]
        return [
            Example(str(i), Conversation((Message("user", self.instruction + q),)), (q, gold))
            for i, (q, gold) in enumerate(rows)
        ]

    def read_responses(self, path: str | os.PathLike[str]) -> dict[str, list[Any]]:
        name = os.fspath(path)
        by_question = {q: str(i) for i, (q, _) in enumerate(self.rows())}
        got: dict[str, list[Any]] = defaultdict(list)
        for lineno, row in enumerate(read_jsonl(path), start=1):
            ident = row.get("id")
            if ident is None:
                ident = by_question.get(str(row.get("question")))
                if ident is None:
                    raise JSONLError(name, lineno, "question", "no GSM8K problem has this question")
            if "responses" in row:
                texts = row["responses"]
                if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                    raise JSONLError(name, lineno, "responses", "must be a list of strings")
            elif isinstance(row.get("response"), str):
                texts = [row["response"]]
            else:
                raise JSONLError(name, lineno, "response", "missing (or give 'responses')")
            got[str(ident)] += texts
        return dict(got)

    def score(
        self, examples: Sequence[Example], responses: Responses
    ) -> tuple[EvalResult, list[dict[str, Any]]]:
        samples: list[dict[str, Any]] = []
        majority: list[bool] = []
        single: list[bool] = []
        anyone: list[bool] = []
        n_max = 0
        for example in examples:
            question, gold = example.data
            texts = [str(t) for t in responses.get(example.id, [])]
            if not texts:
                continue
            n_max = max(n_max, len(texts))
            answers = [extract_answer(t) for t in texts]
            correct = [answers_match(a, gold) for a in answers]
            voted = majority_vote(answers)
            majority.append(answers_match(voted, gold))
            single += correct
            anyone.append(any(correct))
            samples.append(
                {
                    "id": example.id,
                    "prompt": question,
                    "gold": gold,
                    "responses": texts,
                    "answers": answers,
                    "correct": correct,
                    "majority": voted,
                    "valid": majority[-1],
                    "reason": f"majority answer {voted} vs gold {gold} "
                    f"({sum(correct)}/{len(correct)} samples right)",
                }
            )
        metrics = {f"maj@{n_max}": proportion(sum(majority), len(majority))}
        metrics["pass@1"] = proportion(sum(single), len(single))
        if n_max > 1:
            metrics[f"pass@{n_max}"] = proportion(sum(anyone), len(anyone))
        result = EvalResult(
            benchmark="gsm8k",
            metrics=metrics,
            config={
                "data": os.fspath(self.data) if self.data else "openai/gsm8k",
                "limit": self.limit,
            },
            info={"problems": len(majority), "samples": len(single)},
            primary=f"maj@{n_max}",
        )
        return result, samples


def _from_hub() -> list[tuple[str, str]]:
    try:
        import datasets

        rows = datasets.load_dataset("openai/gsm8k", "main", split="test")
    except Exception as err:  # missing package, offline, or refused
        raise IfrlError(
            f"could not load openai/gsm8k from the hub ({err}); pass --data PATH"
        ) from err
    return [_row(dict(r)) for r in rows]
