#!/usr/bin/env python3
"""The lockstep release (README, "Release policy"): one version for the 8 distributions.

    python3 scripts/release.py set 0.2.0      # every pyproject's version and sibling pin -> 0.2.0
    python3 scripts/release.py check v0.2.0   # the tag is v<the version>, each CHANGELOG has it

`set` rewrites every requirement on a sibling (`ifrl-core[hf]>=0.1,<0.2`, `ifrl-evals==0.1.0`)
to the exact pin (`ifrl-core[hf]==0.2.0`). Standard library only (Python >= 3.11): it runs before any venv exists.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import tomllib

RELEASE_VERSION = re.compile(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?")
PROJECT_VERSION = re.compile(r'^version\s*=\s*"[^"]*"', re.M)
REQUIREMENT = re.compile(r"\s*([A-Za-z0-9._-]+)\s*(\[[^\]]*\])?")


def canonical(name: str) -> str:
    """A distribution name in its normalised form (PEP 503): ``PyYAML`` -> ``pyyaml``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pyprojects(root: Path) -> list[Path]:
    """The umbrella's pyproject and each member's, in that order."""
    return [root / "pyproject.toml", *sorted((root / "packages").glob("*/pyproject.toml"))]


def versions(root: Path) -> dict[Path, str]:
    return {p: tomllib.loads(p.read_text("utf-8"))["project"]["version"] for p in pyprojects(root)}


def set_version(root: Path, version: str) -> None:
    """Write ``version`` into every pyproject and pin every sibling requirement to it."""
    files = pyprojects(root)
    projects = [tomllib.loads(p.read_text("utf-8"))["project"] for p in files]
    members = {canonical(p["name"]) for p in projects}
    for path, project in zip(files, projects):
        text, count = PROJECT_VERSION.subn(f'version = "{version}"', path.read_text("utf-8"))
        if count != 1:
            sys.exit(f"{path}: expected one `version = ...` line, found {count}")
        extras = project.get("optional-dependencies", {}).values()
        for req in {r for reqs in [project.get("dependencies", []), *extras] for r in reqs}:
            name, extra = REQUIREMENT.match(req).groups()  # type: ignore[union-attr]
            if canonical(name) in members:
                text = text.replace(f'"{req}"', f'"{name}{extra or ""}=={version}"')
        path.write_text(text, "utf-8")
        print(f"{path.relative_to(root)}: {version}")


def check_tag(root: Path, tag: str) -> list[str]:
    """What keeps ``tag`` from releasing the tree at ``root`` (empty when it may)."""
    problems = [
        f"{path.relative_to(root)}: version {found}, the tag says {tag}"
        for path, found in versions(root).items()
        if f"v{found}" != tag
    ]
    version = tag.removeprefix("v")
    for path in [root / "CHANGELOG.md", *sorted((root / "packages").glob("*/CHANGELOG.md"))]:
        text = path.read_text("utf-8") if path.exists() else ""
        headings = [h for h in text.splitlines() if h.startswith("## ")]
        mine = [h for h in headings if re.match(rf"## {re.escape(version)}\b", h)]
        if not mine or "unreleased" in mine[0].lower():
            problems.append(f"{path.relative_to(root)}: no released `## {version}` section")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    commands = parser.add_subparsers(dest="command", required=True)
    setter = commands.add_parser("set", parents=[common], help="set the version of all 8")
    setter.add_argument("version")
    checker = commands.add_parser("check", parents=[common], help="check a tag v<version>")
    checker.add_argument("tag")
    args = parser.parse_args()
    if args.command == "set":
        if not RELEASE_VERSION.fullmatch(args.version):
            setter.error(f"{args.version!r} is not a release version (e.g. 0.2.0, 1.0.0rc1)")
        set_version(args.root, args.version)
    else:
        problems = check_tag(args.root, args.tag)
        if problems:
            sys.exit("\n".join(problems))
        print(f"{args.tag}: all 8 distributions are at {args.tag[1:]} with their release notes")


if __name__ == "__main__":
    main()
