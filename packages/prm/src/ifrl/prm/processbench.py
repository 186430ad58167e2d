"""Step-level evaluation sets in ProcessBench's format, and a GSM8K planted-error set built offline.

A ProcessBench item is ``{"id", "problem", "steps": [...], "label"}`` (``label``: the index of the
first wrong step, ``-1`` when every step is right; ``generator`` and ``final_answer_correct`` are
kept when present). :func:`load_processbench` reads a JSON array (as the dataset's files ship) or
JSONL, naming the file, the line (or item) and the field of bad input. The PRM sees ``problem``
through the prompt template its training prompts used (``ifrl prm score --template``).

:func:`planted_errors` builds such items from GSM8K solutions (``question`` + an ``answer`` with
``<<a*b=c>>`` calculator annotations and ``#### N``): the steps are the solution's lines, the
final ``#### N`` line included. A planted item changes the result of one annotated calculation in
step ``k`` to a wrong number and propagates it: every later calculation that uses a changed
number is recomputed, the numbers written after the annotations and the final answer follow. Its
label is ``k``; the untouched solution is the item labelled ``-1``.
"""

from __future__ import annotations

import ast
import json
import operator
import os
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from ifrl.core.errors import JSONLError, RecordError
from ifrl.core.jsonl import read_jsonl

_CALC = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
_NUMBER = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\w)")


@dataclass(frozen=True)
class StepProblem:
    """One solution to judge step by step: its problem, steps and the first wrong step (-1:
    none)."""

    id: str
    problem: str
    steps: tuple[str, ...]
    label: int
    final_answer_correct: bool | None = None
    generator: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "problem": self.problem,
            "steps": list(self.steps),
            "label": self.label,
        }
        if self.final_answer_correct is not None:
            out["final_answer_correct"] = self.final_answer_correct
        if self.generator is not None:
            out["generator"] = self.generator
        return out

    @classmethod
    def from_dict(cls, data: Any) -> StepProblem:
        """From a ProcessBench item; ``RecordError`` names the bad field."""
        if not isinstance(data, dict):
            raise RecordError("", "expected a JSON object")
        problem = data.get("problem")
        if not isinstance(problem, str) or not problem.strip():
            raise RecordError("problem", "missing or not a non-empty string")
        steps = data.get("steps")
        if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
            raise RecordError("steps", "must be a non-empty list of strings")
        label = data.get("label")
        if not isinstance(label, int) or isinstance(label, bool) or not -1 <= label < len(steps):
            raise RecordError("label", f"must be -1 or a step index below {len(steps)}")
        final = data.get("final_answer_correct")
        gen = data.get("generator")
        return cls(
            str(data.get("id", "")),
            problem,
            tuple(steps),
            label,
            bool(final) if isinstance(final, bool) else None,
            str(gen) if gen is not None else None,
        )


def load_processbench(path: str | os.PathLike[str]) -> list[StepProblem]:
    """Items of a ProcessBench file: a JSON array or JSONL (ids default to the item's index)."""
    name = os.fspath(path)
    with open(name, encoding="utf-8") as fh:
        head = fh.read(4096).lstrip()
    if head.startswith("["):
        with open(name, encoding="utf-8") as fh:
            try:
                items = json.load(fh)
            except json.JSONDecodeError as err:
                raise JSONLError(name, err.lineno, "", f"not valid JSON ({err.msg})") from None
        out = []
        for i, item in enumerate(items):
            try:
                p = StepProblem.from_dict(item)
            except RecordError as err:
                raise JSONLError(name, i + 1, err.field, f"{err.problem} (item {i})") from None
            out.append(p if p.id else replace(p, id=str(i)))
        return out
    rows = read_jsonl(name, StepProblem.from_dict)
    return [p if p.id else replace(p, id=str(i)) for i, p in enumerate(rows)]


# -- GSM8K planted errors ---------------------------------------------------------------------

