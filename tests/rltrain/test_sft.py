"""SFT: assistant-only labels, packing, easy-to-hard curriculum, it learns, bad data errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from rl_helpers import conversations, write_rows

from ifrl.core import Conversation
from ifrl.core.errors import JSONLError
from ifrl.rltrain.models import load_tokenizer
from ifrl.rltrain.sft import (
    SFTConfig,
    SFTTrainer,
    collate,
    curriculum_order,
    load_conversations,
    pack,
    sft_loss,
    tokenize_conversation,
)


def test_labels_cover_assistant_turns_only(tiny_model_dir: Path) -> None:
    tok = load_tokenizer(str(tiny_model_dir))
    conv = Conversation.from_openai(conversations(2, tools=True)[1])
    ex = tokenize_conversation(tok, conv, 4096)
    labelled = tok.decode([t for t, lab in zip(ex.input_ids, ex.labels) if lab != -100])
    unlabelled = tok.decode([t for t, lab in zip(ex.input_ids, ex.labels) if lab == -100])
    # the tool-calling turn and the final answer, each with its end-of-turn marker
    assert labelled.startswith('<tool_call>\n{"name": "lookup"')
    assert labelled.endswith("river is a word<|im_end|>")
    assert labelled.count("<|im_end|>") == 2
    # system prompt with tools, the user turn, the tool result and role headers are not trained on
    for text in (
        "# Tools",
        "say river",
        "<tool_response>",
        "<|im_start|>assistant\n",
        "<|im_start|>user",
    ):
        assert text in unlabelled and text not in labelled
    assert ex.input_ids == tuple(
        tok(
            tok.apply_chat_template(
                [m.to_chat() for m in conv.messages],
                tools=[t.to_openai() for t in conv.tools],
                tokenize=False,
            ),
            add_special_tokens=False,
        )["input_ids"]
    )


def test_packed_loss_equals_unpacked(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    tok = load_tokenizer(str(tiny_model_dir))
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    exs = [
        tokenize_conversation(tok, Conversation.from_openai(r), 512)
        for r in conversations(5, tools=True)
    ]
    rows = pack(exs, 400)
    assert len(rows) < len(exs) and all(len(r.input_ids) <= 400 for r in rows)
    with torch.no_grad():
        plain, n1 = sft_loss(model, collate(exs, tok.pad_token_id, packed=False))
        packed, n2 = sft_loss(model, collate(rows, tok.pad_token_id, packed=True))
    assert n1 == n2
    # position ids restart per conversation, so attention does not cross conversations
    assert float(plain) == pytest.approx(float(packed), abs=1e-5)


def test_curriculum_orders_stages_easy_to_hard() -> None:
    diffs = [5.0, 1.0, 3.0, 0.0, 4.0, 2.0]
    order = curriculum_order(diffs, 2, seed=0)
    for epoch in (0, 1):
        o = order(epoch)
        assert sorted(o[:3]) == [1, 3, 5] and sorted(o[3:]) == [0, 2, 4]
    assert order(0) != order(1) or order(0) == order(1)  # deterministic per epoch
    assert order(1) == curriculum_order(diffs, 2, seed=0)(1)


def test_trainer_uses_tool_call_curriculum(tiny_model_dir: Path, tmp_path: Path) -> None:
    rows = conversations(8, tools=True)
    cfg = SFTConfig(
        model=str(tiny_model_dir),
        output_dir=str(tmp_path),
        curriculum="tool_calls",
        curriculum_stages=2,
        per_device_batch_size=2,
        max_steps=1,
        progress=False,
    )
    tr = SFTTrainer(cfg, train_data=[Conversation.from_openai(r) for r in rows])
    first_half = tr.cursor.take(4)
    assert all(tr.examples[i].tool_calls == 0 for i in first_half)
    assert all(tr.examples[i].tool_calls > 0 for i in tr.cursor.take(4))


@pytest.mark.slow
def test_sft_lowers_held_out_loss_and_loss_curriculum(tiny_model_dir: Path, tmp_path: Path) -> None:
    train = write_rows(tmp_path / "train.jsonl", conversations(24, seed=0))
    held = write_rows(tmp_path / "held.jsonl", conversations(6, seed=5))
    cfg = SFTConfig(
        model=str(tiny_model_dir),
        data=str(train),
        eval_data=str(held),
        output_dir=str(tmp_path / "run"),
        learning_rate=1e-3,
        per_device_batch_size=4,
        max_steps=12,
        progress=False,
        curriculum="loss",
        curriculum_stages=3,
        packing=True,
        max_length=256,
    )
    tr = SFTTrainer(cfg)
    before = tr.evaluate()
    result = tr.train()
    after = tr.evaluate()
    assert after < before - 1.0, (before, after)
    assert (tmp_path / "run" / "final" / "model.safetensors").exists()
    assert result.final_model == tmp_path / "run" / "final"
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == list(range(1, 13))


def test_bad_conversation_names_file_line_and_field(tmp_path: Path) -> None:
    bad = write_rows(
        tmp_path / "bad.jsonl",
        [conversations(1)[0], {"messages": [{"role": "robot", "content": "x"}]}],
    )
    with pytest.raises(JSONLError, match=r"bad.jsonl:2: messages\[0\]\.role"):
        load_conversations(bad)


def test_bad_tool_call_arguments_name_the_line(tmp_path: Path) -> None:
    row = {
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "tool_calls": [{"function": {"name": "f", "arguments": "{oops"}}],
            },
        ]
    }
    bad = write_rows(tmp_path / "calls.jsonl", [row])
    # the core codec names the whole path of the field
    where = r"messages\[1\]\.tool_calls\[0\]\.function\.arguments"
    with pytest.raises(JSONLError, match=rf"calls.jsonl:1: {where}: not valid JSON"):
        load_conversations(bad)


def test_old_and_openai_rows_read_alike(tmp_path: Path) -> None:
    """Files written before (ifrl records: object arguments, bare tool definitions) still load,
    and equal the OpenAI form with JSON-string arguments."""
    conv = Conversation.from_openai(conversations(2, tools=True)[1])
    ifrl_row = {
        "messages": [m.to_dict() for m in conv.messages],
        "tools": [t.to_dict() for t in conv.tools],
    }
    rows = write_rows(tmp_path / "rows.jsonl", [ifrl_row, conv.to_openai()])
    assert load_conversations(rows) == [conv, conv]


def test_rows_with_nothing_to_train_on_are_named(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Issue 22: a conversation without an assistant turn (0 trainable tokens) is an error that
    names the file and line, not a silent no-op; so is one cut before its first assistant token
    by max_length, and an empty dataset."""
    rows = conversations(3)
    rows[1] = {"messages": [{"role": "user", "content": "only a question"}]}
    path = tmp_path / "data.jsonl"
    path.write_text(
        json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n" + json.dumps(rows[2]) + "\n"
    )
    cfg = SFTConfig(model=str(tiny_model_dir), data=str(path), output_dir=str(tmp_path / "r"))
    with pytest.raises(ValueError, match=rf"{path}:3: the conversation has no assistant turn"):
        SFTTrainer(cfg)  # line 3: the blank line 2 is counted, as the JSONL reader counts it
    # Given in memory, the row is named by its index.
    convs = [Conversation.from_openai(r) for r in rows]
    with pytest.raises(ValueError, match=r"train_data\[1\]: .*0 trainable tokens"):
        SFTTrainer(cfg, train_data=convs)
    # Every assistant token past max_length: such a row is left out with a warning naming it;
    # when no row is left, an error with the setting to change.
    short = SFTConfig(
        model=str(tiny_model_dir), output_dir=str(tmp_path / "r"), max_length=4, progress=False
    )
    with pytest.raises(ValueError, match=r"max_length=4 tokens \(train_data\[0\]\).*raise"):
        SFTTrainer(short, train_data=convs[:1])
    long = Conversation.from_openai(
        {"messages": [{"role": "user", "content": "word " * 300}, *rows[0]["messages"][1:]]}
    )
    mid = SFTConfig(model=str(tiny_model_dir), output_dir=str(tmp_path / "r"), max_length=64)
    with pytest.warns(UserWarning, match=r"1 of 2 conversations .*\(train_data\[1\]\)"):
        tr = SFTTrainer(mid, train_data=[convs[0], long])
    assert len(tr.examples) == 1
    with pytest.raises(ValueError, match="no conversations to train on"):
        SFTTrainer(short, train_data=[])
    # evaluate() on such rows is an error too, not a loss of 0.0.
    tr = SFTTrainer(
        SFTConfig(model=str(tiny_model_dir), output_dir=str(tmp_path / "r")), train_data=convs[:1]
    )
    with pytest.raises(ValueError, match=r"eval_data\[0\]: the conversation has no assistant"):
        tr.evaluate([convs[1]])


