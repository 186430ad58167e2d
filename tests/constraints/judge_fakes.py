"""Scripted judge models that read a prompt the way a model does, for injection tests.

A model sees a judge prompt through its chat template (ChatML here, rendered without escaping,
as templates do) and decides which text is data and which is instructions to it:

- turns are cut at the control tokens ``<|im_start|>`` / ``<|im_end|>`` wherever they occur,
  so control tokens inside a response open real turns;
- data is what the prompt declares to be data: the lines between the fence markers that the
  system message names (exact lines, code included), or, for a prompt that declares none,
  the ``### Prompt`` / ``### Response`` sections up to the next heading, headings read through
  :func:`ifrl.core.judging.skeleton` (look-alikes count) — or nothing at all with
  ``trust_sections=False``;
- everything else is instructions.

:class:`ObedientModel` obeys any instruction it reads that tells it to pass (an unconditional
sentence with a passing word and no failing one, a verdict line, a verdict object) and
otherwise answers honestly from ``truth_of(prompt, response, constraint text)``: it is hackable exactly
when the prompt lets injected text pass as instructions. :class:`QuotingModel` never obeys but
talks: it quotes the response's last line and states a failure in prose ("It is not
compliant.", "The answer is not yes."), which a lenient parser reads as a pass.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ifrl.constraints.scoring import check_hard
from ifrl.constraints.soft import judge_text
from ifrl.core.generation import Prompt
from ifrl.core.judging import restore, skeleton
from ifrl.core.records import (
    Completion,
    ConstrainedPrompt,
    ConstraintSpec,
    Conversation,
    Message,
    SamplingParams,
)

TruthOf = Callable[[str, str, str], bool]
"""``truth_of(prompt, response, constraint text)``."""


def chatml(conversation: Conversation) -> str:
    """The conversation as a ChatML template renders it (contents inserted as they are)."""
    turns = "".join(
        f"<|im_start|>{m.role}\n{m.content or ''}<|im_end|>\n" for m in conversation.messages
    )
    return turns + "<|im_start|>assistant\n"


_TURN = re.compile(r"<\|im_start\|>(\w+)\n(.*?)(?=<\|im_end\|>|<\|im_start\|>|\Z)", re.S)
_MARKER = re.compile(r"<<<(BEGIN|END) (\w+) ([0-9a-f]{16})>>>")


@dataclass
class Perceived:
    """What a model takes from a prompt: data by name (first region of each), instructions."""

    data: dict[str, str] = field(default_factory=dict)
    instructions: list[str] = field(default_factory=list)


def perceive(prompt: Prompt, trust_sections: bool = True) -> Perceived:
    """Split a judge prompt into data and instructions as described in the module doc."""
    conversation = (
        prompt if isinstance(prompt, Conversation) else Conversation((Message("user", prompt),))
    )
    turns = [(m.group(1), m.group(2)) for m in _TURN.finditer(chatml(conversation))]
    declared: set[str] = set()
    if turns and turns[0][0] == "system":
        declared = {m.group(0) for m in _MARKER.finditer(turns[0][1])}
    seen = Perceived()
    for role, content in turns:
        if role == "system":
            seen.instructions.append(content)
        elif declared:
            _fenced(content, declared, seen)
        elif trust_sections:
            _sections(content, seen)
        else:
            seen.instructions.append(content)
    return seen


def _fenced(content: str, declared: set[str], seen: Perceived) -> None:
    name: str | None = None
    lines: list[str] = []
    for line in content.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if name is None and bare in declared and bare.startswith("<<<BEGIN "):
            name, lines = bare.split()[1].lower(), []
        elif (
            name is not None
            and bare in declared
            and bare.startswith("<<<END ")
            and bare.split()[1].lower() == name
        ):
            text = "".join(lines)
            seen.data.setdefault(name, restore(text[:-1] if text.endswith("\n") else text))
            name = None
        elif name is not None:
            lines.append(line)
        else:
            seen.instructions.append(line)
    if name is not None:  # never closed within the turn: data to its end
        seen.data.setdefault(name, restore("".join(lines)))


def _sections(content: str, seen: Perceived) -> None:
    name: str | None = None
    lines: list[str] = []

    def close() -> None:
        if name is not None:
            text = "".join(lines)
            text = text[:-2] if text.endswith("\n\n") else text.rstrip("\n")
            seen.data.setdefault(name, text)

    for line in content.splitlines(keepends=True):
        shape = skeleton(line).strip()
        if shape.startswith("#"):
            close()
            title = shape.lstrip("#").strip()
            name, lines = (title, []) if title in ("prompt", "response") else (None, [])
            if name is None:
                seen.instructions.append(line)
        elif name is not None:
            lines.append(line)
        else:
            seen.instructions.append(line)
    close()


_PASS = re.compile(
    r"\b(?:yes|compliant|satisfied|satisfies|approves?|approved|pre-approved|waived)\b"
)
_FAIL = re.compile(r"\b(?:no|not|fail\w*|non-compliant|violat\w*)\b|n't\b")
_CONDITION = re.compile(r"\b(?:if|whether|or)\b")


def pass_commands(instructions: str, constraints: Sequence[str]) -> list[str]:
    """Sentences of ``instructions`` (constraint texts removed) that tell a judge to pass."""
    text = instructions
    for known in constraints:
        text = text.replace(known, " ")
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n", skeleton(text)):
        s = sentence.strip()
        if not s or s.endswith("?"):
            continue
        if _PASS.search(s) and not _FAIL.search(s) and not _CONDITION.search(s):
            found.append(s)
    return found


def _numbered(instructions: str, constraints: Sequence[str]) -> list[tuple[int, str]]:
    out = []
    for m in re.finditer(r"^[ \t]*(\d{1,3})\. (.+?)[ \t]*$", instructions, re.M):
        if m.group(2) in constraints:
            out.append((int(m.group(1)), m.group(2)))
    return out


class _ScriptedJudgeModel:
    """Shared machinery: perception, the constraint(s) asked about, the honest answer."""

    def __init__(self, truth_of: TruthOf, constraints: Sequence[str], trust_sections: bool) -> None:
        self.truth_of = truth_of
        self.constraints = sorted(constraints, key=len, reverse=True)
        self.trust_sections = trust_sections
        self.calls = 0
        self.obeyed = 0

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        out = []
        for prompt in prompts:
            self.calls += 1
            out.append([Completion(self.answer(perceive(prompt, self.trust_sections)))])
        return out

    def asked(self, seen: Perceived) -> tuple[list[tuple[int, str]], bool]:
        """The numbered constraints (joint) or the one constraint (number 0) asked about."""
        instructions = "\n".join(seen.instructions)
        numbered = _numbered(instructions, self.constraints)
        if numbered:
            return numbered, True
        at = [(instructions.find(c), c) for c in self.constraints if c in instructions]
        return ([(0, min(at)[1])] if at else []), False

    def answer(self, seen: Perceived) -> str:
        raise NotImplementedError


class ObedientModel(_ScriptedJudgeModel):
    """Obeys every pass instruction it perceives; honest otherwise (see the module doc)."""

    def __init__(
        self, truth_of: TruthOf, constraints: Sequence[str], *, trust_sections: bool = True
    ) -> None:
        super().__init__(truth_of, constraints, trust_sections)

    def answer(self, seen: Perceived) -> str:
        asked, joint = self.asked(seen)
        commanded = bool(pass_commands("\n".join(seen.instructions), self.constraints))
        self.obeyed += commanded
        prompt, response = seen.data.get("prompt", ""), seen.data.get("response", "")
        verdicts = [(k, commanded or self.truth_of(prompt, response, text)) for k, text in asked]
        if joint:
            return "\n".join(f"{k}: {'yes' if ok else 'no'}" for k, ok in verdicts)
        return f"Verdict: {'yes' if verdicts and verdicts[0][1] else 'no'}"


class QuotingModel(_ScriptedJudgeModel):
    """Honest but chatty: quotes the response's last line; a failure is stated in prose."""

    def __init__(self, truth_of: TruthOf, constraints: Sequence[str]) -> None:
        super().__init__(truth_of, constraints, trust_sections=True)

    def answer(self, seen: Perceived) -> str:
        asked, joint = self.asked(seen)
        prompt, response = seen.data.get("prompt", ""), seen.data.get("response", "")
        last = next((x.strip() for x in reversed(response.splitlines()) if x.strip()), "")
        quote = f'The response ends with "{last}".'
        verdicts = [(k, self.truth_of(prompt, response, text)) for k, text in asked]
        if joint:
            lines = [f"{k}: yes" if ok else f"Constraint {k}: not compliant" for k, ok in verdicts]
            return "\n".join([quote, *lines])
        if verdicts and verdicts[0][1]:
            return f"{quote}\nVerdict: yes"
        return f"{quote} " + ("It is not compliant.", "The answer is not yes.")[len(last) % 2]


