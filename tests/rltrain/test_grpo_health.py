"""GRPO training health and batch composition: frac_reward_zero_std and the progress bar, the
zero-variance and unchanged-parameters warnings, dynamic sampling, dataset mixing, and metrics
reward functions log through ``log_metric``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from rl_helpers import PROMPTS, Scripted, by_kind, constant, no_comma, write_rows

from ifrl.core.config import ConfigError
from ifrl.rltrain.data import DataCursor, MixedCursor
from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer
from ifrl.rltrain.health import TrainingHealthWarning, ZeroVarianceMonitor
from ifrl.rltrain.models import load_tokenizer


def _cfg(tiny_model_dir: Path, out: Path, **kw: Any) -> GRPOConfig:
    base: dict[str, Any] = dict(
        model=str(tiny_model_dir),
        output_dir=str(out),
        per_device_batch_size=8,
        num_generations=4,
        max_completion_length=4,
        max_steps=1,
        progress=False,
        save_final_model=False,
        learning_rate=1e-3,
    )
    base.update(kw)
    return GRPOConfig(**base)


def _eos(tiny_model_dir: Path) -> int:
    return int(load_tokenizer(str(tiny_model_dir)).eos_token_id)


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


KINDS = [
    {"prompt": f"{w} {i}", "kind": "flat" if i % 3 else "spread"}
    for i, w in enumerate("abcdefghij")
]


def test_constant_reward_warns_and_the_unchanged_run_says_so(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Every group scores the same: frac_reward_zero_std is 1 on every step, the monitor warns
    once the streak reaches zero_std_warning_steps, and the run, whose parameters never moved,
    ends with a warning in its result and summary.json."""
    cfg = _cfg(tiny_model_dir, tmp_path, max_steps=4, zero_std_warning_steps=3)
    tr = GRPOTrainer(cfg, reward_funcs=[constant], train_data=PROMPTS)
    with pytest.warns(TrainingHealthWarning) as caught:
        result = tr.train()
    messages = [str(w.message) for w in caught]
    assert any("identical rewards on 3 consecutive steps" in m for m in messages), messages
    assert any("did not change in 4 steps" in m for m in messages), messages
    assert len(result.warnings) == 2 and result.warnings == tuple(messages)
    assert "4 of 4 steps had a zero gradient norm" in result.warnings[1]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["warnings"] == list(result.warnings)
    assert (summary["zero_grad_steps"], summary["grad_norm_steps"]) == (4, 4)
    rows = _rows(tmp_path / "metrics.jsonl")
    assert [r["frac_reward_zero_std"] for r in rows] == [1.0] * 4
    assert all(r["loss"] == 0.0 for r in rows)


