"""Synthesis: conflict-free, deterministic, IFEval format, repeat-prompt text right."""

from __future__ import annotations

import random

import pytest

from ifrl.constraints import IFEVAL_IDS, REGISTRY, conflicting, evaluate
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


def test_mixed_synthesis_adds_at_most_one_judged_constraint_without_conflicts() -> None:
    from ifrl.constraints.base import conflicting
    from ifrl.constraints.synth import instruction_texts, synthesize_mixed

    seeds = [f"Describe place number {i}." for i in range(60)]
    soft = ("punctuation:no_comma", "change_case:english_lowercase", "soft:tone")
    items = synthesize_mixed(seeds, (1, 2), 3, soft_types=soft, max_soft=1)
    assert items == synthesize_mixed(seeds, (1, 2), 3, soft_types=soft, max_soft=1)
    with_soft = 0
    for item in items:
        judged = [c for c in item.constraints if c.kind == "soft"]
        hard = [c for c in item.constraints if c.kind == "hard"]
        assert len(judged) <= 1 and 1 <= len(hard) <= 2
        with_soft += bool(judged)
        for j in judged:
            assert j.id in soft
            assert not any(conflicting(j.id, h.id) for h in hard if j.id in REGISTRY)
        # The prompt is the seed and each constraint's instruction, in order.
        texts = instruction_texts(item)
        assert texts is not None and item.text == " ".join([item.meta["seed_prompt"], *texts])
    assert with_soft > 45  # every prompt gets one unless the pool conflicts or repeat_prompt
    none = synthesize_mixed(seeds[:5], 1, 0, soft_types=soft, soft_share=0.0)
    assert all(c.kind == "hard" for i in none for c in i.constraints)


def test_rewrite_prompt_drops_the_instructions_of_dropped_constraints() -> None:
    from ifrl.constraints.synth import rewrite_prompt, synthesize_mixed

    (item,) = synthesize_mixed(["Describe tea."], 2, 1, soft_types=("soft:tone",))
    texts = item.meta["instructions"]
    keep = [i for i, c in enumerate(item.constraints) if c.kind == "hard"]
    out = rewrite_prompt(item, keep)
    assert out is not None
    assert out.text == " ".join(["Describe tea.", *(texts[i] for i in keep)])
    assert all(c.kind == "hard" for c in out.constraints)
    assert len(out.meta["checkers"]) == len(out.meta["instructions"]) == len(keep)
    # A prompt written by hand is left alone.
    assert rewrite_prompt(item.replace(prompt="Something else."), keep) is None
