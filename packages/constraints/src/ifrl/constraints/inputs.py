"""Responses to verify or audit: prompts that carry a ``response``, or prompts paired with a
responses file of ``{prompt, response}`` lines (by prompt text, or line by line).

Prompts are read through the codec (:mod:`ifrl.constraints.codec`, any dataset format) with their
hard constraints checked, so bad input fails with ``path:line: field: problem``
(``kwargs[1].num_words: length_constraints:number_words: expected an integer``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ifrl.constraints.codec import from_row
from ifrl.core.errors import JSONLError, RecordError
from ifrl.core.jsonl import PathLike, read_jsonl
from ifrl.core.records import ConstrainedPrompt


def _with_response(row: dict[str, Any]) -> ConstrainedPrompt:
    # the prompt is optional here: verification reads only the response and the constraints
    item = from_row(row if "prompt" in row else {**row, "prompt": ""}, check=True)
    if item.response is None:
        raise RecordError("response", "missing or not a string")
    return item


def read_items(path: PathLike) -> Iterator[ConstrainedPrompt]:
    """Stream prompts that carry their ``response`` (validated line by line as they are read)."""
    return read_jsonl(path, _with_response)


def _response_line(row: dict[str, Any]) -> tuple[str | None, str]:
    response = row.get("response")
    if not isinstance(response, str):
        raise RecordError("response", "missing or not a string")
    prompt = row.get("prompt")
    return (prompt if isinstance(prompt, str) else None), response


@dataclass(frozen=True, slots=True)
class Pairing:
    """Prompts paired with their responses, and what found no partner (ids, a count)."""

    items: list[ConstrainedPrompt]
    inputs_without_response: list[str]
    responses_without_input: int


def pair_responses(
    items: Iterable[ConstrainedPrompt], responses: PathLike, *, by_line: bool = False
) -> Pairing:
    """Give ``items`` the responses of ``responses`` (``{prompt, response}`` lines).

    By default a response belongs to the prompt with the same text (the first such line);
    ``by_line`` pairs line n with item n instead (the counts must then be equal).
    """
    prompts = list(items)
    lines = list(read_jsonl(responses, _response_line))
    if by_line:
        if len(lines) != len(prompts):
            raise JSONLError(
                str(responses), len(lines), "", f"has {len(lines)} rows for {len(prompts)} inputs"
            )
        return Pairing([p.replace(response=r) for p, (_, r) in zip(prompts, lines)], [], 0)
    by_prompt: dict[str, str] = {}
    for prompt, response in lines:
        if prompt is not None:
            by_prompt.setdefault(prompt, response)
    paired: list[ConstrainedPrompt] = []
    missing: list[str] = []
    used: set[str] = set()
    for item in prompts:
        if item.text in by_prompt:
            paired.append(item.replace(response=by_prompt[item.text]))
            used.add(item.text)
        else:
            missing.append(item.id)
    return Pairing(paired, missing, len(lines) - len(used))


__all__ = ["Pairing", "pair_responses", "read_items"]
