"""Per-stream time series (media/series.py): buckets, loss per interval, coarsening, bounds."""

from __future__ import annotations

import math
import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.media.series import MIN_BUCKETS, SeriesBudget, StreamSeries
from lyncdump.media.stats import StreamStats

KEY = (b"\x0a\x00\x00\x01", 5000, b"\x0a\x00\x00\x02", 6000)
T0 = 1_767_225_600.0


def stream(**kw: object) -> StreamStats:
    return StreamStats(0x1234, *KEY, {0: ("PCMU", 8000)}, **kw)  # type: ignore[arg-type]


def feed(s: StreamStats, packets: list[tuple[float, int]]) -> None:
    """(time, sequence number) pairs, 20 ms of PCMU each."""
    for frame, (t, seq) in enumerate(packets, 1):
        s.packet(frame, t, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, 0, 0, 172)


def test_one_bucket_per_second_with_the_packets_of_each() -> None:
    s = stream()
    feed(s, [(T0 + 0.5 + i * 0.02, 100 + i) for i in range(150)])  # 0.5 s .. 3.48 s
    rows = s.time_series()
    assert [r[0] for r in rows] == [T0, T0 + 1, T0 + 2, T0 + 3]
    assert [r[1] for r in rows] == [25, 50, 50, 25]
    assert sum(r[1] for r in rows) == s.packets == 150
    assert [r[2] for r in rows] == [0, 0, 0, 0]
    assert rows[0][5] == 20.0  # every packet 20 ms after the previous one
    assert all(r[3] == 0.0 and r[4] == 0.0 for r in rows)  # a perfect clock: no jitter
    assert s.series_interval == 1.0


def test_loss_goes_to_the_interval_where_the_gap_is_seen() -> None:
    s = stream()
    times = [T0 + i * 0.02 for i in range(100)]
    seqs = list(range(100))
    # 5 packets lost in the second second (sequence 60-64 never arrive)
    packets = [(t, q) for t, q in zip(times, seqs, strict=True) if not 60 <= q < 65]
    feed(s, packets)
    rows = s.time_series()
    assert [r[2] for r in rows] == [0, 5]
    assert sum(r[2] for r in rows) == s.lost == 5
    assert rows[1][5] == 120.0  # the gap: 6 x 20 ms between two packets received


def test_jitter_column_follows_the_running_estimate() -> None:
    s = stream()
    rng = [0, 3, -2, 5, 0, 1, -4, 2] * 20
    packets = [(T0 + i * 0.02 + rng[i] / 1000, i) for i in range(len(rng))]
    feed(s, packets)
    rows = s.time_series()
    # The stream's max_jitter skips irregular packets; the buckets take every one.
    assert max(r[3] for r in rows if r[3] is not None) >= round(s.max_jitter, 3) > 0
    assert all(r[4] is not None and r[4] <= r[3] for r in rows)


def test_unknown_clock_has_no_jitter_values() -> None:
    s = StreamStats(1, *KEY)  # payload type 127 without a map: no clock rate
    for i in range(60):
        s.packet(i + 1, T0 + i * 0.02, i, i * 160, 127, 0, 100)
    rows = s.time_series()
    assert all(r[3] is None and r[4] is None for r in rows)
    assert rows[0][5] == 20.0


def test_gaps_have_no_bucket() -> None:
    s = stream()
    feed(s, [(T0, 1), (T0 + 0.5, 2), (T0 + 10.2, 3)])
    assert [r[0] for r in s.time_series()] == [T0, T0 + 10]
    assert s.time_series()[1][5] == 9700.0


def test_coarsening_keeps_totals_and_doubles_the_interval() -> None:
    s = stream()
    s.series.max_buckets = 8
    feed(s, [(T0 + i * 0.5, i) for i in range(40)])  # 20 s, 2 packets a second
    rows = s.time_series()
    assert s.series_interval == 4.0  # 8 buckets reached twice
    assert len(s.series) < 8
    assert sum(r[1] for r in rows) == 40
    assert all(r[0] % 4.0 == 0 for r in rows)
    assert [r[1] for r in rows] == [8, 8, 8, 8, 8]


def test_run_budget_coarsens_streams_that_grow() -> None:
    budget = SeriesBudget(limit=40)
    streams = []
    for n in range(3):
        s = StreamStats(n, *KEY, {0: ("PCMU", 8000)})
        s.series.budget = budget
        streams.append(s)
    for i in range(120):  # 120 s each: 360 buckets at 1 s would exceed the budget
        for s in streams:
            s.packet(i + 1, T0 + i, i, i * 160, 0, 0, 172)
    assert budget.used <= budget.limit + 3 * MIN_BUCKETS
    for s in streams:
        assert sum(r[1] for r in s.time_series()) == 119 + 1
        assert s.series_interval > 1.0
    assert budget.used == sum(len(s.series) for s in streams)


def test_copy_and_pickle_keep_the_series() -> None:
    s = stream()
    feed(s, [(T0 + i * 0.1, i) for i in range(35)])
    clone = pickle.loads(pickle.dumps(s))
    assert clone.time_series() == s.time_series()
    assert clone.series == s.series


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.floats(0.0, 3.0), st.sampled_from([1, 1, 1, 2, 0, -1, 5])),
        min_size=1,
        max_size=200,
    ),
    cap=st.integers(3, 12),
)
def test_buckets_always_add_up(steps: list[tuple[float, int]], cap: int) -> None:
    """Whatever the arrivals, the buckets hold every packet and every loss, in time order,
    never more than the cap, each on a multiple of the interval."""
    s = stream()
    s.series.max_buckets = cap
    t, seq = T0, 1000
    packets = []
    for dt, dseq in steps:
        t += dt
        seq += dseq
        packets.append((t, seq))
    feed(s, packets)
    rows = s.time_series()
    assert sum(r[1] for r in rows) == s.packets
    assert sum(r[2] for r in rows) == s.lost
    assert len(s.series) < cap
    starts = [r[0] for r in rows]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(math.isclose(x / s.series_interval, round(x / s.series_interval)) for x in starts)


def test_series_equality_ignores_nan_identity() -> None:
    a, b = StreamSeries(), StreamSeries()
    for x in (a, b):
        x.close(5, 1, 0, math.nan, math.nan, math.nan)
    assert a == b
