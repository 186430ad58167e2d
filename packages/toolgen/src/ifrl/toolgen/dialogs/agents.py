"""A dialog in progress and the three agent interfaces (user, assistant, tool).

Agents are called with whole batches of dialogs so model-driven ones send one batched request
per turn. An agent that cannot produce a valid turn returns a :class:`Failure` with the reason,
which ends that dialog instead of raising.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ifrl.core.records import Conversation, Message, ToolCall, ToolSpec
from ifrl.toolgen.dialogs.plans import Plan, Request
from ifrl.toolgen.world import Records


@dataclass
class DialogState:
    """A dialog in progress: its messages, the request being served (``request``; ``asked``:
    whether its clarifying question was asked), the records the tools returned, and the
    assistant's ``thoughts`` by message index."""

    plan: Plan
    messages: list[Message] = field(default_factory=list)
    request: int = 0
    asked: bool = False
    done: bool = False
    failure: str | None = None
    calls_made: int = 0
    records: Records = field(default_factory=Records)
    thoughts: dict[int, str] = field(default_factory=dict)

    @property
    def current(self) -> Request | None:
        """The plan's request being served (None past the last one or for a plan without)."""
        requests = self.plan.requests
        return requests[self.request] if self.request < len(requests) else None

    def fail(self, reason: str) -> None:
        self.failure = reason
        self.done = True

    def conversation(self) -> Conversation:
        return Conversation(tuple(self.messages), self.plan.tools)


class Failure:
    """An agent could not produce a valid turn; ``reason`` says why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Failure({self.reason!r})"


@runtime_checkable
class UserAgent(Protocol):
    """Writes the user's turns."""

    def open(self, states: Sequence[DialogState]) -> list[str | Failure]:
        """The first request of each dialog."""
        ...

    def clarify(self, states: Sequence[DialogState]) -> list[str | Failure]:
        """The answer to the assistant's question (the last message) of each dialog."""
        ...

    def follow_up(self, states: Sequence[DialogState]) -> list[str | Failure]:
        """The next request of each session (``state.request`` says which), after the
        assistant answered the previous one."""
        ...


@runtime_checkable
class AssistantAgent(Protocol):
    """Writes the assistant's turns: tool calls or text (a thought for a turn goes to
    ``state.thoughts`` under the index the turn will take)."""

    def respond(self, states: Sequence[DialogState]) -> list[Message | Failure]: ...


@runtime_checkable
class ToolAgent(Protocol):
    """Simulates APIs: a JSON result for each ``(state, api, call)``; a ``tool_error`` plan's
    first call gets an error result (:func:`~ifrl.toolgen.dialog.error_result`)."""

    def execute(self, requests: Sequence[tuple[DialogState, ToolSpec, ToolCall]]) -> list[Any]: ...


__all__ = ["AssistantAgent", "DialogState", "Failure", "ToolAgent", "UserAgent"]