_OPS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def calc(expr: str) -> Fraction:
    """The value of a calculator annotation's expression (numbers, + - * /, parentheses);
    ``ValueError`` for anything else."""
    cleaned = expr.replace(",", "").replace("$", "").replace("x", "*").strip()
    try:
        tree = ast.parse(cleaned, mode="eval")
    except SyntaxError:
        raise ValueError(f"not an arithmetic expression: {expr!r}") from None

    def value(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            right = value(node.right)
            if isinstance(node.op, ast.Div) and right == 0:
                raise ValueError(f"division by zero in {expr!r}")
            return Fraction(_OPS[type(node.op)](value(node.left), right))
        raise ValueError(f"not an arithmetic expression: {expr!r}")

    return value(tree)


def fmt(x: Fraction, commas: bool = False) -> str:
    """A number as GSM8K writes it: an integer (with thousands separators when ``commas``),
    else a short decimal."""
    if x.denominator == 1:
        return f"{x.numerator:,}" if commas else str(x.numerator)
    return f"{float(x):.4f}".rstrip("0").rstrip(".")


def _num(text: str) -> Fraction | None:
    try:
        return Fraction(text.replace(",", "").replace("$", "").strip())
    except (ValueError, ZeroDivisionError):
        return None


def solution_steps(answer: str) -> list[str]:
    """A GSM8K solution's steps: its lines, each keeping its newline, the final ``#### N`` too."""
    return [line for line in answer.strip().splitlines(keepends=True) if line.strip()]


def _replace_numbers(text: str, changed: dict[Fraction, Fraction]) -> str:
    def swap(m: re.Match[str]) -> str:
        v = _num(m[0])
        return fmt(changed[v], "," in m[0]) if v is not None and v in changed else m[0]

    return _NUMBER.sub(swap, text)


def plant_error(steps: list[str], k: int, rng: random.Random) -> list[str] | None:
    """The steps with a wrong result planted in step ``k``'s last calculation and propagated
    (see the module docstring); None when step ``k`` has no usable calculation."""
    calcs = list(_CALC.finditer(steps[k]))
    if not calcs:
        return None
    target = calcs[-1]
    right = _num(target[2])
    if right is None:
        return None
    delta = Fraction(rng.choice([-1, 1]) * rng.randint(1, max(1, min(9, int(abs(right)) or 1))))
    wrong = right + delta
    if wrong < 0 <= right:
        wrong = right + abs(delta)
    changed: dict[Fraction, Fraction] = {right: wrong}
    out = list(steps)
    # Step k: the planted calculation and the text after it (its written result).
    head, tail = out[k][: target.start()], out[k][target.end() :]
    written = re.match(rf"(\s*\$?)({_NUMBER.pattern})", tail)
    if written is not None and _num(written[2]) == right:
        tail = written[1] + fmt(wrong, "," in written[2]) + tail[written.end() :]
    out[k] = f"{head}<<{target[1]}={fmt(wrong)}>>{tail}"
    for i in range(k + 1, len(out)):
        out[i] = _propagate(out[i], changed)
    return out


def _propagate(line: str, changed: dict[Fraction, Fraction]) -> str:
    if line.startswith("####"):
        return _replace_numbers(line, changed)
    pieces: list[str] = []
    pos = 0
    for m in _CALC.finditer(line):
        text_before = line[pos : m.start()]
        pieces.append(_replace_numbers(text_before, changed))
        expr = _replace_numbers(m[1], changed)
        old = _num(m[2])
        new: Fraction | None
        try:
            new = calc(expr)
        except ValueError:
            new = old
        if old is not None and new is not None and new != old:
            changed[old] = new
        result = fmt(new) if new is not None else m[2]
        pieces.append(f"<<{expr}={result}>>")
        pos = m.end()
    pieces.append(_replace_numbers(line[pos:], changed))
    return "".join(pieces)


def planted_errors(
    rows: Iterable[dict[str, Any]], *, seed: int = 0, prefix: str = "gsm8k"
) -> Iterator[StepProblem]:
    """For each GSM8K row with a calculation: its clean solution (label -1) and one planted-error
    copy (label ``k``, step ``k`` drawn among the annotated steps), both with the question as
    ``problem``. Rows without a calculation are skipped."""
    rng = random.Random(seed)
    for i, row in enumerate(rows):
        question, answer = str(row.get("question", "")), str(row.get("answer", ""))
        steps = solution_steps(answer)
        candidates = [k for k, s in enumerate(steps) if _CALC.search(s)]
        if not question.strip() or not candidates:
            continue
        k = rng.choice(candidates)
        planted = plant_error(steps, k, rng)
        if planted is None:
            continue
        final = steps[-1].strip()
        yield StepProblem(f"{prefix}-{i}-clean", question, tuple(steps), -1, True)
        yield StepProblem(
            f"{prefix}-{i}-k{k}",
            question,
            tuple(planted),
            k,
            planted[-1].strip() == final,
        )


__all__ = [
    "StepProblem",
    "calc",
    "load_processbench",
    "plant_error",
    "planted_errors",
    "solution_steps",
]
