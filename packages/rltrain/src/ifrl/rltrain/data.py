"""Resumable, seeded walks over dataset indices, shared by every process: one dataset
(:class:`DataCursor`) or several mixed by weight (:class:`MixedCursor`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ifrl.core.errors import IfrlError

OrderFn = Callable[[int], Sequence[int]]


class TrainDataError(IfrlError, ValueError):
    """Training data that cannot be trained on (no rows, a row with nothing to learn);
    ``str(err)`` names the file (and line) first."""


@dataclass
class DataCursor:
    """Yields dataset indices epoch after epoch; ``(epoch, position)`` is the whole state.

    Each epoch's order comes from ``order_fn(epoch)`` when given (e.g. a curriculum), else a
    permutation seeded by ``seed + epoch`` (or ``0..size-1`` without ``shuffle``). Every process
    builds the same cursor, takes the same global indices, and keeps its own share.
    """

    size: int
    seed: int = 0
    shuffle: bool = True
    order_fn: OrderFn | None = None
    epoch: int = 0
    position: int = 0
    _order: list[int] = field(default_factory=list, repr=False)
    _order_epoch: int = field(default=-1, repr=False)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("the dataset is empty")

    def order(self, epoch: int) -> list[int]:
        """The index order of ``epoch``."""
        if self._order_epoch != epoch:
            if self.order_fn is not None:
                self._order = [int(i) for i in self.order_fn(epoch)]
            elif self.shuffle:
                gen = torch.Generator().manual_seed(self.seed + epoch)
                self._order = torch.randperm(self.size, generator=gen).tolist()
            else:
                self._order = list(range(self.size))
            self._order_epoch = epoch
        return self._order

    def take(self, n: int) -> list[int]:
        """The next ``n`` indices, wrapping into the next epoch as needed."""
        out: list[int] = []
        while len(out) < n:
            order = self.order(self.epoch)
            k = min(n - len(out), len(order) - self.position)
            out.extend(order[self.position : self.position + k])
            self.position += k
            if self.position >= len(order):
                self.epoch += 1
                self.position = 0
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])


@dataclass
class MixedCursor:
    """Indices into the concatenation of several datasets, mixed by ``weights``.

    Each index drawn picks dataset ``k`` with probability ``weights[k] / sum(weights)`` (seeded
    by ``seed`` and the number of draws so far, so a resumed run draws the same), then takes that
    dataset's next index from its own :class:`DataCursor` (each dataset is walked epoch after
    epoch, independently of the others); the index returned is offset by the sizes of the
    datasets before ``k``. ``(draws, each cursor's state)`` is the whole state.
    """

    sizes: Sequence[int]
    weights: Sequence[float]
    seed: int = 0
    draws: int = 0
    cursors: list[DataCursor] = field(default_factory=list, repr=False)
    offsets: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if len(self.sizes) != len(self.weights) or not self.sizes:
            raise ValueError(f"{len(self.sizes)} datasets for {len(self.weights)} weights")
        if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise ValueError(f"mixing weights must be >= 0 with a positive sum, got {self.weights}")
        self.cursors = [DataCursor(n, seed=self.seed + 7919 * k) for k, n in enumerate(self.sizes)]
        self.offsets = [sum(self.sizes[:k]) for k in range(len(self.sizes))]

    def source(self, index: int) -> int:
        """Which dataset a global index belongs to."""
        for k in reversed(range(len(self.offsets))):
            if index >= self.offsets[k]:
                return k
        raise IndexError(index)

    def take(self, n: int) -> list[int]:
        """The next ``n`` global indices."""
        digest = hashlib.sha256(f"{self.seed}:{self.draws}".encode()).digest()
        gen = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)
        probs = torch.tensor([float(w) for w in self.weights], dtype=torch.float64)
        picks = torch.multinomial(probs, n, replacement=True, generator=gen).tolist()
        self.draws += n
        return [self.offsets[k] + self.cursors[k].take(1)[0] for k in picks]

    def state_dict(self) -> dict[str, Any]:
        return {"draws": self.draws, "cursors": [c.state_dict() for c in self.cursors]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.draws = int(state["draws"])
        for cursor, cs in zip(self.cursors, state["cursors"]):
            cursor.load_state_dict(cs)


def shard(items: Sequence[Any], rank: int, world_size: int) -> list[Any]:
    """This rank's contiguous share of ``items`` (its length must divide evenly)."""
    if len(items) % world_size:
        raise ValueError(f"{len(items)} items do not split evenly over {world_size} processes")
    per = len(items) // world_size
    return list(items[rank * per : (rank + 1) * per])
