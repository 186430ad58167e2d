"""The recipe framework: skipping up-to-date stages, --from, state.json, config errors."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ifrl.core.cli import main
from ifrl.core.config import ConfigError, load_config, opt
from ifrl.pipelines.recipe import RECIPES, Recipe, RecipeError, Stage, StageContext, run_recipe


@dataclass
class CountSection:
    n: int = opt("How many lines.", 3)
    word: str = opt("The word written.", "hi")

    def validate(self) -> None:
        if self.n < 1:
            raise ConfigError("", "n", f"must be at least 1, got {self.n}")


@dataclass
class ToyConfig:
    first: CountSection = field(default_factory=CountSection, metadata={"help": "Stage one."})
    second: CountSection = field(default_factory=CountSection, metadata={"help": "Stage two."})


CALLS: list[str] = []


def _one(ctx: StageContext) -> dict[str, Any]:
    CALLS.append("one")
    ctx.path("one.txt").write_text(ctx.config.first.word * ctx.config.first.n)
    return {"n": ctx.config.first.n}


def _two(ctx: StageContext) -> dict[str, Any]:
    CALLS.append("two")
    text = (ctx.run_dir / "one.txt").read_text()
    ctx.path("out/two.txt").write_text(text + ctx.config.second.word)
    return {"chars": len(text)}


TOY = Recipe(
    "toy",
    "two stages",
    ToyConfig,
    (
        Stage("one", _one, ("one.txt",), ("first",)),
        Stage("two", _two, ("out/two.txt",), ("second",), ("one",)),
    ),
)


def test_rerun_skips_and_config_change_reruns_downstream(tmp_path: Path) -> None:
    CALLS.clear()
    cfg = ToyConfig()
    run_recipe(TOY, cfg, tmp_path, echo=lambda s: None)
    assert CALLS == ["one", "two"]
    run_recipe(TOY, cfg, tmp_path, echo=lambda s: None)
    assert CALLS == ["one", "two"]  # everything up to date
    run_recipe(TOY, ToyConfig(second=CountSection(word="yo")), tmp_path, echo=lambda s: None)
    assert CALLS == ["one", "two", "two"]  # only the changed stage
    run_recipe(TOY, ToyConfig(first=CountSection(n=1)), tmp_path, echo=lambda s: None)
    assert CALLS[3:] == ["one", "two"]  # a changed input reruns what consumes it
    assert (tmp_path / "out/two.txt").read_text() == "hihi"


def test_a_micro_policy_change_reruns_the_stages_that_use_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config naming ``micro:NAME`` is fingerprinted with the policy's cache key: when the
    policy's code, settings or data change, the stages rerun instead of being resumed."""
    import ifrl.pipelines.micro.build as build

    keys = {"if-tiny": "a" * 64}
    monkeypatch.setattr(build, "policy_key", lambda name: keys[name])
    CALLS.clear()
    cfg = ToyConfig(first=CountSection(word="micro:if-tiny"))
    run_recipe(TOY, cfg, tmp_path, echo=lambda s: None)
    run_recipe(TOY, cfg, tmp_path, echo=lambda s: None)
    assert CALLS == ["one", "two"]  # same policy: resumed
    keys["if-tiny"] = "b" * 64
    run_recipe(TOY, cfg, tmp_path, echo=lambda s: None)
    assert CALLS == ["one", "two", "one", "two"]  # the policy changed: both rerun
    # a name that is no micro policy is hashed as written
    run_recipe(TOY, ToyConfig(first=CountSection(word="micro:nope")), tmp_path, echo=print)
    assert CALLS[4:] == ["one", "two"]


def test_missing_output_and_from_stage_rerun(tmp_path: Path) -> None:
    CALLS.clear()
    run_recipe(TOY, ToyConfig(), tmp_path, echo=lambda s: None)
    (tmp_path / "out/two.txt").unlink()
    run_recipe(TOY, ToyConfig(), tmp_path, echo=lambda s: None)
    assert CALLS == ["one", "two", "two"]
    run_recipe(TOY, ToyConfig(), tmp_path, from_stage="one", echo=lambda s: None)
    assert CALLS[3:] == ["one", "two"]
    state = json.loads((tmp_path / "state.json").read_text())["stages"]
    assert state["one"]["status"] == "done" and state["one"]["attempts"] == 2
    assert state["two"]["result"] == {"chars": 6} and state["two"]["seconds"] >= 0
    with pytest.raises(RecipeError, match="did you mean 'two'"):
        run_recipe(TOY, ToyConfig(), tmp_path, from_stage="tow", echo=lambda s: None)


