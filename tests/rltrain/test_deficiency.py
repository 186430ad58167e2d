"""Deficiency selection: samples from conversations, gold perplexity, hardest fraction, sampling."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from test_mcts import CANDIDATES, ScriptedGenerator

from ifrl.core.records import Conversation, Message, ToolCall, ToolSpec
from ifrl.rltrain.deficiency import (
    ToolSample,
    gold_perplexities,
    samples_from_conversation,
    select_by_sampling,
    select_hardest,
)


def _conv() -> Conversation:
    call = ToolCall("get_weather", {"city": "Paris"}, id="c0")
    return Conversation(
        messages=(
            Message("user", "Weather in Paris?"),
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", '{"temp": 20}', tool_call_id="c0", name="get_weather"),
            Message("assistant", "It is 20 degrees."),
        ),
        tools=(ToolSpec("get_weather", "Weather", {"type": "object", "properties": {}}),),
    )


def _sample(i: int, calls: bool) -> ToolSample:
    gold = (ToolCall("f", {"a": i}),) if calls else ()
    return ToolSample(f"s{i:02d}", "p", "r", gold)


def test_samples_from_conversation(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    samples = samples_from_conversation(tok, _conv(), "c7")
    assert [s.id for s in samples] == ["c7/1", "c7/3"]
    first, second = samples
    assert first.kind == "tool_call" and second.kind == "text"
    assert first.prompt.endswith("<|im_start|>assistant\n")
    assert '"name": "get_weather"' in first.response and first.response.endswith("<|im_end|>")
    assert first.gold_calls == (ToolCall("get_weather", {"city": "Paris"}),)
    assert second.response == "It is 20 degrees.<|im_end|>"
    assert "<tool_response>" in second.prompt
    assert samples_from_conversation(tok, _conv(), "c7", last_only=True) == [second]
    assert ToolSample.from_dict(first.to_dict()) == first


def test_gold_perplexity_matches_one_at_a_time(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    extra = ToolSample("x", "Hello there, ", "general Kenobi.")
    samples = [*samples_from_conversation(tok, _conv(), "c"), extra]
    batched = gold_perplexities(model, tok, samples, batch_size=3)
    for s, ppl in zip(samples, batched):
        p = tok(s.prompt, add_special_tokens=False)["input_ids"]
        full = tok(s.prompt + s.response, add_special_tokens=False)["input_ids"]
        n = next((i for i, (a, b) in enumerate(zip(p, full)) if a != b), len(p))
        with torch.no_grad():
            logits = model(torch.tensor([full])).logits[0, :-1].float()
        nll = torch.nn.functional.cross_entropy(logits[n - 1 :], torch.tensor(full[n:]))
        assert ppl == pytest.approx(math.exp(float(nll)), rel=1e-4)
    assert all(p > 1.0 for p in batched)


def test_select_hardest_per_kind() -> None:
    samples = [_sample(i, calls=i < 10) for i in range(14)]
    scores = [float(i) for i in range(14)]
    kept = select_hardest(samples, scores, 0.3)
    # tool calls: 10 -> ceil(3) = s07, s08, s09; text: 4 -> ceil(1.2) = 2: s12, s13
    assert [s.id for s in kept] == ["s07", "s08", "s09", "s12", "s13"]
    pooled = select_hardest(samples, scores, 0.3, by_kind=False)
    assert [s.id for s in pooled] == ["s09", "s10", "s11", "s12", "s13"]
    assert len(select_hardest(samples[:1], [0.0], 0.01)) == 1
    with pytest.raises(ValueError, match="fraction"):
        select_hardest(samples, scores, 0.0)
    with pytest.raises(ValueError, match="scores"):
        select_hardest(samples, scores[:3])


def test_select_by_sampling_keeps_wrong_samples() -> None:
    base = "Q: "
    right = ToolSample("right", base, CANDIDATES[0], (ToolCall("never_called", {}),))
    gold = ToolSample(
        "gold", base, CANDIDATES[0], (ToolCall("get_weather", {"city": "Paris", "days": 3}),)
    )
    sel = select_by_sampling([right, gold], ScriptedGenerator(base), k=8, min_wrong=1)
    assert sel.model_calls == 16
    assert sel.wrong[0] == 8  # the scripted model never calls never_called
    assert 0 < sel.wrong[1] < 8  # one of the four candidates is exact
    assert [s.id for s in sel.kept] == ["right", "gold"]
    strict = select_by_sampling([right, gold], ScriptedGenerator(base), k=8, min_wrong=8)
    assert [s.id for s in strict.kept] == ["right"]


def test_gold_perplexity_shows_a_bar_when_asked(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 25: the perplexity selector's forward passes show a bar over the samples (the
    itool recipe passes its ``progress`` setting); the scores do not depend on it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    samples = [*samples_from_conversation(tok, _conv(), "c"), ToolSample("x", "Hi, ", "there.")]
    capsys.readouterr()
    shown = gold_perplexities(model, tok, samples, batch_size=2, progress=True)
    err = capsys.readouterr().err
    assert "deficiency" in err and "3/3" in err
    quiet = gold_perplexities(model, tok, samples, batch_size=2)
    assert capsys.readouterr().err == ""
    assert shown == quiet
