"""The model layer of verification: one judge prompt per check, told the dialog type.

Four checks (:data:`JUDGE_CHECKS`), each asked in its own prompt, a conversation of a system
and a user message (the judge sees it through its chat template):

* ``hallucination`` (``model.hallucinated_value``) — every call argument was stated by the user
  or returned by an earlier result, in the role the user gave it (an origin is not the
  destination);
* ``fulfilment`` (``model.unfulfilled``) — the calls and answers do what the user asked, as the
  dialog type expects (a clarifying question asks for the missing value);
* ``result_fit`` (``model.tool_response_mismatch``) — every result answers its own call;
* ``faithfulness`` (``model.unfaithful_answer``) — every answer says only what the results say.

A check is asked only where it applies (no calls: no hallucination check; no results: no
result-fit or faithfulness check). Verdicts are parsed strictly (:func:`parse_verdict`): the
reply must be exactly one JSON object ``{"verdict": "pass" | "fail", "reason": "..."}``
(optionally inside one json code fence); anything else is ``model.judge_unparseable``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ifrl.core.generation import Generator
from ifrl.core.records import Conversation, Message, SamplingParams
from ifrl.toolgen.backend import BackendFailure, first_text, safe_generate
from ifrl.toolgen.dialog import Dialog
from ifrl.toolgen.verify import Issue

JudgeCheck = Literal["hallucination", "fulfilment", "result_fit", "faithfulness"]
JUDGE_CHECKS: tuple[JudgeCheck, ...] = ("hallucination", "fulfilment", "result_fit", "faithfulness")
CODES: dict[str, str] = {
    "hallucination": "model.hallucinated_value",
    "fulfilment": "model.unfulfilled",
    "result_fit": "model.tool_response_mismatch",
    "faithfulness": "model.unfaithful_answer",
}
MODEL_CHECKS = tuple(f"model_{c}" for c in JUDGE_CHECKS)

SYSTEM = (
    "You review one dialog of a function-calling training set for a single property. Read "
    "the dialog, decide whether it has the property, and reply with exactly one JSON object "
    'and nothing else: {"verdict": "pass", "reason": "<one sentence>"} when it has the '
    'property, {"verdict": "fail", "reason": "<one sentence>"} when it does not.'
)
TYPES = {
    "single": "one request that needs exactly one tool call",
    "parallel": "one request that needs several independent tool calls in one turn",
    "dependent": "one request where a later call uses a value an earlier call returned",
    "non_tool": "a request no offered tool can serve: the assistant should make no call and say so",
    "clarify": "a request that leaves out a required value: the assistant should ask for exactly "
    "that value, then call",
    "multi_request": "a session of several requests; later ones act on earlier results",
    "tool_error": "a tool returns an error: the assistant should retry a temporary failure or "
    "explain a permanent one, without inventing results",
}
QUESTIONS = {
    "hallucination": "Property: every argument of every tool call was stated by the user or "
    "returned by an earlier tool result, and is used in the role the user gave it (for example, "
    "the origin is not passed as the destination, the start date not as the end date). A value "
    "that is invented, changed or put into the wrong argument fails; so does a call of a tool "
    "that is not offered or an argument the tool does not have.",
    "fulfilment": "Property: the assistant's calls and answers do what the user asked, as this "
    "dialog type expects: the right tools, every requested part, every required value, and a "
    "clarifying question that asks for the value the user actually left out.",
    "result_fit": "Property: every tool result answers its own call: it fits the tool's response "
    "schema and agrees with the arguments of the call it answers (ids, names, dates) and with "
    "earlier results. An error result counts as fitting.",
    "faithfulness": "Property: every assistant answer states only what the tool results say. An "
    "answer that contradicts a result (a number, a name, an id, a status) or reports success "
    "after an error fails.",
}


def applies(dialog: Dialog, check: str) -> bool:
    """Whether ``check`` can be asked of ``dialog`` (calls for hallucination; results for
    result fit; results and an answer after them for faithfulness)."""
    roles = [m.role for m in dialog.messages]
    if check == "hallucination":
        return bool(dialog.calls())
    if check == "result_fit":
        return "tool" in roles
    if check == "faithfulness":
        return "tool" in roles and any(
            r == "assistant" and not dialog.messages[i].tool_calls
            for i, r in enumerate(roles)
            if i > roles.index("tool")
        )
    return True


def render(dialog: Dialog) -> str:
    """The dialog as numbered lines (calls with their ids, results with the call they answer)."""
    lines = []
    for i, m in enumerate(dialog.messages, start=1):
        if m.tool_calls:
            calls = "; ".join(
                f"{c.name}({json.dumps(c.arguments, ensure_ascii=False)}) [id {c.id}]"
                for c in m.tool_calls
            )
            lines.append(f"[{i}] assistant calls: {calls}")
        elif m.role == "tool":
            lines.append(f"[{i}] tool result for {m.tool_call_id} ({m.name}): {m.content}")
        else:
            lines.append(f"[{i}] {m.role}: {m.content or ''}")
    return "\n".join(lines)


def judge_prompt(dialog: Dialog, check: str) -> Conversation:
    """The prompt for one check of one dialog: a system and a user message."""
    tools = "\n".join(
        json.dumps(t.definition(with_responses=True), ensure_ascii=False) for t in dialog.tools
    )
    user = (
        f"Dialog type: {dialog.type} ({TYPES.get(dialog.type, dialog.type)}).\n"
        f"Tools:\n{tools}\n\nDialog:\n{render(dialog)}\n\n{QUESTIONS[check]}\n"
        'Reply with {"verdict": "pass" | "fail", "reason": "..."} only.'
    )
    return Conversation((Message("system", SYSTEM), Message("user", user)))


def parse_verdict(text: str) -> tuple[bool | None, str]:
    """``(passed, reason)`` from a judge reply; ``passed`` is None unless the reply is exactly
    one JSON object with ``verdict`` ``pass``/``fail`` and at most a string ``reason``."""
    body = text.strip()
    if body.startswith("```"):
        first, _, rest = body.partition("\n")
        if first not in ("```", "```json") or not rest.rstrip().endswith("```"):
            return None, "a code fence other than one json block"
        body = rest.rstrip()[:-3].strip()
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None, f"not one JSON object: {text[:80]!r}"
    if not isinstance(data, Mapping) or not set(data) <= {"verdict", "reason"}:
        return None, f"expected keys verdict and reason: {text[:80]!r}"
    verdict, reason = data.get("verdict"), data.get("reason", "")
    if verdict not in ("pass", "fail") or not isinstance(reason, str):
        return None, f"verdict must be 'pass' or 'fail' and reason a string: {text[:80]!r}"
    return verdict == "pass", reason[:200]


class JudgeVerifier:
    """The model layer: one prompt per (dialog, applicable check), sent in one batch."""

    def __init__(
        self,
        judge: Generator,
        params: SamplingParams | None = None,
        checks: Sequence[str] = JUDGE_CHECKS,
    ) -> None:
        unknown = [c for c in checks if c not in JUDGE_CHECKS]
        if unknown:
            raise ValueError(
                f"unknown judge check {unknown[0]!r}; choose from {list(JUDGE_CHECKS)}"
            )
        self.judge = judge
        self.params = params or SamplingParams(temperature=0.0, max_new_tokens=96, seed=0)
        self.checks = tuple(checks)
        self.report_checks = tuple(f"model_{c}" for c in self.checks)

    def verdicts(self, dialogs: Sequence[Dialog]) -> list[dict[str, tuple[bool | None, str]]]:
        """Per dialog, ``check → (passed, reason)`` for the checks that apply (``passed`` None:
        the reply did not parse or the backend refused the prompt)."""
        asks = [(i, c) for i, d in enumerate(dialogs) for c in self.checks if applies(d, c)]
        prompts = [judge_prompt(dialogs[i], c) for i, c in asks]
        out: list[dict[str, tuple[bool | None, str]]] = [{} for _ in dialogs]
        for (i, check), result in zip(asks, safe_generate(self.judge, prompts, self.params)):
            text = first_text(result)
            if isinstance(text, BackendFailure):
                out[i][check] = (None, text.reason)
            else:
                out[i][check] = parse_verdict(text)
        return out

    def issues(self, dialogs: Sequence[Dialog]) -> list[list[Issue]]:
        """Per dialog, an issue for each failed check and each unparseable verdict."""
        out: list[list[Issue]] = []
        for found in self.verdicts(dialogs):
            issues = []
            for check, (passed, reason) in found.items():
                if passed is None:
                    issues.append(
                        Issue("model.judge_unparseable", f"model_{check}", "judge", reason)
                    )
                elif not passed:
                    issues.append(Issue(CODES[check], f"model_{check}", "judge", reason or check))
            out.append(issues)
        return out


__all__ = [
    "CODES",
    "JUDGE_CHECKS",
    "MODEL_CHECKS",
    "JudgeCheck",
    "JudgeVerifier",
    "applies",
    "judge_prompt",
    "parse_verdict",
    "render",
]
