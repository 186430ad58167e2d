"""A synthetic arithmetic task on which a tiny policy produces step-by-step solutions.

Questions are chains of two or three single-digit additions and subtractions
(``Question: 3 + 4 - 2``); gold solutions read::

    Step 1: 3 + 4 = 7
    Step 2: 7 - 2 = 5
    #### 5

:func:`train_policy` fine-tunes a causal LM (the seeded tiny model by default) on gold solutions
for a short while, so that it has learnt the format but still errs in the arithmetic: its
solutions are right sometimes and wrong sometimes, which is what step labels and a PRM need.
The trained policy is cached by its settings and reused.

Exact step truth: a solution's line is right when it equals the gold solution's line at the same
index (the task's format is fixed, so the gold solution is the only right one);
:func:`line_truth` gives every line's prefix correctness and :func:`first_wrong_line` the index
of the first wrong line (``-1``: none), what ProcessBench calls the label.

Held-out questions the warm-up never saw: with ``ArithmeticTask(holdout=0.2)`` a fifth of the
distinct questions (chosen by a hash of the question text, :meth:`ArithmeticTask.reserved`) is
reserved for evaluation; the warm-up skips them and ``held_out(..., part="eval")`` draws only
them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ifrl.core.config import ConfigError, check_fields, opt
from ifrl.core.jsonl import atomic_dir
from ifrl.core.tiny import build_tiny_model, cache_root
from ifrl.prm.fit import LoopConfig, train_loop
from ifrl.prm.processbench import StepProblem
from ifrl.prm.questions import Question

PROMPT_TEMPLATE = "Question: {question}\n"
Part = Literal["any", "train", "eval"]
_TERM = re.compile(r"\s*([+-])\s*(\d+)")


@dataclass(frozen=True)
class Problem:
    """A synthetic question with its gold step-by-step solution and answer."""

    id: str
    question: str
    solution: str
    answer: int

    def to_question(self) -> Question:
        return Question(self.id, PROMPT_TEMPLATE.format(question=self.question), str(self.answer))


@dataclass(frozen=True)
class ArithmeticTask:
    """The task's difficulty: chain length and number range.

    A question's first operand is in ``[1, min(9, max_value)]``; then ``min_ops`` to ``max_ops``
    operations each add or subtract an operand in ``[1, max_operand]``, chosen among those that
    keep the running value in ``[0, max_value]``. Checked on construction (:class:`ConfigError`
    names the field).
    """

    min_ops: int = opt("Fewest operations in a question.", 2)
    max_ops: int = opt("Most operations in a question.", 2)
    max_value: int = opt("Largest value a running result may take.", 9, minimum=1)
    max_operand: int = opt("Largest operand added or subtracted.", 9, minimum=1)
    holdout: float = opt(
        "Share of the distinct questions reserved for evaluation (by a hash of the question): "
        "the policy warm-up never trains on them.",
        0.0,
    )

    def __post_init__(self) -> None:
        self.validate()

    def reserved(self, question: str) -> bool:
        """Whether ``question`` is reserved for evaluation (a fixed hash of its text)."""
        if self.holdout <= 0:
            return False
        digest = hashlib.sha256(question.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.holdout

    def in_part(self, question: str, part: Part) -> bool:
        """``any``: every question; ``train``: those not reserved; ``eval``: the reserved ones
        (every question when nothing is reserved)."""
        if part == "any" or self.holdout <= 0:
            return True
        return self.reserved(question) == (part == "eval")

    def validate(self) -> None:
        if not 1 <= self.min_ops <= self.max_ops:
            raise ConfigError(
                "", "min_ops", f"need 1 <= min_ops <= max_ops, got {self.min_ops}, {self.max_ops}"
            )
        check_fields(self)
        if not 0.0 <= self.holdout < 1.0:
            raise ConfigError("", "holdout", f"must be in [0, 1), got {self.holdout}")

    def chain(self, rng: random.Random) -> tuple[str, list[str], int]:
        """An expression of small operands (``3 + 4 - 2``), its steps and its value."""
        value = rng.randint(1, min(9, self.max_value))
        expr = [str(value)]
        steps = []
        for _ in range(rng.randint(self.min_ops, self.max_ops)):
            moves = [
                (op, k)
                for k in range(1, self.max_operand + 1)
                for op, new in (("+", value + k), ("-", value - k))
                if 0 <= new <= self.max_value
            ]
            op, k = rng.choice(moves)
            new = value + k if op == "+" else value - k
            expr.append(f"{op} {k}")
            steps.append(f"{value} {op} {k} = {new}")
            value = new
        return " ".join(expr), steps, value

    def stream(self, seed: int = 0, prefix: str = "syn") -> Iterator[Problem]:
        """Deterministic problems without end (the same arguments give the same sequence)."""
        rng = random.Random(seed)
        for i in itertools.count():
            question, steps, answer = self.chain(rng)
            lines = [f"Step {k}: {s}" for k, s in enumerate(steps, 1)] + [f"#### {answer}"]
            yield Problem(f"{prefix}-{seed}-{i}", question, "\n".join(lines), answer)

    def problems(self, n: int, seed: int = 0, prefix: str = "syn") -> list[Problem]:
        """The first ``n`` problems of :meth:`stream`."""
        return list(itertools.islice(self.stream(seed, prefix), n))

    def held_out(
        self,
        n: int,
        seed: int,
        prefix: str = "eval",
        exclude: Iterable[str] = (),
        part: Part = "any",
    ) -> list[Problem]:
        """``n`` distinct problems whose questions are not in ``exclude`` and belong to ``part``
        (:meth:`in_part`), deterministic.

        Raises ``ValueError`` when the task has too few distinct questions left.
        """
        seen = set(exclude)
        out: list[Problem] = []
        share = self.holdout if part == "eval" and self.holdout > 0 else 1.0
        draws = max(1, int(50 * n / share))
        for p in itertools.islice(self.stream(seed, prefix), draws):
            if len(out) == n:
                break
            if p.question not in seen and self.in_part(p.question, part):
                seen.add(p.question)
                out.append(p)
        if len(out) < n:
            raise ValueError(
                f"only {len(out)} distinct held-out questions of {n} asked in {draws} draws: "
                "the task is too small for this many (raise max_ops or max_value)"
            )
        return out


@dataclass(frozen=True)
class PolicyConfig:
    """The task, and how long and how hard the policy warm-up trains on its gold solutions."""

    problems: int = opt("Gold solutions the warm-up trains on.", 48_000)
    epochs: float = opt("Passes over them.", 1.0)
    batch_size: int = opt("Solutions per optimizer step.", 32)
    lr: float = opt("Peak learning rate.", 3e-3)
    seed: int = opt("Seed of the solutions and the training.", 0)
    task: ArithmeticTask = opt("The arithmetic task.", factory=ArithmeticTask)

    def key(self) -> str:
        """A hash of the settings (the cache key of the warm-up; ``task.holdout`` left out when
        it is 0, so policies cached before it existed are still found)."""
        data = asdict(self)
        if not self.task.holdout:
            del data["task"]["holdout"]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def train_policy(
    base_model: str | Path,
    out_dir: str | Path,
    config: PolicyConfig | None = None,
    *,
    progress: bool = True,
) -> Path:
    """Fine-tune ``base_model`` on gold solutions; reuse ``out_dir`` when it holds this config."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = config or PolicyConfig()
    out = Path(out_dir)
    marker = out / "ifrl_policy.json"
    manifest = {"base": str(base_model), **asdict(config)}
    if not config.task.holdout:
        del manifest["task"]["holdout"]
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == manifest:
        return out
    tok = AutoTokenizer.from_pretrained(str(base_model))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = AutoModelForCausalLM.from_pretrained(str(base_model), dtype=torch.float32)
        examples = []
        n = config.problems
        stream = config.task.stream(seed=config.seed + 1000, prefix="train")
        gold = itertools.islice((p for p in stream if not config.task.reserved(p.question)), n)
        for p in gold:
            prompt = tok.encode(PROMPT_TEMPLATE.format(question=p.question))
            target = [*tok.encode(p.solution, add_special_tokens=False), tok.eos_token_id]
            examples.append((prompt, target))
        model.train()
        pad = int(tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)

        def collate(batch: list[tuple[list[int], list[int]]]) -> dict[str, Any]:
            width = max(len(a) + len(b) for a, b in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            labels = torch.full((len(batch), width), -100, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, (a, b) in enumerate(batch):
                seq = a + b
                ids[r, : len(seq)] = torch.tensor(seq)
                labels[r, len(a) : len(seq)] = torch.tensor(b)
                mask[r, : len(seq)] = 1
            return {"input_ids": ids, "attention_mask": mask, "labels": labels}

        def loss_fn(batch: dict[str, Any]) -> Any:
            return model(**batch).loss

        loop = LoopConfig(
            epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, seed=config.seed
        )
        train_loop(
            list(model.parameters()),
            examples,
            collate,
            loss_fn,
            loop,
            desc="policy warm-up",
            progress=progress,
        )
    model.eval()
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "ifrl_policy.json").write_text(json.dumps(manifest) + "\n", encoding="utf-8")
    return out


def gold_lines(question: str) -> list[str]:
    """The gold solution's lines of an arithmetic question (``3 + 4 - 2``, or a prompt
    ``Question: 3 + 4 - 2``); ``ValueError`` when it is not one."""
    text = question.strip()
    if text.startswith("Question:"):
        text = text[len("Question:") :].strip()
    first = re.match(r"\d+", text)
    if first is None:
        raise ValueError(f"not an arithmetic question: {question!r}")
    value, pos = int(first[0]), first.end()
    lines: list[str] = []
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None:
            raise ValueError(f"not an arithmetic question: {question!r}")
        op, k = m[1], int(m[2])
        new = value + k if op == "+" else value - k
        lines.append(f"Step {len(lines) + 1}: {value} {op} {k} = {new}")
        value, pos = new, m.end()
    return [*lines, f"#### {value}"]


def line_truth(question: str, steps: Sequence[str]) -> list[bool]:
    """Exact step truth: for each step (a line, as cut by ``split_solution``), whether it and
    every step before it equal the gold solution's lines (blank steps are left out of the
    comparison but take the truth of the step before them)."""
    gold = gold_lines(question)
    out: list[bool] = []
    ok, index = True, 0
    for step in steps:
        text = step.strip()
        if text:
            ok = ok and index < len(gold) and text == gold[index]
            index += 1
        out.append(ok)
    return out


def first_wrong_line(question: str, steps: Sequence[str]) -> int:
    """The index of the first wrong step (:func:`line_truth`), ``-1`` when none is wrong."""
    truth = line_truth(question, steps)
    return truth.index(False) if False in truth else -1


def planted_problems(problems: Iterable[Problem], seed: int = 0) -> list[StepProblem]:
    """A step-level set in ProcessBench's format from gold solutions: each problem's gold lines
    (label -1) and a copy whose line ``k`` (drawn uniformly, the final ``#### N`` line included)
    states a wrong result that the later lines compute on (label ``k``). ``problem`` is the
    question as the policy's prompt holds it (``Question: ...``)."""
    rng = random.Random(seed)
    out: list[StepProblem] = []
    for p in problems:
        gold = p.solution.splitlines()
        k = rng.randrange(len(gold))
        lines = list(gold[:k])
        if k == len(gold) - 1:
            wrong = rng.choice([v for v in range(0, max(10, p.answer + 10)) if v != p.answer])
            lines.append(f"#### {wrong}")
        else:
            m = re.fullmatch(r"Step (\d+): (\d+) ([+-]) (\d+) = (\d+)", gold[k])
            assert m is not None, gold[k]
            right = int(m[5])
            value = rng.choice([v for v in range(0, max(10, right + 10)) if v != right])
            lines.append(f"Step {m[1]}: {m[2]} {m[3]} {m[4]} = {value}")
            for line in gold[k + 1 : -1]:
                n = re.fullmatch(r"Step (\d+): (\d+) ([+-]) (\d+) = (\d+)", line)
                assert n is not None, line
                new = value + int(n[4]) if n[3] == "+" else value - int(n[4])
                lines.append(f"Step {n[1]}: {value} {n[3]} {n[4]} = {new}")
                value = new
            lines.append(f"#### {value}")
        question = PROMPT_TEMPLATE.format(question=p.question)
        steps = [line + "\n" for line in gold[:-1]] + [gold[-1]]
        wrong_steps = [line + "\n" for line in lines[:-1]] + [lines[-1]]
        out.append(StepProblem(f"{p.id}-gold", question, tuple(steps), -1, True))
        out.append(StepProblem(f"{p.id}-k{k}", question, tuple(wrong_steps), k, False))
    return out


def default_policy_dir(config: PolicyConfig | None = None, base_seed: int = 0) -> Path:
    """Where the synthetic policy trained from the tiny model is cached."""
    config = config or PolicyConfig()
    return cache_root() / "prm" / f"arith-policy-tiny{base_seed}-{config.key()}"


def synthetic_policy(config: PolicyConfig | None = None, progress: bool = True) -> Path:
    """The tiny model warmed up on the synthetic task (built once, then cached)."""
    config = config or PolicyConfig()
    base = build_tiny_model("qwen2", seed=0)
    return train_policy(base, default_policy_dir(config), config, progress=progress)


__all__ = [
    "PROMPT_TEMPLATE",
    "ArithmeticTask",
    "PolicyConfig",
    "Problem",
    "default_policy_dir",
    "first_wrong_line",
    "gold_lines",
    "line_truth",
    "planted_problems",
    "synthetic_policy",
    "train_policy",
]
