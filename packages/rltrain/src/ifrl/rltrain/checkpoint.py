"""Atomic checkpoints: trainable weights, optimizer, scheduler, RNG states, data position, step.

A checkpoint is a directory ``<output_dir>/checkpoints/step-<k>``. It is written under a
temporary name and renamed into place once complete, and ``checkpoints/latest`` (written
atomically) names the newest one, so a crash at any moment leaves either the previous or the new
checkpoint, never a half-written one. Each process saves its own RNG state and trainer state.

Resuming never runs code from a checkpoint: every ``.pt`` file is read with
``torch.load(weights_only=True)``, whose unpickler builds only tensors and plain containers
(dict, list, tuple, str, int, float, bool, None) and refuses every other global. The RNG states
are saved in that vocabulary (numpy's key array as a tensor, python's state as a tensor), and a
trainer state must be made of it (checked when saving). A file that needs anything else, e.g. a
planted pickle payload, is refused with a :class:`CheckpointError` naming the file. RNG files
written before this format (numpy arrays inside) are read with exactly numpy's array
reconstruction allowed besides, and checked for the shape of an RNG state.

Under FSDP (parameters sharded as ``DTensor`` objects, e.g. ``accelerate launch`` with an FSDP2 plugin)
every process takes part in gathering the full trainable weights and optimizer state (torch's
``torch.distributed.checkpoint.state_dict``), and rank 0 writes them unsharded: the weights file
has the same names and shapes as a single-process run's, and resuming shards them again.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ifrl.core.errors import IfrlError
from ifrl.core.jsonl import write_text

STATE_FILE = "state.json"
RNG_FORMAT = 2  # 1 (or absent): numpy's state pickled as an ndarray tuple


class CheckpointError(IfrlError, ValueError):
    """A checkpoint file cannot be loaded safely or does not hold what resuming needs."""


def checkpoints_dir(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def rng_state() -> dict[str, Any]:
    """The RNG states of python, numpy and torch (CPU and CUDA when present), as tensors and
    plain values only (what ``torch.load(weights_only=True)`` reads back)."""
    version, keys, gauss = random.getstate()
    name, np_keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "format": RNG_FORMAT,
        "python": {
            "version": int(version),
            "state": torch.tensor(keys, dtype=torch.int64),
            "gauss_next": gauss,
        },
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (or the tuple form of checkpoints before it)."""
    py, npy = state["python"], state["numpy"]
    if isinstance(py, Mapping):
        gauss = py["gauss_next"]
        random.setstate(
            (
                int(py["version"]),
                tuple(int(k) for k in py["state"].tolist()),
                None if gauss is None else float(gauss),
            )
        )
    else:
        random.setstate(py)
    if isinstance(npy, Mapping):
        np.random.set_state(
            (
                str(npy["name"]),
                npy["keys"].numpy().astype(np.uint32),
                int(npy["pos"]),
                int(npy["has_gauss"]),
                float(npy["cached_gaussian"]),
            )
        )
    else:
        np.random.set_state(npy)
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


_PLAIN = (str, int, float, bool, type(None))


