"""Dialog generation with three agents: user, assistant and tool.

A :class:`Planner` picks, for dialog ``index``, its type, the tools offered and (for the
programmatic agents) the correct calls with argument values sampled from the schemas. Then the
agents talk: the user asks, the assistant calls tools, asks for a missing argument or answers,
the tool returns results that fit the API's response schema. Dialog types:

* ``single`` — one call; ``parallel`` — several calls in one assistant turn;
* ``dependent`` — a later call takes an argument from an earlier tool result;
* ``non_tool`` — no offered tool fits, the right answer is no call;
* ``clarify`` — a required argument is missing, the assistant asks for it first.

Each agent has a programmatic implementation (templates of our own; offline data with a known
correct answer) and a model-driven one (prompts to any :class:`~ifrl.core.generation.Generator`;
agents are called with whole batches so the backend runs requests concurrently). Model failures
(unparseable calls, non-JSON tool results, unknown functions) end the dialog with a reason
instead of raising.

A :class:`ComplexityEvaluator` scores samples by the target model's loss
H = -(1/n) Σ log p(t_i | x, t_<i) on the first assistant reply, drops samples outside
``[low, high]`` and steers the type/complexity mix away from buckets that come out too easy or too
hard.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ifrl.core.generation import Generator
from ifrl.core.records import Conversation, Message, SamplingParams, ToolCall
from ifrl.core.toolcalls import (
    ToolCallParseError,
    detect_format,
    parse_tool_calls,
    render_tool_calls,
)
from ifrl.toolgen.apis import Api, extract_json
from ifrl.toolgen.backend import BackendFailure, first_text, safe_generate
from ifrl.toolgen.dialog import DIALOG_TYPES, Dialog, DialogType, tool_message
from ifrl.toolgen.schema import SampleError, sample_value, value_issues

# --------------------------------------------------------------------------------------------
# Plans


@dataclass(frozen=True)
class Step:
    """Calls the assistant should make in one turn: ``(api, arguments)`` pairs."""

    calls: tuple[tuple[Api, dict[str, Any]], ...]


@dataclass(frozen=True)
class Dependency:
    """Argument ``argument`` of the call in step 1 comes from ``path`` of step 0's result."""

    argument: str
    path: tuple[str | int, ...]


@dataclass(frozen=True)
class Plan:
    """What a dialog should contain; the programmatic agents follow it exactly."""

    index: int
    type: DialogType
    tools: tuple[Api, ...]
    steps: tuple[Step, ...] = ()
    dependency: Dependency | None = None
    missing: str | None = None  # clarify: the required argument left out of the request
    unsupported: Api | None = None  # non_tool: the API the user asks for, not offered
    seed: int = 0


def _rng(seed: int, index: int, salt: str = "") -> random.Random:
    return random.Random(f"{seed}:{index}:{salt}")


def _arguments(api: Api, rng: random.Random, *, optional_p: float = 0.5) -> dict[str, Any]:
    pools = (api.meta or {}).get("pools", {}) if isinstance(api.meta, Mapping) else {}
    required = set(api.required)
    out: dict[str, Any] = {}
    for name, schema in api.properties.items():
        if name in required or rng.random() < optional_p:
            out[name] = sample_value(schema or {}, rng, pools.get(name))
    return out


