"""ToolACE-DEV: self-improving tool learning without a teacher, one round at a time.

* :func:`build_subtasks` turns any tool dataset (dialogs) into the three sub-task datasets:
  ``tool_doc`` (usage → the tool's definition), ``query_tools`` (query → candidate tools) and
  ``invocation`` (query + tools → calls). Rows are OpenAI ``{"messages", "tools"}`` records, the
  format ``ifrl.rltrain``'s SFT reads.
* :func:`run_round` is one round on unlabeled queries: the model samples ``proposals`` tool
  proposals per query (:func:`propose_tools`), samples ``k`` invocations with each distinct
  valid proposal, keeps the majority answer (self-consistency, :func:`vote`), drops rule-layer
  failures (unparsed output, hallucinated tools, calls that break the schema) and keeps the first
  proposal that is *grounded*: the voted calls' required arguments all appear in the query, so
  the tool covers what was asked (:func:`grounded`). When no proposal is grounded but the samples
  agree not to call, the query can survive as abstention data (a text answer with those tools).
  :class:`RoundStats` counts how many queries survived, abstained, and why the others did not.

Prompts are conversations (a system and a user message), and the prompt used at sampling time
is the prefix of the training row the model later learns from.

The loop over rounds (fine-tuning on each round's rows, run directories, resume, evaluation) is
the ``toolace-dev`` recipe of ``ifrl.pipelines``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, opt
from ifrl.core.errors import RecordError
from ifrl.core.generation import Generator
from ifrl.core.jsonl import read_jsonl
from ifrl.core.records import Completion, Conversation, Message, SamplingParams, ToolCall, ToolSpec
from ifrl.core.toolcalls import (
    ToolCallParseError,
    detect_format,
    parse_tool_calls,
    render_tool_calls,
)
from ifrl.toolgen.apis import api_problems, extract_json, read_api
from ifrl.toolgen.backend import BackendFailure, safe_generate
from ifrl.toolgen.dialog import Dialog
from ifrl.toolgen.semantic import mentioned
from ifrl.toolgen.verify import call_issues

# --------------------------------------------------------------------------------------------
# Sub-task datasets

TOOL_DOC_SYSTEM = (
    "Write the JSON definition (name, description, parameters as JSON Schema) of the tool the "
    "user's call uses. Reply with the JSON object only."
)
QUERY_TOOLS_SYSTEM = (
    "Propose the tools needed to answer the user's query, as a JSON list of function "
    "definitions (name, description, parameters as JSON Schema). Reply with the JSON list only."
)
ABSTAIN = "None of these tools can answer this request."


def proposal_prompt(query: str) -> Conversation:
    """The prompt that asks for tools covering ``query`` (the ``query_tools`` rows' prefix)."""
    return Conversation((Message("system", QUERY_TOOLS_SYSTEM), Message("user", query)))


def doc_prompt(query: str, call: ToolCall) -> Conversation:
    """The prompt that asks for the definition of ``call``'s tool (the ``tool_doc`` prefix)."""
    user = f"Instruction: {query}\nCall: {render_tool_calls([call], 'json')}"
    return Conversation((Message("system", TOOL_DOC_SYSTEM), Message("user", user)))


def _row(
    task: str, prompt: Conversation, assistant: Message, tools: Sequence[ToolSpec] = ()
) -> dict[str, Any]:
    # Arguments as objects: the chat templates (and TRL) write them with `tojson` themselves.
    row = Conversation((*prompt.messages, assistant), tuple(tools))
    return {"task": task, **row.to_openai(arguments_as="object")}


def subtask_rows(
    query: str, tools: Sequence[ToolSpec], calls: Sequence[ToolCall]
) -> list[dict[str, Any]]:
    """The three sub-task rows for one labeled ``(query, tools, calls)`` example."""
    used = [t for t in tools if any(c.name == t.name for c in calls)]
    ask = Conversation((Message("user", query),))
    rows = [
        _row("invocation", ask, Message("assistant", None, tuple(calls)), tools),
        _row(
            "query_tools",
            proposal_prompt(query),
            Message("assistant", json.dumps([t.definition() for t in used], ensure_ascii=False)),
        ),
    ]
    for api in used:
        call = next(c for c in calls if c.name == api.name)
        rows.append(
            _row(
                "tool_doc",
                doc_prompt(query, call),
                Message("assistant", json.dumps(api.definition(), ensure_ascii=False)),
            )
        )
    return rows


def build_subtasks(dialogs: Sequence[Dialog]) -> list[dict[str, Any]]:
    """Sub-task rows from a tool dataset: the first user turn and the first call turn of each
    dialog that has calls (dialogs without calls give no rows)."""
    rows: list[dict[str, Any]] = []
    for d in dialogs:
        query = next((m.content for m in d.messages if m.role == "user" and m.content), None)
        turn = next((m for m in d.messages if m.role == "assistant" and m.tool_calls), None)
        if query and turn is not None and d.type in ("single", "parallel"):
            rows.extend(subtask_rows(query, d.tools, turn.tool_calls))
    return rows


# --------------------------------------------------------------------------------------------
# Self-evolution rounds


@dataclass
class RoundConfig:
    """How a self-evolution round samples and votes."""

    k: int = opt("Invocations sampled per query and proposal (self-consistency).", 5)
    proposals: int = opt(
        "Tool proposals sampled per query; the first grounded one is kept (1: greedy).", 3
    )
    proposal_temperature: float = opt("Sampling temperature of tool proposals.", 0.7)
    abstention: bool = opt(
        "Keep a query as abstention data (no call) when no proposal is grounded and the "
        "samples agree not to call.",
        True,
    )
    temperature: float = opt("Sampling temperature of invocations.", 0.8)
    top_k: int = opt("Top-k sampling of invocations.", 20)
    max_new_tokens: int = opt("Token budget per reply.", 256)
    min_agreement: float = opt("Share of the k samples the majority must reach.", 0.5)
    seed: int = opt("Sampling seed (round r samples with seed + r).", 0)
    batch_size: int = opt("Queries per backend request batch.", 16)

    def validate(self) -> None:
        if self.k < 1:
            raise ConfigError("", "k", f"must be at least 1, got {self.k}")
        if self.proposals < 1:
            raise ConfigError("", "proposals", f"must be at least 1, got {self.proposals}")
        if not 0 < self.min_agreement <= 1:
            raise ConfigError("", "min_agreement", f"must lie in (0, 1], got {self.min_agreement}")
        if self.batch_size < 1:
            raise ConfigError("", "batch_size", f"must be at least 1, got {self.batch_size}")


@dataclass
class RoundStats:
    """What happened to the queries of one round (``model``: the model after the round)."""

    round: int
    queries: int = 0
    survived: int = 0
    rows: int = 0
    model: str = ""
    reasons: Counter[str] = field(default_factory=Counter)
    abstained: int = 0
    proposals: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "queries": self.queries,
            "survived": self.survived,
            "survival_rate": round(self.survived / self.queries, 4) if self.queries else 0.0,
            "abstained": self.abstained,
            "valid_proposals": self.proposals,
            "training_rows": self.rows,
            "model": self.model,
            "reasons": dict(self.reasons.most_common()),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoundStats:
        """Read :meth:`to_dict`'s form back."""
        return cls(
            int(data["round"]),
            int(data["queries"]),
            int(data["survived"]),
            int(data["training_rows"]),
            str(data.get("model") or ""),
            Counter(data.get("reasons", {})),
            int(data.get("abstained", 0)),
            int(data.get("valid_proposals", 0)),
        )


def read_queries(path: str | Path) -> list[str]:
    """The unlabeled queries of a JSONL file of ``{"query": ...}`` lines (errors name the file,
    the line and the field)."""

    def query(row: dict[str, Any]) -> str:
        text = row.get("query")
        if not isinstance(text, str) or not text.strip():
            raise RecordError("query", "missing or empty (every line needs a query)")
        return text

    return list(read_jsonl(path, query))


def propose_tools(text: str) -> list[ToolSpec]:
    """Valid tool definitions from a proposal reply; raises ``ValueError`` when there are none."""
    data = extract_json(text)
    entries = data if isinstance(data, list) else [data]
    tools: list[ToolSpec] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        try:
            api = read_api(entry)
        except RecordError:
            continue
        if not api_problems(api) and all(t.name != api.name for t in tools):
            tools.append(api)
    if not tools:
        raise ValueError("no valid tool definition in the proposal")
    return tools


def _canonical(calls: Sequence[ToolCall]) -> str:
    return json.dumps(
        sorted(({"name": c.name, "arguments": c.arguments} for c in calls), key=json.dumps),
        sort_keys=True,
    )


def vote(
    samples: Sequence[Completion], tools: Sequence[ToolSpec], min_agreement: float
) -> tuple[str | None, list[ToolCall]]:
    """The majority invocation of ``samples`` (ids ``call_0``...), or why there is none:
    ``no_samples``, ``majority_unparsed``, ``majority_no_call``, ``no_majority`` (below
    ``min_agreement``), ``hallucinated_tool`` or ``rule:<code>`` (a rule-layer failure)."""
    votes: Counter[str] = Counter()
    parsed: dict[str, list[ToolCall]] = {}
    for completion in samples:
        text = completion.text
        if detect_format(text) is None:
            votes["<no call>"] += 1
            continue
        try:
            calls = parse_tool_calls(text)
        except ToolCallParseError:
            votes["<unparsed>"] += 1
            continue
        if not calls:
            votes["<no call>"] += 1
            continue
        key = _canonical(calls)
        votes[key] += 1
        parsed[key] = calls
    if not votes:
        return "no_samples", []
    key, count = votes.most_common(1)[0]
    if key == "<unparsed>":
        return "majority_unparsed", []
    if key == "<no call>":
        return "majority_no_call", []
    if count / max(1, len(samples)) < min_agreement:
        return "no_majority", []
    calls = [c.replace(id=f"call_{i}") for i, c in enumerate(parsed[key])]
    by_name = {t.name: t for t in tools}
    for call in calls:
        api = by_name.get(call.name)
        if api is None:
            return "hallucinated_tool", []
        issues = call_issues(call, api, "call")
        if issues:
            return f"rule:{issues[0].code}", []
    return None, calls


def grounded(calls: Sequence[ToolCall], tools: Sequence[ToolSpec], query: str) -> bool:
    """Whether the calls' tools cover the query: every required argument's value appears in
    the query text."""
    text = " ".join(query.lower().split())
    by_name = {t.name: t for t in tools}
    for call in calls:
        api = by_name.get(call.name)
        for name in api.required if api is not None else ():
            value = call.arguments.get(name)
            leaves = value if isinstance(value, list) else [value]
            if name not in call.arguments or not all(mentioned(v, text) for v in leaves):
                return False
    return True


# When no proposal survives, the reason reported is that of the proposal that got furthest.
_PROGRESS = (
    "ungrounded_proposal",
    "rule:",
    "hallucinated_tool",
    "no_majority",
    "majority_no_call",
    "majority_unparsed",
    "no_samples",
)


def _furthest(reasons: Sequence[str]) -> str:
    return min(reasons, key=lambda r: next(i for i, p in enumerate(_PROGRESS) if r.startswith(p)))


def _distinct(texts: Sequence[str]) -> list[list[ToolSpec]]:
    """The distinct valid proposals among ``texts`` (in order)."""
    seen: set[str] = set()
    out: list[list[ToolSpec]] = []
    for text in texts:
        try:
            tools = propose_tools(text)
        except ValueError:
            continue
        key = json.dumps([t.definition() for t in tools], sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(tools)
    return out


def run_round(
    generator: Generator, queries: Sequence[str], config: RoundConfig, round: int
) -> tuple[RoundStats, list[dict[str, Any]]]:
    """One round over ``queries``: its statistics and the surviving sub-task rows."""
    stats = RoundStats(round, queries=len(queries))
    rows: list[dict[str, Any]] = []
    propose = SamplingParams(
        n=config.proposals,
        temperature=config.proposal_temperature if config.proposals > 1 else 0.0,
        top_k=config.top_k,
        max_new_tokens=config.max_new_tokens,
        seed=config.seed + round,
    )
    sample = SamplingParams(
        n=config.k,
        temperature=config.temperature,
        top_k=config.top_k,
        max_new_tokens=config.max_new_tokens,
        seed=config.seed + round,
    )
    for start in range(0, len(queries), config.batch_size):
        batch = list(queries[start : start + config.batch_size])
        outputs = safe_generate(generator, [proposal_prompt(q) for q in batch], propose)
        ready: list[tuple[str, list[list[ToolSpec]]]] = []
        for query, outs in zip(batch, outputs):
            if isinstance(outs, BackendFailure):
                stats.reasons["backend_error"] += 1
                continue
            found = _distinct([c.text for c in outs])
            stats.proposals += len(found)
            if found:
                ready.append((query, found))
            else:
                stats.reasons["no_valid_tool_proposal"] += 1
        asks = [(q, tools) for q, found in ready for tools in found]
        convs = [Conversation((Message("user", q),), tuple(tools)) for q, tools in asks]
        samples = iter(safe_generate(generator, convs, sample) if convs else [])
        for query, found in ready:
            reasons: list[str] = []
            kept: tuple[list[ToolSpec], list[ToolCall]] | None = None
            abstain: list[ToolSpec] | None = None
            for tools in found:
                outs = next(samples)
                if isinstance(outs, BackendFailure):
                    reasons.append("no_samples")
                    continue
                reason, calls = vote(outs, tools, config.min_agreement)
                if reason is None and not grounded(calls, tools, query):
                    reason = "ungrounded_proposal"
                if reason is None and kept is None:
                    kept = (tools, calls)
                elif reason is not None:
                    reasons.append(reason)
                    if reason == "majority_no_call" and abstain is None:
                        abstain = tools
            if kept is not None:
                stats.survived += 1
                rows.extend(subtask_rows(query, *kept))
            elif config.abstention and abstain is not None:
                stats.abstained += 1
                ask = Conversation((Message("user", query),))
                rows.append(_row("invocation", ask, Message("assistant", ABSTAIN), abstain))
            else:
                stats.reasons[_furthest(reasons)] += 1
    stats.reasons["survived"] = stats.survived
    if stats.abstained:
        stats.reasons["abstained"] = stats.abstained
    stats.rows = len(rows)
    return stats, rows


__all__ = [
    "ABSTAIN",
    "QUERY_TOOLS_SYSTEM",
    "TOOL_DOC_SYSTEM",
    "RoundConfig",
    "RoundStats",
    "build_subtasks",
    "doc_prompt",
    "grounded",
    "proposal_prompt",
    "propose_tools",
    "read_queries",
    "run_round",
    "subtask_rows",
    "vote",
]
