"""Config sections and helpers shared by the recipes: the model, the generation backend, training."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ifrl.core.config import ConfigError, from_mapping, opt
from ifrl.core.generation import generator_for
from ifrl.core.tiny import build_tiny_model

BACKENDS = ("hf", "vllm", "openai")
T = TypeVar("T")


@dataclass
class ModelSection:
    """Which model the recipe starts from and how completions are generated."""

    path: str = opt(
        "Model directory or hub id; 'tiny' builds the seeded tiny test model; 'micro:NAME' "
        "builds (or reuses from the cache) the micro policy NAME (`ifrl tiny list`).",
        "tiny",
    )
    backend: str = opt(
        "Generation backend for sampling and evals: hf, vllm or openai.", "hf", choices=BACKENDS
    )
    base_url: str = opt("OpenAI-compatible server URL (backend openai only).", "")
    batch_size: int = opt("Prompts per generation batch.", 16)

    def validate(self) -> None:
        if self.backend == "openai" and not self.base_url:
            raise ConfigError("", "base_url", "required with backend openai")
        if self.path.startswith(MICRO_PREFIX):
            from ifrl.pipelines.micro.spec import SPECS

            name = self.path[len(MICRO_PREFIX) :]
            if name not in SPECS:
                raise ConfigError("", "path", f"no micro policy {name!r}; known: {sorted(SPECS)}")


MICRO_PREFIX = "micro:"


def resolve_model(section: ModelSection | str) -> str:
    """The model directory of a section (or a path): builds the tiny model for ``tiny`` and the
    micro policy ``NAME`` for ``micro:NAME`` (cached by content hash, see
    :func:`ifrl.pipelines.micro.build_micro`); any other value is returned unchanged."""
    path = section if isinstance(section, str) else section.path
    if path == "tiny":
        return str(build_tiny_model(arch="qwen2", seed=0))
    if path.startswith(MICRO_PREFIX):
        from ifrl.pipelines.micro import build_micro  # torch: loaded when a model is built

        return str(build_micro(path[len(MICRO_PREFIX) :], echo=_progress, progress=True).path)
    return path


def pin_micro(value: Any) -> Any:
    """``value`` (JSON-ready: mappings, lists, scalars) with each ``micro:NAME`` string written
    ``micro:NAME@KEY``, KEY the policy's cache key (:func:`ifrl.pipelines.micro.build.policy_key`).

    Stage fingerprints hash configs through this, so a completed stage that used a micro policy
    reruns when the policy's code, settings or data change instead of being resumed.
    """
    if isinstance(value, str) and value.startswith(MICRO_PREFIX):
        from ifrl.pipelines.micro.build import policy_key
        from ifrl.pipelines.micro.spec import SPECS

        name = value[len(MICRO_PREFIX) :]
        return f"{value}@{policy_key(name)[:16]}" if name in SPECS else value
    if isinstance(value, dict):
        return {k: pin_micro(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [pin_micro(v) for v in value]
    return value


def _progress(text: str) -> None:
    print(f"    micro policy: {text}", flush=True)


def make_generator(section: ModelSection, model: str | Path) -> Any:
    """A ``Generator`` for ``model`` on the section's backend (through
    :func:`ifrl.core.generation.generator_for`, as the command-line tools build theirs)."""
    if section.backend == "openai":
        return generator_for("openai", model, base_url=section.base_url)
    if section.backend == "vllm":
        return generator_for("vllm", model, seed=0)
    return generator_for("hf", model, batch_size=section.batch_size)


def train_config(cls: type[T], overrides: dict[str, Any], fixed: dict[str, Any], where: str) -> T:
    """An ``ifrl.rltrain`` config from a recipe section's free-form ``overrides`` plus ``fixed``
    values the recipe sets itself (model, data, output_dir); errors name ``where``."""
    clash = sorted(set(overrides) & set(fixed))
    if clash:
        raise ConfigError("", where, f"{', '.join(clash)} is set by the recipe, not the config")
    try:
        return from_mapping(cls, {**overrides, **fixed})
    except ConfigError as err:
        raise err.within("", where) from None


def check_train_section(cls: type, overrides: dict[str, Any], where: str) -> None:
    """Validate a free-form trainer section at load time (with placeholder paths)."""
    train_config(
        cls, overrides, {"model": "<model>", "data": "<data>", "output_dir": "<out>"}, where
    )


def git_commit(cwd: str | Path | None = None) -> str:
    """The short commit hash of the checkout at ``cwd`` (default: the current directory), with
    ``+dirty`` when the packages' source code (``packages/*/src``) differs from it; ``unknown``
    outside a git checkout. Edits to docs, tests and examples do not count: what a run did is
    decided by the code (and by its config, which the run records itself)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False, cwd=cwd)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ":(glob)packages/*/src/**")
    return commit + ("+dirty" if dirty else "")
