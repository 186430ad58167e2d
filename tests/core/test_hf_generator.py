"""HFGenerator: exact logprobs/entropies, n samples, seeds, stop strings, greedy decoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from ifrl.core.backends.hf import HFGenerator  # noqa: E402
from ifrl.core.generation import make_generator  # noqa: E402
from ifrl.core.records import Conversation, Message, SamplingParams  # noqa: E402

PROMPTS = ["Question: Ana has 3 apples.", "Hi", "The river ran slowly past the old mill, and"]


@pytest.fixture(scope="module")
def gen(tiny_model_dir: Path) -> HFGenerator:
    return HFGenerator(tiny_model_dir, batch_size=4)


def _reference(gen: HFGenerator, prompt_ids: list[int], new_ids: tuple[int, ...]) -> Any:
    """Log-softmax rows predicting each generated token, from one unpadded, uncached forward."""
    ids = torch.tensor([list(prompt_ids) + list(new_ids)])
    with torch.no_grad():
        logits = gen.model(ids).logits[0].double()
    return torch.log_softmax(logits, -1)[len(prompt_ids) - 1 : ids.shape[1] - 1]


@pytest.mark.parametrize(
    "params",
    [
        SamplingParams(n=3, temperature=1.0, max_new_tokens=12, seed=1),
        SamplingParams(n=2, temperature=0.7, top_k=20, top_p=0.9, max_new_tokens=10, seed=2),
        SamplingParams(n=1, temperature=0.0, max_new_tokens=10),
    ],
)
def test_logprobs_and_entropies_match_a_direct_forward_pass(
    gen: HFGenerator, params: SamplingParams
) -> None:
    results = gen.generate(PROMPTS, params)
    assert [len(r) for r in results] == [params.n] * len(PROMPTS)
    for prompt, completions in zip(PROMPTS, results):
        prompt_ids = gen.encode(prompt)
        for c in completions:
            assert len(c.token_ids) == len(c.logprobs) == len(c.entropies) > 0
            ref = _reference(gen, prompt_ids, c.token_ids)
            want_lp = ref.gather(-1, torch.tensor(c.token_ids)[:, None])[:, 0]
            want_ent = -(ref.exp() * ref).sum(-1)
            assert torch.allclose(torch.tensor(c.logprobs, dtype=torch.float64), want_lp, atol=1e-5)
            assert torch.allclose(
                torch.tensor(c.entropies, dtype=torch.float64), want_ent, atol=1e-5
            )
            # Entropy of the *full* distribution: far above 0 and at most log |V| on a random model.
            assert all(
                0.0 < e <= float(torch.log(torch.tensor(ref.shape[-1]))) + 1e-6 for e in c.entropies
            )
            if params.greedy:
                assert list(c.token_ids) == ref.argmax(-1).tolist()
            assert c.text == gen.tokenizer.decode(
                [t for t in c.token_ids if t not in gen.eos_ids], skip_special_tokens=True
            )


def test_same_seed_same_outputs_independent_of_batch_size(tiny_model_dir: Path) -> None:
    params = SamplingParams(n=3, temperature=1.0, max_new_tokens=8, seed=5)
    a = HFGenerator(tiny_model_dir, batch_size=2).generate(PROMPTS, params)
    b = HFGenerator(tiny_model_dir, batch_size=16).generate(PROMPTS, params)
    assert [[c.token_ids for c in r] for r in a] == [[c.token_ids for c in r] for r in b]
    other = HFGenerator(tiny_model_dir).generate(PROMPTS, params.replace(seed=6))
    assert [[c.token_ids for c in r] for r in other] != [[c.token_ids for c in r] for r in a]
    # The n samples of one prompt differ from each other (a random model is far from peaked).
    assert len({c.token_ids for c in a[0]}) == 3


def test_greedy_is_deterministic_and_ignores_seed(gen: HFGenerator) -> None:
    p1 = SamplingParams(n=2, temperature=0.0, max_new_tokens=8, seed=1)
    p2 = p1.replace(seed=99)
    r1, r2 = gen.generate(PROMPTS[:1], p1), gen.generate(PROMPTS[:1], p2)
    assert r1[0][0].token_ids == r1[0][1].token_ids == r2[0][0].token_ids
    assert r1[0][0].finish_reason == "length" and len(r1[0][0].token_ids) == 8


def test_stop_strings_truncate_text_and_tokens(gen: HFGenerator) -> None:
    free = gen.generate(["Question:"], SamplingParams(temperature=0.0, max_new_tokens=16))[0][0]
    assert len(free.text) > 4
    stop = free.text[3:5]  # a string the greedy output is known to contain
    first = free.text.find(stop)
    cut = gen.generate(
        ["Question:"], SamplingParams(temperature=0.0, max_new_tokens=16, stop=(stop,))
    )[0][0]
    assert cut.finish_reason == "stop"
    assert cut.text == free.text[:first]
    k = len(cut.token_ids)
    assert cut.token_ids == free.token_ids[:k] and k < len(free.token_ids)
    assert cut.logprobs == free.logprobs[:k] and cut.entropies == free.entropies[:k]
    # The kept tokens are exactly the shortest prefix whose text contains the stop string.
    decode = gen.tokenizer.decode
    assert stop in decode(list(cut.token_ids)) and stop not in decode(list(cut.token_ids[:-1]))


def test_eos_ends_a_row_and_is_kept_in_tokens_not_text(gen: HFGenerator) -> None:
    params = SamplingParams(temperature=0.0, max_new_tokens=8)
    free = gen.generate(["Hi"], params)[0][0]
    # Declare the third greedy token an end-of-sequence id: the row must end right there.
    eos = free.token_ids[2]
    saved = gen.eos_ids
    gen.eos_ids = frozenset({eos})
    try:
        got = gen.generate(["Hi"], params)[0][0]
    finally:
        gen.eos_ids = saved
    assert got.token_ids == free.token_ids[:3]
    assert got.logprobs == free.logprobs[:3] and got.entropies == free.entropies[:3]
    assert got.finish_reason == "stop"
    assert got.text == gen.tokenizer.decode(list(free.token_ids[:2]), skip_special_tokens=True)
    # The tiny model's eos ids come from its generation config and tokenizer.
    im_end = gen.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert saved == {gen.tokenizer.eos_token_id, im_end}


def test_conversations_use_the_chat_template_and_registry(tiny_model_dir: Path) -> None:
    gen = make_generator("hf", model=tiny_model_dir)
    assert isinstance(gen, HFGenerator)
    conv = Conversation(messages=(Message("user", "Hi"),))
    ids = gen.encode(conv)
    assert gen.tokenizer.decode(ids) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    out = gen.generate([conv], SamplingParams(temperature=0.0, max_new_tokens=4))
    assert len(out) == 1 and len(out[0][0].token_ids) >= 1


def test_top_n_alternatives_are_sorted_and_contain_the_greedy_token(gen: HFGenerator) -> None:
    ids = gen.encode("Step 1:")
    trace = gen.generate_ids([ids], SamplingParams(temperature=0.0, max_new_tokens=5), top_n=3)[0][
        0
    ]
    assert len(trace.top) == len(trace.completion.token_ids)
    for pos, (tok, lp) in enumerate(zip(trace.completion.token_ids, trace.completion.logprobs)):
        alts = trace.top[pos]
        assert len(alts) == 3 and alts[0] == (tok, lp)
        assert [v for _, v in alts] == sorted((v for _, v in alts), reverse=True)


def test_per_prompt_budgets_cap_each_row(gen: HFGenerator) -> None:
    ids = [gen.encode("Hi"), gen.encode("Step 1:")]
    params = SamplingParams(temperature=0.0, max_new_tokens=6)
    out = gen.generate_ids(ids, params, max_new_tokens=[2, 9])
    assert [len(r[0].completion.token_ids) for r in out] == [2, 6]
    assert out[0][0].completion.finish_reason == "length"
    full = gen.generate_ids(ids[:1], params)[0][0]
    assert out[0][0].completion.token_ids == full.completion.token_ids[:2]
    with pytest.raises(ValueError, match="entries"):
        gen.generate_ids(ids, params, max_new_tokens=[2])


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_built_in_decoder_equals_the_transformers_forward(arch: str) -> None:
    """The lean Llama/Qwen2 loop (shared prefill, preallocated cache) reports the numbers and
    draws the samples that decoding through ``model.forward`` gives, with left padding."""
    from ifrl.core.backends.hf import _LeanDecoder
    from ifrl.core.tiny import build_tiny_model

    model_dir = build_tiny_model(arch)
    lean = HFGenerator(model_dir, batch_size=8)
    plain = HFGenerator(lean.model, tokenizer=lean.tokenizer, batch_size=8, decoder="transformers")
    assert _LeanDecoder.for_model(lean.model) is not None
    for params in (
        SamplingParams(n=3, temperature=1.0, max_new_tokens=12, seed=3),
        SamplingParams(n=2, temperature=0.8, top_k=30, top_p=0.95, max_new_tokens=9, seed=4),
        SamplingParams(n=1, temperature=0.0, max_new_tokens=10),
    ):
        a, b = lean.generate(PROMPTS, params), plain.generate(PROMPTS, params)
        for row_a, row_b in zip(a, b):
            for x, y in zip(row_a, row_b):
                assert x.token_ids == y.token_ids and x.text == y.text
                assert x.finish_reason == y.finish_reason
                assert x.logprobs == pytest.approx(y.logprobs, abs=1e-5)
                assert x.entropies == pytest.approx(y.entropies, abs=1e-5)


def test_built_in_decoder_runs_lora_adapters(tiny_model_dir: Path) -> None:
    """Under PEFT the lean loop calls the adapted linears: its logprobs follow the adapters."""
    peft = pytest.importorskip("peft")
    from ifrl.core.backends.hf import _LeanDecoder

    base = HFGenerator(tiny_model_dir).model
    lora = peft.get_peft_model(
        base, peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"])
    )
    torch.manual_seed(0)
    for name, p in lora.named_parameters():
        if "lora_B" in name:
            p.data.normal_(0, 0.5)  # non-zero adapters (lora_B starts at zero)
    gen = HFGenerator(lora, tokenizer=HFGenerator(tiny_model_dir).tokenizer)
    assert _LeanDecoder.for_model(lora) is not None
    params = SamplingParams(n=2, temperature=1.0, max_new_tokens=8, seed=1)
    for prompt, completions in zip(PROMPTS, gen.generate(PROMPTS, params)):
        prompt_ids = gen.encode(prompt)
        for c in completions:
            ref = _reference(gen, prompt_ids, c.token_ids)
            want = ref.gather(-1, torch.tensor(c.token_ids)[:, None])[:, 0]
            assert torch.allclose(torch.tensor(c.logprobs, dtype=torch.float64), want, atol=1e-5)
        adapted = _reference(gen, prompt_ids, completions[0].token_ids)
        with lora.disable_adapter():
            plain = _reference(gen, prompt_ids, completions[0].token_ids)
        assert (adapted - plain).abs().max() > 1e-2


def test_unknown_decoder_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="decoder must be one of"):
        HFGenerator(tiny_model_dir, decoder="fast")
