"""IPv4 and IPv6 fragment reassembly with a memory bound and a capture-time timeout.

Fragments are kept per datagram, keyed as the RFCs say a receiver must: source, destination,
protocol and identification for IPv4 (RFC 791), source, destination and identification for IPv6
(RFC 8200). They may arrive in any order and any number of times. Where two fragments overlap the
first copy wins (what most stacks do since RFC 5722 made overlaps suspicious); if the later copy
says something different a ``conflicting overlap`` defect is recorded.

A hostile or lossy capture could leave unfinished datagrams forever, so two bounds apply:
everything buffered counts against ``max_bytes`` (the oldest datagrams are dropped first), and a
datagram whose first fragment is older than ``timeout`` seconds of capture time is dropped. Both
drops are defects, never silent. What is counted is what Python really holds: each fragment
``len(payload) + FRAGMENT_OVERHEAD``, each datagram ``DATAGRAM_OVERHEAD`` more (its key, lists and
bookkeeping, measured with tracemalloc), so ``max_bytes`` is the memory held, not only payload.
Datagrams are kept in arrival order (an ``OrderedDict``), so evicting the oldest costs O(1) however
many are buffered: a flood of first fragments stays linear in time.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict

from lyncdump.model import DefectLog

FRAGMENT_OVERHEAD = 64
"""Bookkeeping charged per buffered fragment, so a flood of tiny fragments is bounded too."""

DATAGRAM_OVERHEAD = 640
"""Charged once per datagram being reassembled: the key tuple, the fragment set and its lists
(560-620 bytes measured on CPython 3.11 with IPv4 and IPv6 keys), so a flood of first fragments
is bounded in memory held, not only in payload bytes."""

MAX_DATAGRAM = 65535
"""Neither IPv4 nor (non-jumbo) IPv6 can reassemble past this many payload bytes."""


def merge_piece(starts: list[int], datas: list[bytes], start: int, data: bytes) -> tuple[int, bool]:
    """Add ``data`` at ``start`` to a sorted list of disjoint pieces; pieces already there win.

    Shared by fragment and TCP reassembly, which both keep "first copy wins" ranges. Returns
    ``(added, conflict)``: ``added`` is how many bytes were not covered before, ``conflict`` is
    True when an overlapped range carries different bytes from the copy already kept.
    """
    end = start + len(data)
    i = bisect_right(starts, start) - 1
    if i < 0:
        i = 0
    pos = start
    added = 0
    conflict = False
    while i < len(starts) and pos < end:
        s = starts[i]
        kept = datas[i]
        e = s + len(kept)
        if e <= pos:
            i += 1
            continue
        if s >= end:
            break
        if s > pos:
            # Uncovered bytes before this piece: keep them as a new piece.
            starts.insert(i, pos)
            datas.insert(i, data[pos - start : s - start])
            added += s - pos
            i += 1
            pos = s
        overlap_end = e if e < end else end
        if kept[pos - s : overlap_end - s] != data[pos - start : overlap_end - start]:
            conflict = True
        pos = overlap_end
        i += 1
    if pos < end:
        starts.insert(i, pos)
        datas.insert(i, data[pos - start :] if pos != start else data)
        added += end - pos
    return added, conflict


class _FragmentSet:
    """The fragments seen so far of one datagram."""

    __slots__ = (
        "first_frame",
        "first_ts",
        "starts",
        "datas",
        "covered",
        "total",
        "cost",
        "next_header",
        "layer",
    )

    def __init__(self, frame: int, ts: float, layer: str) -> None:
        self.first_frame = frame
        self.first_ts = ts
        self.starts: list[int] = []
        self.datas: list[bytes] = []
        self.covered = 0
        self.total = -1  # payload length, known once the last fragment (MF=0) arrives
        self.cost = 0
        self.next_header = -1  # from the offset-0 fragment (IPv6) or the header (IPv4)
        self.layer = layer

    def describe(self) -> str:
        total = str(self.total) if self.total >= 0 else "?"
        return f"{self.covered} of {total} bytes"


class FragmentReassembler:
    """Collects IP fragments until a datagram is whole; bounded in memory and in time.

    ``key`` is opaque to this class: the decoder builds it from the header fields the RFCs name.
    """

    __slots__ = ("_defects", "_max_bytes", "_timeout", "_sets", "buffered")

    def __init__(
        self, defects: DefectLog, *, max_bytes: int = 4 << 20, timeout: float = 30.0
    ) -> None:
        self._defects = defects
        self._max_bytes = max_bytes
        self._timeout = timeout
        # oldest first; OrderedDict finds its first entry in O(1) even after many deletions
        self._sets: OrderedDict[tuple[object, ...], _FragmentSet] = OrderedDict()
        self.buffered = 0
        """Bytes currently charged against ``max_bytes``."""

    def __len__(self) -> int:
        return len(self._sets)

    def add(
        self,
        frame: int,
        ts: float,
        key: tuple[object, ...],
        offset: int,
        more: bool,
        data: bytes,
        next_header: int,
        layer: str,
    ) -> tuple[int, bytes] | None:
        """Take one fragment; return ``(next_header, payload)`` once the datagram is complete.

        ``offset`` is in bytes, ``next_header`` is the protocol carried by this fragment's header
        (for IPv6 only the offset-0 fragment's value counts, as RFC 8200 says).
        """
        self._expire(ts)
        end = offset + len(data)
        if end > MAX_DATAGRAM:
            self._defects.add(frame, layer, None, f"fragment ends at {end}, past {MAX_DATAGRAM}")
            return None
        if more and not data:
            self._defects.add(frame, layer, None, "empty non-final fragment")
            return None
        fset = self._sets.get(key)
        if fset is None:
            fset = self._sets[key] = _FragmentSet(frame, ts, layer)
            fset.cost = DATAGRAM_OVERHEAD
            self.buffered += DATAGRAM_OVERHEAD
        if not more:
            if fset.total >= 0 and fset.total != end:
                self._defects.add(
                    frame, layer, None, f"last fragment says {end} bytes, earlier one {fset.total}"
                )
                return None
            if fset.starts and fset.starts[-1] + len(fset.datas[-1]) > end:
                self._defects.add(frame, layer, None, "last fragment ends before other fragments")
                return None
            fset.total = end
        elif fset.total >= 0 and end > fset.total:
            self._defects.add(frame, layer, None, "fragment past the end of the datagram")
            return None
        if offset == 0:
            fset.next_header = next_header
        if data:
            added, conflict = merge_piece(fset.starts, fset.datas, offset, data)
            if conflict:
                self._defects.add(frame, layer, offset, "conflicting overlap in fragments")
            if not added:
                return self._complete(key, fset)
            fset.covered += added
        cost = len(data) + FRAGMENT_OVERHEAD
        fset.cost += cost
        self.buffered += cost
        done = self._complete(key, fset)
        if done is None and self.buffered > self._max_bytes:
            self._evict_for_space(key, fset)
        return done

    def _complete(self, key: tuple[object, ...], fset: _FragmentSet) -> tuple[int, bytes] | None:
        if fset.total < 0 or fset.covered != fset.total or fset.next_header < 0:
            return None
        del self._sets[key]
        self.buffered -= fset.cost
        datas = fset.datas
        return fset.next_header, datas[0] if len(datas) == 1 else b"".join(datas)

    def _drop(self, key: tuple[object, ...], fset: _FragmentSet, why: str) -> None:
        del self._sets[key]
        self.buffered -= fset.cost
        self._defects.add(
            fset.first_frame, fset.layer, None, f"{why}: dropped datagram ({fset.describe()})"
        )

    def _evict_for_space(self, current_key: tuple[object, ...], current: _FragmentSet) -> None:
        """Drop the oldest datagrams until the bound holds again (the current one last).

        Each step looks at the first one or two entries only: O(1) per datagram dropped.
        """
        sets = self._sets
        while self.buffered > self._max_bytes:
            it = iter(sets.items())
            key, fset = next(it)
            if fset is current:
                nxt = next(it, None)
                if nxt is None:
                    self._drop(current_key, current, "fragment buffer full")
                    return
                key, fset = nxt
            self._drop(key, fset, "fragment buffer full")

    def _expire(self, now: float) -> None:
        """Drop datagrams whose first fragment is older than the timeout (oldest come first)."""
        limit = now - self._timeout
        sets = self._sets
        while sets:
            key, fset = next(iter(sets.items()))
            if fset.first_ts >= limit:
                return
            self._drop(key, fset, f"fragments timed out after {self._timeout:g}s")

    def flush(self) -> None:
        """End of capture: every datagram still incomplete becomes a defect."""
        for key, fset in list(self._sets.items()):
            self._drop(key, fset, "incomplete at end of capture")
