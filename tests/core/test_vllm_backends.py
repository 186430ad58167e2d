"""VLLMGenerator and OpenAIGenerator against real vLLM engines on the tiny model.

Run in the vLLM venv: ``.venv-vllm/bin/python -m pytest -m vllm tests/core`` (see
``scripts/setup_vllm_venv.sh``). One offline engine per module and one server per session: each
takes 25-45 s to start on CPU. The exact references come from :class:`HFGenerator` on the same
model, same prompts, greedy decoding.
"""

from __future__ import annotations

import importlib.util
import json
import math
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ifrl.core.backends.vllm import VLLMGenerator, topk_entropy, topk_entropy_bounds
from ifrl.core.errors import MissingExtraError
from ifrl.core.records import Completion, Conversation, Message, SamplingParams, ToolSpec

K = 20
# Measured on the tiny model (near-uniform next-token distributions, vocabulary 1196): the top-20
# midpoint estimate is 0.28 nats low on average (max 0.37). The bounds below leave slack for
# rebuilt tiny models; the per-position guarantee (half the bounds' width) is checked exactly.
MEAN_ABS_ERROR_BOUND = 0.40
MAX_ABS_ERROR_BOUND = 0.60

PROMPTS: list[str | Conversation] = [
    "Hello world",
    "The cat sat on",
    "1 + 2 =",
    Conversation(
        (Message("user", "What is the weather in Paris?"),),
        (ToolSpec("get_weather", "Weather for a city", {"type": "object", "properties": {}}),),
    ),
]
GREEDY = SamplingParams(temperature=0.0, max_new_tokens=16)

vllm_only = pytest.mark.vllm


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_missing_vllm_names_the_extra(tmp_path: Path) -> None:
    with pytest.raises(MissingExtraError, match=r"ifrl-core\[vllm\]"):
        VLLMGenerator(tmp_path)


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Iterator[VLLMGenerator]:
    pytest.importorskip("vllm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VLLM_CPU_KVCACHE_SPACE", "1")
        mp.setenv("HF_HUB_OFFLINE", "1")
        # max_logprobs=-1 lets one test switch the same engine to exact entropies.
        gen = VLLMGenerator(
            tiny_model_dir,
            dtype="float32",
            max_model_len=512,
            seed=0,
            top_k_entropy=K,
            enforce_eager=True,
            max_logprobs=-1,
            use_tqdm=False,
        )
        with gen:
            yield gen


@pytest.fixture(scope="module")
def hf(tiny_model_dir: Path) -> Any:
    from ifrl.core.backends.hf import HFGenerator

    return HFGenerator(tiny_model_dir, dtype="float32")


@pytest.fixture(scope="module")
def hf_greedy(hf: Any) -> list[Any]:
    """HF greedy traces (exact logprobs and entropies, plus the top-K per position)."""
    ids = [hf.encode(p) for p in PROMPTS]
    return [row[0] for row in hf.generate_ids(ids, GREEDY, top_n=K)]


@pytest.fixture(scope="module")
def vllm_greedy(engine: VLLMGenerator) -> list[Completion]:
    return [row[0] for row in engine.generate(PROMPTS, GREEDY)]


@pytest.fixture(scope="module")
def vocab_size(tiny_model_dir: Path) -> int:
    return int(json.loads((tiny_model_dir / "config.json").read_text())["vocab_size"])


def _greedy_tokens_agree(a: Completion, b: Completion) -> None:
    assert a.token_ids == b.token_ids, (a.text, b.text)


# ------------------------------------------------------------------------------ VLLMGenerator


@vllm_only
def test_vllm_greedy_matches_hf_tokens_and_logprobs(
    vllm_greedy: list[Completion], hf_greedy: list[Any]
) -> None:
    for got, ref in zip(vllm_greedy, hf_greedy):
        exact = ref.completion
        _greedy_tokens_agree(got, exact)
        assert got.text == exact.text
        assert len(got.logprobs) == len(got.entropies) == len(got.token_ids) > 0
        assert got.logprobs == pytest.approx(exact.logprobs, abs=1e-4)


@vllm_only
def test_vllm_entropy_estimate_is_the_midpoint_of_exact_bounds(
    vllm_greedy: list[Completion], hf_greedy: list[Any], vocab_size: int
) -> None:
    errors: list[float] = []
    for got, ref in zip(vllm_greedy, hf_greedy):
        for i, exact in enumerate(ref.completion.entropies):
            top = [lp for _, lp in ref.top[i]]
            lower, upper = topk_entropy_bounds(top, vocab_size)
            # The bounds hold for the true entropy, and vLLM's estimate is their midpoint.
            assert lower - 1e-4 <= exact <= upper + 1e-4
            assert got.entropies[i] == pytest.approx(topk_entropy(top, vocab_size), abs=1e-3)
            assert abs(got.entropies[i] - exact) <= (upper - lower) / 2 + 1e-3
            errors.append(got.entropies[i] - exact)
    bias = statistics.mean(errors)
    mean, worst = statistics.mean(map(abs, errors)), max(map(abs, errors))
    print(
        f"top-{K} entropy estimate - exact: mean {bias:+.4f}, mean |err| {mean:.4f}, max {worst:.4f}"
    )
    assert mean <= MEAN_ABS_ERROR_BOUND
    assert worst <= MAX_ABS_ERROR_BOUND


@vllm_only
def test_vllm_full_distribution_gives_exact_entropies(
    engine: VLLMGenerator, hf_greedy: list[Any]
) -> None:
    engine.top_k_entropy = -1
    try:
        out = engine.generate(PROMPTS[:2], GREEDY)
    finally:
        engine.top_k_entropy = K
    for row, ref in zip(out, hf_greedy):
        _greedy_tokens_agree(row[0], ref.completion)
        assert row[0].entropies == pytest.approx(ref.completion.entropies, abs=1e-4)


