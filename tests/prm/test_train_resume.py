"""PRM training a GPU user can run, tested on the CPU: a run killed with SIGKILL resumes from its
checkpoint and ends bitwise equal to an uninterrupted run; gradient accumulation equals one
bigger batch; bf16 autocast trains; checkpoints of other settings are refused."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from safetensors.torch import load_file  # noqa: E402

from ifrl.core.records import StepSample  # noqa: E402
from ifrl.prm.model import ProcessRewardModel  # noqa: E402
from ifrl.prm.train import PRMTrainConfig, checkpoints_for, train_prm  # noqa: E402

WORKER = Path(__file__).with_name("prm_resume_worker.py")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(WORKER), *args], capture_output=True, text=True, timeout=600
    )


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return {**load_file(out / "model.safetensors"), **load_file(out / "prm_head.safetensors")}


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted(tiny_model_dir: Path, tmp_path: Path) -> None:
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    ok = _run(str(tiny_model_dir), str(straight))
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert not checkpoints_for(straight).exists()  # removed once the PRM is saved
    # 10 samples, 2 x 2 per step, 2 epochs: 6 steps. Killed before step 5 (0-based 4): the
    # checkpoint after step 4 exists, the PRM does not.
    dead = _run(str(tiny_model_dir), str(killed), "--kill-at", "4")
    assert dead.returncode == -signal.SIGKILL
    ckpt = checkpoints_for(killed)
    assert (ckpt / "latest").read_text().strip() == "step-00000004"
    assert [p.name for p in ckpt.glob("step-*")] == ["step-00000004"]  # older ones dropped
    assert not killed.exists()
    again = _run(str(tiny_model_dir), str(killed))
    assert again.returncode == 0, again.stderr[-3000:]
    a, b = _weights(straight), _weights(killed)
    assert a.keys() == b.keys() and a
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert not ckpt.exists()


def _samples(n: int = 8) -> list[StepSample]:
    # Every sample has the same token count, so a mean over one batch of 4 equals the mean of
    # two batches of 2.
    return [
        StepSample(f"Q: {i}\n", (f"a {i}\n", f"b {9 - i}"), (1.0, float(i % 2))) for i in range(n)
    ]


def test_gradient_accumulation_equals_one_bigger_batch(tiny_model_dir: Path) -> None:
    one = PRMTrainConfig(epochs=1.0, batch_size=4, lr=1e-3, warmup_ratio=0.0, device="cpu")
    two = PRMTrainConfig(
        epochs=1.0, batch_size=2, grad_accum=2, lr=1e-3, warmup_ratio=0.0, device="cpu"
    )
    a, sa = train_prm(_samples(), tiny_model_dir, one, progress=False)
    b, sb = train_prm(_samples(), tiny_model_dir, two, progress=False)
    assert len(sa.losses) == len(sb.losses) == 2
    assert sa.losses == pytest.approx(sb.losses, rel=1e-4)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-5)


def test_bf16_autocast_trains_and_scoring_loads_in_bf16(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    config = PRMTrainConfig(epochs=3.0, batch_size=4, lr=1e-3, bf16=True, device="cpu")
    prm, stats = train_prm(
        _samples(), tiny_model_dir, config, out_dir=tmp_path / "p", progress=False
    )
    assert all(p.dtype == torch.float32 for p in prm.parameters())  # master weights stay fp32
    assert stats.losses[-1] < stats.losses[0]
    loaded = ProcessRewardModel.load(tmp_path / "p", dtype="bfloat16")
    assert next(loaded.backbone.parameters()).dtype == torch.bfloat16
    full = ProcessRewardModel.load(tmp_path / "p").score_batch([("Q: 1\n", ["a 1\n", "b 8"])])
    half = loaded.score_batch([("Q: 1\n", ["a 1\n", "b 8"])])
    assert half[0] == pytest.approx(full[0], abs=0.05)
    assert loaded.split == "newline"


def test_a_checkpoint_of_other_settings_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"

    def stop(step: int) -> None:
        if step == 2:
            raise KeyboardInterrupt

    config = PRMTrainConfig(epochs=1.0, batch_size=2, save_steps=1, device="cpu")
    with pytest.raises(KeyboardInterrupt):
        train_prm(_samples(), tiny_model_dir, config, checkpoint_dir=ckpt, on_step=stop)
    assert (ckpt / "latest").is_file()
    other = PRMTrainConfig(epochs=1.0, batch_size=2, save_steps=1, lr=5e-4, device="cpu")
    with pytest.raises(ValueError, match="written by a run with other settings"):
        train_prm(_samples(), tiny_model_dir, other, checkpoint_dir=ckpt, progress=False)


def test_samples_cut_otherwise_are_refused(tiny_model_dir: Path) -> None:
    anchor = [s.replace(meta={"split": "anchor"}) for s in _samples(2)]
    with pytest.raises(ValueError, match="cut at anchor steps, not newline"):
        train_prm(anchor, tiny_model_dir, PRMTrainConfig(device="cpu"), progress=False)
    prm, _ = train_prm(
        anchor,
        tiny_model_dir,
        PRMTrainConfig(epochs=1.0, split="anchor", device="cpu"),
        progress=False,
    )
    assert prm.split == "anchor"
