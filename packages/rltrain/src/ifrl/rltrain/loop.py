"""The one training loop every trainer shares.

A trainer subclasses :class:`Trainer` and supplies ``micro_batches(step)`` (this process's
micro-batches for optimizer step ``step``) and ``compute_loss(batch)`` (a scalar loss plus float
metrics). The loop owns AdamW, the warmup + constant/linear/cosine schedule, gradient
accumulation (no gradient sync until the last micro-batch under DDP), clipping, mixed precision,
checkpoints (atomic; weights, optimizer, scheduler, RNG, data position, trainer state),
``metrics.jsonl`` plus optional trackers, a progress bar, and the run's health: a run whose
trainable parameters never changed ends with a :class:`~ifrl.rltrain.health.TrainingHealthWarning`
that is also kept in the result and in ``summary.json``. It runs unchanged under
``accelerate launch`` (DDP).
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ifrl.core.jsonl import JSONLWriter, read_jsonl, write_json, write_jsonl
from ifrl.rltrain.checkpoint import (
    full_model_state,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
    save_full_model,
)
from ifrl.rltrain.health import TrainingHealthWarning, parameter_fingerprint, unchanged_message
from ifrl.rltrain.models import load_policy, load_tokenizer, save_model
from ifrl.rltrain.trainconfig import TrainConfig


@dataclass(frozen=True)
class TrainResult:
    """What a finished run reports: steps done, the last metrics, where things were written,
    and the health warnings the run raised (empty when nothing looked wrong)."""

    steps: int
    metrics: dict[str, float]
    output_dir: Path
    final_model: Path | None
    warnings: tuple[str, ...] = ()


def lr_lambda(config: TrainConfig) -> Any:
    """Multiplier of the peak learning rate at each step: linear warmup, then the schedule."""
    warm, total, kind = config.warmup_steps, config.max_steps, config.lr_scheduler

    def f(step: int) -> float:
        if warm and step < warm:
            return (step + 1) / warm
        if kind == "constant":
            return 1.0
        progress = (step - warm) / max(1, total - warm)
        if kind == "linear":
            return max(0.0, 1.0 - progress)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return f


class _Trackers:
    """trackio / wandb / tensorboard, imported only when asked for."""

    def __init__(self, names: Sequence[str], config: TrainConfig, output_dir: Path) -> None:
        import importlib.util

        self.runs: list[Any] = []
        for name in names:
            if importlib.util.find_spec(name) is None:
                raise ImportError(
                    f"report_to {name!r} needs the {name} package: pip install {name}"
                )
            if name == "tensorboard":
                from torch.utils.tensorboard import SummaryWriter

                self.runs.append(("tensorboard", SummaryWriter(str(output_dir / "tb"))))
            elif name in ("wandb", "trackio"):
                mod = __import__(name)
                mod.init(project="ifrl", config=asdict(config))
                self.runs.append((name, mod))

    def log(self, metrics: dict[str, float], step: int) -> None:
        for kind, run in self.runs:
            if kind == "tensorboard":
                for key, value in metrics.items():
                    run.add_scalar(key, value, step)
            else:
                run.log(metrics, step=step)

    def close(self) -> None:
        for kind, run in self.runs:
            if kind == "tensorboard":
                run.close()
            else:
                run.finish()


class Trainer:
    """Base class: the shared loop around ``micro_batches`` and ``compute_loss``."""

    config: TrainConfig

    def __init__(
        self,
        config: TrainConfig,
        *,
        model: torch.nn.Module | None = None,
        tokenizer: Any = None,
    ) -> None:
        from accelerate import Accelerator

        config.validate()
        self.config = config
        mp = config.mixed_precision
        # Without CUDA, cpu=True makes `accelerate launch` / torchrun processes join a gloo group.
        self.accelerator = Accelerator(
            mixed_precision=mp if mp != "no" else None, cpu=not torch.cuda.is_available()
        )
        self.rank = self.accelerator.process_index
        self.world_size = self.accelerator.num_processes
        self.device = self.accelerator.device
        if model is None:
            model, loaded_tok = load_policy(config)
            tokenizer = tokenizer if tokenizer is not None else loaded_tok
        if tokenizer is None:
            tokenizer = load_tokenizer(config.model)
        self.tokenizer = tokenizer
        self.policy = model.to(self.device) if not config.load_in_4bit else model
        self.model: torch.nn.Module = self.policy
        self.output_dir = Path(config.output_dir)
        self.step = 0
        self.pending_metrics: dict[str, float] = {}
        self.health_warnings: list[str] = []

    # -- what subclasses supply ------------------------------------------------------------------

    def micro_batches(self, step: int) -> Sequence[Any]:
        """This process's micro-batches for optimizer step ``step``."""
        raise NotImplementedError

    def compute_loss(self, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss of one micro-batch (mean over its examples) and float metrics."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Trainer state a checkpoint must keep (data position, rollout buffers)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def progress_postfix(self, metrics: dict[str, float]) -> dict[str, str]:
        """What the progress bar shows after a step (default: the loss)."""
        return {"loss": f"{metrics.get('loss', float('nan')):.4f}"}

    def check_health(self, metrics: dict[str, float]) -> None:
        """Look at a finished step's metrics and :meth:`warn` about signs of not learning."""

    def warn(self, message: str) -> None:
        """Record a health warning for the result and ``summary.json``; rank 0 also issues it
        as a :class:`~ifrl.rltrain.health.TrainingHealthWarning`."""
        self.health_warnings.append(message)
        if self.rank == 0:
            warnings.warn(message, TrainingHealthWarning, stacklevel=2)

    # -- the loop ----------------------------------------------------------------------------------

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.policy.parameters() if p.requires_grad]

    def _barrier(self) -> None:
        self.accelerator.wait_for_everyone()

    def _reduce_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        if self.world_size == 1 or not metrics:
            return metrics
        keys = sorted(metrics)
        vals = torch.tensor([metrics[k] for k in keys], dtype=torch.float64, device=self.device)
        vals = self.accelerator.reduce(vals, reduction="mean")
        return dict(zip(keys, vals.tolist()))

    def _no_sync(self, last: bool) -> contextlib.AbstractContextManager[Any]:
        if last or self.world_size == 1:
            return contextlib.nullcontext()
        return self.accelerator.no_sync(self.model)

    def train(self) -> TrainResult:
        """Run ``max_steps`` optimizer steps (from the latest checkpoint with ``resume``)."""
        cfg = self.config
        self.output_dir.mkdir(parents=True, exist_ok=True)
        params = self.trainable_parameters()
        if not params:
            raise ValueError("the model has no trainable parameters")
        optimizer = torch.optim.AdamW(
            params,
            lr=cfg.learning_rate,
            betas=(cfg.adam_beta1, cfg.adam_beta2),
            eps=cfg.adam_epsilon,
            weight_decay=cfg.weight_decay,
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg))
        self.model, optimizer = self.accelerator.prepare(self.policy, optimizer)
        # FSDP2 swaps the parameters for sharded ones (the optimizer is switched over by
        # accelerate): clip the gradients of the parameters that now hold them.
        params = self.trainable_parameters()
        metrics_path = self.output_dir / "metrics.jsonl"
        start = 0
        ckpt = latest_checkpoint(self.output_dir) if cfg.resume else None
        if ckpt is not None:
            meta, tstate = load_checkpoint(
                ckpt,
                rank=self.rank,
                world_size=self.world_size,
                model=self.policy,
                optimizer=optimizer,
                scheduler=scheduler,
            )
            self.load_state_dict(tstate)
            start = int(meta["step"])
            if self.rank == 0 and metrics_path.exists():
                kept = [m for m in read_jsonl(metrics_path) if int(m.get("step", 0)) <= start]
                write_jsonl(metrics_path, kept)
        elif self.rank == 0 and metrics_path.exists():
            metrics_path.unlink()
        self._barrier()
        if self.rank == 0:
            write_json(self.output_dir / "config.json", asdict(cfg))
        trackers = _Trackers(cfg.report_to, cfg, self.output_dir) if self.rank == 0 else None
        last: dict[str, float] = {}
        before = parameter_fingerprint(params)
        zero_grad = measured = 0
        with self._metrics_writer(metrics_path) as writer:
            bar = self._progress(start)
            for step in range(start, cfg.max_steps):
                self.step = step
                last = self._one_step(step, optimizer, scheduler, params)
                if math.isfinite(last["grad_norm"]):
                    measured += 1
                    zero_grad += int(last["grad_norm"] == 0.0)
                self.check_health(last)
                if writer is not None and (
                    (step + 1) % cfg.logging_steps == 0 or step + 1 == cfg.max_steps
                ):
                    writer.write(last)
                    if trackers is not None:
                        trackers.log(last, step + 1)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(self.progress_postfix(last))
                done = step + 1
                if (cfg.save_steps and done % cfg.save_steps == 0) or done == cfg.max_steps:
                    self.save(done, optimizer, scheduler)
            if bar is not None:
                bar.close()
        if trackers is not None:
            trackers.close()
        ran = cfg.max_steps - start
        if ran > 0 and not self._parameters_changed(before, params):
            self.warn(unchanged_message(ran, zero_grad, measured))
        final = None
        # Under FSDP every process joins gathering the full weights before rank 0 writes them.
        full = full_model_state(self.policy) if cfg.save_final_model else None
        if cfg.save_final_model and self.rank == 0:
            out, merge = self.output_dir / "final", cfg.merge_lora
            final = (
                save_model(self.policy, self.tokenizer, out, merge=merge)
                if full is None
                else save_full_model(self.policy, full, self.tokenizer, out, merge=merge)
            )
        result = TrainResult(
            cfg.max_steps, last, self.output_dir, final, tuple(self.health_warnings)
        )
        if self.rank == 0:
            write_json(
                self.output_dir / "summary.json",
                {
                    "steps": result.steps,
                    "metrics": result.metrics,
                    "final_model": str(final) if final is not None else None,
                    "warnings": list(result.warnings),
                    # Steps whose gradient norm was measured (max_grad_norm > 0) and was 0.
                    "zero_grad_steps": zero_grad,
                    "grad_norm_steps": measured,
                },
            )
        self._barrier()
        return result

    def _parameters_changed(self, before: torch.Tensor, params: list[torch.nn.Parameter]) -> bool:
        """Whether any process's trainable parameters differ from the fingerprint ``before``."""
        after = parameter_fingerprint(params)
        changed = torch.tensor(
            [float(not torch.equal(before, after))], dtype=torch.float64, device=self.device
        )
        if self.world_size > 1:
            changed = self.accelerator.reduce(changed, reduction="sum")
        return bool(changed.item() > 0)

    @contextlib.contextmanager
    def _metrics_writer(self, path: Path) -> Iterator[JSONLWriter | None]:
        if self.rank != 0:
            yield None
            return
        with JSONLWriter(path, append=True) as writer:
            yield writer

    def _progress(self, start: int) -> Any:
        if not self.config.progress or self.rank != 0:
            return None
        from tqdm.auto import tqdm

        return tqdm(
            total=self.config.max_steps, initial=start, desc=type(self).__name__, unit="step"
        )

    def save(self, step: int, optimizer: Any, scheduler: Any) -> Path:
        """Write checkpoint ``step`` (all processes must call it)."""
        return save_checkpoint(
            self.output_dir,
            step,
            rank=self.rank,
            world_size=self.world_size,
            model=self.policy,
            optimizer=optimizer,
            scheduler=scheduler,
            trainer_state=self.state_dict(),
            extra={},
            barrier=self._barrier,
            keep=self.config.save_total_limit,
        )

    def _one_step(
        self, step: int, optimizer: Any, scheduler: Any, params: list[torch.nn.Parameter]
    ) -> dict[str, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        self.pending_metrics = {}
        batches = self.micro_batches(step)
        self.model.train()
        sums: dict[str, float] = {}
        tokens = 0.0
        for i, batch in enumerate(batches):
            with self._no_sync(i == len(batches) - 1), self.accelerator.autocast():
                loss, m = self.compute_loss(batch)
                self.accelerator.backward(loss / len(batches))
            for k, v in m.items():
                if k == "num_tokens":
                    tokens += v
                else:
                    sums[k] = sums.get(k, 0.0) + v / len(batches)
        grad_norm = float("nan")
        if self.config.max_grad_norm > 0:
            grad_norm = float(self.accelerator.clip_grad_norm_(params, self.config.max_grad_norm))
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        metrics = self._reduce_metrics({**sums, **self.pending_metrics})
        elapsed = time.perf_counter() - t0
        total_tokens = tokens * self.world_size
        return {
            "step": step + 1,
            **metrics,
            "grad_norm": grad_norm,
            "learning_rate": lr,
            "tokens_per_second": total_tokens / elapsed if elapsed > 0 else 0.0,
            "step_seconds": elapsed,
            "step_cpu_seconds": time.process_time() - c0,
        }
