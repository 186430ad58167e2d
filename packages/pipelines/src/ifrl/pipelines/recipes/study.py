"""The ``study`` recipe: every paper's experiment on the micro policies, with seeds, and a
results page (``results.md`` and its plots) built from them.

Each section runs one of the other recipes, once per seed (or once, where the recipe trains its
own seeds), each in its own run directory under ``RUN_DIR/<section>/``; a rerun skips every
finished sub-run stage by that recipe's own rules, so the study resumes where it stopped.

* ``if-rlvr`` — the IF-RLVR arms (``if-rlvr`` recipe with an ``arms`` section; ``arms.seeds`` is
  the study's seeds): held-out IFEval/IFBench truth per arm (``if-rlvr/report.json``).
* ``toolace`` — three arms of the ``toolace`` recipe per seed (``toolace/<arm>/seed-<k>``):
  ``verified`` (SFT on dialogs that passed the dual-layer verification, easy-to-hard order),
  ``rejected`` (SFT on as many dialogs that failed it: ``verify.train_on: rejected``) and
  ``shuffled`` (the verified rows in shuffled order: ``sft.curriculum: none``).
* ``toolace-dev`` — the ``toolace-dev`` recipe per seed: per-round held-out accuracy and the
  share of proposals that survive.
* ``itool`` — the ``itool`` recipe per seed, starting from that seed's ``verified`` ToolACE model:
  arm ``mcts`` trains on MCTS step pairs, arm ``baseline`` on best-vs-worst pairs collected at the
  same generation budget.
* ``edu-prm`` — the ``edu-prm-study`` recipe (its ``prm.seeds`` PRMs; the study sets the count).
* ``page`` — ``results.md``, ``results/*.png`` and ``results/study.json`` (every number the page
  quotes, the exact config and the commit); also copied to ``study.page`` when set.

Intervals: for a share measured on the same items by every seed's run, a two-level bootstrap over
seeds and items (:func:`ifrl.core.stats.cluster_bootstrap`); differences between arms resample
both arms' seeds with one shared item draw (:func:`ifrl.core.stats.bootstrap_difference`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, from_mapping, opt
from ifrl.core.jsonl import write_json
from ifrl.pipelines.common import git_commit
from ifrl.pipelines.recipe import RECIPES, Recipe, Stage, StageContext, get_recipe, run_recipe

SECTIONS = ("if-rlvr", "toolace", "toolace-dev", "itool", "edu-prm")
TOOLACE_ARMS: dict[str, dict[str, Any]] = {
    "verified": {},
    "rejected": {"verify": {"train_on": "rejected"}},
    "shuffled": {"sft": {"curriculum": "none"}},
}
ITOOL_ARMS: dict[str, dict[str, Any]] = {
    "mcts": {"itool": {"train_pairs": "mcts"}},
    "baseline": {"itool": {"train_pairs": "baseline"}},
}


@dataclass
class StudySection:
    seeds: tuple[int, ...] = opt(
        "Seeds of every seeded run (the page wants at least 3).", (0, 1, 2)
    )
    sections: tuple[str, ...] = opt("Sections to run, in this order.", SECTIONS, choices=SECTIONS)
    bootstrap: int = opt("Bootstrap resamples of every interval.", 1000, minimum=100)
    page: str = opt(
        "Also write the page here (its plots and study.json go to the folder <stem>/ beside it), "
        "e.g. docs/results.md; empty: only RUN_DIR/results.md.",
        "",
    )


_HELP = "Section {}: the `{}` recipe's config (`ifrl pipeline show-config NAME`); the study sets the seeds."


@dataclass
class StudyConfig:
    """The ``study`` recipe's YAML file."""

    study: StudySection = opt(
        "Seeds, sections, intervals and where the page goes.", factory=StudySection
    )
    if_rlvr: dict[str, Any] = opt(_HELP.format("if-rlvr", "if-rlvr"), factory=dict)
    toolace: dict[str, Any] = opt(_HELP.format("toolace", "toolace"), factory=dict)
    toolace_dev: dict[str, Any] = opt(_HELP.format("toolace-dev", "toolace-dev"), factory=dict)
    itool: dict[str, Any] = opt(_HELP.format("itool", "itool"), factory=dict)
    edu_prm: dict[str, Any] = opt(_HELP.format("edu-prm", "edu-prm-study"), factory=dict)

    def validate(self) -> None:
        if not self.study.seeds:
            raise ConfigError("", "study.seeds", "at least one seed")
        if "itool" in self.study.sections and "toolace" not in self.study.sections:
            raise ConfigError(
                "", "study.sections", "itool starts from the toolace section's models"
            )
        for section in self.study.sections:
            for where, _run_dir, mapping in runs_of(self, section, Path("<run>")):
                sub_config(section, mapping, where)


