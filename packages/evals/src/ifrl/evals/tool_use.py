"""Tool-call evaluation on held-out conversations: each output is parsed once and scored twice
from that one parse.

A :class:`ToolUseCase` is a prompt (a conversation whose tools document the functions) and the
gold calls of the assistant's next turn (none: a text answer is right). Every output is parsed
with :mod:`ifrl.core.toolcalls` (format detected), then

* **valid** — BFCL's AST rules (:func:`ifrl.evals.bfcl.checker.check_ast` on the parsed calls,
  with the gold calls as the ground truth and the category BFCL would give the case: ``simple``,
  ``multiple`` or ``parallel``; a text answer follows BFCL's irrelevance rule). With ``style``
  the calls must be written in that format (else ``ast_decoder:decoder_failed``);
* **score** / **exact** — the structured matcher of :mod:`ifrl.core.matcher` (partial credit for
  the function, the argument names and the values; order-free).

:func:`evaluate_tool_calls` takes the outputs, or generates them; the result is an
:class:`~ifrl.evals.results.EvalResult` with ``accuracy`` (share valid), ``score`` and ``exact``,
each with ``n`` and a 95% interval, plus one sample dict per case.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ifrl.core.errors import RecordError
from ifrl.core.generation import Generator
from ifrl.core.matcher import MatcherConfig, MatchResult, match_calls
from ifrl.core.records import Conversation, SamplingParams, ToolCall, ToolSpec
from ifrl.core.stats import bootstrap, proportion
from ifrl.core.toolcalls import CallFormat, ToolCallParseError, detect_format, parse_tool_calls
from ifrl.evals.bfcl.checker import CheckResult, check_ast
from ifrl.evals.generate import generate_responses
from ifrl.evals.results import EvalResult

__all__ = [
    "ToolUseCase",
    "case_category",
    "evaluate_tool_calls",
    "score_tool_calls",
]


_MATCHER = MatcherConfig()


@dataclass(frozen=True, slots=True)
class ToolUseCase:
    """One held-out prompt and the gold calls of the assistant's next turn (``()``: a text
    answer). The prompt's tools must document every gold call's function."""

    id: str
    prompt: Conversation
    gold: tuple[ToolCall, ...] = ()

    def __post_init__(self) -> None:
        names = {t.name for t in self.prompt.tools}
        for i, call in enumerate(self.gold):
            if call.name not in names:
                raise RecordError(f"gold[{i}].name", f"{call.name!r} is not among the tools")

    @classmethod
    def from_conversation(cls, conversation: Conversation, id: str) -> ToolUseCase:
        """The case of a conversation's first assistant turn: the messages before it (with the
        tools) are the prompt, its tool calls the gold."""
        turn = next((i for i, m in enumerate(conversation.messages) if m.role == "assistant"), None)
        if turn is None or turn == 0:
            raise RecordError("messages", "no assistant turn after a prompt to evaluate")
        return cls(
            id,
            Conversation(conversation.messages[:turn], conversation.tools),
            conversation.messages[turn].tool_calls,
        )


def _bfcl_schema(schema: Any) -> Any:
    """JSON Schema types as BFCL's checker names them (object → dict, number → float)."""
    if isinstance(schema, dict):
        out = {k: _bfcl_schema(v) for k, v in schema.items()}
        kind = schema.get("type")
        if kind in ("object", "number"):
            out["type"] = "dict" if kind == "object" else "float"
        return out
    if isinstance(schema, list):
        return [_bfcl_schema(v) for v in schema]
    return schema


