"""The instruction-following domain: responses that satisfy synthesized IFEval constraints.

Prompts are :func:`ifrl.constraints.synthesize` prompts (one or two constraints of
:data:`TYPES` on a seed request); responses are written by construction (English lines from
``ifrl.core.data``, then each constraint applied: keywords worked in, words avoided, highlights,
a title, a postscript, an end phrase, commas dropped, the case changed, quotes) and kept only
when every constraint verifies strictly (:func:`ifrl.constraints.verify`).

Held-out kwargs: each kwarg *value* (a keyword, a forbidden word, an end phrase, a postscript
marker, a highlight count) is held out by a hash; training prompts hold none, ``eval_unseen``
prompts hold at least one, ``eval_seen`` prompts hold none but their text never occurs in
training. The metric is prompt-level strict compliance of the greedy response.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from typing import Any

from ifrl.core.records import ConstraintSpec, Conversation, Message
from ifrl.pipelines.micro.spec import MicroSpec

#: The IFEval constraint types the responses are written for.
TYPES = (
    "change_case:english_lowercase",
    "change_case:english_capital",
    "punctuation:no_comma",
    "startend:end_checker",
    "startend:quotation",
    "detectable_format:title",
    "keywords:existence",
    "detectable_content:postscript",
    "keywords:forbidden_words",
    "detectable_format:number_highlighted_sections",
)
SEED_FORMS = ("Write a short note about {t}.", "Describe {t}.", "Tell me about {t}.")
SEED_TOPICS = (
    "the ocean",
    "a mountain village",
    "electric cars",
    "the night sky",
    "a busy market",
    "winter mornings",
    "an old library",
    "city parks",
    "a long train ride",
    "bread baking",
    "a rainy day",
    "honey bees",
    "the first snow",
    "a school garden",
    "river boats",
    "a small museum",
    "desert plants",
    "a summer festival",
    "bicycle repair",
    "wind turbines",
)


def _values(spec: ConstraintSpec) -> list[str]:
    out: list[str] = []
    for key, value in sorted(spec.kwargs.items()):
        for v in value if isinstance(value, (list, tuple)) else [value]:
            out.append(f"{spec.id}:{key}={json.dumps(v, sort_keys=True)}")
    return out


def held_out_value(value: str, share: float) -> bool:
    """Whether a kwarg value (``"<type>:<key>=<json>"``) is held out (a fixed hash)."""
    digest = hashlib.sha256(f"micro-if-holdout:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def respond(specs: tuple[ConstraintSpec, ...], topic: str, rng: random.Random) -> str:
    """A response to a prompt about ``topic`` meant to satisfy ``specs`` (unchecked)."""
    from ifrl.core.data.corpus import english_lines

    by = {s.id: dict(s.kwargs) for s in specs}
    forbidden = {
        w.lower() for w in by.get("keywords:forbidden_words", {}).get("forbidden_words", [])
    }
    lines = [line for line in english_lines() if not any(w in line.lower() for w in forbidden)]
    body = [f"Here is a note about {topic}.", *rng.sample(lines, 2)]
    text = " ".join(body)
    if "keywords:existence" in by:
        words = list(by["keywords:existence"]["keywords"])
        text += " It also brings to mind " + " and ".join(words) + "."
    if "detectable_format:number_highlighted_sections" in by:
        n = int(by["detectable_format:number_highlighted_sections"]["num_highlights"])
        words = text.split(" ")
        for i in range(min(n, len(words))):
            words[i + 1] = f"*{words[i + 1].strip('.,')}*" + (
                "." if words[i + 1].endswith(".") else ""
            )
        text = " ".join(words)
    if "detectable_format:title" in by:
        text = f"<<{topic.title()}>>\n" + text
    if "detectable_content:postscript" in by:
        marker = by["detectable_content:postscript"]["postscript_marker"]
        text += f"\n{marker} Thank you for asking."
    if "startend:end_checker" in by:
        text += " " + by["startend:end_checker"]["end_phrase"]
    if "punctuation:no_comma" in by:
        text = text.replace(",", "")
    if "change_case:english_lowercase" in by:
        text = text.lower()
    if "change_case:english_capital" in by:
        text = text.upper()
    if "startend:quotation" in by:
        text = f'"{text}"'
    return text


def complies(text: str, specs: tuple[ConstraintSpec, ...]) -> bool:
    """Prompt-level strict compliance of ``text`` with every constraint in ``specs``."""
    from ifrl.constraints import verify

    verdicts = verify(text, [s.id for s in specs], [dict(s.kwargs) for s in specs])
    return all(v.passed for v in verdicts)


def _stream(spec: MicroSpec, salt: int) -> Iterator[tuple[Conversation, bool, dict[str, Any]]]:
    from ifrl.constraints import synthesize

    rng = random.Random(spec.seed * 1_000_003 + salt)
    key = 0
    while True:
        topic = rng.choice(SEED_TOPICS)
        seed_prompt = rng.choice(SEED_FORMS).format(t=topic)
        (item,) = synthesize([seed_prompt], (1, 2), rng, types=TYPES, start_key=key)
        key += 1
        specs = tuple(item.constraints)
        response = respond(specs, topic, rng)
        if not complies(response, specs):
            continue
        unseen = any(held_out_value(v, spec.holdout_share) for s in specs for v in _values(s))
        assert isinstance(item.prompt, str)
        conv = Conversation(
            messages=(
                Message(role="user", content=item.prompt),
                Message(role="assistant", content=response),
            )
        )
        row = {"constraints": [{"id": s.id, "kwargs": dict(s.kwargs)} for s in specs]}
        yield conv, unseen, row


def if_data(spec: MicroSpec) -> dict[str, list[dict[str, Any]]]:
    """``train``, ``eval_seen`` and ``eval_unseen`` rows (``messages`` + ``constraints``)."""
    train: list[dict[str, Any]] = []
    prompts: set[str] = set()
    for conv, unseen, row in _stream(spec, 0):
        if len(train) == spec.train_examples:
            break
        if not unseen:
            prompts.add(conv.messages[0].content or "")
            train.append({**conv.to_openai(), **row})
    out: dict[str, list[dict[str, Any]]] = {"train": train, "eval_seen": [], "eval_unseen": []}
    for conv, unseen, row in _stream(spec, 1):
        split = "eval_unseen" if unseen else "eval_seen"
        text = conv.messages[0].content or ""
        if len(out[split]) < spec.eval_examples and text not in prompts:
            prompts.add(text)
            out[split].append({**conv.to_openai(), **row})
        if all(len(out[s]) == spec.eval_examples for s in ("eval_seen", "eval_unseen")):
            break
    return out
