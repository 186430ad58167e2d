"""Synthesis: conflict-free, deterministic, IFEval format, repeat-prompt text right."""

from __future__ import annotations

import random

import pytest

from ifrl.constraints import IFEVAL_IDS, conflicting, evaluate
from ifrl.constraints.synth import synthesize


def test_constraints_are_conflict_free_and_counts_in_range() -> None:
    seeds = [f"Write about topic number {i}." for i in range(200)]
    recs = synthesize(seeds, (1, 4), random.Random(0), types=IFEVAL_IDS)
    counts = set()
    for rec in recs:
        ids = [c.id for c in rec.constraints]
        counts.add(len(ids))
        assert len(set(ids)) == len(ids)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                assert not conflicting(a, b), (a, b)
        words = {
            w for c in rec.constraints if c.id == "keywords:existence" for w in c.kwargs["keywords"]
        }
        banned = {
            w
            for c in rec.constraints
            if c.id == "keywords:forbidden_words"
            for w in c.kwargs["forbidden_words"]
        }
        assert not words & banned
    assert counts == {1, 2, 3, 4}
    assert {c.id for rec in recs for c in rec.constraints} == set(IFEVAL_IDS)


def test_same_seed_same_prompts() -> None:
    a = [r.to_dict() for r in synthesize(["Hi."] * 20, 2, 7)]  # every registered type
    b = [r.to_dict() for r in synthesize(["Hi."] * 20, 2, random.Random(7))]
    assert a == b
    assert a != [r.to_dict() for r in synthesize(["Hi."] * 20, 2, 8)]


def test_repeat_prompt_asks_to_repeat_what_precedes_it() -> None:
    rec = next(
        r
        for r in synthesize(["Explain tides."] * 50, 3, 1, types=IFEVAL_IDS)
        if "combination:repeat_prompt" in [c.id for c in r.constraints]
    )
    spec = next(c for c in rec.constraints if c.id == "combination:repeat_prompt")
    assert rec.constraints[-1] is spec
    assert rec.text.startswith(spec.kwargs["prompt_to_repeat"])
    response = spec.kwargs["prompt_to_repeat"] + " Tides come from the moon."
    ev = evaluate(response, [c.id for c in rec.constraints], [c.kwargs for c in rec.constraints])
    assert ev.strict[-1] is True


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_constraints"):
        synthesize(["x"], (3, 1))
    with pytest.raises(KeyError, match="did you mean"):
        synthesize(["x"], 1, 0, types=["punctuation:no_coma"])
