"""Rewards for mixed hard + soft constraints: code verifies the hard ones, a judge the soft ones.

:class:`JudgedReward` has TRL's reward calling convention (``reward(prompts, completions,
**columns) -> list[float | None]``) like :mod:`ifrl.constraints.rewards`, and reads the same
columns: ``constraints`` (``{"id", "kwargs", "kind"}`` objects) or IFEval's
``instruction_id_list`` + ``kwargs`` (+ an optional ``kinds`` column; without it, ids starting
``soft:`` are soft). Hard constraints are checked with :func:`ifrl.constraints.verify`; soft ones
are sent to a :class:`~ifrl.constraints.judge.Judge` in one batch per call.

- ``mode="all"``: 1.0 when every constraint passes. Rules run first: when a hard constraint
  already fails, the judge is not asked (the reward is 0 anyway), as "Precision over
  Diversity" recommends.
- ``mode="fraction"``: the share of constraints passed.
- ``soft_score="probability"`` uses the judge's ``p_yes`` for a soft constraint when it has
  one (else its verdict); an unparseable judge output counts as failed. With probabilities,
  ``all`` gives the smallest score (so 1.0 only when every constraint surely passes).

:attr:`JudgedReward.stats` counts, cumulatively, how many rewards came from which source
(hard only, soft only, both, hard short-circuit, none) and how many verdicts each source gave.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ifrl.constraints.errors import ConstraintSpecError
from ifrl.constraints.judge import Judge, JudgedConstraint, JudgeQuery, JudgeVerdict
from ifrl.constraints.rewards import RewardMode, Strictness, completion_text, strip_thinking
from ifrl.constraints.scoring import verify
from ifrl.constraints.soft import HardDescriber, judge_text
from ifrl.core.records import ConstraintSpec

SoftScore = Literal["verdict", "probability"]


@dataclass
class RewardSourceStats:
    """Where rewards came from (cumulative over calls)."""

    rewards: int = 0
    no_constraints: int = 0
    hard_only: int = 0
    soft_only: int = 0
    hard_and_soft: int = 0
    hard_short_circuit: int = 0
    hard_verdicts: int = 0
    judge_verdicts: int = 0
    judge_unparseable: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(vars(self))


def _load(value: Any, field: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as err:
            raise ConstraintSpecError("", field, f"not valid JSON: {err}") from err
    return value


def _kind(value: Any) -> Literal["hard", "soft"]:
    if value not in ("hard", "soft"):
        raise ConstraintSpecError("", "kind", f"must be hard or soft, got {value!r}")
    return "soft" if value == "soft" else "hard"


def row_specs(
    columns: Mapping[str, Any], index: int, column: str = "constraints"
) -> list[ConstraintSpec]:
    """All constraints (hard and soft) of row ``index`` of a TRL batch's columns."""
    if column in columns and columns[column] is not None:
        raw = _load(columns[column][index], column) or []
        out: list[ConstraintSpec] = []
        for i, item in enumerate(raw):
            item = _load(item, f"{column}[{i}]")
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                raise ConstraintSpecError("", f"{column}[{i}]", "expected an object with an 'id'")
            kind = item.get("kind", "hard")
            if kind not in ("hard", "soft"):
                raise ConstraintSpecError(item["id"], "kind", f"must be hard or soft, got {kind!r}")
            out.append(ConstraintSpec(item["id"], dict(item.get("kwargs") or {}), _kind(kind)))
        return out
    if "instruction_id_list" in columns:
        ids = _load(columns["instruction_id_list"][index], "instruction_id_list") or []
        kwargs = _load(columns["kwargs"][index], "kwargs") if "kwargs" in columns else None
        kwargs = kwargs if kwargs is not None else [{}] * len(ids)
        if len(kwargs) != len(ids):
            raise ConstraintSpecError("", "kwargs", f"has {len(kwargs)} entries for {len(ids)} ids")
        kinds = _load(columns["kinds"][index], "kinds") if "kinds" in columns else None
        if kinds is not None and len(kinds) != len(ids):
            raise ConstraintSpecError("", "kinds", f"has {len(kinds)} entries for {len(ids)} ids")
        specs = []
        for i, (cid, kw) in enumerate(zip(ids, kwargs)):
            kind = (
                kinds[i] if kinds is not None else ("soft" if cid.startswith("soft:") else "hard")
            )
            clean = {k: v for k, v in (_load(kw, f"kwargs[{i}]") or {}).items() if v is not None}
            specs.append(ConstraintSpec(str(cid), clean, _kind(kind)))
        return specs
    raise ConstraintSpecError(
        "", column, f"no '{column}' or 'instruction_id_list' column among {sorted(columns)}"
    )


