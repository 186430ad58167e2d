"""Dialog plans: for dialog ``index``, its type, the tools offered, the requests and their calls.

A :class:`Planner` draws, seeded per index, one of seven dialog types:

* ``single`` — one call; ``parallel`` — several calls in one assistant turn;
* ``dependent`` — a later call takes an argument from an earlier tool result;
* ``non_tool`` — no offered tool fits, the right answer is no call;
* ``clarify`` — a required argument is missing, the assistant asks for that one first;
* ``multi_request`` — a session of 2-4 requests; the second acts on a record the first
  returned (the user names it), later ones continue in the same scene;
* ``tool_error`` — the tool fails: after a transient error the assistant retries, after a
  permanent one it explains;

and the argument values of the calls, drawn from one :class:`~ifrl.toolgen.world.Scene` per
dialog (a known correct answer the programmatic agents follow).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ifrl.core.records import ToolSpec
from ifrl.toolgen.apis import ApiInfo
from ifrl.toolgen.dialog import DIALOG_TYPES, DialogType
from ifrl.toolgen.phrasing import render_value
from ifrl.toolgen.semantic import leaves, mentioned
from ifrl.toolgen.tool_schema import SampleError
from ifrl.toolgen.world import Scene, arguments


@dataclass(frozen=True)
class Dependency:
    """Argument ``argument`` comes from the latest result of ``source`` (an API name): the
    record at ``pick`` (``first``, or the one the user named) of its ``results``, field ``key``."""

    argument: str
    source: str
    key: str
    pick: Literal["first", "named"] = "first"


@dataclass(frozen=True)
class Step:
    """Calls the assistant should make in one turn: ``(api, arguments)`` pairs; ``link`` fills
    an argument of the first call from an earlier result."""

    calls: tuple[tuple[ToolSpec, dict[str, Any]], ...]
    link: Dependency | None = None


@dataclass(frozen=True)
class Request:
    """One user request: its call turns and, for ``clarify``, the required argument the user
    leaves out."""

    steps: tuple[Step, ...]
    missing: str | None = None


@dataclass(frozen=True)
class Plan:
    """What a dialog should contain; the programmatic agents follow it exactly."""

    index: int
    type: DialogType
    tools: tuple[ToolSpec, ...]
    requests: tuple[Request, ...] = ()
    unsupported: ToolSpec | None = None  # non_tool: the API the user asks for, not offered
    transient: bool | None = None  # tool_error: the first call fails (True: retry, False: explain)
    seed: int = 0
    scene: Scene | None = field(default=None, repr=False, compare=False)
    infos: Mapping[str, ApiInfo] = field(default_factory=dict, repr=False, compare=False)

    def info(self, api: ToolSpec) -> ApiInfo:
        """The metadata of one of the plan's APIs (from the planner's table)."""
        found = self.infos.get(api.name)
        return found if found is not None else ApiInfo.of(api)

    @property
    def steps(self) -> tuple[Step, ...]:
        """The call turns of all requests, in order."""
        return tuple(s for r in self.requests for s in r.steps)

    @property
    def missing(self) -> str | None:
        """The argument a ``clarify`` dialog's request leaves out."""
        return next((r.missing for r in self.requests if r.missing), None)


def plan_rng(seed: int, index: int, salt: str = "") -> random.Random:
    """The random source of dialog ``index`` (and of one of its parts, ``salt``)."""
    return random.Random(f"{seed}:{index}:{salt}")


