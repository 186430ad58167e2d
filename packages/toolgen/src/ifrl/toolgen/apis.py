"""The API pool, built by self-evolution (ToolACE's speciation → adaptation → evolution).

* *Speciation*: the hierarchical tree of domains → subdomains → functionalities
  (:data:`~ifrl.toolgen.seeds.SEED_TREE`, extendable by a model with :func:`expand_tree`).
* *Adaptation*: every API takes a distinct subset of functionalities (a primary one plus, at
  higher complexity, a secondary one of the same subdomain) and a complexity level 1-3 that sets
  how many parameters it has and how much it is mutated.
* *Evolution*: mutations of the parameter schema (add/remove parameters, change types, nest arrays
  and objects, add enums, formats, defaults and constraints), chosen by inverse usage so the pool
  stays diverse (:class:`Diversity`), and checked against an example buffer of recent APIs.

Two generators implement :class:`ApiGenerator`: :class:`ProgrammaticApiGenerator` (rule-based,
offline, seeded) and :class:`ModelApiGenerator` (prompts any :class:`~ifrl.core.generation.Generator`).
Every API is a valid JSON Schema function definition; names are unique; near-duplicates are
removed by :class:`Deduplicator` (normalised signature; embedding similarity with an
:class:`Embedder`, e.g. :class:`SentenceTransformerEmbedder` when ``sentence-transformers`` is
installed).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import random
import re
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from ifrl.core.errors import RecordError, require
from ifrl.core.generation import Generator
from ifrl.core.jsonl import JSONLWriter, read_jsonl
from ifrl.core.records import Conversation, Message, Record, SamplingParams, ToolSpec
from ifrl.toolgen.backend import BackendFailure, safe_generate
from ifrl.toolgen.seeds import (
    CONSUMER_VERBS,
    PARAMS,
    PRODUCER_VERBS,
    SEED_TREE,
    Domain,
    ParamTemplate,
    entity_id_template,
    verb_of,
)
from ifrl.toolgen.tool_schema import (
    meta_schema_problem,
    normalize_schema,
    sample_value,
    schema_problems,
)

Role = Literal["producer", "consumer", "plain"]
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.\- ]{0,63}")


@dataclass(frozen=True, slots=True)
class ApiInfo(Record):
    """The ToolACE metadata of an API of the pool, a typed view of its ``ToolSpec.meta``.

    Where the API comes from (``domain``, ``subdomain``, ``functionalities``, ``complexity``
    1-3), its ``role`` in dependent dialogs (a ``producer`` returns ``entity`` ids that a
    ``consumer`` takes) and generation aids: ``phrases`` (how a request mentions each parameter)
    and ``pools`` (natural values per parameter).
    """

    domain: str = ""
    subdomain: str = ""
    functionalities: tuple[str, ...] = ()
    complexity: int = 1
    role: Role = "plain"
    entity: str = ""
    phrases: dict[str, str] = field(default_factory=dict)
    pools: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.complexity <= 3:
            raise RecordError("complexity", f"must be 1, 2 or 3, got {self.complexity}")

    @classmethod
    def of(cls, tool: ToolSpec) -> ApiInfo:
        """The view of ``tool.meta`` (defaults for what it lacks; other keys are ignored)."""
        m = tool.meta
        return cls(
            m.get("domain", ""),
            m.get("subdomain", ""),
            tuple(m.get("functionalities", ())),
            m.get("complexity", 1),
            m.get("role", "plain"),
            m.get("entity", ""),
            m.get("phrases", {}),
            m.get("pools", {}),
        )

    def to_meta(self) -> dict[str, Any]:
        """The ``ToolSpec.meta`` this view reads (it shares the ``phrases`` and ``pools``)."""
        return {name: getattr(self, name) for name in _INFO_NAMES}


_INFO_NAMES = tuple(f.name for f in dataclasses.fields(ApiInfo))
_INFO_FIELDS = frozenset(_INFO_NAMES)


def make_api(
    name: str,
    description: str,
    parameters: dict[str, Any],
    responses: dict[str, Any] | None = None,
    info: ApiInfo | None = None,
) -> ToolSpec:
    """An API of the pool: its definition, a ``responses`` schema (default: any object) and its
    metadata in ``meta``."""
    return ToolSpec(
        name,
        description,
        parameters,
        {"type": "object"} if responses is None else responses,
        (info or ApiInfo()).to_meta(),
    )


def read_api(data: Any) -> ToolSpec:
    """One API from JSON, leniently: a pool line (``ToolSpec`` JSON, or the older form with
    ``domain``, ``complexity``... beside the definition), an OpenAI tool entry or a bare function
    definition as released data writes them (``arguments``/``results`` for
    ``parameters``/``responses``, loose types such as ``dict``). Other keys are ignored;
    ``RecordError`` names the bad field."""
    if not isinstance(data, Mapping):
        raise RecordError("", "an API must be an object")
    if data.get("type") == "function" and isinstance(data.get("function"), Mapping):
        data = data["function"]
    name = data.get("name")
    if not isinstance(name, str):
        raise RecordError("name", "expected a string")
    parameters = data.get("parameters", data.get("arguments", {"type": "object", "properties": {}}))
    if not isinstance(parameters, Mapping):
        raise RecordError("parameters", "expected an object")
    meta = data.get("meta") or {}
    if not isinstance(meta, Mapping):
        raise RecordError("meta", "expected an object")
    meta = {**meta, **{k: data[k] for k in _INFO_FIELDS if k in data}}
    known = {k: v for k, v in meta.items() if k in _INFO_FIELDS}
    if known:
        try:
            meta.update(ApiInfo.from_dict(known).to_meta())
        except RecordError as err:
            raise err.nested("meta") from None
    return ToolSpec(
        name,
        str(data.get("description") or ""),
        normalize_schema(dict(parameters)),
        _response_schema(data.get("responses", data.get("results"))),
        meta,
    )


def _response_schema(value: Any) -> dict[str, Any]:
    """Released data writes responses either as a schema or as ``{field: {type...}}``."""
    if not isinstance(value, Mapping):
        return {"type": "object"}
    if "type" in value or "properties" in value:
        return dict(normalize_schema(dict(value)))
    if value and all(isinstance(v, Mapping) for v in value.values()):
        return dict(normalize_schema({"type": "object", "properties": dict(value)}))
    return {"type": "object"}


def api_problems(api: ToolSpec) -> list[str]:
    """Why ``api`` is not a clear, valid function definition (empty when it is)."""
    problems = list(schema_problems(api.parameters))
    if not _NAME_RE.fullmatch(api.name) or api.name != api.name.strip():
        problems.append(f"name {api.name!r} is not a clean function name")
    if len(api.description.split()) < 3:
        problems.append("description is missing or too short to say what the API does")
    for pname, sub in api.properties.items():
        if not isinstance(sub, Mapping) or not str(sub.get("description", "")).strip():
            problems.append(f"parameter {pname!r} has no description")
    if api.responses and not isinstance(api.responses, Mapping):
        problems.append("responses must be a schema object")
    elif api.responses:
        found = meta_schema_problem(api.responses)
        if found is not None:
            problems.append(f"responses: {found}")
    return problems


# --------------------------------------------------------------------------------------------
# Signatures, near-duplicates, diversity


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def signature(api: ToolSpec) -> str:
    """A normalised signature: name tokens (any case/separator style) and typed parameters."""
    required = set(api.required)
    params = sorted(
        f"{p}:{(s or {}).get('type', '?')}:{'r' if p in required else 'o'}"
        for p, s in api.properties.items()
    )
    return " ".join(sorted(_tokens(api.name))) + " | " + ",".join(params)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors (for near-duplicate detection)."""

    def encode(self, texts: Sequence[str]) -> Sequence[Sequence[float]]: ...


