"""Small deterministic datasets for the rltrain tests."""

from __future__ import annotations

import json
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
