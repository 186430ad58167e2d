"""GRPO with vLLM rollouts: the trainer's weights reach the engine, and two steps run end to end.

Run in the vLLM venv: ``VLLM_CPU_KVCACHE_SPACE=1 .venv-vllm/bin/python -m pytest -m vllm
tests/rltrain/test_grpo_vllm.py``. One in-process engine for the whole module (about 10 s to start
on CPU): the GRPO run builds it from ``backend: vllm`` and the other tests reuse it.

Tolerance: after ``load_weights`` the engine's log-probabilities of its greedy tokens equal the
transformers policy's to ``LOGPROB_ATOL`` (float32 on both sides; measured difference 5e-6), while
the weights loaded differ from the previous ones by enough to move them by more than
``MIN_SHIFT`` — so a load that did not happen, or a stale prefix cache, fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from rl_helpers import PROMPTS, lowercase, no_comma

from ifrl.core.records import SamplingParams
from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer
from ifrl.rltrain.models import load_tokenizer, policy_weights

LOGPROB_ATOL = 1e-4
MIN_SHIFT = 1e-2
# vLLM caches whole KV blocks of a prompt (128 tokens on CPU): the long prompt (162 tokens) fills
# one, which a missing prefix-cache reset would reuse after new weights arrive.
LONG = " ".join(["apple river stone green cloud music bread light ocean paper"] * 6)
CHECK_PROMPTS = [LONG, "Write about the river", "The cat sat on", "1 + 2 ="]
GREEDY = SamplingParams(temperature=0.0, max_new_tokens=8)


def _cfg(model_dir: Path, out: Path, **kw: Any) -> GRPOConfig:
    base: dict[str, Any] = dict(
        model=str(model_dir),
        output_dir=str(out),
        backend="vllm",
        backend_options={"max_model_len": 256},
        max_prompt_length=48,
        per_device_batch_size=8,
        num_generations=4,
        max_completion_length=8,
        max_steps=2,
        learning_rate=1e-3,
        progress=False,
        save_final_model=False,
    )
    base.update(kw)
    return GRPOConfig(**base)


@pytest.fixture(scope="module")
def run(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two GRPO steps with ``backend: vllm``; records a checksum of every weight load."""
    pytest.importorskip("vllm")
    from ifrl.core.backends.vllm import VLLMGenerator

    loads: list[float] = []
    original = VLLMGenerator.load_weights

    def spy(self: VLLMGenerator, weights: Any) -> None:
        loads.append(float(sum(t.double().sum() for t in dict(weights).values())))
        original(self, weights)

    out = tmp_path_factory.mktemp("grpo_vllm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VLLM_CPU_KVCACHE_SPACE", "1")
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(VLLMGenerator, "load_weights", spy)
        base_sum = float(sum(t.double().sum() for t in _base(tiny_model_dir).state_dict().values()))
        trainer = GRPOTrainer(
            _cfg(tiny_model_dir, out), reward_funcs=[no_comma, lowercase], train_data=PROMPTS
        )
        trainer.train()
    engine = trainer.generator
    assert isinstance(engine, VLLMGenerator)
    try:
        yield {"trainer": trainer, "engine": engine, "out": out, "loads": loads, "base": base_sum}
    finally:
        engine.close()


def _base(model_dir: Path) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    return model.eval()


def _hf_logprobs(model: torch.nn.Module, tok: Any, prompt: str, tokens: tuple[int, ...]) -> Any:
    """Log-probabilities the transformers model gives ``tokens`` after ``prompt``."""
    ids = list(tok(prompt)["input_ids"])
    full = torch.tensor([ids + list(tokens)])
    was = model.training
    model.eval()
    with torch.no_grad():
        logp = model(full).logits[0].float().log_softmax(-1)
    model.train(was)
    return torch.tensor([float(logp[len(ids) - 1 + i, t]) for i, t in enumerate(tokens)])


def _engine_vs(engine: Any, model: torch.nn.Module, tok: Any) -> tuple[float, list[Any]]:
    """Largest |engine - model| log-prob gap over the greedy tokens of CHECK_PROMPTS."""
    rows = engine.generate(CHECK_PROMPTS, GREEDY)
    gap = 0.0
    for prompt, (comp, *_) in zip(CHECK_PROMPTS, rows):
        assert len(comp.logprobs) == len(comp.token_ids) > 0
        ref = _hf_logprobs(model, tok, prompt, comp.token_ids)
        gap = max(gap, float((torch.tensor(comp.logprobs) - ref).abs().max()))
    return gap, rows


