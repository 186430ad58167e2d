"""Conformance with allenai/IFBench's own verdicts (``evaluation_lib`` at commit db69a6f).

Reads ``../shared/data/ifbench/dev_verdicts.jsonl`` (skips when absent): 1,728 responses paired
with the instructions and kwargs of the 300 IFBench test rows, each with the reference's strict
and loose verdicts. Every verdict of every type must agree in the default (reference)
semantics. A verdict left different would be listed in :data:`KNOWN_DIFFERENCES` with its
reason (and in the package README); the test pins that list, so a new disagreement fails and
so does a listed one that no longer differs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from ifrl_testdata import shared_data

from ifrl.constraints import IFBENCH_IDS, evaluate

# (key, instruction id, "strict" | "loose") -> why our verdict differs from the reference's.
KNOWN_DIFFERENCES: dict[tuple[str, str, str], str] = {}

# Not in the file: the reference needs NLTK's part-of-speech tagger and stop-word corpus,
# which cannot be installed offline (the README says how ours decides them).
NOT_IN_FILE = {"words:start_verb", "ratio:stop_words"}

Verdicts = dict[str, list[tuple[str, str, bool, bool]]]


@pytest.fixture(scope="module")
def by_type() -> Verdicts:
    """Per type: (key, mode, ours, reference) for every verdict of the file."""
    path = shared_data("ifbench", "dev_verdicts.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) == 1728
    out: Verdicts = defaultdict(list)
    for r in rows:
        ev = evaluate(r["response"], r["instruction_id_list"], r["kwargs"])
        for i, cid in enumerate(r["instruction_id_list"]):
            out[cid].append((r["key"], "strict", ev.strict[i], r["strict"][i]))
            out[cid].append((r["key"], "loose", ev.loose[i], r["loose"][i]))
    return out


def test_the_file_covers_every_type_the_reference_can_run(by_type: Verdicts) -> None:
    assert set(by_type) == set(IFBENCH_IDS) - NOT_IN_FILE
    assert sum(len(v) for v in by_type.values()) == 3912


@pytest.mark.parametrize("cid", sorted(set(IFBENCH_IDS) - NOT_IN_FILE))
def test_verdicts_agree_with_the_reference(by_type: Verdicts, cid: str) -> None:
    differ = {(key, cid, mode) for key, mode, ours, ref in by_type[cid] if ours != ref}
    known = {k for k in KNOWN_DIFFERENCES if k[1] == cid}
    assert differ == known, f"{len(differ)} of {len(by_type[cid])} verdicts differ"


def test_agreement_per_family_is_what_the_readme_states(by_type: Verdicts) -> None:
    agree: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for cid, verdicts in by_type.items():
        family = agree[cid.split(":")[0]]
        family[0] += sum(ours == ref for _, _, ours, ref in verdicts)
        family[1] += len(verdicts)
    totals: dict[str, Any] = {f: tuple(v) for f, v in sorted(agree.items())}
    assert totals == {
        "count": (780, 780),
        "custom": (132, 132),
        "format": (1176, 1176),
        "ratio": (384, 384),
        "repeat": (108, 108),
        "sentence": (336, 336),
        "words": (996, 996),
    }
