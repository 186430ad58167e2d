"""``NoisyJudge``: a simulated judge with set error rates, for studying reward hacking.

It knows the truth (from an oracle: by default the hard verifiers) and flips it at set rates:
a compliant response is passed with probability ``recall_compliant`` and a non-compliant one is
failed with probability ``recall_noncompliant`` (so it is *falsely passed* with probability
``1 - recall_noncompliant``, the paper's key number). Each (judge, seed, prompt, response,
constraint) draws its own random number from a hash, so verdicts do not depend on batching or
order and repeat exactly across runs. Precision (the share of passes that are truly compliant)
follows from the recalls and the share of compliant pairs (:meth:`NoisyJudge.precision_at`);
:meth:`NoisyJudge.from_precision` picks the recall on non-compliant responses that gives a wanted
precision at a given base rate.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Callable, Sequence

from ifrl.constraints.base import Semantics
from ifrl.constraints.judge import JudgeQuery, JudgeVerdict
from ifrl.constraints.scoring import Mode, check_hard
from ifrl.constraints.soft import SOFT_PREFIX, is_soft
from ifrl.constraints.synth import synthesize
from ifrl.core.data.corpus import english_lines
from ifrl.core.records import ConstrainedPrompt, ConstraintSpec

Oracle = Callable[[JudgeQuery, int], bool]


def hard_oracle(mode: Mode = "strict", semantics: Semantics = "reference") -> Oracle:
    """An oracle answering with the hard verifiers (``strict`` or ``loose``, in ``semantics``).

    A hard type marked ``kind="soft"`` (to be judged, e.g. when simulating a noisy reward) is
    answered by its verifier too; ``soft:*`` types have no code truth and raise ``ValueError``.
    """

    def oracle(query: JudgeQuery, index: int) -> bool:
        spec = query.constraints[index].spec
        if is_soft(spec) and spec.id.startswith(SOFT_PREFIX):
            raise ValueError(
                f"NoisyJudge has no truth for soft constraint {spec.id!r}: pass an oracle"
            )
        return check_hard(query.response, spec, mode, semantics)

    return oracle


def _rate(name: str, value: float) -> float:
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return float(value)


class NoisyJudge:
    """A judge that reports the oracle's truth with set recalls (seeded, order independent).

    With ``scores=True`` each verdict also carries ``p_yes``: a score drawn uniformly in
    ``[0.5, 1]`` for yes and ``[0, 0.5)`` for no (ordered like the verdict, *not* calibrated),
    so calibration plots can be exercised.
    """

    def __init__(
        self,
        oracle: Oracle | None = None,
        *,
        recall_compliant: float = 1.0,
        recall_noncompliant: float = 1.0,
        seed: int = 0,
        name: str = "noisy",
        scores: bool = False,
    ) -> None:
        self.oracle = oracle or hard_oracle()
        self.recall_compliant = _rate("recall_compliant", recall_compliant)
        self.recall_noncompliant = _rate("recall_noncompliant", recall_noncompliant)
        self.seed = seed
        self.name = name
        self.scores = scores

    @classmethod
    def from_precision(
        cls,
        precision: float,
        *,
        base_rate: float,
        recall_compliant: float = 1.0,
        oracle: Oracle | None = None,
        seed: int = 0,
        name: str = "noisy",
        scores: bool = False,
    ) -> NoisyJudge:
        """The judge whose precision is ``precision`` when a share ``base_rate`` of pairs comply.

        Solves ``precision = r_c·π / (r_c·π + (1 - r_nc)·(1 - π))`` for ``r_nc``; raises
        ``ValueError`` when no recall in [0, 1] gives that precision.
        """
        _rate("precision", precision)
        if not (0.0 < base_rate < 1.0):
            raise ValueError(f"base_rate must lie in (0, 1), got {base_rate}")
        if precision == 0.0:
            raise ValueError("precision 0 is reachable only with recall_compliant 0")
        false_pass = (
            recall_compliant * base_rate * (1.0 - precision) / (precision * (1 - base_rate))
        )
        if false_pass > 1.0:
            raise ValueError(
                f"precision {precision} is unreachable at base rate {base_rate} with "
                f"recall_compliant {recall_compliant} (even a judge passing everything has "
                f"precision {base_rate})"
            )
        return cls(
            oracle,
            recall_compliant=recall_compliant,
            recall_noncompliant=1.0 - false_pass,
            seed=seed,
            name=name,
            scores=scores,
        )

    def precision_at(self, base_rate: float) -> float:
        """Expected precision when a share ``base_rate`` of the judged pairs comply."""
        passed_true = self.recall_compliant * base_rate
        passed_false = (1.0 - self.recall_noncompliant) * (1.0 - base_rate)
        total = passed_true + passed_false
        return passed_true / total if total > 0 else 0.0

    def _rng(self, query: JudgeQuery, index: int) -> random.Random:
        key = json.dumps(
            [self.name, self.seed, query.prompt, query.response, query.constraints[index].text],
            ensure_ascii=False,
        )
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def judge(self, queries: Sequence[JudgeQuery]) -> list[list[JudgeVerdict]]:
        """One verdict per constraint: the oracle's truth, flipped at the set rates."""
        out: list[list[JudgeVerdict]] = []
        for query in queries:
            row: list[JudgeVerdict] = []
            for j in range(len(query.constraints)):
                truth = self.oracle(query, j)
                rng = self._rng(query, j)
                u = rng.random()
                said_yes = u < self.recall_compliant if truth else u >= self.recall_noncompliant
                p_yes = None
                if self.scores:
                    v = rng.random()
                    p_yes = 0.5 + 0.5 * v if said_yes else 0.5 * v * 0.999
                row.append(JudgeVerdict("yes" if said_yes else "no", p_yes, "", 1))
            out.append(row)
        return out