class Planner:
    """Chooses type, tools and ground-truth calls for each dialog index (seeded per index).

    ``weights`` (per dialog type) switch from round-robin types to weighted sampling; the
    complexity evaluator adjusts them.
    """

    def __init__(self, apis: Sequence[Api], seed: int = 0, *, max_tools: int = 4) -> None:
        if len(apis) < 2:
            raise ValueError("a dialog planner needs at least two APIs")
        self.apis = list(apis)
        self.seed = seed
        self.max_tools = max_tools
        self.weights: dict[str, float] | None = None
        self.by_domain: dict[str, list[Api]] = {}
        for api in self.apis:
            self.by_domain.setdefault(api.domain, []).append(api)
        self.pairs: list[tuple[Api, Api]] = []
        for group in self.by_domain.values():
            producers = [a for a in group if a.role == "producer"]
            consumers = [a for a in group if a.role == "consumer" and a.entity]
            for p in producers:
                for c in consumers:
                    if f"{c.entity}_id" in c.properties and p.entity == c.entity:
                        self.pairs.append((p, c))

    def type_for(self, index: int) -> DialogType:
        if self.weights is None:
            return DIALOG_TYPES[index % len(DIALOG_TYPES)]
        rng = _rng(self.seed, index, "type")
        kinds = list(DIALOG_TYPES)
        return rng.choices(kinds, [self.weights.get(k, 1.0) for k in kinds])[0]

    def plan(self, index: int, kind: DialogType | None = None) -> Plan:
        """The plan for dialog ``index``; raises ``SampleError`` when no plan can be drawn."""
        kind = kind or self.type_for(index)
        rng = _rng(self.seed, index)
        for _ in range(20):
            try:
                plan = getattr(self, f"_plan_{kind}")(index, rng)
            except SampleError:
                continue
            if plan is not None:
                return plan  # type: ignore[no-any-return]
        raise SampleError(f"could not plan a {kind} dialog for index {index}")

    def _tools(
        self, core: Sequence[Api], rng: random.Random, exclude: Sequence[Api] = ()
    ) -> tuple[Api, ...]:
        names = {a.name for a in core} | {a.name for a in exclude}
        same = [a for a in self.by_domain.get(core[0].domain, []) if a.name not in names]
        others = [a for a in self.apis if a.name not in names]
        extra = rng.randint(1, max(1, self.max_tools - len(core)))
        pool = same if same and rng.random() < 0.7 else others
        distract = rng.sample(pool, min(extra, len(pool))) if pool else []
        tools = [*core, *distract]
        rng.shuffle(tools)
        return tuple({t.name: t for t in tools}.values())

    def _plan_single(self, index: int, rng: random.Random) -> Plan:
        api = rng.choice(self.apis)
        args = _arguments(api, rng)
        return Plan(
            index, "single", self._tools([api], rng), (Step(((api, args),)),), seed=self.seed
        )

    def _plan_parallel(self, index: int, rng: random.Random) -> Plan:
        api = rng.choice(self.apis)
        n = rng.randint(2, 3)
        group = [a for a in self.by_domain.get(api.domain, []) if a.name != api.name]
        if group and rng.random() < 0.5:
            apis = [api, *rng.sample(group, min(n - 1, len(group)))]
        else:
            apis = [api] * n
        calls: list[tuple[Api, dict[str, Any]]] = []
        for a in apis:
            args = _arguments(a, rng)
            if all(
                json.dumps(args, sort_keys=True) != json.dumps(c, sort_keys=True) for _, c in calls
            ):
                calls.append((a, args))
        if len(calls) < 2:
            return None  # type: ignore[return-value]
        core = list({a.name: a for a, _ in calls}.values())
        return Plan(
            index, "parallel", self._tools(core, rng), (Step(tuple(calls)),), seed=self.seed
        )

    def _plan_dependent(self, index: int, rng: random.Random) -> Plan:
        if not self.pairs:
            raise SampleError("no producer/consumer API pair in the pool")
        producer, consumer = rng.choice(self.pairs)
        id_name = f"{consumer.entity}_id"
        first = _arguments(producer, rng)
        second = _arguments(consumer, rng)
        second[id_name] = "<from step 1>"
        return Plan(
            index,
            "dependent",
            self._tools([producer, consumer], rng),
            (Step(((producer, first),)), Step(((consumer, second),))),
            dependency=Dependency(id_name, ("results", 0, id_name)),
            seed=self.seed,
        )

    def _plan_non_tool(self, index: int, rng: random.Random) -> Plan:
        wanted = rng.choice(self.apis)
        offered = [a for a in self.apis if a.domain != wanted.domain]
        if len(offered) < 2:
            raise SampleError("non-tool dialogs need APIs from two domains")
        core = rng.sample(offered, min(len(offered), rng.randint(2, self.max_tools)))
        args = _arguments(wanted, rng)
        return Plan(
            index,
            "non_tool",
            tuple(core),
            (Step(((wanted, args),)),),
            unsupported=wanted,
            seed=self.seed,
        )

    def _plan_clarify(self, index: int, rng: random.Random) -> Plan:
        cands = [
            a
            for a in self.apis
            if [r for r in a.required if not r.endswith("_id") and r in a.properties]
        ]
        if not cands:
            raise SampleError("no API with a required argument a user could leave out")
        api = rng.choice(cands)
        args = _arguments(api, rng)
        missing = rng.choice([r for r in api.required if not r.endswith("_id")])
        return Plan(
            index,
            "clarify",
            self._tools([api], rng),
            (Step(((api, args),)),),
            missing=missing,
            seed=self.seed,
        )


