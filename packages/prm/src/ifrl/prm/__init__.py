"""ifrl.prm: EDU-PRM: entropy-anchored branching, Monte Carlo step labels, process reward model
training, scoring and Best-of-N picks; the uniform Monte Carlo baseline and the cost–quality
measurements that compare the two labelers; step-level evaluation sets.

>>> from ifrl.prm import BranchConfig, HFStepDecoder, Question, build_trees  # doctest: +SKIP
>>> trees = build_trees(HFStepDecoder.from_pretrained(model), [Question("q1", "2 + 3\\n", "5")],
...                     BranchConfig(tau=1.0, max_branches=8))  # doctest: +SKIP

Importing the face loads no torch: models load when used. Lower-level pieces (the training loop
``ifrl.prm.fit``, ``encode_steps``, ``split_steps``, the policy warm-up ``train_policy``) are in
their modules.
"""

from importlib.metadata import PackageNotFoundError, version

from ifrl.prm.agreement import Agreement, greedy_path, label_agreement
from ifrl.prm.branching import (
    BranchConfig,
    BranchNode,
    BranchTree,
    Pruner,
    anchor_rates,
    build_trees,
)
from ifrl.prm.checkers import CHECKERS, Checker, get_checker
from ifrl.prm.decoding import HFStepDecoder, StepDecoder, VLLMStepDecoder, step_decoder_for
from ifrl.prm.labels import (
    LabelKind,
    StepLabel,
    StepSplit,
    check_split,
    grade_leaves,
    mc_labels,
    step_samples,
    to_openrlhf,
    to_qwen_prm,
    to_trl,
)
from ifrl.prm.model import DEFAULT_SEPARATOR, ProcessRewardModel
from ifrl.prm.processbench import StepProblem, load_processbench, planted_errors
from ifrl.prm.questions import DEFAULT_TEMPLATE, Question, load_questions
from ifrl.prm.score import (
    AGGREGATIONS,
    aggregate,
    best_of_n,
    policy_confidence,
    prm_pruner,
    score_candidates,
    score_items,
    score_steps,
    split_solution,
)
from ifrl.prm.study import LabelCost, cohens_kappa, labelling_report
from ifrl.prm.synthetic import (
    ArithmeticTask,
    PolicyConfig,
    first_wrong_line,
    line_truth,
    synthetic_policy,
)
from ifrl.prm.train import PRMTrainConfig, TrainStats, train_prm
from ifrl.prm.uniform import UniformConfig, UniformResult, label_solutions, uniform_label

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
    "HFStepDecoder",
    "LabelCost",
    "LabelKind",
    "PRMTrainConfig",
    "PolicyConfig",
    "ProcessRewardModel",
    "Pruner",
    "Question",
    "StepDecoder",
    "StepLabel",
    "StepProblem",
    "StepSplit",
    "TrainStats",
    "UniformConfig",
    "UniformResult",
    "VLLMStepDecoder",
    "__version__",
    "aggregate",
    "anchor_rates",
    "best_of_n",
    "build_trees",
    "check_split",
    "cohens_kappa",
    "first_wrong_line",
    "get_checker",
    "grade_leaves",
    "greedy_path",
    "label_agreement",
    "label_solutions",
    "labelling_report",
    "line_truth",
    "load_processbench",
    "load_questions",
    "mc_labels",
    "planted_errors",
    "policy_confidence",
    "prm_pruner",
    "score_candidates",
    "score_items",
    "score_steps",
    "split_solution",
    "step_decoder_for",
    "step_samples",
    "synthetic_policy",
    "to_openrlhf",
    "to_qwen_prm",
    "to_trl",
    "train_prm",
    "uniform_label",
]
