"""Dialog plans: for dialog ``index``, its type, the tools offered and the correct calls.

A :class:`Planner` draws, seeded per index, one of five dialog types:

* ``single`` — one call; ``parallel`` — several calls in one assistant turn;
* ``dependent`` — a later call takes an argument from an earlier tool result;
* ``non_tool`` — no offered tool fits, the right answer is no call;
* ``clarify`` — a required argument is missing, the assistant asks for it first;

and the argument values of the calls, sampled from the schemas (a known correct answer the
programmatic agents follow).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ifrl.core.records import ToolSpec
from ifrl.toolgen.apis import ApiInfo
from ifrl.toolgen.dialog import DIALOG_TYPES, DialogType
from ifrl.toolgen.tool_schema import SampleError, sample_value


@dataclass(frozen=True)
class Step:
    """Calls the assistant should make in one turn: ``(api, arguments)`` pairs."""

    calls: tuple[tuple[ToolSpec, dict[str, Any]], ...]


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
    tools: tuple[ToolSpec, ...]
    steps: tuple[Step, ...] = ()
    dependency: Dependency | None = None
    missing: str | None = None  # clarify: the required argument left out of the request
    unsupported: ToolSpec | None = None  # non_tool: the API the user asks for, not offered
    seed: int = 0
    infos: Mapping[str, ApiInfo] = field(default_factory=dict, repr=False, compare=False)

    def info(self, api: ToolSpec) -> ApiInfo:
        """The metadata of one of the plan's APIs (from the planner's table)."""
        found = self.infos.get(api.name)
        return found if found is not None else ApiInfo.of(api)


def plan_rng(seed: int, index: int, salt: str = "") -> random.Random:
    """The random source of dialog ``index`` (and of one of its parts, ``salt``)."""
    return random.Random(f"{seed}:{index}:{salt}")


def _arguments(
    api: ToolSpec, pools: Mapping[str, Any], rng: random.Random, *, optional_p: float = 0.5
) -> dict[str, Any]:
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
            try:
                plan = getattr(self, f"_plan_{kind}")(index, rng)
            except SampleError:
                continue
            if plan is not None:
                return plan  # type: ignore[no-any-return]
        raise SampleError(f"could not plan a {kind} dialog for index {index}")

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

    def _plan_single(self, index: int, rng: random.Random) -> Plan:
        api = rng.choice(self.apis)
        args = _arguments(api, self.info[api.name].pools, rng)
        return Plan(
            index,
            "single",
            self._tools([api], rng),
            (Step(((api, args),)),),
            seed=self.seed,
            infos=self.info,
        )

    def _plan_parallel(self, index: int, rng: random.Random) -> Plan:
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
        for a in apis:
            args = _arguments(a, self.info[a.name].pools, rng)
            if all(
                json.dumps(args, sort_keys=True) != json.dumps(c, sort_keys=True) for _, c in calls
            ):
                calls.append((a, args))
        if len(calls) < 2:
            return None  # type: ignore[return-value]
        core = list({a.name: a for a, _ in calls}.values())
        return Plan(
            index,
            "parallel",
            self._tools(core, rng),
            (Step(tuple(calls)),),
            seed=self.seed,
            infos=self.info,
        )

    def _plan_dependent(self, index: int, rng: random.Random) -> Plan:
        if not self.pairs:
            raise SampleError("no producer/consumer API pair in the pool")
        producer, consumer = rng.choice(self.pairs)
        id_name = f"{self.info[consumer.name].entity}_id"
        first = _arguments(producer, self.info[producer.name].pools, rng)
        second = _arguments(consumer, self.info[consumer.name].pools, rng)
        second[id_name] = "<from step 1>"
        return Plan(
            index,
            "dependent",
            self._tools([producer, consumer], rng),
            (Step(((producer, first),)), Step(((consumer, second),))),
            dependency=Dependency(id_name, ("results", 0, id_name)),
            seed=self.seed,
            infos=self.info,
        )

    def _plan_non_tool(self, index: int, rng: random.Random) -> Plan:
        wanted = rng.choice(self.apis)
        domain = self.info[wanted.name].domain
        offered = [a for a in self.apis if self.info[a.name].domain != domain]
        if len(offered) < 2:
            raise SampleError("non-tool dialogs need APIs from two domains")
        core = rng.sample(offered, min(len(offered), rng.randint(2, self.max_tools)))
        args = _arguments(wanted, self.info[wanted.name].pools, rng)
        return Plan(
            index,
            "non_tool",
            tuple(core),
            (Step(((wanted, args),)),),
            unsupported=wanted,
            seed=self.seed,
            infos=self.info,
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
        args = _arguments(api, self.info[api.name].pools, rng)
        missing = rng.choice([r for r in api.required if not r.endswith("_id")])
        return Plan(
            index,
            "clarify",
            self._tools([api], rng),
            (Step(((api, args),)),),
            missing=missing,
            seed=self.seed,
            infos=self.info,
        )


__all__ = ["Dependency", "Plan", "Planner", "Step", "plan_rng"]
