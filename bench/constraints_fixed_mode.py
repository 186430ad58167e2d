"""What the fixed semantics change: verdicts per fixed checker on the reference data.

For every constraint type with a fix, counts the verdicts (strict and loose) that differ
between ``semantics="reference"`` and ``semantics="fixed"`` on
``../shared/data/ifbench/dev_verdicts.jsonl`` (1,728 responses with IFBench's instructions) and
on the 541 GPT-4 responses of ``../shared/data/ifeval`` (IFEval's instructions), and how many
of each were there; then the accuracies of both semantics on both files. The counts go into
the fixed-semantics table of ``packages/constraints/README.md``.

    .venv/bin/python bench/constraints_fixed_mode.py [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ifrl.constraints import REGISTRY, accuracy, evaluate

ROOT = Path(__file__).resolve().parent.parent


def rows(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def ifeval_rows(folder: Path) -> Iterator[dict[str, Any]]:
    inputs = rows(folder / "input_data.jsonl")
    responses = rows(folder / "responses_gpt4.jsonl")
    for item, resp in zip(inputs, responses):
        yield {**item, "response": resp["response"]}


def compare(data: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str], list[Any]]:
    """Per type: verdicts that differ, verdicts in all; and both semantics' evaluations."""
    changed: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    evals: list[Any] = [[], []]
    for r in data:
        ref = evaluate(r["response"], r["instruction_id_list"], r["kwargs"])
        fix = evaluate(r["response"], r["instruction_id_list"], r["kwargs"], semantics="fixed")
        evals[0].append(ref)
        evals[1].append(fix)
        for i, cid in enumerate(r["instruction_id_list"]):
            seen[cid] += 2
            changed[cid] += (ref.strict[i] != fix.strict[i]) + (ref.loose[i] != fix.loose[i])
    return changed, seen, evals


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    dev_path, ifeval_dir = args.data / "ifbench" / "dev_verdicts.jsonl", args.data / "ifeval"
    if not dev_path.exists() or not ifeval_dir.exists():
        print(f"no reference data under {args.data}", file=sys.stderr)
        return 2
    dev = compare(rows(dev_path))
    gpt = compare(list(ifeval_rows(ifeval_dir)))
    print("| checker | changed on dev_verdicts.jsonl | changed on GPT-4 IFEval responses |")
    print("| --- | --- | --- |")
    for cid, ctype in sorted(REGISTRY.items()):
        if not ctype.has_fix():
            continue
        cells = []
        for changed, seen, _ in (dev, gpt):
            cells.append(f"{changed[cid]} / {seen[cid]}" if seen[cid] else "—")
        print(f"| `{cid}` | " + " | ".join(cells) + " |")
    for name, (changed, seen, evals) in (("dev_verdicts.jsonl", dev), ("GPT-4 IFEval", gpt)):
        ref, fix = (accuracy(e) for e in evals)
        print(
            f"{name}: {sum(changed.values())} of {sum(seen.values())} verdicts change; "
            f"instruction-level strict {ref.instruction_strict:.2%} -> {fix.instruction_strict:.2%}, "
            f"loose {ref.instruction_loose:.2%} -> {fix.instruction_loose:.2%}; prompt-level "
            f"strict {ref.prompt_strict:.2%} -> {fix.prompt_strict:.2%}, "
            f"loose {ref.prompt_loose:.2%} -> {fix.prompt_loose:.2%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
