"""Complexity evaluation: keep samples whose loss under the target model lies in a band.

The loss is H = -(1/n) Σ log p(t_i | x, t_<i) of the first assistant reply ``t`` given the tools
and the messages before it (``x``). :class:`ComplexityEvaluator` drops samples outside
``[low, high]`` and steers the dialog-type mix away from types that come out too easy or too hard.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from ifrl.core.errors import require
from ifrl.core.toolcalls import render_tool_calls
from ifrl.toolgen.dialog import DIALOG_TYPES, Dialog


@runtime_checkable
class LossScorer(Protocol):
    """The target model's mean token loss of ``target`` given ``prompt``, per pair."""

    def losses(self, pairs: Sequence[tuple[str, str]]) -> list[float]: ...


class HFLossScorer:
    """:class:`LossScorer` over a transformers causal LM (the target model)."""

    def __init__(self, model: str | Any, tokenizer: Any = None, device: str = "cpu") -> None:
        require("torch", "ifrl-core", "hf")
        import torch  # heavy: loaded only when a target model is used
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        loaded: Any = (
            AutoModelForCausalLM.from_pretrained(str(model)) if isinstance(model, str) else model
        )
        self.tokenizer = tokenizer or AutoTokenizer.from_pretrained(str(model))
        self.device = device
        loaded.to(device)
        loaded.eval()
        self.model = loaded

    def losses(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        torch = self.torch
        out = []
        with torch.no_grad():
            for prompt, target in pairs:
                p = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
                t = self.tokenizer(target, add_special_tokens=False)["input_ids"]
                if not t:
                    out.append(0.0)
                    continue
                ids = torch.tensor([p + t], device=self.device)
                logits = (
                    self.model(ids).logits[0, len(p) - 1 : -1]
                    if p
                    else self.model(ids).logits[0, :-1]
                )
                tgt = ids[0, len(p) :] if p else ids[0, 1:]
                logp = torch.log_softmax(logits.float(), dim=-1).gather(1, tgt[:, None])[:, 0]
                out.append(float(-logp.mean()))
        return out


def complexity_pair(dialog: Dialog) -> tuple[str, str] | None:
    """``(x, t)`` for the loss: x = tools + messages before the first assistant turn, t = that turn."""
    for i, m in enumerate(dialog.messages):
        if m.role == "assistant":
            tools = json.dumps([t.definition() for t in dialog.tools], ensure_ascii=False)
            context = "\n".join(f"{p.role}: {p.content or ''}" for p in dialog.messages[:i])
            target = (
                render_tool_calls(m.tool_calls, "python") if m.tool_calls else (m.content or "")
            )
            return f"tools: {tools}\n{context}\nassistant: ", target
    return None


class ComplexityEvaluator:
    """Keeps samples whose loss H lies in ``[low, high]`` and steers the type mix.

    Each kept/dropped sample nudges its dialog type's weight: too easy or too hard multiplies it
    by ``1 - rate``, in range by ``1 + rate`` (bounded to [0.05, 20]).
    """

    def __init__(
        self, scorer: LossScorer, low: float = 0.0, high: float = float("inf"), rate: float = 0.1
    ) -> None:
        self.scorer = scorer
        self.low = low
        self.high = high
        self.rate = rate
        self.weights: dict[str, float] = {k: 1.0 for k in DIALOG_TYPES}
        self.counts: Counter[str] = Counter()

    def judge(self, dialogs: Sequence[Dialog]) -> list[tuple[float | None, str | None]]:
        """``(H, reason)`` per dialog; reason is ``too_easy``/``too_hard`` or ``None`` (keep)."""
        pairs = [complexity_pair(d) for d in dialogs]
        todo = [p for p in pairs if p is not None]
        scores = iter(self.scorer.losses(todo)) if todo else iter(())
        out: list[tuple[float | None, str | None]] = []
        for dialog, pair in zip(dialogs, pairs):
            if pair is None:
                out.append((None, None))
                continue
            h = next(scores)
            reason = "too_easy" if h < self.low else "too_hard" if h > self.high else None
            factor = 1 - self.rate if reason else 1 + self.rate
            self.weights[dialog.type] = min(20.0, max(0.05, self.weights[dialog.type] * factor))
            self.counts[reason or "in_range"] += 1
            out.append((h, reason))
        return out


__all__ = ["ComplexityEvaluator", "HFLossScorer", "LossScorer", "complexity_pair"]