class Planner:
    """Chooses type, tools and ground-truth calls for each dialog index (seeded per index).

    ``weights`` (per dialog type) switch from round-robin types to weighted sampling; the
    complexity evaluator adjusts them, ``ifrl toolgen dialogs --mix`` sets them.
    """

    def __init__(self, apis: Sequence[ToolSpec], seed: int = 0, *, max_tools: int = 4) -> None:
        if len(apis) < 2:
            raise ValueError("a dialog planner needs at least two APIs")
        self.apis = list(apis)
        self.seed = seed
        self.max_tools = max_tools
        self.weights: dict[str, float] | None = None
        self.info = {api.name: ApiInfo.of(api) for api in self.apis}
        self.by_domain: dict[str, list[ToolSpec]] = {}
        for api in self.apis:
            self.by_domain.setdefault(self.info[api.name].domain, []).append(api)
        self.pairs: list[tuple[ToolSpec, ToolSpec]] = []
        for group in self.by_domain.values():
            infos = [self.info[a.name] for a in group]
            producers = [(a, i) for a, i in zip(group, infos) if i.role == "producer"]
            consumers = [(a, i) for a, i in zip(group, infos) if i.role == "consumer" and i.entity]
            for p, pi in producers:
                for c, ci in consumers:
                    if f"{ci.entity}_id" in c.properties and pi.entity == ci.entity:
                        self.pairs.append((p, c))
        self.consumers: dict[str, list[ToolSpec]] = {}
        for _, c in self.pairs:
            group = self.consumers.setdefault(self.info[c.name].entity, [])
            if c not in group:
                group.append(c)
        # APIs with a required value a user could leave out (clarify), per API its candidates
        self.leave_out = {
            a.name: [r for r in a.required if not r.endswith("_id") and r in a.properties]
            for a in self.apis
        }
        self.askable = [a for a in self.apis if self.leave_out[a.name]]

    def type_for(self, index: int) -> DialogType:
        if self.weights is None:
            return DIALOG_TYPES[index % len(DIALOG_TYPES)]
        rng = plan_rng(self.seed, index, "type")
        kinds = list(DIALOG_TYPES)
        return rng.choices(kinds, [self.weights.get(k, 1.0) for k in kinds])[0]

    def plan(self, index: int, kind: DialogType | None = None) -> Plan:
        """The plan for dialog ``index``; raises ``SampleError`` when no plan can be drawn."""
        kind = kind or self.type_for(index)
        rng = plan_rng(self.seed, index)
        for _ in range(20):
            scene = Scene.draw(rng)
            try:
                plan: Plan | None = getattr(self, f"_plan_{kind}")(index, rng, scene)
            except SampleError:
                continue
            if plan is not None:
                return plan
        raise SampleError(f"could not plan a {kind} dialog for index {index}")

    def _make(
        self,
        index: int,
        kind: DialogType,
        tools: Sequence[ToolSpec],
        scene: Scene,
        *requests: Request,
        **extra: Any,
    ) -> Plan:
        return Plan(
            index,
            kind,
            tuple(tools),
            requests,
            seed=self.seed,
            scene=scene,
            infos=self.info,
            **extra,
        )

    def _args(self, api: ToolSpec, scene: Scene, rng: random.Random, **kw: Any) -> dict[str, Any]:
        return arguments(api, self.info[api.name], scene, rng, **kw)

    def _tools(
        self, core: Sequence[ToolSpec], rng: random.Random, exclude: Sequence[ToolSpec] = ()
    ) -> tuple[ToolSpec, ...]:
        names = {a.name for a in core} | {a.name for a in exclude}
        domain = self.info[core[0].name].domain
        same = [a for a in self.by_domain.get(domain, []) if a.name not in names]
        others = [a for a in self.apis if a.name not in names]
        extra = rng.randint(1, max(1, self.max_tools - len(core)))
        pool = same if same and rng.random() < 0.7 else others
        distract = rng.sample(pool, min(extra, len(pool))) if pool else []
        tools = [*core, *distract]
        rng.shuffle(tools)
        return tuple({t.name: t for t in tools}.values())

    def _plan_single(self, index: int, rng: random.Random, scene: Scene) -> Plan:
        api = rng.choice(self.apis)
        step = Step(((api, self._args(api, scene, rng)),))
        return self._make(index, "single", self._tools([api], rng), scene, Request((step,)))

    def _plan_parallel(self, index: int, rng: random.Random, scene: Scene) -> Plan | None:
        api = rng.choice(self.apis)
        n = rng.randint(2, 3)
        group = [
            a for a in self.by_domain.get(self.info[api.name].domain, []) if a.name != api.name
        ]
        if group and rng.random() < 0.5:
            apis = [api, *rng.sample(group, min(n - 1, len(group)))]
        else:
            apis = [api] * n
        calls: list[tuple[ToolSpec, dict[str, Any]]] = []
        for i, a in enumerate(apis):
            # the same API again: a second scene (another city, other dates) varies the values
            args = self._args(a, scene if i == 0 else Scene.draw(rng), rng)
            if all(
                json.dumps(args, sort_keys=True) != json.dumps(c, sort_keys=True) for _, c in calls
            ):
                calls.append((a, args))
        if len(calls) < 2:
            return None
        core = list({a.name: a for a, _ in calls}.values())
        step = Step(tuple(calls))
        return self._make(index, "parallel", self._tools(core, rng), scene, Request((step,)))

    def _pair_steps(
        self, rng: random.Random, scene: Scene, pick: Literal["first", "named"]
    ) -> tuple[ToolSpec, ToolSpec, Step, Step]:
        if not self.pairs:
            raise SampleError("no producer/consumer API pair in the pool")
        producer, consumer = rng.choice(self.pairs)
        id_name = f"{self.info[consumer.name].entity}_id"
        first = Step(((producer, self._args(producer, scene, rng)),))
        second_args = self._args(consumer, scene, rng, skip=(id_name,))
        second_args = {id_name: "<from an earlier result>", **second_args}
        link = Dependency(id_name, producer.name, id_name, pick)
        return producer, consumer, first, Step(((consumer, second_args),), link)

    def _plan_dependent(self, index: int, rng: random.Random, scene: Scene) -> Plan:
        producer, consumer, first, second = self._pair_steps(rng, scene, "first")
        tools = self._tools([producer, consumer], rng)
        return self._make(index, "dependent", tools, scene, Request((first, second)))

    def _plan_multi_request(self, index: int, rng: random.Random, scene: Scene) -> Plan:
        producer, consumer, first, second = self._pair_steps(rng, scene, "named")
        requests = [Request((first,)), Request((second,))]
        core = [producer, consumer]
        entity = self.info[consumer.name].entity
        domain = self.info[producer.name].domain
        for _ in range(rng.choice((0, 1, 1, 2))):
            more = [c for c in self.consumers.get(entity, []) if c not in core]
            plain = [
                a
                for a in self.by_domain.get(domain, [])
                if a not in core and self.info[a.name].role != "consumer"
            ]
            if more and rng.random() < 0.5:
                api = rng.choice(more)
                id_name = f"{entity}_id"
                args = {
                    id_name: "<from an earlier result>",
                    **self._args(api, scene, rng, skip=(id_name,)),
                }
                step = Step(((api, args),), Dependency(id_name, producer.name, id_name, "named"))
            elif plain:
                api = rng.choice(plain)
                step = Step(((api, self._args(api, scene, rng)),))
            else:
                break
            core.append(api)
            requests.append(Request((step,)))
        return self._make(index, "multi_request", self._tools(core, rng), scene, *requests)

    def _plan_tool_error(self, index: int, rng: random.Random, scene: Scene) -> Plan:
        api = rng.choice(self.apis)
        step = Step(((api, self._args(api, scene, rng)),))
        return self._make(
            index,
            "tool_error",
            self._tools([api], rng),
            scene,
            Request((step,)),
            transient=rng.random() < 0.5,
        )

    def _plan_non_tool(self, index: int, rng: random.Random, scene: Scene) -> Plan:
        wanted = rng.choice(self.apis)
        domain = self.info[wanted.name].domain
        offered = [a for a in self.apis if self.info[a.name].domain != domain]
        if len(offered) < 2:
            raise SampleError("non-tool dialogs need APIs from two domains")
        core = rng.sample(offered, min(len(offered), rng.randint(2, self.max_tools)))
        step = Step(((wanted, self._args(wanted, scene, rng)),))
        return self._make(index, "non_tool", core, scene, Request((step,)), unsupported=wanted)

    def _plan_clarify(self, index: int, rng: random.Random, scene: Scene) -> Plan:
        if not self.askable:
            raise SampleError("no API with a required argument a user could leave out")
        api = rng.choice(self.askable)
        args = self._args(api, scene, rng)
        missing = rng.choice(self.leave_out[api.name])
        # the left-out value must not turn up in what the user does say
        said = " ".join(render_value(v).lower() for k, v in args.items() if k != missing)
        if any(mentioned(v, said) for v in leaves(args[missing])):
            raise SampleError("the missing value also appears in another argument")
        request = Request((Step(((api, args),)),), missing=missing)
        return self._make(index, "clarify", self._tools([api], rng), scene, request)


__all__ = ["Dependency", "Plan", "Planner", "Request", "Step", "plan_rng"]
