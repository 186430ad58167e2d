"""The programmatic agents: a user who writes from paraphrase banks, an assistant that follows
the plan, and a tool that answers from one consistent world. Offline, seeded per dialog, with a
known correct answer: every argument value appears in the user's turns or an earlier result,
every fact of an answer comes from a tool result."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

from ifrl.core.records import Message, ToolCall, ToolSpec
from ifrl.toolgen import phrasing as ph
from ifrl.toolgen.apis import ApiInfo
from ifrl.toolgen.dialog import error_of
from ifrl.toolgen.dialogs.agents import DialogState, Failure
from ifrl.toolgen.dialogs.plans import Dependency, Plan, Step, plan_rng
from ifrl.toolgen.semantic import leaves, mentioned
from ifrl.toolgen.tool_schema import SampleError
from ifrl.toolgen.world import failure, simulate

_THEN = (
    "then",
    "after that",
    "and once you have it,",
    "and then",
    "and afterwards",
    "and when that's done,",
    "then, from what comes back,",
    "and from those results",
    "and right after,",
    "then go on and",
    "and with that,",
    "and once the results are in,",
    "followed by a step to",
    "next",
    "and based on what you find,",
)
CONTEXT_P = 0.2
LEAD_P = 0.25
BARE_P = 0.3
SCENE_OPENER_P = 0.15
NOUN_P = 0.35
AFTERTHOUGHT_P = 0.25
TAIL_P = 0.1
_ALSO = (
    "; also ",
    ", and also ",
    ", and ",
    "; then ",
    ", plus ",
    "; on top of that, ",
    ". Also, ",
    ". And ",
    "; as well as that, ",
    ", and at the same time ",
    "; separately, ",
    ". Separately, ",
    "; while you're at it, ",
    ", and in parallel ",
)


def describe_request(
    api: ToolSpec, args: Mapping[str, Any], skip: Sequence[str] = (), info: ApiInfo | None = None
) -> str:
    """A request for ``api`` in base form mentioning every argument except ``skip`` (the
    bank's first forms; the user agent varies them)."""
    info = info or ApiInfo.of(api)
    parts = [ph.phrase(api, k, v, info) for k, v in args.items() if k not in skip]
    return ph.action(info, api) + ("" if not parts else " " + " ".join(parts))


def _gives_away(text: str, plan: Plan) -> bool:
    """Whether ``text`` mentions the value a ``clarify`` request leaves out."""
    request = plan.requests[0] if plan.requests else None
    if request is None or request.missing is None:
        return False
    args = request.steps[0].calls[0][1]
    low = " ".join(text.lower().split())
    return request.missing in args and any(mentioned(v, low) for v in leaves(args[request.missing]))


def _extra(bank: Sequence[str], rng: random.Random, plan: Plan) -> str:
    """A lead or tail from ``bank`` with the scene's slots ("" when it would give away the
    value a ``clarify`` request leaves out)."""
    if plan.scene is None:
        return ""
    text = ph.fill(rng.choice(bank), rng, **ph.scene_slots(rng, plan.scene))
    return "" if _gives_away(text, plan) else text


def _wrap(
    body: str,
    rng: random.Random,
    plan: Plan,
    note: bool = False,
    *,
    sentence: bool = False,
    after: Sequence[str] | None = None,
) -> str:
    """A request: maybe a lead (a greeting) or a context sentence, an opener around ``body``
    (a ``note`` stands alone), maybe a tail (who it is for, when) and a closer. A lead,
    context or tail that happens to mention the value a ``clarify`` request leaves out is
    dropped. A ``sentence`` is a whole request already (no opener); ``after`` holds details
    said after the request, each as a sentence of its own."""
    scene = plan.scene
    roll = rng.random()
    if sentence:
        text = body
    elif note or roll < BARE_P:
        text = f"{ph.cap(body)}."
    elif scene is not None and roll < BARE_P + SCENE_OPENER_P:
        frame = _extra(ph.SCENE_OPENERS, rng, plan) or "{r}."
        text = ph.fill(frame, rng, r=body)
    else:
        text = ph.fill(rng.choice(ph.OPENERS), rng, r=body)
    if scene is not None and rng.random() < CONTEXT_P:
        api = plan.requests[0].steps[0].calls[0][0] if plan.requests else plan.tools[0]
        context = ph.context(rng, scene, plan.info(api).domain)
        if _gives_away(context, plan):
            pass  # the context would give away the value the request leaves out
        elif context.endswith((",", ":")):
            text = f"{context} {text[:1].lower() + text[1:]}"
        else:
            text = f"{context} {text}"
    elif rng.random() < LEAD_P:
        lead = _extra(ph.LEADS, rng, plan)
        text = f"{lead} {text}" if lead else text
    for detail in after or ():
        text = f"{text} {ph.afterthought(detail, rng)}"
    if rng.random() < TAIL_P:
        tail = _extra(ph.TAILS, rng, plan)
        text = f"{text} {tail}" if tail else text
    if rng.random() < 0.08:
        text = f"{text} {rng.choice(ph.CLOSERS)}"
    return text


def _results(messages: Sequence[Message]) -> list[tuple[str, Any]]:
    out = []
    for m in messages:
        if m.role == "tool":
            try:
                out.append((m.name or "", json.loads(m.content or "null")))
            except ValueError:
                out.append((m.name or "", m.content))
    return out


def _latest(messages: Sequence[Message], api_name: str) -> Any:
    """The latest successful result of ``api_name`` in ``messages`` (None when there is none)."""
    for name, result in reversed(_results(messages)):
        if name == api_name and error_of(result) is None:
            return result
    return None


def _records(result: Any, key: str) -> list[Mapping[str, Any]]:
    rows = result.get("results") if isinstance(result, Mapping) else None
    return [r for r in rows or () if isinstance(r, Mapping) and key in r]


def _since_user(messages: Sequence[Message]) -> list[Message]:
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    return list(messages[last + 1 :])


class TemplateUser:
    """Writes requests, clarifications and follow-ups from the paraphrase banks; every
    argument value appears in the text exactly as :func:`~ifrl.toolgen.phrasing.render_value`
    writes it."""

    def open(self, states: Sequence[DialogState]) -> list[str | Failure]:
        return [self._open(s.plan) for s in states]

    def _open(self, plan: Plan) -> str:
        rng = plan_rng(plan.seed, plan.index, "user")
        request = plan.requests[0]
        note = rng.random() < 0.4
        if plan.type == "parallel":
            parts = [
                ph.request_body(a, plan.info(a), args, rng) for a, args in request.steps[0].calls
            ]
            body = parts[0] + "".join(rng.choice(_ALSO) + p for p in parts[1:])
        elif plan.type == "dependent":
            (p_api, p_args), (c_api, c_args) = request.steps[0].calls[0], request.steps[1].calls[0]
            c_info = plan.info(c_api)
            entity = c_info.entity.replace("_", " ") or "result"
            target = rng.choice(ph.FIRST_HITS).format(entity=entity)
            body = (
                f"{ph.request_body(p_api, plan.info(p_api), p_args, rng)}, {rng.choice(_THEN)} "
                f"{ph.request_body(c_api, c_info, c_args, rng, target=target)}"
            )
        else:
            api, args = request.steps[0].calls[0]
            skip = [request.missing] if request.missing else []
            if not note and rng.random() < NOUN_P:
                said = ph.noun_request(api, plan.info(api), args, rng, skip=skip)
                if said is not None:
                    return _wrap(said, rng, plan, sentence=True)
            held: list[str] | None = [] if not note and rng.random() < AFTERTHOUGHT_P else None
            body = ph.request_body(api, plan.info(api), args, rng, skip=skip, note=note, held=held)
            text = _wrap(body, rng, plan, note and body.count(":") > 0, after=held)
            return text
        return _wrap(body, rng, plan)

    def clarify(self, states: Sequence[DialogState]) -> list[str | Failure]:
        out: list[str | Failure] = []
        for s in states:
            request = s.current
            missing = request.missing if request else None
            api, args = request.steps[0].calls[0] if request else (None, {})
            if api is None or missing is None or missing not in args:
                out.append(Failure("nothing to clarify"))
                continue
            rng = plan_rng(s.plan.seed, s.plan.index, "clarify")
            text = ph.fill(
                rng.choice(ph.CLARIFY_ANSWERS),
                rng,
                phrase=ph.phrase(api, missing, args[missing], s.plan.info(api), rng),
                value=ph.render_value(args[missing]),
                label=ph.label(missing),
            )
            out.append(text)
        return out

    def follow_up(self, states: Sequence[DialogState]) -> list[str | Failure]:
        out: list[str | Failure] = []
        for s in states:
            request = s.current
            if request is None:
                out.append(Failure("no further request"))
                continue
            rng = plan_rng(s.plan.seed, s.plan.index, f"user:{s.request}")
            step = request.steps[0]
            api, args = step.calls[0]
            target = ""
            if step.link is not None:
                rows = _records(_latest(s.messages, step.link.source), step.link.key)
                if not rows:
                    out.append(Failure("the earlier result has no record to refer to"))
                    continue
                row = rng.choice(rows)
                name = str(row.get("name") or row[step.link.key])
                k = rows.index(row)
                target = rng.choice(
                    (
                        name,
                        f"{name}, the {ph.ORDINALS[k]} result",
                        f"the {ph.ORDINALS[k]} one, {name}",
                        f"{name} (the {ph.ORDINALS[k]} one)",
                        f"the {ph.ORDINALS[k]} option, {name}",
                        f"{name}, number {k + 1} on the list",
                        f"{name} from that list",
                        f"{name}, which came {ph.ORDINALS[k]}",
                        f"that {name} one",
                    )
                    if k < len(ph.ORDINALS)
                    else (name, f"{name} from that list")
                )
            body = ph.request_body(api, s.plan.info(api), args, rng, target=target)
            if rng.random() < 0.5:
                text = ph.fill(rng.choice(ph.FOLLOW_UPS), rng, r=body)
            else:
                text = f"{rng.choice(ph.ACKS)} {ph.fill(rng.choice(ph.NEXTS), rng, r=body)}"
            if rng.random() < TAIL_P / 2:
                tail = _extra(ph.TAILS, rng, s.plan)
                text = f"{text} {tail}" if tail else text
            out.append(text)
        return out


def _list_answer(result: Mapping[str, Any], info: ApiInfo, rng: random.Random) -> str:
    rows = [r for r in result.get("results") or () if isinstance(r, Mapping)]
    items = []
    for r in rows:
        name = r.get("name") or next((v for k, v in r.items() if k.endswith("_id")), None)
        if name is None:
            continue
        score = r.get("score")
        items.append((str(name), score if isinstance(score, (int, float)) else None))
    if not items:
        return ""
    shown = [f"{n} ({s})" if s is not None else n for n, s in items]
    slots = {
        "list": ph.join(shown),
        "first": items[0][0],
        "score": items[0][1],
        "rest": ph.join(shown[1:]),
        "total": result.get("total"),
        "entities": (info.entity or "result").replace("_", " ") + "s",
    }
    usable = [
        t
        for t in ph.LIST_ANSWERS
        if not ("{rest}" in t and len(items) < 2)
        and not ("{score}" in t and items[0][1] is None)
        and not (
            "{total}" in t
            and not (isinstance(result.get("total"), int) and result["total"] > len(items))
        )
    ]
    return ph.fill(rng.choice(usable), rng, **slots)


def _one_answer(
    api: ToolSpec, info: ApiInfo, call: ToolCall, result: Any, rng: random.Random
) -> str:
    """An answer sentence about one result, stating only facts found in it."""
    if not isinstance(result, Mapping):
        return f"The call returned {ph.render_value(result)}."
    if isinstance(result.get("results"), list):
        text = _list_answer(result, info, rng)
        if text:
            return text
    entity = (info.entity or "record").replace("_", " ")
    rid = result.get(f"{info.entity}_id")
    message, status, summary = (result.get(k) for k in ("message", "status", "summary"))
    if isinstance(message, str) and message and not message.endswith((".", "!", "?")):
        message += "."
    if isinstance(status, str) and isinstance(rid, str):
        slots = {
            "entity": entity,
            "entity_cap": ph.cap(entity),
            "id": rid,
            "status": status,
            "message": message if isinstance(message, str) else "",
        }
        usable = [t for t in ph.ACTION_ANSWERS if isinstance(message, str) or "{message}" not in t]
        return ph.fill(rng.choice(usable), rng, **slots)
    if isinstance(summary, str) and summary:
        return ph.fill(
            rng.choice(ph.VALUE_ANSWERS), rng, summary=summary, summary_cap=ph.cap(summary)
        )
    facts = [
        f"{k.replace('_', ' ')} {ph.render_value(v)}"
        for k, v in result.items()
        if isinstance(v, (str, int, float)) and not isinstance(v, bool)
    ]
    summary = ph.join(facts[:4]) or f"{api.name.replace('_', ' ')} finished"
    return ph.fill(rng.choice(ph.VALUE_ANSWERS), rng, summary=summary, summary_cap=ph.cap(summary))


class PlannedAssistant:
    """Follows the plan: asks for the missing argument, makes the planned calls (taking linked
    values from earlier results), retries a call after a transient error and explains a
    permanent one, then answers from the results. With ``thoughts`` > 0, that share of its
    turns carries a thought (a plan for the turn) in ``state.thoughts``."""

    def __init__(self, thoughts: float = 0.0) -> None:
        self.thoughts = thoughts

    def respond(self, states: Sequence[DialogState]) -> list[Message | Failure]:
        return [self._respond(s) for s in states]

    def _think(
        self, state: DialogState, bank: Sequence[str], rng: random.Random, **slots: Any
    ) -> None:
        if self.thoughts and rng.random() < self.thoughts:
            state.thoughts[len(state.messages)] = ph.fill(rng.choice(bank), rng, **slots)

    def _respond(self, state: DialogState) -> Message | Failure:
        plan = state.plan
        rng = plan_rng(plan.seed, plan.index, f"assistant:{len(state.messages)}")
        request = state.current
        if plan.type == "non_tool" or request is None:
            wanted = plan.unsupported
            act = ph.action(plan.info(wanted), wanted, rng, article=True) if wanted else "do that"
            abilities = ph.join([ph.action(plan.info(t), t, article=True) for t in plan.tools[:3]])
            self._think(state, ph.REFUSE_THOUGHTS, rng, action=act)
            return Message(
                "assistant", ph.fill(rng.choice(ph.REFUSALS), rng, action=act, abilities=abilities)
            )
        api0, _ = request.steps[0].calls[0]
        if request.missing and not state.asked:
            slots = {
                "label": ph.label(request.missing),
                "a_label": ph.indefinite(ph.label(request.missing)),
                "action": ph.action(plan.info(api0), api0, rng, article=True),
            }
            self._think(state, ph.ASK_THOUGHTS, rng, **slots)
            return Message("assistant", ph.fill(rng.choice(ph.CLARIFY_QUESTIONS), rng, **slots))
        recent = _since_user(state.messages)
        turns = [m for m in recent if m.role == "assistant" and m.tool_calls]
        errors = [r for _, r in _results(recent) if error_of(r) is not None]
        last = recent[-1] if recent else None
        failed = (
            error_of(_results([last])[0][1]) if last is not None and last.role == "tool" else None
        )
        if failed is not None:
            if plan.transient and len(errors) == 1:  # a transient error: the same calls again
                calls = tuple(
                    c.replace(id=f"call_{state.calls_made + i}")
                    for i, c in enumerate(turns[-1].tool_calls)
                )
                return Message("assistant", None, calls)
            info = plan.info(api0)
            text = ph.fill(
                rng.choice(ph.ERROR_ANSWERS),
                rng,
                action=ph.action(info, api0, rng, article=True),
                service=(info.subdomain or info.domain or api0.name).replace("_", " "),
                message=failed["message"],
            )
            self._think(state, ph.TEXT_THOUGHTS, rng)
            return Message("assistant", text)
        done = len(turns) - len(errors)
        if done < len(request.steps):
            return self._calls(state, request.steps[done], rng)
        answers = []
        tools = {t.name: t for t in plan.tools}
        payloads = {m.tool_call_id: m for m in recent if m.role == "tool"}
        for call in turns[-1].tool_calls if turns else ():
            api, reply = tools.get(call.name), payloads.get(call.id)
            if api is not None and reply is not None:
                payload = _results([reply])[0][1]
                answers.append(_one_answer(api, plan.info(api), call, payload, rng))
        text = " ".join(answers) or "Done."
        if errors:
            text = f"{rng.choice(ph.RETRY_PREFIXES)} {text}"
        self._think(state, ph.TEXT_THOUGHTS, rng)
        return Message("assistant", text)

    def _calls(self, state: DialogState, step: Step, rng: random.Random) -> Message | Failure:
        calls: list[ToolCall] = []
        for i, (api, args) in enumerate(step.calls):
            args = dict(args)
            link: Dependency | None = step.link
            if link is not None and i == 0:
                value = self._linked(state, link)
                if value is None:
                    return Failure("the earlier result lacks the value the next call needs")
                args[link.argument] = value
            calls.append(ToolCall(api.name, args, f"call_{state.calls_made + len(calls)}"))
        api0, _ = step.calls[0]
        self._think(
            state,
            ph.CALL_THOUGHTS,
            rng,
            api=api0.name,
            action=ph.action(state.plan.info(api0), api0, article=True),
            args=", ".join(
                f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in calls[0].arguments.items()
            )
            or "no arguments",
        )
        return Message("assistant", None, tuple(calls))

    @staticmethod
    def _linked(state: DialogState, link: Dependency) -> Any:
        rows = _records(_latest(state.messages, link.source), link.key)
        if not rows:
            return None
        if link.pick == "named":
            said = next((m.content or "" for m in reversed(state.messages) if m.role == "user"), "")
            for row in rows:
                if str(row.get("name") or row[link.key]) in said:
                    return row[link.key]
        return rows[0][link.key]


class WorldTool:
    """Answers from one consistent world (:func:`~ifrl.toolgen.world.simulate`): results fit
    the call, the response schema and the records returned earlier in the dialog; a
    ``tool_error`` plan's first call gets an error result."""

    def execute(self, requests: Sequence[tuple[DialogState, ToolSpec, ToolCall]]) -> list[Any]:
        out: list[Any] = []
        for state, api, call in requests:
            plan = state.plan
            rng = plan_rng(plan.seed, plan.index, f"tool:{call.id}")
            info = plan.info(api)
            if plan.transient is not None and call.id == "call_0":
                out.append(failure(api, info, call, plan.transient, rng))
                continue
            try:
                out.append(simulate(api, info, call, state.records, rng))
            except SampleError as err:
                out.append(Failure(f"cannot simulate {api.name}: {err}"))
        return out


__all__ = ["PlannedAssistant", "TemplateUser", "WorldTool", "describe_request"]
