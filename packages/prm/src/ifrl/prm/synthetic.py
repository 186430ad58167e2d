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
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ifrl.prm.branching import Question
from ifrl.prm.loop import LoopConfig, train_loop

PROMPT_TEMPLATE = "Question: {question}\n"


@dataclass(frozen=True)
class Problem:
    """A synthetic question with its gold step-by-step solution and answer."""

    id: str
    question: str
    solution: str
    answer: int

    def to_question(self) -> Question:
        return Question(self.id, PROMPT_TEMPLATE.format(question=self.question), str(self.answer))


def arithmetic_chain(
    rng: random.Random,
    max_ops: int = 2,
    *,
    min_ops: int = 2,
    max_value: int = 9,
    max_operand: int = 9,
) -> tuple[str, list[str], int]:
    """An expression of small operands (``3 + 4 - 2``), its steps and its value.

    The first operand is in ``[1, min(9, max_value)]``; then ``min_ops`` to ``max_ops``
    operations each add or subtract an operand in ``[1, max_operand]``, chosen among those that
    keep the running value in ``[0, max_value]``.
    """
    if not 1 <= min_ops <= max_ops:
        raise ValueError(f"need 1 <= min_ops <= max_ops, got {min_ops}, {max_ops}")
    if max_value < 1 or max_operand < 1:
        raise ValueError(f"max_value and max_operand must be >= 1, got {max_value}, {max_operand}")
    value = rng.randint(1, min(9, max_value))
    expr = [str(value)]
    steps = []
    for _ in range(rng.randint(min_ops, max_ops)):
        moves = [
            (op, k)
            for k in range(1, max_operand + 1)
            for op, new in (("+", value + k), ("-", value - k))
            if 0 <= new <= max_value
        ]
        op, k = rng.choice(moves)
        new = value + k if op == "+" else value - k
        expr.append(f"{op} {k}")
        steps.append(f"{value} {op} {k} = {new}")
        value = new
    return " ".join(expr), steps, value


def make_problems(
    n: int,
    seed: int = 0,
    prefix: str = "syn",
    max_ops: int = 2,
    *,
    min_ops: int = 2,
    max_value: int = 9,
    max_operand: int = 9,
) -> list[Problem]:
    """``n`` deterministic problems (the same arguments give the same list)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        question, steps, answer = arithmetic_chain(
            rng, max_ops, min_ops=min_ops, max_value=max_value, max_operand=max_operand
        )
        lines = [f"Step {k}: {s}" for k, s in enumerate(steps, 1)] + [f"#### {answer}"]
        out.append(Problem(f"{prefix}-{seed}-{i}", question, "\n".join(lines), answer))
    return out


@dataclass(frozen=True)
class ArithmeticTask:
    """The task's difficulty: chain length and number range (see :func:`arithmetic_chain`)."""

    min_ops: int = 2
    max_ops: int = 2
    max_value: int = 9
    max_operand: int = 9

    def problems(self, n: int, seed: int = 0, prefix: str = "syn") -> list[Problem]:
        """``n`` deterministic problems of this task."""
        return make_problems(
            n,
            seed,
            prefix,
            self.max_ops,
            min_ops=self.min_ops,
            max_value=self.max_value,
            max_operand=self.max_operand,
        )

    def held_out(
        self, n: int, seed: int, prefix: str = "eval", exclude: Iterable[str] = ()
    ) -> list[Problem]:
        """``n`` distinct problems whose questions are not in ``exclude`` (deterministic).

        Raises ``ValueError`` when the task has too few distinct questions left.
        """
        seen = set(exclude)
        out: list[Problem] = []
        pool = self.problems(max(1, 50 * n), seed, prefix)
        for p in pool:
            if len(out) == n:
                break
            if p.question not in seen:
                seen.add(p.question)
                out.append(p)
        if len(out) < n:
            raise ValueError(
                f"only {len(out)} distinct held-out questions of {n} asked in {len(pool)} draws: "
                "the task is too small for this many (raise max_ops or max_value)"
            )
        return out


@dataclass(frozen=True)
class PolicyConfig:
    """The task, and how long and how hard the policy warm-up trains on its gold solutions."""

    problems: int = 48_000
    epochs: float = 1.0
    batch_size: int = 32
    lr: float = 3e-3
    seed: int = 0
    task: ArithmeticTask = field(default_factory=ArithmeticTask)

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


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
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == manifest:
        return out
    tok = AutoTokenizer.from_pretrained(str(base_model))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = AutoModelForCausalLM.from_pretrained(str(base_model), dtype=torch.float32)
        examples = []
        for p in config.task.problems(config.problems, seed=config.seed + 1000, prefix="train"):
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
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "ifrl_policy.json").write_text(json.dumps(manifest) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def default_policy_dir(config: PolicyConfig | None = None, base_seed: int = 0) -> Path:
    """Where the synthetic policy trained from the tiny model is cached."""
    from ifrl.core.tiny import cache_root

    config = config or PolicyConfig()
    return cache_root() / "prm" / f"arith-policy-tiny{base_seed}-{config.key()}"


def synthetic_policy(config: PolicyConfig | None = None, progress: bool = True) -> Path:
    """The tiny model warmed up on the synthetic task (built once, then cached)."""
    from ifrl.core.tiny import build_tiny_model

    config = config or PolicyConfig()
    base = build_tiny_model("qwen2", seed=0)
    return train_policy(base, default_policy_dir(config), config, progress=progress)


__all__ = [
    "PROMPT_TEMPLATE",
    "ArithmeticTask",
    "PolicyConfig",
    "Problem",
    "arithmetic_chain",
    "default_policy_dir",
    "make_problems",
    "synthetic_policy",
    "train_policy",
]
