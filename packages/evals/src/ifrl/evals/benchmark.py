"""The benchmark registry and the run loop every benchmark shares.

A benchmark (:class:`Benchmark`) loads :class:`Example` objects (an id, a prompt for the model,
and its own data), reads existing responses from a file, and scores responses into an
:class:`~ifrl.evals.results.EvalResult` plus one sample dict per scored response.
:func:`run` ties it together: responses come from a file (``--responses``: rescoring other
harnesses' outputs) or from any :class:`~ifrl.core.generation.Generator`; then scoring, then
``results.json`` / ``samples.jsonl`` / ``report.md`` in the output directory.

Benchmarks register by name with :func:`register_benchmark`; third parties add theirs through the
``ifrl.benchmarks`` entry-point group.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ifrl.core.errors import IfrlError
from ifrl.core.generation import Generator, Prompt
from ifrl.core.records import SamplingParams
from ifrl.core.registry import Registry
from ifrl.evals.generate import generate_responses
from ifrl.evals.results import EvalResult, write_run

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "Example",
    "Responses",
    "get_benchmark",
    "register_benchmark",
    "run",
]

Responses = Mapping[str, Sequence[str | list[Any]]]


@dataclass(frozen=True, slots=True)
class Example:
    """One benchmark item: a unique ``id``, the model ``prompt``, and the benchmark's ``data``."""

    id: str
    prompt: Prompt
    data: Any = None


@runtime_checkable
class Benchmark(Protocol):
    """Load examples, read response files, and score responses."""

    name: str

    def examples(self) -> list[Example]:
        """The (limited) examples to evaluate, in a stable order."""
        ...

    def read_responses(self, path: str | os.PathLike[str]) -> dict[str, list[Any]]:
        """Responses from a file of another harness's outputs: example id → responses."""
        ...

    def score(
        self, examples: Sequence[Example], responses: Responses
    ) -> tuple[EvalResult, list[dict[str, Any]]]:
        """Score ``responses`` (id → one or more responses) of ``examples``."""
        ...


BENCHMARKS: Registry[Callable[..., Benchmark]] = Registry(
    "benchmark", entry_point_group="ifrl.benchmarks"
)


def register_benchmark(name: str) -> Callable[[Callable[..., Benchmark]], Callable[..., Benchmark]]:
    """Decorator registering a benchmark factory (usually the class) under ``name``."""
    return BENCHMARKS.register(name)


def get_benchmark(name: str, **kwargs: Any) -> Benchmark:
    """Build the benchmark registered as ``name`` with ``kwargs``."""
    _import_builtin()
    return BENCHMARKS.get(name)(**kwargs)


def _import_builtin() -> None:
    from ifrl.evals import bfcl, gsm8k, ifeval, prm  # noqa: F401


def run(
    benchmark: Benchmark,
    out_dir: str | os.PathLike[str],
    *,
    responses: str | os.PathLike[str] | None = None,
    generator: Generator | None = None,
    params: SamplingParams | None = None,
    batch_size: int = 64,
    config: Mapping[str, Any] | None = None,
) -> EvalResult:
    """Evaluate ``benchmark``: rescore ``responses`` or generate with ``generator``, then write.

    A response file that matches no example is an error (``IfrlError``), so an empty or foreign
    file never overwrites the results of an earlier run.

    Generation is resumable: responses are appended to ``out_dir/generations.jsonl`` as batches
    finish, and a rerun generates only what is missing. A prompt the backend rejects (e.g. longer
    than the model's context) gets empty responses, scored as wrong, and is counted in the
    result's ``info["generation_errors"]`` with a few messages, instead of failing the run.
    """
    got: Responses
    errors: dict[str, str] = {}
    if responses is not None:
        got = benchmark.read_responses(responses)  # may narrow the examples (BFCL categories)
        examples = benchmark.examples()
        known = {e.id for e in examples}
        examples = [e for e in examples if e.id in got]
        missing = len(known) - len(examples)
        unknown = sum(1 for ident in got if ident not in known)
        if not examples:
            # Scoring nothing would write 0% over the results of an earlier run.
            raise IfrlError(
                f"{os.fspath(responses)}: none of its {len(got)} responses matches one of the "
                f"{len(known)} {benchmark.name} examples (by id/key, line position or prompt); "
                "nothing was scored or written"
            )
    elif generator is not None:
        examples = benchmark.examples()
        got = generate_responses(
            generator,
            [(e.id, e.prompt) for e in examples],
            params or SamplingParams(),
            batch_size=batch_size,
            cache=Path(out_dir) / "generations.jsonl",
            errors=errors,
        )
        missing = unknown = 0
    else:
        raise ValueError("give either responses (a file) or a generator")
    result, samples = benchmark.score(examples, got)
    info = dict(result.info)
    if missing:
        info["examples_without_responses"] = missing
    if unknown:
        info["responses_without_examples"] = unknown
    if errors:
        info["generation_errors"] = len(errors)
        info["generation_error_examples"] = dict(sorted(errors.items())[:5])
    full_config = {**(config or {}), **result.config}
    result = EvalResult(
        result.benchmark,
        result.metrics,
        result.breakdowns,
        full_config,
        info,
        result.primary,
    )
    write_run(out_dir, result, samples)
    return result
