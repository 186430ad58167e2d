"""Throughput of the offline toolgen pipeline (the work of `ifrl toolgen apis/dialogs/verify`).

Usage: python bench/toolgen_throughput.py [--apis 500] [--dialogs 2000]

Prints APIs/s, dialogs/s and verified samples/s, each through the same code and files as the CLI
(dialogs of all seven types in turn, sessions and tool errors included; verification with the
semantic rules). Compare runs by the CPU rates: the machine may be shared.
Peers, in the same run: verification is compared with the minimal check most pipelines do (one
``jsonschema.validate`` per call's arguments, nothing else), and tool-call parsing with
``ast.parse`` alone on the same Python-style call strings (the floor of any AST-based parser such
as BFCL's) — ratios > 1 mean we are slower than the peer by that factor.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apis", type=int, default=500)
    parser.add_argument("--dialogs", type=int, default=2000)
    args = parser.parse_args()

    import ast

    import jsonschema

    from ifrl.core.jsonl import JSONLWriter, read_jsonl
    from ifrl.core.toolcalls import parse_tool_calls, render_tool_calls
    from ifrl.toolgen import (
        Dialog,
        DialogGenerator,
        Planner,
        ProgrammaticApiGenerator,
        build_pool,
        load_apis,
        verify_file,
    )

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t, c = time.perf_counter(), time.process_time()
        build_pool(ProgrammaticApiGenerator(0), args.apis, d / "apis.jsonl")
        api_s, api_c = time.perf_counter() - t, time.process_time() - c

        t, c = time.perf_counter(), time.process_time()
        gen = DialogGenerator(Planner(load_apis(d / "apis.jsonl"), 0))
        with JSONLWriter(d / "dialogs.jsonl") as w:
            for r in gen.run(list(range(args.dialogs))):
                if r.dialog is not None:
                    w.write(r.dialog.to_json())
        dlg_s, dlg_c = time.perf_counter() - t, time.process_time() - c

        t, c = time.perf_counter(), time.process_time()
        rep = verify_file(
            d / "dialogs.jsonl", d / "kept.jsonl", d / "rejected.jsonl", report=d / "r.md"
        )
        ver_s, ver_c = time.perf_counter() - t, time.process_time() - c

        # Peer: one jsonschema.validate per call (reading the same file), no other checks.
        t = time.perf_counter()
        for row in read_jsonl(d / "dialogs.jsonl"):
            schemas = {x["function"]["name"]: x["function"]["parameters"] for x in row["tools"]}
            for m in row["messages"]:
                for c in m.get("tool_calls", []):
                    fn = c["function"]
                    with contextlib.suppress(jsonschema.ValidationError):
                        jsonschema.validate(json.loads(fn["arguments"]), schemas[fn["name"]])
        peer_s = time.perf_counter() - t

        texts = []
        for row in read_jsonl(d / "kept.jsonl"):
            for m in Dialog.from_json(row).messages:
                if m.tool_calls:
                    texts.append(render_tool_calls(m.tool_calls, "python"))
        t = time.perf_counter()
        for text in texts:
            parse_tool_calls(text, "python")
        ours = time.perf_counter() - t
        t = time.perf_counter()
        for text in texts:
            ast.parse(text, mode="eval")
        floor = time.perf_counter() - t

    print("(rates by wall time, and by this process's CPU time: the machine may be shared)")
    print(
        f"apis:     {args.apis} in {api_s:.2f}s = {args.apis / api_s:.0f} APIs/s"
        f" (cpu: {args.apis / api_c:.0f}/s)"
    )
    print(
        f"dialogs:  {args.dialogs} in {dlg_s:.2f}s = {args.dialogs / dlg_s:.0f} dialogs/s"
        f" (cpu: {args.dialogs / dlg_c:.0f}/s)"
    )
    print(
        f"verify:   {rep.total} in {ver_s:.2f}s = {rep.total / ver_s:.0f} samples/s"
        f" (cpu: {rep.total / ver_c:.0f}/s; kept {rep.kept})"
    )
    print(
        f"  peer jsonschema-per-call only: {rep.total / peer_s:.0f} samples/s; ours/peer time = {ver_s / peer_s:.2f}x"
    )
    print(
        f"toolcalls python parse: {len(texts) / ours:.0f} lists/s; ast.parse alone {len(texts) / floor:.0f}/s; ours/ast time = {ours / floor:.2f}x"
    )


if __name__ == "__main__":
    main()
