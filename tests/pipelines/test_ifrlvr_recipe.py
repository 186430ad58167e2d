"""The if-rlvr experiment: a HackableJudge is hacked by GRPO and a NoisyJudge with the same
audit numbers is not; the arms recipe runs end to end and reports held-out truth with intervals;
the report's statistics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ifrl.constraints import (
    ConstraintReward,
    JudgedReward,
    TrainingAudit,
    synthesize,
    training_row,
)
from ifrl.constraints.calibration import calibrate_judge, matched_noisy_judge
from ifrl.core.cli import main
from ifrl.core.config import ConfigError, load_config
from ifrl.core.records import SamplingParams
from ifrl.core.stats import bootstrap_difference, cluster_bootstrap
from ifrl.pipelines.recipe import get_recipe
from ifrl.pipelines.recipes.ifrlvr import builtin_seeds
from ifrl.pipelines.recipes.ifrlvr_report import PromptResult, inst_acc, training_summary

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _audits(path: Path) -> list[float]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [r["audit/recall_noncompliant"] for r in rows if "audit/recall_noncompliant" in r]


@pytest.mark.slow
def test_hackable_judge_is_hacked_and_noisy_judge_is_not(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Both judges have the same audit numbers on the base policy's samples; GRPO against the
    hackable one (it passes any answer of at least N words) learns to write long answers, so
    its recall on non-compliant answers collapses; against the noisy one (random errors) the
    recall stays where it was."""
    from ifrl.core.generation import generator_for
    from ifrl.rltrain import GRPOConfig, GRPOTrainer

    items = synthesize(builtin_seeds(24, 0), 1, 0)  # one IFEval-type constraint each
    items = [
        p.replace(constraints=tuple(c.replace(kind="soft") for c in p.constraints)) for p in items
    ]
    gen = generator_for("hf", tiny_model_dir, batch_size=32)
    params = SamplingParams(n=4, temperature=1.0, max_new_tokens=16, seed=0)
    outs = gen.generate([p.conversation() for p in items], params)
    base = [p.replace(response=c.text) for p, group in zip(items, outs) for c in group]
    cal = calibrate_judge(base, 0.5)
    noisy = matched_noisy_judge(cal.audit)
    assert abs(cal.audit["recall_noncompliant"] - 0.5) < 0.1
    rows = [training_row(p) for p in items]
    recalls = {}
    for name, judge in (("hackable", cal.judge), ("noisy", noisy)):
        out = tmp_path / name
        funcs: list[Any] = [
            JudgedReward(judge, "fraction", judged="soft", name="judge_reward"),
            ConstraintReward("fraction", kinds="verifiable", name="true_compliance"),
            TrainingAudit(judge, name="judge_audit"),
        ]
        cfg = GRPOConfig(
            model=str(tiny_model_dir),
            data="<in memory>",
            output_dir=str(out),
            max_steps=12,
            num_generations=8,
            per_device_batch_size=32,
            max_completion_length=16,
            learning_rate=1e-2,
            seed=0,
            progress=False,
            reward_funcs=("a", "b", "c"),
            reward_weights=(1.0, 0.0, 0.0),
        )
        GRPOTrainer(cfg, reward_funcs=funcs, train_data=rows).train()
        recalls[name] = _audits(out / "metrics.jsonl")
    # One audit sees ~20 non-compliant pairs: compare the first two with the last four.
    start = {k: sum(v[:2]) / 2 for k, v in recalls.items()}
    end = {k: sum(v[-4:]) / 4 for k, v in recalls.items()}
    assert start["hackable"] - end["hackable"] >= 0.3, recalls  # hacked
    assert abs(start["noisy"] - end["noisy"]) < 0.2, recalls  # not hacked
    assert end["noisy"] - end["hackable"] >= 0.25, recalls


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_arms_config_errors_name_the_field(tmp_path: Path) -> None:
    cls = get_recipe("if-rlvr").config_cls
    with pytest.raises(
        ConfigError,
        match=r"arms\.names: expected hard, noisy, hackable, llm_judge or refined, got 'easy'",
    ):
        load_config(cls, _config(tmp_path, "arms: {names: [hard, easy]}\n"))
    with pytest.raises(ConfigError, match=r"grpo\.trainer\.seed: the arms set the seed"):
        load_config(cls, _config(tmp_path, "arms: {names: [hard]}\ngrpo: {trainer: {seed: 3}}\n"))
    with pytest.raises(ConfigError, match=r"hackable\.feature"):
        load_config(cls, _config(tmp_path, "hackable: {feature: length}\n"))
    # Without arms the recipe keeps its single run and its stages.
    cfg: Any = load_config(cls, _config(tmp_path, "seeds: {n: 4}\n"))
    assert get_recipe("if-rlvr").stage_names(cfg) == [
        "seeds",
        "synthesize",
        "audit",
        "refine",
        "grpo",
        "eval",
    ]
    arms: Any = load_config(cls, EXAMPLES / "if-rlvr-arms-tiny.yaml")
    names = get_recipe("if-rlvr").stage_names(arms)
    assert names[:6] == ["seeds", "synthesize-mixed", "pilot", "calibrate", "arm-data", "eval-base"]
    assert len(arms.arms.seeds) >= 3 and set(arms.arms.names) == {
        "hard",
        "noisy",
        "hackable",
        "llm_judge",
        "refined",
    }
    assert names[-1] == "report" and "train-hackable-s2" in names and "eval-refined-s0" in names