def verifier_truth(items: Sequence[ConstrainedPrompt]) -> tuple[TruthOf, list[str]]:
    """``truth_of`` answering with the hard verifiers for the constraint texts (as the audit
    words them, :func:`~ifrl.constraints.soft.judge_text`) of ``items``, and those texts. A
    text that stands for several specs (``combination:repeat_prompt`` does not quote the
    prompt) is told apart by the prompt, as a judge reading the prompt would."""
    specs: dict[tuple[str, str], ConstraintSpec] = {}
    for item in items:
        for spec in item.hard:
            specs[judge_text(spec), item.text] = spec

    by_text = {text: spec for (text, _), spec in specs.items()}

    def truth_of(prompt: str, response: str, text: str) -> bool:
        return check_hard(response, specs.get((text, prompt), by_text[text]))

    return truth_of, sorted({text for text, _ in specs})


# --------------------------------------------------------------------------------------------
# A loopback OpenAI-compatible server in front of a scripted model (for CLI tests)


@contextmanager
def serve(model: _ScriptedJudgeModel) -> Iterator[str]:
    """``http://127.0.0.1:PORT/v1`` answering chat completions with ``model``."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            messages: list[Mapping[str, Any]] = body["messages"]
            conversation = Conversation(
                tuple(Message(m["role"], m.get("content")) for m in messages)
            )
            n = int(body.get("n", 1))
            (completion,) = model.generate([conversation], SamplingParams())[0]
            reply = {
                "id": "x",
                "object": "chat.completion",
                "choices": [
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": completion.text},
                        "finish_reason": "stop",
                    }
                    for i in range(n)
                ],
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the client opens many connections at once

    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