# --------------------------------------------------------------------------------------------
# Dialog state and agent interfaces


@dataclass
class DialogState:
    """A dialog in progress."""

    plan: Plan
    messages: list[Message] = field(default_factory=list)
    step: int = 0
    asked: bool = False
    done: bool = False
    failure: str | None = None
    calls_made: int = 0

    def fail(self, reason: str) -> None:
        self.failure = reason
        self.done = True

    def conversation(self) -> Conversation:
        return Conversation(tuple(self.messages), tuple(t.to_spec() for t in self.plan.tools))


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


@runtime_checkable
class AssistantAgent(Protocol):
    """Writes the assistant's turns: tool calls or text."""

    def respond(self, states: Sequence[DialogState]) -> list[Message | Failure]: ...


@runtime_checkable
class ToolAgent(Protocol):
    """Simulates APIs: a JSON result for each ``(state, api, call)``."""

    def execute(self, requests: Sequence[tuple[DialogState, Api, ToolCall]]) -> list[Any]: ...


# --------------------------------------------------------------------------------------------
# Programmatic agents


def render_value(value: Any) -> str:
    """How a query writes a value; the verifier's grounding check looks for exactly this."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        parts = [render_value(v) for v in value]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if isinstance(value, Mapping):
        return (
            "("
            + ", ".join(f"{k.replace('_', ' ')} {render_value(v)}" for k, v in value.items())
            + ")"
        )
    return str(value)


def phrase(api: Api, name: str, value: Any) -> str:
    """One argument as a phrase of a request (``"in Paris"``, ``"with details"``)."""
    phrases = (api.meta or {}).get("phrases", {}) if isinstance(api.meta, Mapping) else {}
    template = phrases.get(name) or f"{name.replace('_', ' ')} {{v}}"
    if isinstance(value, bool):
        if "{flag}" in template:
            return template.replace("{flag}", "with" if value else "without")
        return f"{'with' if value else 'without'} {name.replace('_', ' ')}"
    return template.replace("{flag}", "with").replace("{v}", render_value(value))


def describe_request(api: Api, args: Mapping[str, Any], skip: Sequence[str] = ()) -> str:
    """A request for ``api`` mentioning every argument (except ``skip``)."""
    action = api.functionalities[0] if api.functionalities else api.name.replace("_", " ")
    parts = [phrase(api, k, v) for k, v in args.items() if k not in skip]
    return action + (" " + " ".join(parts) if parts else "")


_OPENERS = ("Can you", "Please", "Could you", "I need you to", "Help me")
_THEN = ("then", "after that", "and once you have it,")


class TemplateUser:
    """Writes requests from templates so every argument value appears in the text."""

    def open(self, states: Sequence[DialogState]) -> list[str | Failure]:
        return [self._open(s.plan) for s in states]

    def _open(self, plan: Plan) -> str:
        rng = _rng(plan.seed, plan.index, "user")
        opener = rng.choice(_OPENERS)
        end = "?" if opener in ("Can you", "Could you") else "."
        if plan.type in ("single", "non_tool"):
            api, args = plan.steps[0].calls[0]
            return f"{opener} {describe_request(api, args)}{end}"
        if plan.type == "clarify":
            api, args = plan.steps[0].calls[0]
            return f"{opener} {describe_request(api, args, skip=[plan.missing or ''])}{end}"
        if plan.type == "parallel":
            parts = [describe_request(api, args) for api, args in plan.steps[0].calls]
            return f"{opener} {'; also '.join(parts)}{end}"
        (p_api, p_args), (c_api, c_args) = plan.steps[0].calls[0], plan.steps[1].calls[0]
        dep = plan.dependency
        rest = describe_request(c_api, c_args, skip=[dep.argument if dep else ""])
        return (
            f"{opener} {describe_request(p_api, p_args)}, {rng.choice(_THEN)} "
            f"{rest} for the first {c_api.entity.replace('_', ' ') or 'result'} you find{end}"
        )

    def clarify(self, states: Sequence[DialogState]) -> list[str | Failure]:
        out: list[str | Failure] = []
        for s in states:
            api, args = s.plan.steps[0].calls[0]
            missing = s.plan.missing
            if missing is None or missing not in args:
                out.append(Failure("nothing to clarify"))
                continue
            out.append(f"Sure: {phrase(api, missing, args[missing])}.")
        return out


def _lookup(value: Any, path: Sequence[str | int]) -> Any:
    for key in path:
        ok_list = (
            isinstance(key, int) and isinstance(value, list) and -len(value) <= key < len(value)
        )
        ok_map = isinstance(key, str) and isinstance(value, Mapping) and key in value
        if not (ok_list or ok_map):
            raise KeyError(key)
        value = value[key]  # type: ignore[index]
    return value


def _results(messages: Sequence[Message]) -> list[tuple[str, Any]]:
    out = []
    for m in messages:
        if m.role == "tool":
            try:
                out.append((m.name or "", json.loads(m.content or "null")))
            except ValueError:
                out.append((m.name or "", m.content))
    return out


def summarize_results(results: Sequence[tuple[str, Any]]) -> str:
    """A short answer that reports scalar fields of the tool results."""
    parts = []
    for name, result in results:
        facts = []
        if isinstance(result, Mapping):
            for key, value in result.items():
                if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                    facts.append(f"{key.replace('_', ' ')} {value}")
                elif isinstance(value, list) and value and isinstance(value[0], Mapping):
                    first = value[0]
                    label = next((str(v) for v in first.values() if isinstance(v, str)), "")
                    facts.append(f"{len(value)} {key.replace('_', ' ')} (first: {label})")
        parts.append(f"{name.replace('_', ' ')}: " + (", ".join(facts[:4]) or "done"))
    return "Here is what I found. " + "; ".join(parts) + "."


class PlannedAssistant:
    """Follows the plan: asks for the missing argument, makes the planned calls, then answers."""

    def respond(self, states: Sequence[DialogState]) -> list[Message | Failure]:
        return [self._respond(s) for s in states]

    def _respond(self, state: DialogState) -> Message | Failure:
        plan = state.plan
        if plan.type == "non_tool":
            api = plan.unsupported
            action = api.functionalities[0] if api and api.functionalities else "do that"
            names = ", ".join(t.name for t in plan.tools)
            return Message(
                "assistant",
                f"I'm sorry, none of the available tools ({names}) can {action}, so I can't do "
                "that here.",
            )
        if plan.type == "clarify" and not state.asked:
            api, _ = plan.steps[0].calls[0]
            missing = plan.missing or ""
            desc = str((api.properties.get(missing) or {}).get("description", "")).rstrip(".")
            label = missing.replace("_", " ")
            return Message(
                "assistant",
                f"I can do that. Which {label} should I use?" + (f" ({desc})" if desc else ""),
            )
        if state.step < len(plan.steps):
            step = plan.steps[state.step]
            calls: list[ToolCall] = []
            for api, args in step.calls:
                args = dict(args)
                dep = plan.dependency
                if dep is not None and state.step == 1 and dep.argument in args:
                    results = _results(state.messages)
                    if not results:
                        return Failure("dependent call without an earlier result")
                    try:
                        args[dep.argument] = _lookup(results[-1][1], dep.path)
                    except KeyError:
                        return Failure("the earlier result lacks the value the next call needs")
                calls.append(ToolCall(api.name, args, f"call_{state.calls_made + len(calls)}"))
            return Message("assistant", None, tuple(calls))
        return Message("assistant", summarize_results(_results(state.messages)))


class SchemaTool:
    """Returns results sampled from the API's response schema (seeded per dialog and call).

    Result fields named like an argument echo that argument's value (an id stays the same id).
    """

    def execute(self, requests: Sequence[tuple[DialogState, Api, ToolCall]]) -> list[Any]:
        out: list[Any] = []
        for state, api, call in requests:
            rng = _rng(state.plan.seed, state.plan.index, f"tool:{call.id}")
            try:
                result = sample_value(api.responses or {"type": "object"}, rng)
            except SampleError as err:
                out.append(Failure(f"cannot simulate {api.name}: {err}"))
                continue
            if isinstance(result, dict):
                props = (api.responses or {}).get("properties", {})
                for key, value in call.arguments.items():
                    if key in props and not value_issues(props[key], value):
                        result[key] = value
            out.append(result)
        return out


# --------------------------------------------------------------------------------------------
# Model-driven agents

_USER_PROMPT = """You play a user talking to an assistant that can call these tools:
{tools}
Write the user's first message for this kind of request: {kind}.
Mention concrete values for the arguments the call needs{extra}. Reply with the message only.
"""
_KIND_TEXT = {
    "single": "one request that needs exactly one tool call",
    "parallel": "a request that needs several independent tool calls at once",
    "dependent": "a request where a second call needs a value returned by a first call",
    "non_tool": "a request that none of the tools can handle",
    "clarify": "a request that needs a tool but leaves out one required value",
}
_CLARIFY_PROMPT = """The assistant asked: {question}
You are the user. Earlier you asked: {request}
Answer the question with a concrete value, in one short sentence."""
_TOOL_PROMPT = """You simulate the API below. Given the call, reply with the API's JSON result only,
fitting its response schema.
API: {api}
Call: {call}
"""


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
    """A user agent backed by a model."""

    def __init__(self, generator: Generator, params: SamplingParams | None = None) -> None:
        self.generator = generator
        self.params = params or SamplingParams(temperature=0.8, max_new_tokens=128, seed=0)

    def open(self, states: Sequence[DialogState]) -> list[str | Failure]:
        prompts = []
        for s in states:
            tools = "\n".join(
                json.dumps(t.to_openai()["function"], ensure_ascii=False) for t in s.plan.tools
            )
            extra = f", except the value of {s.plan.missing!r}" if s.plan.missing else ""
            if s.plan.type == "non_tool" and s.plan.unsupported is not None:
                extra += f"; ask to {describe_request(s.plan.unsupported, {})} instead"
            prompts.append(
                _USER_PROMPT.format(tools=tools, kind=_KIND_TEXT[s.plan.type], extra=extra)
            )
        return _user_texts(_complete(self.generator, prompts, self.params))

    def clarify(self, states: Sequence[DialogState]) -> list[str | Failure]:
        prompts = [
            _CLARIFY_PROMPT.format(
                question=s.messages[-1].content or "", request=s.messages[0].content or ""
            )
            for s in states
        ]
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
    """A tool agent backed by a model; the reply must be a JSON object."""

    def __init__(self, generator: Generator, params: SamplingParams | None = None) -> None:
        self.generator = generator
        self.params = params or SamplingParams(temperature=0.3, max_new_tokens=256, seed=0)

    def execute(self, requests: Sequence[tuple[DialogState, Api, ToolCall]]) -> list[Any]:
        prompts = [
            _TOOL_PROMPT.format(
                api=json.dumps(api.to_openai(with_responses=True)["function"], ensure_ascii=False),
                call=render_tool_calls([call], "json"),
            )
            for _, api, call in requests
        ]
        out: list[Any] = []
        for text in _complete(self.generator, prompts, self.params):
            if isinstance(text, Failure):
                out.append(text)
                continue
            try:
                value = extract_json(text)
            except ValueError:
                out.append(Failure("tool agent reply is not JSON"))
                continue
            out.append(
                value if isinstance(value, dict) else Failure("tool result is not a JSON object")
            )
        return out


# --------------------------------------------------------------------------------------------
# Complexity evaluation


@runtime_checkable
class LossScorer(Protocol):
    """The target model's mean token loss of ``target`` given ``prompt``, per pair."""

    def losses(self, pairs: Sequence[tuple[str, str]]) -> list[float]: ...


