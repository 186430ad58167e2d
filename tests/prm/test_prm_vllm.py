"""EDU branching with vLLM against the exact HF path on the tiny model (vLLM venv, ``-m vllm``).

One engine per module, asked for the whole distribution (``top_k_entropy=-1``); the approximate
decoder on the same engine reads only the top-20 logprobs per position, as a default
``--backend vllm`` run does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ifrl.core.records import SamplingParams
from ifrl.prm.branching import BranchConfig, BranchTree, build_trees, is_excluded
from ifrl.prm.decoding import HFStepDecoder, VLLMStepDecoder, step_decoder_for
from ifrl.prm.questions import Question

pytestmark = pytest.mark.vllm

PROMPTS = ["Question: Ana has 3 apples.", "The river ran slowly past the old mill, and"]
TOP_K = 20


@pytest.fixture(scope="module")
def vllm_decoder(tiny_model_dir: Path) -> Iterator[VLLMStepDecoder]:
    pytest.importorskip("vllm")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    decoder = step_decoder_for(
        "vllm",
        str(tiny_model_dir),
        top_k_entropy=-1,  # the whole distribution: exact entropies
        dtype="float32",
        max_model_len=512,
        enforce_eager=True,
    )
    assert isinstance(decoder, VLLMStepDecoder)
    yield decoder


@pytest.fixture(scope="module")
def hf_decoder(tiny_model_dir: Path) -> HFStepDecoder:
    return HFStepDecoder.from_pretrained(tiny_model_dir)


def _approx(vllm_decoder: VLLMStepDecoder) -> VLLMStepDecoder:
    return VLLMStepDecoder(vllm_decoder.generator, top_k_entropy=TOP_K)


def test_greedy_traces_match_hf(vllm_decoder: VLLMStepDecoder, hf_decoder: HFStepDecoder) -> None:
    prefixes = [hf_decoder.encode(p) for p in PROMPTS]
    assert prefixes == [vllm_decoder.encode(p) for p in PROMPTS]
    want = hf_decoder.greedy(prefixes, [12, 7], top_n=2)
    before = vllm_decoder.cost.to_dict()
    got = vllm_decoder.greedy(prefixes, [12, 7], top_n=2)
    for w, g in zip(want, got):
        assert g.token_ids == w.token_ids
        assert g.entropies == pytest.approx(w.entropies, abs=1e-3)
        assert [[t for t, _ in pos] for pos in g.top] == [[t for t, _ in pos] for pos in w.top]
    after = vllm_decoder.cost.to_dict()
    assert after["calls"] - before["calls"] == 2
    assert after["generated_tokens"] - before["generated_tokens"] == 19


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


def _shape(tree: BranchTree) -> list[tuple[Any, ...]]:
    return [(n.parent, n.depth, n.rank, n.start, tuple(n.token_ids)) for n in tree.nodes]


def _config(hf_decoder: HFStepDecoder) -> BranchConfig:
    # A threshold inside the tiny model's entropy range, so that some positions are anchors and
    # some are not (with tau=1 every position of the untrained model would be one).
    trace = hf_decoder.greedy([hf_decoder.encode(PROMPTS[1])], [24], top_n=1)[0]
    ranked = sorted(trace.entropies)
    tau = round(ranked[len(ranked) // 2], 1) + 0.05
    return BranchConfig(tau=tau, max_depth=2, max_branches=4, max_new_tokens=24)


def test_exact_vllm_tree_equals_hf_tree(
    vllm_decoder: VLLMStepDecoder, hf_decoder: HFStepDecoder
) -> None:
    cfg = _config(hf_decoder)
    questions = [Question(f"q{i}", p) for i, p in enumerate(PROMPTS)]
    want = build_trees(hf_decoder, questions, cfg)
    got = build_trees(vllm_decoder, questions, cfg)
    assert any(len(t.nodes) > 1 for t in want), "no anchor at this tau: the test would be empty"
    for w, g in zip(want, got):
        assert g.prompt_ids == w.prompt_ids
        assert _shape(g) == _shape(w)
        for wn, gn in zip(w.nodes, g.nodes):
            assert gn.entropies == pytest.approx(wn.entropies, abs=1e-3)


def _half_width(top: tuple[tuple[int, float], ...], vocab: int) -> float:
    from ifrl.core.backends.vllm import topk_entropy_bounds

    low, high = topk_entropy_bounds([lp for _, lp in top[:TOP_K]], vocab)
    return (high - low) / 2


def test_approximate_vllm_tree_follows_hf_within_the_entropy_bounds(
    vllm_decoder: VLLMStepDecoder, hf_decoder: HFStepDecoder
) -> None:
    """Every node of the top-20 tree is HF's greedy path, every anchor decision agrees with the
    exact entropy wherever the top-20 bounds decide it, and branch tokens are HF's top-2."""
    approx = _approx(vllm_decoder)
    cfg = _config(hf_decoder)
    vocab = int(vllm_decoder.generator.vocab_size)
    tok = hf_decoder.tokenizer
    special = set(tok.all_special_ids)
    trees = build_trees(approx, [Question(f"q{i}", p) for i, p in enumerate(PROMPTS)], cfg)
    decided = ambiguous = 0
    for tree in trees:
        for node in tree.nodes:
            if node.pruned:
                continue
            skip = 0 if node.parent is None else 1  # a child's first token is its branch choice
            prefix = tree.prompt_ids + tree.solution_ids(node.id)[: node.start + skip]
            own = node.token_ids[skip:]
            budget = len(own) + (1 if node.children else 0)
            if budget == 0:
                continue
            trace = hf_decoder.greedy([prefix], [budget], top_n=TOP_K)[0]
            assert list(trace.token_ids[: len(own)]) == own
            branching = node.depth < cfg.max_depth
            for i, (h, top) in enumerate(zip(trace.entropies, trace.top)):
                half = _half_width(top, vocab)
                if i < len(own):
                    estimate = node.entropies[skip + i]
                else:  # the anchor's entropy is stored on the children
                    estimate = tree.nodes[node.children[0]].entropies[0]
                assert abs(estimate - h) <= half + 1e-3
                if not branching or skip + i < cfg.min_step_tokens:
                    continue
                excluded = is_excluded(tok.decode([top[0][0]]), cfg, special=top[0][0] in special)
                is_anchor = i == len(own)  # the position the node ends at, if it has children
                if excluded:
                    assert not is_anchor
                elif abs(h - cfg.tau) > half + 1e-3:
                    decided += 1
                    assert (h > cfg.tau) == is_anchor, (tree.question_id, node.id, i, h, half)
                else:
                    ambiguous += 1
            if node.children:
                kids = [tree.nodes[c].token_ids[0] for c in node.children]
                assert set(kids) == {t for t, _ in trace.top[len(own)][: cfg.top_k]}
    assert decided > 0, "no anchor decision was determined by the bounds: the test is empty"


