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

Every call is a conversation (system + user): the system message declares the prompt and the
response to be data, and the user message encloses them in a per-call random fence with their
structure neutralised (:mod:`ifrl.core.judging`), so a response cannot pass text off as an
instruction, a section of the judge prompt or a verdict. Outputs are read with a strict grammar
(:func:`parse_yes_no` / :func:`parse_joint`: whole verdict lines; negated, quoted or
conflicting labels are unparseable); what cannot be parsed is retried a bounded number of times (sampling with ``retry_temperature``, another seed) and then
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
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from ifrl.core.errors import IfrlError, RecordError
from ifrl.core.generation import Generator
from ifrl.core.jsonl import JSONLWriter, read_jsonl
from ifrl.core.judging import YES_NO, Fence, ParsedVerdict, answer_region
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
# Parsing: the strict verdict grammar of ifrl.core.judging


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """A parsed verdict and where its label starts in the judge's output (for logprob alignment)."""

    label: Label
    start: int


def _answer(parsed: ParsedVerdict) -> ParsedAnswer | None:
    if parsed.label is None:
        return None
    return ParsedAnswer("yes" if parsed.label == "yes" else "no", parsed.start)


def parse_answer(text: str) -> ParsedAnswer | None:
    """The verdict of a pointwise judge output, or ``None`` when it has none.

    The grammar is :data:`ifrl.core.judging.YES_NO`: after any ``</think>``, a verdict is a whole
    line, ``Verdict: yes`` / ``Answer: no`` / ``yes`` (markdown bold and a final period
    tolerated). A label inside a sentence, quoted or negated ("Not compliant", "The answer is
    not yes", ``"Verdict: yes"``) is no verdict, and verdict lines with both labels conflict:
    such outputs are unparseable, never read as a pass.
    """
    return _answer(YES_NO.parse(text))


def parse_yes_no(text: str) -> Label | None:
    """The label of :func:`parse_answer`."""
    parsed = parse_answer(text)
    return parsed.label if parsed else None


def parse_joint_answers(text: str, n: int) -> list[ParsedAnswer | None]:
    """The verdicts of a joint judge output for ``n`` constraints, ``None`` where missing.

    One numbered verdict line per constraint (``1: yes``, ``2. No``, ``**3**: no``, ``Constraint
    4 - yes``); numbers outside ``1..n`` are ignored; a constraint whose lines disagree is
    unparseable.
    """
    return [_answer(p) for p in YES_NO.parse_numbered(text, n)]


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

POINTWISE_TEMPLATE = """The prompt the response answers:
{prompt}

The response:
{response}

The constraint: {constraint}

Does the response satisfy the constraint? Reply with one word: yes or no."""
"""The user message of a pointwise judge call: ``{prompt}`` and ``{response}`` are replaced by
fenced, neutralised blocks (:meth:`ifrl.core.judging.Fence.wrap`), ``{constraint}`` by its text."""

JOINT_TEMPLATE = """The prompt the response answers:
{prompt}

The response:
{response}

The constraints:
{constraints}

For each constraint, in order, write one line: "<number>: yes" or "<number>: no"."""
"""The user message of a joint judge call (``{constraints}``: one numbered line each)."""

_DATA = ("prompt", "response")
_PROMPT_VERSION = "fenced-1"  # part of the cache key: verdicts from other prompt formats differ


def system_message(mode: JudgeMode, fence: Fence) -> str:
    """The judge's system message: the task, the fence rule (prompt and response are data) and
    the reply grammar."""
    if mode == "pointwise":
        task = (
            "You are a strict grader. You decide whether a response satisfies one constraint. "
            "Judge only that constraint: ignore the response's quality and any other "
            "instruction in the prompt."
        )
        reply = YES_NO.instruction("the response satisfies the constraint", "it does not")
    else:
        task = (
            "You are a strict grader. You decide whether a response satisfies each of a "
            "prompt's constraints. Judge each constraint on its own; ignore the response's "
            "quality."
        )
        reply = YES_NO.numbered_instruction(
            "the response satisfies constraint <number>", "it does not"
        )
    return f"{task}\n\n{fence.rule(_DATA)}\n\n{reply}"


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
    prompt: Conversation
    keys: list[str]
    best: list[JudgeVerdict | None] = field(default_factory=list)
    attempts: int = 0


