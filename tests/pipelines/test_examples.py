"""Every config under examples/ validates; the "compose your own" script runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ifrl.pipelines.config import load_recipe_config
from ifrl.pipelines.recipe import get_recipe, recipe_names

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIGS = sorted(EXAMPLES.glob("*.yaml"))


def _recipe_of(path: Path) -> str | None:
    names = [n for n in recipe_names() if path.name.startswith(n + "-")]
    return max(names, key=len) if names else None


def test_examples_exist() -> None:
    assert {p.name for p in CONFIGS} >= {
        "toolace-qwen2.5-1.5b.yaml",
        "if-rlvr-qwen2.5-1.5b.yaml",
        "accelerate-ddp.yaml",
    }


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_example_config_validates(path: Path) -> None:
    if path.name.startswith("accelerate-"):
        from accelerate.commands.config.config_args import ClusterConfig

        cfg = ClusterConfig.from_yaml_file(str(path))
        assert cfg.num_processes >= 1
        return
    name = _recipe_of(path)
    assert name is not None, f"{path.name}: name it <recipe>-<variant>.yaml"
    cfg = load_recipe_config(get_recipe(name).config_cls, path)
    # Files named in the run commands of the comments exist.
    for ref in re.findall(r"examples/[\w.\-]+\.yaml", path.read_text()):
        assert (EXAMPLES.parent / ref).exists(), ref
    if "qwen" in path.name:
        assert cfg.model.path == "Qwen/Qwen2.5-1.5B-Instruct"  # type: ignore[attr-defined]
        assert cfg.model.backend == "vllm"  # type: ignore[attr-defined]


@pytest.mark.slow
def test_compose_your_own_runs(tmp_path: Path, tiny_model_dir: Path) -> None:
    out = tmp_path / "compose"
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "compose_your_own.py"), "--out", str(out), "--steps", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert 0.0 <= summary["before"] <= 1.0 and 0.0 <= summary["after"] <= 1.0
    assert 0.0 <= summary["reward"] <= 1.0
    assert (out / "grpo" / "final").is_dir()
    assert (out / "eval-after" / "results.json").exists()
