"""ifrl.constraints: exact, fast verifiers for instruction constraints, synthesis and rewards.

>>> from ifrl.constraints import verify
>>> [v.passed for v in verify("hello world", ["punctuation:no_comma"], [{}])]
[True]
"""

from ifrl.constraints import ifbench as _ifbench  # noqa: F401 (registers the IFBench types)
from ifrl.constraints import ifeval as _ifeval  # registers the IFEval types
from ifrl.constraints.base import REGISTRY, Constraint, build, conflicting, get_type, register
from ifrl.constraints.errors import ConstraintSpecError
from ifrl.constraints.schema import Param
from ifrl.constraints.scoring import (
    Accuracy,
    Evaluation,
    accuracy,
    evaluate,
    evaluate_constraints,
    loose_variants,
    verify,
)
from ifrl.constraints.synth import SynthesizedPrompt, synthesize
from ifrl.constraints.text import Text

__version__ = "0.1.0"

IFEVAL_IDS = _ifeval.IFEVAL_IDS

__all__ = [
    "IFEVAL_IDS",
    "REGISTRY",
    "Accuracy",
    "Constraint",
    "ConstraintSpecError",
    "Evaluation",
    "Param",
    "SynthesizedPrompt",
    "Text",
    "__version__",
    "accuracy",
    "build",
    "conflicting",
    "evaluate",
    "evaluate_constraints",
    "get_type",
    "loose_variants",
    "register",
    "synthesize",
    "verify",
]
