"""The tool-calling domain: first assistant turns of toolgen dialogs over a split API pool.

The pool (:class:`ifrl.toolgen.ProgrammaticApiGenerator`) is split by a hash of each API's name:
a share ``holdout_share`` of the APIs is held out. Training conversations are planned over the
seen APIs only; the *seen* evaluation set is planned over the seen APIs from dialog indices the
training never used (and user messages it never saw); the *unseen* evaluation set is planned over
the held-out APIs only, so neither its tools nor its calls ever appear in training.

Each conversation is ``tools`` (the called tools plus at most one distractor), the user's request
and the assistant's first turn: one or more calls. The micro tool model's chat template
(:data:`COMPACT_TEMPLATE`) is the ``ifrl.core.tiny`` ChatML template with the tools written as one
signature a line (``name(arg: type, opt?: type)``) instead of JSON schemas, so a prompt is about a
hundred tokens instead of a thousand; calls are Hermes ``<tool_call>`` JSON as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import replace

from ifrl.core.records import Conversation, Message, ToolSpec
from ifrl.core.tiny import CHAT_TEMPLATE
from ifrl.pipelines.micro.spec import MicroSpec

_TOOLS_START = "{%- if tools -%}\n"
_TOOLS_END = "{%- endif -%}\n"
_COMPACT_TOOLS = (
    "{%- if tools -%}\n"
    "{{- '\\n\\n# Tools' -}}\n"
    "{%- for tool in tools -%}\n"
    "{%- set fn = tool['function'] if tool.get('function') else tool -%}\n"
    "{%- set params = fn.get('parameters') or {} -%}\n"
    "{%- set required = params.get('required') or [] -%}\n"
    "{{- '\\n' + fn['name'] + '(' -}}\n"
    "{%- for key, value in (params.get('properties') or {}).items() -%}\n"
    "{%- if not loop.first -%}{{- ', ' -}}{%- endif -%}\n"
    "{{- key -}}{%- if key not in required -%}{{- '?' -}}{%- endif -%}\n"
    "{{- ': ' + (value.get('type') or 'any') -}}\n"
    "{%- endfor -%}\n"
    "{{- ')' -}}\n"
    "{%- endfor -%}\n"
    "{%- endif -%}\n"
)


def _compact_template() -> str:
    start = CHAT_TEMPLATE.index(_TOOLS_START)
    end = CHAT_TEMPLATE.index(_TOOLS_END, start) + len(_TOOLS_END)
    return CHAT_TEMPLATE[:start] + _COMPACT_TOOLS + CHAT_TEMPLATE[end:]


COMPACT_TEMPLATE = _compact_template()


def held_out_api(name: str, share: float) -> bool:
    """Whether the API ``name`` is held out (a fixed hash of the name)."""
    digest = hashlib.sha256(f"micro-tool-holdout:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def split_pool(spec: MicroSpec) -> tuple[list[ToolSpec], list[ToolSpec]]:
    """The API pool of ``spec`` as (seen, held-out) APIs."""
    from ifrl.toolgen import ProgrammaticApiGenerator

    pool = list(ProgrammaticApiGenerator(seed=spec.seed).generate(int(spec.extra["pool_size"])))
    seen = [a for a in pool if not held_out_api(a.name, spec.holdout_share)]
    held = [a for a in pool if held_out_api(a.name, spec.holdout_share)]
    if len(seen) < 2 or len(held) < 2:
        raise ValueError(f"pool of {len(pool)} APIs too small to hold out {spec.holdout_share}")
    return seen, held


def first_turns(
    apis: Sequence[ToolSpec], seed: int, start: int, max_calls: int = 0, scalar_only: bool = False
) -> Iterator[Conversation]:
    """First-turn conversations planned over ``apis`` from dialog index ``start`` on; with
    ``max_calls`` only turns of at most that many calls, with ``scalar_only`` only calls whose
    arguments are all strings, numbers or booleans."""
    from ifrl.toolgen import DialogGenerator, Planner

    generator = DialogGenerator(Planner(apis, seed=seed, max_tools=2))
    index = start
    while True:
        for result in generator.run(list(range(index, index + 64))):
            conv = _first_turn(result.dialog)
            if conv is None:
                continue
            calls = conv.messages[1].tool_calls
            if max_calls and len(calls) > max_calls:
                continue
            if scalar_only and not all(
                isinstance(v, (str, int, float, bool)) for c in calls for v in c.arguments.values()
            ):
                continue
            yield conv
        index += 64


#: Dialog types whose first assistant turn is one call, or one tool called twice.
FIRST_TURN_TYPES = ("single", "parallel", "dependent", "tool_error")


def _first_turn(dialog: object) -> Conversation | None:
    if dialog is None or dialog.type not in FIRST_TURN_TYPES:  # type: ignore[attr-defined]
        return None
    messages = dialog.messages  # type: ignore[attr-defined]
    if len(messages) < 2 or messages[0].role != "user" or not messages[1].tool_calls:
        return None
    called = {c.name for c in messages[1].tool_calls}
    tools: tuple[ToolSpec, ...] = dialog.tools  # type: ignore[attr-defined]
    distractors = [t for t in tools if t.name not in called][:1]
    kept = tuple(replace(t, responses=None) for t in tools if t.name in called or t in distractors)
    calls = tuple(replace(c, id=None) for c in messages[1].tool_calls)
    return Conversation(
        messages=(messages[0], Message(role="assistant", content=None, tool_calls=calls)),
        tools=kept,
    )


def _take(stream: Iterator[Conversation], n: int, skip: set[str]) -> list[Conversation]:
    out: list[Conversation] = []
    for conv in stream:
        text = conv.messages[0].content or ""
        if text in skip:
            continue
        skip.add(text)
        out.append(conv)
        if len(out) == n:
            break
    return out


def tool_data(spec: MicroSpec) -> dict[str, list[Conversation]]:
    """``train``, ``eval_seen`` and ``eval_unseen`` conversations of ``spec`` (deterministic)."""
    seen, held = split_pool(spec)
    users: set[str] = set()
    calls, scalar = int(spec.extra.get("max_calls", 0)), bool(spec.extra.get("scalar_only", False))
    train = _take(first_turns(seen, spec.seed, 0, calls, scalar), spec.train_examples, users)
    eval_seen = _take(
        first_turns(seen, spec.seed, 10_000_000, calls, scalar), spec.eval_examples, users
    )
    eval_unseen = _take(
        first_turns(held, spec.seed + 1, 0, calls, scalar), spec.eval_examples, users
    )
    seen_names = {t.name for c in train for t in c.tools}
    assert not seen_names & {a.name for a in held}, "a held-out API leaked into training"
    return {"train": train, "eval_seen": eval_seen, "eval_unseen": eval_unseen}