# -- the sub-runs -------------------------------------------------------------------------------

RECIPE_OF = {
    "if-rlvr": "if-rlvr",
    "toolace": "toolace",
    "toolace-dev": "toolace-dev",
    "itool": "itool",
    "edu-prm": "edu-prm-study",
}


def merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` laid over it, nested mappings merged key by key."""
    out = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _seeded(section: str, seed: int, run_root: Path) -> dict[str, Any]:
    """What the study sets in a section's config for ``seed``."""
    if section == "toolace":
        return {"dialogs": {"seed": seed}, "sft": {"trainer": {"seed": seed}}}
    if section == "toolace-dev":
        return {"data": {"seed": seed}, "sft": {"trainer": {"seed": seed}}}
    # itool: start from this seed's verified ToolACE model; evaluate on its held-out dialogs on
    # the training tools (new dialogs, seen tools), as the demo does.
    toolace = run_root / "toolace" / "verified" / f"seed-{seed}"
    return {
        "start": {"toolace_run": str(toolace)},
        "data": {"eval": str(toolace / "eval" / "seen_dialogs.jsonl")},
        "itool": {"seed": seed},
    }


def runs_of(
    cfg: StudyConfig, section: str, run_root: Path
) -> list[tuple[str, Path, dict[str, Any]]]:
    """The sub-runs of ``section``: (name, run directory, recipe config mapping)."""
    seeds = cfg.study.seeds
    base = getattr(cfg, section.replace("-", "_"))
    root = run_root / section
    if section == "if-rlvr":
        return [(section, root, merged(base, {"arms": {"seeds": list(seeds)}}))]
    if section == "edu-prm":
        return [(section, root, merged(base, {"prm": {"seeds": len(seeds)}}))]
    arms = {"toolace": TOOLACE_ARMS, "itool": ITOOL_ARMS}.get(section, {"": {}})
    out = []
    for arm, changes in arms.items():
        for seed in seeds:
            name = f"{section}/{arm}/seed-{seed}" if arm else f"{section}/seed-{seed}"
            mapping = merged(merged(base, changes), _seeded(section, seed, run_root))
            out.append((name, run_root / name, mapping))
    return out


def sub_config(section: str, mapping: Mapping[str, Any], where: str) -> Any:
    """The validated config of one sub-run (errors name the study's section and run)."""
    recipe = get_recipe(RECIPE_OF[section])
    try:
        return from_mapping(recipe.config_cls, dict(mapping), f"study:{where}")
    except ConfigError as err:
        raise err.within("", section.replace("-", "_")) from None


def _run_section(section: str) -> Callable[[StageContext], dict[str, Any]]:
    def run(ctx: StageContext) -> dict[str, Any]:
        cfg: StudyConfig = ctx.config
        recipe = get_recipe(RECIPE_OF[section])
        done: dict[str, Any] = {}
        for name, run_dir, mapping in runs_of(cfg, section, ctx.run_dir):
            ctx.echo(f"  -- {name}")
            commit = git_commit()  # before the run: the code the run is made with
            config = sub_config(section, mapping, name)
            states = run_recipe(recipe, config, run_dir, echo=lambda t: ctx.echo(f"    {t}"))
            done[name] = {
                "dir": str(run_dir.relative_to(ctx.run_dir)),
                "commit": commit,
                "seconds": round(sum(float(s.get("seconds") or 0) for s in states.values()), 1),
            }
        write_json(ctx.path(f"{section}/study-runs.json"), done)
        return {"runs": len(done), "seconds": round(sum(d["seconds"] for d in done.values()), 1)}

    return run


def _stage_page(ctx: StageContext) -> dict[str, Any]:
    from ifrl.pipelines.recipes.study_page import write_page

    return write_page(ctx)


def _stages(cfg: StudyConfig) -> tuple[Stage, ...]:
    sections = cfg.study.sections
    stages = [
        Stage(
            section,
            _run_section(section),
            (f"{section}/study-runs.json",),
            ("study", section.replace("-", "_"), *(("toolace",) if section == "itool" else ())),
            ("toolace",) if section == "itool" else (),
            f"{RECIPE_OF[section]} runs",
        )
        for section in sections
    ]
    stages.append(
        Stage(
            "page",
            _stage_page,
            ("results.md", "results/study.json"),
            ("study",),
            tuple(sections),
            "the results page",
        )
    )
    return tuple(stages)


def build() -> Recipe:
    """The ``study`` recipe."""
    return Recipe(
        "study",
        "every paper's experiment on the micro policies, seeded, and the results page",
        StudyConfig,
        _stages(StudyConfig()),
        expand=_stages,
    )


RECIPES.add("study", build)
