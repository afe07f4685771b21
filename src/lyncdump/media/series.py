"""Per-stream time series: what a stream's quality did over time, in bounded memory.

A chart of jitter, inter-arrival delta and loss over a call needs more than the stream's
totals, but never one value per packet. :class:`StreamSeries` keeps one bucket per interval of
capture time (:data:`SERIES_INTERVAL`, 1 s) holding:

- ``packets`` received in the interval;
- ``lost``: packets the sequence numbers say were sent in the interval minus those received
  (the stream's expected count at the bucket's last packet minus the count before its first;
  negative for duplicates, and the buckets add up to the stream's ``lost``);
- ``max_jitter`` and ``mean_jitter`` (ms): the RFC 3550 running estimate after each packet
  with a known clock rate (null when none had one);
- ``max_delta`` (ms): the largest time between two consecutive packets ending in the
  interval, every packet included (a silence-suppression gap shows as a spike).

Buckets are aligned to whole multiples of the interval (bucket ``i`` covers
``[i * interval, (i + 1) * interval)`` of capture time), and an interval with no packet has no
bucket. Bounds (docs/report.md, docs/architecture.md):

- per stream, at most :data:`MAX_BUCKETS` (3,600: an hour at 1 s); when a stream would go past
  it, its buckets are merged in pairs and its interval doubles (2 s, 4 s, ...);
- per run, :data:`MAX_TOTAL_BUCKETS` over all streams (a :class:`SeriesBudget` shared by the
  streams of a run); past it, a stream that needs a new bucket coarsens its own series instead
  of growing, down to :data:`MIN_BUCKETS`. A bucket costs 28 bytes (compact arrays), so the
  total is about 117 MB at its limit, plus 16 buckets for each of at most 65,536 streams.

The open bucket is accumulated by :class:`~lyncdump.media.stats.StreamStats` in core fields
that the compiled fast path updates too; the fast path hands a packet that starts a new
bucket to Python, which closes the old one here (one call per stream per interval).
"""

from __future__ import annotations

import math
from array import array
from typing import Any

#: Seconds of capture time per bucket, before any coarsening.
SERIES_INTERVAL = 1.0
#: Buckets per stream before its buckets merge in pairs (one hour at 1 s).
MAX_BUCKETS = 3600
#: Buckets over all streams of a run (about 117 MB at 28 bytes each).
MAX_TOTAL_BUCKETS = 1 << 22
#: A stream coarsens for the run's budget only while it has more buckets than this.
MIN_BUCKETS = 16


class SeriesBudget:
    """The buckets every stream of a run holds, against one total bound."""

    __slots__ = ("used", "limit")

    def __init__(self, limit: int = MAX_TOTAL_BUCKETS) -> None:
        self.used = 0
        self.limit = limit

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SeriesBudget):
            return NotImplemented
        return (self.used, self.limit) == (other.used, other.limit)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"SeriesBudget(used={self.used}, limit={self.limit})"


