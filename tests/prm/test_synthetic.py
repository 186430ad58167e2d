"""The synthetic arithmetic task: deterministic, correct gold solutions, cached policy warm-up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ifrl.core.config import ConfigError
from ifrl.prm.checkers import get_checker
from ifrl.prm.synthetic import ArithmeticTask, PolicyConfig, Problem, train_policy


def _check_gold(problems: list[Problem], task: ArithmeticTask) -> None:
    check = get_checker("gsm8k")
    for p in problems:
        q = p.to_question()
        assert q.prompt == f"Question: {p.question}\n" and q.reference == str(p.answer)
        assert check(p.solution, q.reference)
        assert eval(p.question) == p.answer  # the question is a plain expression
        lines = p.solution.splitlines()
        assert task.min_ops <= len(lines) - 1 <= task.max_ops and lines[-1] == f"#### {p.answer}"
        for k, line in enumerate(lines[:-1], 1):
            m = re.fullmatch(rf"Step {k}: (\d+) ([+-]) (\d+) = (\d+)", line)
            assert m is not None, line
            x, op, y, z = int(m[1]), m[2], int(m[3]), int(m[4])
            assert (x + y if op == "+" else x - y) == z and 0 <= z <= task.max_value
            assert 1 <= y <= task.max_operand


def test_problems_are_deterministic_and_gold_solutions_are_right() -> None:
    task = ArithmeticTask()
    a, b = task.problems(50, seed=3), task.problems(50, seed=3)
    assert a == b and a != task.problems(50, seed=4)
    assert a[:20] == task.problems(20, seed=3)  # a prefix of the same stream
    # Pinned: the README's figures were measured on these streams.
    assert [p.question for p in task.problems(3, seed=0)] == ["7 + 1 - 4", "9 - 7 + 3", "8 - 3 - 5"]
    _check_gold(a, task)


@pytest.mark.parametrize(
    "task",
    [
        ArithmeticTask(min_ops=2, max_ops=2, max_value=9, max_operand=5),
        ArithmeticTask(min_ops=1, max_ops=4, max_value=20, max_operand=9),
        ArithmeticTask(min_ops=3, max_ops=3, max_value=3, max_operand=9),
    ],
)
def test_task_settings_bound_the_problems(task: ArithmeticTask) -> None:
    problems = task.problems(200, seed=1)
    assert problems == task.problems(200, seed=1)
    _check_gold(problems, task)
    lengths = {len(p.solution.splitlines()) - 1 for p in problems}
    assert lengths == set(range(task.min_ops, task.max_ops + 1))  # every length occurs
    assert max(p.answer for p in problems) <= task.max_value


def test_bad_task_settings_are_rejected() -> None:
    with pytest.raises(ConfigError, match="min_ops: need 1 <= min_ops <= max_ops, got 3, 2"):
        ArithmeticTask(min_ops=3, max_ops=2)
    with pytest.raises(ConfigError, match="max_value: must be at least 1"):
        ArithmeticTask(max_value=0)


def test_policy_config_key_covers_the_task() -> None:
    base = PolicyConfig()
    assert base.key() == PolicyConfig().key()
    assert base.key() != PolicyConfig(task=ArithmeticTask(max_value=10)).key()


def test_policy_warm_up_trains_and_is_reused(tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    config = PolicyConfig(problems=16, epochs=1.0, batch_size=8, lr=1e-3)
    out = train_policy(tiny_model_dir, tmp_path / "policy", config, progress=False)
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    assert train_policy(tiny_model_dir, out, config, progress=False) == out
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp  # reused, not retrained
    other = PolicyConfig(problems=16, epochs=1.0, batch_size=8, lr=2e-3)
    train_policy(tiny_model_dir, out, other, progress=False)
    assert (out / "model.safetensors").stat().st_mtime_ns != stamp  # new settings retrain


def test_held_out_questions_are_distinct_and_unseen() -> None:
    task = ArithmeticTask(min_ops=2, max_ops=2, max_value=9, max_operand=9)
    train = task.problems(200, seed=1)
    held = task.held_out(150, seed=2, exclude=[p.question for p in train])
    assert held == task.held_out(150, seed=2, exclude=[p.question for p in train])
    questions = [p.question for p in held]
    assert len(set(questions)) == 150 and not set(questions) & {p.question for p in train}
    _check_gold(held, task)
    tiny = ArithmeticTask(min_ops=1, max_ops=1, max_value=2, max_operand=1)  # 1+1, 2-1, 1-1
    with pytest.raises(ValueError, match="only 3 distinct held-out questions of 5"):
        tiny.held_out(5, seed=0)
