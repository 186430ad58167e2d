"""The edu-prm recipe: config errors, GSM8K-format questions, tiny end-to-end runs (the tiny
example and the synthetic experiment at small scale), and PRM scores flowing from `ifrl prm
score` into `ifrl eval prm`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ifrl.core.config import ConfigError, from_mapping, load_config
from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.pipelines.recipe import StageContext, get_recipe, run_recipe
from ifrl.pipelines.recipes.eduprm import EduPrmConfig, stage_questions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _cfg(mapping: dict[str, Any]) -> EduPrmConfig:
    return from_mapping(EduPrmConfig, mapping, "edu.yaml")


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"edu\.yaml: questions\.checker: .*gsm8k"):
        _cfg({"questions": {"checker": "gsm8"}})
    with pytest.raises(ConfigError, match=r"edu.yaml: branch\.top_k"):
        _cfg({"branch": {"top_k": 0}})
    with pytest.raises(ConfigError, match=r"bon\.aggregation: expected last, mean, min or product"):
        _cfg({"bon": {"aggregation": "max"}})
    with pytest.raises(ConfigError, match=r"policy\.backend: expected hf or vllm"):
        _cfg({"policy": {"backend": "openai"}})
    with pytest.raises(ConfigError, match=r"labels\.split: expected anchor or newline"):
        _cfg({"labels": {"split": "sentence"}})
    with pytest.raises(ConfigError, match=r"policy\.task\.min_ops: need 1 <= min_ops"):
        _cfg({"policy": {"task": {"min_ops": 3}}})
    with pytest.raises(ConfigError, match=r"questions\.template: the synthetic task fixes"):
        _cfg({"questions": {"template": "Q: {question}"}})
    assert get_recipe("edu-prm").stage_names() == [
        "policy",
        "questions",
        "branch",
        "label",
        "uniform",
        "train",
        "bon",
    ]


def test_gsm8k_format_questions_split_into_train_and_eval(tmp_path: Path) -> None:
    rows = [
        {"question": f"What is {i} + 1?", "answer": f"{i} + 1 = {i + 1}\n#### {i + 1}"}
        for i in range(5)
    ]
    write_jsonl(tmp_path / "q.jsonl", rows)
    cfg = _cfg({"questions": {"source": str(tmp_path / "q.jsonl"), "train": 3, "eval": 2}})
    ctx = StageContext(tmp_path / "run", cfg, "questions", lambda s: None, {})
    assert stage_questions(ctx) == {"train": 3, "eval": 2}
    held = list(read_jsonl(tmp_path / "run/questions/eval.jsonl"))
    assert [q["reference"] for q in held] == ["4", "5"]  # the lines after the training ones
    assert held[0]["prompt"] == "Question: What is 3 + 1?\n"
    cfg = _cfg({"questions": {"source": str(tmp_path / "q.jsonl"), "train": 4, "eval": 2}})
    with pytest.raises(ConfigError, match="holds 4 training and 1 held-out"):
        stage_questions(StageContext(tmp_path / "run", cfg, "questions", lambda s: None, {}))
    write_jsonl(tmp_path / "bad.jsonl", [{"question": "no answer"}] * 3)
    cfg = _cfg({"questions": {"source": str(tmp_path / "bad.jsonl"), "train": 1, "eval": 1}})
    with pytest.raises(ConfigError, match="has no answer to check against"):
        stage_questions(StageContext(tmp_path / "run", cfg, "questions", lambda s: None, {}))


@pytest.mark.slow
def test_tiny_edu_prm_run(tmp_path: Path, tiny_model_dir: Path) -> None:
    mapping: dict[str, Any] = {
        "policy": {"warmup_problems": 32, "warmup_epochs": 1.0},
        "questions": {"train": 3, "eval": 2},
        "branch": {"max_depth": 1, "max_branches": 2, "max_new_tokens": 12, "chunk": 2},
        "uniform": {"rollouts": 2},
        "prm": {"epochs": 1.0, "batch_size": 4, "max_length": 96},
        "bon": {"n": 3},
    }
    run = tmp_path / "run"
    states = run_recipe(get_recipe("edu-prm"), _cfg(mapping), run, echo=lambda s: None)
    assert all(v["status"] == "done" for v in states.values()) and len(states) == 7
    branch = states["branch"]["result"]
    assert branch["trees"] == 3 and branch["cost"]["generated_tokens"] > 0
    label = states["label"]["result"]
    assert label["cost"]["labeled_steps"] > 0 and 0.0 <= label["leaf_accuracy"] <= 1.0
    assert label["split"] == "newline"  # the cut solutions are scored at
    uni = states["uniform"]["result"]
    report = json.loads((run / "uniform.json").read_text())
    assert uni["questions"] == 3 and report["uniform"]["generated_tokens"] > 0
    # Both labelers on the same solutions, per labelled line step and per question.
    per_line = report["uniform"]["per_line_step"]["generated_tokens"]
    assert uni["cost_ratio_line"] == pytest.approx(
        per_line / report["edu"]["per_line_step"]["generated_tokens"]
    )
    assert uni["cost_ratio_question"] == pytest.approx(
        report["uniform"]["generated_tokens"] / report["edu"]["generated_tokens"]
    )
    assert report["uniform"]["solutions"] <= 3 * 4 and "kappa_edu" in uni  # synthetic: truth
    bon = states["bon"]["result"]
    assert bon["questions"] == 2 and bon["n"] == 3 and bon["seeds"] == [0, 1, 2]
    assert bon["random_accuracy"] <= bon["oracle_accuracy"]
    assert bon["bon_accuracy"] <= bon["oracle_accuracy"]
    assert 0.0 <= bon["greedy_accuracy"] <= 1.0 and set(bon["confidence"]) >= {"bon_accuracy"}
    cands = list(read_jsonl(run / "bon/candidates.jsonl"))
    assert [len(c["candidates"]) for c in cands] == [3, 3]
    # Evaluated by ifrl.evals: one run per PRM seed and one for the policy's confidence.
    for name in ("seed-0/eval", "seed-2/eval", "confidence"):
        assert json.loads((run / f"bon/{name}/results.json").read_text())["benchmark"] == "prm"
    assert (run / "prm").is_dir() and (run / "prm-seed2").is_dir()
    trained = json.loads((run / "train.json").read_text())["seeds"]
    assert [t["seed"] for t in trained] == [0, 1, 2] and all(t["losses"] for t in trained)

    # Branching resumes chunk by chunk: an interrupted attempt keeps the chunks it finished.
    first = (run / "branch/chunk_00000.json").stat().st_mtime_ns
    (run / "branch/chunk_00001.json").unlink()
    (run / "trees.jsonl").unlink()
    state = json.loads((run / "state.json").read_text())
    state["stages"]["branch"]["status"] = "running"
    (run / "state.json").write_text(json.dumps(state))
    lines: list[str] = []
    again = run_recipe(get_recipe("edu-prm"), _cfg(mapping), run, echo=lines.append)
    assert (run / "branch/chunk_00000.json").stat().st_mtime_ns == first
    assert again["branch"]["result"] == branch  # greedy trees: the same trees and cost
    assert sum("up to date" in line for line in lines) == 6  # only branch ran again


def test_synthetic_example_holds_the_experiments_settings() -> None:
    """examples/edu-prm-synthetic.yaml runs what `ifrl prm synthetic` ran with its defaults (the
    README's figures): the same cached policy, questions, trees, labels, PRM and evaluation."""
    from ifrl.prm import ArithmeticTask, BranchConfig, PolicyConfig

    cfg = load_config(EduPrmConfig, EXAMPLES / "edu-prm-synthetic.yaml")
    warmup = cfg.policy.warmup_config()
    assert (warmup.problems, warmup.epochs, warmup.batch_size, warmup.lr) == (19_200, 1.0, 32, 1e-3)
    assert (warmup.task.min_ops, warmup.task.max_ops, warmup.task.max_value) == (2, 3, 9)
    assert warmup.task.holdout == 0.2  # held-out questions the warm-up never saw
    assert warmup == PolicyConfig(problems=19_200, lr=1e-3, task=warmup.task)
    # Without a holdout the key is the one the policies cached before it existed have.
    plain = PolicyConfig(problems=19_200, lr=1e-3, task=ArithmeticTask(min_ops=2, max_ops=3))
    assert plain.key() == "d8c608e44654" and warmup.key() != plain.key()
    q = cfg.questions
    assert (q.source, q.train, q.eval, q.distinct, q.seed) == ("synthetic", 3000, 600, True, 0)
    b = cfg.branch
    assert BranchConfig(**{k: getattr(b, k) for k in BranchConfig.__dataclass_fields__}) == (
        BranchConfig(tau=0.3, max_depth=4, max_branches=16, max_new_tokens=64)
    )
    assert b.chunk >= q.train  # one build_trees call over all questions
    assert (cfg.labels.kind, cfg.labels.split) == ("hard", "newline")
    u = cfg.uniform
    assert (u.enabled, u.questions, u.rollouts, u.seed, u.solutions) == (True, 20, 8, 0, 4)
    p = cfg.prm
    assert (p.base, p.epochs, p.batch_size, p.lr, p.seed, p.max_length) == ("", 8, 16, 1e-3, 0, 256)
    assert p.seeds == 3
    assert (p.extra_layers, p.freeze_base, p.lora_r) == (3, True, 0)
    n = cfg.bon
    assert (n.n, n.temperature, n.aggregation, n.seed, n.bootstrap) == (8, 1.0, "product", 0, 1000)
    # What `ifrl prm synthetic --prm-base B --prm-lr 3e-5 --prm-extra-layers 0 --prm-train-base
    # -n 4` set, as overrides of the example; the rest keeps its settings.
    given = {"prm.base": "/models/big", "prm.lr": "3e-5", "prm.extra_layers": "0"}
    given |= {"prm.freeze_base": "false", "bon.n": "4"}
    cfg = load_config(EduPrmConfig, EXAMPLES / "edu-prm-synthetic.yaml", given)
    assert (cfg.prm.base, cfg.prm.lr, cfg.prm.extra_layers, cfg.prm.freeze_base) == (
        "/models/big",
        3e-5,
        0,
        False,
    )
    assert cfg.bon.n == 4 and cfg.prm.epochs == 8


@pytest.mark.slow
def test_synthetic_experiment_at_small_scale(tmp_path: Path, tiny_model_dir: Path) -> None:
    """The synthetic experiment's stages at small scale, the tiny model as the policy and the PRM
    on another backbone (a tiny llama): distinct questions, newline-cut labels, the uniform
    baseline on a subset, Best-of-N by the PRM and by the policy's confidence."""
    from ifrl.core.tiny import build_tiny_model

    other = build_tiny_model("llama", seed=3, out_dir=tmp_path / "llama")
    mapping: dict[str, Any] = {
        "policy": {"path": str(tiny_model_dir), "task": {"max_ops": 3}},
        "questions": {"train": 3, "eval": 3, "distinct": True},
        "branch": {"tau": 0.0, "max_depth": 2, "max_branches": 4, "max_new_tokens": 8},
        "labels": {"split": "newline"},
        "uniform": {"questions": 2, "rollouts": 2},
        "prm": {"base": str(other), "epochs": 1.0, "batch_size": 4, "extra_layers": 1, "seeds": 2},
        "bon": {"n": 2, "aggregation": "product", "bootstrap": 50},
    }
    run = tmp_path / "run"
    states = run_recipe(get_recipe("edu-prm"), _cfg(mapping), run, echo=lambda s: None)
    assert states["branch"]["result"]["cost"]["calls"] == 3 * 4
    assert states["label"]["result"]["solutions"] == 3 * 4
    samples = list(read_jsonl(run / "labels.jsonl"))
    assert all("\n" in s["steps"][0] for s in samples if len(s["steps"]) > 1)  # newline cuts
    saved = json.loads((run / "prm/config.json").read_text(encoding="utf-8"))
    assert saved["model_type"] == "llama"  # the policy is the tiny qwen2 model
    uni = states["uniform"]["result"]
    assert uni["questions"] == 2 and uni["cost_ratio_line"] > 0
    assert -1.0 <= uni["kappa_edu"] <= 1.0 and -1.0 <= uni["kappa_uniform"] <= 1.0
    bon = states["bon"]["result"]
    assert bon["questions"] == 3 and bon["seeds"] == [0, 1]
    assert bon["bon_gain"] == pytest.approx(bon["bon_accuracy"] - bon["random_accuracy"])
    results = json.loads((run / "bon/results.json").read_text())
    first, second = results["per_seed"]
    assert bon["bon_accuracy"] == pytest.approx(
        (first["bon_accuracy"] + second["bon_accuracy"]) / 2
    )
    # Step-level metrics per seed: first-error F1 on the sampled solutions (exact truth: the
    # first wrong line) and on planted errors in the held-out gold solutions.
    for seed in (first, second):
        for key in ("samples_f1", "planted_f1", "planted_error_accuracy"):
            assert 0.0 <= seed[key] <= 1.0, key
    assert results["planted_items"] == 2 * 3
    assert len(bon["planted_f1_seeds_ci95"]) == 2
    planted = list(read_jsonl(run / "bon/seed-0/planted.jsonl"))
    assert sorted(p["label"] for p in planted).count(-1) == 3
    lines = list(read_jsonl(run / "bon/candidates.jsonl"))
    ids = [line["id"] for line in lines]
    assert len(set(ids)) == 3 and not set(ids) & {s["meta"]["question_id"] for s in samples}
    picks: dict[str, list[bool]] = {"prm": [], "confidence": []}
    for line in lines:
        cands = line["candidates"]
        assert len(cands) == 2
        for c in cands:
            assert c["score"] == pytest.approx(math.prod(c["step_scores"]))
            assert math.isfinite(c["confidence"]) and c["confidence"] <= 0.0
        for name, field in (("prm", "score"), ("confidence", "confidence")):
            ranked = [(cands[i][field], -i) for i in range(2)]
            picks[name].append(cands[ranked.index(max(ranked))]["correct"])
    assert first["bon_accuracy"] == pytest.approx(sum(picks["prm"]) / 3)
    assert bon["confidence"]["bon_accuracy"] == pytest.approx(sum(picks["confidence"]) / 3)


@pytest.mark.slow
def test_prm_scores_flow_into_the_prm_eval(tmp_path: Path, tiny_model_dir: Path) -> None:
    """`ifrl prm score` on Best-of-N candidates writes what `ifrl eval prm` evaluates (what
    `ifrl prm bon` reported before the metrics moved to ifrl.evals)."""
    from ifrl.evals.cli import cli as eval_cli
    from ifrl.prm import ProcessRewardModel
    from ifrl.prm.cli import cli as prm_cli

    prm_dir = ProcessRewardModel.from_base(tiny_model_dir).save(tmp_path / "prm")  # scores 0.5
    cands = tmp_path / "cands.jsonl"
    row = {"prompt": "Question: 3 + 4\n", "candidates": ["3 + 4 = 7\n#### 7", "#### 8"]}
    write_jsonl(cands, [{**row, "reference": "7"}])
    scored = tmp_path / "scored.jsonl"
    args = ["score", "--prm", str(prm_dir), "--data", str(cands), "--out", str(scored)]
    assert CliRunner().invoke(prm_cli, args).exit_code == 0
    out = tmp_path / "eval"
    result = CliRunner().invoke(eval_cli, ["prm", "--responses", str(scored), "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "results.json").read_text())["metrics"]
    assert metrics["random_acc"]["value"] == 0.5
    assert metrics["best_of_n_acc"]["value"] == 1.0  # all tie: the first candidate, right


@pytest.mark.slow
def test_cost_quality_study_at_small_scale(tmp_path: Path, tiny_model_dir: Path) -> None:
    """The edu-prm-study recipe end to end at toy size: the length sweep, both labelers on the
    same leaves with exact step truth, uniform MC stopped at EDU's budget, PRMs per budget,
    labeler and seed evaluated by ifrl.evals, and the headline."""
    from ifrl.pipelines.recipes.eduprm_study import EduPrmStudyConfig

    mapping: dict[str, Any] = {
        "policy": {"warmup_problems": 32, "task": {"min_ops": 1, "max_ops": 2, "holdout": 0.3}},
        "branch": {"tau": 0.0, "max_depth": 2, "max_branches": 3, "max_new_tokens": 14, "chunk": 2},
        "prm": {"epochs": 1.0, "batch_size": 4, "extra_layers": 1, "seeds": 2, "max_length": 64},
        "study": {
            "questions": 4,
            "budgets": [0.5, 1.0],
            "solutions": 2,
            "rollouts": 2,
            "lengths": [2, 3],
            "sweep_questions": 2,
            "eval_questions": 2,
            "eval_n": 2,
            "bootstrap": 50,
        },
    }
    cfg = from_mapping(EduPrmStudyConfig, mapping, "study.yaml")
    run = tmp_path / "study"
    states = run_recipe(get_recipe("edu-prm-study"), cfg, run, echo=lambda s: None)
    assert all(v["status"] == "done" for v in states.values()) and len(states) == 6
    sweep = json.loads((run / "sweep.json").read_text())["lengths"]
    assert [r["lines"] for r in sweep] == [2, 3] and (run / "sweep.png").is_file()
    for r in sweep:
        assert r["questions"] == 2 and r["cost_ratio_line"] > 0
        assert r["cost_ratio_line_ci95"] is None  # 2 questions: too few to resample
        assert -1.0 <= r["kappa_edu"] <= 1.0 and -1.0 <= r["kappa_uniform"] <= 1.0
    label = json.loads((run / "label.json").read_text())
    assert label["edu_questions"] == 4 and 1 <= label["uniform_questions"] <= 4
    edu_rows = list(read_jsonl(run / "labels/edu.jsonl"))
    total = sum(r["cost"]["generated_tokens"] for r in edu_rows)
    assert label["edu_generated_tokens"] == total
    uni_rows = list(read_jsonl(run / "labels/uniform.jsonl"))
    spent = [r["cost"]["generated_tokens"] for r in uni_rows]
    assert sum(spent[:-1]) < total  # it labels until it has spent what EDU spent
    results = json.loads((run / "results.json").read_text())
    head = results["headline"]
    for key in ("cost_ratio_line", "cost_ratio_question", "kappa_edu", "kappa_uniform"):
        assert head[key] is not None, key
    # intervals resample questions: the toy run's few questions get none, and say so
    assert head["cost_questions"] == label["questions"] < 5
    assert head["cost_ratio_line_ci95"] is None and head["cost_ratio_question_ci95"] is None
    assert head["f1_prm_edu"] is not None and 0.0 <= head["f1_prm_edu"] <= 1.0
    full = results["per_budget"][-1]
    assert full["budget"] == 1.0 and full["edu"]["questions"] == 4
    assert [r["seed"] for r in full["edu"]["per_seed"]] == [0, 1]
    assert full["edu"]["f1"]["n_seeds"] == 2 and len(full["edu"]["f1"]["values"]) == 2
    assert (run / "cost_quality.png").is_file()
    one = run / "train/b1-edu-seed0"
    assert json.loads((one / "eval/results.json").read_text())["benchmark"] == "prm"
    # Held-out questions come from the reserved share: none is a training question.
    train_q = {q["prompt"] for q in read_jsonl(run / "labels/questions.jsonl")}
    held = {line["prompt"] for line in read_jsonl(run / "eval/candidates.jsonl")}
    assert held and not held & train_q
