"""The text the tiny models' tokenizer is trained on, generated deterministically.

:func:`tokenizer_corpus` returns the same list of documents on every call and every machine:
hand-written English sentences shipped as ``english.txt``, step-by-step arithmetic word problems
(GSM8K-style, ending in ``#### <answer>``), JSON / Python-style / Hermes tool calls with their
JSON schemas, and chat-formatted turns, so the byte-level BPE learns merges for everything the
later pipelines feed the tiny models.
"""

from __future__ import annotations

import json
import random
from importlib import resources

_NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jun", "Kofi")
_ITEMS = ("apples", "books", "coins", "eggs", "marbles", "pencils", "stamps", "shells", "cards")
_CITIES = ("Paris", "Lagos", "Tokyo", "Lima", "Oslo", "Cairo", "Delhi", "Austin", "Perth")
_TOOLS: tuple[dict[str, object], ...] = (
    {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city name."},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
    {
        "name": "calculator",
        "description": "Evaluate an arithmetic expression.",
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    },
    {
        "name": "search_books",
        "description": "Search the library catalogue.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1},
            },
            "required": ["query"],
        },
    },
)


def english_lines() -> list[str]:
    """The hand-written English sentences shipped with the package."""
    text = resources.files("ifrl.core.data").joinpath("english.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def arithmetic_problem(rng: random.Random) -> tuple[str, list[str], int]:
    """A word problem, its solution steps (``a op b = c`` lines) and the final answer."""
    name = rng.choice(_NAMES)
    item = rng.choice(_ITEMS)
    value = rng.randint(2, 40)
    sentences = [f"{name} has {value} {item}."]
    steps: list[str] = []
    for _ in range(rng.randint(1, 3)):
        op = rng.choice("+-*")
        if op == "+":
            k = rng.randint(1, 30)
            sentences.append(f"{name} gets {k} more.")
            new = value + k
        elif op == "-":
            k = rng.randint(1, max(1, value - 1))
            sentences.append(f"{name} gives away {k}.")
            new = value - k
        else:
            k = rng.randint(2, 4)
            sentences.append(f"Then the number of {item} is multiplied by {k}.")
            new = value * k
        steps.append(f"{value} {op} {k} = {new}")
        value = new
    question = " ".join(sentences) + f" How many {item} does {name} have now?"
    return question, steps, value


def _arithmetic_doc(rng: random.Random) -> str:
    question, steps, answer = arithmetic_problem(rng)
    lines = [f"Question: {question}"]
    lines += [f"Step {i}: {s}" for i, s in enumerate(steps, 1)]
    lines += [f"The answer is {answer}", f"#### {answer}"]
    return "\n".join(lines)


def _tool_doc(rng: random.Random) -> str:
    city = rng.choice(_CITIES)
    a, b = rng.randint(1, 999), rng.randint(1, 99)
    calls = [
        {
            "name": "get_weather",
            "arguments": {"city": city, "unit": rng.choice(["celsius", "fahrenheit"])},
        },
        {"name": "calculator", "arguments": {"expression": f"{a} * {b}"}},
        {"name": "search_books", "arguments": {"query": rng.choice(_ITEMS), "limit": b}},
    ]
    call = rng.choice(calls)
    args = ", ".join(f"{k}={v!r}".replace("'", '"') for k, v in call["arguments"].items())  # type: ignore[attr-defined]
    tool = rng.choice(_TOOLS)
    return "\n".join(
        [
            json.dumps(tool),
            f"<tool_call>\n{json.dumps(call)}\n</tool_call>",
            f"[{call['name']}({args})]",
            json.dumps(
                {
                    "type": "function",
                    "function": {**call, "arguments": json.dumps(call["arguments"])},
                }
            ),
            f'<tool_response>\n{{"result": {a * b}, "city": "{city}"}}\n</tool_response>',
        ]
    )


def _chat_doc(rng: random.Random, english: list[str]) -> str:
    question, steps, answer = arithmetic_problem(rng)
    reasoning = " ".join(steps)
    return (
        f"<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{question}<|im_end|>\n"
        f"<|im_start|>assistant\n<think>\n{reasoning}\n</think>\n\nThe answer is {answer}.<|im_end|>\n"
        f"<|im_start|>user\n{rng.choice(english)}<|im_end|>\n"
    )


def tokenizer_corpus(n_docs: int = 1500, seed: int = 1234) -> list[str]:
    """Deterministic training documents for the tiny tokenizer (independent of the model seed)."""
    rng = random.Random(seed)
    english = english_lines()
    docs: list[str] = list(english)
    for i in range(n_docs):
        kind = i % 4
        if kind == 0:
            docs.append(" ".join(rng.sample(english, 3)))
        elif kind == 1:
            docs.append(_arithmetic_doc(rng))
        elif kind == 2:
            docs.append(_tool_doc(rng))
        else:
            docs.append(_chat_doc(rng, english))
    return docs