def test_a_long_conversation_is_tokenized_without_the_length_warning(tiny_model_dir: Path) -> None:
    """Issue 25: a conversation longer than the tokenizer's model_max_length is truncated by
    the tokenizer (no "Token indices sequence length is longer than ..." warning), and its ids
    and labels equal those of the whole rendered conversation cut at max_length."""
    import logging

    from transformers.utils import logging as hf_logging

    from ifrl.core.chat import assistant_spans, label_tokens

    turns = conversations(1)[0]["messages"]
    tok = load_tokenizer(str(tiny_model_dir))
    filler = "word " * (2 * tok.model_max_length)
    long = Conversation.from_openai(
        {"messages": [{"role": "user", "content": filler}, *turns[1:], *turns]}
    )
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    hf_logger = logging.getLogger("transformers")
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_warning()
    hf_logger.addHandler(handler)
    try:
        # The reference, tokenized whole then cut: transformers warns about it (so the
        # handler sees the warning when it comes).
        full, spans = assistant_spans(tok, long)
        enc = tok(full, add_special_tokens=False, return_offsets_mapping=True)
        assert len(enc["input_ids"]) > tok.model_max_length
        assert any("sequence length is longer" in r.getMessage() for r in records)
        records.clear()
        fresh = load_tokenizer(str(tiny_model_dir))  # it warns once per tokenizer
        for max_length in (tok.model_max_length // 2, len(enc["input_ids"]) - 5):
            ex = tokenize_conversation(fresh, long, max_length)
            ids = list(enc["input_ids"])[:max_length]
            keep = label_tokens(list(enc["offset_mapping"])[:max_length], spans)
            assert ex.input_ids == tuple(ids)
            assert ex.labels == tuple(t if k else -100 for t, k in zip(ids, keep))
        assert any(lab != -100 for lab in ex.labels)  # the assistant turns after the filler
    finally:
        hf_logger.removeHandler(handler)
        hf_logging.set_verbosity(level)
    assert not [r.getMessage() for r in records if "sequence length" in r.getMessage()]
