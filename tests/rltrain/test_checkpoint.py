"""Checkpoints load without running code: RNG and trainer states are tensors and plain values,
every file is read with ``weights_only=True``, and a planted pickle payload is refused."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from rl_helpers import conversations, write_rows

from ifrl.core.cli import main
from ifrl.rltrain.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    plain_state,
    rng_state,
    safe_load,
    save_checkpoint,
    set_rng_state,
)

FILES = ("rng-0.pt", "trainer-0.pt", "trainable.pt", "optimizer.pt", "scheduler.pt")


class Payload:
    """Unpickling this writes ``marker``: what a planted checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def _draws() -> tuple[Any, ...]:
    return (
        [random.random() for _ in range(3)],
        random.gauss(0, 1),
        np.random.rand(3).tolist(),
        np.random.standard_normal(),
        torch.rand(3).tolist(),
    )


def _seed_midway() -> None:
    random.seed(7)
    np.random.seed(7)
    torch.manual_seed(7)
    random.gauss(0, 1)  # leaves python's gauss_next set
    np.random.standard_normal()  # leaves numpy's cached gaussian set


def test_rng_state_round_trips_exactly_through_a_weights_only_load(tmp_path: Path) -> None:
    _seed_midway()
    torch.save(rng_state(), tmp_path / "rng.pt")
    expected = _draws()
    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    loaded = torch.load(tmp_path / "rng.pt", weights_only=True)  # plain tensors and values only
    set_rng_state(loaded)
    assert _draws() == expected


def test_rng_files_of_the_earlier_format_load_safely(tmp_path: Path) -> None:
    _seed_midway()
    legacy = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    torch.save(legacy, tmp_path / "rng-0.pt")
    expected = _draws()
    random.seed(1)
    np.random.seed(1)
    from ifrl.rltrain.checkpoint import _load_rng

    set_rng_state(_load_rng(tmp_path / "rng-0.pt"))
    assert _draws() == expected


def _checkpoint(out: Path, trainer_state: dict[str, Any] | None = None) -> tuple[Path, Any]:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    state = trainer_state if trainer_state is not None else {"cursor": {"epoch": 1, "position": 3}}
    path = save_checkpoint(
        out,
        1,
        rank=0,
        world_size=1,
        model=model,
        optimizer=opt,
        scheduler=sched,
        trainer_state=state,
        extra={},
        barrier=lambda: None,
    )
    return path, (model, opt, sched)


def _fresh() -> tuple[torch.nn.Linear, Any, Any]:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    return model, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)


def test_a_checkpoint_restores_weights_optimizer_and_trainer_state(tmp_path: Path) -> None:
    buffer = [{"ids": torch.arange(6).reshape(2, 3)[:1], "adv": torch.tensor([0.5])}]
    path, (saved, saved_opt, _) = _checkpoint(
        tmp_path, {"buffer": buffer, "metrics": {"r": np.float64(0.25)}, "flag": True}
    )
    model, opt, sched = _fresh()
    meta, state = load_checkpoint(
        path, rank=0, world_size=1, model=model, optimizer=opt, scheduler=sched
    )
    assert meta["step"] == 1
    assert torch.equal(model.weight, saved.weight) and torch.equal(model.bias, saved.bias)
    assert opt.state_dict()["state"][0]["exp_avg"].equal(
        saved_opt.state_dict()["state"][0]["exp_avg"]
    )
    assert torch.equal(state["buffer"][0]["ids"], torch.tensor([[0, 1, 2]]))
    assert state["metrics"] == {"r": 0.25} and type(state["metrics"]["r"]) is float
    assert state["flag"] is True