def test_failing_stage_is_recorded(tmp_path: Path) -> None:
    def boom(ctx: StageContext) -> None:
        raise RuntimeError("disk full")

    recipe = Recipe("bad", "", ToyConfig, (Stage("boom", boom, ("x",)),))
    with pytest.raises(RuntimeError):
        run_recipe(recipe, ToyConfig(), tmp_path, echo=lambda s: None)
    state = json.loads((tmp_path / "state.json").read_text())["stages"]
    assert state["boom"]["status"] == "failed" and "disk full" in state["boom"]["error"]


def test_config_errors_name_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("first: {n: two}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: first\.n: expected int, got 'two'"):
        load_config(ToyConfig, path)
    path.write_text("first: {nn: 2}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: first: unknown key 'nn'.*; did you mean 'n'"):
        load_config(ToyConfig, path)
    path.write_text("frist: {}\n")
    with pytest.raises(ConfigError, match=r"unknown key 'frist'.*; did you mean 'first'"):
        load_config(ToyConfig, path)
    path.write_text("second: {n: 0}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: second\.n: must be at least 1"):
        load_config(ToyConfig, path)
    path.write_text("first: {n: 5}\n")
    assert load_config(ToyConfig, path).first.n == 5


def test_trainer_section_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("sft:\n  trainer: {max_stepz: 3}\n")
    result = CliRunner().invoke(main, ["pipeline", "run", "toolace", "--config", str(path)])
    assert result.exit_code != 0
    assert "t.yaml: sft.trainer: unknown key 'max_stepz'" in result.output
    assert "did you mean 'max_steps'" in result.output
    path.write_text("sft:\n  trainer: {model: x}\n")
    result = CliRunner().invoke(main, ["pipeline", "run", "toolace", "--config", str(path)])
    assert "model is set by the recipe" in result.output


def test_list_and_show_config() -> None:
    out = CliRunner().invoke(main, ["pipeline", "list"]).output
    assert "toolace:" in out and "apis → dialogs → verify → sft → eval" in out
    assert "if-rlvr:" in out and "seeds → synthesize → audit → refine → grpo → eval" in out
    shown = CliRunner().invoke(main, ["pipeline", "show-config", "if-rlvr"]).output
    assert "grpo.reward (str, default 'hard'):" in shown
    bad = CliRunner().invoke(main, ["pipeline", "run", "toolce", "--config", "x.yaml"])
    assert bad.exit_code != 0 and "toolace" in bad.output


def test_other_ranks_run_only_distributed_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []

    def record(name: str) -> Any:
        def fn(ctx: StageContext) -> dict[str, Any]:
            seen.append((os.environ.get("RANK", "0"), name))
            ctx.path(f"{name}.txt").write_text(name)
            return {"by": os.environ.get("RANK", "0")}

        return fn

    recipe = Recipe(
        "ranks",
        "",
        ToyConfig,
        (
            Stage("data", record("data"), ("data.txt",), ("first",)),
            Stage(
                "train", record("train"), ("train.txt",), ("second",), ("data",), distributed=True
            ),
        ),
    )
    run_recipe(recipe, ToyConfig(), tmp_path, echo=lambda s: None)  # rank 0 of the launch
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    seen.clear()
    run_recipe(recipe, ToyConfig(), tmp_path, echo=lambda s: None)
    assert seen == []  # rank 0 recorded both as up to date: rank 1 skips the training too
    state_before = (tmp_path / "state.json").read_text()
    run_recipe(recipe, ToyConfig(), tmp_path, from_stage="train", echo=lambda s: None)
    # --from forces the distributed stage on rank 1 (it would wait for rank 0's record next;
    # here rank 0's old record has the same fingerprint), and rank 1 never writes state.json.
    assert seen == [("1", "train")]
    assert (tmp_path / "state.json").read_text() == state_before


