"""ifrl.rltrain: SFT (easy-to-hard curriculum), GRPO and DPO/IPO/SimPO trainers on one training
loop; MCTS preference pairs; the steps of an iTool iteration.

>>> from ifrl.rltrain import DPOConfig, DPOTrainer                      # doctest: +SKIP
>>> DPOTrainer(DPOConfig(model="m", data="pairs.jsonl", loss_type="simpo")).train()  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from ifrl.rltrain.advantages import compute_advantages
from ifrl.rltrain.checkpoint import latest_checkpoint
from ifrl.rltrain.deficiency import (
    ToolSample,
    gold_perplexities,
    samples_from_conversation,
    select_by_sampling,
    select_hardest,
)
from ifrl.rltrain.dpo import DPOConfig, DPOTrainer, load_pairs, preference_losses
from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer, group_advantages, grpo_loss, load_prompts
from ifrl.rltrain.guard import GuardReward
from ifrl.rltrain.health import TrainingHealthWarning
from ifrl.rltrain.importance import sampler_importance_weights
from ifrl.rltrain.itool import (
    IterationConfig,
    baseline_pairs,
    pair_summary,
    search_pairs,
    select_deficient,
    summary_row,
    train_preferences,
)
from ifrl.rltrain.loop import Trainer, TrainResult
from ifrl.rltrain.mcts import MCTSConfig, SearchNode, SearchTree, search
from ifrl.rltrain.models import load_tokenizer, merge_and_save
from ifrl.rltrain.pairs import (
    PairConfig,
    best_vs_worst,
    collect_pairs,
    cost_summary,
    equal_budget_n,
    tree_pairs,
    write_pairs,
)
from ifrl.rltrain.rollout_server import VLLMServerGenerator
from ifrl.rltrain.rollouts import PolicyRollouts
from ifrl.rltrain.sft import SFTConfig, SFTTrainer, load_conversations
from ifrl.rltrain.trainconfig import TrainConfig

try:
    __version__ = version("ifrl-rltrain")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0+unknown"

__all__ = [
    "DPOConfig",
    "DPOTrainer",
    "GRPOConfig",
    "GRPOTrainer",
    "GuardReward",
    "IterationConfig",
    "MCTSConfig",
    "PairConfig",
    "PolicyRollouts",
    "SFTConfig",
    "SFTTrainer",
    "SearchNode",
    "SearchTree",
    "ToolSample",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingHealthWarning",
    "VLLMServerGenerator",
    "__version__",
    "baseline_pairs",
    "best_vs_worst",
    "collect_pairs",
    "compute_advantages",
    "cost_summary",
    "equal_budget_n",
    "gold_perplexities",
    "group_advantages",
    "grpo_loss",
    "latest_checkpoint",
    "load_conversations",
    "load_pairs",
    "load_prompts",
    "load_tokenizer",
    "merge_and_save",
    "pair_summary",
    "preference_losses",
    "sampler_importance_weights",
    "samples_from_conversation",
    "search",
    "search_pairs",
    "select_by_sampling",
    "select_deficient",
    "select_hardest",
    "summary_row",
    "train_preferences",
    "tree_pairs",
    "write_pairs",
]
