"""ifrl.evals: evaluate models on IFEval, IFBench, BFCL, GSM8K and PRM benchmarks, and tool calls
on held-out conversations.

>>> from ifrl.evals import get_benchmark, run          # doctest: +SKIP
>>> run(get_benchmark("gsm8k", data="test.jsonl", limit=20), "runs/gsm8k",
...     responses="responses.jsonl")                     # doctest: +SKIP

Each run writes ``results.json`` (metrics with sample counts and 95% intervals),
``samples.jsonl`` (every prompt, response, verdict and reason) and ``report.md`` with plots.
"""

from importlib.metadata import PackageNotFoundError, version

from ifrl.core.stats import Metric, majority_vote, proportion
from ifrl.evals.benchmark import (
    BENCHMARKS,
    Benchmark,
    Example,
    get_benchmark,
    register_benchmark,
    run,
)
from ifrl.evals.bfcl import BFCLBenchmark, check_ast, load_category, score_output
from ifrl.evals.compare import compare_runs
from ifrl.evals.gsm8k import GSM8KBenchmark
from ifrl.evals.ifeval import IFBenchBenchmark, IFEvalBenchmark
from ifrl.evals.prm import PRMBenchmark
from ifrl.evals.results import EvalResult, load_result, write_run
from ifrl.evals.tool_use import ToolUseCase, evaluate_tool_calls, score_tool_calls

try:
    __version__ = version("ifrl-evals")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0+unknown"

__all__ = [
    "BENCHMARKS",
    "BFCLBenchmark",
    "Benchmark",
    "EvalResult",
    "Example",
    "GSM8KBenchmark",
    "IFBenchBenchmark",
    "IFEvalBenchmark",
    "Metric",
    "PRMBenchmark",
    "ToolUseCase",
    "__version__",
    "check_ast",
    "compare_runs",
    "evaluate_tool_calls",
    "get_benchmark",
    "load_category",
    "load_result",
    "majority_vote",
    "proportion",
    "register_benchmark",
    "run",
    "score_output",
    "score_tool_calls",
    "write_run",
]
