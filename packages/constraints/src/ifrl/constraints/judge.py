"""Judges: models (or simulations of them) that say whether a response satisfies a constraint.

A :class:`Judge` answers :class:`JudgeQuery` objects (a prompt, a response and the constraints to
check, each with the text the judge reads) with one :class:`JudgeVerdict` per constraint:
``yes``, ``no`` or ``unparseable``, an optional probability of ``yes``, and the raw output.

:class:`LLMJudge` asks any :class:`~ifrl.core.generation.Generator` backend (an OpenAI-compatible
server, vLLM, transformers) in one of two modes:

- ``pointwise``: one call per constraint (more accurate: the paper measures 59.3% recall on
  non-compliant responses against 30.6% for joint judging with Qwen3-32B);
- ``joint``: all of a prompt's constraints in one call, answered as ``1: yes`` / ``2: no`` lines
  (as VerIF does; cheaper).

Outputs are parsed by :func:`parse_yes_no` / :func:`parse_joint`; what cannot be parsed is
retried a bounded number of times (sampling with ``retry_temperature``, another seed) and then
reported as ``unparseable``, never guessed. When the backend returns log-probabilities, the
probability of ``yes`` comes from the log-probability of the verdict's first token
(:func:`yes_probability`). Verdicts are cached by (judge, mode, prompt, response, constraint) in a
:class:`JudgeCache`, optionally persisted to JSONL so reruns resume.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from ifrl.core.errors import IfrlError, RecordError
from ifrl.core.generation import Generator, Prompt
from ifrl.core.jsonl import JSONLWriter, read_jsonl
from ifrl.core.records import (
    Completion,
    ConstraintSpec,
    Conversation,
    Message,
    Record,
    SamplingParams,
    Verdict,
)

Label = Literal["yes", "no"]
Status = Literal["yes", "no", "unparseable"]
JudgeMode = Literal["pointwise", "joint"]
JUDGE_MODES: tuple[JudgeMode, ...] = ("pointwise", "joint")


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class JudgedConstraint(Record):
    """A constraint as a judge sees it: its spec (for bookkeeping) and the text the judge reads."""

    spec: ConstraintSpec
    text: str

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise RecordError("text", "must not be empty")


@dataclass(frozen=True, slots=True)
class JudgeQuery(Record):
    """One response to judge against some of its prompt's constraints."""

    prompt: str
    response: str
    constraints: tuple[JudgedConstraint, ...]


@dataclass(frozen=True, slots=True)
class JudgeVerdict(Record):
    """A judge's answer for one constraint.

    ``status`` is ``yes`` (satisfied), ``no`` or ``unparseable`` (the output said neither after
    every retry). ``p_yes`` is the judge's probability of ``yes`` when it has one. ``raw`` is the
    judge's output (for joint judging: the whole output), ``attempts`` the calls it took.
    """

    status: Status
    p_yes: float | None = None
    raw: str = ""
    attempts: int = 1

    def __post_init__(self) -> None:
        if self.status not in ("yes", "no", "unparseable"):
            raise RecordError("status", f"must be yes, no or unparseable, got {self.status!r}")
        if self.p_yes is not None and not (0.0 <= self.p_yes <= 1.0):
            raise RecordError("p_yes", f"must lie in [0, 1], got {self.p_yes}")

    @property
    def passed(self) -> bool | None:
        """True for ``yes``, False for ``no``, None when unparseable."""
        return None if self.status == "unparseable" else self.status == "yes"

    def to_verdict(self) -> Verdict:
        """A :class:`Verdict`: unparseable counts as failed (a reward must not pass it)."""
        if self.status == "unparseable":
            return Verdict(False, 0.0, "judge output unparseable")
        score = self.p_yes if self.p_yes is not None else (1.0 if self.status == "yes" else 0.0)
        return Verdict(self.status == "yes", score, f"judge said {self.status}")


@runtime_checkable
class Judge(Protocol):
    """Anything that judges constraints: ``judge(queries)[i][j]`` answers constraint j of query i."""

    name: str

    def judge(self, queries: Sequence[JudgeQuery]) -> list[list[JudgeVerdict]]:
        """One verdict per constraint of each query, in order."""
        ...


class JudgeError(IfrlError):
    """The judge's backend kept failing after the allowed retries."""


# --------------------------------------------------------------------------------------------
# Parsing