def _perturbed(model: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)


@pytest.mark.vllm
def test_two_grpo_steps_on_vllm_write_metrics_and_sync_weights_each_rollout(
    run: dict[str, Any],
) -> None:
    rows = [json.loads(line) for line in (run["out"] / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for r in rows:
        assert torch.isfinite(torch.tensor(r["loss"]))
        assert 0.0 <= r["reward"] <= 2.0
        assert 0.0 < r["completion_length"] <= 8.0
        for name in ("no_comma", "lowercase"):
            assert 0.0 <= r[f"rewards/{name}/mean"] <= 1.0
    # One load per rollout phase: the first hands over the untrained model, the second the
    # policy after step 1 (it changed, so rollouts of step 2 did not come from stale weights).
    loads = run["loads"]
    assert len(loads) == 2
    assert loads[0] == pytest.approx(run["base"], rel=1e-9)
    assert abs(loads[1] - loads[0]) > 1e-3


@pytest.mark.vllm
def test_engine_logprobs_equal_the_policy_after_load_weights(
    run: dict[str, Any], tiny_model_dir: Path
) -> None:
    engine, trainer = run["engine"], run["trainer"]
    tok = load_tokenizer(str(tiny_model_dir))
    # Fill the prefix cache with the engine's current weights first: load_weights must reset
    # it, or the prompts' KV blocks below would come from the old weights.
    engine.generate(CHECK_PROMPTS, GREEDY)
    _perturbed(trainer.policy, seed=1)
    engine.load_weights(policy_weights(trainer.policy))
    gap, _ = _engine_vs(engine, trainer.policy, tok)
    assert gap <= LOGPROB_ATOL
    shift, _ = _engine_vs(engine, _base(tiny_model_dir), tok)
    assert shift > MIN_SHIFT  # the weights really changed, so the check above can fail


@pytest.mark.vllm
def test_lora_policy_reaches_the_engine_merged(
    run: dict[str, Any], tiny_model_dir: Path, tmp_path: Path
) -> None:
    engine = run["engine"]
    cfg = _cfg(tiny_model_dir, tmp_path, use_lora=True, lora_r=4, learning_rate=5e-2)
    trainer = GRPOTrainer(
        cfg, reward_funcs=[no_comma, lowercase], train_data=PROMPTS, generator=engine
    )
    trainer.train()
    trainer._generator()  # what the next rollout does first: push the policy after step 2
    tok = load_tokenizer(str(tiny_model_dir))
    gap, _ = _engine_vs(engine, trainer.policy, tok)
    assert gap <= LOGPROB_ATOL
    shift, _ = _engine_vs(engine, _base(tiny_model_dir), tok)
    assert shift > MIN_SHIFT


@pytest.mark.vllm
def test_weights_also_travel_through_a_file_for_engines_in_worker_processes(
    run: dict[str, Any], tiny_model_dir: Path
) -> None:
    """The handover an engine in worker processes gets, exercised on the in-process engine."""
    engine = run["engine"]
    assert engine.in_process
    model = _base(tiny_model_dir)
    _perturbed(model, seed=2)
    before = engine.llm.llm_engine.model_config.model
    engine._reload_from_file(list(model.state_dict().items()))
    engine.llm.reset_prefix_cache()
    assert engine.llm.llm_engine.model_config.model == before
    gap, _ = _engine_vs(engine, model, load_tokenizer(str(tiny_model_dir)))
    assert gap <= LOGPROB_ATOL


@pytest.mark.vllm
def test_load_weights_rejects_non_tensors(run: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match=r"model\.norm\.weight"):
        run["engine"].load_weights({"model.norm.weight": [1.0, 2.0]})


def test_backend_options_come_from_yaml_and_the_command_line(tmp_path: Path) -> None:
    from ifrl.core.config import ConfigError, load_config

    path = tmp_path / "grpo.yaml"
    path.write_text(
        "model: m\ndata: d.jsonl\nbackend: vllm\n"
        "backend_options:\n  gpu_memory_utilization: 0.3\n  enforce_eager: false\n",
        encoding="utf-8",
    )
    cfg = load_config(GRPOConfig, path)
    assert cfg.backend_options == {"gpu_memory_utilization": 0.3, "enforce_eager": False}
    cli = load_config(GRPOConfig, path, {"backend_options": "max_model_len=1024,swap_space=0.5"})
    assert cli.backend_options == {"max_model_len": 1024, "swap_space": 0.5}
    flow = load_config(GRPOConfig, path, {"backend_options": "{max_model_len: 2048}"})
    assert flow.backend_options == {"max_model_len": 2048}
    assert GRPOConfig().backend_options == {}
    with pytest.raises(ConfigError, match="backend_options"):
        load_config(GRPOConfig, path, {"backend_options": "max_model_len"})
    with pytest.raises(ConfigError, match="backend_options"):
        load_config(GRPOConfig, path, {"backend_options": "[1, 2]"})


@pytest.mark.vllm
def test_colocated_rollouts_are_corrected_by_importance_weights_near_one(
    run: dict[str, Any],
) -> None:
    """TRL's vLLM importance-sampling correction is on for engine rollouts: the engine's and the
    trainer's float32 log-probs agree, so every weight is close to 1."""
    rows = [json.loads(line) for line in (run["out"] / "metrics.jsonl").read_text().splitlines()]
    for r in rows:
        assert r["sampling/sampling_logp_difference/max"] <= LOGPROB_ATOL
        assert r["sampling/importance_sampling_ratio/min"] >= 1 - 1e-3
        assert r["sampling/importance_sampling_ratio/max"] <= 1 + 1e-3
    assert all("is_weights" in mb for mb in run["trainer"].buffer)


# ------------------------------------------------------------------------------------------------
# vllm_mode: server — a separate `vllm serve` process that reloads the trainer's weights.


@pytest.fixture(scope="module")
def dev_server(tiny_model_dir: Path) -> Iterator[str]:
    """A vLLM OpenAI server on the tiny model with the development endpoints weight sync uses."""
    pytest.importorskip("vllm")
    from vllm_server import serve  # tests/support/vllm_server.py

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VLLM_SERVER_DEV_MODE", "1")
        with serve(tiny_model_dir, max_model_len=256, tool_call_parser=None) as url:
            yield url


def _server_engine(url: str, tiny_model_dir: Path, sync: Path) -> Any:
    from ifrl.rltrain.rollout_server import VLLMServerGenerator

    tok = load_tokenizer(str(tiny_model_dir))
    return VLLMServerGenerator(url, tokenizer=tok, sync_dir=sync, eos_ids=[tok.eos_token_id])


@pytest.mark.vllm
def test_server_weight_sync_makes_its_logprobs_the_policys(
    dev_server: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    engine = _server_engine(dev_server, tiny_model_dir, tmp_path / "sync")
    tok = load_tokenizer(str(tiny_model_dir))
    base = _base(tiny_model_dir)
    gap, _ = _engine_vs(engine, base, tok)  # also fills the server's prefix cache
    assert gap <= LOGPROB_ATOL  # the server starts from the same weights
    model = _base(tiny_model_dir)
    _perturbed(model, seed=3)
    engine.load_weights(policy_weights(model))
    gap, rows = _engine_vs(engine, model, tok)
    assert gap <= LOGPROB_ATOL
    shift, _ = _engine_vs(engine, base, tok)
    assert shift > MIN_SHIFT  # the weights really changed, so the check above can fail
    assert all(c.token_ids for (c, *_) in rows) and engine.syncs == 1
    assert (tmp_path / "sync" / "model.safetensors").is_file()


@pytest.mark.vllm
def test_two_grpo_steps_in_server_mode_sync_each_rollout(
    dev_server: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    cfg = _cfg(
        tiny_model_dir,
        tmp_path / "run",
        vllm_mode="server",
        vllm_server_base_url=dev_server,
        vllm_sync_dir=str(tmp_path / "sync"),
        backend_options={},
    )
    trainer = GRPOTrainer(cfg, reward_funcs=[no_comma, lowercase], train_data=PROMPTS)
    trainer.train()
    engine = trainer.generator
    assert engine is not None and engine.syncs == 2  # type: ignore[attr-defined]
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for r in rows:
        assert 0.0 < r["completion_length"] <= 8.0
        assert r["sampling/sampling_logp_difference/max"] <= LOGPROB_ATOL
    trainer._generator()  # push the policy after step 2, as the next rollout would
    gap, _ = _engine_vs(engine, trainer.policy, load_tokenizer(str(tiny_model_dir)))
    assert gap <= LOGPROB_ATOL
    shift, _ = _engine_vs(engine, _base(tiny_model_dir), load_tokenizer(str(tiny_model_dir)))
    assert shift > 1e-4  # two steps at lr 1e-3 moved the policy away from the start


def test_server_mode_needs_backend_vllm() -> None:
    from ifrl.core.config import ConfigError

    with pytest.raises(ConfigError, match="vllm_mode"):
        GRPOConfig(model="m", vllm_mode="server").validate()
