"""BFCL (Berkeley Function-Calling Leaderboard) v4: data, decoding, our AST checker, the
multi-turn call check, benchmark."""

from ifrl.evals.bfcl.benchmark import BFCLBenchmark, category_of
from ifrl.evals.bfcl.checker import CheckResult, check_ast, check_call, standardize_string
from ifrl.evals.bfcl.data import (
    AST_CATEGORIES,
    CATEGORIES,
    MULTI_TURN_CATEGORIES,
    RELEVANCE_CATEGORIES,
    SINGLE_TURN_CATEGORIES,
    BFCLDataError,
    BFCLEntry,
    find_data_dir,
    load_category,
)
from ifrl.evals.bfcl.decode import contains_call, decode_output
from ifrl.evals.bfcl.multi_turn import score_multi_turn
from ifrl.evals.bfcl.score import score_output

__all__ = [
    "AST_CATEGORIES",
    "CATEGORIES",
    "MULTI_TURN_CATEGORIES",
    "RELEVANCE_CATEGORIES",
    "SINGLE_TURN_CATEGORIES",
    "BFCLBenchmark",
    "BFCLDataError",
    "BFCLEntry",
    "CheckResult",
    "category_of",
    "check_ast",
    "check_call",
    "contains_call",
    "decode_output",
    "find_data_dir",
    "load_category",
    "score_multi_turn",
    "score_output",
    "standardize_string",
]
