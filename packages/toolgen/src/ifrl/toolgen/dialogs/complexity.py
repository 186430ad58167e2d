"""Complexity evaluation: keep samples whose loss under the target model lies in a band.

The loss is H = -(1/n) Σ log p(t_i | x, t_<i) of the first assistant reply ``t`` given the tools
and the messages before it (``x``). Both are rendered with the target model's own chat template
(:func:`ifrl.core.chat.turn_text`): ``x`` is exactly the prompt the model answers at sampling
time (tools in its system block, generation prompt included) and ``t`` the turn as the template
writes it, tool calls in the model's own format and end-of-turn token included — what SFT would
train on. :class:`ComplexityEvaluator` drops samples outside ``[low, high]`` and steers the
dialog-type mix away from types that come out too easy or too hard.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from ifrl.core.chat import turn_text
from ifrl.core.errors import require
from ifrl.core.records import Conversation
from ifrl.toolgen.dialog import DIALOG_TYPES, Dialog


@runtime_checkable
class LossScorer(Protocol):
    """The target model's mean token loss of each sample's last message (an assistant turn)
    given the messages and tools before it."""

    def losses(self, samples: Sequence[Conversation]) -> list[float]: ...


class HFLossScorer:
    """:class:`LossScorer` over a transformers causal LM (the target model) and its chat
    template."""

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

    def texts(self, sample: Conversation) -> tuple[str, str]:
        """``(x, t)`` for ``sample``: the rendered prompt before its last message and that
        message as the template writes it (trailing whitespace dropped)."""
        prompt, turn = turn_text(self.tokenizer, sample, len(sample.messages) - 1)
        return prompt, turn.rstrip()

    def losses(self, samples: Sequence[Conversation]) -> list[float]:
        torch = self.torch
        out = []
        with torch.no_grad():
            for sample in samples:
                prompt, target = self.texts(sample)
                # The rendered template holds its own special tokens: add none.
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


def complexity_sample(dialog: Dialog) -> Conversation | None:
    """The dialog's conversation (tools included) up to and including its first assistant turn,
    whose loss measures the sample's complexity; ``None`` without an assistant turn."""
    conv = dialog.conversation()
    for i, m in enumerate(conv.messages):
        if m.role == "assistant":
            return Conversation(conv.messages[: i + 1], conv.tools)
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
        samples = [complexity_sample(d) for d in dialogs]
        todo = [p for p in samples if p is not None]
        scores = iter(self.scorer.losses(todo)) if todo else iter(())
        out: list[tuple[float | None, str | None]] = []
        for dialog, sample in zip(dialogs, samples):
            if sample is None:
                out.append((None, None))
                continue
            h = next(scores)
            reason = "too_easy" if h < self.low else "too_hard" if h > self.high else None
            factor = 1 - self.rate if reason else 1 + self.rate
            self.weights[dialog.type] = min(20.0, max(0.05, self.weights[dialog.type] * factor))
            self.counts[reason or "in_range"] += 1
            out.append((h, reason))
        return out


__all__ = ["ComplexityEvaluator", "HFLossScorer", "LossScorer", "complexity_sample"]