@pytest.mark.parametrize("name", FILES)
def test_a_planted_pickle_payload_is_refused_and_never_runs(tmp_path: Path, name: str) -> None:
    path, _ = _checkpoint(tmp_path / "run")
    marker = tmp_path / "pwned"
    torch.save({"python": Payload(marker)}, path / name)  # what an attacker would plant
    model, opt, sched = _fresh()
    before = model.weight.detach().clone()
    with pytest.raises(
        CheckpointError,
        match=rf"{name}: refused: loading it would call or build exec, .*could run code",
    ):
        load_checkpoint(path, rank=0, world_size=1, model=model, optimizer=opt, scheduler=sched)
    assert not marker.exists()
    # Every file is read before anything is restored: the model is untouched.
    assert torch.equal(model.weight, before)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize(
    ("protocol", "message"), [(2, "refused: .* exec"), (5, "not a readable checkpoint file")]
)
def test_a_plain_pickle_planted_outside_torch_is_refused(
    tmp_path: Path, protocol: int, message: str
) -> None:
    import pickle

    marker = tmp_path / "pwned"
    (tmp_path / "x.pt").write_bytes(pickle.dumps(Payload(marker), protocol=protocol))
    with pytest.raises(CheckpointError, match=message):
        safe_load(tmp_path / "x.pt")
    assert not marker.exists()


def test_missing_and_corrupt_files_name_the_file(tmp_path: Path) -> None:
    path, _ = _checkpoint(tmp_path)
    (path / "trainer-0.pt").unlink()
    (path / "scheduler.pt").write_bytes(b"not a checkpoint")
    model, opt, sched = _fresh()
    with pytest.raises(CheckpointError, match=r"scheduler\.pt: not a readable checkpoint"):
        load_checkpoint(path, rank=0, world_size=1, model=model, optimizer=opt, scheduler=sched)
    (path / "scheduler.pt").unlink()
    with pytest.raises(CheckpointError, match=r"scheduler\.pt: missing"):
        load_checkpoint(path, rank=0, world_size=1, model=model, optimizer=opt, scheduler=sched)


def test_rng_file_without_an_rng_state_is_refused(tmp_path: Path) -> None:
    path, _ = _checkpoint(tmp_path)
    torch.save({"python": 1, "numpy": 2, "torch": 3}, path / "rng-0.pt")
    model, opt, sched = _fresh()
    with pytest.raises(CheckpointError, match=r"rng-0\.pt: does not hold an RNG state"):
        load_checkpoint(path, rank=0, world_size=1, model=model, optimizer=opt, scheduler=sched)


def test_trainer_state_that_needs_code_to_load_is_refused_when_saving(tmp_path: Path) -> None:
    class Custom:
        pass

    with pytest.raises(CheckpointError, match=r"trainer_state\.extra\[1\]: a Custom"):
        _checkpoint(tmp_path, {"extra": [1, Custom()]})
    with pytest.raises(CheckpointError, match="key 3 is not a string"):
        plain_state({3: 1})
    assert plain_state({"a": (np.int64(2), [np.bool_(True)])}) == {"a": (2, [True])}
    assert latest_checkpoint(tmp_path) is None  # nothing half-written was published


def test_resume_from_the_cli_refuses_a_planted_payload(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_rows(tmp_path / "d.jsonl", conversations(4))
    out = tmp_path / "run"
    args = [
        "rl", "sft", "--model", str(tiny_model_dir), "--data", str(data),
        "--output_dir", str(out), "--per_device_batch_size", "2", "--progress", "false",
        "--save_final_model", "false", "--save_steps", "1",
    ]  # fmt: skip
    first = CliRunner().invoke(main, [*args, "--max_steps", "1"])
    assert first.exit_code == 0, first.output
    ckpt = latest_checkpoint(out)
    assert ckpt is not None
    marker = tmp_path / "pwned"
    torch.save({"python": Payload(marker)}, ckpt / "rng-0.pt")
    again = CliRunner().invoke(main, [*args, "--max_steps", "2", "--resume", "true"])
    assert again.exit_code == 1, again.output
    assert isinstance(again.exception, SystemExit)  # through the error boundary
    assert "Traceback" not in again.output
    assert again.output.startswith("Error: ") and "rng-0.pt: refused" in again.output
    assert not marker.exists()
    assert json.loads((ckpt / "state.json").read_text())["step"] == 1