# --------------------------------------------------------------------------------------------
# Simulated audit data


def _kwarg_strings(specs: Sequence[ConstraintSpec]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for spec in specs:
        for name, value in spec.kwargs.items():
            if isinstance(value, str):
                out.append((name, value))
            elif isinstance(value, list):
                out += [(name, v) for v in value if isinstance(v, str)]
    return out


def simulate_response(
    rng: random.Random, specs: Sequence[ConstraintSpec], lines: Sequence[str]
) -> str:
    """A response of corpus sentences, edited at random so it complies with some constraints.

    Each edit applies with a fixed chance regardless of the constraints (case, commas,
    paragraphs, sections, bullets, highlights, placeholders, two answers, a title, a
    postscript, quotes, JSON, a fixed short answer), and
    the string kwargs of the constraints (keywords, phrases) are sometimes written in, at the
    start for ``first_word``, at the end for ``end_phrase``. The verifiers decide the truth.
    """
    sentences = rng.sample(list(lines), rng.randint(1, min(12, len(lines))))
    cut = sorted(rng.sample(range(1, len(sentences)), rng.randint(0, min(3, len(sentences) - 1))))
    bounds = [0, *cut, len(sentences)]
    paragraphs = [" ".join(sentences[a:b]) for a, b in itertools.pairwise(bounds)]
    for name, value in _kwarg_strings(specs):
        if rng.random() < 0.5:
            continue
        if name == "first_word":
            paragraphs[0] = f"{value} {paragraphs[0]}"
        elif name == "end_phrase":
            paragraphs[-1] = f"{paragraphs[-1]} {value}"
        else:
            i = rng.randrange(len(paragraphs))
            paragraphs[i] = f"{paragraphs[i]} " + " ".join([value] * rng.randint(1, 3))
    if rng.random() < 0.1:
        paragraphs = [f"SECTION {i + 1}\n{p}" for i, p in enumerate(paragraphs)]
    if rng.random() < 0.25:
        paragraphs = ["\n".join(f"* {s}" for s in p.split(". ")) for p in paragraphs]
    if rng.random() < 0.25:
        paragraphs = [f"*{p[:20]}*{p[20:]}" for p in paragraphs]
    if rng.random() < 0.2:
        paragraphs[-1] += " Write to [name] at [address] on [date]."
    text = (rng.choice(["\n\n", "\n***\n", "\n"]) if rng.random() < 0.5 else "\n\n").join(
        paragraphs
    )
    if rng.random() < 0.1:
        text = f"{text}\n******\n{rng.choice(lines)}"
    if rng.random() < 0.05:
        text = rng.choice(("My answer is yes.", "My answer is no.", "My answer is maybe."))
    if rng.random() < 0.2:
        text = "<<A Short Answer>>\n" + text
    if rng.random() < 0.2:
        text += "\n\nP.S. Thank you for asking."
    case = rng.random()
    if case < 0.2:
        text = text.lower()
    elif case < 0.35:
        text = text.upper()
    if rng.random() < 0.3:
        text = text.replace(",", "")
    wrap = rng.random()
    if wrap < 0.12:
        text = f'"{text}"'
    elif wrap < 0.2:
        text = json.dumps({"answer": text})
    return text


def simulate_audit_items(
    n: int, *, seed: int = 0, max_constraints: int = 3
) -> list[ConstrainedPrompt]:
    """``n`` prompts with 1..``max_constraints`` conflict-free hard constraints each and a
    :func:`simulate_response`: a mixed set of compliant and non-compliant pairs for audits."""
    rng = random.Random(seed)
    lines = english_lines()
    seeds = [f"Rewrite this in your own words: {rng.choice(lines)}" for _ in range(n)]
    return [
        ConstrainedPrompt(
            f"sim-{seed}-{i}", p.prompt, p.constraints, simulate_response(rng, p.constraints, lines)
        )
        for i, p in enumerate(synthesize(seeds, (1, max_constraints), rng))
    ]


__all__ = ["NoisyJudge", "Oracle", "hard_oracle", "simulate_audit_items", "simulate_response"]