_YES = ("yes", "true", "pass", "passed", "passes", "satisfied", "compliant")
_NO = ("no", "false", "fail", "failed", "fails", "unsatisfied", "not satisfied", "non-compliant")
_WORD = "|".join(re.escape(w) for w in sorted(_YES + _NO, key=len, reverse=True))
_DECOR = r"[\s*_`\"'(\[{<]*"
_MARKER = re.compile(
    r"\b(?:final\s+answer|answer|verdict|judg(?:e)?ment|decision|result|label)\b"
    + r"[\s*_`\"']*(?:is\b)?\s*[:=\-]?"
    + _DECOR
    + rf"({_WORD})\b",
    re.IGNORECASE,
)
_BOXED = re.compile(rf"\\boxed\{{\s*(?:\\text\{{)?\s*({_WORD})\b", re.IGNORECASE)
_LEADING = re.compile(rf"^{_DECOR}({_WORD})\b", re.IGNORECASE)
_TRAILING = re.compile(rf"\b({_WORD})\b[\s*_`\"'.!)\]}}>]*$", re.IGNORECASE)
_NUMBERED = re.compile(
    r"^[ \t]*(?:[-*+][ \t]*)?(?:\*\*)?(?:constraint|requirement|item|c|#)?[ \t]*"
    r"\[?\(?(\d{1,3})\)?\]?(?:\*\*)?[ \t]*[.:)\-=][ \t]*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """A parsed verdict word and where it starts in the judge's output (for logprob alignment)."""

    label: Label
    start: int


def _label(word: str) -> Label:
    return "yes" if word.lower() in _YES else "no"


def answer_region(text: str) -> int:
    """Offset where the answer starts: after the last ``</think>`` (reasoning is ignored).

    An unclosed ``<think>`` means the model never finished reasoning: the region is empty.
    """
    close = text.rfind("</think>")
    if close >= 0:
        return close + len("</think>")
    if "<think>" in text:
        return len(text)
    return 0


def parse_answer(text: str, start: int = 0, end: int | None = None) -> ParsedAnswer | None:
    """Find the yes/no verdict in ``text[start:end]``; ``None`` when there is none.

    In order: the last explicit marker (``Answer: yes``, ``"verdict": "no"``, ``Final answer is
    **Yes**``), ``\\boxed{yes}``, a leading verdict word (``No, because ...``), a trailing one
    (``... so the answer is yes.``). Markdown decoration is tolerated. Synonyms: true/false,
    pass/fail, satisfied/not satisfied, compliant/non-compliant. A verdict word inside a
    sentence with none of those cues is not guessed at.
    """
    stop = len(text) if end is None else end
    region = text[start:stop]
    for pattern in (_MARKER, _BOXED):
        matches = list(pattern.finditer(region))
        if matches:
            last = matches[-1]
            return ParsedAnswer(_label(last.group(1)), start + last.start(1))
    for pattern in (_LEADING, _TRAILING):
        found = pattern.search(region)
        if found:
            return ParsedAnswer(_label(found.group(1)), start + found.start(1))
    return None


def parse_yes_no(text: str) -> Label | None:
    """The verdict of a pointwise judge output (reasoning in ``<think>`` ignored), or ``None``."""
    parsed = parse_answer(text, answer_region(text))
    return parsed.label if parsed else None


def parse_joint_answers(text: str, n: int) -> list[ParsedAnswer | None]:
    """The verdicts of a joint judge output for ``n`` constraints, ``None`` where missing.

    Accepted shapes: numbered lines (``1: yes``, ``2. No``, ``- [3] pass``, ``Constraint 4 -
    no``), a JSON list (``["yes", "no"]``) or object (``{"1": "yes"}``), or exactly ``n``
    lines that each parse as one verdict. Numbers outside ``1..n`` are ignored; a number
    answered twice keeps its first answer.
    """
    start = answer_region(text)
    out: list[ParsedAnswer | None] = [None] * n
    found = False
    for m in _NUMBERED.finditer(text, start):
        index = int(m.group(1)) - 1
        if not (0 <= index < n) or out[index] is not None:
            continue
        parsed = parse_answer(text, m.start(2), m.end(2))
        if parsed is not None:
            out[index] = parsed
            found = True
    if found:
        return out
    from_json = _parse_json_answers(text, start, n)
    if from_json is not None:
        return from_json
    lines = [
        (m.start(), m.end()) for m in re.finditer(r"[^\n]+", text[start:]) if m.group().strip()
    ]
    if len(lines) == n:
        parsed_lines = [parse_answer(text, start + a, start + b) for a, b in lines]
        if all(p is not None for p in parsed_lines):
            return parsed_lines
    return out


def _parse_json_answers(text: str, start: int, n: int) -> list[ParsedAnswer | None] | None:
    m = re.search(r"[\[{][^\[\]{}]*[\]}]", text[start:], re.DOTALL)
    if not m:
        return None
    try:
        data = json.loads(m.group())
    except ValueError:
        return None
    values: list[object]
    if isinstance(data, list):
        values = list(data)
    elif isinstance(data, dict):
        values = [data.get(str(i + 1), data.get(i + 1)) for i in range(n)]  # type: ignore[call-overload]
    else:
        return None
    if len(values) != n:
        return None
    out: list[ParsedAnswer | None] = []
    offset = start + m.start()
    for value in values:
        if isinstance(value, bool):
            out.append(ParsedAnswer("yes" if value else "no", offset))
        elif isinstance(value, str) and value.strip().lower() in _YES + _NO:
            out.append(ParsedAnswer(_label(value.strip()), offset))
        else:
            out.append(None)
    return out


def parse_joint(text: str, n: int) -> list[Label | None]:
    """Labels of :func:`parse_joint_answers`."""
    return [p.label if p else None for p in parse_joint_answers(text, n)]


# --------------------------------------------------------------------------------------------
# Probabilities


def yes_probability(
    completion: Completion,
    answer: ParsedAnswer,
    decode: Callable[[int], str] | None = None,
) -> float | None:
    """Probability of ``yes`` from the log-probability of the verdict's first token, if known.

    Backends return the log-probability ``lp`` of each *sampled* token only, so with ``p =
    exp(lp)`` this gives ``p`` when the judge said yes and ``1 - p`` when it said no: exact when
    yes and no carry all the mass at that position, an upper bound on the confidence otherwise.
    The verdict's token is found by ``decode`` (token id → text) when given, else only when
    the verdict is the first thing the judge wrote (token 0). ``None`` when not found.
    """
    if not completion.logprobs:
        return None
    index: int | None = None
    if decode is not None and len(completion.token_ids) == len(completion.logprobs):
        ends: list[int] = []
        pos = 0
        for token_id in completion.token_ids:
            pos += len(decode(token_id))
            ends.append(pos)
        if pos == len(completion.text):  # else the pieces do not add up: alignment unreliable
            index = next((i for i, end in enumerate(ends) if end > answer.start), None)
    if index is None and not completion.text[: answer.start].strip():
        index = 0
    if index is None:
        return None
    p = min(1.0, math.exp(completion.logprobs[index]))
    return p if answer.label == "yes" else 1.0 - p


# --------------------------------------------------------------------------------------------
# Cache


def cache_key(
    judge: str,
    mode: str,
    prompt: str,
    response: str,
    constraint: str,
    siblings: Sequence[str] = (),
) -> str:
    """Key of one verdict: judge (name + configuration), mode, prompt, response, constraint.

    For joint judging the other constraints judged in the same call (``siblings``) are part of
    the key, since they are part of what the judge saw.
    """
    payload = json.dumps(
        [judge, mode, prompt, response, constraint, list(siblings)], ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class JudgeCache:
    """Verdicts by :func:`cache_key`, in memory and, with ``path``, appended to a JSONL file.

    Only parsed verdicts are stored, so a rerun retries what was unparseable. Loading an
    existing file makes a rerun resume where the last one stopped.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = path
        self._entries: dict[str, JudgeVerdict] = {}
        self.hits = 0
        self.misses = 0
        if path is not None and os.path.exists(path):
            for row in read_jsonl(path, _cache_row):
                self._entries[row[0]] = row[1]

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> JudgeVerdict | None:
        verdict = self._entries.get(key)
        if verdict is None:
            self.misses += 1
        else:
            self.hits += 1
        return verdict

    def put_many(self, items: Sequence[tuple[str, JudgeVerdict]]) -> None:
        """Store parsed verdicts (unparseable ones are skipped)."""
        fresh = [(k, v) for k, v in items if v.status != "unparseable"]
        for key, verdict in fresh:
            self._entries[key] = verdict
        if self.path is not None and fresh:
            with JSONLWriter(self.path, append=True) as writer:
                for key, verdict in fresh:
                    writer.write({"key": key, "verdict": verdict.to_dict()})


def _cache_row(data: dict[str, object]) -> tuple[str, JudgeVerdict]:
    key = data.get("key")
    if not isinstance(key, str):
        raise RecordError("key", "missing or not a string")
    try:
        return key, JudgeVerdict.from_dict(data.get("verdict"))
    except RecordError as err:
        raise err.nested("verdict") from None


# --------------------------------------------------------------------------------------------
# LLM judge

POINTWISE_TEMPLATE = """You grade whether a response follows one constraint. Judge only this \
constraint: ignore the response's quality and any other instruction in the prompt.

### Prompt
{prompt}

### Response
{response}

### Constraint
{constraint}

Does the response satisfy the constraint? Reply with a single word: yes or no."""

JOINT_TEMPLATE = """You grade whether a response follows each of a prompt's constraints. Judge \
each constraint on its own; ignore the response's quality.

### Prompt
{prompt}

### Response
{response}

### Constraints
{constraints}

For every constraint, write one line "<number>: yes" if the response satisfies it or \
"<number>: no" if it does not, in order, and nothing else."""


@dataclass
class JudgeStats:
    """Counters of what a judge did: calls made, cache hits, retries, unparseable verdicts."""

    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    unparseable: int = 0
    with_probability: int = 0
    verdicts: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass
class _Unit:
    query: int
    constraints: list[int]
    text: str
    keys: list[str]
    best: list[JudgeVerdict | None] = field(default_factory=list)
    attempts: int = 0


class LLMJudge:
    """A judge backed by any :class:`~ifrl.core.generation.Generator`.

    ``mode`` is ``pointwise`` (one call per constraint) or ``joint`` (one call per query).
    ``params`` are the sampling parameters of the first attempt (default: greedy, logprobs on);
    an unparseable output is retried up to ``max_retries`` times at ``retry_temperature`` with
    seeds ``seed+1, seed+2, ...``; backend errors (:class:`~ifrl.core.errors.IfrlError`,
    ``OSError``) are retried as often, then raised as :class:`JudgeError`. ``chat`` sends the
    judge prompt as a user message (rendered with the model's chat template), otherwise as raw
    text. ``decode`` (token id → text) lets :func:`yes_probability` find the verdict token
    anywhere in the output; without it only a verdict written first gets a probability.
    """

    def __init__(
        self,
        generator: Generator,
        *,
        name: str = "llm-judge",
        mode: JudgeMode = "pointwise",
        params: SamplingParams | None = None,
        max_retries: int = 2,
        retry_temperature: float = 0.7,
        cache: JudgeCache | None = None,
        chat: bool = True,
        decode: Callable[[int], str] | None = None,
        pointwise_template: str = POINTWISE_TEMPLATE,
        joint_template: str = JOINT_TEMPLATE,
        batch_size: int = 64,
    ) -> None:
        if mode not in JUDGE_MODES:
            raise ValueError(f"mode must be one of {list(JUDGE_MODES)}, got {mode!r}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.generator = generator
        self.name = name
        self.mode: JudgeMode = mode
        default_tokens = 16 if mode == "pointwise" else 256
        self.params = params or SamplingParams(temperature=0.0, max_new_tokens=default_tokens)
        self.max_retries = max_retries
        self.retry_temperature = retry_temperature
        self.cache = cache if cache is not None else JudgeCache()
        self.chat = chat
        self.decode = decode
        self.pointwise_template = pointwise_template
        self.joint_template = joint_template
        self.batch_size = batch_size
        self.stats = JudgeStats()
        self._fingerprint = hashlib.sha256(
            json.dumps(
                [name, mode, pointwise_template, joint_template, self.params.to_dict(), chat]
            ).encode()
        ).hexdigest()[:16]

    # ----------------------------------------------------------------------------------------

    def render(self, query: JudgeQuery, constraint: int | None = None) -> str:
        """The judge prompt for one constraint (pointwise) or all of them (``constraint=None``)."""
        if constraint is not None:
            return self.pointwise_template.format(
                prompt=query.prompt,
                response=query.response,
                constraint=query.constraints[constraint].text,
            )
        listed = "\n".join(f"{i + 1}. {c.text}" for i, c in enumerate(query.constraints))
        return self.joint_template.format(
            prompt=query.prompt, response=query.response, constraints=listed
        )

    def judge(self, queries: Sequence[JudgeQuery]) -> list[list[JudgeVerdict]]:
        """One verdict per constraint of each query (cached ones are not asked again)."""
        results: list[list[JudgeVerdict | None]] = [[None] * len(q.constraints) for q in queries]
        pending = self._units(queries, results)
        attempt = 0
        while pending:
            self._run(pending, attempt, queries)
            retry: list[_Unit] = []
            for unit in pending:
                best = unit.best
                if any(v is None or v.status == "unparseable" for v in best) and (
                    attempt < self.max_retries
                ):
                    retry.append(unit)
                    continue
                done: list[tuple[str, JudgeVerdict]] = []
                for j, key, verdict in zip(unit.constraints, unit.keys, best):
                    assert verdict is not None
                    results[unit.query][j] = verdict
                    done.append((key, verdict))
                    self.stats.verdicts += 1
                    self.stats.unparseable += verdict.status == "unparseable"
                    self.stats.with_probability += verdict.p_yes is not None
                self.cache.put_many(done)
            if retry:
                self.stats.retries += len(retry)
            pending = retry
            attempt += 1
        return [[v for v in row if v is not None] for row in results]

    # ----------------------------------------------------------------------------------------

    def _units(
        self, queries: Sequence[JudgeQuery], results: list[list[JudgeVerdict | None]]
    ) -> list[_Unit]:
        units: list[_Unit] = []
        for qi, query in enumerate(queries):
            texts = [c.text for c in query.constraints]
            if self.mode == "pointwise":
                groups = [[j] for j in range(len(texts))]
            else:
                groups = [list(range(len(texts)))] if texts else []
            for group in groups:
                siblings = texts if self.mode == "joint" else []
                keys = [
                    cache_key(
                        self._fingerprint,
                        self.mode,
                        query.prompt,
                        query.response,
                        texts[j],
                        siblings,
                    )
                    for j in group
                ]
                cached = [self.cache.get(k) for k in keys]
                if all(c is not None for c in cached):
                    for j, verdict in zip(group, cached):
                        results[qi][j] = verdict
                    self.stats.cache_hits += len(group)
                    continue
                text = self.render(query, group[0] if self.mode == "pointwise" else None)
                units.append(_Unit(qi, group, text, keys, [None] * len(group)))
        return units

    def _prompt(self, text: str) -> Prompt:
        if self.chat:
            return Conversation(messages=(Message(role="user", content=text),))
        return text

    def _params(self, attempt: int) -> SamplingParams:
        if attempt == 0:
            return self.params.replace(n=1)
        seed = (self.params.seed or 0) + attempt
        return self.params.replace(n=1, temperature=self.retry_temperature, seed=seed)

    def _generate(self, prompts: list[Prompt], params: SamplingParams) -> list[Completion]:
        last: Exception | None = None
        for _ in range(self.max_retries + 1):
            self.stats.calls += len(prompts)
            try:
                out = self.generator.generate(prompts, params)
            except (IfrlError, OSError) as err:
                last = err
                continue
            if len(out) != len(prompts) or any(not c for c in out):
                raise JudgeError(
                    f"judge {self.name!r}: backend returned {len(out)} results for "
                    f"{len(prompts)} prompts"
                )
            return [c[0] for c in out]
        raise JudgeError(
            f"judge {self.name!r}: backend failed {self.max_retries + 1} times: {last}"
        ) from last

    def _run(self, units: list[_Unit], attempt: int, queries: Sequence[JudgeQuery]) -> None:
        params = self._params(attempt)
        for start in range(0, len(units), self.batch_size):
            batch = units[start : start + self.batch_size]
            completions = self._generate([self._prompt(u.text) for u in batch], params)
            for unit, completion in zip(batch, completions):
                unit.attempts += 1
                fresh = self._verdicts(completion, len(unit.constraints), unit.attempts)
                unit.best = _better(unit.best, fresh)

    def _verdicts(self, completion: Completion, n: int, attempts: int) -> list[JudgeVerdict]:
        text = completion.text
        if self.mode == "pointwise":
            answers: list[ParsedAnswer | None] = [parse_answer(text, answer_region(text))]
        else:
            answers = parse_joint_answers(text, n)
        out: list[JudgeVerdict] = []
        for answer in answers:
            if answer is None:
                out.append(JudgeVerdict("unparseable", None, text, attempts))
            else:
                p_yes = yes_probability(completion, answer, self.decode)
                out.append(JudgeVerdict(answer.label, p_yes, text, attempts))
        return out


def _better(old: list[JudgeVerdict | None], new: list[JudgeVerdict]) -> list[JudgeVerdict | None]:
    """Per constraint, keep a parsed verdict from an earlier attempt over an unparseable one."""
    merged: list[JudgeVerdict | None] = []
    for before, now in zip(old, new):
        if before is not None and before.status != "unparseable":
            merged.append(before.replace(attempts=now.attempts))
        else:
            merged.append(now)
    return merged


__all__ = [
    "JOINT_TEMPLATE",
    "JUDGE_MODES",
    "POINTWISE_TEMPLATE",
    "Judge",
    "JudgeCache",
    "JudgeError",
    "JudgeMode",
    "JudgeQuery",
    "JudgeStats",
    "JudgeVerdict",
    "JudgedConstraint",
    "LLMJudge",
    "ParsedAnswer",
    "answer_region",
    "cache_key",
    "parse_answer",
    "parse_joint",
    "parse_joint_answers",
    "parse_yes_no",
    "yes_probability",
]
