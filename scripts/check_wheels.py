#!/usr/bin/env python3
"""Build the 8 wheels once and test each member from its wheel (README, "Release policy").

    python3 scripts/check_wheels.py [--out dist] [--no-build | --build-only] [--sdist]
                                    [--mark EXPR] [MEMBER ...]

1. Build the wheels of the 7 members and the umbrella into ``--out`` and `twine check --strict`
   them (``--sdist``: the sdists too; ``--no-build``: the wheels are already there, e.g. the
   artefact of a build job; ``--build-only``: stop here).
2. For each MEMBER (default: all 7), a clean venv gets its wheel with the extras its tests use,
   the wheels of the siblings it pins (exactly, lockstep) and pytest, then runs ``tests/MEMBER``
   against the installed wheel, not the source tree. torch (the pinned build, installed first so
   a bare requirement never pulls another) goes only into venvs whose requirements name it; the
   others must end without torch: that is how `ifrl-constraints` proves it needs none.
3. The umbrella wheel joins the pipelines venv (which holds every member): `ifrl --help` works and
   `ifrl version` lists all 8 distributions.

Standard library only (Python >= 3.11); build and twine come from ``--python`` (the dev venv).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = ("core", "constraints", "toolgen", "prm", "rltrain", "evals", "pipelines")
TORCH = "torch==2.13.0"  # scripts/setup.sh installs the same build
# The extras each member's tests run with, and test data installed without dependencies.
TEST_EXTRAS = {
    "core": "hf,datasets",
    "constraints": "plots",
    "toolgen": "hf",
    "prm": "lora",
    "rltrain": "qlora",
    "evals": "hf",
    "pipelines": "",
}
TEST_DATA = {"evals": ["bfcl-eval==2026.3.23"]}  # BFCL's data files (never imported)
TEST_TOOLS = ["pytest", "hypothesis"]
REQUIREMENT = re.compile(r"([A-Za-z0-9._-]+)\s*(?:\[([^\]]*)\])?\s*\(?([^;)]*)\)?\s*(?:;(.*))?")
EXTRA_MARKER = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


def canonical(name: str) -> str:
    """A distribution name in its normalised form (PEP 503): ``PyYAML`` -> ``pyyaml``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def run(*cmd: str | Path, cwd: Path = ROOT) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=cwd, check=True)


def build(out: Path, python: str, sdist: bool) -> None:
    """The 8 wheels (and sdists) into ``out`` (emptied first), checked by `twine check --strict`."""
    shutil.rmtree(out, ignore_errors=True)
    for folder in [*(ROOT / "packages" / m for m in MEMBERS), ROOT]:
        run(python, "-m", "build", "-q", *([] if sdist else ["--wheel"]), "--outdir", out, folder)
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 8:
        sys.exit(f"expected 8 wheels in {out}, found {[w.name for w in wheels]}")
    run(python, "-m", "twine", "check", "--strict", *sorted(out.iterdir()))


class Wheels:
    """The wheels in one folder, by canonical distribution name."""

    def __init__(self, folder: Path) -> None:
        self.paths: dict[str, Path] = {}
        self.metadata: dict[str, Message] = {}
        for path in folder.glob("*.whl"):
            with zipfile.ZipFile(path) as archive:
                name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
                meta = Parser().parsestr(archive.read(name).decode("utf-8"))
            self.paths[canonical(meta["Name"])] = path
            self.metadata[canonical(meta["Name"])] = meta

    def closure(self, dist: str, extras: set[str]) -> tuple[dict[str, set[str]], set[str]]:
        """The sibling wheels installing ``dist[extras]`` takes (each with the extras asked of
        it) and the third-party distributions it requires, following each active requirement."""
        taken: dict[str, set[str]] = {}
        third_party: set[str] = set()
        todo = [(dist, extras)]
        while todo:
            name, asked = todo.pop()
            if name in taken and asked <= taken[name]:
                continue
            taken[name] = active = taken.get(name, set()) | asked
            meta = self.metadata[name]
            for line in meta.get_all("Requires-Dist") or []:
                parsed = REQUIREMENT.fullmatch(line.strip())
                if parsed is None:
                    sys.exit(f"{self.paths[name].name}: cannot read Requires-Dist {line!r}")
                req, req_extras, spec, marker = parsed.groups()
                extra = EXTRA_MARKER.search(marker or "")
                if extra and extra[1] not in active:
                    continue
                if canonical(req) not in self.metadata:
                    third_party.add(canonical(req))
                elif spec.strip() != f"=={meta['Version']}":
                    sys.exit(f"{self.paths[name].name}: {line}: siblings are pinned exactly")
                else:
                    wanted = {e.strip() for e in (req_extras or "").split(",") if e.strip()}
                    todo.append((canonical(req), wanted))
        return taken, third_party


