"""Recipes: named stages whose outputs are files in a run directory, resumable stage by stage.

A :class:`Stage` declares the config sections it reads, the earlier stages it consumes and the
files it writes (relative to the run directory). :func:`run_recipe` runs the stages in order and
records each one's status, fingerprint, wall time, CPU time of the process and result in ``RUN_DIR/state.json``
(rewritten atomically after every change). A stage is skipped when its status is ``done``, its
fingerprint — a hash of its config sections and of the fingerprints of the stages it consumes —
is unchanged and all its outputs exist; ``from_stage`` forces that stage and every later one to
run again. A stage interrupted mid-way (status ``running`` or ``failed``) runs again with
``ctx.resume`` set, and stages that train or search resume from their own partial files inside the
run directory; a stage run for any other reason (new, changed config, ``--from``) gets
``ctx.resume`` unset and starts its outputs afresh.

A recipe whose stages depend on the config (``itool``: four stages per iteration) gives an
``expand`` function; :meth:`Recipe.stages_for` returns the stages of one config.

Under ``accelerate launch`` / ``torchrun`` (``WORLD_SIZE > 1``) only rank 0 runs the ordinary
stages and writes ``state.json``; the other ranks wait for each stage to be recorded as done and
join only the ``distributed`` stages (the trainers), which synchronise themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ifrl.core.config import to_dict
from ifrl.core.errors import IfrlError
from ifrl.core.jsonl import write_json
from ifrl.core.registry import Registry
from ifrl.pipelines.common import pin_micro
from ifrl.pipelines.timings import describe, estimate, record

Echo = Callable[[str], None]


class RecipeError(IfrlError, ValueError):
    """A recipe or stage name is unknown, or a run directory is inconsistent."""


@dataclass(frozen=True)
class StageContext:
    """What a stage's function receives."""

    run_dir: Path
    config: Any
    stage: str
    echo: Echo
    results: Mapping[str, Mapping[str, Any]]
    resume: bool = False

    def path(self, relative: str) -> Path:
        """A path inside the run directory (parent folders are created)."""
        p = self.run_dir / relative
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


