"""Shared fixtures: the seeded tiny model and, for ``vllm`` tests, a vLLM OpenAI server on it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Tests are imported with --import-mode=importlib (test files in different folders may share a
# basename). Helper modules are imported by name: the files in tests/support/ (e.g.
# `from ifrl_testdata import shared_data`) and a package folder's own helpers (their module names
# must be unique across folders; never import a `conftest` by name).
_TESTS = Path(__file__).resolve().parent
for _folder in [_TESTS / "support", _TESTS]:
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
for _folder in sorted(p for p in _TESTS.iterdir() if p.is_dir() and p.name != "support"):
    if str(_folder) not in sys.path and not _folder.name.startswith((".", "__")):
        sys.path.append(str(_folder))

# Property tests check behaviour, not speed: no per-example deadline (CI machines are shared and
# slow), and a fixed derandomised seed so a failure reproduces.
settings.register_profile(
    "ifrl", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ifrl")

from ifrl_testdata import ROOT, SHARED_DATA, shared_data  # noqa: E402  (tests/support)

__all__ = ["ROOT", "SHARED_DATA", "shared_data"]


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """The seeded tiny Qwen2-architecture model (built once, then reused from the cache)."""
    pytest.importorskip("torch", reason="the tiny model needs torch (ifrl-core[hf])")
    from ifrl.core.tiny import build_tiny_model

    return build_tiny_model(arch="qwen2", seed=0)


@pytest.fixture(scope="session")
def vllm_server(tiny_model_dir: Path) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v1``) of a vLLM OpenAI-compatible server on the tiny model."""
    from vllm_server import serve  # tests/support/vllm_server.py

    with serve(tiny_model_dir) as base_url:
        yield base_url