def prompt_text(prompt: Any) -> str:
    """A TRL prompt as text: the string, or the last user message of a conversation."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence):
        for message in reversed(prompt):
            if isinstance(message, Mapping) and message.get("role") == "user":
                return str(message.get("content") or "")
    return completion_text(prompt)


class JudgedReward:
    """A TRL-compatible reward over hard and soft constraints (see the module docstring)."""

    def __init__(
        self,
        judge: Judge,
        mode: RewardMode = "all",
        strictness: Strictness = "strict",
        *,
        column: str = "constraints",
        strip_think: bool = False,
        soft_score: SoftScore = "verdict",
        describe: HardDescriber | None = None,
        name: str | None = None,
    ) -> None:
        if mode not in ("all", "fraction"):
            raise ValueError(f"mode must be 'all' or 'fraction', got {mode!r}")
        if strictness not in ("strict", "loose"):
            raise ValueError(f"strictness must be 'strict' or 'loose', got {strictness!r}")
        if soft_score not in ("verdict", "probability"):
            raise ValueError(f"soft_score must be 'verdict' or 'probability', got {soft_score!r}")
        self.judge = judge
        self.mode = mode
        self.strictness = strictness
        self.column = column
        self.strip_think = strip_think
        self.soft_score = soft_score
        self.describe = describe
        self.stats = RewardSourceStats()
        self.__name__ = name or f"judged_{strictness}_{mode}"

    def _soft_value(self, verdict: JudgeVerdict) -> float:
        if verdict.status == "unparseable":
            return 0.0
        if self.soft_score == "probability" and verdict.p_yes is not None:
            return verdict.p_yes
        return 1.0 if verdict.status == "yes" else 0.0

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        n = len(completions)
        rows = [row_specs(columns, i, self.column) for i in range(n)]
        texts = []
        for c in completions:
            text = completion_text(c)
            texts.append(strip_thinking(text) if self.strip_think else text)
        hard_scores: list[list[float]] = []
        queries: list[JudgeQuery] = []
        asked: list[int] = []
        for i, specs in enumerate(rows):
            hard = [s for s in specs if s.kind == "hard"]
            soft = [s for s in specs if s.kind == "soft"]
            verdicts = (
                verify(texts[i], [s.id for s in hard], [s.kwargs for s in hard], self.strictness)
                if hard
                else []
            )
            hard_scores.append([1.0 if v.passed else 0.0 for v in verdicts])
            self.stats.hard_verdicts += len(verdicts)
            if not soft:
                continue
            if self.mode == "all" and any(v.passed is False for v in verdicts):
                self.stats.hard_short_circuit += 1
                continue
            prompt = prompt_text(prompts[i]) if i < len(prompts) else ""
            constraints = tuple(JudgedConstraint(s, judge_text(s, self.describe)) for s in soft)
            queries.append(JudgeQuery(prompt, texts[i], constraints))
            asked.append(i)
        judged: dict[int, list[float]] = {}
        if queries:
            for i, row in zip(asked, self.judge.judge(queries)):
                judged[i] = [self._soft_value(v) for v in row]
                self.stats.judge_verdicts += len(row)
                self.stats.judge_unparseable += sum(v.status == "unparseable" for v in row)
        out: list[float | None] = []
        for i, specs in enumerate(rows):
            self.stats.rewards += 1
            n_soft = sum(s.kind == "soft" for s in specs)
            n_hard = len(specs) - n_soft
            if not specs:
                self.stats.no_constraints += 1
                out.append(None)
                continue
            if n_soft == 0:
                self.stats.hard_only += 1
            elif n_hard == 0:
                self.stats.soft_only += 1
            else:
                self.stats.hard_and_soft += 1
            scores = hard_scores[i] + judged.get(i, [0.0] * n_soft)
            if self.mode == "all":
                out.append(min(scores) if i in judged or n_soft == 0 else 0.0)
            else:
                out.append(sum(scores) / len(scores))
        return out


__all__ = ["JudgedReward", "RewardSourceStats", "prompt_text", "row_specs"]
