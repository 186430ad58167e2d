"""One iTool iteration (arXiv 2501.09766) as functions: deficiency → MCTS pairs → preference training.

The caller owns the run directory, the order of the steps and resuming (``ifrl pipeline run
itool``); these functions take samples (:class:`~ifrl.rltrain.deficiency.ToolSample`), a
generator, paths and an :class:`IterationConfig`, and return records and summaries:

* :func:`select_deficient` — the samples the policy still gets wrong (the hardest fraction by
  gold perplexity, or those with wrong sampled answers);
* :func:`search_pairs` — MCTS over response fragments (one node per tool-call argument) →
  step-level preference pairs whose chosen side is correct (a sampled exact call, or the gold
  continuation of the shared prefix) and the generation :class:`~ifrl.core.records.Cost`;
* :func:`baseline_pairs` — best-vs-worst of N at the same number of model calls, for comparison;
* :func:`pair_summary` — the share of pairs whose chosen side is an exact call (checked with the
  matcher against the gold calls, whatever the pair rule);
* :func:`train_preferences` — SimPO (or DPO/IPO), by default with LoRA merged after;
* :func:`summary_row` — one row of the per-iteration summary.

The generator may be any :class:`~ifrl.core.generation.Generator`; :class:`~ifrl.rltrain.
rollouts.PolicyRollouts` gives one per model of the run (transformers, or one vLLM engine that
receives each new model's weights).

Sampling seeds derive from ``config.seed``, the iteration and the batch of samples, so the same
inputs give the same pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, opt
from ifrl.core.generation import Generator
from ifrl.core.matcher import match_text
from ifrl.core.records import Cost, PreferencePair
from ifrl.rltrain.deficiency import (
    ToolSample,
    gold_perplexities,
    select_by_sampling,
    select_hardest,
)
from ifrl.rltrain.dpo import DPOConfig, DPOTrainer
from ifrl.rltrain.fragments import DEFAULT_MARKERS
from ifrl.rltrain.mcts import MCTSConfig, SearchTree, derive_seed, search
from ifrl.rltrain.pairs import PairConfig, best_vs_worst, collect_pairs, equal_budget_n
from ifrl.rltrain.trainconfig import TrainConfig

SELECTORS = ("perplexity", "sampling")
PREFERENCE_LOSSES = ("simpo", "sigmoid", "ipo")


@dataclass
class IterationConfig(TrainConfig):
    """Settings of one iTool iteration: deficiency selection, MCTS, pair filters, and the
    preference stage (the :class:`~ifrl.rltrain.trainconfig.TrainConfig` fields: learning
    rate, batch size, LoRA, ``max_steps`` ...; ``model``, ``data`` and ``output_dir`` are
    given to :func:`train_preferences`)."""

    learning_rate: float = opt("Peak learning rate of the preference stage.", 1e-5)
    max_steps: int = opt("Optimizer steps of the preference stage per iteration.", 100, minimum=1)
    use_lora: bool = opt("Train the preference stage with LoRA adapters (merged after).", True)
    max_length: int = opt("Token limit of preference pairs (and of warm-up SFT rows).", 1024)
    deficiency: str = opt(
        "Deficiency selector: perplexity (hardest fraction) or sampling.",
        "perplexity",
        choices=SELECTORS,
    )
    deficiency_fraction: float = opt("Fraction kept by the perplexity selector.", 0.3)
    deficiency_k: int = opt("Samples per prompt for the sampling selector.", 4)
    mcts_iterations: int = opt("MCTS iterations per sample.", 5)
    mcts_actions: int = opt("Continuations sampled per expansion.", 3)
    mcts_temperature: float = opt("Sampling temperature of expansions.", 1.5)
    mcts_max_new_tokens: int = opt("Token budget of an expansion (which is also its rollout).", 128)
    mcts_node_split: str = opt(
        "Node fragments: arguments (a tool call's head, then one per argument) or punctuation "
        "(at every split marker, the paper's; with mcts_fragments_per_node 2, mcts_max_depth 3).",
        "arguments",
    )
    mcts_fragments_per_node: int = opt("Fragments a node holds.", 1)
    mcts_max_depth: int = opt("Depth cap of the tree.", 10)
    mcts_split_markers: tuple[str, ...] = opt("Fragment split markers.", DEFAULT_MARKERS)
    mcts_exploration_weight: float = opt("Weight w of the prior term in selection.", 1.0)
    pair_min_gap: float = opt(
        "Minimum value gap between chosen and rejected (a gap must be positive; the paper: 0.1).",
        0.0,
    )
    pair_min_chosen: float = opt("Minimum value of the chosen side.", 0.0)
    pair_duplicate_ratio: float = opt(
        "Similarity ratio at which two sides count as near-duplicates (without pair_localize).",
        0.98,
    )
    pair_chosen: str = opt(
        "Chosen side: correct (an exact call, or the gold continuation) or best (the "
        "highest-valued child, the paper's rule).",
        "correct",
    )
    pair_gold_fallback: bool = opt(
        "Where no sampled continuation is exact, choose the gold continuation of the prefix.", True
    )
    pair_localize: bool = opt(
        "Keep an MCTS pair only when rejected first differs from chosen in its own fragment.", True
    )
    loss_type: str = opt(
        "Preference loss: simpo (iTool), sigmoid (DPO) or ipo.", "simpo", choices=PREFERENCE_LOSSES
    )
    beta: float = opt("SimPO/DPO beta.", 2.5)
    gamma: float = opt("SimPO target margin.", 0.5)

    def validate(self) -> None:
        super().validate()
        if not 0.0 < self.deficiency_fraction <= 1.0:
            raise ConfigError("", "deficiency_fraction", "must lie in (0, 1]")
        try:
            self.mcts_config(0)
        except ConfigError as err:  # name the flat key: iterations -> mcts_iterations
            field = {"num_actions": "actions"}.get(err.field, err.field)
            raise ConfigError("", f"mcts_{field}", err.problem) from None
        try:
            self.pair_config()
        except ConfigError as err:
            raise ConfigError("", f"pair_{err.field}", err.problem) from None

    def _prefixed(self, prefix: str, target: type) -> dict[str, Any]:
        """The ``prefix``ed fields that configure ``target``, by their name there
        (``mcts_actions`` sets MCTS's ``num_actions``)."""
        wanted = {f.name for f in fields(target)}
        out: dict[str, Any] = {}
        for f in fields(self):
            name = f.name.removeprefix(prefix)
            name = "num_actions" if name == "actions" else name
            if f.name.startswith(prefix) and name in wanted:
                out[name] = getattr(self, f.name)
        return out

    def mcts_config(self, seed: int) -> MCTSConfig:
        """The search settings (the ``mcts_`` fields), with ``seed``."""
        return MCTSConfig(**self._prefixed("mcts_", MCTSConfig), seed=seed)

    def pair_config(self) -> PairConfig:
        """The pair rule and filters (the ``pair_`` fields)."""
        return PairConfig(**self._prefixed("pair_", PairConfig))

    def dpo_config(self, model: str, data: str, output_dir: str) -> DPOConfig:
        """The preference stage's trainer config (resumable, LoRA merged into ``final``)."""
        return self.derive(
            DPOConfig,
            model=model,
            data=data,
            output_dir=output_dir,
            merge_lora=True,
            resume=True,
            loss_type=self.loss_type,
            beta=self.beta,
            gamma=self.gamma,
            max_length=self.max_length,
        )


def select_deficient(
    samples: Sequence[ToolSample],
    generator: Generator | None,
    config: IterationConfig,
    iteration: int,
    *,
    scorer: tuple[Any, Any] | None = None,
) -> tuple[list[ToolSample], dict[str, Any]]:
    """The deficient samples (input order) and what the selection measured.

    ``perplexity`` reads logits: it scores the gold responses with ``scorer`` (a transformers
    model and its tokenizer), by default the generator's ``model`` and ``tokenizer`` (an
    :class:`~ifrl.core.backends.hf.HFGenerator`; a vLLM engine returns no full logits, see
    :meth:`~ifrl.rltrain.rollouts.PolicyRollouts.scorer`); ``sampling`` samples from the
    generator.
    """
    if config.deficiency == "perplexity":
        model, tokenizer = scorer or (
            getattr(generator, "model", None),
            getattr(generator, "tokenizer", None),
        )
        if model is None or tokenizer is None:
            raise TypeError(
                "the perplexity selector needs a scorer (model, tokenizer) or a generator with "
                ".model and .tokenizer"
            )
        ppl = gold_perplexities(model, tokenizer, samples, batch_size=8, progress=config.progress)
        kept = select_hardest(samples, ppl, config.deficiency_fraction)
        by_id = dict(zip((s.id for s in samples), ppl))
        info: dict[str, Any] = {
            "selector": "perplexity",
            "kept": len(kept),
            "mean_perplexity": sum(ppl) / max(1, len(ppl)),
            "mean_kept_perplexity": sum(by_id[s.id] for s in kept) / max(1, len(kept)),
        }
    else:
        if generator is None:
            raise TypeError("the sampling selector needs a generator")
        sel = select_by_sampling(
            samples,
            generator,
            config.deficiency_k,
            temperature=1.0,
            max_new_tokens=config.mcts_max_new_tokens,
            seed=derive_seed(config.seed, iteration, -2),
        )
        kept = sel.kept
        info = {"selector": "sampling", "kept": len(kept), "model_calls": sel.model_calls}
    return kept, {**info, "total": len(samples)}


def search_pairs(
    samples: Sequence[ToolSample],
    generator: Generator,
    config: IterationConfig,
    iteration: int,
    batch: int = 0,
    *,
    progress: bool = False,
) -> tuple[list[PreferencePair], Cost]:
    """MCTS on one batch of samples (rewards: the tool-call matcher against the gold calls;
    each tree's reference is the sample's gold response as the generator writes text, see
    :func:`reference_text`); the step-level pairs, each with ``meta["chosen_exact"]``, and the
    generation cost."""
    tokenizer = getattr(generator, "tokenizer", None)
    trees = [
        SearchTree(
            s.prompt,
            {"gold_calls": list(s.gold_calls)},
            sample_id=s.id,
            reference=reference_text(s, tokenizer),
        )
        for s in samples
    ]
    mcts = config.mcts_config(derive_seed(config.seed, iteration, batch))
    cost = search(trees, generator, mcts, progress=progress)
    return mark_exact(collect_pairs(trees, config.pair_config()), samples), cost


def reference_text(sample: ToolSample, tokenizer: Any = None) -> str:
    """The gold response as a generator returns text: decoded without special tokens (so a
    chat template's end-of-turn token is dropped, as from sampled text) when a tokenizer is
    given; empty for a sample whose gold calls the response does not parse to."""
    text = sample.response
    if tokenizer is not None:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        text = tokenizer.decode(ids, skip_special_tokens=True)
    return text if match_text(text, sample.gold_calls).exact else ""


def mark_exact(
    pairs: Sequence[PreferencePair], samples: Sequence[ToolSample]
) -> list[PreferencePair]:
    """``pairs`` with ``meta["chosen_exact"]``: whether the chosen response (the shared prefix
    plus the chosen side) matches its sample's gold calls exactly (the matcher)."""
    gold = {s.id: s.gold_calls for s in samples}
    out = []
    for p in pairs:
        sid = str(p.meta.get("sample_id"))
        text = str(p.meta.get("prefix", "")) + p.chosen
        exact = sid in gold and match_text(text, gold[sid]).exact
        out.append(
            PreferencePair(p.prompt, p.chosen, p.rejected, {**p.meta, "chosen_exact": exact})
        )
    return out


def pair_summary(pairs: Sequence[PreferencePair]) -> dict[str, float | None]:
    """Shares of pairs whose chosen side is exact (``meta["chosen_exact"]``) and whose chosen
    side is the gold reference rather than a sample (None without pairs)."""
    n = len(pairs)
    if not n:
        return {"chosen_exact_share": None, "reference_chosen_share": None}
    exact = sum(bool(p.meta.get("chosen_exact")) for p in pairs)
    ref = sum(p.meta.get("chosen_source") == "reference" for p in pairs)
    return {"chosen_exact_share": exact / n, "reference_chosen_share": ref / n}


def baseline_pairs(
    samples: Sequence[ToolSample],
    generator: Generator,
    budget: Cost,
    config: IterationConfig,
    iteration: int,
    batch_size: int = 32,
) -> tuple[list[PreferencePair], Cost, int]:
    """Best-vs-worst pairs at the model calls of ``budget`` (an MCTS run on the same samples);
    the pairs, their cost and the samples drawn per prompt. ``batch_size`` bounds the sequences
    sampled per ``generate`` call."""
    n = equal_budget_n(budget, len(samples))
    tokenizer = getattr(generator, "tokenizer", None)
    pairs, cost = best_vs_worst(
        [s.prompt for s in samples],
        generator,
        n,
        columns=[{"gold_calls": list(s.gold_calls)} for s in samples],
        sample_ids=[s.id for s in samples],
        mcts=config.mcts_config(derive_seed(config.seed, iteration, -1)),
        config=config.pair_config(),
        batch_prompts=max(1, batch_size // n),
        references=[reference_text(s, tokenizer) for s in samples],
    )
    return mark_exact(pairs, samples), cost, n


def train_preferences(
    data: str | Path, model: str, output_dir: str | Path, config: IterationConfig
) -> dict[str, Any]:
    """Train ``model`` on the pairs in ``data`` (JSONL) into ``output_dir``; returns the final
    model directory (``model``) and the last metrics. Resumes from checkpoints there."""
    result = DPOTrainer(config.dpo_config(model, str(data), str(output_dir))).train()
    if result.final_model is None:  # pragma: no cover - dpo_config always saves the final model
        raise RuntimeError("the preference stage saved no model")
    return {"model": str(result.final_model), **result.metrics}


def summary_row(
    k: int,
    model: str | None,
    scores: dict[str, Any],
    costs: dict[str, Any],
    trained: dict[str, Any],
    deficient: int | None = None,
) -> dict[str, Any]:
    """One summary row: iteration ``k``'s held-out ``scores``, MCTS / baseline ``costs``
    (``{"mcts": ..., "baseline": ...}`` of :func:`~ifrl.rltrain.pairs.cost_summary`), the
    preference stage's ``trained`` stats and the number of ``deficient`` samples (None where the
    iteration has no deficiency step)."""
    mcts = costs.get("mcts", {})
    base = costs.get("baseline", {})
    return {
        "iteration": k,
        "model": model,
        "tool_call_accuracy": scores.get("tool_call_accuracy"),
        "tool_call_score": scores.get("tool_call_score"),
        "text_accuracy": scores.get("text_accuracy"),
        "deficient": deficient,
        "mcts_pairs": mcts.get("pairs"),
        "mcts_model_calls": mcts.get("model_calls"),
        "mcts_pairs_per_1000_calls": mcts.get("pairs_per_1000_calls"),
        "mcts_tokens_per_pair": mcts.get("tokens_per_pair"),
        "mcts_chosen_exact_share": mcts.get("chosen_exact_share"),
        "baseline_pairs": base.get("pairs"),
        "baseline_model_calls": base.get("model_calls"),
        "baseline_pairs_per_1000_calls": base.get("pairs_per_1000_calls"),
        "baseline_tokens_per_pair": base.get("tokens_per_pair"),
        "baseline_chosen_exact_share": base.get("chosen_exact_share"),
        "train_loss": trained.get("loss"),
        "train_pairs": trained.get("pairs"),
    }
