"""ToolACE-DEV: self-improving tool learning without a teacher.

* :func:`build_subtasks` turns any tool dataset (dialogs) into the three sub-task datasets:
  ``tool_doc`` (usage → the tool's definition), ``query_tools`` (query → candidate tools) and
  ``invocation`` (query + tools → calls). Rows are OpenAI ``{"messages", "tools"}`` records, the
  format ``ifrl.rltrain``'s SFT reads.
* :class:`SelfEvolver` runs rounds: on unlabeled queries the model proposes tools, samples ``k``
  invocations, keeps the majority answer (self-consistency), drops rule-layer failures (unparsed
  output, hallucinated tools, calls that break the schema), fine-tunes on the survivors through a
  :class:`FineTuner` (``ifrl.rltrain`` SFT when installed — toolgen does not depend on it), and
  logs per round how much data survived and why.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ifrl.core.errors import IfrlError, RecordError
from ifrl.core.generation import Generator
from ifrl.core.jsonl import read_jsonl, write_json, write_jsonl
from ifrl.core.records import Conversation, Message, SamplingParams, ToolCall
from ifrl.core.toolcalls import (
    ToolCallParseError,
    detect_format,
    parse_tool_calls,
    render_tool_calls,
)
from ifrl.toolgen.apis import Api, api_problems, extract_json
from ifrl.toolgen.backend import BackendFailure, first_text, safe_generate
from ifrl.toolgen.dialog import Dialog
from ifrl.toolgen.verify import call_issues


class ConfigError(IfrlError, ValueError):
    """A self-evolution config is invalid; the message names the key."""


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


def _definition(api: Api) -> dict[str, Any]:
    return {"name": api.name, "description": api.description, "parameters": api.parameters}


def _row(task: str, user: str, assistant: Message, tools: Sequence[Api] = ()) -> dict[str, Any]:
    return {
        "task": task,
        "messages": [Message("user", user).to_openai(), assistant.to_openai()],
        "tools": [t.to_openai() for t in tools],
    }


def subtask_rows(
    query: str, tools: Sequence[Api], calls: Sequence[ToolCall]
) -> list[dict[str, Any]]:
    """The three sub-task rows for one labeled ``(query, tools, calls)`` example."""
    used = [t for t in tools if any(c.name == t.name for c in calls)]
    rows = [
        _row("invocation", query, Message("assistant", None, tuple(calls)), tools),
        _row(
            "query_tools",
            QUERY_TOOLS_PROMPT.format(query=query),
            Message("assistant", json.dumps([_definition(t) for t in used], ensure_ascii=False)),
        ),
    ]
    for api in used:
        call = next(c for c in calls if c.name == api.name)
        rows.append(
            _row(
                "tool_doc",
                TOOL_DOC_PROMPT.format(query=query, call=render_tool_calls([call], "json")),
                Message("assistant", json.dumps(_definition(api), ensure_ascii=False)),
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
# Fine-tuning interface


@runtime_checkable
class FineTuner(Protocol):
    """Fine-tunes ``model`` on ``data`` (JSONL of ``{"messages", "tools"}``); returns the new
    model's path."""

    def finetune(self, model: str, data: Path, output_dir: Path, round: int) -> str: ...