class StreamSeries:
    """The closed buckets of one stream (see the module docstring)."""

    __slots__ = (
        "interval", "index", "packets", "lost", "max_jitter", "mean_jitter", "max_delta",
        "budget", "max_buckets",
    )  # fmt: skip

    def __init__(self, budget: SeriesBudget | None = None, max_buckets: int = MAX_BUCKETS) -> None:
        self.interval = SERIES_INTERVAL
        self.index = array("q")  # bucket number: the bucket starts at index * interval
        self.packets = array("I")
        self.lost = array("i")
        self.max_jitter = array("f")  # NaN: no packet of the bucket had a known clock
        self.mean_jitter = array("f")
        self.max_delta = array("f")  # NaN: the bucket holds only the stream's first packet
        self.budget = budget if budget is not None else SeriesBudget()
        self.max_buckets = max(3, max_buckets)  # numbers -1 and 0 never merge

    def __len__(self) -> int:
        return len(self.index)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StreamSeries):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"StreamSeries(interval={self.interval}, buckets={len(self.index)})"

    def _values(self) -> tuple[Any, ...]:
        # NaN != NaN: compare the float columns by their bytes.
        return (
            self.interval,
            self.index,
            self.packets,
            self.lost,
            self.max_jitter.tobytes(),
            self.mean_jitter.tobytes(),
            self.max_delta.tobytes(),
        )

    def bucket_of(self, ts: float) -> int:
        """The number of the bucket that holds capture time ``ts`` at the current interval."""
        return math.floor(ts / self.interval)

    def close(
        self,
        index: int,
        packets: int,
        lost: int,
        max_jitter: float,
        mean_jitter: float,
        max_delta: float,
    ) -> None:
        """Keep one finished bucket (merged into the last one when coarsening made them the
        same interval), coarsening when a bound says so."""
        if self.index and self.index[-1] == index:
            self._merge_last(packets, lost, max_jitter, mean_jitter, max_delta)
            return
        self.index.append(index)
        self.packets.append(min(packets, 0xFFFFFFFF))
        self.lost.append(max(-(1 << 31), min(lost, (1 << 31) - 1)))
        self.max_jitter.append(max_jitter)
        self.mean_jitter.append(mean_jitter)
        self.max_delta.append(max_delta)
        budget = self.budget
        budget.used += 1
        n = len(self.index)
        if budget.used > budget.limit and n > MIN_BUCKETS:
            self.coarsen()
        # Buckets far apart may not pair up at once; every doubling brings them closer.
        while len(self.index) >= self.max_buckets:
            self.coarsen()

    def _merge_last(
        self, packets: int, lost: int, max_jitter: float, mean_jitter: float, max_delta: float
    ) -> None:
        i = len(self.index) - 1
        before = self.packets[i]
        total = before + packets
        self.packets[i] = min(total, 0xFFFFFFFF)
        self.lost[i] = max(-(1 << 31), min(self.lost[i] + lost, (1 << 31) - 1))
        self.max_jitter[i] = _nanmax(self.max_jitter[i], max_jitter)
        self.mean_jitter[i] = _weighted(self.mean_jitter[i], before, mean_jitter, packets)
        self.max_delta[i] = _nanmax(self.max_delta[i], max_delta)

    def coarsen(self) -> None:
        """Double the interval: buckets ``2k`` and ``2k + 1`` become bucket ``k``."""
        old = (
            self.index, self.packets, self.lost, self.max_jitter, self.mean_jitter,
            self.max_delta,
        )  # fmt: skip
        n = len(old[0])
        self.interval *= 2
        self.index = array("q")
        self.packets = array("I")
        self.lost = array("i")
        self.max_jitter = array("f")
        self.mean_jitter = array("f")
        self.max_delta = array("f")
        for i in range(n):
            index = old[0][i] // 2
            if self.index and self.index[-1] == index:
                self._merge_last(old[1][i], old[2][i], old[3][i], old[4][i], old[5][i])
            else:
                self.index.append(index)
                self.packets.append(old[1][i])
                self.lost.append(old[2][i])
                self.max_jitter.append(old[3][i])
                self.mean_jitter.append(old[4][i])
                self.max_delta.append(old[5][i])
        self.budget.used -= n - len(self.index)

    def rows(self) -> list[tuple[float, int, int, float | None, float | None, float | None]]:
        """Each bucket as ``(start time, packets, lost, max jitter, mean jitter, max delta)``
        with None where there is no value."""
        interval = self.interval
        return [
            (
                self.index[i] * interval,
                self.packets[i],
                self.lost[i],
                _value(self.max_jitter[i]),
                _value(self.mean_jitter[i]),
                _value(self.max_delta[i]),
            )
            for i in range(len(self.index))
        ]


def _value(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 3)


def _nanmax(a: float, b: float) -> float:
    if math.isnan(a):
        return b
    if math.isnan(b):
        return a
    return a if a >= b else b


def _weighted(a: float, wa: int, b: float, wb: int) -> float:
    if math.isnan(a):
        return b
    if math.isnan(b) or wa + wb == 0:
        return a
    return (a * wa + b * wb) / (wa + wb)


__all__ = [
    "MAX_BUCKETS",
    "MAX_TOTAL_BUCKETS",
    "MIN_BUCKETS",
    "SERIES_INTERVAL",
    "SeriesBudget",
    "StreamSeries",
]