StageFn = Callable[[StageContext], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Stage:
    """One step of a recipe: ``run(ctx)`` writes ``outputs`` and returns a JSON-ready summary."""

    name: str
    run: StageFn
    outputs: tuple[str, ...]
    sections: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    description: str = ""
    enabled: Callable[[Any], bool] | None = None
    distributed: bool = False


@dataclass(frozen=True)
class Recipe:
    """A named sequence of stages and the config dataclass of its YAML file."""

    name: str
    description: str
    config_cls: type
    stages: tuple[Stage, ...]
    expand: Callable[[Any], tuple[Stage, ...]] | None = None

    def stages_for(self, config: Any) -> tuple[Stage, ...]:
        """The stages of ``config``: ``expand(config)`` when given, else ``stages``."""
        return self.expand(config) if self.expand is not None else self.stages

    def stage_names(self, config: Any = None) -> list[str]:
        """Stage names (of ``config`` when the recipe expands per config, else the default's)."""
        stages = self.stages if config is None else self.stages_for(config)
        return [s.name for s in stages]


RECIPES: Registry[Callable[[], Recipe]] = Registry("recipe", entry_point_group="ifrl.recipes")


def get_recipe(name: str) -> Recipe:
    """The recipe registered as ``name`` (unknown names get a "did you mean")."""
    import ifrl.pipelines.recipes  # noqa: F401 (registers the built-in recipes)

    return RECIPES.get(name)()


def recipe_names() -> list[str]:
    import ifrl.pipelines.recipes  # noqa: F401

    return sorted(RECIPES.names())


def fingerprint(config: Any, stage: Stage, upstream: Mapping[str, str]) -> str:
    """Hash of the stage's config sections and its inputs' fingerprints (a ``micro:NAME`` model
    counts with its policy's cache key, see :func:`ifrl.pipelines.common.pin_micro`)."""
    payload = {
        "stage": stage.name,
        "sections": pin_micro({s: to_dict(getattr(config, s)) for s in stage.sections}),
        "inputs": {i: upstream.get(i, "") for i in stage.inputs},
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class RunState:
    """The content of ``state.json``: one entry per stage."""

    path: Path
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, run_dir: Path) -> RunState:
        path = run_dir / "state.json"
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise RecipeError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from None
        stages = data.get("stages") if isinstance(data, dict) else None
        if not isinstance(stages, dict):
            raise RecipeError(f"{path}: field 'stages' must be an object")
        return cls(path, stages)

    def update(self, stage: str, **values: Any) -> None:
        self.stages.setdefault(stage, {}).update(values)
        write_json(self.path, {"stages": self.stages})


def _rank() -> tuple[int, int]:
    """(rank, world size) from the launcher's environment (``RANK``, ``WORLD_SIZE``)."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def _wait_for(root: Path, stage: str, fp: str, poll: float = 1.0) -> Mapping[str, Any]:
    """Block until rank 0 records ``stage`` with fingerprint ``fp`` as done (non-zero ranks)."""
    while True:
        entry = RunState.load(root).stages.get(stage, {})
        if entry.get("status") == "done" and entry.get("fingerprint") == fp:
            return dict(entry.get("result", {}))
        if entry.get("status") == "failed" and entry.get("fingerprint") == fp:
            raise RecipeError(f"stage {stage!r} failed on rank 0: {entry.get('error')}")
        time.sleep(poll)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _done(entry: Mapping[str, Any] | None, fp: str, run_dir: Path, stage: Stage) -> bool:
    return (
        entry is not None
        and entry.get("status") == "done"
        and entry.get("fingerprint") == fp
        and all((run_dir / o).exists() for o in stage.outputs)
    )


def _interrupted(entry: Mapping[str, Any] | None, fp: str) -> bool:
    """Whether the last attempt of a stage with fingerprint ``fp`` stopped before finishing."""
    return (
        entry is not None
        and entry.get("status") in ("running", "failed")
        and entry.get("fingerprint") == fp
    )


def plan(recipe: Recipe, config: Any) -> list[tuple[Stage, str]]:
    """The stages ``config`` enables, in order, each with its fingerprint."""
    fps: dict[str, str] = {}
    out = []
    for stage in recipe.stages_for(config):
        if stage.enabled is None or stage.enabled(config):
            fps[stage.name] = fingerprint(config, stage, fps)
            out.append((stage, fps[stage.name]))
    return out


def estimates(recipe: Recipe, config: Any) -> dict[str, float | None]:
    """Each enabled stage's duration last time on this machine (None: never timed)."""
    return {s.name: estimate(recipe.name, s.name, fp) for s, fp in plan(recipe, config)}


def run_recipe(
    recipe: Recipe,
    config: Any,
    run_dir: str | Path,
    *,
    from_stage: str | None = None,
    echo: Echo = print,
) -> dict[str, dict[str, Any]]:
    """Run ``recipe`` in ``run_dir`` and return ``state.json``'s stages.

    Raises :class:`RecipeError` for an unknown ``from_stage``; a failing stage is recorded as
    ``failed`` (with its error) and its exception propagates.
    """
    stages_all = recipe.stages_for(config)
    names = [s.name for s in stages_all]
    if from_stage is not None and from_stage not in names:
        import difflib

        close = difflib.get_close_matches(from_stage, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise RecipeError(
            f"--from: recipe {recipe.name!r} has no stage {from_stage!r}{hint} "
            f"(stages: {', '.join(names)})"
        )
    root = Path(run_dir)
    rank, _world = _rank()
    if rank == 0:
        root.mkdir(parents=True, exist_ok=True)
        write_json(root / "config.json", {"recipe": recipe.name, "config": to_dict(config)})
    else:
        echo = _silent
    state = RunState.load(root)
    forced = False
    results: dict[str, Mapping[str, Any]] = {
        k: v.get("result", {}) for k, v in state.stages.items()
    }
    active = plan(recipe, config)
    for i, (stage, fp) in enumerate(active, start=1):
        forced = forced or stage.name == from_stage
        head = f"[{i}/{len(active)}] {recipe.name}: {stage.name}"
        entry = state.stages.get(stage.name)
        if rank != 0:
            # Rank 0 decides from the same state.json snapshot; a stage it skips is skipped here.
            if stage.distributed and (forced or not _done(entry, fp, root, stage)):
                resume = not forced and _interrupted(entry, fp)
                stage.run(StageContext(root, config, stage.name, echo, results, resume))
            results[stage.name] = _wait_for(root, stage.name, fp)
            continue
        if not forced and _done(entry, fp, root, stage):
            echo(f"{head} — up to date, skipped")
            continue
        last = estimate(recipe.name, stage.name, fp)
        about = f" (about {describe(last)} last time)" if last is not None else ""
        echo((f"{head} — {stage.description}" if stage.description else head) + about)
        resume = not forced and _interrupted(entry, fp)
        attempts = int(entry.get("attempts", 0)) + 1 if entry else 1
        state.update(
            stage.name,
            status="running",
            fingerprint=fp,
            started=_now(),
            attempts=attempts,
            outputs=list(stage.outputs),
        )
        start = time.perf_counter()
        cpu_start = time.process_time()
        ctx = StageContext(root, config, stage.name, echo, results, resume)
        try:
            result = dict(stage.run(ctx) or {})
        except BaseException as err:
            state.update(
                stage.name,
                status="failed",
                seconds=round(time.perf_counter() - start, 3),
                error=f"{type(err).__name__}: {err}",
                traceback=traceback.format_exc(limit=8),
            )
            raise
        seconds = round(time.perf_counter() - start, 3)
        cpu = round(time.process_time() - cpu_start, 3)
        missing = [o for o in stage.outputs if not (root / o).exists()]
        if missing:
            state.update(stage.name, status="failed", seconds=seconds, error=f"missing {missing}")
            raise RecipeError(f"stage {stage.name!r} did not write {', '.join(missing)}")
        results[stage.name] = result
        record(recipe.name, stage.name, fp, seconds)
        state.update(
            stage.name,
            status="done",
            seconds=seconds,
            cpu_seconds=cpu,
            finished=_now(),
            result=result,
            error=None,
        )
        echo(f"    done in {seconds:.1f}s")
    return state.stages


def _silent(text: str) -> None:
    del text