@vllm_only
def test_vllm_n_samples_are_seeded(engine: VLLMGenerator) -> None:
    params = SamplingParams(n=3, temperature=1.0, max_new_tokens=12, seed=7)
    first = engine.generate(PROMPTS[:2], params)
    again = engine.generate(PROMPTS[:2], params)
    assert [len(row) for row in first] == [3, 3]
    for row in first:
        for c in row:
            assert len(c.logprobs) == len(c.entropies) == len(c.token_ids) > 0
            assert all(lp <= 0.0 and math.isfinite(lp) for lp in c.logprobs)
        assert len({c.token_ids for c in row}) > 1  # near-uniform model: samples differ
    assert [[c.token_ids for c in row] for row in again] == [
        [c.token_ids for c in row] for row in first
    ]


@vllm_only
def test_vllm_greedy_n_copies_and_stop_strings(
    engine: VLLMGenerator, vllm_greedy: list[Completion]
) -> None:
    [row] = engine.generate(PROMPTS[:1], GREEDY.replace(n=2))
    assert [c.token_ids for c in row] == [vllm_greedy[0].token_ids] * 2
    full = vllm_greedy[1].text
    stop = full[4:6]
    [[cut]] = engine.generate(PROMPTS[1:2], GREEDY.replace(stop=(stop,)))
    assert cut.text == full[: full.index(stop)]
    assert cut.finish_reason == "stop"


# ----------------------------------------------------------------------------- OpenAIGenerator


@pytest.fixture(scope="module")
def client(vllm_server: str, vocab_size: int) -> Any:
    from ifrl.core.backends.openai import OpenAIGenerator

    return OpenAIGenerator(
        vllm_server,
        "tiny",
        timeout=60.0,
        concurrency=2,
        top_logprobs=K,
        vocab_size=vocab_size,
        extra_body={"return_tokens_as_token_ids": True},
    )


@vllm_only
def test_openai_completions_match_offline_engine_and_hf(
    client: Any, vllm_greedy: list[Completion], hf_greedy: list[Any]
) -> None:
    strings = [p for p in PROMPTS if isinstance(p, str)]
    out = client.generate(strings, GREEDY)  # several requests, two at a time
    for row, offline, ref in zip(out, vllm_greedy, hf_greedy):
        [got] = row
        assert got.token_ids == offline.token_ids == ref.completion.token_ids
        assert got.text == offline.text
        assert got.logprobs == pytest.approx(ref.completion.logprobs, abs=1e-4)
        # Same top-20 from the server as from the offline engine: the same estimate.
        assert got.entropies == pytest.approx(offline.entropies, abs=1e-3)


@vllm_only
def test_openai_chat_with_tools_matches_offline_rendering(
    client: Any, vllm_greedy: list[Completion]
) -> None:
    conv = PROMPTS[3]
    [[got]] = client.generate([conv], GREEDY)
    offline = vllm_greedy[3]
    assert got.text == offline.text
    assert len(got.logprobs) == len(got.entropies) == len(offline.token_ids)
    assert got.logprobs == pytest.approx(offline.logprobs, abs=1e-4)


@vllm_only
def test_openai_n_samples_with_logprobs(client: Any) -> None:
    params = SamplingParams(n=3, temperature=1.0, max_new_tokens=10, seed=1)
    [row] = client.generate(["Once upon a time"], params)
    assert len(row) == 3
    for c in row:
        assert len(c.token_ids) == len(c.logprobs) == len(c.entropies) > 0
    assert len({c.token_ids for c in row}) > 1


@vllm_only
def test_openai_server_rejection_is_a_typed_error(client: Any) -> None:
    from ifrl.core.backends.openai import ServerError

    with pytest.raises(ServerError) as info:
        client.generate(["Hello"], GREEDY.replace(max_new_tokens=4096))  # > max_model_len 512
    assert info.value.status == 400
    assert info.value.attempts == 1
    assert info.value.message


# ------------------------------------------------------------------- VLLMGenerator.load_weights


@vllm_only
def test_vllm_load_weights_reaches_worker_processes(
    engine: VLLMGenerator, tiny_model_dir: Path
) -> None:
    """The fixture's engine runs its worker in another process: the weights travel through a
    safetensors file. Kept last in the module: it changes the weights, then puts them back."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert not engine.in_process
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    original = {k: v.clone() for k, v in model.state_dict().items()}
    # Longer than one KV block (128 tokens on CPU), so a stale prefix cache would show.
    prompt = " ".join(["apple river stone green cloud music bread light ocean paper"] * 6)
    ids = list(tok(prompt)["input_ids"])

    def gap(weights: dict[str, Any]) -> float:
        [[got]] = engine.generate([prompt], GREEDY)
        model.load_state_dict(weights)
        with torch.no_grad():
            logp = model(torch.tensor([ids + list(got.token_ids)])).logits[0].log_softmax(-1)
        ref = [float(logp[len(ids) - 1 + i, t]) for i, t in enumerate(got.token_ids)]
        return max(abs(a - b) for a, b in zip(got.logprobs, ref))

    assert gap(original) <= 1e-4  # also fills the prefix cache with the original weights
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():  # parameters, not state_dict entries: the embeddings are tied
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
    changed = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        engine.load_weights(changed)
        assert gap(changed) <= 1e-4
    finally:
        engine.load_weights(original)
    assert gap(original) <= 1e-4
