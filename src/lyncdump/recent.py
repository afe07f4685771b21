"""Bounded tables of what was seen last, for layers that remember recent keys.

The live printer remembers the sessions it announced, the redactor the secrets it hid, parsing
the From/To texts, XML bodies and certificates it already read. Each keeps the last ``size``
keys, the oldest dropped first. A plain dict that drops ``next(iter(table))`` pays, on every
drop, for every entry deleted before it since the dict last resized: with 100,000 entries and
a steady stream of new keys that was 75 µs a key (measured; 22 s for 300,000), where
``OrderedDict.popitem(last=False)`` takes constant time (0.3 s). The price is about 50 bytes
more a key. Tables that only need to know a key, or a number per key, drop their oldest keys
in batches instead (:func:`drop_oldest`): one pass over the front of the dict then pays for a
sixteenth of the table, a few steps a key. The largest of them, the finished sessions' Call-IDs
(``analysis.sessions``, 100,000), the sign-in follow-up index's (``analysis.registration``,
200,000) and a run without sessions' (``pipeline.core``, 100,000), hold a 60-bit key of the
Call-ID (:func:`text_key`) in arrays (:class:`RecentKeys`, the same batches): about 30 B a
Call-ID where a dict of the texts was about 200 B.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

__all__ = [
    "CleanKeys",
    "ReadOnce",
    "RecentKeys",
    "RecentTable",
    "RecentTexts",
    "drop_oldest",
    "text_key",
]

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


class RecentTexts(RecentTable[str, V]):
    """A :class:`RecentTable` of text keys bounded also by their total length: :meth:`put`
    drops the oldest entries while the table holds more than ``size`` entries or more than
    ``char_limit`` characters of keys (``chars``), so that its memory at the limit is a stated
    total even when the keys are long."""

    __slots__ = ("chars", "char_limit")

    def __init__(self, size: int, char_limit: int) -> None:
        super().__init__(size)
        self.chars = 0
        self.char_limit = char_limit

    def put(self, key: str, value: V) -> None:
        """Set ``key`` as :meth:`RecentTable.put` does, then drop the oldest entries past
        either bound (a key longer than ``char_limit`` is not kept)."""
        if len(key) > self.char_limit:
            return
        if key not in self:
            self.chars += len(key)
        self[key] = value
        while len(self) > self.size or self.chars > self.char_limit:
            old, _ = self.popitem(last=False)
            self.chars -= len(old)

    def clear(self) -> None:
        super().clear()
        self.chars = 0

    def __reduce__(self) -> Any:
        """Pickled with its bounds (and its count, made again by :meth:`put`)."""
        return _recent_texts, (type(self), self.size, self.char_limit, list(self.items()))


def _recent_texts(
    cls: type[RecentTexts[V]], size: int, char_limit: int, items: list[tuple[str, V]]
) -> RecentTexts[V]:
    table = cls(size, char_limit)
    for key, value in items:
        table.put(key, value)
    return table


class CleanKeys(set[str]):
    """A set of texts bounded by entries (``limit``) and total characters (``char_limit``):
    :meth:`note` empties it before a key that would take it past either (the keys that matter
    come back). The compiled ``sip_addrs_clean`` only reads it."""

    __slots__ = ("chars", "limit", "char_limit")

    def __init__(self, limit: int, char_limit: int) -> None:
        super().__init__()
        self.chars = 0
        self.limit = limit
        self.char_limit = char_limit

    def note(self, key: str) -> None:
        """Add ``key`` (not kept when longer than ``char_limit``)."""
        if key in self:
            return
        if len(self) >= self.limit or self.chars + len(key) > self.char_limit:
            self.clear()
        if len(key) <= self.char_limit:
            self.add(key)
            self.chars += len(key)

    def clear(self) -> None:
        super().clear()
        self.chars = 0

    def __reduce__(self) -> Any:
        """Pickled with its bounds and count."""
        return _clean_keys, (self.limit, self.char_limit, list(self))


def _clean_keys(limit: int, char_limit: int, keys: list[str]) -> CleanKeys:
    table = CleanKeys(limit, char_limit)
    for key in keys:
        table.note(key)
    return table


class RecentKeys:
    """Up to ``limit`` int keys (:func:`text_key`), each with an int, in arrays: the oldest
    forgotten first in batches, as :func:`drop_oldest` forgets a dict's (past ``limit`` keys,
    down to ``limit - limit // 16``; :meth:`put` of a known key makes it the newest, as a
    dict's pop and set do).

    A dict of int keys costs about 85 B a key (its table, 52 B a key at 200,000, and an int of
    32 B); here a key costs 8 B in the insertion-ordered array, 8 B for its value (when there
    are values), and at most 16 B of the index (an open-addressing table of 4-byte positions,
    at most half full, doubled as it fills): 28-32 B. The index is rebuilt when it doubles,
    when the oldest keys are dropped (a sixteenth of the table at a time, so a few steps a key)
    and when keys made newest leave too many dead places behind."""

    __slots__ = ("limit", "_keys", "_values", "_index", "_mask", "_live")

    def __init__(self, limit: int, *, values: bool = True) -> None:
        self.limit = max(1, limit)
        self._keys = array("q")  # key + 1 in order of insertion; 0 where a key was moved
        self._values: array[int] | None = array("q") if values else None
        self._index = array("i", [0]) * 16  # position + 1 in _keys; 0: empty
        self._mask = 15  # the index's size - 1: doubled while it would be over half full
        self._live = 0

    def __len__(self) -> int:
        return self._live

    def __contains__(self, key: int) -> bool:
        return self._find(key + 1)[1] >= 0

    def get(self, key: int, default: int = -1) -> int:
        """The value of ``key``, or ``default`` when it is not remembered."""
        pos = self._find(key + 1)[1]
        if pos < 0:
            return default
        return self._values[pos] if self._values is not None else 0

    def add(self, key: int) -> bool:
        """Remember ``key`` (newest) if it is not; True when it was not."""
        k1 = key + 1
        slot, pos = self._find(k1)
        if pos >= 0:
            return False
        self._append(slot, k1, 0)
        return True

    def put(self, key: int, value: int) -> None:
        """Set ``key`` to ``value``; it becomes the newest key."""
        k1 = key + 1
        slot, pos = self._find(k1)
        if pos >= 0:
            self._keys[pos] = 0  # its old place is dead; its index slot points at the new one
            self._live -= 1
        self._append(slot, k1, value)

    def _find(self, k1: int) -> tuple[int, int]:
        """(index slot, position in _keys) of key + 1; position -1 (and the free slot where it
        would go) when it is not there."""
        index = self._index
        keys = self._keys
        mask = self._mask
        i = k1 & mask
        while True:
            p = index[i]
            if not p:
                return i, -1
            if keys[p - 1] == k1:
                return i, p - 1
            i = (i + 1) & mask

    def _append(self, slot: int, k1: int, value: int) -> None:
        keys = self._keys
        keys.append(k1)
        if self._values is not None:
            self._values.append(value)
        self._index[slot] = len(keys)
        self._live += 1
        if self._live > self.limit:
            self._drop(self._live - self.limit + (self.limit >> 4))
        elif len(keys) > 2 * self.limit:
            self._drop(0)  # only dead places to clear
        elif 2 * self._live > self._mask:
            self._mask = 2 * self._mask + 1
            self._drop(0)

    def _drop(self, count: int) -> None:
        """Forget the ``count`` oldest keys, clear dead places, rebuild the index (without a
        list of the keys: that would be 40 B a key for a moment, more than the table)."""
        keys = self._keys
        values = self._values
        start = 0
        while count:
            if keys[start]:
                count -= 1
                self._live -= 1
            start += 1
        if self._live == len(keys) - start:  # no dead places after the dropped keys
            del keys[:start]
            if values is not None:
                del values[:start]
        else:
            kept = array("q")
            kept_values = array("q") if values is not None else None
            for pos in range(start, len(keys)):
                k1 = keys[pos]
                if k1:
                    kept.append(k1)
                    if kept_values is not None:
                        kept_values.append(values[pos])  # type: ignore[index]
            keys = self._keys = kept
            self._values = kept_values
        index = self._index = array("i", [0]) * (self._mask + 1)
        mask = self._mask
        for pos, k1 in enumerate(keys, 1):
            i = k1 & mask
            while index[i]:
                i = (i + 1) & mask
            index[i] = pos


_MISSING = object()


class ReadOnce(Generic[V]):
    """What a pure reading function gave for each text, for texts that repeat from record to
    record (a log's endpoints, its header lines' tails): at most ``size`` texts of at most
    ``longest`` characters, emptied when full (the texts that repeat come back at once).
    Share a result only when it is immutable."""

    __slots__ = ("read", "table", "size", "longest")

    def __init__(self, read: Callable[[str], V], size: int, longest: int) -> None:
        self.read = read
        self.table: dict[str, V] = {}
        self.size = size
        self.longest = longest

    def __call__(self, text: str) -> V:
        table = self.table
        found = table.get(text, _MISSING)
        if found is _MISSING:
            found = self.read(text)
            if len(text) <= self.longest:
                if len(table) >= self.size:
                    table.clear()
                table[text] = found  # type: ignore[assignment]
        return found  # type: ignore[return-value]