def test_a_learning_run_has_no_warning_and_the_bar_shows_reward(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    cfg = _cfg(tiny_model_dir, tmp_path, max_steps=2)
    tr = GRPOTrainer(
        cfg,
        reward_funcs=[by_kind],
        train_data=[KINDS[0], KINDS[3]],
        generator=Scripted(_eos(tiny_model_dir)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingHealthWarning)
        result = tr.train()
    assert result.warnings == ()
    assert json.loads((tmp_path / "summary.json").read_text())["warnings"] == []
    # Both groups spread: parity rewards 0, 1, 0, 1 in each.
    assert result.metrics["frac_reward_zero_std"] == 0.0
    assert tr.progress_postfix(result.metrics) == {"reward": "0.500", "zero_std": "0.00"}


def test_zero_variance_monitor_warns_once_per_streak() -> None:
    mon = ZeroVarianceMonitor(steps=2)
    seen = [mon.update(f, s) for s, f in enumerate([0.9, 0.4, 0.6, 0.75, 1.0, 0.2, 0.8, 0.9], 1)]
    warned = [s for s, m in enumerate(seen, 1) if m]
    assert warned == [4, 8]  # streaks 3-4 (again at 5: no repeat) and 7-8; 0.4 and 0.2 break them
    assert "steps 3-4" in str(seen[3])
    assert ZeroVarianceMonitor(steps=0).update(1.0, 1) is None


def test_frac_reward_zero_std_and_log_metric_values_are_logged(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """One flat and one spread group per step: half the completions sit in a zero-std group;
    the reward's per-kind pass rates come through log_metric."""
    cfg = _cfg(tiny_model_dir, tmp_path)
    tr = GRPOTrainer(
        cfg,
        reward_funcs=[by_kind],
        train_data=[KINDS[0], KINDS[1]],
        generator=Scripted(_eos(tiny_model_dir)),
    )
    tr.train()
    row = _rows(tmp_path / "metrics.jsonl")[0]
    assert row["frac_reward_zero_std"] == row["frac_groups_zero_std"] == 0.5
    assert row["kinds/flat/pass_rate"] == 1.0
    assert row["kinds/spread/pass_rate"] == 0.5
    assert row["rewards/by_kind/mean"] == 0.75


def test_batch_scaling_still_counts_the_groups_without_signal(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """With scale_rewards batch, TRL's frac_reward_zero_std looks at the whole batch (which
    varies); the health monitor and the progress bar use the share of flat groups."""
    cfg = _cfg(tiny_model_dir, tmp_path, scale_rewards="batch")
    gen = Scripted(_eos(tiny_model_dir))
    tr = GRPOTrainer(cfg, reward_funcs=[by_kind], train_data=[KINDS[0], KINDS[1]], generator=gen)
    tr.rollout(0)
    m = tr.buffer_metrics
    assert (m["frac_reward_zero_std"], m["frac_groups_zero_std"]) == (0.0, 0.5)
    assert tr.progress_postfix(m)["zero_std"] == "0.50"


def test_rows_without_any_reward_get_zero_advantage(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = _cfg(tiny_model_dir, tmp_path)
    rows: list[dict[str, Any]] = [
        {"prompt": "a 0", "kind": None},
        {"prompt": "b 1", "kind": "spread"},
    ]
    tr = GRPOTrainer(
        cfg, reward_funcs=[by_kind], train_data=rows, generator=Scripted(_eos(tiny_model_dir))
    )
    tr.rollout(0)
    adv = torch.cat([mb["advantages"] for mb in tr.buffer])
    assert isinstance(tr.cursor, DataCursor)
    by_prompt = {
        tr.rows[g]["prompt"]: adv[i * 4 : (i + 1) * 4] for i, g in enumerate(tr.cursor.order(0))
    }
    assert torch.equal(by_prompt["a 0"], torch.zeros(4))
    assert by_prompt["b 1"].abs().min() > 0.5
    # The unscorable completions are left out of the logged reward, not counted as 0.
    assert tr.buffer_metrics["reward"] == 0.5


def _dynamic(
    tiny_model_dir: Path, tmp_path: Path, reward: Any, rows: list[dict[str, Any]], **kw: Any
) -> GRPOTrainer:
    cfg = _cfg(tiny_model_dir, tmp_path, dynamic_sampling=True, **kw)
    gen = Scripted(_eos(tiny_model_dir))
    tr = GRPOTrainer(cfg, reward_funcs=[reward], train_data=rows, generator=gen)
    tr.rollout(0)
    return tr


def test_dynamic_sampling_replaces_zero_variance_groups(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Two of every three prompts are flat: rounds go on until two spread groups are in."""
    tr = _dynamic(tiny_model_dir, tmp_path, by_kind, KINDS, dynamic_sampling_max_rounds=8)
    m = tr.buffer_metrics
    assert m["frac_reward_zero_std"] == 0.0
    assert m["dynamic_sampling/filled_groups"] == 0.0
    assert m["dynamic_sampling/rounds"] >= 2
    assert tr.generator is not None and tr.generator.calls == m["dynamic_sampling/rounds"]  # type: ignore[attr-defined]
    # The batch is the usual size, advantages are those of the kept groups only.
    adv = torch.cat([mb["advantages"] for mb in tr.buffer])
    assert adv.numel() == 8 and (adv != 0).all()
    taken = tr.cursor.state_dict()
    assert taken["position"] + 10 * taken["epoch"] == 2 * m["dynamic_sampling/rounds"]


def test_dynamic_sampling_stops_at_its_cap_and_fills_the_batch(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    tr = _dynamic(tiny_model_dir, tmp_path, constant, PROMPTS, dynamic_sampling_max_rounds=2)
    m = tr.buffer_metrics
    assert m["dynamic_sampling/rounds"] == 3.0  # the first round and 2 extra
    assert m["dynamic_sampling/filled_groups"] == 2.0
    assert m["frac_reward_zero_std"] == 1.0
    assert sum(mb["advantages"].numel() for mb in tr.buffer) == 8


def test_dynamic_sampling_is_off_by_default(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = _cfg(tiny_model_dir, tmp_path)
    gen = Scripted(_eos(tiny_model_dir))
    tr = GRPOTrainer(cfg, reward_funcs=[constant], train_data=PROMPTS, generator=gen)
    tr.rollout(0)
    assert gen.calls == 1 and not any(k.startswith("dynamic") for k in tr.buffer_metrics)


def test_mixed_cursor_follows_the_weights_and_resumes() -> None:
    mix = MixedCursor([5, 20], [3.0, 1.0], seed=4)
    drawn = mix.take(4000)
    share = sum(i < 5 for i in drawn) / len(drawn)
    assert share == pytest.approx(0.75, abs=0.03)
    # Each dataset is walked on its own: every epoch of the small one covers it once.
    small = [i for i in drawn if i < 5][:10]
    assert sorted(small[:5]) == sorted(small[5:]) == [0, 1, 2, 3, 4]
    again = MixedCursor([5, 20], [3.0, 1.0], seed=4)
    again.load_state_dict(mix.state_dict())
    assert again.take(50) == mix.take(50)
    assert MixedCursor([5, 20], [0.0, 1.0]).take(20) == [
        5 + i for i in DataCursor(20, seed=7919).take(20)
    ]
    with pytest.raises(ValueError, match="positive sum"):
        MixedCursor([5], [0.0])


def test_grpo_mixes_datasets_by_weight(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Two prompt files, weights 3:1, rows with different columns; per-dataset metrics."""
    hard = write_rows(
        tmp_path / "hard.jsonl", [{"prompt": f"h {i}", "kind": "spread"} for i in range(6)]
    )
    soft = write_rows(
        tmp_path / "soft.jsonl", [{"prompt": f"s {i}", "topic": "x"} for i in range(6)]
    )
    cfg = _cfg(
        tiny_model_dir,
        tmp_path / "run",
        datasets={str(hard): 3.0, str(soft): 1.0},
        per_device_batch_size=16,
        max_steps=6,
    )
    tr = GRPOTrainer(cfg, reward_funcs=[by_kind], generator=Scripted(_eos(tiny_model_dir)))
    tr.train()
    rows = _rows(tmp_path / "run" / "metrics.jsonl")
    hard_share = sum(r["datasets/hard/fraction"] for r in rows) / len(rows)
    assert 0.5 < hard_share < 0.95  # 24 prompts drawn at 3:1
    assert all(r["datasets/hard/fraction"] + r["datasets/soft/fraction"] == 1.0 for r in rows)
    # The soft rows have no kind column: by_kind got None for them, so no reward.
    assert all(r["datasets/hard/reward"] == 0.5 for r in rows if r["datasets/hard/fraction"])
    with pytest.raises(ConfigError, match="either data or datasets"):
        _cfg(tiny_model_dir, tmp_path, data="x.jsonl", datasets={"y.jsonl": 1.0}).validate()


def test_in_memory_datasets_take_weights_by_name(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = _cfg(tiny_model_dir, tmp_path, datasets={"a": 0.0, "b": 1.0})
    data = {"a": [{"prompt": "a", "kind": "flat"}], "b": [{"prompt": "b", "kind": "spread"}]}
    tr = GRPOTrainer(
        cfg, reward_funcs=[by_kind], train_data=data, generator=Scripted(_eos(tiny_model_dir))
    )
    tr.rollout(0)
    assert tr.buffer_metrics["datasets/b/fraction"] == 1.0
    with pytest.raises(ConfigError, match="not given"):
        GRPOTrainer(
            _cfg(tiny_model_dir, tmp_path, datasets={"c": 1.0}),
            reward_funcs=[no_comma],
            train_data=data,
        )
