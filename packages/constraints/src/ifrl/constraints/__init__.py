"""ifrl.constraints: exact, fast verifiers for instruction constraints, synthesis, the codec of
constrained-prompt datasets, rewards, judges, judge audits and refinement. No torch.

>>> from ifrl.constraints import verify
>>> [v.passed for v in verify("hello world", ["punctuation:no_comma"], [{}])]
[True]
"""

from importlib.metadata import PackageNotFoundError, version

from ifrl.constraints import ifbench as _ifbench  # registers the IFBench types
from ifrl.constraints import ifeval as _ifeval  # registers the IFEval types
from ifrl.constraints import ifevalg as _ifevalg  # registers the IFEvalG (IFTrain) types
from ifrl.constraints.audit import AuditConfig, audit_judges, run_audit, write_audit
from ifrl.constraints.base import REGISTRY, Constraint, build, conflicting, get_type, register
from ifrl.constraints.codec import (
    FORMATS,
    DatasetFormat,
    batch_specs,
    from_row,
    read_prompts,
    row_key,
    to_row,
    training_row,
    write_prompts,
)
from ifrl.constraints.hackable import HackableJudge
from ifrl.constraints.inputs import pair_responses
from ifrl.constraints.judge import (
    Judge,
    JudgeCache,
    JudgedConstraint,
    JudgeQuery,
    JudgeVerdict,
    LLMJudge,
)
from ifrl.constraints.judged_rewards import JudgedReward
from ifrl.constraints.noisy import NoisyJudge
from ifrl.constraints.params import ConstraintSpecError, Param
from ifrl.constraints.refine import JudgePrecision, RefineConfig, read_pilot_rewards, refine
from ifrl.constraints.rewards import (
    ConstraintReward,
    constraint_reward,
    loose_all,
    loose_fraction,
    strict_all,
    strict_fraction,
)
from ifrl.constraints.scoring import (
    Accuracy,
    Evaluation,
    accuracy,
    evaluate,
    evaluate_constraints,
    loose_variants,
    verify,
)
from ifrl.constraints.soft import SOFT_CONSTRAINTS, SoftConstraintType, add_soft, register_soft
from ifrl.constraints.synth import synthesize
from ifrl.constraints.text import Text
from ifrl.constraints.training_audit import TrainingAudit
from ifrl.core.records import ConstrainedPrompt

try:
    __version__ = version("ifrl-constraints")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0+unknown"

IFEVAL_IDS = _ifeval.IFEVAL_IDS
IFBENCH_IDS = _ifbench.IFBENCH_IDS
IFEVALG_IDS = _ifevalg.IFEVALG_IDS

__all__ = [
    "FORMATS",
    "IFBENCH_IDS",
    "IFEVALG_IDS",
    "IFEVAL_IDS",
    "REGISTRY",
    "SOFT_CONSTRAINTS",
    "Accuracy",
    "AuditConfig",
    "ConstrainedPrompt",
    "Constraint",
    "ConstraintReward",
    "ConstraintSpecError",
    "DatasetFormat",
    "Evaluation",
    "HackableJudge",
    "Judge",
    "JudgeCache",
    "JudgePrecision",
    "JudgeQuery",
    "JudgeVerdict",
    "JudgedConstraint",
    "JudgedReward",
    "LLMJudge",
    "NoisyJudge",
    "Param",
    "RefineConfig",
    "SoftConstraintType",
    "Text",
    "TrainingAudit",
    "__version__",
    "accuracy",
    "add_soft",
    "audit_judges",
    "batch_specs",
    "build",
    "conflicting",
    "constraint_reward",
    "evaluate",
    "evaluate_constraints",
    "from_row",
    "get_type",
    "loose_all",
    "loose_fraction",
    "loose_variants",
    "pair_responses",
    "read_pilot_rewards",
    "read_prompts",
    "refine",
    "register",
    "register_soft",
    "row_key",
    "run_audit",
    "strict_all",
    "strict_fraction",
    "synthesize",
    "to_row",
    "training_row",
    "verify",
    "write_audit",
    "write_prompts",
]
