"""What the ``*_vs_trl.py`` benchmarks share: CPU-time measurement, TRL's trainer, rounds, report.

Both sides are timed in CPU seconds of this process (``time.process_time``) with a fixed number of
torch threads, so load from other processes on a shared machine does not inflate them. A run's
per-step times skip the first step (warm-up) and take the median; ``--rounds`` repeats both
runs, alternating which goes first, and the least-disturbed round (the minimum of the per-round
medians) of each side is reported. The last printed line is ``ratio=<ours / TRL's>``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--rounds`` and ``--threads``, the options every comparison takes."""
    parser.add_argument("--rounds", type=int, default=2, help="repeats of both runs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on both sides")


def prepare(threads: int) -> Path:
    """Fix torch's thread count and return the seeded tiny Qwen2 model's directory."""
    import torch

    # CPU seconds of a fixed thread count: on a shared machine wall time measures the neighbours.
    torch.set_num_threads(threads)
    from ifrl.core.tiny import build_tiny_model

    return build_tiny_model()


def our_step_seconds(output_dir: Path) -> tuple[float, list[dict[str, Any]]]:
    """Median CPU seconds per step after the first, from our trainer's ``metrics.jsonl``."""
    rows = [json.loads(x) for x in (output_dir / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["step_cpu_seconds"] for r in rows[1:]), rows


def run_trl(
    trainer_cls: Any, model_dir: Path, *, log_key: str | None = None, **kwargs: Any
) -> tuple[float, list[float]]:
    """Build ``trainer_cls(model=..., processing_class=..., **kwargs)`` on the tiny model, train it,
    and return the median CPU seconds per step after the first, plus the logged values of
    ``log_key`` (e.g. the mean completion length)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from transformers.trainer_callback import PrinterCallback

    times: list[float] = []
    logged: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self.t0 = time.process_time()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            times.append(time.process_time() - self.t0)

        def on_log(self, args: Any, state: Any, control: Any, **k: Any) -> None:
            logs = k.get("logs")
            if log_key and logs and log_key in logs:
                logged.append(float(logs[log_key]))

    trainer = trainer_cls(
        model=AutoModelForCausalLM.from_pretrained(model_dir, dtype="float32"),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
        callbacks=[Timer()],
        **kwargs,
    )
    trainer.remove_callback(PrinterCallback)  # keep TRL's per-step log dicts off stdout
    trainer.train()
    return statistics.median(times[1:]), logged


def trl_cpu_args() -> dict[str, Any]:
    """TRL config options both comparisons use: CPU, float32, no saving or reporting."""
    return {
        "report_to": "none",
        "use_cpu": True,
        "bf16": False,
        "logging_steps": 1,
        "save_strategy": "no",
        "disable_tqdm": True,
    }


def alternate(
    rounds: int, ours: Callable[[int], float], theirs: Callable[[int], float]
) -> tuple[list[float], list[float]]:
    """Per-round seconds per step of both sides; round ``r`` runs ours first when ``r`` is even,
    so load changes on a shared machine hit both."""
    ours_runs: list[float] = []
    theirs_runs: list[float] = []
    for r in range(rounds):
        order = [(ours, ours_runs), (theirs, theirs_runs)]
        for run, out in order if r % 2 == 0 else order[::-1]:
            out.append(run(r))
    return ours_runs, theirs_runs


def report(
    name: str, ours_runs: list[float], theirs_runs: list[float], settings: list[str]
) -> float:
    """Print the per-round figures, ``settings`` lines, both times and ``ratio=``; return it."""
    ours, theirs = min(ours_runs), min(theirs_runs)
    rounded = [[round(x, 4) for x in runs] for runs in (ours_runs, theirs_runs)]
    print(f"per-round medians (CPU s/step): ours {rounded[0]}, TRL {rounded[1]}")
    for line in settings:
        print(line)
    mine = f"ifrl.rltrain {name}:"
    print(f"{mine} {ours:.4f} CPU s/step")
    print(f"{'TRL ' + name + ':':<{len(mine)}} {theirs:.4f} CPU s/step")
    print(f"ratio={ours / theirs:.3f}")
    return ours / theirs