class SentenceTransformerEmbedder:
    """An :class:`Embedder` over a ``sentence-transformers`` model (optional dependency)."""

    def __init__(self, model: str = "sentence-transformers/all-MiniLM-L6-v2") -> None:
        require("sentence_transformers", "ifrl-toolgen", "embed")
        from sentence_transformers import SentenceTransformer  # heavy: loaded when used

        self._model = SentenceTransformer(model)

    def encode(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        return [list(map(float, v)) for v in self._model.encode(list(texts))]


def api_text(api: ToolSpec) -> str:
    """The text embedded for near-duplicate detection."""
    return f"{' '.join(_tokens(api.name))}: {api.description} ({', '.join(api.properties)})"


class Deduplicator:
    """Rejects APIs whose name is taken, whose signature was seen, or (with an embedder) whose
    embedding has cosine similarity >= ``threshold`` with a kept one."""

    def __init__(self, embedder: Embedder | None = None, threshold: float = 0.95) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.names: set[str] = set()
        self.signatures: set[str] = set()
        self._vectors: list[list[float]] = []

    def check(self, api: ToolSpec) -> str | None:
        """The reason ``api`` is a duplicate, or ``None``."""
        if api.name in self.names:
            return "duplicate_name"
        if signature(api) in self.signatures:
            return "duplicate_signature"
        if self.embedder is not None and self._vectors:
            vec = _unit(self.embedder.encode([api_text(api)])[0])
            best = max(sum(a * b for a, b in zip(vec, other)) for other in self._vectors)
            if best >= self.threshold:
                return "near_duplicate_embedding"
        return None

    def add(self, api: ToolSpec) -> None:
        self.names.add(api.name)
        self.signatures.add(signature(api))
        if self.embedder is not None:
            self._vectors.append(_unit(self.embedder.encode([api_text(api)])[0]))

    def offer(self, api: ToolSpec) -> str | None:
        """Add ``api`` unless it is a duplicate; return the rejection reason or ``None``."""
        reason = self.check(api)
        if reason is None:
            self.add(api)
        return reason


def _unit(vec: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def _depth(schema: Any) -> int:
    if not isinstance(schema, Mapping):
        return 0
    subs = list((schema.get("properties") or {}).values())
    if isinstance(schema.get("items"), Mapping):
        subs.append(schema["items"])
    return 1 + max((_depth(s) for s in subs), default=0)


@dataclass
class Diversity:
    """Diversity indicators of a pool: what kinds of schemas and mutations it holds."""

    mutations: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    depths: Counter[int] = field(default_factory=Counter)
    param_counts: Counter[int] = field(default_factory=Counter)
    domains: Counter[str] = field(default_factory=Counter)
    complexities: Counter[int] = field(default_factory=Counter)

    def observe(self, api: ToolSpec, mutations: Iterable[str] = ()) -> None:
        info = ApiInfo.of(api)
        self.mutations.update(mutations)
        for sub in api.properties.values():
            self.types[str((sub or {}).get("type", "?"))] += 1
        self.depths[_depth(api.parameters)] += 1
        self.param_counts[len(api.properties)] += 1
        self.domains[info.domain] += 1
        self.complexities[info.complexity] += 1

    def weight(self, mutation: str) -> float:
        """Less used mutations get more weight (inverse usage)."""
        return 1.0 / (1.0 + self.mutations[mutation])

    def summary(self) -> dict[str, Any]:
        return {
            "mutations": dict(self.mutations),
            "types": dict(self.types),
            "depths": {str(k): v for k, v in sorted(self.depths.items())},
            "param_counts": {str(k): v for k, v in sorted(self.param_counts.items())},
            "domains": len(self.domains),
            "complexities": {str(k): v for k, v in sorted(self.complexities.items())},
        }


# --------------------------------------------------------------------------------------------
# The generator interface


@runtime_checkable
class ApiGenerator(Protocol):
    """Anything that yields new, unique APIs; ``stats`` counts why candidates were dropped."""

    stats: Counter[str]

    def generate(self, n: int) -> Iterator[ToolSpec]:
        """Yield up to ``n`` new APIs (fewer only when the source is exhausted)."""
        ...

    def seen(self, api: ToolSpec) -> None:
        """Register an API that already exists (resuming), so it is not produced again."""
        ...


# --------------------------------------------------------------------------------------------
# Programmatic generator

MUTATIONS = (
    "add_param",
    "remove_param",
    "change_type",
    "nest_array",
    "nest_object",
    "add_enum",
    "add_format",
    "add_default",
    "add_constraint",
)

_FORMATTED = {
    "deadline": ("date", "Deadline, YYYY-MM-DD", "by {v}"),
    "callback_url": ("uri", "URL notified when done", "with callback {v}"),
    "contact_email": ("email", "Email for updates", "sending updates to {v}"),
    "reference_uuid": ("uuid", "Client reference UUID", "with reference {v}"),
    "start_time": ("time", "Start time HH:MM", "from {v}"),
}


def _snake(text: str) -> str:
    return "_".join(_tokens(text))


def _label(pname: str) -> str:
    return pname.replace("_", " ")


class ProgrammaticApiGenerator:
    """Rule-based API evolution from the seed tree; fully offline and seeded."""

    def __init__(
        self,
        seed: int = 0,
        *,
        tree: Sequence[Domain] = SEED_TREE,
        params: Mapping[str, ParamTemplate] = PARAMS,
        buffer_size: int = 64,
        dedup: Deduplicator | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.tree = list(tree)
        self.params = dict(params)
        self.buffer: deque[ToolSpec] = deque(maxlen=buffer_size)
        self._buffer_domains: deque[str] = deque(maxlen=buffer_size)  # the buffer's domains
        self.dedup = dedup or Deduplicator()
        self.diversity = Diversity()
        self.stats: Counter[str] = Counter()
        self._subsets: set[tuple[frozenset[str], int]] = set()
        slots = [(d, sub, fn) for d in self.tree for sub, fns in d.subdomains.items() for fn in fns]
        self.rng.shuffle(slots)
        self._slots = slots

    def seen(self, api: ToolSpec) -> None:
        info = ApiInfo.of(api)
        self.dedup.add(api)
        self._subsets.add((frozenset(info.functionalities), info.complexity))
        self.diversity.observe(api)
        self.buffer.append(api)
        self._buffer_domains.append(info.domain)

    def generate(self, n: int) -> Iterator[ToolSpec]:
        made = 0
        attempts = 0
        limit = max(50, n * 20)
        k = len(self._subsets)
        misses = 0
        while made < n and attempts < limit:
            attempts += 1
            domain, sub, fn = self._slots[k % len(self._slots)]
            k += 1
            api, _mutations = self._candidate(domain, sub, fn)
            if api is None:
                misses += 1
                if misses > 2 * len(self._slots):
                    return  # every functionality subset is used up
                continue
            misses = 0
            problems = api_problems(api)
            if problems:
                self.stats["invalid_definition"] += 1
                continue
            reason = self.dedup.offer(api)
            if reason is not None:
                self.stats[reason] += 1
                continue
            self.buffer.append(api)
            self._buffer_domains.append(domain.name)
            self.diversity.observe(api)  # its mutations were counted as they were applied
            self.stats["kept"] += 1
            made += 1
            yield api

    # -- adaptation ---------------------------------------------------------------------------

    def _candidate(self, domain: Domain, sub: str, fn: str) -> tuple[ToolSpec | None, list[str]]:
        rng = self.rng
        levels = [c for c in (1, 2, 3) if (frozenset([fn]), c) not in self._subsets]
        functionalities = [fn]
        if levels:
            complexity = min(levels, key=lambda c: (self.diversity.complexities[c], rng.random()))
        else:
            # Singles used up: combine with functionalities of the same subdomain first, then
            # of the whole domain; complexity 3 may take three.
            complexity = rng.choice((2, 3))
            local = [f for f in domain.subdomains[sub] if f != fn]
            wider = [
                f for fs in domain.subdomains.values() for f in fs if f != fn and f not in local
            ]
            size = 2 if complexity == 2 else rng.choice((2, 3))
            extra = self._fresh_subset(fn, local, size, complexity) or self._fresh_subset(
                fn, local + wider, size, complexity
            )
            if extra is None:
                self.stats["functionalities_exhausted"] += 1
                return None, []
            functionalities.extend(extra)
        self._subsets.add((frozenset(functionalities), complexity))

        verb = verb_of(fn)
        role: Role = (
            "producer"
            if verb in PRODUCER_VERBS
            else "consumer"
            if verb in CONSUMER_VERBS
            else "plain"
        )
        props: dict[str, Any] = {}
        required: list[str] = []
        phrases: dict[str, str] = {}
        pools: dict[str, list[Any]] = {}

        def put(pname: str, tpl: ParamTemplate, req: bool) -> None:
            props[pname] = copy.deepcopy(tpl.schema)
            phrases[pname] = tpl.phrase.replace("{label}", _label(pname))
            if tpl.pool:
                pools[pname] = list(tpl.pool)
            if req:
                required.append(pname)

        id_name = f"{domain.entity}_id"
        if role == "consumer":
            put(id_name, entity_id_template(domain.entity), True)
        # The example buffer steers parameter choice: those recent APIs of this domain used
        # least come first, so consecutive APIs of a domain differ.
        recent = Counter(
            p
            for b, name in zip(self.buffer, self._buffer_domains)
            if name == domain.name
            for p in b.parameters["properties"]
        )
        vocab = sorted(
            (p for p in domain.params if p in self.params),
            key=lambda p: (recent[p], rng.random()),
        )
        count = {1: rng.randint(1, 2), 2: rng.randint(2, 4), 3: rng.randint(4, 6)}[complexity]
        n_required = 1 if complexity == 1 else rng.randint(1, 2)
        for i, pname in enumerate(vocab[:count]):
            put(pname, self.params[pname], role != "consumer" and i < n_required)
        parameters: dict[str, Any] = {"type": "object", "properties": props, "required": required}
        meta: dict[str, Any] = {"phrases": phrases, "pools": pools}

        # -- evolution ------------------------------------------------------------------------
        applied: list[str] = []
        for _ in range(complexity - 1 + rng.randint(0, 1)):
            weights = [self.diversity.weight(m) for m in MUTATIONS]
            mutation = rng.choices(MUTATIONS, weights)[0]
            result = self._mutate(mutation, parameters, meta, domain, keep={id_name})
            if result is not None:
                parameters, meta = result
                applied.append(mutation)
                self.diversity.mutations[mutation] += 1
        if not parameters["required"]:
            parameters.pop("required")

        name = self._name(fn, functionalities, parameters)
        description = self._description(domain, sub, functionalities, role)
        info = ApiInfo(
            domain.name, sub, tuple(functionalities), complexity, role, domain.entity, **meta
        )
        api = make_api(name, description, parameters, self._responses(domain, role, fn), info)
        return api, applied

    def _fresh_subset(
        self, fn: str, pool: list[str], size: int, complexity: int
    ) -> list[str] | None:
        """``size - 1`` functionalities from ``pool`` making an unused subset with ``fn``."""
        for _ in range(12):
            if len(pool) < size - 1:
                return None
            extra = self.rng.sample(pool, size - 1)
            if (frozenset([fn, *extra]), complexity) not in self._subsets:
                return extra
        return None

    def _name(self, fn: str, functionalities: list[str], parameters: Mapping[str, Any]) -> str:
        base = _snake(fn)
        for other in functionalities[1:]:
            base = f"{base}_and_{_snake(other).split('_')[0]}"
        if base not in self.dedup.names:
            return base
        for pname in parameters.get("properties", {}):
            cand = f"{base}_by_{pname}"
            if cand not in self.dedup.names:
                return cand
        i = 2
        while f"{base}_v{i}" in self.dedup.names:
            i += 1
        return f"{base}_v{i}"

    def _description(self, domain: Domain, sub: str, functionalities: list[str], role: Role) -> str:
        fn = functionalities[0]
        text = f"{fn[0].upper()}{fn[1:]} in the {domain.name.replace('_', ' ')} domain ({sub})."
        if len(functionalities) > 1:
            text += f" Can also {' and '.join(functionalities[1:])} in the same request."
        if role == "producer":
            text += f" Returns matching {domain.entity.replace('_', ' ')} records with their ids."
        elif role == "consumer":
            text += f" Acts on one {domain.entity.replace('_', ' ')} identified by its id."
        return text

    def _responses(self, domain: Domain, role: Role, fn: str) -> dict[str, Any]:
        id_schema = {
            "type": "string",
            "description": f"Identifier of the {domain.entity}",
            "pattern": entity_id_template(domain.entity).schema["pattern"],
        }
        id_name = f"{domain.entity}_id"
        if role == "producer":
            item = {
                "type": "object",
                "properties": {
                    id_name: id_schema,
                    "name": {"type": "string", "description": "Display name"},
                    "score": {"type": "number", "minimum": 0, "maximum": 5},
                },
                "required": [id_name, "name"],
            }
            return {
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": item, "minItems": 1, "maxItems": 3},
                    "total": {"type": "integer", "minimum": 1, "maximum": 500},
                },
                "required": ["results", "total"],
            }
        if role == "consumer":
            return {
                "type": "object",
                "properties": {
                    id_name: id_schema,
                    "status": {
                        "type": "string",
                        "enum": ["confirmed", "pending", "completed", "cancelled", "updated"],
                    },
                    "message": {"type": "string"},
                },
                "required": [id_name, "status"],
            }
        return {
            "type": "object",
            "properties": {
                "value": {"type": "number"},
                "summary": {"type": "string"},
                "status": {"type": "string", "enum": ["ok", "partial"]},
            },
            "required": ["summary", "status"],
        }

    # -- mutations ----------------------------------------------------------------------------

    def _mutate(
        self,
        kind: str,
        parameters: dict[str, Any],
        meta: dict[str, Any],
        domain: Domain,
        keep: set[str],
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        rng = self.rng
        params = copy.deepcopy(parameters)
        meta = copy.deepcopy(meta)
        props: dict[str, Any] = params["properties"]
        required: list[str] = params["required"]
        phrases: dict[str, str] = meta["phrases"]
        pools: dict[str, list[Any]] = meta["pools"]
        optional = [p for p in props if p not in required and p not in keep]

        if kind == "add_param":
            choices = [
                p for p in (*domain.params, *self.params) if p not in props and p in self.params
            ]
            if not choices:
                return None
            pname = rng.choice(choices[:12])
            tpl = self.params[pname]
            props[pname] = copy.deepcopy(tpl.schema)
            phrases[pname] = tpl.phrase.replace("{label}", _label(pname))
            if tpl.pool:
                pools[pname] = list(tpl.pool)
        elif kind == "remove_param":
            if not optional or len(props) <= 1:
                return None
            pname = rng.choice(optional)
            del props[pname]
            phrases.pop(pname, None)
            pools.pop(pname, None)
        elif kind == "change_type":
            cands = [
                p
                for p, s in props.items()
                if p not in keep
                and (
                    s.get("type") in ("integer", "number")
                    or (s.get("type") == "string" and not ({"enum", "format", "pattern"} & set(s)))
                )
            ]
            if not cands:
                return None
            pname = rng.choice(cands)
            s = props[pname]
            if s["type"] == "integer":
                s["type"] = "number"
            elif s["type"] == "number":
                s["type"] = "integer"
                for key in ("minimum", "maximum"):
                    if key in s:
                        s[key] = math.ceil(s[key]) if key == "minimum" else math.floor(s[key])
                if s.get("minimum", 0) > s.get("maximum", math.inf):
                    return None
            else:
                props[pname] = {
                    "type": "array",
                    "description": s["description"] + " (one or more)",
                    "items": {"type": "string"},
                    "minItems": 1,
                }
        elif kind == "nest_array":
            cands = [
                p
                for p, s in props.items()
                if p not in keep and s.get("type") != "array" and s.get("type") != "object"
            ]
            if not cands:
                return None
            pname = rng.choice(cands)
            inner = props.pop(pname)
            new = f"{pname}_list"
            props[new] = {
                "type": "array",
                "description": f"List of values, each: {inner.get('description', pname)}",
                "items": {k: v for k, v in inner.items() if k not in ("description", "default")},
                "minItems": 1,
                "maxItems": 3,
            }
            self._rename(meta, required, pname, new, f"{_label(pname)} list {{v}}")
        elif kind == "nest_object":
            if len(optional) < 2:
                return None
            a, b = rng.sample(optional, 2)
            group = "options" if "options" not in props else "settings"
            if group in props:
                return None
            props[group] = {
                "type": "object",
                "description": f"Optional settings: {_label(a)} and {_label(b)}",
                "properties": {a: props.pop(a), b: props.pop(b)},
                "required": [a, b],
            }
            for p in (a, b):
                phrases.pop(p, None)
            phrases[group] = f"with {group} {{v}}"
            pools[group] = []
        elif kind == "add_enum":
            cands = [
                p
                for p, s in props.items()
                if s.get("type") == "string"
                and p in pools
                and "enum" not in s
                and "pattern" not in s
                and pools[p]
            ]
            if not cands:
                return None
            pname = rng.choice(cands)
            props[pname]["enum"] = list(pools[pname])[:6]
        elif kind == "add_format":
            cands = [p for p in _FORMATTED if p not in props]
            if not cands:
                return None
            pname = rng.choice(cands)
            fmt, desc, phrase = _FORMATTED[pname]
            props[pname] = {"type": "string", "description": desc, "format": fmt}
            phrases[pname] = phrase
        elif kind == "add_default":
            cands = [
                p
                for p in optional
                if "default" not in props[p]
                and props[p].get("type") in ("string", "integer", "number", "boolean")
            ]
            if not cands:
                return None
            pname = rng.choice(cands)
            try:
                props[pname]["default"] = sample_value(props[pname], rng, pools.get(pname))
            except ValueError:
                return None
        elif kind == "add_constraint":
            cands = [
                p
                for p, s in props.items()
                if s.get("type") in ("integer", "number", "array")
                or (
                    s.get("type") == "string"
                    and "enum" not in s
                    and "format" not in s
                    and "pattern" not in s
                )
            ]
            if not cands:
                return None
            pname = rng.choice(cands)
            s = props[pname]
            if s["type"] in ("integer", "number"):
                lo = s.get("minimum", 0)
                hi = s.get("maximum", lo + 1000)
                span = hi - lo
                s["minimum"] = lo
                s["maximum"] = (
                    lo + max(1, int(span * 0.5)) if s["type"] == "integer" else lo + span * 0.5
                )
            elif s["type"] == "array":
                s["minItems"] = 1
                s["maxItems"] = rng.randint(2, 4)
            else:
                longest = max((len(str(v)) for v in pools.get(pname, [])), default=20)
                s["maxLength"] = max(longest, 24)
                s["minLength"] = 1
        else:
            raise ValueError(f"unknown mutation {kind!r}")
        if schema_problems(params):
            return None
        return params, meta

    @staticmethod
    def _rename(meta: dict[str, Any], required: list[str], old: str, new: str, phrase: str) -> None:
        meta["phrases"].pop(old, None)
        meta["phrases"][new] = phrase
        if old in meta["pools"]:
            meta["pools"][new] = meta["pools"].pop(old)
        if old in required:
            required[required.index(old)] = new


# --------------------------------------------------------------------------------------------
# Model-driven generator


def extract_json(text: str) -> Any:
    """The first JSON object or array in ``text``; raises ``ValueError`` when there is none."""
    decoder = json.JSONDecoder()
    for m in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except (ValueError, RecursionError):
            continue
        return value
    raise ValueError("no JSON object found in the model output")


_API_SYSTEM = "You design web APIs for a function-calling dataset."
_API_PROMPT = """Domain: {domain} / {subdomain}
Functionalities the API must provide: {functionalities}
Complexity: {complexity} of 3 (about {n_params} parameters{nesting}).
Examples of APIs already in the pool:
{examples}
Write ONE new API as a JSON object with the keys "name" (snake_case), "description" (one clear
sentence), "parameters" (a JSON Schema object with "properties", each with "type" and
"description", and "required") and "responses" (a JSON Schema object describing the result).
Reply with the JSON object only.
"""

_TREE_PROMPT = """List new subdomains of the domain "{domain}" for an API catalogue, each with
three to five functionalities written as short "verb object" phrases. Reply with a JSON object
mapping each subdomain name to a list of functionality strings, and nothing else.
"""


class ModelApiGenerator:
    """API evolution through any :class:`~ifrl.core.generation.Generator` (a teacher model).

    Prompts carry the speciation slot (domain, subdomain, functionalities), the adaptation
    (complexity) and examples from the example buffer; the reply must be a JSON definition.
    Replies that are not JSON, not valid definitions, or duplicates are counted in ``stats`` and
    dropped. ``batch_size`` prompts go to the backend per call (it runs them concurrently).
    """

    def __init__(
        self,
        generator: Generator,
        seed: int = 0,
        *,
        tree: Sequence[Domain] = SEED_TREE,
        params: SamplingParams | None = None,
        batch_size: int = 8,
        buffer_size: int = 16,
        dedup: Deduplicator | None = None,
        max_attempts_factor: int = 4,
        n_examples: int = 1,
    ) -> None:
        self.generator = generator
        self.rng = random.Random(seed)
        self.tree = list(tree)
        self.params = params or SamplingParams(temperature=0.8, max_new_tokens=512, seed=seed)
        self.batch_size = batch_size
        self.buffer: deque[ToolSpec] = deque(maxlen=buffer_size)
        self.dedup = dedup or Deduplicator()
        self.diversity = Diversity()
        self.stats: Counter[str] = Counter()
        self.max_attempts_factor = max_attempts_factor
        self.n_examples = n_examples
        if not self.buffer:
            for api in ProgrammaticApiGenerator(seed).generate(3):
                self.buffer.append(api)

    def seen(self, api: ToolSpec) -> None:
        self.dedup.add(api)
        self.diversity.observe(api)
        self.buffer.append(api)

    def _slot(self) -> tuple[Domain, str, list[str], int]:
        domain = min(self.tree, key=lambda d: (self.diversity.domains[d.name], self.rng.random()))
        sub = self.rng.choice(list(domain.subdomains))
        fns = list(domain.subdomains[sub])
        complexity = self.rng.choice((1, 2, 3))
        chosen = self.rng.sample(fns, min(len(fns), 1 if complexity < 3 else 2))
        return domain, sub, chosen, complexity

    def prompt(self, domain: Domain, sub: str, fns: list[str], complexity: int) -> Conversation:
        """The request for one API: a system and a user message (the teacher sees it through
        its chat template)."""
        examples = "\n".join(
            json.dumps({k: v for k, v in a.to_openai()["function"].items()}, ensure_ascii=False)
            for a in list(self.buffer)[-self.n_examples :]
        )
        user = _API_PROMPT.format(
            domain=domain.name,
            subdomain=sub,
            functionalities="; ".join(fns),
            complexity=complexity,
            n_params={1: 2, 2: 4, 3: 6}[complexity],
            nesting="" if complexity < 3 else ", including an array or nested object",
            examples=examples or "(none yet)",
        )
        return Conversation((Message("system", _API_SYSTEM), Message("user", user.strip())))

    def parse(
        self, text: str, domain: Domain, sub: str, fns: list[str], complexity: int
    ) -> ToolSpec:
        """Read a model reply into an API; raises ``ValueError`` saying why not."""
        data = extract_json(text)
        if not isinstance(data, Mapping):
            raise ValueError("the reply is not a JSON object")
        try:
            api = read_api(data)
        except RecordError as err:
            raise ValueError(f"not a function definition: {err}") from None
        info = ApiInfo(domain.name, sub, tuple(fns), complexity, entity=domain.entity)
        api = api.replace(meta={**api.meta, **info.to_meta()})
        problems = api_problems(api)
        if problems:
            raise ValueError(problems[0])
        return api

    def generate(self, n: int) -> Iterator[ToolSpec]:
        made = 0
        attempts = 0
        limit = max(self.batch_size, n * self.max_attempts_factor)
        while made < n and attempts < limit:
            slots = [self._slot() for _ in range(min(self.batch_size, limit - attempts))]
            attempts += len(slots)
            prompts = [self.prompt(*s) for s in slots]
            outputs = safe_generate(self.generator, prompts, self.params)
            for slot, completions in zip(slots, outputs):
                if isinstance(completions, BackendFailure):
                    self.stats["rejected_output"] += 1
                    self.stats[f"rejected: {completions.reason[:60]}"] += 1
                    continue
                for completion in completions:
                    try:
                        api = self.parse(completion.text, *slot)
                    except ValueError as err:
                        self.stats["rejected_output"] += 1
                        self.stats[f"rejected: {str(err)[:60]}"] += 1
                        continue
                    reason = self.dedup.offer(api)
                    if reason is not None:
                        self.stats[reason] += 1
                        continue
                    self.buffer.append(api)
                    self.diversity.observe(api)
                    self.stats["kept"] += 1
                    made += 1
                    yield api
                    if made >= n:
                        return


def expand_tree(
    generator: Generator,
    tree: Sequence[Domain],
    *,
    params: SamplingParams | None = None,
) -> tuple[list[Domain], Counter[str]]:
    """Speciation by a model: ask for new subdomains per domain; keep well-formed answers.

    Returns the extended tree and counts of what was added or rejected.
    """
    stats: Counter[str] = Counter()
    sampling = params or SamplingParams(temperature=0.7, max_new_tokens=256, seed=0)
    prompts = [
        Conversation((Message("user", _TREE_PROMPT.format(domain=d.name).strip()),)) for d in tree
    ]
    outputs = safe_generate(generator, prompts, sampling)
    out: list[Domain] = []
    for domain, completions in zip(tree, outputs):
        subs = dict(domain.subdomains)
        if isinstance(completions, BackendFailure):
            stats["rejected_backend"] += 1
            completions = []
        for completion in completions:
            try:
                data = extract_json(completion.text)
            except ValueError:
                stats["rejected_not_json"] += 1
                continue
            if not isinstance(data, Mapping):
                stats["rejected_not_object"] += 1
                continue
            for sub, fns in data.items():
                ok = [
                    f.strip().lower()
                    for f in (fns if isinstance(fns, list) else [])
                    if isinstance(f, str) and 2 <= len(f.split()) <= 5
                ]
                key = _snake(str(sub))
                if not key or not ok or key in subs:
                    stats["rejected_subdomain"] += 1
                    continue
                subs[key] = tuple(dict.fromkeys(ok))
                stats["added_subdomain"] += 1
        out.append(Domain(domain.name, domain.entity, subs, domain.params, domain.extra))
    return out, stats


# --------------------------------------------------------------------------------------------
# Building a pool file


def load_apis(path: str | Path) -> list[ToolSpec]:
    """Read an APIs JSONL file (any form :func:`read_api` reads; errors name path, line and
    field)."""
    return list(read_jsonl(path, read_api))


def build_pool(
    generator: ApiGenerator,
    n: int,
    out: str | Path,
    *,
    resume: bool = True,
    progress: bool = False,
) -> tuple[int, int]:
    """Write ``n`` APIs to ``out`` (JSONL), resuming from an existing file.

    Returns ``(already_there, written_now)``.
    """
    path = Path(out)
    existing: list[ToolSpec] = load_apis(path) if resume and path.exists() else []
    for api in existing:
        generator.seen(api)
    todo = max(0, n - len(existing))
    written = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, initial=len(existing), desc="apis", unit="api")
    with JSONLWriter(path, append=bool(existing)) as writer:
        for api in generator.generate(todo):
            writer.write(api)
            written += 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return len(existing), written


__all__ = [
    "MUTATIONS",
    "ApiGenerator",
    "ApiInfo",
    "Deduplicator",
    "Diversity",
    "Embedder",
    "ModelApiGenerator",
    "ProgrammaticApiGenerator",
    "SentenceTransformerEmbedder",
    "api_problems",
    "api_text",
    "build_pool",
    "expand_tree",
    "extract_json",
    "load_apis",
    "make_api",
    "read_api",
    "signature",
]
