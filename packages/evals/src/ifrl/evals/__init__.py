"""ifrl.evals: evaluate models on IFEval, IFBench, BFCL, GSM8K and PRM benchmarks.

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
from ifrl.evals.compare import compare_runs
from ifrl.evals.results import EvalResult, load_result, write_run

try:
    __version__ = version("ifrl-evals")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0+unknown"

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "EvalResult",
    "Example",
    "Metric",
    "__version__",
    "compare_runs",
    "get_benchmark",
    "load_result",
    "majority_vote",
    "proportion",
    "register_benchmark",
    "run",
    "write_run",
]