def test_resume_flag_only_for_an_interrupted_attempt(tmp_path: Path) -> None:
    seen: list[bool] = []
    fail = {"now": True}

    def flaky(ctx: StageContext) -> dict[str, Any]:
        seen.append(ctx.resume)
        if fail["now"]:
            raise RuntimeError("killed")
        ctx.path("x.txt").write_text("x")
        return {}

    recipe = Recipe("flaky", "", ToyConfig, (Stage("x", flaky, ("x.txt",), ("first",)),))
    with pytest.raises(RuntimeError):
        run_recipe(recipe, ToyConfig(), tmp_path, echo=lambda s: None)
    fail["now"] = False
    run_recipe(recipe, ToyConfig(), tmp_path, echo=lambda s: None)  # same config: resumes
    run_recipe(recipe, ToyConfig(first=CountSection(n=9)), tmp_path, echo=lambda s: None)
    run_recipe(
        recipe, ToyConfig(first=CountSection(n=9)), tmp_path, from_stage="x", echo=lambda s: None
    )
    assert seen == [False, True, False, False]  # a changed config or --from starts afresh
    state = json.loads((tmp_path / "state.json").read_text())["stages"]
    assert state["x"]["cpu_seconds"] >= 0


def test_expanding_recipe_has_stages_per_config(tmp_path: Path) -> None:
    def write(k: int) -> Any:
        def fn(ctx: StageContext) -> None:
            ctx.path(f"{k}.txt").write_text("k")

        return fn

    def stages(cfg: ToyConfig) -> tuple[Stage, ...]:
        return tuple(
            Stage(f"step-{k}", write(k), (f"{k}.txt",), ("first",))
            for k in range(1, cfg.first.n + 1)
        )

    recipe = Recipe("grow", "", ToyConfig, stages(ToyConfig()), expand=stages)
    assert recipe.stage_names() == ["step-1", "step-2", "step-3"]
    cfg = ToyConfig(first=CountSection(n=4))
    assert recipe.stage_names(cfg)[-1] == "step-4"
    run_recipe(recipe, cfg, tmp_path, from_stage="step-4", echo=lambda s: None)
    assert (tmp_path / "4.txt").exists()
    with pytest.raises(RecipeError, match="did you mean 'step-3'"):
        run_recipe(recipe, ToyConfig(), tmp_path, from_stage="step-4", echo=lambda s: None)


def _metric_stage(ctx: StageContext) -> dict[str, Any]:
    ctx.path("m.txt").write_text("x")
    return {
        "accuracy": {"value": 0.5, "ci95": [0.25, 0.75], "n": 12},
        "base": {"score": 0.125, "model": "/very/" + "long/" * 20 + "path"},
        "steps": 3,
    }


def test_pipeline_run_prints_a_results_table_writes_report_md_and_estimates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IFRL_CACHE", str(tmp_path / "cache"))
    recipe = Recipe(
        "toy-report", "", ToyConfig, (*TOY.stages, Stage("m", _metric_stage, ("m.txt",)))
    )
    RECIPES.add("toy-report", lambda: recipe, replace=True)
    config = tmp_path / "c.yaml"
    config.write_text("first: {n: 2}\n")
    args = ["pipeline", "run", "toy-report", "--config", str(config), "--run-dir"]
    first = CliRunner().invoke(main, [*args, str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert "estimate: none yet" in first.output
    table = first.output[first.output.index("stage  ") :]
    assert "accuracy 0.500 [0.250, 0.750] n=12" in table and "base.score 0.125" in table
    assert "long/long" not in table  # long texts stay in the files
    report = (tmp_path / "a" / "report.md").read_text()
    assert "| m | done |" in report and "| accuracy | 0.500 [0.250, 0.750] n=12 |" in report
    second = CliRunner().invoke(main, [*args, str(tmp_path / "b")])
    assert "estimate: about" in second.output and "last time)" in second.output
