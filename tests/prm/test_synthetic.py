"""The synthetic arithmetic task: deterministic, correct gold solutions, cached policy warm-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ifrl.prm.answers import get_checker
from ifrl.prm.synthetic import ArithmeticTask, PolicyConfig, Problem, make_problems, train_policy


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
    a, b = make_problems(50, seed=3), make_problems(50, seed=3)
    assert a == b and a != make_problems(50, seed=4)
    _check_gold(a, ArithmeticTask())


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
    with pytest.raises(ValueError, match="min_ops <= max_ops"):
        make_problems(1, min_ops=3, max_ops=2)
    with pytest.raises(ValueError, match="max_value"):
        make_problems(1, max_value=0)


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


def _small_config(**overrides: Any) -> Any:
    """An ExperimentConfig of a few questions and tiny trees, for tests."""
    from ifrl.prm.branching import BranchConfig
    from ifrl.prm.experiment import ExperimentConfig
    from ifrl.prm.loop import LoopConfig

    return ExperimentConfig(
        train_questions=3,
        eval_questions=3,
        n=2,
        branch=BranchConfig(tau=0.0, max_depth=2, max_branches=4, max_new_tokens=8),
        prm_loop=LoopConfig(epochs=1, batch_size=4),
        **overrides,
    )


def test_experiment_runs_end_to_end_at_small_scale(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    import math

    from ifrl.prm import experiment
    from ifrl.prm.experiment import run_synthetic

    # Use the session's tiny model as the policy instead of warming one up (slow on CPU).
    monkeypatch.setattr(experiment, "synthetic_policy", lambda config, progress: tiny_model_dir)
    config = _small_config(uniform_questions=2, uniform_rollouts=2, bootstrap=50)
    result = run_synthetic(config, work_dir=tmp_path, progress=False)
    assert result.edu_samples == 3 * 4 and result.edu_cost["calls"] == 3 * 4
    assert result.eval_solutions == 6 and len(result.per_question) == 3
    assert (tmp_path / "prm" / "prm_config.json").is_file()
    assert 0.0 <= result.random_accuracy <= result.oracle_accuracy <= 1.0
    assert math.isnan(result.auroc) or 0.0 <= result.auroc <= 1.0
    m = result.metrics
    assert set(m) == {
        "auroc",
        "bon_accuracy",
        "random_accuracy",
        "bon_gain",
        "oracle_accuracy",
        "majority_accuracy",
    }
    assert m["bon_accuracy"]["value"] == result.bon_accuracy and m["bon_accuracy"]["n"] == 3
    assert m["bon_gain"]["value"] == pytest.approx(result.bon_accuracy - result.random_accuracy)
    for q in result.per_question:
        assert q["chosen"] == max(range(2), key=lambda i: (q["scores"][i], -i))
    cmp = result.comparison
    assert cmp is not None and cmp.questions == 2
    assert cmp.edu_cost["calls"] == 2 * 4  # the same trees again, on their own counter
    assert cmp.uniform_cost["calls"] > 0 and cmp.cost_ratio > 0
    assert set(result.seconds) == {
        "policy",
        "edu_labels",
        "edu_vs_uniform",
        "prm_training",
        "evaluation",
    }
    assert result.summary()["comparison"]["questions"] == 2
    # The no-PRM reference: the same solutions reranked by the policy's lowest token logprob.
    assert set(result.confidence_metrics) == set(m)
    picks = []
    for q in result.per_question:
        conf = q["confidence"]
        assert len(conf) == 2 and all(math.isfinite(c) and c <= 0.0 for c in conf)
        picks.append(q["correct"][max(range(2), key=lambda i: (conf[i], -i))])
    assert result.confidence_metrics["bon_accuracy"]["value"] == pytest.approx(
        sum(picks) / len(picks)
    )


def test_experiment_trains_the_prm_on_another_backbone_when_asked(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    import json

    from ifrl.core.tiny import build_tiny_model
    from ifrl.prm import experiment
    from ifrl.prm.experiment import run_synthetic

    monkeypatch.setattr(experiment, "synthetic_policy", lambda config, progress: tiny_model_dir)
    other = build_tiny_model("llama", seed=3, out_dir=tmp_path / "llama")
    config = _small_config(prm_base=str(other), uniform_questions=0, bootstrap=10)
    run_synthetic(config, work_dir=tmp_path / "work", progress=False)
    saved = json.loads((tmp_path / "work" / "prm" / "config.json").read_text(encoding="utf-8"))
    assert saved["model_type"] == "llama"  # the policy is the tiny qwen2 model


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
