"""One iTool iteration (arXiv 2501.09766) as functions: deficiency → MCTS pairs → preference training.

The caller owns the run directory, the order of the steps and resuming (``ifrl pipeline run
itool``); these functions take samples (:class:`~ifrl.rltrain.deficiency.ToolSample`), a
generator, paths and an :class:`IterationConfig`, and return records and summaries:

* :func:`select_deficient` — the samples the policy still gets wrong (the hardest fraction by
  gold perplexity, or those with wrong sampled answers);
* :func:`search_pairs` — MCTS over response fragments → step-level preference pairs and the
  generation :class:`~ifrl.core.records.Cost`;
* :func:`baseline_pairs` — best-vs-worst of N at the same number of model calls, for comparison;
* :func:`train_preferences` — SimPO (or DPO/IPO), by default with LoRA merged after;
* :func:`summary_row` — one row of the per-iteration summary.

Sampling seeds derive from ``config.seed``, the iteration and the batch of samples, so the same
inputs give the same pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifrl.core.config import ConfigError, opt
from ifrl.core.generation import Generator
from ifrl.core.records import Cost, PreferencePair
from ifrl.rltrain.deficiency import (
    ToolSample,
    gold_perplexities,
    select_by_sampling,
    select_hardest,
)
from ifrl.rltrain.dpo import DPOConfig, DPOTrainer
from ifrl.rltrain.mcts import DEFAULT_MARKERS, MCTSConfig, SearchTree, derive_seed, search
from ifrl.rltrain.pairs import PairConfig, best_vs_worst, collect_pairs, equal_budget_n
from ifrl.rltrain.trainconfig import TrainConfig, check_choice

SELECTORS = ("perplexity", "sampling")
PREFERENCE_LOSSES = ("simpo", "sigmoid", "ipo")


@dataclass
class IterationConfig(TrainConfig):
    """Settings of one iTool iteration: deficiency selection, MCTS, pair filters, and the
    preference stage (the :class:`~ifrl.rltrain.trainconfig.TrainConfig` fields: learning
    rate, batch size, LoRA, ``max_steps`` ...; ``model``, ``data`` and ``output_dir`` are
    given to :func:`train_preferences`)."""

    learning_rate: float = opt("Peak learning rate of the preference stage.", 1e-5)
    max_steps: int = opt("Optimizer steps of the preference stage per iteration.", 100)
    use_lora: bool = opt("Train the preference stage with LoRA adapters (merged after).", True)
    max_length: int = opt("Token limit of preference pairs (and of warm-up SFT rows).", 1024)
    deficiency: str = opt(
        "Deficiency selector: perplexity (hardest fraction) or sampling.", "perplexity"
    )
    deficiency_fraction: float = opt("Fraction kept by the perplexity selector.", 0.3)
    deficiency_k: int = opt("Samples per prompt for the sampling selector.", 4)
    mcts_iterations: int = opt("MCTS iterations per sample.", 5)
    mcts_actions: int = opt("Continuations sampled per expansion.", 3)
    mcts_temperature: float = opt("Sampling temperature of expansions.", 1.5)
    mcts_max_new_tokens: int = opt("Token budget of an expansion (which is also its rollout).", 128)
    mcts_fragments_per_node: int = opt("Fragments a node holds.", 2)
    mcts_max_depth: int = opt("Depth cap of the tree.", 3)
    mcts_split_markers: tuple[str, ...] = opt("Fragment split markers.", DEFAULT_MARKERS)
    mcts_exploration_weight: float = opt("Weight w of the prior term in selection.", 1.0)
    pair_min_gap: float = opt("Minimum value gap between chosen and rejected.", 0.1)
    pair_min_chosen: float = opt("Minimum value of the chosen side.", 0.0)
    pair_duplicate_ratio: float = opt(
        "Similarity ratio at which two sides count as near-duplicates.", 0.98
    )
    loss_type: str = opt("Preference loss: simpo (iTool), sigmoid (DPO) or ipo.", "simpo")
    beta: float = opt("SimPO/DPO beta.", 2.5)
    gamma: float = opt("SimPO target margin.", 0.5)

    def validate(self) -> None:
        super().validate()
        check_choice("deficiency", self.deficiency, SELECTORS)
        if not 0.0 < self.deficiency_fraction <= 1.0:
            raise ConfigError("", "deficiency_fraction", "must lie in (0, 1]")
        check_choice("loss_type", self.loss_type, PREFERENCE_LOSSES)
        try:
            self.mcts_config(0)
        except ConfigError as err:  # name the flat key: iterations -> mcts_iterations
            field = {"num_actions": "actions"}.get(err.field, err.field)
            raise ConfigError("", f"mcts_{field}", err.problem) from None
        try:
            self.pair_config()
        except ConfigError as err:
            raise ConfigError("", f"pair_{err.field}", err.problem) from None

    def mcts_config(self, seed: int) -> MCTSConfig:
        """The search settings, with ``seed``."""
        return MCTSConfig(
            iterations=self.mcts_iterations,
            num_actions=self.mcts_actions,
            temperature=self.mcts_temperature,
            max_new_tokens=self.mcts_max_new_tokens,
            fragments_per_node=self.mcts_fragments_per_node,
            max_depth=self.mcts_max_depth,
            split_markers=self.mcts_split_markers,
            exploration_weight=self.mcts_exploration_weight,
            seed=seed,
        )

    def pair_config(self) -> PairConfig:
        """The pair filters."""
        return PairConfig(self.pair_min_gap, self.pair_min_chosen, self.pair_duplicate_ratio)

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
    samples: Sequence[ToolSample], generator: Generator, config: IterationConfig, iteration: int
) -> tuple[list[ToolSample], dict[str, Any]]:
    """The deficient samples (input order) and what the selection measured.

    ``perplexity`` scores the gold responses with the generator's ``model`` and ``tokenizer``
    (an :class:`~ifrl.core.backends.hf.HFGenerator`); ``sampling`` samples from the generator.
    """
    if config.deficiency == "perplexity":
        model, tokenizer = getattr(generator, "model", None), getattr(generator, "tokenizer", None)
        if model is None or tokenizer is None:
            raise TypeError("the perplexity selector needs a generator with .model and .tokenizer")
        ppl = gold_perplexities(model, tokenizer, samples, batch_size=8)
        kept = select_hardest(samples, ppl, config.deficiency_fraction)
        by_id = dict(zip((s.id for s in samples), ppl))
        info: dict[str, Any] = {
            "selector": "perplexity",
            "kept": len(kept),
            "mean_perplexity": sum(ppl) / max(1, len(ppl)),
            "mean_kept_perplexity": sum(by_id[s.id] for s in kept) / max(1, len(kept)),
        }
    else:
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
    """MCTS on one batch of samples (rewards: the tool-call matcher against the gold calls);
    the step-level pairs and the generation cost."""
    trees = [
        SearchTree(s.prompt, {"gold_calls": list(s.gold_calls)}, sample_id=s.id) for s in samples
    ]
    mcts = config.mcts_config(derive_seed(config.seed, iteration, batch))
    cost = search(trees, generator, mcts, progress=progress)
    return collect_pairs(trees, config.pair_config()), cost


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
    pairs, cost = best_vs_worst(
        [s.prompt for s in samples],
        generator,
        n,
        columns=[{"gold_calls": list(s.gold_calls)} for s in samples],
        sample_ids=[s.id for s in samples],
        mcts=config.mcts_config(derive_seed(config.seed, iteration, -1)),
        config=config.pair_config(),
        batch_prompts=max(1, batch_size // n),
    )
    return pairs, cost, n


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
        "baseline_pairs": base.get("pairs"),
        "baseline_model_calls": base.get("model_calls"),
        "baseline_pairs_per_1000_calls": base.get("pairs_per_1000_calls"),
        "baseline_tokens_per_pair": base.get("tokens_per_pair"),
        "train_loss": trained.get("loss"),
        "train_pairs": trained.get("pairs"),
    }
