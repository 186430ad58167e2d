"""The model-driven agents: user, assistant and tool played by any
:class:`~ifrl.core.generation.Generator`, one batched request per turn. Model failures
(unparseable calls, non-JSON tool results, refused requests) become a :class:`Failure` with the
reason."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ifrl.core.generation import Generator
from ifrl.core.records import Conversation, Message, SamplingParams, ToolCall, ToolSpec
from ifrl.core.toolcalls import (
    ToolCallParseError,
    detect_format,
    parse_tool_calls,
    render_tool_calls,
)
from ifrl.toolgen.apis import extract_json
from ifrl.toolgen.backend import BackendFailure, first_text, safe_generate
from ifrl.toolgen.dialog import error_of
from ifrl.toolgen.dialogs.agents import DialogState, Failure
from ifrl.toolgen.dialogs.template_agents import describe_request

_USER_SYSTEM = (
    "You play a user talking to an assistant that can call tools. Write only the user's next "
    "message: plain text, no quotes, no explanations."
)
_OPEN = """The assistant's tools:
{tools}
Write the user's first message for this kind of request: {kind}.
Mention concrete values for the arguments the call needs{extra}."""
_KIND_TEXT = {
    "single": "one request that needs exactly one tool call",
    "parallel": "a request that needs several independent tool calls at once",
    "dependent": "a request where a second call needs a value returned by a first call",
    "non_tool": "a request that none of the tools can handle",
    "clarify": "a request that needs a tool but leaves out one required value",
    "multi_request": "the first of several requests; later ones will act on its results",
    "tool_error": "one request that needs exactly one tool call",
}
_CLARIFY = """Earlier you asked: {request}
The assistant asked: {question}
Answer the question with a concrete value, in one short sentence."""
_FOLLOW_UP = """The conversation so far:
{transcript}
Write your next request: {request}.{target}"""
_TOOL_SYSTEM = "You simulate an API. Reply with the API's JSON result only."
_TOOL = """API: {api}
Call: {call}
{task}"""
_TOOL_OK = "Reply with the result, fitting the API's response schema."
_TOOL_FAIL = (
    'This call fails: reply with {{"error": {{"code": "<short_code>", "message": "<why>"}}}} '
    "({kind} failure)."
)


def _prompt(system: str, user: str) -> Conversation:
    return Conversation((Message("system", system), Message("user", user)))


def _complete(
    generator: Generator, prompts: Sequence[Any], params: SamplingParams
) -> list[str | Failure]:
    out: list[str | Failure] = []
    for result in safe_generate(generator, prompts, params):
        text = first_text(result)
        out.append(Failure(text.reason) if isinstance(text, BackendFailure) else text)
    return out


def _user_texts(texts: Sequence[str | Failure]) -> list[str | Failure]:
    out: list[str | Failure] = []
    for t in texts:
        if isinstance(t, Failure):
            out.append(t)
        else:
            out.append(t.strip() or Failure("empty user message"))
    return out


class ModelUser:
    """A user agent backed by a model (prompts are conversations: a system and a user
    message)."""

    def __init__(self, generator: Generator, params: SamplingParams | None = None) -> None:
        self.generator = generator
        self.params = params or SamplingParams(temperature=0.8, max_new_tokens=128, seed=0)

    def open(self, states: Sequence[DialogState]) -> list[str | Failure]:
        prompts = []
        for s in states:
            tools = "\n".join(json.dumps(t.definition(), ensure_ascii=False) for t in s.plan.tools)
            extra = f", except the value of {s.plan.missing!r}" if s.plan.missing else ""
            wanted = s.plan.unsupported
            if s.plan.type == "non_tool" and wanted is not None:
                extra += (
                    f"; ask to {describe_request(wanted, {}, info=s.plan.info(wanted))} instead"
                )
            text = _OPEN.format(tools=tools, kind=_KIND_TEXT[s.plan.type], extra=extra)
            prompts.append(_prompt(_USER_SYSTEM, text))
        return _user_texts(_complete(self.generator, prompts, self.params))

    def clarify(self, states: Sequence[DialogState]) -> list[str | Failure]:
        prompts = [
            _prompt(
                _USER_SYSTEM,
                _CLARIFY.format(
                    question=s.messages[-1].content or "",
                    request=next((m.content or "" for m in s.messages if m.role == "user"), ""),
                ),
            )
            for s in states
        ]
        return _user_texts(_complete(self.generator, prompts, self.params))

    def follow_up(self, states: Sequence[DialogState]) -> list[str | Failure]:
        prompts = []
        for s in states:
            request = s.current
            if request is None:
                prompts.append(_prompt(_USER_SYSTEM, "Say thanks and goodbye."))
                continue
            step = request.steps[0]
            api, args = step.calls[0]
            skip = [step.link.argument] if step.link else []
            target = (
                " Refer to one of the results the assistant reported, by its name."
                if step.link
                else ""
            )
            transcript = "\n".join(
                f"{m.role}: {m.content}"
                for m in s.messages
                if m.role in ("user", "assistant") and m.content
            )
            text = _FOLLOW_UP.format(
                transcript=transcript,
                request=describe_request(api, args, skip, s.plan.info(api)),
                target=target,
            )
            prompts.append(_prompt(_USER_SYSTEM, text))
        return _user_texts(_complete(self.generator, prompts, self.params))


class ModelAssistant:
    """An assistant agent backed by a model; its output is parsed with :mod:`ifrl.core.toolcalls`.

    Text that looks like tool calls (any format) must parse, else the dialog fails with the parse
    error; other text is an answer.
    """

    def __init__(self, generator: Generator, params: SamplingParams | None = None) -> None:
        self.generator = generator
        self.params = params or SamplingParams(temperature=0.7, max_new_tokens=256, seed=0)

    def respond(self, states: Sequence[DialogState]) -> list[Message | Failure]:
        texts = _complete(self.generator, [s.conversation() for s in states], self.params)
        out: list[Message | Failure] = []
        for state, text in zip(states, texts):
            out.append(text if isinstance(text, Failure) else self.read(text, state.calls_made))
        return out

    @staticmethod
    def read(text: str, first_id: int = 0) -> Message | Failure:
        """A model reply as a message (tool calls or text), or the reason it is unusable."""
        if not text.strip():
            return Failure("empty assistant reply")
        if detect_format(text) is None:
            return Message("assistant", text.strip())
        try:
            calls = parse_tool_calls(text)
        except ToolCallParseError as err:
            return Failure(f"assistant tool calls do not parse: {err}")
        if not calls:
            return Message("assistant", text.strip())
        calls = [c.replace(id=f"call_{first_id + i}") for i, c in enumerate(calls)]
        return Message("assistant", None, tuple(calls))


class ModelTool:
    """A tool agent backed by a model; the reply must be a JSON object (for the failing call of
    a ``tool_error`` plan: an error object ``{"error": {"code", "message"}}``)."""

    def __init__(self, generator: Generator, params: SamplingParams | None = None) -> None:
        self.generator = generator
        self.params = params or SamplingParams(temperature=0.3, max_new_tokens=256, seed=0)

    def execute(self, requests: Sequence[tuple[DialogState, ToolSpec, ToolCall]]) -> list[Any]:
        prompts = []
        fails = []
        for state, api, call in requests:
            fail = state.plan.transient is not None and call.id == "call_0"
            kind = "a temporary" if state.plan.transient else "a permanent"
            task = _TOOL_FAIL.format(kind=kind) if fail else _TOOL_OK
            fails.append(fail)
            body = _TOOL.format(
                api=json.dumps(api.definition(with_responses=True), ensure_ascii=False),
                call=render_tool_calls([call], "json"),
                task=task,
            )
            prompts.append(_prompt(_TOOL_SYSTEM, body))
        out: list[Any] = []
        for fail, text in zip(fails, _complete(self.generator, prompts, self.params)):
            if isinstance(text, Failure):
                out.append(text)
                continue
            try:
                value = extract_json(text)
            except ValueError:
                out.append(Failure("tool agent reply is not JSON"))
                continue
            if not isinstance(value, dict):
                out.append(Failure("tool result is not a JSON object"))
            elif fail and error_of(value) is None:
                out.append(Failure("tool agent did not write the planned error result"))
            else:
                out.append(value)
        return out


__all__ = ["ModelAssistant", "ModelTool", "ModelUser"]
