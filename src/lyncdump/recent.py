"""Bounded tables of what was seen last, for layers that remember recent keys.

The live printer remembers the sessions it announced, the redactor the secrets it hid, parsing
the From/To texts, XML bodies and certificates it already read. Each keeps the last ``size``
keys, the oldest dropped first. A plain dict that drops ``next(iter(table))`` pays, on every
drop, for every entry deleted before it since the dict last resized: with 100,000 entries and
a steady stream of new keys that was 75 µs a key (measured; 22 s for 300,000), where
``OrderedDict.popitem(last=False)`` takes constant time (0.3 s). The price is about 50 bytes
more a key. The two largest tables, the finished sessions' Call-IDs (``analysis.sessions``,
100,000) and the sign-in follow-up index (``analysis.registration``, 200,000), stay plain dicts
(tests/pipeline/test_memory.py's growth bound does not leave room for 50 bytes more a key)
and drop their oldest keys in batches instead (:func:`drop_oldest`): one pass over the front
of the dict then pays for a sixteenth of the table, a few steps a key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from itertools import islice
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")

__all__ = ["RecentTable", "drop_oldest", "text_key"]

_KEY_BITS = (1 << 60) - 1


def text_key(text: str) -> int:
    """A small number standing for ``text`` in a table of recent keys that only answers "seen
    before?" (or holds a number per key): 60 bits of the string's own hash, an int of 32 bytes
    where the text itself (a Call-ID) is 80-130 bytes and would be kept alive by the table.

    Two texts whose 60-bit hashes agree are taken as one. Python's string hash is keyed at
    random per process, so an input cannot choose such pairs, and by chance they are rare:
    with 200,000 keys held and a million new ones looked up, about 2 in 10 million runs see
    one (a Call-ID then numbered as a later part, or a follow-up subscription not listed)."""
    return hash(text) & _KEY_BITS


def drop_oldest(table: dict[Any, Any], limit: int) -> None:
    """Bound a plain (insertion-ordered) dict to ``limit`` keys: past it, drop the oldest keys
    down to ``limit - limit // 16``. Dropping in batches keeps the cost a few steps a key where
    dropping one key at a time would rescan every key deleted before it (see above)."""
    excess = len(table) - limit
    if excess > 0:
        for key in list(islice(table, excess + (limit >> 4))):
            del table[key]


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
