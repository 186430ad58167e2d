"""ifrl.core.chat: the one place where prompts meet chat templates (tiny model's template)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import transformers

from ifrl.core.chat import (
    assistant_spans,
    continuation,
    continues,
    encode_prompt,
    label_tokens,
    render_prompt,
    turn_text,
)
from ifrl.core.records import Conversation, Message, RawText, ToolCall, ToolSpec

WEATHER = ToolSpec(
    "get_weather",
    "Weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
DIALOG = Conversation(
    messages=(
        Message("system", "Be brief."),
        Message("user", "Weather in Paris?"),
        Message("assistant", "", tool_calls=(ToolCall("get_weather", {"city": "Paris"}),)),
        Message("tool", '{"temp": 12}'),
        Message("assistant", "12 degrees."),
        Message("user", "Thanks"),
        Message("assistant", "You are welcome."),
    ),
    tools=(WEATHER,),
)


@pytest.fixture(scope="module")
def tok(tiny_model_dir: Path) -> Any:
    return transformers.AutoTokenizer.from_pretrained(tiny_model_dir)


def test_raw_text_is_sent_as_written_and_conversations_through_the_template(tok: Any) -> None:
    raw = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    assert render_prompt(tok, RawText(raw)) == raw
    conv = Conversation((Message("user", "Hi"),))
    assert render_prompt(tok, conv) == raw  # the same text, through the template
    assert encode_prompt(tok, conv) == encode_prompt(tok, RawText(raw))
    with pytest.raises(TypeError, match="Conversation, RawText or str"):
        render_prompt(tok, 3)  # type: ignore[arg-type]
    # A plain str is still raw text, with a deprecation warning naming the two explicit kinds.
    with pytest.warns(DeprecationWarning, match="Conversation .* or RawText"):
        assert render_prompt(tok, raw) == raw


def test_encode_prompt_adds_special_tokens_to_raw_text_only_once(tok: Any) -> None:
    text = "hello world"
    want = list(tok(text)["input_ids"])  # with the tokenizer's own special tokens, if any
    assert encode_prompt(tok, RawText(text)) == want
    if tok.bos_token:  # a rendered text that already starts with BOS gets no second one
        again = encode_prompt(tok, RawText(tok.bos_token + text))
        assert again.count(tok.bos_token_id) == 1


def test_a_trailing_assistant_message_is_continued_not_closed(tok: Any) -> None:
    ask = Conversation((Message("user", "Capital of France?"),))
    assert not continues(ask) and continuation(ask, "") is ask
    go_on = continuation(ask, "It is")
    assert continues(go_on)
    text = render_prompt(tok, go_on)
    assert text == render_prompt(tok, ask) + "It is"  # no end-of-turn, no new generation prompt
    done = Conversation((*ask.messages, Message("assistant", "", (ToolCall("f", {}),))))
    with pytest.raises(ValueError, match="nothing to continue"):
        render_prompt(tok, done)


def test_no_chat_template_is_a_clear_error(tok: Any) -> None:
    bare = transformers.AutoTokenizer.from_pretrained(tok.name_or_path)
    bare.chat_template = None
    with pytest.raises(ValueError, match=r"no chat template.*RawText"):
        render_prompt(bare, Conversation((Message("user", "Hi"),)))
    assert render_prompt(bare, RawText("Hi")) == "Hi"


def test_turn_text_is_the_sampling_prompt_and_the_turn(tok: Any) -> None:
    prompt, turn = turn_text(tok, DIALOG, 4)
    assert prompt == render_prompt(tok, Conversation(DIALOG.messages[:4], DIALOG.tools))
    assert turn.startswith("12 degrees.") and "<|im_end|>" in turn
    with pytest.raises(ValueError, match="not an assistant turn"):
        turn_text(tok, DIALOG, 1)


def test_assistant_spans_cover_exactly_the_assistant_turns(tok: Any) -> None:
    full, spans = assistant_spans(tok, DIALOG)
    assert len(spans) == 3
    texts = [full[s:e] for s, e in spans]
    assert texts[0].startswith("<tool_call>") and '"city": "Paris"' in texts[0]
    assert texts[1] == "12 degrees.<|im_end|>" and texts[2] == "You are welcome.<|im_end|>"
    # Nothing of the other roles is inside a span.
    for needle in ("Be brief.", "Weather in Paris?", '{"temp": 12}', "Thanks", "<|im_start|>"):
        at = full.find(needle)
        assert not any(s <= at < e for s, e in spans), needle
    enc = tok(full, add_special_tokens=False, return_offsets_mapping=True)
    keep = label_tokens(enc["offset_mapping"], spans)
    kept = tok.decode([t for t, k in zip(enc["input_ids"], keep) if k])
    assert "You are welcome." in kept and "Thanks" not in kept and "Be brief" not in kept


def test_portable_ids_are_nine_characters_and_prefix_stable() -> None:
    from ifrl.core.chat import portable_ids

    conv = Conversation(
        (
            Message("user", "a"),
            Message("assistant", None, (ToolCall("f", {}, id="call_0"), ToolCall("g", {}))),
            Message("tool", "{}", tool_call_id="call_0"),
            Message(
                "tool", "{}", tool_call_id="call_1_1"
            ),  # the id-less call, as fill_ids names it
        )
    )
    out = portable_ids(conv)
    assert [c.id for c in out.messages[1].tool_calls] == ["call00000", "call00001"]
    assert [m.tool_call_id for m in out.messages[2:]] == ["call00000", "call00001"]
    assert all(len(c.id or "") == 9 and (c.id or "").isalnum() for c in out.messages[1].tool_calls)
    start = Conversation(conv.messages[:2])
    assert portable_ids(start).messages == out.messages[:2]
