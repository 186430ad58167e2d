"""Generate responses for many prompts in batches, resumably, with a progress bar."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from ifrl.core.generation import Generator, Prompt
from ifrl.core.jsonl import JSONLWriter, read_jsonl
from ifrl.core.records import Completion, SamplingParams

__all__ = ["generate_responses", "is_prompt_error"]


def is_prompt_error(err: BaseException) -> bool:
    """Whether ``err`` is the fault of one prompt rather than of the backend.

    That is vLLM's client error (``VLLMClientError``: a prompt longer than the model's context),
    a ``ValueError`` (older vLLM and transformers reject prompts this way), or an HTTP 4xx answer
    from a server other than 408 (timeout) and 429 (rate limit). Connection failures, timeouts
    and 5xx answers are not: they would fail every prompt, and the run should stop rather than
    record them all as errors.
    """
    status = getattr(err, "status", None)
    if isinstance(status, int):
        return 400 <= status < 500 and status not in (408, 429)
    if any(cls.__name__ == "VLLMClientError" for cls in type(err).__mro__):
        return True  # vllm.exceptions, matched by name so that evals does not import vllm
    return isinstance(err, ValueError)


def generate_responses(
    generator: Generator,
    prompts: Sequence[tuple[str, Prompt]],
    params: SamplingParams,
    *,
    batch_size: int = 64,
    cache: str | os.PathLike[str] | None = None,
    progress: bool = True,
    errors: dict[str, str] | None = None,
) -> dict[str, list[str]]:
    """``params.n`` responses per ``(id, prompt)``, generated ``batch_size`` prompts at a time.

    With ``cache`` (a JSONL file of ``{"id", "responses"}``) every finished batch is appended
    at once, and ids already there are not generated again, so an interrupted run resumes.

    With ``errors`` (a dict to fill), a batch that fails with a prompt's fault
    (:func:`is_prompt_error`, e.g. a prompt longer than the context) is retried prompt by
    prompt; a prompt that still fails gets ``params.n`` empty responses (scored as wrong) and its
    message in ``errors[id]`` (also kept in the cache). Without it, such a failure is raised.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    done: dict[str, list[str]] = {}
    cache_path = Path(cache) if cache is not None else None
    if cache_path is not None and cache_path.exists():
        for row in read_jsonl(cache_path, skip_bad=True):
            if isinstance(row.get("id"), str) and isinstance(row.get("responses"), list):
                done[row["id"]] = [str(r) for r in row["responses"]]
                if errors is not None and isinstance(row.get("error"), str):
                    errors[row["id"]] = row["error"]
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
            failed: dict[str, str] = {}
            try:
                outputs = generator.generate([p for _, p in batch], params)
            except Exception as err:
                if errors is None or not is_prompt_error(err):
                    raise
                outputs, failed = _one_by_one(generator, batch, params)
            if len(outputs) != len(batch):
                raise RuntimeError(
                    f"the generator returned {len(outputs)} results for {len(batch)} prompts"
                )
            for (ident, _), completions in zip(batch, outputs):
                texts = [c.text for c in completions]
                done[ident] = texts
                record: dict[str, object] = {"id": ident, "responses": texts}
                if ident in failed:
                    record["error"] = failed[ident]
                    if errors is not None:
                        errors[ident] = failed[ident]
                if writer is not None:
                    writer.write(record)
            bar.update(len(batch))
    return {i: done[i] for i, _ in prompts}


def _one_by_one(
    generator: Generator, batch: Sequence[tuple[str, Prompt]], params: SamplingParams
) -> tuple[list[list[Completion]], dict[str, str]]:
    """Generate each prompt alone; a prompt that fails gets ``params.n`` empty completions."""
    outputs: list[list[Completion]] = []
    failed: dict[str, str] = {}
    for ident, prompt in batch:
        try:
            outputs.append(generator.generate([prompt], params)[0])
        except Exception as err:
            if not is_prompt_error(err):
                raise
            failed[ident] = f"{type(err).__name__}: {err}"
            outputs.append([Completion(text="", finish_reason="error")] * params.n)
    return outputs, failed