class HFLossScorer:
    """:class:`LossScorer` over a transformers causal LM (the target model)."""

    def __init__(self, model: str | Any, tokenizer: Any = None, device: str = "cpu") -> None:
        from ifrl.core.errors import require

        require("torch", "ifrl-core", "hf")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        loaded: Any = (
            AutoModelForCausalLM.from_pretrained(str(model)) if isinstance(model, str) else model
        )
        self.tokenizer = tokenizer or AutoTokenizer.from_pretrained(str(model))
        self.device = device
        loaded.to(device)
        loaded.eval()
        self.model = loaded

    def losses(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        torch = self.torch
        out = []
        with torch.no_grad():
            for prompt, target in pairs:
                p = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
                t = self.tokenizer(target, add_special_tokens=False)["input_ids"]
                if not t:
                    out.append(0.0)
                    continue
                ids = torch.tensor([p + t], device=self.device)
                logits = (
                    self.model(ids).logits[0, len(p) - 1 : -1]
                    if p
                    else self.model(ids).logits[0, :-1]
                )
                tgt = ids[0, len(p) :] if p else ids[0, 1:]
                logp = torch.log_softmax(logits.float(), dim=-1).gather(1, tgt[:, None])[:, 0]
                out.append(float(-logp.mean()))
        return out


def complexity_pair(dialog: Dialog) -> tuple[str, str] | None:
    """``(x, t)`` for the loss: x = tools + messages before the first assistant turn, t = that turn."""
    for i, m in enumerate(dialog.messages):
        if m.role == "assistant":
            tools = json.dumps(
                [t.to_openai()["function"] for t in dialog.tools], ensure_ascii=False
            )
            context = "\n".join(f"{p.role}: {p.content or ''}" for p in dialog.messages[:i])
            target = (
                render_tool_calls(m.tool_calls, "python") if m.tool_calls else (m.content or "")
            )
            return f"tools: {tools}\n{context}\nassistant: ", target
    return None


class ComplexityEvaluator:
    """Keeps samples whose loss H lies in ``[low, high]`` and steers the type mix.

    Each kept/dropped sample nudges its dialog type's weight: too easy or too hard multiplies it
    by ``1 - rate``, in range by ``1 + rate`` (bounded to [0.05, 20]).
    """

    def __init__(
        self, scorer: LossScorer, low: float = 0.0, high: float = float("inf"), rate: float = 0.1
    ) -> None:
        self.scorer = scorer
        self.low = low
        self.high = high
        self.rate = rate
        self.weights: dict[str, float] = {k: 1.0 for k in DIALOG_TYPES}
        self.counts: Counter[str] = Counter()

    def judge(self, dialogs: Sequence[Dialog]) -> list[tuple[float | None, str | None]]:
        """``(H, reason)`` per dialog; reason is ``too_easy``/``too_hard`` or ``None`` (keep)."""
        pairs = [complexity_pair(d) for d in dialogs]
        todo = [p for p in pairs if p is not None]
        scores = iter(self.scorer.losses(todo)) if todo else iter(())
        out: list[tuple[float | None, str | None]] = []
        for dialog, pair in zip(dialogs, pairs):
            if pair is None:
                out.append((None, None))
                continue
            h = next(scores)
            reason = "too_easy" if h < self.low else "too_hard" if h > self.high else None
            factor = 1 - self.rate if reason else 1 + self.rate
            self.weights[dialog.type] = min(20.0, max(0.05, self.weights[dialog.type] * factor))
            self.counts[reason or "in_range"] += 1
            out.append((h, reason))
        return out


# --------------------------------------------------------------------------------------------
# Orchestration


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
    turn. ``max_turns`` bounds assistant turns per dialog.
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
        max_turns: int = 6,
        system: str | None = None,
    ) -> None:
        self.planner = planner
        self.user = user or TemplateUser()
        self.assistant = assistant or PlannedAssistant()
        self.tool = tool or SchemaTool()
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
            calling: list[tuple[DialogState, Api, ToolCall]] = []
            for state, reply in zip(live, replies):
                if isinstance(reply, Failure):
                    state.fail(reply.reason)
                    continue
                state.messages.append(reply)
                if reply.tool_calls:
                    state.step += 1
                    state.calls_made += len(reply.tool_calls)
                    for call in reply.tool_calls:
                        api = next((t for t in state.plan.tools if t.name == call.name), None)
                        if api is None:
                            state.fail(f"assistant called unknown function {call.name!r}")
                            break
                        calling.append((state, api, call))
                elif state.plan.type == "clarify" and not state.asked:
                    state.asked = True
                    asking.append(state)
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
                    "domain": s.plan.steps[0].calls[0][0].domain if s.plan.steps else "",
                },
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


__all__ = [
    "AssistantAgent",
    "ComplexityEvaluator",
    "Dependency",
    "DialogGenerator",
    "DialogResult",
    "DialogState",
    "Failure",
    "HFLossScorer",
    "LossScorer",
    "ModelAssistant",
    "ModelTool",
    "ModelUser",
    "Plan",
    "PlannedAssistant",
    "Planner",
    "SchemaTool",
    "Step",
    "TemplateUser",
    "ToolAgent",
    "UserAgent",
    "complexity_pair",
    "describe_request",
    "phrase",
    "render_value",
    "summarize_results",
]
