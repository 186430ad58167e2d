"""Small deterministic datasets for the rltrain tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

WORDS = ["apple", "river", "stone", "green", "cloud", "music", "bread", "light", "ocean", "paper"]


def conversations(n: int, seed: int = 0, tools: bool = False) -> list[dict[str, Any]]:
    """``n`` short chats; assistants echo a fixed pattern so SFT can learn it."""
    out = []
    for i in range(n):
        a, b = WORDS[(i + seed) % 10], WORDS[(3 * i + seed + 1) % 10]
        row: dict[str, Any] = {
            "messages": [
                {"role": "user", "content": f"say {a} and {b}"},
                {"role": "assistant", "content": f"{a} {b} {a} {b}"},
            ]
        }
        if tools and i % 2:
            row["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": "lookup",
                        "description": "Look a word up.",
                        "parameters": {"type": "object", "properties": {"w": {"type": "string"}}},
                    },
                }
            ]
            row["messages"][1] = {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"type": "function", "function": {"name": "lookup", "arguments": {"w": a}}}
                ]
                * (1 + i % 3),
            }
            row["messages"] += [
                {"role": "tool", "content": f"{a} is a word"},
                {"role": "assistant", "content": f"{a} is a word"},
            ]
        out.append(row)
    return out


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def no_comma(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
    """1.0 for completions without a comma (TRL reward convention)."""
    return [0.0 if "," in _text(c) else 1.0 for c in completions]


def lowercase(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
    """1.0 for completions with no uppercase letter."""
    return [0.0 if any(ch.isupper() for ch in _text(c)) else 1.0 for c in completions]


def _text(c: Any) -> str:
    return c if isinstance(c, str) else str(c[-1]["content"])


PROMPTS = [{"prompt": f"Write about the {w}, Then Stop."} for w in WORDS]


class Scripted:
    """A fast stand-in for sampling from the policy: prompt ``k`` of a call gets completions
    ``"<first word> s<j>"`` (token ids ``40 + j``, then EOS) for ``j < n``."""

    def __init__(self, eos: int) -> None:
        self.eos_ids = frozenset({eos})
        self.calls = 0

    def generate(self, prompts: Sequence[Any], params: Any) -> list[list[Any]]:
        from ifrl.core.records import Completion

        self.calls += 1
        eos = next(iter(self.eos_ids))
        out = []
        for p in prompts:
            assert not isinstance(p, str), "GRPO sends RawText or a Conversation, never a str"
            head = p.text.split()[0] if hasattr(p, "text") else "chat"
            out.append(
                [Completion(text=f"{head} s{j}", token_ids=(40 + j, eos)) for j in range(params.n)]
            )
        return out


def by_kind(prompts: list[Any], completions: list[Any], **columns: Any) -> list[float | None]:
    """Rows of kind ``flat`` score 1.0 whatever the completion (a zero-variance group); rows of
    kind ``spread`` score the parity of the sample index ``s<j>`` (``Scripted`` completions),
    rows of kind ``lower`` 1.0 without an uppercase letter; other rows have no reward.
    Logs the pass rate per kind through ``log_metric`` (TRL's reward keyword)."""
    out: list[float | None] = []
    for c, kind in zip(completions, columns["kind"]):
        if kind == "flat":
            out.append(1.0)
        elif kind == "spread":
            out.append(float(int(_text(c).rsplit("s", 1)[1]) % 2))
        elif kind == "lower":
            out.append(0.0 if any(ch.isupper() for ch in _text(c)) else 1.0)
        else:
            out.append(None)
    log = columns.get("log_metric")
    if callable(log):
        for kind in sorted({k for k in columns["kind"] if k}):
            vals = [v for v, k in zip(out, columns["kind"]) if k == kind and v is not None]
            if vals:
                log(f"kinds/{kind}/pass_rate", sum(vals) / len(vals))
    return out


def constant(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
    """1.0 for everything: no group ever has reward variance."""
    return [1.0] * len(completions)
