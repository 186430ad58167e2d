"""Synthesis over the IFBench types: conflict-free, exclusive tasks alone, every id drawable."""

from __future__ import annotations

import random

from ifrl.constraints import build, conflicting, evaluate
from ifrl.constraints.ifbench import IFBENCH_IDS
from ifrl.constraints.ifbench._common import EXCLUSIVE
from ifrl.constraints.synth import synthesize


def test_synthesized_ifbench_prompts_are_conflict_free_and_verifiable() -> None:
    seeds = [f"Write about topic number {i}." for i in range(300)]
    recs = synthesize(seeds, (1, 3), random.Random(0), types=IFBENCH_IDS)
    drawn = set()
    for rec in recs:
        ids = [c.id for c in rec.constraints]
        drawn |= set(ids)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                assert not conflicting(a, b), (a, b)
        if set(ids) & EXCLUSIVE:
            assert len(ids) == 1, ids
        for c in rec.constraints:
            build(c.id, c.kwargs)
        ev = evaluate(rec.text, ids, [c.kwargs for c in rec.constraints])
        assert len(ev.strict) == len(ids)
    assert drawn == set(IFBENCH_IDS)


def test_exclusive_types_conflict_with_ifeval_types_too() -> None:
    assert conflicting("custom:multiples", "punctuation:no_comma")
    assert conflicting("punctuation:no_comma", "repeat:repeat_simple")
    assert not conflicting("count:numbers", "punctuation:no_comma")
