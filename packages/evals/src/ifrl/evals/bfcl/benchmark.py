"""The ``bfcl`` benchmark: BFCL v4 AST and relevance categories, scored by our AST checker, and
the multi-turn categories, scored on the calls from BFCL result files (``--responses``)."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from ifrl.core.errors import JSONLError
from ifrl.core.jsonl import read_jsonl
from ifrl.core.registry import UnknownNameError
from ifrl.core.stats import Metric, mean_of_proportions, proportion
from ifrl.evals.benchmark import Example, Responses, register_benchmark
from ifrl.evals.bfcl.data import (
    CATEGORIES,
    MULTI_TURN_CATEGORIES,
    SINGLE_TURN_CATEGORIES,
    BFCLDataError,
    BFCLEntry,
    load_category,
)
from ifrl.evals.bfcl.decode import STYLES, Style
from ifrl.evals.bfcl.prompts import build_prompt
from ifrl.evals.bfcl.score import SEMANTICS, Semantics, score_output
from ifrl.evals.results import EvalResult

__all__ = ["BFCLBenchmark", "category_of"]

# BFCL's leaderboard summaries, computed when all their categories were run: non-live AST is the
# unweighted mean of its categories (BFCL's "simple" also averages Java and JavaScript, which we
# do not run, hence the name), live AST the sample-weighted mean, irrelevance the unweighted mean.
_UNWEIGHTED = {
    "non_live_ast_python": ("simple_python", "multiple", "parallel", "parallel_multiple"),
    "irrelevance_mean": ("irrelevance", "live_irrelevance"),
    "multi_turn_mean": MULTI_TURN_CATEGORIES,
}
_WEIGHTED = {
    "live_ast": ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple"),
}


def _summaries(per_category: dict[str, list[bool]]) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    for name, members in _UNWEIGHTED.items():
        if all(per_category.get(c) for c in members):
            out[name] = mean_of_proportions(
                [proportion(sum(per_category[c]), len(per_category[c])) for c in members]
            )
    for name, members in _WEIGHTED.items():
        if all(per_category.get(c) for c in members):
            pooled = [v for c in members for v in per_category[c]]
            out[name] = proportion(sum(pooled), len(pooled))
    return out


def category_of(entry_id: str) -> str | None:
    """The category an entry id belongs to (``live_simple_3-2-0`` → ``live_simple``)."""
    best = None
    for category in CATEGORIES:
        if entry_id.startswith(category + "_") and (best is None or len(category) > len(best)):
            best = category
    return best


@register_benchmark("bfcl")
class BFCLBenchmark:
    """BFCL categories (all AST + relevance categories by default) in one prompt style.

    ``categories``: which to run (``None`` = the AST and relevance ones, or those of the response
    file's ids). The multi-turn categories (:data:`~ifrl.evals.bfcl.data.MULTI_TURN_CATEGORIES`)
    are scored from BFCL result files only: generating them needs BFCL's execution loop over its
    back-ends, which we do not run, so asking for their examples without having read responses
    raises :class:`~ifrl.evals.bfcl.data.BFCLDataError`;
    ``data_dir``: BFCL data (default: an installed ``bfcl-eval``); ``limit``: first N entries per
    category; ``style``: ``python`` (prompting), ``json`` or ``hermes`` (native tool calls);
    ``underscore_to_dot``: expect ``a_b`` for a function named ``a.b``; ``semantics``:
    ``reference`` (bfcl-eval's verdicts) or ``fixed`` (an undecodable call attempt is no
    abstention in the irrelevance categories; see :func:`~ifrl.evals.bfcl.score.score_output`).
    """

    name = "bfcl"

    def __init__(
        self,
        categories: Sequence[str] | None = None,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        limit: int | None = None,
        style: Style = "python",
        underscore_to_dot: bool = False,
        semantics: Semantics = "reference",
        system_prompt: str | None = None,
    ) -> None:
        if style not in STYLES:
            raise ValueError(f"unknown BFCL prompt style {style!r}; choose from {list(STYLES)}")
        for category in categories or ():
            if category not in CATEGORIES:
                raise UnknownNameError("BFCL category", category, list(CATEGORIES))
        self.categories = list(categories) if categories else None
        self.data_dir = data_dir
        self.limit = limit
        self.style: Style = style
        self.underscore_to_dot = underscore_to_dot
        if semantics not in SEMANTICS:
            raise ValueError(f"unknown semantics {semantics!r}; choose from {list(SEMANTICS)}")
        self.semantics: Semantics = semantics
        self.system_prompt = system_prompt
        self._rescoring = False

    def examples(self) -> list[Example]:
        out = []
        chosen = self.categories or list(SINGLE_TURN_CATEGORIES)
        multi = [c for c in chosen if c in MULTI_TURN_CATEGORIES]
        if multi and not self._rescoring:
            raise BFCLDataError(
                f"{multi[0]}: multi-turn categories are scored from BFCL result files "
                "(--responses); generating them needs BFCL's execution loop over its back-ends"
            )
        for category in chosen:
            entries = load_category(category, self.data_dir)
            if self.limit is not None:
                entries = entries[: self.limit]
            out += [
                Example(
                    e.id,
                    build_prompt(
                        e,
                        self.style,
                        system_prompt=self.system_prompt,
                        underscore_to_dot=self.underscore_to_dot,
                    ),
                    e,
                )
                for e in entries
            ]
        return out

    def read_responses(self, path: str | os.PathLike[str]) -> dict[str, list[Any]]:
        """BFCL result lines ``{"id": ..., "result": <raw output or decoded call list>}`` (for
        multi-turn ids, one list of step outputs per turn)."""
        self._rescoring = True
        got: dict[str, list[Any]] = defaultdict(list)
        name = os.fspath(path)
        for lineno, row in enumerate(read_jsonl(path), start=1):
            ident = row.get("id")
            if not isinstance(ident, str):
                raise JSONLError(name, lineno, "id", "missing or not a string")
            if "result" not in row:
                raise JSONLError(name, lineno, "result", "missing (BFCL's model output field)")
            result = row["result"]
            if not isinstance(result, (str, list)):
                raise JSONLError(name, lineno, "result", "must be a string or a list of calls")
            got[ident].append(result)
        if self.categories is None:
            found = {category_of(i) for i in got}
            self.categories = [c for c in CATEGORIES if c in found]
            if not self.categories:
                raise JSONLError(name, 1, "id", "no id belongs to a known BFCL category")
        return dict(got)

    def score(
        self, examples: Sequence[Example], responses: Responses
    ) -> tuple[EvalResult, list[dict[str, Any]]]:
        samples: list[dict[str, Any]] = []
        per_category: dict[str, list[bool]] = defaultdict(list)
        errors: Counter[str] = Counter()
        for example in examples:
            entry: BFCLEntry = example.data
            category = category_of(entry.id) or ""
            for k, response in enumerate(responses.get(example.id, [])):
                verdict = score_output(
                    entry,
                    response,
                    category,
                    style=self.style,
                    underscore_to_dot=self.underscore_to_dot,
                    semantics=self.semantics,
                )
                per_category[category].append(verdict.valid)
                if not verdict.valid:
                    errors[verdict.error_type] += 1
                samples.append(
                    {
                        "id": entry.id,
                        "category": category,
                        "sample": k,
                        "prompt": entry.messages,
                        "response": response,
                        "valid": verdict.valid,
                        "error_type": verdict.error_type or None,
                        "reason": verdict.error,
                    }
                )
        total = sum(len(v) for v in per_category.values())
        passed = sum(sum(v) for v in per_category.values())
        by_category = {c: proportion(sum(v), len(v)) for c, v in per_category.items()}
        metrics = {"accuracy": proportion(passed, total)}
        metrics.update(_summaries(per_category))
        result = EvalResult(
            benchmark="bfcl",
            metrics=metrics,
            breakdowns={
                "category": by_category,
                "error_type": {e: proportion(c, total) for e, c in errors.most_common()},
            },
            config={
                "categories": sorted(per_category),
                "style": self.style,
                "underscore_to_dot": self.underscore_to_dot,
                "semantics": self.semantics,
                "limit": self.limit,
            },
            info={"samples": total},
            primary="accuracy",
        )
        return result, samples
