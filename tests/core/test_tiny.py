"""The seeded tiny model: loads with the Auto classes, renders tools, is deterministic and cached."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from ifrl.core.errors import RecordError  # noqa: E402
from ifrl.core.records import Conversation, Message, ToolCall, ToolSpec  # noqa: E402
from ifrl.core.tiny import HEAD_DIM, build_tiny_model, tiny_model_path  # noqa: E402


def _hashes(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def test_loads_with_auto_classes(tiny_model_dir: Path) -> None:
    import torch

    tok = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    cfg = model.config
    assert cfg.model_type == "qwen2"
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.head_dim) == (256, 2, HEAD_DIM)
    assert cfg.vocab_size == len(tok)
    assert (tiny_model_dir / "model.safetensors").is_file()
    ids = tok("Step 1: 12 + 30 = 42", return_tensors="pt").input_ids
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, ids.shape[1], cfg.vocab_size)
    # Digits are split one by one (arithmetic tasks need that) and text round-trips.
    assert "".join(tok.convert_ids_to_tokens(tok("1234").input_ids)) == "1234"
    text = 'Hello  world\n{"a": [1, 2]} <tool_call>x</tool_call> <think>y</think>'
    assert tok.decode(tok(text).input_ids) == text
    # Tool and reasoning tags are single tokens that survive skip_special_tokens.
    for tag in ("<tool_call>", "</tool_call>", "<think>", "</think>"):
        assert len(tok(tag).input_ids) == 1
    assert tok.decode(tok(text).input_ids, skip_special_tokens=True) == text
    eos = model.generation_config.eos_token_id
    assert set(eos) == {tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>")}
    assert tok.pad_token_id is not None and tok.pad_token_id not in eos


def test_chat_template_renders_tools_and_tool_calls(tiny_model_dir: Path) -> None:
    from ifrl.core.chat import render_prompt

    tok = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    conv = Conversation(
        messages=(
            Message("system", "Be brief."),
            Message("user", "Weather in Paris?"),
            Message("assistant", "", tool_calls=(ToolCall("get_weather", {"city": "Paris"}),)),
            Message("tool", '{"temp": 12}'),
            Message("assistant", "12 degrees."),
            Message("user", "And Oslo?"),
        ),
        tools=(
            ToolSpec(
                "get_weather",
                "Weather in a city.",
                {"type": "object", "properties": {"city": {"type": "string"}}},
            ),
        ),
    )
    text = render_prompt(tok, conv)
    assert text.startswith("<|im_start|>system\nBe brief.")
    assert json.dumps(conv.tools[0].to_openai()) in text
    assert (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' in text
    )
    assert '<|im_start|>tool\n<tool_response>\n{"temp": 12}\n</tool_response><|im_end|>' in text
    assert text.count("<|im_start|>user\n") == 2
    assert text.endswith("<|im_start|>assistant\n")
    # Without tools and system prompt nothing but the turns is rendered; strings pass through.
    plain = render_prompt(tok, Conversation(messages=(Message("user", "Hi"),)))
    assert plain == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    assert render_prompt(tok, "raw text") == "raw text"


def test_same_seed_gives_identical_files_and_seeds_differ(tmp_path: Path) -> None:
    a = build_tiny_model("llama", seed=3, out_dir=tmp_path / "a")
    b = build_tiny_model("llama", seed=3, out_dir=tmp_path / "b")
    c = build_tiny_model("llama", seed=4, out_dir=tmp_path / "c")
    ha, hb, hc = _hashes(a), _hashes(b), _hashes(c)
    assert {"model.safetensors", "tokenizer.json", "config.json"} <= set(ha)
    assert ha == hb
    assert hc["model.safetensors"] != ha["model.safetensors"]
    assert hc["tokenizer.json"] == ha["tokenizer.json"]  # the tokenizer does not depend on seed
    model = transformers.AutoModelForCausalLM.from_pretrained(a)
    assert model.config.model_type == "llama"


def test_cache_is_reused_and_out_dir_is_protected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IFRL_CACHE", str(tmp_path / "cache"))
    first = build_tiny_model("qwen2", seed=7)
    assert first == tiny_model_path("qwen2", 7)
    assert first.parent == tmp_path / "cache" / "tiny"
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    again = build_tiny_model("qwen2", seed=7)
    assert again == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp  # not rebuilt
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temp dirs left
    # An out_dir holding the same build is reused; one holding anything else is refused.
    assert build_tiny_model("qwen2", seed=7, out_dir=first) == first
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="other"):
        build_tiny_model("qwen2", seed=7, out_dir=other)
    with pytest.raises(FileExistsError):
        build_tiny_model("llama", seed=7, out_dir=first)


def test_unknown_architecture_is_rejected() -> None:
    with pytest.raises(RecordError, match="arch"):
        build_tiny_model("gpt9")
