"""The seams that stay single (../shared/DESIGN.md), checked over the source tree.

* One record, one codec: outside the codecs no code reads or writes the raw keys of the records
  that cross package boundaries.
* Libraries transform records, pipelines run stages: the import graph between packages.
* A face per package: ``__init__`` exports the public API with ``__all__``; READMEs import only
  from the faces, and every name they import exists.
* Module names do not repeat across packages for different concepts.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "constraints", "toolgen", "prm", "rltrain", "evals", "pipelines")

# Which ifrl packages each package may import (itself included).
ALLOWED_IMPORTS = {
    "core": {"core"},
    "constraints": {"core", "constraints"},
    "toolgen": {"core", "toolgen"},
    "prm": {"core", "prm"},
    "rltrain": {"core", "rltrain"},
    "evals": {"core", "constraints", "evals"},
    "pipelines": set(PACKAGES),
}

# The codecs of the records that cross package boundaries: the OpenAI message codec and the
# constrained-prompt record (core.records), the tool-call text formats (core.toolcalls: model
# output such as ``{"tool_calls": [...]}`` is one of the formats it parses), and the one codec of
# IFEval / IFBench / VerIF rows (constraints.codec).
RAW_KEYS = ("instruction_id_list", "tool_calls")
CODECS = {
    "core/src/ifrl/core/records.py",
    "core/src/ifrl/core/toolcalls.py",
    "constraints/src/ifrl/constraints/codec.py",
}

# Basenames several packages use for the same concept: the package's command group.
SHARED_BASENAMES = {"__init__", "__main__", "cli"}


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / "packages" / package / "src").rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _raw_key_uses(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, key) for every read or write of a raw record key: ``x["k"]``, ``x.get("k")``,
    ``"k" in x`` and ``{"k": ...}``."""
    found: list[tuple[int, str]] = []

    def key(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and node.value in RAW_KEYS:
            return str(node.value)
        return None

    for node in ast.walk(tree):
        hits: list[str | None] = []
        if isinstance(node, ast.Subscript):
            hits.append(key(node.slice))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("get", "pop", "setdefault") and node.args:
                hits.append(key(node.args[0]))
        elif isinstance(node, ast.Compare) and any(
            isinstance(op, (ast.In, ast.NotIn)) for op in node.ops
        ):
            hits.append(key(node.left))
        elif isinstance(node, ast.Dict):
            hits.extend(key(k) for k in node.keys)
        found.extend((node.lineno, k) for k in hits if k)
    return found


def test_raw_record_keys_are_read_only_in_the_codecs() -> None:
    offenders = []
    for package in PACKAGES:
        for path in _sources(package):
            rel = path.relative_to(ROOT / "packages").as_posix()
            if rel in CODECS:
                continue
            offenders += [f"{rel}:{line}: {k!r}" for line, k in _raw_key_uses(_tree(path))]
    assert not offenders, "raw record keys outside the codecs:\n" + "\n".join(offenders)


def _ifrl_imports(tree: ast.Module) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "ifrl" and len(parts) > 1:
                out.append((node.lineno, parts[1]))
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_import_only_what_the_layering_allows(package: str) -> None:
    offenders = []
    for path in _sources(package):
        for line, target in _ifrl_imports(_tree(path)):
            if target not in ALLOWED_IMPORTS[package]:
                rel = path.relative_to(ROOT / "packages").as_posix()
                offenders.append(f"{rel}:{line}: imports ifrl.{target}")
    allowed = ", ".join(sorted(ALLOWED_IMPORTS[package]))
    assert not offenders, f"{package} may import only {allowed}:\n" + "\n".join(offenders)


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_has_a_face(package: str) -> None:
    module = importlib.import_module(f"ifrl.{package}")
    names = getattr(module, "__all__", None)
    assert names, f"ifrl.{package} exports nothing (__all__ is missing or empty)"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"ifrl.{package}.__all__ lists names it does not define: {missing}"
    assert len(names) <= 60, f"ifrl.{package} exports {len(names)} names (one screen: <= 60)"
    assert len(set(names)) == len(names), f"ifrl.{package}.__all__ repeats a name"


_FENCE = re.compile(r"```python\n(.*?)```", re.S)


def _readmes() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "packages").glob("*/README.md"))]


@pytest.mark.parametrize("readme", _readmes(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_readme_examples_import_only_from_package_faces(readme: Path) -> None:
    problems = []
    for block in _FENCE.findall(readme.read_text(encoding="utf-8")):
        try:
            tree = ast.parse(block)
        except SyntaxError as err:
            problems.append(f"a python block does not parse: {err}")
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("ifrl.") and alias.name.count(".") > 1:
                        problems.append(f"import {alias.name}: import from a package face")
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("ifrl"):
                continue
            module = node.module or ""
            if module.count(".") != 1 or module.split(".")[1] not in PACKAGES:
                problems.append(f"from {module} import ...: import from a package face")
                continue
            face = importlib.import_module(module)
            exported = set(getattr(face, "__all__", ()))
            for alias in node.names:
                if alias.name not in exported or not hasattr(face, alias.name):
                    problems.append(f"from {module} import {alias.name}: not in {module}.__all__")
    assert not problems, f"{readme.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_module_names_do_not_repeat_across_packages() -> None:
    """``ifrl.prm.data`` beside ``ifrl.rltrain.data`` reads as one concept: each module's path
    inside its package (``bfcl.data``, ``recipes.itool``) must be its package's own."""
    where: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        base = ROOT / "packages" / package / "src" / "ifrl" / package
        for path in _sources(package):
            where[".".join(path.relative_to(base).with_suffix("").parts)].add(package)
    repeated = {
        name: sorted(pkgs)
        for name, pkgs in where.items()
        if len(pkgs) > 1 and name not in SHARED_BASENAMES
    }
    assert not repeated, f"module names used by several packages: {repeated}"