@pytest.mark.slow
def test_arms_recipe_runs_end_to_end_and_resumes(tmp_path: Path, tiny_model_dir: Path) -> None:
    config = _config(
        tmp_path,
        "model: {path: tiny}\n"
        "seeds: {n: 6}\n"
        "arms: {names: [hard, hackable, llm_judge, refined], seeds: [0, 1], heldout_ifeval: 3,\n"
        "       heldout_ifbench: 3, pilot_samples: 2, audit_every: 1, bootstrap: 100}\n"
        "refine: {min_precision: 0.0, min_support: 1}\n"
        "grpo: {trainer: {max_steps: 1, num_generations: 2, per_device_batch_size: 4,\n"
        "                 max_completion_length: 6, learning_rate: 1.0e-3, progress: false}}\n"
        "eval: {max_new_tokens: 6}\n",
    )
    run_dir = tmp_path / "run"
    args = ["pipeline", "run", "if-rlvr", "--config", str(config), "--run-dir", str(run_dir)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = (run_dir / "report.md").read_text()
    for label in (
        "base (step 0)",
        "hard-only",
        "mixed, HackableJudge",
        "mixed, LLM judge",
        "refined, HackableJudge",
        "## Closing note",
        "hacked in",
    ):
        assert label in report, label
    assert (run_dir / "plots/heldout.png").stat().st_size > 0
    assert (run_dir / "plots/audit.png").stat().st_size > 0
    data = json.loads((run_dir / "report.json").read_text())
    assert set(data["heldout"]) == {"base", "hard", "hackable", "llm_judge", "refined"}
    ifbench = data["heldout"]["hard"]["ifbench_inst"]
    assert ifbench["n"] == 2 * 3 and ifbench["ci95"][0] <= ifbench["value"] <= ifbench["ci95"][1]
    # Every train run logged the audit during training and the true compliance.
    metrics = (run_dir / "arms/hackable/s1/grpo/metrics.jsonl").read_text()
    assert "audit/recall_noncompliant" in metrics and "rewards/true_compliance/mean" in metrics
    # The hard arm trains on the mixed prompts without their judged constraint, text rewritten.
    hard = [
        json.loads(line) for line in (run_dir / "arms/data/hard.jsonl").read_text().splitlines()
    ]
    assert all(not k.startswith("soft") for r in hard for k in r.get("kinds", ["hard"]))
    # The LLM judge (the untrained tiny model) writes no verdict: unparseable, counted as fails.
    audit = json.loads((run_dir / "calibrate/audit.json").read_text())
    assert audit["judges"]["llm_judge"]["overall"]["unparseable"] > 0
    assert "llm_judge: every verdict on the pilot was unparseable" in report
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and again.output.count("up to date, skipped") >= 10


def _runs(*accuracies: list[int]) -> list[list[PromptResult]]:
    return [[PromptResult(p, 1, 5) for p in acc] for acc in accuracies]


def test_cluster_bootstrap_and_differences() -> None:
    same = _runs([1, 0, 1, 0], [1, 0, 1, 0], [1, 0, 1, 0])
    m = cluster_bootstrap(same, inst_acc, resamples=400)
    assert m.value == 0.5 and m.n == 12 and m.ci_low < 0.5 < m.ci_high
    spread = _runs([1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1])
    s = cluster_bootstrap(spread, inst_acc, resamples=400)
    assert s.value == pytest.approx(2 / 3) and s.ci_low == 0.0 and s.ci_high == 1.0
    zero = bootstrap_difference(same, same, inst_acc, resamples=400)
    assert zero.value == 0.0 and zero.ci_low <= 0.0 <= zero.ci_high
    better = bootstrap_difference(_runs([1] * 20, [1] * 20), _runs([0] * 20, [0] * 20), inst_acc)
    assert better.value == 1.0 and better.ci_low == 1.0


def test_training_summary_flags_a_collapsed_recall() -> None:
    def metrics(recalls: list[float]) -> list[dict[str, Any]]:
        return [
            {"step": i + 1, "audit/recall_noncompliant": r, "rewards/r/mean": 0.5}
            for i, r in enumerate(recalls)
        ]

    hacked = training_summary(metrics([0.5, 0.45, 0.1, 0.0, 0.0]), "r", 0.25, judged=True)
    assert hacked["hacked"] and hacked["recall_drop"] == pytest.approx(0.5 - 0.1 / 3)
    steady = training_summary(metrics([0.5, 0.4, 0.55, 0.45, 0.5]), "r", 0.25, judged=True)
    assert not steady["hacked"]
    probe = training_summary(metrics([0.5, 0.0, 0.0, 0.0]), "r", 0.25, judged=False)
    assert not probe["hacked"]  # the hard arm's probe is never "hacked": nobody trained on it
