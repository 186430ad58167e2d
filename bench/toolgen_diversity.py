"""Lexical diversity of generated user turns against real user turns, at matched corpus sizes.

Usage: python bench/toolgen_diversity.py [--dialogs FILE] [--apis 500] [-n 5000]
       [--bfcl DIR] [--gsm8k FILE] [--shuffles 5]

Distinct-2 (unique bigrams / all bigrams, whitespace tokens lower-cased: the unit of
`ifrl toolgen stats`) falls as a corpus grows, so corpora compare only at the same number of
bigrams. This prints distinct-2 of three corpora at each size in ``SIZES`` and at the smallest
corpus's full size:

* ours: the user turns of the offline generator (`ifrl toolgen apis -n 500` then
  `dialogs -n 5000`, seed 0, built here through the CLI; or ``--dialogs FILE``);
* the peer: BFCL v4's user turns (every category our BFCL loader knows, duplicate texts counted
  once), read from the installed ``bfcl-eval`` package or ``--bfcl DIR``;
* human questions: GSM8K training questions (``--gsm8k``, default
  ``../shared/data/gsm8k/train.jsonl``), when present.

Each figure is the mean (and range) over ``--shuffles`` seeded orders of the corpus's texts;
ratios are ours / peer at the same size.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

SIZES = (26_000, 60_000)


def _user_turns_of_dialogs(path: Path) -> list[str]:
    from ifrl.core.jsonl import read_jsonl
    from ifrl.toolgen import Dialog

    return [
        m.content or ""
        for d in read_jsonl(path, Dialog.from_json)
        for m in d.messages
        if m.role == "user"
    ]


def _generated(apis: int, n: int, tmp: Path) -> Path:
    from ifrl.toolgen.cli import cli

    apis_path, dialogs_path = tmp / "apis.jsonl", tmp / "dialogs.jsonl"
    cli.main(["apis", "-n", str(apis), "-o", str(apis_path)], standalone_mode=False)
    cli.main(
        ["dialogs", "--apis", str(apis_path), "-n", str(n), "-o", str(dialogs_path)],
        standalone_mode=False,
    )
    return dialogs_path


def _bfcl_user_turns(directory: str | None) -> list[str]:
    from ifrl.evals.bfcl.data import CATEGORIES, load_category

    texts: dict[str, None] = {}
    for category in CATEGORIES:
        for entry in load_category(category, directory):
            for m in entry.messages:
                if m.get("role") == "user" and isinstance(m.get("content"), str):
                    texts[m["content"]] = None
    return list(texts)


def _gsm8k_questions(path: Path) -> list[str]:
    from ifrl.evals.gsm8k import GSM8KBenchmark  # its reader names a bad line's file and field

    return [question for question, _ in GSM8KBenchmark(path).rows()]


def _at(texts: list[str], size: int, shuffles: int) -> tuple[float, float, float]:
    """Mean, min and max distinct-2 of the first ``size`` bigrams over seeded text orders."""
    from ifrl.toolgen.dialog_stats import distinct

    values = []
    for seed in range(shuffles):
        order = list(texts)
        random.Random(seed).shuffle(order)
        values.append(distinct(order, 2, limit=size)[0])
    return statistics.fmean(values), min(values), max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialogs", type=Path, help="a dialog file (default: generate one)")
    parser.add_argument("--apis", type=int, default=500)
    parser.add_argument("-n", type=int, default=5000, help="dialogs to generate")
    parser.add_argument("--bfcl", help="BFCL data directory (default: installed bfcl-eval)")
    parser.add_argument(
        "--gsm8k",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared/data/gsm8k/train.jsonl",
    )
    parser.add_argument("--shuffles", type=int, default=5)
    args = parser.parse_args()

    corpora: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = args.dialogs or _generated(args.apis, args.n, Path(tmp))
        corpora["ours (offline generator)"] = _user_turns_of_dialogs(path)
    corpora["BFCL v4 user turns"] = _bfcl_user_turns(args.bfcl)
    if args.gsm8k.is_file():
        corpora["GSM8K train questions"] = _gsm8k_questions(args.gsm8k)
    else:
        print(f"GSM8K: {args.gsm8k} not found, left out", file=sys.stderr)

    from ifrl.toolgen.dialog_stats import distinct

    whole = {name: distinct(texts, 2) for name, texts in corpora.items()}
    totals = {name: bigrams for name, (_, bigrams) in whole.items()}
    sizes = sorted({s for s in SIZES if s < min(totals.values())} | {min(totals.values())})
    print(f"distinct-2 of user turns (mean [min, max] over {args.shuffles} text orders)\n")
    print("| corpus | texts | bigrams | " + " | ".join(f"at {s:,}" for s in sizes) + " |")
    print("|---|---:|---:|" + "---:|" * len(sizes))
    table: dict[str, list[float]] = {}
    for name, texts in corpora.items():
        cells = []
        for size in sizes:
            mean, lo, hi = _at(texts, size, args.shuffles)
            table.setdefault(name, []).append(mean)
            cells.append(f"{mean:.3f} [{lo:.3f}, {hi:.3f}]")
        print(f"| {name} | {len(texts):,} | {totals[name]:,} | " + " | ".join(cells) + " |")
    ours, peers = next(iter(table.values())), list(table.items())[1:]
    for name, values in peers:
        ratios = ", ".join(f"{o / p:.2f}x at {s:,}" for o, p, s in zip(ours, values, sizes))
        print(f"\nours / {name}: {ratios}")
    print(f"\nours over its whole file: {next(iter(whole.values()))[0]:.3f}")


if __name__ == "__main__":
    main()