def test_cli_branch_with_vllm_backend(
    vllm_decoder: VLLMStepDecoder,
    hf_decoder: HFStepDecoder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`ifrl prm branch --backend vllm` builds its decoder with step_decoder_for("vllm", ...)."""
    from click.testing import CliRunner

    from ifrl.core.jsonl import read_jsonl, write_jsonl
    from ifrl.prm import cli as prm_cli
    from ifrl.prm.cli import cli

    seen: dict[str, Any] = {}

    class Shared(VLLMStepDecoder):
        def close(self) -> None:  # the module's engine stays up for the other tests
            seen["closed"] = True

    def shared_engine(backend: str, model: str, **kwargs: Any) -> VLLMStepDecoder:
        seen.update(backend=backend, model=model, **kwargs)
        return Shared(vllm_decoder.generator, top_k_entropy=kwargs["top_k_entropy"])

    monkeypatch.setattr(prm_cli, "step_decoder_for", shared_engine)
    data = tmp_path / "q.jsonl"
    write_jsonl(data, [{"question": "3 + 4", "answer": "7"}])
    out = tmp_path / "trees.jsonl"
    args = ["branch", "--model", "m", "--backend", "vllm", "--top-k-entropy", "-1"]
    args += ["--gpu-memory-utilization", "0.3", "--tensor-parallel-size", "1"]
    args += ["--data", str(data), "--tau", "0", "--max-depth", "1", "--max-new-tokens", "6"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert seen["backend"] == "vllm" and seen["top_k_entropy"] == -1
    # Engine options reach the engine; the engine is closed when the command is done.
    assert seen["gpu_memory_utilization"] == 0.3 and seen["tensor_parallel_size"] == 1
    assert seen["max_model_len"] is None and seen["closed"]
    tree = BranchTree.from_dict(next(iter(read_jsonl(out))))
    assert json.loads(result.stdout.strip().splitlines()[-1])["cost"]["calls"] == 2
    want = build_trees(hf_decoder, [Question("q-1", tree.prompt, "7")], _cli_config())[0]
    assert _shape(tree) == _shape(want)


def test_anchor_rates_top_k_vs_exact(
    vllm_decoder: VLLMStepDecoder, hf_decoder: HFStepDecoder
) -> None:
    """Per tau, the anchor rate of top-20 entropies against exact ones on the same greedy
    positions: they differ only where the top-20 bounds straddle tau."""
    from ifrl.core.backends.vllm import topk_entropy_bounds
    from ifrl.prm.branching import anchor_rates

    approx = _approx(vllm_decoder)
    prefixes = [vllm_decoder.encode(p) for p in PROMPTS]
    exact = vllm_decoder.greedy(prefixes, [24, 24], top_n=1)
    estimated = approx.greedy(prefixes, [24, 24], top_n=TOP_K)
    vocab = int(vllm_decoder.generator.vocab_size)
    cfg = BranchConfig(max_new_tokens=24)
    taus = (0.5, 1.0, 2.0, 3.0, 4.0)

    def as_tree(traces: list[Any]) -> list[BranchTree]:
        from ifrl.prm.branching import BranchNode

        return [
            BranchTree(
                f"q{i}",
                p,
                None,
                prefixes[i],
                [BranchNode(0, None, 0, 0, 0, list(t.token_ids), list(t.entropies))],
            )
            for i, (p, t) in enumerate(zip(PROMPTS, traces))
        ]

    for e, a in zip(exact, estimated):
        assert e.token_ids == a.token_ids
    tok = hf_decoder.tokenizer
    want = anchor_rates(as_tree(exact), tok, taus, cfg)
    got = anchor_rates(as_tree(estimated), tok, taus, cfg)
    positions = sum(len(t.token_ids) for t in exact)
    for tau in taus:
        straddle = 0
        for a in estimated:
            for top in a.top:
                low, high = topk_entropy_bounds([lp for _, lp in top[:TOP_K]], vocab)
                straddle += low <= tau <= high
        assert abs(want[f"{tau:g}"] - got[f"{tau:g}"]) <= straddle / positions + 1e-9, tau
    assert want["0.5"] >= want["4"]  # fewer anchors at a higher threshold


def _cli_config() -> BranchConfig:
    return BranchConfig(tau=0.0, max_depth=1, max_branches=16, max_new_tokens=6)
