"""The baseline labeler: Math-Shepherd-style uniform Monte Carlo.

For each question: decode one solution (greedy by default), split it into steps after every token
whose text holds a newline, then from every step prefix but the last sample ``rollouts``
completions and label the step by the fraction that reach the correct answer (soft) or whether
any does (hard). The last step's prefix is the whole solution, so its label is that solution's
own correctness (no rollouts). Costs go to the decoder's :class:`~ifrl.core.records.Cost`, as for
the EDU labeler, so the two compare on the same questions and model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from ifrl.core.config import opt
from ifrl.core.records import SamplingParams, StepSample
from ifrl.prm.checkers import Checker
from ifrl.prm.decoding import StepDecoder
from ifrl.prm.labels import LabelKind, StepLabel, decode_solution, split_steps
from ifrl.prm.questions import Question


@dataclass(frozen=True)
class UniformConfig:
    """Rollouts per step and how to sample them."""

    rollouts: int = opt("Completions sampled from every step prefix.", 8)
    temperature: float = opt("Rollout temperature.", 1.0)
    top_p: float = opt("Rollout nucleus mass.", 1.0)
    max_new_tokens: int = opt("Tokens per solution.", 256)
    seed: int = opt("Rollout seed.", 0)
    stop: tuple[str, ...] = opt("Stop strings ending a solution.", ())


@dataclass
class UniformResult:
    """One question's solution, its steps (token spans) and their labels."""

    question: Question
    solution_ids: list[int]
    spans: list[tuple[int, int]]
    labels: list[StepLabel]

    def steps(self, tokenizer: Any) -> list[str]:
        return [
            str(tokenizer.decode(self.solution_ids[a:b], skip_special_tokens=True))
            for a, b in self.spans
        ]

    def sample(self, tokenizer: Any, *, label: LabelKind = "soft") -> StepSample:
        """The labeled solution as a :class:`StepSample`."""
        return StepSample(
            prompt=self.question.prompt,
            steps=tuple(self.steps(tokenizer)),
            labels=tuple(s.soft if label == "soft" else s.hard for s in self.labels),
            meta={
                "method": "uniform",
                "question_id": self.question.id,
                "soft": [s.soft for s in self.labels],
                "hard": [s.hard for s in self.labels],
                "rollouts": [s.leaves for s in self.labels],
            },
        )


def uniform_label(
    decoder: StepDecoder,
    questions: Sequence[Question],
    checker: Checker,
    config: UniformConfig | None = None,
    *,
    progress: bool = False,
) -> list[UniformResult]:
    """Label each question's greedy solution by uniform per-step Monte Carlo rollouts."""
    config = config or UniformConfig()
    tok = decoder.tokenizer
    prompts = [decoder.encode(q.prompt) for q in questions]
    for q in questions:
        if q.reference is None:
            raise ValueError(f"question {q.id!r} has no reference answer to check against")
    traces = decoder.greedy(prompts, [config.max_new_tokens] * len(prompts), top_n=0)
    results = []
    params = SamplingParams(
        n=config.rollouts,
        temperature=config.temperature,
        top_p=config.top_p,
        max_new_tokens=config.max_new_tokens,
        seed=config.seed,
    )
    for q, prompt, trace in tqdm(
        list(zip(questions, prompts, traces)), desc="uniform MC", disable=not progress
    ):
        assert q.reference is not None
        solution = list(trace.token_ids)
        spans = split_steps(solution, tok)
        final_ok = checker(decode_solution(tok, solution, config.stop), q.reference)
        inner = [
            (b, config.max_new_tokens - b) for _, b in spans[:-1] if config.max_new_tokens - b > 0
        ]
        rolled = decoder.sample(
            [prompt + solution[:b] for b, _ in inner], [budget for _, budget in inner], params
        )
        by_end = dict(zip([b for b, _ in inner], rolled))
        labels = []
        for _, b in spans[:-1]:
            rollouts = by_end.get(b)
            if rollouts is None:  # no budget left to roll out: the solution itself decides
                labels.append(StepLabel(1, int(final_ok)))
                continue
            ok = sum(
                checker(decode_solution(tok, solution[:b] + list(r), config.stop), q.reference)
                for r in rollouts
            )
            labels.append(StepLabel(len(rollouts), ok))
        if spans:
            labels.append(StepLabel(1, int(final_ok)))
        results.append(UniformResult(q, solution, spans, labels))
    return results


__all__ = ["UniformConfig", "UniformResult", "uniform_label"]
