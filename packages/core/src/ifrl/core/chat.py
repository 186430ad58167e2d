"""How a prompt becomes model input: the one place where chat templates are applied.

A prompt (:data:`~ifrl.core.generation.Prompt`) is one of

* a :class:`~ifrl.core.records.Conversation` — rendered with the tokenizer's chat template and
  the conversation's tools (OpenAI JSON schemas, ``tools=``). It asks for the next assistant
  turn (``add_generation_prompt=True``), unless its last message is an assistant message: then
  that message is *continued* (``continue_final_message=True``, no new generation prompt), which
  is how the start of a response is given to the model;
* a :class:`~ifrl.core.records.RawText` — sent exactly as written (base models; text the caller
  rendered itself with the model's own template);
* a plain ``str`` — **deprecated**: today it is sent as raw text like ``RawText``; it will mean
  "one user message through the chat template". Pass a ``Conversation`` or a ``RawText``.

Training rows are rendered with the same templates (:func:`render_chat`, :func:`assistant_spans`),
so the prompt used at sampling time is the prefix of the row the model was trained on.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from ifrl.core.records import Conversation, Message, RawText

STR_DEPRECATED = (
    "a plain str prompt is sent as raw text, without the model's chat template; this is "
    "deprecated: pass a Conversation (rendered with the template) or RawText (raw on purpose)"
)


def warn_str_prompt() -> None:
    """The deprecation warning for a plain ``str`` prompt (every backend gives it)."""
    warnings.warn(STR_DEPRECATED, DeprecationWarning, stacklevel=4)


def continues(conversation: Conversation) -> bool:
    """Whether ``conversation`` ends with an assistant message the model continues."""
    return bool(conversation.messages) and conversation.messages[-1].role == "assistant"


def continuation(conversation: Conversation, text: str) -> Conversation:
    """``conversation`` with ``text`` as the start of the next assistant turn (the conversation
    itself when ``text`` is empty): the prompt that asks the model to go on from ``text``."""
    if not text:
        return conversation
    return Conversation((*conversation.messages, Message("assistant", text)), conversation.tools)


def portable_ids(conversation: Conversation) -> Conversation:
    """``conversation`` with its tool-call ids renamed ``call00000``, ``call00001``... in order
    (the tool results' ``tool_call_id`` with them): nine letters and digits, the only ids
    Mistral's template accepts, and accepted by every other. A conversation's start gets the
    same ids as the whole, so a prompt stays the prefix of its training row."""
    ids: dict[str, str] = {}
    messages = []
    n = 0
    for k, m in enumerate(conversation.messages):
        if m.tool_calls:
            calls = []
            for i, c in enumerate(m.tool_calls):
                new = f"call{n:05d}"
                n += 1
                # An id-less call is known by the name Conversation.to_openai(fill_ids=True)
                # gives it, which tool results may already use.
                ids[c.id if c.id is not None else f"call_{k}_{i}"] = new
                calls.append(c.replace(id=new))
            m = m.replace(tool_calls=tuple(calls))
        elif m.role == "tool" and m.tool_call_id in ids:
            m = m.replace(tool_call_id=ids[m.tool_call_id])
        messages.append(m)
    return conversation.replace(messages=tuple(messages))


def _template(tokenizer: Any) -> None:
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            "the tokenizer has no chat template: give it one, or send RawText prompts "
            "(a base model)"
        )


def render_prompt(tokenizer: Any, prompt: Conversation | RawText | str) -> str:
    """The text the model is fed for ``prompt`` (see the module docstring).

    ``tokenizer`` is anything with ``apply_chat_template`` (a transformers tokenizer). Raises
    ``ValueError`` for a conversation when the tokenizer has no chat template, or when the last
    message to continue is an assistant turn that holds tool calls.
    """
    if isinstance(prompt, RawText):
        return prompt.text
    if isinstance(prompt, str):
        warn_str_prompt()
        return prompt
    if not isinstance(prompt, Conversation):
        raise TypeError(
            f"a prompt must be a Conversation, RawText or str, got {type(prompt).__name__}"
        )
    _template(tokenizer)
    prompt = portable_ids(prompt)
    tools = [t.to_openai() for t in prompt.tools] or None
    if continues(prompt):
        last = prompt.messages[-1]
        if last.tool_calls:
            raise ValueError(
                "the last message is an assistant turn with tool calls: there is nothing to "
                "continue (end the conversation before it to ask for that turn)"
            )
        text = tokenizer.apply_chat_template(
            [*prompt.chat()[:-1], {"role": "assistant", "content": last.content or ""}],
            tools=tools,
            add_generation_prompt=False,
            continue_final_message=True,
            tokenize=False,
        )
    else:
        text = tokenizer.apply_chat_template(
            prompt.chat(), tools=tools, add_generation_prompt=True, tokenize=False
        )
    if not isinstance(text, str):  # pragma: no cover - transformers always returns str here
        raise TypeError(f"apply_chat_template returned {type(text).__name__}, expected str")
    return text


def encode_prompt(tokenizer: Any, prompt: Conversation | RawText | str) -> list[int]:
    """The token ids the model sees for ``prompt``.

    A rendered conversation already holds its special tokens, so none are added; raw text gets
    the tokenizer's own (e.g. a BOS token) unless it already starts with the BOS token (text the
    caller rendered with the template).
    """
    text = render_prompt(tokenizer, prompt)
    add = not isinstance(prompt, Conversation)
    bos = getattr(tokenizer, "bos_token", None)
    if add and isinstance(bos, str) and bos and text.startswith(bos):
        add = False
    return [int(i) for i in tokenizer(text, add_special_tokens=add)["input_ids"]]


def render_chat(tokenizer: Any, conv: Conversation, upto: int, generation_prompt: bool) -> str:
    """The first ``upto`` messages of ``conv`` (and its tools) through the chat template, with
    or without the generation prompt (tool-call arguments as objects, as templates read them)."""
    _template(tokenizer)
    chat = portable_ids(conv).to_openai(arguments_as="object")
    text = tokenizer.apply_chat_template(
        chat["messages"][:upto],
        tools=chat["tools"] or None,
        add_generation_prompt=generation_prompt,
        tokenize=False,
    )
    return str(text)


def turn_text(tokenizer: Any, conv: Conversation, i: int) -> tuple[str, str]:
    """``(prompt, response)`` for message ``i`` of ``conv`` (an assistant turn): the rendered
    messages before it with the generation prompt — exactly what the model is asked with at
    sampling time — and the text the template adds for the turn itself (its end-of-turn token
    included). Raises ``ValueError`` when the template does not render the turn after that
    prompt."""
    if conv.messages[i].role != "assistant":
        raise ValueError(f"message {i} is a {conv.messages[i].role} message, not an assistant turn")
    prompt = render_chat(tokenizer, conv, i, True)
    upto = render_chat(tokenizer, conv, i + 1, False)
    if not upto.startswith(prompt):
        raise ValueError(
            f"the chat template does not render assistant turn {i} after its own prompt"
        )
    return prompt, upto[len(prompt) :]


def assistant_spans(tokenizer: Any, conv: Conversation) -> tuple[str, list[tuple[int, int]]]:
    """The whole conversation rendered, and the character span of every assistant turn in it.

    A turn's span is what the template writes for it after the generation prompt, through its
    end-of-turn token (trailing whitespace excluded). Each turn is rendered after its own prompt
    (:func:`turn_text`) and found in the whole rendering from the end of the previous turn on,
    so templates that move earlier content as the conversation grows (Mistral's tool list goes
    before the latest user message) are handled. Raises ``ValueError`` when a turn cannot be
    found.
    """
    full = render_chat(tokenizer, conv, len(conv.messages), False)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for i, msg in enumerate(conv.messages):
        if msg.role != "assistant":
            continue
        prompt, turn = turn_text(tokenizer, conv, i)
        body = turn.rstrip()
        if full.startswith(prompt + body) and len(prompt) >= cursor:
            start = len(prompt)
        else:
            found = full.find(body, cursor)
            if found < 0:
                raise ValueError(f"assistant turn {i} does not appear in the rendered conversation")
            start = found
        spans.append((start, start + len(body)))
        cursor = start + len(body)
    return full, spans


def label_tokens(
    offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
) -> list[bool]:
    """For each token (its character ``offsets``), whether it starts inside one of ``spans``."""
    return [any(s <= a < e for s, e in spans) for a, _b in offsets]


__all__ = [
    "assistant_spans",
    "continuation",
    "continues",
    "encode_prompt",
    "label_tokens",
    "portable_ids",
    "render_chat",
    "render_prompt",
    "turn_text",
]
