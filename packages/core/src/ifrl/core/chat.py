"""Turning a prompt (plain text or a :class:`~ifrl.core.records.Conversation`) into model input text.

Every backend that holds a tokenizer renders prompts the same way: strings pass through
unchanged; conversations go through the tokenizer's chat template with the conversation's tools
(OpenAI JSON schema form) and a generation prompt, so the model continues as the assistant.
"""

from __future__ import annotations

from typing import Any

from ifrl.core.records import Conversation


def render_prompt(tokenizer: Any, prompt: str | Conversation) -> str:
    """The text to feed the model for ``prompt``.

    ``tokenizer`` is anything with ``apply_chat_template`` (a transformers tokenizer). Raises
    ``ValueError`` when a conversation is given but the tokenizer has no chat template.
    """
    if isinstance(prompt, str):
        return prompt
    if not isinstance(prompt, Conversation):
        raise TypeError(f"a prompt must be a str or a Conversation, got {type(prompt).__name__}")
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("the tokenizer has no chat template; pass plain-text prompts instead")
    tools = [t.to_openai() for t in prompt.tools] or None
    text = tokenizer.apply_chat_template(
        prompt.chat(), tools=tools, add_generation_prompt=True, tokenize=False
    )
    if not isinstance(text, str):  # pragma: no cover - transformers always returns str here
        raise TypeError(f"apply_chat_template returned {type(text).__name__}, expected str")
    return text


__all__ = ["render_prompt"]
