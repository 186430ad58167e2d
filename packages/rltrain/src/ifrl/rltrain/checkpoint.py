"""Atomic checkpoints: trainable weights, optimizer, scheduler, RNG states, data position, step.

A checkpoint is a directory ``<output_dir>/checkpoints/step-<k>``. It is written under a
temporary name and renamed into place once complete, and ``checkpoints/latest`` (written
atomically) names the newest one, so a crash at any moment leaves either the previous or the new
checkpoint, never a half-written one. Each process saves its own RNG state and trainer state.

Under FSDP (parameters sharded as ``DTensor`` objects, e.g. ``accelerate launch`` with an FSDP2 plugin)
every process takes part in gathering the full trainable weights and optimizer state (torch's
``torch.distributed.checkpoint.state_dict``), and rank 0 writes them unsharded: the weights file
has the same names and shapes as a single-process run's, and resuming shards them again.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ifrl.core.jsonl import write_text

STATE_FILE = "state.json"


def checkpoints_dir(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def rng_state() -> dict[str, Any]:
    """The RNG states of python, numpy and torch (CPU and CUDA when present)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Copies of the parameters that require gradients (the adapter alone with LoRA)."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: torch.nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Copy saved trainable parameters back into ``model``; every trainable one must be present."""
    params = dict(model.named_parameters())
    missing = [n for n, p in params.items() if p.requires_grad and n not in state]
    if missing:
        raise ValueError(f"checkpoint lacks trainable parameters: {missing[:5]}")
    with torch.no_grad():
        for name, tensor in state.items():
            if name not in params:
                raise ValueError(f"checkpoint has unknown parameter {name!r}")
            params[name].copy_(tensor)


def is_sharded(model: torch.nn.Module) -> bool:
    """Whether ``model``'s parameters are sharded across processes (FSDP2 ``DTensor`` objects)."""
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # torch built without distributed support
        return False
    return any(isinstance(p, DTensor) for p in model.parameters())


def _raw_optimizer(optimizer: Any) -> Any:
    """The torch optimizer inside accelerate's ``AcceleratedOptimizer`` wrapper (or itself)."""
    return getattr(optimizer, "optimizer", optimizer)


