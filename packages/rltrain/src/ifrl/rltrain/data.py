"""A resumable, seeded walk over a dataset's indices, shared by every process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

OrderFn = Callable[[int], Sequence[int]]


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


def shard(items: Sequence[Any], rank: int, world_size: int) -> list[Any]:
    """This rank's contiguous share of ``items`` (its length must divide evenly)."""
    if len(items) % world_size:
        raise ValueError(f"{len(items)} items do not split evenly over {world_size} processes")
    per = len(items) // world_size
    return list(items[rank * per : (rank + 1) * per])
