#!/usr/bin/env python3
"""Publish a finished demo run as the project's documented results.

    .venv/bin/ifrl demo --run-dir runs/demo-docs          # a full run (or --quick)
    .venv/bin/python scripts/publish_demo.py runs/demo-docs

writes docs/demo-results.json and docs/demo-report.png and rewrites the results block of
README.md and packages/pipelines/README.md from them (tests/integration/test_readme_figures.py
fails when a README figure differs from docs/demo-results.json).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ifrl.pipelines.demo.publish import publish

ROOT = Path(__file__).resolve().parent.parent
READMES = (ROOT / "README.md", ROOT / "packages/pipelines/README.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("run_dir", type=Path, help="a finished `ifrl demo` run directory")
    args = parser.parse_args()
    results = publish(args.run_dir, ROOT / "docs", READMES)
    for h in results["headlines"]:
        print(h["text"])
    print(f"wrote {ROOT / 'docs/demo-results.json'}, docs/demo-report.png and the README blocks")


if __name__ == "__main__":
    main()