def test_member(member: str, wheels: Wheels, venvs: Path, mark: str | None) -> Path:
    """Test ``member`` from its wheel in a clean venv; returns the venv."""
    project = tomllib.loads((ROOT / "packages" / member / "pyproject.toml").read_text("utf-8"))
    dist = canonical(project["project"]["name"])
    extras = {e for e in TEST_EXTRAS[member].split(",") if e}
    siblings, third_party = wheels.closure(dist, extras)
    venv = venvs / member
    shutil.rmtree(venv, ignore_errors=True)
    run(sys.executable, "-m", "venv", venv)
    pip: list[str | Path] = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-compile"]
    if "torch" in third_party:
        run(*pip, TORCH)
    # Each wheel plain and with its extras: pip (23.2) lets `core.whl[hf]` answer the
    # requirement `ifrl-core[hf]==X` but not a plain `ifrl-core==X` beside it.
    specs = [str(wheels.paths[n]) for n in siblings]
    specs += [f"{wheels.paths[n]}[{','.join(sorted(e))}]" for n, e in siblings.items() if e]
    run(*pip, "-c", ROOT / ".ci" / "constraints.txt", *specs, *TEST_TOOLS)
    if TEST_DATA.get(member):
        run(*pip, "--no-deps", *TEST_DATA[member])
    python = venv / "bin" / "python"
    where = f"import ifrl.{member} as p; print(p.__file__); assert '/site-packages/' in p.__file__"
    run(python, "-c", where)  # the tests below import the wheel, not packages/*/src
    if "torch" not in third_party:
        run(python, "-c", "import importlib.util as u; assert not u.find_spec('torch'), 'torch'")
        print(f"{dist}: installed and imported without torch", flush=True)
    # -m replaces the -m of the pytest settings: keep their "not vllm and not gpu".
    select = "not vllm and not gpu" + (f" and ({mark})" if mark else "")
    run(python, "-m", "pytest", "-q", "-m", select, f"tests/{member}")
    return venv


def check_umbrella(wheels: Wheels, venv: Path) -> None:
    """Install the umbrella beside every member and list the versions."""
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheels.paths["ifrl-prm"])
    run(venv / "bin" / "ifrl", "--help")
    listed = subprocess.run(
        [venv / "bin" / "ifrl", "version"], check=True, capture_output=True, text=True
    ).stdout
    print(listed)
    missing = [d for d in wheels.paths if not re.search(rf"^{d} ", listed, re.M)]
    if missing:
        sys.exit(f"`ifrl version` does not list {missing}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("members", nargs="*", metavar="MEMBER", help=f"of {', '.join(MEMBERS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="the wheel folder")
    parser.add_argument("--no-build", action="store_true", help="test the wheels in --out")
    parser.add_argument("--build-only", action="store_true", help="build and check, test none")
    parser.add_argument("--sdist", action="store_true", help="build the sdists too")
    parser.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--venvs", type=Path, default=ROOT / ".venv-wheels")
    parser.add_argument("--mark", help="pytest -m expression for the member tests")
    args = parser.parse_args()
    unknown = sorted(set(args.members) - set(MEMBERS))
    if unknown:
        parser.error(f"unknown members {unknown}: choose from {', '.join(MEMBERS)}")
    start = time.monotonic()
    if not args.no_build:
        build(args.out.resolve(), args.python, args.sdist)
    wheels = Wheels(args.out.resolve())
    shutil.rmtree(args.venvs, ignore_errors=True)
    failed = []
    for member in [] if args.build_only else args.members or MEMBERS:
        began = time.monotonic()
        try:
            venv = test_member(member, wheels, args.venvs.resolve(), args.mark)
            if member == "pipelines":
                check_umbrella(wheels, venv)
        except subprocess.CalledProcessError as err:
            failed.append(member)
            print(f"=== {member} from its wheel: FAILED (the last command exited {err.returncode})")
        else:
            shutil.rmtree(venv)  # ~1 GB each with torch; a failed member's venv stays to debug
            print(f"=== {member} from its wheel: ok in {time.monotonic() - began:.0f}s", flush=True)
    if failed:
        sys.exit(f"wheel checks failed for {', '.join(failed)}")
    print(f"wheels ok in {time.monotonic() - start:.0f}s")


if __name__ == "__main__":
    main()
