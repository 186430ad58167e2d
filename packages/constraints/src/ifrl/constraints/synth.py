"""Synthesis of instruction-following training prompts: hard constraints, and mixed prompts with
at most a few judged ones.

:func:`synthesize` attaches 1..k conflict-free constraints to each seed prompt: types are drawn
at random, kwargs from each type's schema (``sample_kwargs``), instruction text from its
``describe`` phrasings. Each comes out as a :class:`~ifrl.core.records.ConstrainedPrompt`
whose ``meta`` keeps the VerIF-style ``checkers`` (``"[rule] <instruction text>"``, the text
appended for each constraint) and the ``seed_prompt``; written as IFEval rows
(:func:`ifrl.constraints.codec.write_prompts`), the verifiers, the rewards and IFEval tooling
read them unchanged.

:func:`synthesize_mixed` adds up to ``max_soft`` judged constraints per prompt ("Precision over
Diversity"'s mixed data): a soft type (``soft:tone``, ...) or a verifiable type marked
``kind="soft"`` (judged in training, verified in evaluation: how judge experiments know the
truth). Its ``meta["instructions"]`` keeps each constraint's own instruction text, so
:func:`rewrite_prompt` can write the prompt again without the constraints refinement drops: a
prompt never asks for what is no longer rewarded.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from ifrl.constraints.base import REGISTRY, Constraint, conflicting
from ifrl.constraints.codec import checker_text
from ifrl.constraints.ifbench import IFBENCH_IDS
from ifrl.constraints.ifevalg import IFEVALG_IDS
from ifrl.constraints.soft import SOFT_CONSTRAINTS
from ifrl.core.records import ConstrainedPrompt, ConstraintSpec

_REPEAT = "combination:repeat_prompt"
_MAX_TRIES = 20


def _pool(types: Iterable[str] | None) -> list[str]:
    if types is None:
        # IFBench's types are an out-of-distribution test set: training prompts drawn from them
        # would leak into it, so they are only used when asked for by name. IFEvalG's are
        # there to read open-instruct's data; they are drawn when named too.
        held_out = set(IFBENCH_IDS) | set(IFEVALG_IDS)
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


def _soft_pool(types: Iterable[str]) -> list[str]:
    ids = list(types)
    for cid in ids:
        if cid not in SOFT_CONSTRAINTS and cid not in REGISTRY:
            REGISTRY.get(cid)  # unknown: fails with suggestions
    return ids


def _draw_soft(
    rng: random.Random, pool: Sequence[str], taken: Sequence[str], request: str
) -> tuple[ConstraintSpec, str] | None:
    """One judged constraint from ``pool`` that conflicts with none of ``taken``, and its text."""
    for cid in rng.sample(list(pool), len(pool)):
        if cid in SOFT_CONSTRAINTS:
            soft = SOFT_CONSTRAINTS.get(cid)
            if not soft.samplable or any(t == cid or t in soft.conflicts for t in taken):
                continue
            kwargs = soft.sample_kwargs(rng)
            return ConstraintSpec(cid, kwargs, "soft"), soft.describe(kwargs, rng)
        if any(conflicting(cid, t) for t in taken):
            continue
        ctype: type[Constraint] = REGISTRY.get(cid)
        kwargs = ctype.sample_kwargs(rng, prompt=request)
        text = ctype.describe(kwargs, rng)
        return ConstraintSpec(cid, ctype(kwargs).kwargs, "soft"), text
    return None


def synthesize_mixed(
    seed_prompts: Iterable[str],
    n_hard: int | tuple[int, int] = (1, 2),
    rng: random.Random | int | None = None,
    *,
    hard_types: Iterable[str] | None = None,
    soft_types: Iterable[str] = ("soft:tone", "soft:style", "soft:audience"),
    max_soft: int = 1,
    soft_share: float = 1.0,
    start_key: int = 0,
) -> list[ConstrainedPrompt]:
    """Hard-constraint prompts (as :func:`synthesize`) with up to ``max_soft`` judged
    constraints each, on a share ``soft_share`` of the prompts.

    ``soft_types`` are soft types (``soft:*``) or registered verifiable types, both given
    ``kind="soft"``; none conflicts with the prompt's hard constraints. ``meta`` holds
    ``checkers`` (``[rule]`` / ``[llm]`` + the text), ``instructions`` (each constraint's
    text, parallel to the constraints) and ``seed_prompt``.
    """
    lo, hi = (n_hard, n_hard) if isinstance(n_hard, int) else n_hard
    if lo < 1 or hi < lo:
        raise ValueError(f"n_hard must be >= 1 and low <= high, got {n_hard!r}")
    if max_soft < 0:
        raise ValueError(f"max_soft must be >= 0, got {max_soft}")
    if not 0.0 <= soft_share <= 1.0:
        raise ValueError(f"soft_share must lie in [0, 1], got {soft_share}")
    r = rng if isinstance(rng, random.Random) else random.Random(rng)
    pool = _pool(hard_types)
    soft_pool = _soft_pool(soft_types)
    out = []
    for i, seed in enumerate(seed_prompts):
        item = synthesize_one(seed, r.randint(lo, hi), r, key=start_key + i, types=pool)
        seed_text = str(item.meta["seed_prompt"])
        texts = [str(c).split("] ", 1)[1] for c in item.meta["checkers"]]
        specs = list(item.constraints)
        repeats = any(s.id == _REPEAT for s in specs)  # its copy must stay what precedes it
        if soft_pool and r.random() < soft_share and not repeats:
            for _ in range(max_soft):
                drawn = _draw_soft(
                    r, soft_pool, [s.id for s in specs], " ".join([seed_text, *texts])
                )
                if drawn is None:
                    break
                specs.append(drawn[0])
                texts.append(drawn[1])
        checkers = [checker_text(s, lambda _, t=t: t) for s, t in zip(specs, texts)]  # type: ignore[misc]
        meta = {"checkers": checkers, "instructions": texts, "seed_prompt": seed_text}
        out.append(
            ConstrainedPrompt(item.id, " ".join([seed_text, *texts]), tuple(specs), None, meta)
        )
    return out


def instruction_texts(item: ConstrainedPrompt) -> list[str] | None:
    """The instruction text of each constraint of a synthesized prompt (``meta["instructions"]``,
    else the text of its ``checkers``), or None when the prompt was not composed as synthesis
    composes it (seed prompt + the texts, space-separated)."""
    seed = item.meta.get("seed_prompt")
    texts = item.meta.get("instructions")
    if texts is None:
        checkers = item.meta.get("checkers")
        if isinstance(checkers, list) and all(isinstance(c, str) and "] " in c for c in checkers):
            texts = [c.split("] ", 1)[1] for c in checkers]
    if not isinstance(seed, str) or not isinstance(texts, list):
        return None
    if len(texts) != len(item.constraints) or not all(isinstance(t, str) for t in texts):
        return None
    if not isinstance(item.prompt, str) or item.prompt != " ".join([seed, *texts]):
        return None
    return list(texts)


def rewrite_prompt(item: ConstrainedPrompt, keep: Sequence[int]) -> ConstrainedPrompt | None:
    """``item`` with only the constraints at positions ``keep``, its prompt text written again
    from the seed prompt and their instructions (``meta`` lists filtered alike); None when the
    prompt was not composed by synthesis (:func:`instruction_texts`)."""
    texts = instruction_texts(item)
    if texts is None:
        return None
    kept_texts = [texts[i] for i in keep]
    meta = dict(item.meta)
    for name in ("checkers", "instructions"):
        value = meta.get(name)
        if isinstance(value, list) and len(value) == len(item.constraints):
            meta[name] = [value[i] for i in keep]
    prompt = " ".join([str(item.meta["seed_prompt"]), *kept_texts])
    return item.replace(
        prompt=prompt, constraints=tuple(item.constraints[i] for i in keep), meta=meta
    )
