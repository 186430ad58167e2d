"""Loop pieces: the schedule, the data cursor, checkpoint atomicity and resumption state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ifrl.core.config import ConfigError
from ifrl.rltrain.checkpoint import latest_checkpoint, list_checkpoints, save_checkpoint
from ifrl.rltrain.data import DataCursor, shard
from ifrl.rltrain.loop import lr_lambda
from ifrl.rltrain.trainconfig import TrainConfig


def test_schedules_warm_up_then_decay() -> None:
    cos = lr_lambda(TrainConfig(max_steps=10, warmup_steps=2, lr_scheduler="cosine"))
    assert [cos(0), cos(1)] == [0.5, 1.0]
    assert cos(2) == pytest.approx(1.0) and cos(10) == pytest.approx(0.0)
    lin = lr_lambda(TrainConfig(max_steps=10, lr_scheduler="linear"))
    assert lin(5) == pytest.approx(0.5)
    assert lr_lambda(TrainConfig(max_steps=10))(7) == 1.0
    with pytest.raises(ConfigError, match="lr_scheduler"):
        TrainConfig(lr_scheduler="step").validate()


def test_cursor_resumes_mid_epoch_and_reshuffles_each_epoch() -> None:
    a = DataCursor(5, seed=3)
    first = a.take(7)  # crosses into epoch 1
    assert sorted(first[:5]) == [0, 1, 2, 3, 4]
    b = DataCursor(5, seed=3)
    b.load_state_dict(a.state_dict())
    assert a.take(6) == b.take(6)
    assert DataCursor(5, seed=3).order(0) != DataCursor(5, seed=3).order(1)
    assert shard([1, 2, 3, 4], 1, 2) == [3, 4]
    with pytest.raises(ValueError, match="split evenly"):
        shard([1, 2, 3], 0, 2)


def _save(out: Path, step: int) -> Path:
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    return save_checkpoint(
        out,
        step,
        rank=0,
        world_size=1,
        model=model,
        optimizer=opt,
        scheduler=sched,
        trainer_state={"cursor": {"epoch": 0, "position": step}},
        extra={},
        barrier=lambda: None,
        keep=2,
    )


def test_checkpoints_are_atomic_and_pruned(tmp_path: Path) -> None:
    for step in (1, 2, 3):
        _save(tmp_path, step)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000002", "step-00000003"]
    # A crash while writing step 4 leaves only a temporary directory: it is never picked up.
    partial = tmp_path / "checkpoints" / ".tmp-step-00000004"
    partial.mkdir()
    (partial / "trainable.pt").write_bytes(b"half")
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and latest.name == "step-00000003"
    assert json.loads((latest / "state.json").read_text())["step"] == 3
    # A stale pointer to a checkpoint without state.json falls back to the newest complete one.
    (tmp_path / "checkpoints" / "latest").write_text("step-00000009")
    assert latest_checkpoint(tmp_path) == latest
    # Writing step 4 for real replaces the leftover temporary directory.
    assert _save(tmp_path, 4).name == "step-00000004" and not partial.exists()
