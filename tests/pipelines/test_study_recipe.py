"""The ``study`` recipe: every section's runs per seed, resumable, and a results page whose
numbers, verdicts, plots, config and commit come from those runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ifrl.core.cli import main
from ifrl.core.config import ConfigError, load_config
from ifrl.core.stats import Metric
from ifrl.pipelines.recipe import get_recipe
from ifrl.pipelines.recipes.study import merged, runs_of
from ifrl.pipelines.recipes.study_page import TITLES, verdict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _config(tmp_path: Path, **changes: object) -> Path:
    data = merged(yaml.safe_load((EXAMPLES / "study-tiny.yaml").read_text()), changes)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_verdict_needs_an_interval_that_excludes_zero() -> None:
    assert verdict(Metric(0.10, 60, 0.02, 0.18), "a", "b").startswith("agrees: a beats b by +10.0")
    assert verdict(Metric(-0.10, 60, -0.18, -0.02), "a", "b").startswith(
        "disagrees: b beats a by +10.0"
    )
    assert verdict(Metric(0.10, 60, -0.01, 0.2), "a", "b").startswith("cannot tell")


def test_each_seed_and_arm_gets_its_own_run(tmp_path: Path) -> None:
    cfg = load_config(get_recipe("study").config_cls, EXAMPLES / "study-tiny.yaml")
    tool = runs_of(cfg, "toolace", tmp_path)
    assert [name for name, _, _ in tool][:4] == [
        "toolace/verified/seed-0",
        "toolace/verified/seed-1",
        "toolace/verified/seed-2",
        "toolace/rejected/seed-0",
    ]
    _, _, rejected = tool[3]
    assert rejected["verify"]["train_on"] == "rejected"
    assert rejected["verify"]["first_turn_only"] is True  # the base section's value kept
    assert rejected["dialogs"]["seed"] == 0 and rejected["sft"]["trainer"]["seed"] == 0
    _, _, itool = runs_of(cfg, "itool", tmp_path)[4]  # baseline arm, seed 1
    assert itool["itool"]["train_pairs"] == "baseline"
    assert itool["start"]["toolace_run"] == str(tmp_path / "toolace/verified/seed-1")
    [(_, _, rl)] = runs_of(cfg, "if-rlvr", tmp_path)
    assert rl["arms"]["seeds"] == [0, 1, 2]


def test_config_errors_name_the_section(tmp_path: Path) -> None:
    cls = get_recipe("study").config_cls
    with pytest.raises(ConfigError, match=r"toolace.*verify\.train_on"):
        load_config(cls, _config(tmp_path, toolace={"verify": {"train_on": "everything"}}))
    with pytest.raises(ConfigError, match="itool starts from the toolace section"):
        load_config(cls, _config(tmp_path, study={"sections": ["itool"]}))
    with pytest.raises(ConfigError, match=r"study\.sections"):
        load_config(cls, _config(tmp_path, study={"sections": ["toolace", "grpo"]}))


@pytest.mark.slow
def test_study_runs_every_section_and_writes_the_page(tmp_path: Path) -> None:
    page = tmp_path / "docs" / "results.md"
    config = _config(tmp_path, study={"page": str(page)})
    run_dir = tmp_path / "run"
    args = ["pipeline", "run", "study", "--config", str(config), "--run-dir", str(run_dir)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    text = (run_dir / "results.md").read_text()
    for title in TITLES.values():
        section = text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
        assert "**The paper's claim.**" in section and "**Measured.**" in section, title
        assert any(v in section for v in ("agrees", "disagrees", "cannot tell")), title
    study = json.loads((run_dir / "results/study.json").read_text())
    assert study["seeds"] == [0, 1, 2] and study["commit"]
    assert study["config"]["toolace"]["dialogs"]["defect_share"] == 0.5
    verified = study["toolace"]["table"]["verified"]["seen_exact"]
    assert verified["n"] == 3 * 2  # seeds x seen-tool cases
    # The table's figure is the one the page quotes.
    assert f"n={verified['n']}" in text.split("| verified |", 1)[1].split("\n", 1)[0]
    for png in ("toolace.png", "toolace-dev.png", "itool.png", "if-rlvr-heldout.png"):
        assert (run_dir / "results" / png).stat().st_size > 0, png
    # The copy at study.page links its own plot folder.
    copied = page.read_text()
    assert "](results/toolace.png)" in copied and (page.parent / "results/toolace.png").exists()
    # Every seed and arm ran in its own directory; a rerun skips every stage, the page too.
    assert (run_dir / "toolace/rejected/seed-2/eval/results.json").exists()
    assert (run_dir / "itool/baseline/seed-1/iter_1/eval_scored.jsonl").exists()
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and again.output.count("up to date, skipped") == 6


def test_commit_is_dirty_only_when_source_code_changed(tmp_path: Path) -> None:
    import subprocess

    from ifrl.pipelines.common import git_commit

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    assert git_commit(tmp_path) == "unknown"
    (tmp_path / "packages/x/src").mkdir(parents=True)
    (tmp_path / "packages/x/src/a.py").write_text("A = 1\n")
    (tmp_path / "README.md").write_text("readme\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    clean = git_commit(tmp_path)
    assert clean and "+dirty" not in clean and clean != "unknown"
    (tmp_path / "README.md").write_text("edited docs\n")
    assert git_commit(tmp_path) == clean
    (tmp_path / "packages/x/src/a.py").write_text("A = 2\n")
    assert git_commit(tmp_path) == f"{clean}+dirty"
