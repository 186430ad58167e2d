"""Synthesis of instruction-following training prompts with hard constraints.

:func:`synthesize` attaches 1..k conflict-free constraints to each seed prompt: types are drawn
at random, kwargs from each type's schema (``sample_kwargs``), instruction text from its
``describe`` phrasings. Each comes out as a :class:`~ifrl.core.records.ConstrainedPrompt`
whose ``meta`` keeps the VerIF-style ``checkers`` (``"[rule] <instruction text>"``, the text
appended for each constraint) and the ``seed_prompt``; written as IFEval rows
(:func:`ifrl.constraints.codec.write_prompts`), the verifiers, the rewards and IFEval tooling
read them unchanged.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from ifrl.constraints.base import REGISTRY, Constraint, conflicting
from ifrl.constraints.codec import checker_text
from ifrl.constraints.ifbench import IFBENCH_IDS
from ifrl.core.records import ConstrainedPrompt, ConstraintSpec

_REPEAT = "combination:repeat_prompt"
_MAX_TRIES = 20


def _pool(types: Iterable[str] | None) -> list[str]:
    if types is None:
        # IFBench's types are an out-of-distribution test set: training prompts drawn from them
        # would leak into it, so they are only used when asked for by name.
        held_out = set(IFBENCH_IDS)
        ids = [cid for cid in REGISTRY.names() if cid not in held_out]
    else:
        ids = list(types)
    for cid in ids:
        REGISTRY.get(cid)  # unknown ids fail here, with suggestions
    return [cid for cid in ids if REGISTRY.get(cid).kind == "hard"]


def _required_words(spec: ConstraintSpec) -> set[str]:
    kw = spec.kwargs
    if spec.id == "keywords:existence":
        return {w.lower() for w in kw["keywords"]}
    if spec.id == "keywords:frequency" and kw["relation"] == "at least":
        return {kw["keyword"].lower()}
    if spec.id == "length_constraints:nth_paragraph_first_word":
        return {kw["first_word"].lower()}
    return set()


def _clash(specs: Sequence[ConstraintSpec]) -> bool:
    """Kwargs that cannot hold together (a required word that is also forbidden)."""
    required: set[str] = set()
    forbidden: set[str] = set()
    for s in specs:
        required |= _required_words(s)
        if s.id == "keywords:forbidden_words":
            forbidden |= {w.lower() for w in s.kwargs["forbidden_words"]}
    return bool(required & forbidden)


def _checker(spec: ConstraintSpec, text: str) -> str:
    """The VerIF checker of a synthesized constraint: the instruction text the prompt got."""
    return checker_text(spec, lambda _: text)


def pick_types(rng: random.Random, pool: Sequence[str], k: int) -> list[str]:
    """Up to ``k`` ids from ``pool`` without two that conflict (random order)."""
    chosen: list[str] = []
    for cid in rng.sample(list(pool), len(pool)):
        if len(chosen) == k:
            break
        if not any(conflicting(cid, other) for other in chosen):
            chosen.append(cid)
    return chosen


def synthesize_one(
    seed_prompt: str,
    k: int,
    rng: random.Random,
    *,
    key: int = 0,
    types: Iterable[str] | None = None,
) -> ConstrainedPrompt:
    """``seed_prompt`` with ``k`` conflict-free constraints (fewer if the pool runs out), as
    prompt ``key``; ``meta`` holds the ``checkers`` and the ``seed_prompt``."""
    pool = _pool(types)
    seed = seed_prompt.strip()
    for _ in range(_MAX_TRIES):
        ids = pick_types(rng, pool, k)
        ids.sort(key=lambda cid: cid == _REPEAT)  # the repetition instruction goes last
        specs: list[ConstraintSpec] = []
        texts: list[str] = []
        for cid in ids:
            ctype: type[Constraint] = REGISTRY.get(cid)
            request = " ".join([seed, *texts])
            kwargs = ctype.sample_kwargs(rng, prompt=request)
            texts.append(ctype.describe(kwargs, rng))
            specs.append(ConstraintSpec(cid, ctype(kwargs).kwargs, "hard"))
        if not _clash(specs):
            checkers = [_checker(s, t) for s, t in zip(specs, texts)]
            meta = {"checkers": checkers, "seed_prompt": seed}
            return ConstrainedPrompt(str(key), " ".join([seed, *texts]), tuple(specs), None, meta)
    raise RuntimeError(f"could not draw compatible kwargs for {seed_prompt[:40]!r}")


def synthesize(
    seed_prompts: Iterable[str],
    n_constraints: int | tuple[int, int] = (1, 3),
    rng: random.Random | int | None = None,
    *,
    types: Iterable[str] | None = None,
    start_key: int = 0,
) -> list[ConstrainedPrompt]:
    """One constrained prompt per seed prompt (ids ``start_key``, ``start_key + 1``, ...).

    ``n_constraints`` is a count or an inclusive ``(low, high)`` range drawn per prompt;
    ``rng`` a ``random.Random`` or a seed (same seed, same output); ``types`` restricts the
    constraint ids drawn from (default: every registered hard type except IFBench's, which are
    held out as an out-of-distribution test set; name them in ``types`` to draw from them).
    """
    lo, hi = (n_constraints, n_constraints) if isinstance(n_constraints, int) else n_constraints
    if lo < 1 or hi < lo:
        raise ValueError(f"n_constraints must be >= 1 and low <= high, got {n_constraints!r}")
    r = rng if isinstance(rng, random.Random) else random.Random(rng)
    pool = _pool(types)
    out = []
    for i, seed in enumerate(seed_prompts):
        out.append(synthesize_one(seed, r.randint(lo, hi), r, key=start_key + i, types=pool))
    return out
