"""One registry class for every kind of named, pluggable thing (constraints, benchmarks, backends).

Entries register by decorator in the module that defines them; third-party packages add entries
through an entry-point group. Looking up an unknown name fails with a "did you mean ..." hint.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from ifrl.core.errors import IfrlError

T = TypeVar("T")


class UnknownNameError(IfrlError, KeyError):
    """A name that no registry entry has; the message suggests the closest ones."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind = kind
        self.name = name
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        shown = ", ".join(sorted(known)[:20]) + (" ..." if len(known) > 20 else "")
        super().__init__(f"unknown {kind} {name!r}{hint} (known: {shown})")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class Registry(Generic[T]):
    """A name → entry mapping filled by decorators and (lazily) by entry points."""

    def __init__(self, kind: str, *, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T] = {}
        self._loaded_entry_points = False

    def register(self, name: str, *, replace: bool = False) -> Callable[[T], T]:
        """Decorator: register the decorated object under ``name``."""

        def decorator(obj: T) -> T:
            self.add(name, obj, replace=replace)
            return obj

        return decorator

    def add(self, name: str, obj: T, *, replace: bool = False) -> None:
        """Register ``obj`` under ``name``; a second registration of a name is an error."""
        if name in self._entries and not replace and self._entries[name] is not obj:
            raise IfrlError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj

    def _load_entry_points(self) -> None:
        if self._loaded_entry_points or self.entry_point_group is None:
            return
        self._loaded_entry_points = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name not in self._entries:
                self._entries[ep.name] = ep.load()

    def get(self, name: str) -> T:
        """The entry registered as ``name``; ``UnknownNameError`` with suggestions otherwise."""
        if name not in self._entries:
            self._load_entry_points()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, list(self._entries)) from None

    def __contains__(self, name: object) -> bool:
        if name not in self._entries:
            self._load_entry_points()
        return name in self._entries

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load_entry_points()
        return sorted(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        self._load_entry_points()
        return iter(sorted(self._entries.items()))

    def __len__(self) -> int:
        self._load_entry_points()
        return len(self._entries)