def _full_sharded_state(
    model: torch.nn.Module, optimizer: Any
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Full trainable weights and optimizer state of a sharded model, on rank 0 (collective).

    The optimizer state is keyed by parameter name (torch's distributed-checkpoint format);
    other ranks receive empty dicts.
    """
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    weights, optim = get_state_dict(model, _raw_optimizer(optimizer), options=options)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    kept = {n: t for n, t in weights.items() if n in trainable and isinstance(t, torch.Tensor)}
    return kept, dict(optim)


def full_model_state(
    model: torch.nn.Module, *, all_ranks: bool = False
) -> dict[str, torch.Tensor] | None:
    """The full ``state_dict`` of a sharded model on rank 0 (empty elsewhere; on every rank, on
    the model's device, with ``all_ranks``), or ``None`` when ``model`` is not sharded.
    Collective under FSDP: every process must call it."""
    if not is_sharded(model):
        return None
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=not all_ranks)
    state = get_model_state_dict(model, options=options)
    return {n: t for n, t in state.items() if isinstance(t, torch.Tensor)}


def save_full_model(
    model: torch.nn.Module,
    state: Mapping[str, torch.Tensor],
    tokenizer: Any,
    out: str | Path,
    *,
    merge: bool = False,
) -> Path:
    """Write a sharded model's gathered ``state`` (from :func:`full_model_state`) like
    ``save_pretrained``: the adapter alone with LoRA. Merging needs the unsharded model: save the
    adapter, then ``ifrl.rltrain.models.merge_and_save`` it."""
    if merge and hasattr(model, "peft_config"):
        raise ValueError(
            "merge_lora under FSDP: the adapters cannot be merged into sharded weights; save the "
            "adapter and merge it afterwards with ifrl.rltrain.models.merge_and_save"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, state_dict=dict(state))  # type: ignore[operator]
    if tokenizer is not None:
        tokenizer.save_pretrained(out)
    return out


def save_checkpoint(
    output_dir: str | Path,
    step: int,
    *,
    rank: int,
    world_size: int,
    model: torch.nn.Module,
    optimizer: Any,
    scheduler: Any,
    trainer_state: Mapping[str, Any],
    extra: Mapping[str, Any],
    barrier: Callable[[], None],
    keep: int = 0,
) -> Path:
    """Write checkpoint ``step`` (every rank calls this; rank 0 writes the shared files)."""
    root = checkpoints_dir(output_dir)
    final = root / f"step-{step:08d}"
    tmp = root / f".tmp-step-{step:08d}"
    if rank == 0:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
    barrier()
    torch.save(rng_state(), tmp / f"rng-{rank}.pt")
    torch.save(dict(trainer_state), tmp / f"trainer-{rank}.pt")
    sharded = is_sharded(model)
    if sharded:
        weights, optim = _full_sharded_state(model, optimizer)  # every rank joins the gather
    if rank == 0:
        if not sharded:
            weights, optim = trainable_state(model), optimizer.state_dict()
        torch.save(weights, tmp / "trainable.pt")
        torch.save(optim, tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    barrier()
    if rank == 0:
        meta = {
            "step": step,
            "world_size": world_size,
            "optimizer_format": "by_name" if sharded else "torch",
            **extra,
        }
        (tmp / STATE_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        _fsync_dir(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        write_text(root / "latest", final.name)
        if keep > 0:
            for old in list_checkpoints(output_dir)[:-keep]:
                shutil.rmtree(old, ignore_errors=True)
    barrier()
    return final


def _fsync_dir(path: Path) -> None:
    for child in path.iterdir():
        with open(child, "rb") as fh:
            os.fsync(fh.fileno())


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = checkpoints_dir(output_dir)
    if not root.is_dir():
        return []
    done = [p for p in root.glob("step-*") if (p / STATE_FILE).is_file()]
    return sorted(done, key=lambda p: p.name)


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest complete checkpoint, or ``None``."""
    root = checkpoints_dir(output_dir)
    pointer = root / "latest"
    if pointer.is_file():
        cand = root / pointer.read_text(encoding="utf-8").strip()
        if (cand / STATE_FILE).is_file():
            return cand
    found = list_checkpoints(output_dir)
    return found[-1] if found else None


def load_checkpoint(
    path: Path,
    *,
    rank: int,
    world_size: int,
    model: torch.nn.Module,
    optimizer: Any,
    scheduler: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Restore weights, optimizer, scheduler and this rank's RNG; return (meta, trainer state)."""
    meta = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    if meta.get("world_size", 1) != world_size:
        raise ValueError(
            f"{path}: saved with {meta.get('world_size')} processes, resuming with {world_size}"
        )
    sharded = is_sharded(model)
    saved_format = meta.get("optimizer_format", "torch")
    if saved_format != ("by_name" if sharded else "torch"):
        raise ValueError(
            f"{path}: saved {'with' if saved_format == 'by_name' else 'without'} sharded (FSDP) "
            f"parameters, resuming {'with' if sharded else 'without'}: resume under the same "
            "accelerate launch configuration"
        )
    weights = torch.load(path / "trainable.pt", weights_only=True)
    optim = torch.load(path / "optimizer.pt", weights_only=True)
    if sharded:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

        set_state_dict(
            model,
            _raw_optimizer(optimizer),
            model_state_dict=weights,
            optim_state_dict=optim,
            options=StateDictOptions(full_state_dict=True, strict=False),
        )
    else:
        load_trainable_state(model, weights)
        optimizer.load_state_dict(optim)
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    set_rng_state(torch.load(path / f"rng-{rank}.pt", weights_only=False))
    trainer_state = torch.load(path / f"trainer-{rank}.pt", weights_only=False)
    return meta, trainer_state