def plain_state(value: Any, where: str = "trainer_state") -> Any:
    """``value`` in the vocabulary a checkpoint stores and loads without running code: tensors,
    str-keyed dicts, lists, tuples and plain scalars (numpy scalars become their Python value).
    Anything else raises :class:`CheckpointError` naming where it sits."""
    if isinstance(value, torch.Tensor) or type(value) in _PLAIN:
        return value
    if isinstance(value, np.generic) and isinstance(value.item(), _PLAIN):
        return value.item()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CheckpointError(f"{where}: key {key!r} is not a string")
            out[key] = plain_state(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        items = [plain_state(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise CheckpointError(
        f"{where}: a {type(value).__name__} cannot be stored in a checkpoint (tensors, dicts, "
        "lists, tuples, str, int, float, bool and None only)"
    )


def _legacy_numpy_globals() -> list[Any]:
    """The globals a numpy RNG key array pickles to (numpy 1 and 2 spellings)."""
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return [
        (_reconstruct, "numpy._core.multiarray._reconstruct"),
        (_reconstruct, "numpy.core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
        type(np.dtype(np.uint32)),
    ]


def safe_load(path: Path, *, legacy_rng: bool = False) -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only, never code.

    Raises :class:`CheckpointError` naming ``path`` when the file is missing, unreadable or
    needs anything else to load (a pickle payload, a custom class). ``legacy_rng`` also allows
    numpy's array reconstruction, for RNG files written before :data:`RNG_FORMAT` 2.
    """
    import pickle

    try:
        if legacy_rng:
            with torch.serialization.safe_globals(_legacy_numpy_globals()):
                return torch.load(path, weights_only=True)
        return torch.load(path, weights_only=True)
    except FileNotFoundError as err:
        raise CheckpointError(f"{path}: missing from the checkpoint") from err
    except pickle.UnpicklingError as err:
        text = str(err)
        unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", text)
        if unsafe is None:
            detail = re.search(r"WeightsUnpickler error:\s*([^\n]+)", text)
            why = detail.group(1).strip() if detail else text.strip()[:200]
            raise CheckpointError(f"{path}: not a readable checkpoint file: {why}") from err
        raise CheckpointError(
            f"{path}: refused: loading it would call or build {unsafe.group(1)}, which is not a "
            "tensor or a plain value, and unpickling it could run code. Checkpoints written by "
            "ifrl never need that: the file was changed or comes from elsewhere. Delete the "
            "checkpoint directory to start afresh, or resume from an earlier checkpoint."
        ) from err
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable checkpoint file: {err}") from err


def _load_rng(path: Path) -> dict[str, Any]:
    """This rank's RNG state file, checked for the shape of an RNG state."""
    try:
        state = safe_load(path)
    except CheckpointError:
        # Before RNG_FORMAT 2 numpy's key array was pickled as an ndarray.
        state = safe_load(path, legacy_rng=True)
    ok = (
        isinstance(state, Mapping)
        and {"python", "numpy", "torch"} <= set(state)
        and isinstance(state["torch"], torch.Tensor)
    )
    if ok and not isinstance(state["python"], Mapping):
        py = state["python"]
        ok = isinstance(py, tuple) and len(py) == 3 and isinstance(py[1], tuple)
    if ok and not isinstance(state["numpy"], Mapping):
        npy = state["numpy"]
        ok = (
            isinstance(npy, tuple)
            and len(npy) == 5
            and isinstance(npy[1], np.ndarray)
            and npy[1].dtype == np.uint32
        )
    if not ok:
        raise CheckpointError(f"{path}: does not hold an RNG state")
    return dict(state)


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Copies of the parameters that require gradients (the adapter alone with LoRA)."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: torch.nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Copy saved trainable parameters back into ``model``; every trainable one must be present."""
    params = dict(model.named_parameters())
    missing = [n for n, p in params.items() if p.requires_grad and n not in state]
    if missing:
        raise CheckpointError(f"checkpoint lacks trainable parameters: {missing[:5]}")
    with torch.no_grad():
        for name, tensor in state.items():
            if name not in params:
                raise CheckpointError(f"checkpoint has unknown parameter {name!r}")
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
    torch.save(plain_state(dict(trainer_state)), tmp / f"trainer-{rank}.pt")
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
    """Restore weights, optimizer, scheduler and this rank's RNG; return (meta, trainer state).

    Every file is read with :func:`safe_load` (``weights_only=True``): a file that would need
    code to load raises :class:`CheckpointError` before anything is restored from it.
    """
    try:
        meta = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{path / STATE_FILE}: not readable: {err}") from err
    if not isinstance(meta, dict) or not isinstance(meta.get("step"), int):
        raise CheckpointError(f"{path / STATE_FILE}: no integer 'step'")
    if meta.get("world_size", 1) != world_size:
        raise CheckpointError(
            f"{path}: saved with {meta.get('world_size')} processes, resuming with {world_size}"
        )
    sharded = is_sharded(model)
    saved_format = meta.get("optimizer_format", "torch")
    if saved_format != ("by_name" if sharded else "torch"):
        raise CheckpointError(
            f"{path}: saved {'with' if saved_format == 'by_name' else 'without'} sharded (FSDP) "
            f"parameters, resuming {'with' if sharded else 'without'}: resume under the same "
            "accelerate launch configuration"
        )
    # Read every file before restoring anything, so a refused one leaves the run untouched.
    weights = safe_load(path / "trainable.pt")
    optim = safe_load(path / "optimizer.pt")
    sched = safe_load(path / "scheduler.pt")
    rng = _load_rng(path / f"rng-{rank}.pt")
    trainer_state = safe_load(path / f"trainer-{rank}.pt")
    if not isinstance(trainer_state, dict):
        raise CheckpointError(f"{path / f'trainer-{rank}.pt'}: does not hold a trainer state")
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
    scheduler.load_state_dict(sched)
    set_rng_state(rng)
    return meta, trainer_state
