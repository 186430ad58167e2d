"""VLLMStepDecoder against HFStepDecoder on the tiny model (run in the vLLM venv with -m vllm)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ifrl.core.records import SamplingParams
from ifrl.prm.branching import BranchConfig, Question, build_trees
from ifrl.prm.decoding import HFStepDecoder, VLLMStepDecoder

pytestmark = pytest.mark.vllm

PROMPTS = ["Question: Ana has 3 apples.", "The river ran slowly past the old mill, and"]


@pytest.fixture(scope="module")
def vllm_decoder(tiny_model_dir: Path) -> Iterator[VLLMStepDecoder]:
    pytest.importorskip("vllm")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ifrl.core.backends.vllm import VLLMGenerator

    gen = VLLMGenerator(
        tiny_model_dir,
        dtype="float32",
        max_model_len=512,
        enforce_eager=True,
        top_k_entropy=-1,  # the whole distribution: exact entropies
        use_tqdm=False,
    )
    yield VLLMStepDecoder(gen)


def test_greedy_traces_match_hf(vllm_decoder: VLLMStepDecoder, tiny_model_dir: Path) -> None:
    hf = HFStepDecoder.from_pretrained(tiny_model_dir)
    prefixes = [hf.encode(p) for p in PROMPTS]
    assert prefixes == [vllm_decoder.encode(p) for p in PROMPTS]
    want = hf.greedy(prefixes, [12, 7], top_n=2)
    got = vllm_decoder.greedy(prefixes, [12, 7], top_n=2)
    for w, g in zip(want, got):
        assert g.token_ids == w.token_ids
        assert g.entropies == pytest.approx(w.entropies, abs=1e-3)
        assert [[t for t, _ in pos] for pos in g.top] == [[t for t, _ in pos] for pos in w.top]
    assert vllm_decoder.cost.calls == 2 and vllm_decoder.cost.generated_tokens == 19


def test_trees_and_samples_with_vllm(vllm_decoder: VLLMStepDecoder) -> None:
    cfg = BranchConfig(tau=0.0, max_depth=2, max_new_tokens=8)
    tree = build_trees(vllm_decoder, [Question("q", PROMPTS[0])], cfg)[0]
    assert sorted(tree.branch_choices(leaf.id) for leaf in tree.leaves()) == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
    ]
    rows = vllm_decoder.sample(
        [vllm_decoder.encode(PROMPTS[1])], [5], SamplingParams(n=3, temperature=1.0, seed=0)
    )
    assert len(rows) == 1 and len(rows[0]) == 3 and all(1 <= len(r) <= 5 for r in rows[0])
