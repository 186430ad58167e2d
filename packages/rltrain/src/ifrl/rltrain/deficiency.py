"""Deficiency selection (iTool): find the samples the current policy still gets wrong.

A :class:`ToolSample` is one assistant turn of a tool-use conversation: the rendered prompt (chat
template with tools and a generation prompt: exactly the prompt the policy answers at sampling
time, :func:`ifrl.core.chat.turn_text`), the gold response text as the template renders it, and
the gold calls (empty for a text answer). Its prompt is text the policy's own template wrote, so
it is sent as :class:`~ifrl.core.records.RawText`. Two selectors:

* **perplexity** — :func:`gold_perplexities` scores each sample by the policy's perplexity on the
  gold response (batched forward passes, response tokens only); :func:`select_hardest` keeps the
  hardest ``fraction`` (iTool: 0.3), separately for tool-call and text samples;
* **sampling** — :func:`select_by_sampling` samples ``k`` responses per sample and keeps those
  with at least ``min_wrong`` responses that the tool-call matcher does not accept as exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from ifrl.core.chat import turn_text
from ifrl.core.generation import Generator
from ifrl.core.matcher import MatcherConfig, match_text
from ifrl.core.records import Conversation, RawText, Record, SamplingParams, ToolCall
from ifrl.rltrain.dpo import common_prefix

Kind = Literal["tool_call", "text"]


@dataclass(frozen=True)
class ToolSample(Record):
    """One assistant turn to learn: prompt text, gold response text and gold calls."""

    id: str
    prompt: str
    response: str
    gold_calls: tuple[ToolCall, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def kind(self) -> Kind:
        return "tool_call" if self.gold_calls else "text"


def samples_from_conversation(
    tokenizer: Any, conv: Conversation, conv_id: str, *, last_only: bool = False
) -> list[ToolSample]:
    """One sample per assistant turn (only the last with ``last_only``), rendered by the template."""
    out: list[ToolSample] = []
    turns = [i for i, m in enumerate(conv.messages) if m.role == "assistant"]
    if last_only:
        turns = turns[-1:]
    for i in turns:
        prompt, response = turn_text(tokenizer, conv, i)
        out.append(
            ToolSample(
                id=f"{conv_id}/{i}",
                prompt=prompt,
                response=response.rstrip("\n"),
                gold_calls=tuple(
                    ToolCall(c.name, dict(c.arguments)) for c in conv.messages[i].tool_calls
                ),
                meta={"conversation": conv_id, "turn": i},
            )
        )
    return out


def _response_ids(tokenizer: Any, sample: ToolSample) -> tuple[list[int], int]:
    prompt = list(tokenizer(sample.prompt, add_special_tokens=False)["input_ids"])
    full = list(tokenizer(sample.prompt + sample.response, add_special_tokens=False)["input_ids"])
    return full, common_prefix(prompt, full)


@torch.no_grad()
def gold_perplexities(
    model: torch.nn.Module,
    tokenizer: Any,
    samples: Sequence[ToolSample],
    batch_size: int = 8,
    *,
    progress: bool = False,
) -> list[float]:
    """``exp`` of the policy's mean token NLL on each gold response (right-padded batches),
    with a progress bar over the samples when ``progress``."""
    from tqdm.auto import tqdm

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    was = model.training
    model.eval()
    out: list[float] = []
    encoded = [_response_ids(tokenizer, s) for s in samples]
    bar = tqdm(total=len(encoded), desc="deficiency", unit="sample", disable=not progress)
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        target_mask = torch.zeros((len(chunk), width), dtype=torch.bool)
        for r, (row, n_prompt) in enumerate(chunk):
            ids[r, : len(row)] = torch.tensor(row)
            mask[r, : len(row)] = 1
            target_mask[r, max(n_prompt, 1) : len(row)] = True
        logits = (
            model(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False)
            .logits[:, :-1, :]
            .float()
        )
        targets = ids[:, 1:].to(device)
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        tmask = target_mask[:, 1:].to(device)
        counts = tmask.sum(-1).clamp(min=1)
        mean = (nll * tmask).sum(-1) / counts
        out.extend(math.exp(v) for v in mean.tolist())
        bar.update(len(chunk))
    bar.close()
    model.train(was)
    return out


def select_hardest(
    samples: Sequence[ToolSample],
    scores: Sequence[float],
    fraction: float = 0.3,
    *,
    by_kind: bool = True,
) -> list[ToolSample]:
    """The ``fraction`` of samples with the highest scores (at least one per non-empty group).

    With ``by_kind`` the fraction applies to tool-call and text samples separately. Ties break by
    sample id; the result keeps the input order.
    """
    if len(samples) != len(scores):
        raise ValueError(f"{len(samples)} samples but {len(scores)} scores")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction: must lie in (0, 1], got {fraction}")
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(s.kind if by_kind else "all", []).append(i)
    keep: set[int] = set()
    for idx in groups.values():
        k = max(1, math.ceil(fraction * len(idx)))
        ranked = sorted(idx, key=lambda i: (-scores[i], samples[i].id))
        keep.update(ranked[:k])
    return [s for i, s in enumerate(samples) if i in keep]


@dataclass
class SamplingSelection:
    """The samples kept by :func:`select_by_sampling`, with per-sample wrong counts."""

    kept: list[ToolSample]
    wrong: list[int]
    model_calls: int


def select_by_sampling(
    samples: Sequence[ToolSample],
    generator: Generator,
    k: int = 4,
    *,
    temperature: float = 1.0,
    max_new_tokens: int = 128,
    min_wrong: int = 1,
    seed: int = 0,
    matcher: MatcherConfig | None = None,
) -> SamplingSelection:
    """Sample ``k`` responses per sample; keep samples with at least ``min_wrong`` non-exact ones."""
    params = SamplingParams(
        n=k, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed, logprobs=False
    )
    matcher = matcher or MatcherConfig()
    # The prompts were rendered with the policy's own chat template: sent as they are.
    outputs = generator.generate([RawText(s.prompt) for s in samples], params)
    wrong = [
        sum(not match_text(c.text, s.gold_calls, matcher).exact for c in comps)
        for s, comps in zip(samples, outputs)
    ]
    kept = [s for s, w in zip(samples, wrong) if w >= min_wrong]
    return SamplingSelection(kept, wrong, sum(len(c) for c in outputs))