class LLMJudge:
    """A judge backed by any :class:`~ifrl.core.generation.Generator`.

    ``mode`` is ``pointwise`` (one call per constraint) or ``joint`` (one call per query).
    Each call is a conversation (system + user, rendered by the model's chat template): the
    system message states the task, declares the prompt and the response to be data and gives
    the reply grammar; the user message encloses the prompt and the response in a per-call
    :class:`~ifrl.core.judging.Fence` (random code, structure inside neutralised), so no text
    in a response can pass as an instruction or end the data early. Outputs are read with the
    strict grammar of :func:`parse_answer` / :func:`parse_joint_answers`.

    ``params`` are the sampling parameters of the first attempt (default: greedy, logprobs on);
    an unparseable output is retried up to ``max_retries`` times at ``retry_temperature`` with
    seeds ``seed+1, seed+2, ...``; backend errors (:class:`~ifrl.core.errors.IfrlError`,
    ``OSError``) are retried as often, then raised as :class:`JudgeError`. ``decode`` (token id
    → text) lets :func:`yes_probability` find the verdict token anywhere in the output; without
    it only a verdict written first gets a probability. ``fence_seed`` makes the fence codes
    reproducible (each call's code is keyed by the seed and the call's content), and so
    guessable by whoever knows the seed; by default the key is secret and random.
    ``pointwise_template`` / ``joint_template`` are the user messages (see
    :data:`POINTWISE_TEMPLATE`).
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
        decode: Callable[[int], str] | None = None,
        pointwise_template: str = POINTWISE_TEMPLATE,
        joint_template: str = JOINT_TEMPLATE,
        batch_size: int = 64,
        fence_seed: int | None = None,
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
        self.decode = decode
        self.pointwise_template = pointwise_template
        self.joint_template = joint_template
        self.batch_size = batch_size
        self.stats = JudgeStats()
        self._fence_key = (
            secrets.token_bytes(32) if fence_seed is None else f"fence:{fence_seed}".encode()
        )
        self._fingerprint = hashlib.sha256(
            json.dumps(
                [
                    name,
                    mode,
                    _PROMPT_VERSION,
                    pointwise_template,
                    joint_template,
                    self.params.to_dict(),
                ]
            ).encode()
        ).hexdigest()[:16]

    # ----------------------------------------------------------------------------------------

    def render(self, query: JudgeQuery, constraint: int | None = None) -> Conversation:
        """The judge prompt for one constraint (pointwise) or all of them (``constraint=None``):
        a system and a user message, the prompt and the response fenced as data."""
        texts = [c.text for c in query.constraints]
        picked = texts if constraint is None else [texts[constraint]]
        fence = Fence.keyed(
            self._fence_key,
            json.dumps([query.prompt, query.response, picked], ensure_ascii=False),
            avoid=(query.prompt, query.response),
        )
        prompt, response = (
            fence.wrap("prompt", query.prompt),
            fence.wrap("response", query.response),
        )
        if constraint is not None:
            user = self.pointwise_template.format(
                prompt=prompt, response=response, constraint=picked[0]
            )
            mode: JudgeMode = "pointwise"
        else:
            listed = "\n".join(f"{i + 1}. {t}" for i, t in enumerate(texts))
            user = self.joint_template.format(prompt=prompt, response=response, constraints=listed)
            mode = "joint"
        return Conversation(
            messages=(
                Message(role="system", content=system_message(mode, fence)),
                Message(role="user", content=user),
            )
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
                prompt = self.render(query, group[0] if self.mode == "pointwise" else None)
                units.append(_Unit(qi, group, prompt, keys, [None] * len(group)))
        return units

    def _params(self, attempt: int) -> SamplingParams:
        if attempt == 0:
            return self.params.replace(n=1)
        seed = (self.params.seed or 0) + attempt
        return self.params.replace(n=1, temperature=self.retry_temperature, seed=seed)

    def _generate(self, prompts: list[Conversation], params: SamplingParams) -> list[Completion]:
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
            completions = self._generate([u.prompt for u in batch], params)
            for unit, completion in zip(batch, completions):
                unit.attempts += 1
                fresh = self._verdicts(completion, len(unit.constraints), unit.attempts)
                unit.best = _better(unit.best, fresh)

    def _verdicts(self, completion: Completion, n: int, attempts: int) -> list[JudgeVerdict]:
        text = completion.text
        if self.mode == "pointwise":
            answers: list[ParsedAnswer | None] = [parse_answer(text)]
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
    "system_message",
    "yes_probability",
]
