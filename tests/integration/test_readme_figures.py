"""The figures the READMEs quote are the committed results file's (`docs/demo-results.json`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ifrl.pipelines.demo.publish import current_block, readme_block

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs/demo-results.json"
READMES = ["README.md", "packages/pipelines/README.md"]


@pytest.mark.parametrize("readme", READMES)
def test_readme_figures_are_the_results_files(readme: str) -> None:
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    text = (ROOT / readme).read_text(encoding="utf-8")
    assert current_block(text, readme) == readme_block(results), (
        f"{readme}: its demo figures differ from docs/demo-results.json; rerun "
        "`python scripts/publish_demo.py RUN_DIR` after a demo run"
    )


def test_results_file_figures_carry_source_n_and_interval() -> None:
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    assert results["headlines"] and (ROOT / "docs/demo-report.png").exists()
    for h in results["headlines"]:
        for f in h["figures"]:
            assert f["source"] and f["n"] > 0 and f["low"] <= f["value"] <= f["high"], h["name"]
