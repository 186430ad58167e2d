"""Running the three agents over batches of plans into dialogs (:class:`DialogGenerator`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ifrl.core.records import Message, ToolCall, ToolSpec
from ifrl.toolgen.dialog import Dialog, tool_message
from ifrl.toolgen.dialogs.agents import (
    AssistantAgent,
    DialogState,
    Failure,
    ToolAgent,
    UserAgent,
)
from ifrl.toolgen.dialogs.complexity import ComplexityEvaluator
from ifrl.toolgen.dialogs.plans import Planner
from ifrl.toolgen.dialogs.template_agents import PlannedAssistant, TemplateUser, WorldTool
from ifrl.toolgen.tool_schema import SampleError


@dataclass
class DialogResult:
    """The outcome for one index: a dialog, or the reason none was made."""

    index: int
    dialog: Dialog | None
    reason: str | None = None
    complexity: float | None = None


class DialogGenerator:
    """Runs the three agents over batches of plans.

    ``batch_size`` dialogs advance together so model-driven agents send one batched request per
    turn. ``max_turns`` bounds assistant turns per dialog. An assistant text turn is a
    clarifying question while the request lacks a value the user has not given yet, the answer
    before the session's next request (``follow_up``), or the end. ``thoughts``: the share of
    the default assistant's turns that carry a thought.
    """

    def __init__(
        self,
        planner: Planner,
        user: UserAgent | None = None,
        assistant: AssistantAgent | None = None,
        tool: ToolAgent | None = None,
        *,
        evaluator: ComplexityEvaluator | None = None,
        batch_size: int = 32,
        max_turns: int = 12,
        system: str | None = None,
        thoughts: float = 0.0,
    ) -> None:
        self.planner = planner
        self.user = user or TemplateUser()
        self.assistant = assistant or PlannedAssistant(thoughts)
        self.tool = tool or WorldTool()
        self.evaluator = evaluator
        self.batch_size = batch_size
        self.max_turns = max_turns
        self.system = system
        self.stats: Counter[str] = Counter()

    def run(self, indices: Sequence[int]) -> Iterator[DialogResult]:
        """Yield one :class:`DialogResult` per index, in order."""
        for start in range(0, len(indices), self.batch_size):
            yield from self._batch(indices[start : start + self.batch_size])

    def _batch(self, indices: Sequence[int]) -> list[DialogResult]:
        states: list[DialogState] = []
        results: dict[int, DialogResult] = {}
        for index in indices:
            try:
                plan = self.planner.plan(index)
            except SampleError as err:
                results[index] = DialogResult(index, None, f"plan: {err}")
                continue
            states.append(DialogState(plan))
        if self.system:
            for s in states:
                s.messages.append(Message("system", self.system))
        self._apply_user(states, self.user.open(states))
        for _ in range(self.max_turns):
            live = [s for s in states if not s.done]
            if not live:
                break
            replies = self.assistant.respond(live)
            asking: list[DialogState] = []
            following: list[DialogState] = []
            calling: list[tuple[DialogState, ToolSpec, ToolCall]] = []
            for state, reply in zip(live, replies):
                if isinstance(reply, Failure):
                    state.fail(reply.reason)
                    continue
                state.messages.append(reply)
                request = state.current
                if reply.tool_calls:
                    state.calls_made += len(reply.tool_calls)
                    for call in reply.tool_calls:
                        api = next((t for t in state.plan.tools if t.name == call.name), None)
                        if api is None:
                            state.fail(f"assistant called unknown function {call.name!r}")
                            break
                        calling.append((state, api, call))
                elif request is not None and request.missing and not state.asked:
                    state.asked = True
                    asking.append(state)
                elif state.plan.type != "non_tool" and state.request + 1 < len(state.plan.requests):
                    state.request += 1
                    state.asked = False
                    following.append(state)
                else:
                    state.done = True
            calling = [c for c in calling if not c[0].done]
            if calling:
                for (state, _api, call), result in zip(calling, self.tool.execute(calling)):
                    if state.done:
                        continue
                    if isinstance(result, Failure):
                        state.fail(result.reason)
                    else:
                        state.messages.append(tool_message(call, result))
            if asking:
                self._apply_user(asking, self.user.clarify(asking))
            if following:
                self._apply_user(following, self.user.follow_up(following))
        dialogs: list[tuple[DialogState, Dialog]] = []
        for s in states:
            if not s.done and s.failure is None:
                s.fail(f"no final answer within {self.max_turns} assistant turns")
            if s.failure is not None:
                results[s.plan.index] = DialogResult(s.plan.index, None, s.failure)
                continue
            dialog = Dialog(
                s.plan.type,
                s.plan.tools,
                tuple(s.messages),
                {
                    "index": s.plan.index,
                    "seed": s.plan.seed,
                    "domain": s.plan.info(s.plan.steps[0].calls[0][0]).domain
                    if s.plan.steps
                    else "",
                },
                dict(s.thoughts),
            )
            dialogs.append((s, dialog))
        if self.evaluator is not None and dialogs:
            judged = self.evaluator.judge([d for _, d in dialogs])
            self.planner.weights = dict(self.evaluator.weights)
            for (s, dialog), (h, reason) in zip(dialogs, judged):
                if reason is not None:
                    results[s.plan.index] = DialogResult(s.plan.index, None, reason, h)
                else:
                    meta = {**dialog.meta, "complexity_loss": h}
                    results[s.plan.index] = DialogResult(
                        s.plan.index, dialog.replace(meta=meta), None, h
                    )
        else:
            for s, dialog in dialogs:
                results[s.plan.index] = DialogResult(s.plan.index, dialog)
        out = [results[i] for i in indices]
        for r in out:
            self.stats["kept" if r.dialog is not None else f"dropped: {(r.reason or '')[:50]}"] += 1
        return out

    @staticmethod
    def _apply_user(states: Sequence[DialogState], texts: Sequence[str | Failure]) -> None:
        for state, text in zip(states, texts):
            if isinstance(text, Failure):
                state.fail(text.reason)
            else:
                state.messages.append(Message("user", text))


__all__ = ["DialogGenerator", "DialogResult"]
