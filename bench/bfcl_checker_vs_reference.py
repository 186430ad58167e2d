"""Our BFCL AST checker against bfcl-eval's own: agreement per category and speed ratio.

Both checkers score the same model outputs: every entry's ground truth rendered as a model output
(BFCL's Python prompting format) plus systematic mutations of it (wrong value, missing parameter,
extra parameter, swapped order, wrong type, wrong function, no call; a spurious call for the
irrelevance categories). Agreement means the same verdict *and* the same error type. A second,
separate table covers format quirks (outputs that are not clean call lists), where our decoding
(ifrl.core.toolcalls) and BFCL's (Python's ``ast`` with ``eval``) are known to differ.

This script installs nothing. The reference runs only when ``bfcl_eval`` is importable in the
interpreter that runs the script; otherwise only our side is timed. To make such an environment
(a separate venv: bfcl-eval pins old numpy and many SDKs, so it never goes into the project venv):

    python3.11 -m venv .venv-bfcl
    .venv-bfcl/bin/pip install --no-deps bfcl-eval
    .venv-bfcl/bin/pip install filelock tenacity python-dotenv tree_sitter==0.21.3 \\
        tree-sitter-java==0.21.0 tree-sitter-javascript==0.21.4
    .venv-bfcl/bin/pip install --no-deps -e packages/core -e packages/evals
    .venv-bfcl/bin/python bench/bfcl_checker_vs_reference.py

bfcl-eval's checker module imports its model registry (which imports every provider SDK) only to
look up whether a model's API turns dots in function names into underscores; the script puts a
one-entry stand-in for that registry module in ``sys.modules`` (dots kept, as for prompting
models) so the SDKs are not needed. Nothing else of bfcl-eval is replaced.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import types
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ifrl.core.records import ToolCall
from ifrl.evals.bfcl.checker import CheckResult
from ifrl.evals.bfcl.data import CATEGORIES, RELEVANCE_CATEGORIES, BFCLEntry, load_category
from ifrl.evals.bfcl.mutations import Case, ground_truth_calls, mutation_cases, render_output
from ifrl.evals.bfcl.score import score_output

Verdict = tuple[bool, str]


def _load_reference() -> Callable[[BFCLEntry, Any, str], Verdict] | None:
    try:
        import bfcl_eval  # noqa: F401
    except ImportError:
        return None

    class _Config:
        underscore_to_dot = False

    class _Registry(dict):  # type: ignore[type-arg]
        def __missing__(self, key: str) -> _Config:
            return _Config()

    stand_in = types.ModuleType("bfcl_eval.constants.model_config")
    stand_in.MODEL_CONFIG_MAPPING = _Registry()  # type: ignore[attr-defined]
    sys.modules["bfcl_eval.constants.model_config"] = stand_in
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
    from bfcl_eval.model_handler.utils import default_decode_ast_prompting
    from bfcl_eval.utils import is_empty_output, is_function_calling_format_output

    def reference(entry: BFCLEntry, output: Any, category: str) -> Verdict:
        if category in RELEVANCE_CATEGORIES:
            try:
                decoded = default_decode_ast_prompting(output)
                has_call = not is_empty_output(decoded)
            except Exception:
                has_call = False
            if "irrelevance" in category:
                return (True, "") if not has_call else (False, "irrelevance_error:decoder_success")
            return (True, "") if has_call else (False, "relevance_error:decoder_failed")
        try:
            decoded = default_decode_ast_prompting(output)
        except Exception:
            return False, "ast_decoder:decoder_failed"
        if not is_function_calling_format_output(decoded):
            return False, "ast_decoder:decoder_wrong_output_format"
        try:
            result = ast_checker(
                entry.functions,
                decoded,
                entry.ground_truth,
                Language.PYTHON,
                category,
                "ifrl-bench",
            )
        except Exception as err:  # the reference crashing on an input is reported as such
            return False, f"reference_crash:{type(err).__name__}"
        return bool(result["valid"]), "" if result["valid"] else str(result["error_type"])

    return reference


def _ours(entry: BFCLEntry, output: Any, category: str) -> Verdict:
    result: CheckResult = score_output(entry, output, category)
    return result.valid, result.error_type


_PERTURBATIONS: list[Any] = [
    None, True, False, 0, 1, 1.0, 2.5, -3, "", "x", "X Y", [], [1], ["a"], [1.5, 2], {},
    {"k": 1}, [{"a": 1}], [[1, 2]],
]  # fmt: skip


def _perturbed_cases(entry: BFCLEntry, rng: random.Random, per_param: int) -> list[Case]:
    """Each ground-truth argument replaced by values of other types and shapes (seeded)."""
    calls = ground_truth_calls(entry)
    out = []
    for i, call in enumerate(calls):
        for param, value in call.arguments.items():
            values = list(_PERTURBATIONS)
            if isinstance(value, str):
                values += [value.upper(), value + " ", value.replace(" ", "-")]
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                values += [str(value), float(value), value + 1]
            elif isinstance(value, list) and value:
                values += [value[::-1], [*value, value[0]], [str(v) for v in value]]
            elif isinstance(value, dict) and value:
                values += [{k: str(v) for k, v in value.items()}, dict(list(value.items())[:-1])]
            for new in rng.sample(values, min(per_param, len(values))):
                changed = ToolCall(call.name, {**call.arguments, param: new})
                mutated = [changed if j == i else c for j, c in enumerate(calls)]
                # The verdict is not predicted here: only agreement is measured.
                out.append(Case(entry.id, f"perturbed:{param}", render_output(mutated), False))
    return out


def _quirk_cases(entry: BFCLEntry, category: str, cases: list[Case]) -> list[Case]:
    truth = next((c for c in cases if c.mutation == "ground_truth"), None)
    if truth is None or not truth.output.startswith("["):
        return []
    calls = truth.output
    out = [
        Case(entry.id, "markdown_fence", f"```python\n{calls}\n```", False),
        Case(entry.id, "trailing_text", f"{calls} I hope this helps.", False),
        Case(
            entry.id,
            "json_literals",
            calls.replace("True", "true").replace("False", "false"),
            False,
        ),
    ]
    head, sep, rest = calls.partition("(")
    if sep and "=" in rest:
        key_end = rest.index("=")
        positional = head + "(" + rest[key_end + 1 :]
        out.append(Case(entry.id, "positional_argument", positional, False))
        spaced = head.replace("_", " ", 1) if "_" in head else head[:2] + " " + head[2:]
        out.append(Case(entry.id, "name_with_space", spaced + sep + rest, False))
    return out


@dataclass
class Row:
    cases: int = 0
    agree: int = 0
    ours_s: float = 0.0
    ref_s: float = 0.0


def _time(
    fn: Callable[[BFCLEntry, Any, str], Verdict],
    work: list[tuple[BFCLEntry, Case]],
    category: str,
    repeat: int,
) -> tuple[list[Verdict], float]:
    best = float("inf")
    verdicts: list[Verdict] = []
    for _ in range(repeat):
        start = time.perf_counter()
        verdicts = [fn(entry, case.output, category) for entry, case in work]
        best = min(best, time.perf_counter() - start)
    return verdicts, best


def _split_timing(categories: list[str], data_dir: str | None, repeat: int) -> None:
    """Decoding and checking timed apart (AST categories, outputs that decode)."""
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
    from bfcl_eval.model_handler.utils import default_decode_ast_prompting

    from ifrl.evals.bfcl.checker import check_ast
    from ifrl.evals.bfcl.decode import decode_output

    totals = {"ours_decode": 0.0, "ours_check": 0.0, "ref_decode": 0.0, "ref_check": 0.0}
    for category in categories:
        if category in RELEVANCE_CATEGORIES:
            continue
        work = [
            (e, c.output)
            for e in load_category(category, data_dir)
            for c in mutation_cases(e, category)
            if c.mutation != "no_call"
        ]
        for _ in range(repeat):
            runs: dict[str, float] = {}
            start = time.perf_counter()
            ours = [decode_output(text) for _, text in work]
            runs["ours_decode"] = time.perf_counter() - start
            start = time.perf_counter()
            for (entry, _), calls in zip(work, ours):
                check_ast(entry.functions, calls, entry.ground_truth or [], category)
            runs["ours_check"] = time.perf_counter() - start
            start = time.perf_counter()
            ref = [default_decode_ast_prompting(text) for _, text in work]
            runs["ref_decode"] = time.perf_counter() - start
            start = time.perf_counter()
            for (entry, _), decoded in zip(work, ref):
                ast_checker(
                    entry.functions, decoded, entry.ground_truth, Language.PYTHON, category, "x"
                )
            runs["ref_check"] = time.perf_counter() - start
            for key, value in runs.items():
                totals[key] += value / repeat
    print("\nsplit (AST categories, outputs that decode; ms):")
    for what in ("decode", "check"):
        ours, ref = totals[f"ours_{what}"], totals[f"ref_{what}"]
        print(
            f"  {what:<7} ours {1000 * ours:8.1f}   reference {1000 * ref:8.1f}   speed-up {ref / ours:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", default=None, help="BFCL data directory (default: installed bfcl-eval)"
    )
    parser.add_argument(
        "--category", action="append", default=None, help="category (repeatable; default: all)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats (best is kept)")
    parser.add_argument("--show", type=int, default=5, help="disagreements to print")
    parser.add_argument(
        "--perturb", type=int, default=3, help="perturbed values per argument (0: none)"
    )
    args = parser.parse_args()

    reference = _load_reference()
    if reference is None:
        print("bfcl_eval is not importable here: timing our checker only (see the docstring).")
    rows: dict[str, Row] = {}
    quirk_rows: dict[str, Row] = {}
    perturb_rows: dict[str, Row] = {}
    rng = random.Random(0)
    disagreements: list[str] = []
    by_mutation: Counter[str] = Counter()
    mutation_agree: Counter[str] = Counter()
    quirk_by_class: Counter[str] = Counter()
    quirk_agree: Counter[str] = Counter()
    for category in args.category or CATEGORIES:
        entries = load_category(category, args.data_dir)
        work: list[tuple[BFCLEntry, Case]] = []
        quirks: list[tuple[BFCLEntry, Case]] = []
        perturbed: list[tuple[BFCLEntry, Case]] = []
        for entry in entries:
            cases = mutation_cases(entry, category)
            work += [(entry, c) for c in cases]
            quirks += [(entry, c) for c in _quirk_cases(entry, category, cases)]
            if args.perturb and entry.ground_truth is not None:
                perturbed += [(entry, c) for c in _perturbed_cases(entry, rng, args.perturb)]
        tables = ((rows, work), (perturb_rows, perturbed), (quirk_rows, quirks))
        for table, items in tables:
            name = category
            if not items:
                continue
            ours, ours_s = _time(_ours, items, category, args.repeat)
            row = Row(cases=len(items), ours_s=ours_s)
            if reference is not None:
                ref, row.ref_s = _time(reference, items, category, args.repeat)
                for (entry, case), a, b in zip(items, ours, ref):
                    same = a == b
                    row.agree += same
                    if table is not perturb_rows:
                        tally = by_mutation if table is rows else quirk_by_class
                        agreed = mutation_agree if table is rows else quirk_agree
                        tally[case.mutation] += 1
                        agreed[case.mutation] += same
                    if not same and len(disagreements) < args.show and table is not quirk_rows:
                        disagreements.append(f"{entry.id} {case.mutation}: ours={a} reference={b}")
            table[name] = row

    def show(title: str, table: dict[str, Row]) -> None:
        print(f"\n{title}")
        print(
            f"{'category':<24}{'cases':>7}{'agree %':>9}{'ours ms':>9}{'ref ms':>9}{'speed-up':>10}"
        )
        total = Row()
        for name, row in table.items():
            total.cases += row.cases
            total.agree += row.agree
            total.ours_s += row.ours_s
            total.ref_s += row.ref_s
            _print_row(name, row, reference is not None)
        _print_row("all", total, reference is not None)

    show("Ground truth + mutations (BFCL python prompting format)", rows)
    if reference is not None:
        print("\nagreement by mutation class:")
        for mutation, count in by_mutation.items():
            print(
                f"  {mutation:<20}{100 * mutation_agree[mutation] / count:7.2f}%  ({count} cases)"
            )
    if perturb_rows:
        show("Arguments perturbed to other values, types and shapes", perturb_rows)
    show("Format quirks (known decoder differences; not part of the target)", quirk_rows)
    if reference is not None:
        print("\nagreement by format quirk:")
        for quirk, count in quirk_by_class.items():
            print(f"  {quirk:<20}{100 * quirk_agree[quirk] / count:7.2f}%  ({count} cases)")
    if reference is not None:
        _split_timing(list(args.category or CATEGORIES), args.data_dir, args.repeat)
    if disagreements:
        print("\nfirst disagreements:")
        for line in disagreements:
            print("  " + line)


def _print_row(name: str, row: Row, with_ref: bool) -> None:
    agree = f"{100 * row.agree / row.cases:.2f}" if with_ref and row.cases else "-"
    ratio = f"{row.ref_s / row.ours_s:.2f}x" if with_ref and row.ours_s else "-"
    ref_ms = f"{1000 * row.ref_s:.1f}" if with_ref else "-"
    print(f"{name:<24}{row.cases:>7}{agree:>9}{1000 * row.ours_s:>9.1f}{ref_ms:>9}{ratio:>10}")


if __name__ == "__main__":
    main()
