"""Judge rewards: code verifies the hard constraints and a judge the soft ones, or a judge all.

:class:`JudgedReward` has TRL's reward calling convention (``reward(prompts, completions,
**columns) -> list[float | None]``) like :mod:`ifrl.constraints.rewards`, and reads the same
columns (:func:`ifrl.constraints.codec.batch_specs`; in IFEval's columns an optional ``kinds``
column, without it ids starting ``soft:`` are soft). ``judged`` says which constraints the
:class:`~ifrl.constraints.judge.Judge` sees, in one batch per call:

- ``judged="soft"`` (default): hard constraints are checked with
  :func:`ifrl.constraints.verify`, soft ones by the judge;
- ``judged="all"``: the judge checks every constraint, hard ones included (read as their
  instruction text): the reward a judge-only pipeline optimises. Logged beside the verifiers'
  reward (:mod:`ifrl.constraints.rewards`), it measures reward hacking.

- ``mode="all"``: 1.0 when every constraint passes. Rules run first: when a hard constraint
  already fails, the judge is not asked (the reward is 0 anyway), as "Precision over
  Diversity" recommends.
- ``mode="fraction"``: the share of constraints passed.
- ``soft_score="probability"`` uses the judge's ``p_yes`` for a soft constraint when it has
  one (else its verdict); an unparseable judge output counts as failed. With probabilities,
  ``all`` gives the smallest score (so 1.0 only when every constraint surely passes).

``on_unknown`` treats an id that neither the verifiers nor the soft types know as
:class:`~ifrl.constraints.rewards.ConstraintReward` does (``raise``, ``skip`` or ``zero``).

:attr:`JudgedReward.stats` counts, cumulatively, how many rewards came from which source
(hard only, soft only, both, hard short-circuit, none) and how many verdicts each source gave.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ifrl.constraints.base import REGISTRY, Semantics
from ifrl.constraints.codec import batch_specs
from ifrl.constraints.judge import Judge, JudgedConstraint, JudgeQuery, JudgeVerdict
from ifrl.constraints.rewards import (
    ConstraintReward,
    OnUnknown,
    RewardMode,
    Strictness,
    _warn_unknown,
    prompt_text,
)
from ifrl.constraints.scoring import ResponseView
from ifrl.constraints.soft import SOFT_CONSTRAINTS, HardDescriber, judge_text
from ifrl.core.config import check_choice
from ifrl.core.records import ConstraintSpec

SoftScore = Literal["verdict", "probability"]
Judged = Literal["soft", "all"]


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


class JudgedReward(ConstraintReward):
    """A TRL-compatible judge reward (see the module docstring); ``judged`` says which
    constraints the judge sees: ``"soft"`` (hard ones by code) or ``"all"``. The options it
    shares with :class:`ConstraintReward` mean the same."""

    def __init__(
        self,
        judge: Judge,
        mode: RewardMode = "all",
        strictness: Strictness = "strict",
        *,
        judged: Judged = "soft",
        column: str = "constraints",
        strip_think: bool = False,
        semantics: Semantics = "reference",
        soft_score: SoftScore = "verdict",
        describe: HardDescriber | None = None,
        name: str | None = None,
        on_unknown: OnUnknown = "raise",
    ) -> None:
        super().__init__(
            mode,
            strictness,
            column=column,
            strip_think=strip_think,
            semantics=semantics,
            name=name or f"judged_{strictness}_{mode}",
            on_unknown=on_unknown,
        )
        check_choice("judged", judged, ("soft", "all"))
        check_choice("soft_score", soft_score, ("verdict", "probability"))
        self.judge = judge
        self.judged = judged
        self.soft_score = soft_score
        self.describe = describe
        self.stats = RewardSourceStats()

    def _judge_value(self, verdict: JudgeVerdict) -> float:
        if verdict.status == "unparseable":
            return 0.0
        if self.soft_score == "probability" and verdict.p_yes is not None:
            return verdict.p_yes
        return 1.0 if verdict.status == "yes" else 0.0

    def _resolve(self, specs: list[ConstraintSpec]) -> tuple[list[ConstraintSpec], int]:
        """The row's constraints with unknown ids dropped (``skip``, ``zero``) and how many
        were unknown and count as failed (``zero``); ``raise`` keeps them to fail when built."""
        kept: list[ConstraintSpec] = []
        zeros = 0
        for spec in specs:
            self._seen += 1
            known = spec.id in REGISTRY or (spec.kind == "soft" and spec.id in SOFT_CONSTRAINTS)
            if known or self.on_unknown == "raise":
                kept.append(spec)
                continue
            self._unknown += 1
            _warn_unknown(spec.id, self.on_unknown)
            zeros += self.on_unknown == "zero"
        return kept, zeros

    def _check_code(self, text: str, specs: list[ConstraintSpec]) -> list[bool]:
        view = ResponseView(text)
        built = [c for c in self._built(specs) if c is not None]
        return [bool(view.check(c, self.strictness).passed) for c in built]

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        log_metric = columns.pop("log_metric", None)
        resolved = [
            self._resolve(batch_specs(columns, i, self.column)) for i in range(len(completions))
        ]
        rows = [specs for specs, _ in resolved]
        zeros = [z for _, z in resolved]
        texts = [self.answer(c) for c in completions]
        coded: list[list[float]] = []
        queries: list[JudgeQuery] = []
        asked: list[int] = []
        for i, specs in enumerate(rows):
            judge_all = self.judged == "all"
            by_code = [] if judge_all else [s for s in specs if s.kind == "hard"]
            by_judge = specs if judge_all else [s for s in specs if s.kind == "soft"]
            passed = self._check_code(texts[i], by_code) if by_code else []
            passed += [False] * zeros[i]
            coded.append([1.0 if p else 0.0 for p in passed])
            self.stats.hard_verdicts += len(passed)
            if not by_judge:
                continue
            if self.mode == "all" and not all(passed):
                self.stats.hard_short_circuit += 1
                continue
            prompt = prompt_text(prompts[i]) if i < len(prompts) else ""
            constraints = tuple(JudgedConstraint(s, judge_text(s, self.describe)) for s in by_judge)
            queries.append(JudgeQuery(prompt, texts[i], constraints))
            asked.append(i)
        judged: dict[int, list[float]] = {}
        if queries:
            for i, row in zip(asked, self.judge.judge(queries)):
                judged[i] = [self._judge_value(v) for v in row]
                self.stats.judge_verdicts += len(row)
                self.stats.judge_unparseable += sum(v.status == "unparseable" for v in row)
        out: list[float | None] = []
        for i, specs in enumerate(rows):
            self.stats.rewards += 1
            n_soft = sum(s.kind == "soft" for s in specs)
            if not specs and not zeros[i]:
                self.stats.no_constraints += 1
                out.append(None)
                continue
            if n_soft == 0:
                self.stats.hard_only += 1
            elif n_soft == len(specs):
                self.stats.soft_only += 1
            else:
                self.stats.hard_and_soft += 1
            n_judged = len(specs) + zeros[i] - len(coded[i])
            scores = coded[i] + judged.get(i, [0.0] * n_judged)
            if self.mode == "all":
                out.append(min(scores) if i in judged or n_judged == 0 else 0.0)
            else:
                out.append(sum(scores) / len(scores))
        self._log_unknown(log_metric)
        return out


__all__ = ["Judged", "JudgedReward", "RewardSourceStats"]
