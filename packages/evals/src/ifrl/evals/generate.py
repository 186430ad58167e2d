"""Generate responses for many prompts in batches, resumably, with a progress bar."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from ifrl.core.generation import Generator, Prompt
from ifrl.core.jsonl import JSONLWriter, read_jsonl
from ifrl.core.records import SamplingParams

__all__ = ["generate_responses"]


def generate_responses(
    generator: Generator,
    prompts: Sequence[tuple[str, Prompt]],
    params: SamplingParams,
    *,
    batch_size: int = 64,
    cache: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> dict[str, list[str]]:
    """``params.n`` responses per ``(id, prompt)``, generated ``batch_size`` prompts at a time.

    With ``cache`` (a JSONL file of ``{"id", "responses"}``) every finished batch is appended
    at once, and ids already there are not generated again, so an interrupted run resumes.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    done: dict[str, list[str]] = {}
    cache_path = Path(cache) if cache is not None else None
    if cache_path is not None and cache_path.exists():
        for row in read_jsonl(cache_path, skip_bad=True):
            if isinstance(row.get("id"), str) and isinstance(row.get("responses"), list):
                done[row["id"]] = [str(r) for r in row["responses"]]
    todo = [(i, p) for i, p in prompts if i not in done]
    from tqdm.auto import tqdm

    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(
            tqdm(
                total=len(prompts),
                initial=len(prompts) - len(todo),
                desc="generating",
                disable=not progress,
            )
        )
        writer = (
            stack.enter_context(JSONLWriter(cache_path, append=True))
            if cache_path is not None
            else None
        )
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            outputs = generator.generate([p for _, p in batch], params)
            if len(outputs) != len(batch):
                raise RuntimeError(
                    f"the generator returned {len(outputs)} results for {len(batch)} prompts"
                )
            for (ident, _), completions in zip(batch, outputs):
                texts = [c.text for c in completions]
                done[ident] = texts
                if writer is not None:
                    writer.write({"id": ident, "responses": texts})
            bar.update(len(batch))
    return {i: done[i] for i, _ in prompts}
