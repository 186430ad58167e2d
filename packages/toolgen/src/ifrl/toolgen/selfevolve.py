"""ToolACE-DEV: self-improving tool learning without a teacher, one round at a time.

* :func:`build_subtasks` turns any tool dataset (dialogs) into the three sub-task datasets:
  ``tool_doc`` (usage → the tool's definition), ``query_tools`` (query → candidate tools) and
  ``invocation`` (query + tools → calls). Rows are OpenAI ``{"messages", "tools"}`` records, the
  format ``ifrl.rltrain``'s SFT reads.
* :func:`run_round` is one round on unlabeled queries: the model proposes tools
  (:func:`propose_tools`), samples ``k`` invocations, keeps the majority answer
  (self-consistency, :func:`vote`), drops rule-layer failures (unparsed output, hallucinated
  tools, calls that break the schema) and counts in :class:`RoundStats` how many queries survived
  and why the others did not.

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
from ifrl.toolgen.backend import BackendFailure, first_text, safe_generate
from ifrl.toolgen.dialog import Dialog
from ifrl.toolgen.verify import call_issues

# --------------------------------------------------------------------------------------------
# Sub-task datasets

TOOL_DOC_PROMPT = (
    "Write the JSON definition (name, description, parameters as JSON Schema) of the tool used "
    "below.\nInstruction: {query}\nCall: {call}"
)
QUERY_TOOLS_PROMPT = (
    "Propose the tools needed to answer the query below, as a JSON list of function definitions "
    "(name, description, parameters as JSON Schema). Reply with the JSON list only.\n"
    "Query: {query}"
)


def _row(
    task: str, user: str, assistant: Message, tools: Sequence[ToolSpec] = ()
) -> dict[str, Any]:
    return {
        "task": task,
        **Conversation((Message("user", user), assistant), tuple(tools)).to_openai(),
    }


def subtask_rows(
    query: str, tools: Sequence[ToolSpec], calls: Sequence[ToolCall]
) -> list[dict[str, Any]]:
    """The three sub-task rows for one labeled ``(query, tools, calls)`` example."""
    used = [t for t in tools if any(c.name == t.name for c in calls)]
    rows = [
        _row("invocation", query, Message("assistant", None, tuple(calls)), tools),
        _row(
            "query_tools",
            QUERY_TOOLS_PROMPT.format(query=query),
            Message("assistant", json.dumps([t.definition() for t in used], ensure_ascii=False)),
        ),
    ]
    for api in used:
        call = next(c for c in calls if c.name == api.name)
        rows.append(
            _row(
                "tool_doc",
                TOOL_DOC_PROMPT.format(query=query, call=render_tool_calls([call], "json")),
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

    k: int = opt("Invocations sampled per query (self-consistency).", 5)
    temperature: float = opt("Sampling temperature of invocations.", 0.8)
    top_k: int = opt("Top-k sampling of invocations.", 20)
    max_new_tokens: int = opt("Token budget per reply.", 256)
    min_agreement: float = opt("Share of the k samples the majority must reach.", 0.5)
    seed: int = opt("Sampling seed (round r samples with seed + r).", 0)
    batch_size: int = opt("Queries per backend request batch.", 16)

    def validate(self) -> None:
        if self.k < 1:
            raise ConfigError("", "k", f"must be at least 1, got {self.k}")
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "queries": self.queries,
            "survived": self.survived,
            "survival_rate": round(self.survived / self.queries, 4) if self.queries else 0.0,
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


def run_round(
    generator: Generator, queries: Sequence[str], config: RoundConfig, round: int
) -> tuple[RoundStats, list[dict[str, Any]]]:
    """One round over ``queries``: its statistics and the surviving sub-task rows."""
    stats = RoundStats(round, queries=len(queries))
    rows: list[dict[str, Any]] = []
    propose = SamplingParams(
        n=1, temperature=0.0, max_new_tokens=config.max_new_tokens, seed=config.seed + round
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
        proposals = safe_generate(
            generator, [QUERY_TOOLS_PROMPT.format(query=q) for q in batch], propose
        )
        ready: list[tuple[str, list[ToolSpec]]] = []
        for query, outs in zip(batch, proposals):
            text = first_text(outs)
            if isinstance(text, BackendFailure):
                stats.reasons["backend_error"] += 1
                continue
            try:
                ready.append((query, propose_tools(text)))
            except ValueError:
                stats.reasons["no_valid_tool_proposal"] += 1
        if not ready:
            continue
        convs = [Conversation((Message("user", q),), tuple(tools)) for q, tools in ready]
        for (query, tools), outs in zip(ready, safe_generate(generator, convs, sample)):
            if isinstance(outs, BackendFailure):
                stats.reasons["backend_error"] += 1
                continue
            reason, calls = vote(outs, tools, config.min_agreement)
            if reason is not None:
                stats.reasons[reason] += 1
                continue
            stats.survived += 1
            rows.extend(subtask_rows(query, tools, calls))
    stats.reasons["survived"] = stats.survived
    stats.rows = len(rows)
    return stats, rows


__all__ = [
    "QUERY_TOOLS_PROMPT",
    "TOOL_DOC_PROMPT",
    "RoundConfig",
    "RoundStats",
    "build_subtasks",
    "propose_tools",
    "read_queries",
    "run_round",
    "subtask_rows",
    "vote",
]
