"""The baseline labeler: Math-Shepherd-style uniform Monte Carlo.

For each solution: split it into steps after every token whose text holds a newline (line
steps), then from every step prefix but the last sample ``rollouts`` completions and label the
step by the fraction that reach the correct answer (soft) or whether any does (hard). The last
step's prefix is the whole solution, so its label is that solution's own correctness (no
rollouts). Costs go to the decoder's :class:`~ifrl.core.records.Cost`, as for the EDU labeler, so
the two compare on the same questions and model.

* :func:`uniform_label` labels each question's greedy solution (decoded here);
* :func:`label_solutions` labels given solutions of one question, e.g. the leaves of its EDU tree,
  so that both labelers label the same solutions. A line prefix several solutions share is
  rolled out once (a labeler would cache it).
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
    """One solution of a question, its steps (token spans) and their labels; ``leaf`` is the
    EDU tree leaf it came from (None for a greedy solution decoded here)."""

    question: Question
    solution_ids: list[int]
    spans: list[tuple[int, int]]
    labels: list[StepLabel]
    leaf: int | None = None

    def steps(self, tokenizer: Any) -> list[str]:
        return [
            str(tokenizer.decode(self.solution_ids[a:b], skip_special_tokens=True))
            for a, b in self.spans
        ]

    def sample(self, tokenizer: Any, *, label: LabelKind = "soft") -> StepSample:
        """The labeled solution as a :class:`StepSample`."""
        meta: dict[str, Any] = {
            "method": "uniform",
            "split": "newline",
            "question_id": self.question.id,
            "soft": [s.soft for s in self.labels],
            "hard": [s.hard for s in self.labels],
            "rollouts": [s.leaves for s in self.labels],
        }
        if self.leaf is not None:
            meta["leaf"] = self.leaf
        return StepSample(
            prompt=self.question.prompt,
            steps=tuple(self.steps(tokenizer)),
            labels=tuple(s.soft if label == "soft" else s.hard for s in self.labels),
            meta=meta,
        )


def _params(config: UniformConfig) -> SamplingParams:
    return SamplingParams(
        n=config.rollouts,
        temperature=config.temperature,
        top_p=config.top_p,
        max_new_tokens=config.max_new_tokens,
        seed=config.seed,
    )


def label_solutions(
    decoder: StepDecoder,
    question: Question,
    solutions: Sequence[Sequence[int]],
    checker: Checker,
    config: UniformConfig | None = None,
    *,
    leaves: Sequence[int | None] | None = None,
) -> list[UniformResult]:
    """Label given solutions (token ids after the question's prompt) of one question by
    uniform rollouts from every inner line prefix; identical prefixes are rolled out once, in
    one decoder call for the question."""
    config = config or UniformConfig()
    if question.reference is None:
        raise ValueError(f"question {question.id!r} has no reference answer to check against")
    reference = question.reference
    tok = decoder.tokenizer
    prompt = decoder.encode(question.prompt)
    spans = [split_steps(list(s), tok) for s in solutions]
    prefixes: dict[tuple[int, ...], int] = {}
    for sol, sp in zip(solutions, spans):
        for _, b in sp[:-1]:
            if config.max_new_tokens - b > 0:
                prefixes.setdefault(tuple(sol[:b]), config.max_new_tokens - b)
    keys = list(prefixes)
    rolled = decoder.sample(
        [prompt + list(k) for k in keys], [prefixes[k] for k in keys], _params(config)
    )
    label_of: dict[tuple[int, ...], StepLabel] = {}
    for key, rollouts in zip(keys, rolled):
        ok = sum(
            checker(decode_solution(tok, [*key, *r], config.stop), reference) for r in rollouts
        )
        label_of[key] = StepLabel(len(rollouts), ok)
    out = []
    for i, (sol, sp) in enumerate(zip(solutions, spans)):
        final_ok = checker(decode_solution(tok, list(sol), config.stop), reference)
        labels = [label_of.get(tuple(sol[:b]), StepLabel(1, int(final_ok))) for _, b in sp[:-1]]
        if sp:
            labels.append(StepLabel(1, int(final_ok)))
        leaf = leaves[i] if leaves is not None else None
        out.append(UniformResult(question, list(sol), sp, labels, leaf))
    return out


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
    for q in questions:
        if q.reference is None:
            raise ValueError(f"question {q.id!r} has no reference answer to check against")
    prompts = [decoder.encode(q.prompt) for q in questions]
    traces = decoder.greedy(prompts, [config.max_new_tokens] * len(prompts), top_n=0)
    results = []
    for q, trace in tqdm(list(zip(questions, traces)), desc="uniform MC", disable=not progress):
        results += label_solutions(decoder, q, [list(trace.token_ids)], checker, config)
    return results


__all__ = ["UniformConfig", "UniformResult", "label_solutions", "uniform_label"]
