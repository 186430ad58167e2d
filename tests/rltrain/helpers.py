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
