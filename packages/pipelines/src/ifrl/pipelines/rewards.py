"""Reward functions the recipes plug into GRPO (TRL's calling convention).

:class:`JudgeReward` asks an ``ifrl.constraints`` judge (e.g. ``NoisyJudge``) about each hard
constraint of a row and returns the share it says are met — the reward a judge-based pipeline
optimises. The hard verifiers (``ifrl.constraints.rewards.strict_fraction``) give the true
compliance, so logging both side by side measures reward hacking.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ifrl.constraints.judge import Judge, JudgedConstraint, JudgeQuery
from ifrl.constraints.rewards import completion_text, row_constraints
from ifrl.core.records import ConstraintSpec


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence) and prompt and isinstance(prompt[-1], dict):
        return str(prompt[-1].get("content", ""))
    return str(prompt)


class JudgeReward:
    """Share of a row's hard constraints that ``judge`` says the completion meets."""

    def __init__(self, judge: Judge, *, name: str = "judge_fraction") -> None:
        self.judge = judge
        self.__name__ = name

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        queries: list[JudgeQuery | None] = []
        for i, (p, c) in enumerate(zip(prompts, completions)):
            specs = row_constraints(columns, i, "constraints")
            if not specs:
                queries.append(None)
                continue
            judged = tuple(
                JudgedConstraint(
                    ConstraintSpec(cid, dict(kw)), f"{cid} {json.dumps(kw, sort_keys=True)}"
                )
                for cid, kw in specs
            )
            queries.append(JudgeQuery(_prompt_text(p), completion_text(c), judged))
        asked = [q for q in queries if q is not None]
        verdicts = iter(self.judge.judge(asked)) if asked else iter(())
        out: list[float | None] = []
        for q in queries:
            if q is None:
                out.append(None)
                continue
            row = next(verdicts)
            out.append(sum(bool(v.passed) for v in row) / len(row))
        return out