@dataclass
class RltrainSFT:
    """:class:`FineTuner` through ``ifrl.rltrain``'s SFT trainer (imported only when used)."""

    max_steps: int = 20
    learning_rate: float = 2e-5
    batch_size: int = 4
    max_length: int = 512
    extra: dict[str, Any] = field(default_factory=dict)

    def finetune(self, model: str, data: Path, output_dir: Path, round: int) -> str:
        from ifrl.core.errors import require

        require("ifrl.rltrain", "ifrl-toolgen", "rltrain")
        from ifrl.rltrain.sft import SFTConfig, SFTTrainer

        config = SFTConfig(
            model=model,
            data=str(data),
            output_dir=str(output_dir),
            max_steps=self.max_steps,
            learning_rate=self.learning_rate,
            per_device_batch_size=self.batch_size,
            max_length=self.max_length,
            progress=False,
            **self.extra,
        )
        result = SFTTrainer(config).train()
        if result.final_model is None:
            raise IfrlError("the SFT run saved no final model")
        return str(result.final_model)


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass
class SelfEvolveConfig:
    """Settings of a self-evolution run (the YAML file of ``ifrl toolgen selfevolve``)."""

    queries: str = field(
        default="", metadata={"help": "JSONL of unlabeled queries ({'query': ...})."}
    )
    seed_data: str = field(
        default="",
        metadata={
            "help": "Optional dialogs JSONL; its sub-task rows join round 1's training data."
        },
    )
    output_dir: str = field(
        default="runs/selfevolve", metadata={"help": "Where rounds write data, models and stats."}
    )
    backend: str = field(default="hf", metadata={"help": "hf, vllm or openai."})
    model: str = field(
        default="", metadata={"help": "Model path (hf/vllm) or served model name (openai)."}
    )
    base_url: str = field(
        default="", metadata={"help": "OpenAI-compatible server URL (openai backend)."}
    )
    rounds: int = field(default=3, metadata={"help": "Number of self-evolution rounds."})
    k: int = field(
        default=5, metadata={"help": "Invocations sampled per query (self-consistency)."}
    )
    temperature: float = field(
        default=0.8, metadata={"help": "Sampling temperature of invocations."}
    )
    top_k: int = field(default=20, metadata={"help": "Top-k sampling of invocations."})
    max_new_tokens: int = field(default=256, metadata={"help": "Token budget per reply."})
    min_agreement: float = field(
        default=0.5, metadata={"help": "Share of the k samples the majority must reach."}
    )
    reuse_queries: bool = field(
        default=False,
        metadata={"help": "Use all queries every round (else a new slice per round)."},
    )
    finetune: str = field(default="none", metadata={"help": "none or rltrain."})
    sft_max_steps: int = field(default=20, metadata={"help": "SFT steps per round (rltrain)."})
    seed: int = field(default=0, metadata={"help": "Sampling seed."})
    batch_size: int = field(default=16, metadata={"help": "Queries per backend request batch."})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SelfEvolveConfig:
        names = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in names:
                raise ConfigError(f"{key}: unknown setting (known: {', '.join(sorted(names))})")
            default = names[key].default
            if isinstance(default, bool) and not isinstance(value, bool):
                raise ConfigError(f"{key}: expected true or false, got {value!r}")
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{key}: expected a number, got {value!r}")
                value = type(default)(value)
            if isinstance(default, str) and not isinstance(value, str):
                raise ConfigError(f"{key}: expected a string, got {value!r}")
            kwargs[key] = value
        config = cls(**kwargs)
        config.validate()
        return config

    @classmethod
    def from_yaml(cls, path: str | Path) -> SelfEvolveConfig:
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {err}") from None
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping of settings")
        try:
            return cls.from_dict(data)
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None

    def validate(self) -> None:
        if not self.queries:
            raise ConfigError("queries: required (a JSONL file of {'query': ...})")
        if self.rounds < 1:
            raise ConfigError(f"rounds: must be at least 1, got {self.rounds}")
        if self.k < 1:
            raise ConfigError(f"k: must be at least 1, got {self.k}")
        if not 0 < self.min_agreement <= 1:
            raise ConfigError(f"min_agreement: must lie in (0, 1], got {self.min_agreement}")
        if self.finetune not in ("none", "rltrain"):
            raise ConfigError(f"finetune: must be none or rltrain, got {self.finetune!r}")


# --------------------------------------------------------------------------------------------
# Self-evolution


@dataclass
class RoundStats:
    """What happened to the queries of one round."""

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


def _canonical(calls: Sequence[ToolCall]) -> str:
    return json.dumps(
        sorted(({"name": c.name, "arguments": c.arguments} for c in calls), key=json.dumps),
        sort_keys=True,
    )


def propose_tools(text: str) -> list[Api]:
    """Valid tool definitions from a proposal reply; raises ``ValueError`` when there are none."""
    data = extract_json(text)
    entries = data if isinstance(data, list) else [data]
    tools: list[Api] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        try:
            api = Api.from_openai(entry)
        except RecordError:
            continue
        if not api_problems(api) and all(t.name != api.name for t in tools):
            tools.append(api)
    if not tools:
        raise ValueError("no valid tool definition in the proposal")
    return tools


