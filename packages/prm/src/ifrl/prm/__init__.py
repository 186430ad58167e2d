"""ifrl.prm: EDU-PRM: entropy-anchored branching, Monte Carlo step labels, process reward model
training, scoring and Best-of-N picks.

>>> from ifrl.prm import BranchConfig, HFStepDecoder, Question, build_trees  # doctest: +SKIP
>>> trees = build_trees(HFStepDecoder.from_pretrained(model), [Question("q1", "2 + 3\\n", "5")],
...                     BranchConfig(tau=1.0, max_branches=8))  # doctest: +SKIP

Importing the face loads no torch: models load when used.
"""

from importlib.metadata import PackageNotFoundError, version

from ifrl.prm.agreement import Agreement, greedy_path, label_agreement
from ifrl.prm.branching import BranchConfig, BranchNode, BranchTree, Pruner, build_trees
from ifrl.prm.checkers import CHECKERS, Checker, get_checker
from ifrl.prm.decoding import (
    GreedyTrace,
    HFStepDecoder,
    StepDecoder,
    VLLMStepDecoder,
    call_cost,
    step_decoder_for,
)
from ifrl.prm.fit import LoopConfig, train_loop
from ifrl.prm.labels import (
    LabelKind,
    StepLabel,
    StepSplit,
    grade_leaves,
    mc_labels,
    solution_text,
    split_steps,
    step_samples,
    to_qwen_prm,
    to_trl,
)
from ifrl.prm.model import DEFAULT_SEPARATOR, ProcessRewardModel, add_fresh_layers, encode_steps
from ifrl.prm.questions import DEFAULT_TEMPLATE, Question, load_questions
from ifrl.prm.score import (
    AGGREGATIONS,
    aggregate,
    best_of_n,
    policy_confidence,
    prm_pruner,
    score_candidates,
    score_steps,
    split_solution,
)
from ifrl.prm.synthetic import (
    ArithmeticTask,
    PolicyConfig,
    Problem,
    default_policy_dir,
    synthetic_policy,
    train_policy,
)
from ifrl.prm.train import PRMTrainConfig, TrainStats, train_prm
from ifrl.prm.uniform import UniformConfig, UniformResult, uniform_label

try:
    __version__ = version("ifrl-edu-prm")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0+unknown"

__all__ = [
    "AGGREGATIONS",
    "CHECKERS",
    "DEFAULT_SEPARATOR",
    "DEFAULT_TEMPLATE",
    "Agreement",
    "ArithmeticTask",
    "BranchConfig",
    "BranchNode",
    "BranchTree",
    "Checker",
    "GreedyTrace",
    "HFStepDecoder",
    "LabelKind",
    "LoopConfig",
    "PRMTrainConfig",
    "PolicyConfig",
    "Problem",
    "ProcessRewardModel",
    "Pruner",
    "Question",
    "StepDecoder",
    "StepLabel",
    "StepSplit",
    "TrainStats",
    "UniformConfig",
    "UniformResult",
    "VLLMStepDecoder",
    "__version__",
    "add_fresh_layers",
    "aggregate",
    "best_of_n",
    "build_trees",
    "call_cost",
    "default_policy_dir",
    "encode_steps",
    "get_checker",
    "grade_leaves",
    "greedy_path",
    "label_agreement",
    "load_questions",
    "mc_labels",
    "policy_confidence",
    "prm_pruner",
    "score_candidates",
    "score_steps",
    "solution_text",
    "split_solution",
    "split_steps",
    "step_decoder_for",
    "step_samples",
    "synthetic_policy",
    "to_qwen_prm",
    "to_trl",
    "train_loop",
    "train_policy",
    "train_prm",
    "uniform_label",
]
