"""``generator_for``: the one mapping from command-line backend options to ``make_generator``."""

from __future__ import annotations

from typing import Any

import pytest

from ifrl.core import generation
from ifrl.core.generation import BackendOptionsError, generator_for


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []

    def fake(name: str, **kwargs: Any) -> Any:
        seen.append((name, kwargs))
        return object()

    monkeypatch.setattr(generation, "make_generator", fake)
    return seen


def test_openai_gets_url_key_and_mode(calls: list[tuple[str, dict[str, Any]]]) -> None:
    generator_for("openai", "m", base_url="http://h:1/v1", api_key="k", openai_mode="completions")
    assert calls == [
        (
            "openai",
            {"base_url": "http://h:1/v1", "model": "m", "api_key": "k", "mode": "completions"},
        )
    ]


def test_hf_resolves_device_and_passes_extras(calls: list[tuple[str, dict[str, Any]]]) -> None:
    import torch

    generator_for("hf", "/models/x", batch_size=8)
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert calls == [("hf", {"model": "/models/x", "device": want, "batch_size": 8})]
    generator_for("hf", "/models/x", device="cpu")
    assert calls[-1][1]["device"] == "cpu"


def test_other_backends_get_model_and_kwargs(calls: list[tuple[str, dict[str, Any]]]) -> None:
    generator_for("vllm", "/models/x", seed=3)
    assert calls == [("vllm", {"model": "/models/x", "seed": 3})]


@pytest.mark.parametrize(
    ("backend", "model", "base_url", "needle"),
    [
        ("hf", None, None, "--model"),
        ("vllm", "", None, "--model"),
        ("openai", "m", "", "--base-url"),
    ],
)
def test_missing_options_are_named(
    calls: list[tuple[str, dict[str, Any]]],
    backend: str,
    model: str | None,
    base_url: str | None,
    needle: str,
) -> None:
    with pytest.raises(BackendOptionsError, match=needle):
        generator_for(backend, model, base_url=base_url)
    assert calls == []


def test_unknown_backend_suggests() -> None:
    with pytest.raises(Exception, match="vllm"):
        generator_for("vlm", "m")
