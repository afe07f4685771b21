"""Bounded tables of what was seen last, for layers that remember recent keys.

Sessions remember the Call-IDs of finished sessions (to number the parts of one that comes
back), the sign-in follow-up index the first request of each Call-ID, the live printer the
sessions it announced, the redactor the secrets it hid; parsing remembers the From/To texts,
XML bodies and certificates it already read. Each keeps the last ``size`` keys, the oldest
dropped first. A plain dict that drops ``next(iter(table))`` pays, on every drop, for every
entry deleted before it since the dict last resized: with 100,000 entries and a steady stream
of new keys that was 75 µs a key (measured; 22 s for 300,000), where
``OrderedDict.popitem(last=False)`` takes constant time (0.3 s).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")

__all__ = ["RecentTable"]


class RecentTable(OrderedDict[K, V]):
    """An ordered dict of at most ``size`` entries: :meth:`put` drops the oldest past it."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: K, value: V) -> None:
        """Set ``key`` (a new key goes last; an existing one keeps its place), then drop the
        oldest entry if the table holds more than ``size``."""
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)

    def __reduce__(self) -> tuple[Any, tuple[int], None, None, Iterator[tuple[K, V]]]:
        """Pickled with its size (what holds one may go to another process)."""
        return type(self), (self.size,), None, None, iter(self.items())