def _option(value: Any) -> Any:
    """A gold value as a BFCL ground-truth option (dicts, and lists of dicts, hold option
    lists per key)."""
    if isinstance(value, dict):
        return {k: [v] for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return [{k: [v] for k, v in x.items()} for x in value]
    return value


def _ground_truth(case: ToolUseCase) -> list[dict[str, dict[str, list[Any]]]]:
    """The gold calls as BFCL's possible answers: each given value is the one option; a
    parameter the call leaves out is optional (``""``)."""
    tools: dict[str, ToolSpec] = {t.name: t for t in case.prompt.tools}
    truth = []
    for call in case.gold:
        answer: dict[str, list[Any]] = {k: [_option(v)] for k, v in call.arguments.items()}
        for name in tools[call.name].properties:
            answer.setdefault(name, [""])
        truth.append({call.name: answer})
    return truth


def case_category(case: ToolUseCase) -> str:
    """The BFCL category of a case: ``irrelevance`` (text answer), ``parallel`` (several
    calls), ``multiple`` (one call, several tools) or ``simple``."""
    if not case.gold:
        return "irrelevance"
    if len(case.gold) > 1:
        return "parallel"
    return "multiple" if len(case.prompt.tools) > 1 else "simple"


def _verdicts(
    case: ToolUseCase, output: str, style: CallFormat | None, matcher: MatcherConfig
) -> tuple[str, CheckResult, MatchResult]:
    """The category, the BFCL verdict and the matcher's result of one output, from one parse."""
    kind = case_category(case)
    fmt = detect_format(output)
    calls: list[ToolCall] = []
    problem = "" if fmt is not None else "no tool calls recognised"
    if fmt is not None:
        try:
            calls = parse_tool_calls(output, fmt)
        except ToolCallParseError as err:
            problem = str(err)
    if problem and fmt is not None:
        match = MatchResult(0.0, False, "parse_error")
    else:
        match = match_calls(calls, case.gold, matcher)
    if not problem and style is not None and fmt != style:
        problem = f"expected {style} tool calls, got {fmt}"
    if kind == "irrelevance":
        if not problem and calls:
            return (
                kind,
                CheckResult(False, "irrelevance_error:decoder_success", "made a call"),
                match,
            )
        return kind, CheckResult(True), match
    if problem:
        return kind, CheckResult(False, "ast_decoder:decoder_failed", problem), match
    functions = [
        {"name": t.name, "description": t.description, "parameters": _bfcl_schema(t.parameters)}
        for t in case.prompt.tools
    ]
    return kind, check_ast(functions, calls, _ground_truth(case), kind), match


def _cases(items: Sequence[ToolUseCase | Conversation]) -> list[ToolUseCase]:
    return [
        c if isinstance(c, ToolUseCase) else ToolUseCase.from_conversation(c, str(i))
        for i, c in enumerate(items)
    ]


def score_tool_calls(
    cases: Sequence[ToolUseCase | Conversation],
    outputs: Sequence[str],
    *,
    style: CallFormat | None = None,
    matcher: MatcherConfig = _MATCHER,
) -> tuple[EvalResult, list[dict[str, Any]]]:
    """Score one output per case (conversations become cases by
    :meth:`ToolUseCase.from_conversation`, ids ``"0"``, ``"1"``...)."""
    found = _cases(cases)
    if len(outputs) != len(found):
        raise ValueError(f"{len(outputs)} outputs for {len(found)} cases")
    samples: list[dict[str, Any]] = []
    errors: Counter[str] = Counter()
    by_category: dict[str, list[bool]] = {}
    for case, output in zip(found, outputs):
        kind, check, match = _verdicts(case, output, style, matcher)
        by_category.setdefault(kind, []).append(check.valid)
        if not check.valid:
            errors[check.error_type] += 1
        samples.append(
            {
                "id": case.id,
                "category": kind,
                "output": output,
                "valid": check.valid,
                "error_type": check.error_type,
                "score": match.score,
                "exact": match.exact,
                "match": match.reason,
            }
        )
    n = len(samples)
    metrics = {
        "accuracy": proportion(sum(s["valid"] for s in samples), n),
        "score": bootstrap([s["score"] for s in samples], lambda v: sum(v) / len(v)),
        "exact": proportion(sum(s["exact"] for s in samples), n),
    }
    result = EvalResult(
        benchmark="tool_use",
        metrics=metrics,
        breakdowns={
            "category": {k: proportion(sum(v), len(v)) for k, v in sorted(by_category.items())},
            "error_type": {e: proportion(c, n) for e, c in errors.most_common()},
        },
        config={"style": style},
        info={"samples": n, "errors": dict(errors.most_common())},
        primary="accuracy",
    )
    return result, samples


def evaluate_tool_calls(
    cases: Sequence[ToolUseCase | Conversation],
    outputs: Sequence[str] | None = None,
    *,
    generator: Generator | None = None,
    params: SamplingParams | None = None,
    style: CallFormat | None = None,
    matcher: MatcherConfig = _MATCHER,
    batch_size: int = 64,
    progress: bool = True,
) -> tuple[EvalResult, list[dict[str, Any]]]:
    """Score ``outputs`` (one per case), or generate them with ``generator`` (greedy unless
    ``params`` say otherwise; a prompt the backend rejects scores as an empty output, counted
    in ``info["generation_errors"]``), with a progress bar over the cases unless ``progress``
    is false. See :func:`score_tool_calls`."""
    found = _cases(cases)
    failed: dict[str, str] = {}
    if outputs is None:
        if generator is None:
            raise ValueError("give the outputs or a generator")
        sampling = params or SamplingParams(temperature=0.0, max_new_tokens=256, seed=0)
        got = generate_responses(
            generator,
            [(c.id, c.prompt) for c in found],
            sampling,
            batch_size=batch_size,
            progress=progress,
            errors=failed,
        )
        outputs = [got[c.id][0] for c in found]
    result, samples = score_tool_calls(found, outputs, style=style, matcher=matcher)
    if failed:
        result = dataclasses.replace(result, info={**result.info, "generation_errors": len(failed)})
    return result, samples
