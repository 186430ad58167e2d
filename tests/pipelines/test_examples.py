"""Every config under examples/ validates; the "compose your own" script runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ifrl.core.config import load_config
from ifrl.pipelines.recipe import get_recipe, recipe_names

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIGS = sorted(EXAMPLES.glob("*.yaml"))


def _recipe_of(path: Path) -> str | None:
    names = [n for n in recipe_names() if path.name.startswith(n + "-") or path.stem == n]
    return max(names, key=len) if names else None


# No real-model config: the EDU-PRM study needs exact step truth (the synthetic arithmetic
# policy); the study recipe is the results page of the micro policies.
SYNTHETIC_ONLY = {"edu-prm-study", "study"}


def test_examples_exist() -> None:
    assert {p.name for p in CONFIGS} >= {
        "toolace-qwen2.5-1.5b.yaml",
        "toolace-tiny.yaml",
        "if-rlvr-qwen2.5-1.5b.yaml",
        "if-rlvr-tiny.yaml",
        "if-rlvr-arms-tiny.yaml",
        "itool-qwen2.5-1.5b.yaml",
        "itool-tiny.yaml",
        "edu-prm-qwen2.5-math-1.5b.yaml",
        "edu-prm-tiny.yaml",
        "accelerate-ddp.yaml",
    }
    # Every recipe has a tiny config and one for a real model, except SYNTHETIC_ONLY.
    for name in recipe_names():
        if name not in SYNTHETIC_ONLY:
            assert any(p.name.startswith(f"{name}-") and "qwen" in p.name for p in CONFIGS), name
        assert (EXAMPLES / f"{name}-tiny.yaml").exists(), name


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_example_config_validates(path: Path) -> None:
    if path.name.startswith("accelerate-"):
        from accelerate.commands.config.config_args import ClusterConfig

        cluster = ClusterConfig.from_yaml_file(str(path))
        assert cluster.num_processes >= 1
        return
    name = _recipe_of(path)
    assert name is not None, f"{path.name}: name it <recipe>-<variant>.yaml or <recipe>.yaml"
    cfg: Any = load_config(get_recipe(name).config_cls, path)
    # Files named in the run commands of the comments exist.
    for ref in re.findall(r"examples/[\w.\-]+\.yaml", path.read_text()):
        assert (EXAMPLES.parent / ref).exists(), ref
    real = "qwen" in path.name
    if name in ("toolace", "if-rlvr") and real:
        assert cfg.model.path == "Qwen/Qwen2.5-1.5B-Instruct"
        assert cfg.model.backend == "vllm"
    elif path.name.endswith("-tiny.yaml") and name in ("toolace", "if-rlvr"):
        assert cfg.model.path == "tiny"
    if name == "edu-prm":
        policy = cfg.policy
        assert (policy.path.startswith("Qwen/"), policy.backend) == (
            (True, "vllm") if real else (False, "hf")
        )
    if name == "itool":
        # It starts from the toolace run of the matching example (named in its comments).
        start = cfg.start.toolace_run
        text = path.read_text()
        assert f"--run-dir {start}" in text
        assert cfg.itool.device == ("cuda" if real else "cpu")


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