class SelfEvolver:
    """Runs ToolACE-DEV rounds. ``make_generator(model)`` builds the backend for a model path
    (called again after each fine-tune); ``finetuner`` is ``None`` to only collect data."""

    def __init__(
        self,
        config: SelfEvolveConfig,
        make_generator: Callable[[str], Generator],
        finetuner: FineTuner | None = None,
        *,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.make_generator = make_generator
        self.finetuner = finetuner
        self.log = log or (lambda _msg: None)

    def load_queries(self) -> list[str]:
        out = []
        for row in read_jsonl(self.config.queries):
            query = row.get("query") if isinstance(row, Mapping) else None
            if not isinstance(query, str) or not query.strip():
                raise ConfigError(f"{self.config.queries}: every line needs a non-empty 'query'")
            out.append(query)
        return out

    def run_round(
        self, generator: Generator, queries: Sequence[str], round: int
    ) -> tuple[RoundStats, list[dict[str, Any]]]:
        """One round over ``queries``: the stats and the surviving sub-task rows."""
        cfg = self.config
        stats = RoundStats(round, queries=len(queries))
        rows: list[dict[str, Any]] = []
        propose = SamplingParams(
            n=1, temperature=0.0, max_new_tokens=cfg.max_new_tokens, seed=cfg.seed + round
        )
        sample = SamplingParams(
            n=cfg.k,
            temperature=cfg.temperature,
            top_k=cfg.top_k,
            max_new_tokens=cfg.max_new_tokens,
            seed=cfg.seed + round,
        )
        for start in range(0, len(queries), cfg.batch_size):
            batch = list(queries[start : start + cfg.batch_size])
            proposals = safe_generate(
                generator, [QUERY_TOOLS_PROMPT.format(query=q) for q in batch], propose
            )
            ready: list[tuple[str, list[Api]]] = []
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
            convs = [
                Conversation((Message("user", q),), tuple(t.to_spec() for t in tools))
                for q, tools in ready
            ]
            samples = safe_generate(generator, convs, sample)
            for (query, tools), outs in zip(ready, samples):
                if isinstance(outs, BackendFailure):
                    stats.reasons["backend_error"] += 1
                    continue
                reason, calls = self._vote(outs, tools)
                if reason is not None:
                    stats.reasons[reason] += 1
                    continue
                stats.survived += 1
                rows.extend(subtask_rows(query, tools, calls))
        stats.reasons["survived"] = stats.survived
        return stats, rows

    def _vote(self, outs: Sequence[Any], tools: Sequence[Api]) -> tuple[str | None, list[ToolCall]]:
        votes: Counter[str] = Counter()
        parsed: dict[str, list[ToolCall]] = {}
        for completion in outs:
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
        if count / max(1, len(outs)) < self.config.min_agreement:
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

    def run(self) -> list[RoundStats]:
        """All rounds; resumes after the rounds whose ``stats.json`` exists."""
        cfg = self.config
        out_dir = Path(cfg.output_dir)
        queries = self.load_queries()
        seed_rows: list[dict[str, Any]] = []
        if cfg.seed_data:
            seed_rows = build_subtasks(list(read_jsonl(cfg.seed_data, Dialog.from_json)))
        model = cfg.model
        history: list[RoundStats] = []
        for r in range(1, cfg.rounds + 1):
            rdir = out_dir / f"round_{r}"
            stats_path = rdir / "stats.json"
            if stats_path.exists():
                data = json.loads(stats_path.read_text(encoding="utf-8"))
                model = data.get("model") or model
                done = RoundStats(
                    r,
                    data["queries"],
                    data["survived"],
                    data["training_rows"],
                    model,
                    Counter(data.get("reasons", {})),
                )
                history.append(done)
                self.log(f"round {r}: already done ({done.survived}/{done.queries} survived)")
                continue
            if cfg.reuse_queries:
                chunk = queries
            else:
                size = -(-len(queries) // cfg.rounds)
                chunk = queries[(r - 1) * size : r * size]
            generator = self.make_generator(model)
            stats, rows = self.run_round(generator, chunk, r)
            if r == 1:
                rows = seed_rows + rows
            stats.rows = len(rows)
            data_path = rdir / "train.jsonl"
            write_jsonl(data_path, rows)
            if self.finetuner is not None and rows:
                model = self.finetuner.finetune(model, data_path, rdir / "model", r)
            elif self.finetuner is not None:
                stats.reasons["finetune_skipped_no_data"] += 1
            stats.model = model
            write_json(stats_path, stats.to_dict())
            history.append(stats)
            self.log(
                f"round {r}: {stats.survived}/{stats.queries} queries survived, {stats.rows} rows; "
                + ", ".join(f"{k}={v}" for k, v in stats.reasons.most_common())
            )
        write_jsonl(out_dir / "rounds.jsonl", [s.to_dict() for s in history])
        return history


__all__ = [
    "ConfigError",
    "FineTuner",
    "RltrainSFT",
    "RoundStats",
    "SelfEvolveConfig",
    "SelfEvolver",
    "build_subtasks",
    "propose_tools",
    "subtask_rows",
]
