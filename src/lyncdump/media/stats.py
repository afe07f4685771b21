"""Per-stream RTP quality: loss, sequence errors, delta, jitter, bitrate, MOS, RTCP reports.

The numbers must be the ones a UC engineer compares with Wireshark's RTP Streams window
(tshark 4.0), so :meth:`StreamStats.packet` follows what Wireshark's RTP analysis computes
(its public ui/tap-rtp-analysis.c describes it; this is our own code, checked against tshark
on the corpus and on awkward synthetic streams): sequence cycles counted against the first
sequence number; lost = expected - received (negative when packets are duplicated); delta =
time since the previous packet; jitter the RFC 3550 A.8 running estimate in milliseconds
(``J += (|D| - J) / 16``), D measured against the nominal time since the first packet with the
clock rate truncated to whole kHz, the previous nominal time only moving on packets with a
known clock (so telephone events count in the next audio packet); min/mean/max over "regular"
packets (not the first, not marked, not comfort noise nor the packet after it), means being
Wireshark's running means weighted by all packets received.

Per packet the work is one method call that updates slots in place: no objects are created.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from ..errors import MalformedError
from ..fastpath import AVAILABLE as FAST_PATH
from ..fastpath import CORE_FIELDS, RtpCore, helper, reduce_fields
from ..model import DefectLog, Endpoint
from ..resultclass import result_dataclass
from ..sip.message import BodyPart, SipMessage, parse_body_part, part_bounds
from .codecs import (
    MOS_MIN_SECONDS,
    is_telephone_event,
    jitter_clock,
    mos_lq,
    payload_name,
    rated_codec,
)
from .relay import RelayPath  # at run time: get_type_hints(StreamStats) resolves it
from .series import SeriesBudget, StreamSeries

if TYPE_CHECKING:
    from ..sdp import SessionDescription
    from .srtp import SrtpContext

_RTP_HEADER = struct.Struct("!BBHII").unpack_from
_INF = float("inf")
_NAN = float("nan")
_INF_BUDGET = 1 << 62


def rtp_header_length(packet: bytes) -> int:
    """Bytes of RTP header (CSRCs and extension included) or -1 when it does not fit."""
    n = len(packet)
    if n < 12:
        return -1
    offset = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:
        if offset + 4 > n:
            return -1
        offset += 4 + 4 * ((packet[offset + 2] << 8) | packet[offset + 3])
    return offset if offset <= n else -1


#: The fields of a stream for ``dataclasses.fields``/``asdict`` and ``pd.DataFrame(streams)``:
#: the values of its ``stream`` JSON record under their attribute names (computed ones are
#: properties), in the same order. ``time_series()`` stays a method: one row per stream.
STREAM_FIELDS = {
    "call_id": "str | None", "join_rule": "str | None", "candidate_calls": "tuple[str, ...]",
    "ssrc": "int", "source": "Endpoint", "destination": "Endpoint", "payload": "str",
    "payload_types": "list[int]", "first_frame": "int", "last_frame": "int",
    "first_time": "float", "last_time": "float", "duration": "float", "packets": "int",
    "expected": "int", "lost": "int", "lost_percent": "float", "sequence_errors": "int",
    "duplicates": "int", "out_of_order": "int", "wrong_timestamps": "int",
    "min_delta": "float", "mean_delta": "float", "max_delta": "float",
    "max_delta_frame": "int", "min_jitter": "float", "jitter": "float", "mean_jitter": "float",
    "max_jitter": "float", "clock_rate": "int", "bytes": "int", "bitrate_kbps": "float",
    "markers": "int", "problem": "bool", "mos": "float | None", "signalled": "bool",
    "encrypted": "bool", "srtp_decrypted": "int", "srtp_auth_failures": "int",
    "rtcp_reports": "int", "rtcp_fraction_lost": "float | None",
    "rtcp_cumulative_lost": "int | None", "rtcp_jitter_ms": "float | None",
    "rtcp_rtt_ms": "float | None", "bye": "bool",
    "dtmf_events": "list[tuple[int, float, int, int]]", "setup_frame": "int | None",
    "relay": "RelayPath | None",
}  # fmt: skip


@result_dataclass(STREAM_FIELDS)
class StreamStats(RtpCore):
    """One RTP stream: (source, destination, SSRC), fed packets in capture order.

    The fields :meth:`packet` updates live in :class:`~lyncdump.fastpath.RtpCore`, which the
    compiled fast path updates too (lyncdump/fastpath.py).
    """

    __slots__ = (
        "src", "sport", "dst", "dport", "ipv6", "encrypted", "first_frame", "first_time",
        "payload_types", "clock_rate", "dtmf_events", "_last_event_ts", "_rtpmap", "_pt_cache",
        "_seen", "rtcp_fraction_lost", "rtcp_cumulative_lost", "rtcp_jitter_ms", "rtcp_rtt_ms",
        "rtcp_reports", "srtp_auth_failures", "setup_frame", "call_id",
        "signalled", "bye", "join_rule", "candidate_calls", "_ends",
        "series", "_b_index", "_b_expected0", "relay",
    )  # fmt: skip

    def __init__(
        self,
        ssrc: int,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        rtpmap: dict[int, tuple[str, int]] | None = None,
    ) -> None:
        self.ssrc = ssrc
        self.src = src
        self.sport = sport
        self.dst = dst
        self.dport = dport
        self.ipv6 = len(src) == 16
        self.encrypted = False
        self.setup_frame: int | None = None
        #: Call-ID of the call that owns the stream. The tracker sets the first SDP that
        #: announced its addresses; Capture.calls() settles it (analysis/media_join.py).
        self.call_id: str | None = None
        #: How the call was chosen (media_join.py rules), None before the join / for none.
        self.join_rule: str | None = None
        #: The calls the stream could belong to, when more than one matched (ambiguous,
        #: B2BUA legs, or the one chosen among several).
        self.candidate_calls: tuple[str, ...] = ()
        self._ends: tuple[Endpoint, Endpoint] | None = None
        #: True when SDP or TURN/ICE announced the addresses, False when found by heuristic.
        self.signalled = False
        #: An RTCP BYE named this SSRC.
        self.bye = False
        #: How the packets travelled when TURN relayed them (media/relay.py), else None.
        self.relay: RelayPath | None = None
        self.first_frame = 0
        self.last_frame = 0
        self.first_time = 0.0
        self.last_time = 0.0
        self.packets = 0
        self.bytes = 0
        self.payload_types: list[int] = []
        self.start_seq = 0
        self.stop_seq = 0
        self.last_seq = 0
        self.cycles = 0
        self.under = False
        self.sequence_errors = 0
        self.duplicates = 0
        self.out_of_order = 0
        self.wrong_timestamps = 0
        self.markers = 0
        self.first_timestamp = 0
        self.last_nominal = 0.0
        self.last_timestamp = 0
        self.time_ms = 0.0
        self.jitter = 0.0
        self._min_delta = _INF
        self.max_delta = 0.0
        self.max_delta_frame = 0
        self.mean_delta = 0.0
        self._min_jitter = _INF
        self.max_jitter = 0.0
        self.mean_jitter = 0.0
        self.clock_rate = 0
        self._cur_pt = -1
        self._cur_cn = False
        self._cur_clock = 0
        self._cur_event = False
        self._cur_khz = 1
        self.problem = False
        self.dtmf_events: list[tuple[int, float, int, int]] = []
        self._last_event_ts = -1
        self._rtpmap = rtpmap
        self._pt_cache: dict[int, tuple[int, bool]] = {}
        self._seen: set[int] = set()
        self.rtcp_fraction_lost: float | None = None
        self.rtcp_cumulative_lost: int | None = None
        self.rtcp_jitter_ms: float | None = None
        self.rtcp_rtt_ms: float | None = None
        self.rtcp_reports = 0
        self.srtp_auth_failures = 0
        self.srtp_decrypted = 0
        # The time series (media/series.py): closed buckets, and the open one's accumulators.
        self.series = StreamSeries()
        self._series_end = -_INF  # the first packet opens the first bucket
        self._b_index = 0
        self._b_expected0 = 0
        self._b_packets = 0
        self._b_jitter_sum = 0.0
        self._b_jitter_n = 0
        self._b_jitter_max = -_INF
        self._b_delta_max = -_INF

    def __reduce__(self) -> tuple[Any, ...]:
        return reduce_fields(self, CORE_FIELDS + StreamStats.__slots__)

    def to_dict(self) -> dict[str, Any]:
        """The ``stream`` record of docs/json.md."""
        from ..render.streams import stream_to_dict

        return stream_to_dict(self)

    # -- the per-packet path ---------------------------------------------------------------
    def set_rtpmap(self, rtpmap: dict[int, tuple[str, int]] | None) -> None:
        """The call's SDP (re)defined its payload types: forget cached clock rates."""
        self._rtpmap = rtpmap
        self._pt_cache.clear()
        self._cur_pt = -1

    def _packet(
        self,
        frame: int,
        ts: float,
        seq: int,
        rts: int,
        pt: int,
        marker: int,
        size: int,
        payload: bytes | None = None,
    ) -> None:
        """Account one RTP packet (``size`` = RTP header + payload bytes, as on the wire).

        ``rts`` is the RTP timestamp. ``payload`` (the clear packet) is read only for
        telephone events. Called as :meth:`packet`: compiled, ``RtpCore.packet`` takes the
        routine packets itself and calls this for the others.
        """
        if not ts < self._series_end:
            self._series_roll(ts)
        now = ts * 1000.0
        if pt == self._cur_pt:
            irregular = self._cur_cn  # the previous packet had this payload type too
        else:
            irregular = self._cur_cn  # the packet after comfort noise is not regular either
            self._switch_pt(pt)
            irregular = irregular or self._cur_cn
        self.bytes += size
        self.last_frame = frame
        self.last_time = ts
        if marker:
            self.markers += 1
            irregular = True
        if self._cur_event and payload is not None:
            self._telephone_event(ts, payload, rts)
        packets = self.packets
        if not packets:
            self.first_frame = frame
            self.first_time = ts
            self.start_seq = self.stop_seq = self.last_seq = seq
            self.first_timestamp = self.last_timestamp = rts
            self.time_ms = now
            self.packets = 1
            self._b_packets += 1
            return

        # Time sequence (tshark 4.0): a timestamp within 2^31 after the first packet's is in
        # sequence, whatever wrapped in between; anything else (a reset, a jump back before the
        # start) is a "wrong timestamp": it makes a problem, is never a regular packet, and
        # neither the arrival time nor the nominal time moves on it.
        first = self.first_timestamp
        offset = (rts - first) & 0xFFFFFFFF
        in_time = offset < 0x80000000 if rts >= first else offset <= 0x80000000
        if not in_time:
            self.wrong_timestamps += 1
            self.problem = True
            irregular = True
        # Sequence cycles, counted against the first sequence number (in-time packets only).
        if not in_time:
            pass
        elif self.under:
            if seq > self.start_seq:
                self.under = False
        elif seq < self.start_seq or (seq == 0 and self.stop_seq == 65535):
            self.cycles += 1
            self.under = True
        last = self.last_seq
        if in_time and (last + 1 == seq or (last == 65535 and seq == 0)):
            self.last_seq = seq
        elif in_time and (last + 1 < seq or last - seq > 0xFF00):
            self.last_seq = seq  # lost packets (or a sequence reset)
            self.sequence_errors += 1
            self.problem = True
        elif last + 1 > seq:
            if seq == last:
                self.duplicates += 1
            else:
                self.out_of_order += 1
            self.sequence_errors += 1
            self.problem = True

        self.last_timestamp = rts
        self.stop_seq = seq
        self.packets = packets + 1
        self._b_packets += 1
        if not in_time:
            return
        delta = now - self.time_ms
        self.time_ms = now
        if delta > self._b_delta_max:
            self._b_delta_max = delta
        if self._cur_clock:
            # Nominal time since the first packet, from the RTP clock (whole kHz, as Wireshark).
            nominal = offset / self._cur_khz
            diff = delta - nominal + self.last_nominal
            if diff < 0:
                diff = -diff
            jitter = self.jitter = (15.0 * self.jitter + diff) / 16.0
            self.last_nominal = nominal
            self._b_jitter_sum += jitter
            self._b_jitter_n += 1
            if jitter > self._b_jitter_max:
                self._b_jitter_max = jitter
            if irregular:
                return
            if jitter > self.max_jitter:
                self.max_jitter = jitter
            self.mean_jitter = (self.mean_jitter * (packets - 1) + jitter) / packets
            if jitter < self._min_jitter:
                self._min_jitter = jitter
        elif irregular:
            return
        # A "regular" packet: not the first, not marked, not comfort noise or right after it.
        if delta > self.max_delta:
            self.max_delta = delta
            self.max_delta_frame = frame
        if delta < self._min_delta:
            self._min_delta = delta
        self.mean_delta = (self.mean_delta * (packets - 1) + delta) / packets

    if not FAST_PATH:
        packet = _packet

    # -- the time series (media/series.py) ---------------------------------------------------
    def _series_open(self) -> None:
        self._b_packets = 0
        self._b_jitter_sum = 0.0
        self._b_jitter_n = 0
        self._b_jitter_max = -_INF
        self._b_delta_max = -_INF

    def _series_bucket(self) -> tuple[int, int, int, float, float, float]:
        """The open bucket: (number, packets, lost, max jitter, mean jitter, max delta)."""
        n = self._b_jitter_n
        return (
            self._b_index,
            self._b_packets,
            self.expected - self._b_expected0 - self._b_packets,
            self._b_jitter_max if n else _NAN,
            self._b_jitter_sum / n if n else _NAN,
            self._b_delta_max if self._b_delta_max != -_INF else _NAN,
        )

    def _series_roll(self, ts: float) -> None:
        """A packet at or past the open bucket's end: close that bucket, open the one of
        ``ts`` (the compiled fast path leaves such packets to Python)."""
        series = self.series
        if self._b_packets:
            series.close(*self._series_bucket())
        try:
            index = series.bucket_of(ts)
        except (OverflowError, ValueError):  # a time that is not a number: one bucket
            index = 0
        self._b_index = index
        end = (index + 1) * series.interval
        self._series_end = end if end > ts else _INF
        self._b_expected0 = self.expected
        self._series_open()

    def time_series(self) -> list[tuple[float, int, int, float | None, float | None, float | None]]:
        """Per-interval buckets (media/series.py), the open one included: ``(start time,
        packets, lost, max jitter ms, mean jitter ms, max delta ms)``, None where no value."""
        if not self._b_packets:
            return self.series.rows()
        copy = StreamSeries(SeriesBudget(_INF_BUDGET), max_buckets=1 << 30)
        copy.interval = self.series.interval
        for name in ("index", "packets", "lost", "max_jitter", "mean_jitter", "max_delta"):
            setattr(copy, name, getattr(self.series, name)[:])
        copy.close(*self._series_bucket())
        return copy.rows()

    @property
    def series_interval(self) -> float:
        """Seconds per bucket of :meth:`time_series` (1 s, doubled by each coarsening)."""
        return self.series.interval

    @property
    def min_delta(self) -> float:
        """Smallest delta of a regular packet, -1 when there was none (as Wireshark)."""
        return self._min_delta if self._min_delta != _INF else -1.0

    @property
    def min_jitter(self) -> float:
        """Smallest jitter after a regular packet, -1 when there was none (as Wireshark)."""
        return self._min_jitter if self._min_jitter != _INF else -1.0

    def _switch_pt(self, pt: int) -> None:
        """The payload type changed: look up its clock rate and whether it carries events."""
        cached = self._pt_cache.get(pt)
        if cached is None:
            cached = self._pt_cache[pt] = (
                jitter_clock(pt, self._rtpmap),
                is_telephone_event(pt, self._rtpmap),
            )
            if pt not in self._seen:
                self._seen.add(pt)
                self.payload_types.append(pt)
        self._cur_pt = pt
        self._cur_clock, self._cur_event = cached
        self._cur_cn = pt == 13 or pt == 19
        if cached[0]:
            self.clock_rate = cached[0]
            self._cur_khz = cached[0] // 1000 or 1

    def _telephone_event(self, ts: float, payload: bytes, rts: int) -> None:
        """RFC 4733: one event per RTP timestamp; record it once, with its final duration."""
        offset = rtp_header_length(payload)
        if offset < 0 or len(payload) < offset + 4:
            return
        event = payload[offset]
        flags = payload[offset + 1]
        duration = (payload[offset + 2] << 8) | payload[offset + 3]
        if rts != self._last_event_ts:
            self._last_event_ts = rts
            self.dtmf_events.append((event, ts, duration, flags >> 7))
        elif self.dtmf_events:
            e, t, _d, _end = self.dtmf_events[-1]
            self.dtmf_events[-1] = (e, t, duration, flags >> 7)

    # -- what is shown ------------------------------------------------------------------
    @property
    def expected(self) -> int:
        """Packets the sequence numbers say were sent (Wireshark's rule, cycles included)."""
        if not self.packets:
            return 0
        return self.stop_seq + self.cycles * 65536 - self.start_seq + 1

    @property
    def lost(self) -> int:
        """Expected minus received: negative when duplicates outnumber losses."""
        return self.expected - self.packets

    @property
    def lost_percent(self) -> float:
        exp = self.expected
        return self.lost * 100.0 / exp if exp else 0.0

    @property
    def duration(self) -> float:
        return self.last_time - self.first_time if self.packets else 0.0

    @property
    def bitrate_kbps(self) -> float:
        """Mean IP bitrate (RTP + UDP + IP headers) over the stream's duration."""
        d = self.duration
        if d <= 0:
            return 0.0
        overhead = 48 if self.ipv6 else 28
        return (self.bytes + overhead * self.packets) * 8 / d / 1000.0

    def payload_names(self) -> list[str]:
        """Names of every payload type seen, in payload type order (as Wireshark lists them)."""
        return [payload_name(pt, self._rtpmap) for pt in sorted(self.payload_types)]

    @property
    def payload(self) -> str:
        return ", ".join(self.payload_names())

    @property
    def mos(self) -> float | None:
        """E-model MOS-LQ from the speech codec and the loss seen, or None where the E-model
        does not apply: no speech codec it has values for (telephone events, comfort noise,
        video, unknown codecs) or packets covering less than
        :data:`~lyncdump.media.codecs.MOS_MIN_SECONDS` of media."""
        n = self.packets
        # The time the packets cover: n packets of a 20 ms codec span 20 ms more than from the
        # first to the last (50 packets are one second).
        if n < 2 or self.duration * n / (n - 1) < MOS_MIN_SECONDS - 0.001:
            return None
        codec = rated_codec(self.payload_names())
        if codec is None:
            return None
        rtt = self.rtcp_rtt_ms
        return round(mos_lq(codec, max(0.0, self.lost_percent), rtt / 2 if rtt else 0.0), 2)

    def rtcp_report(self, fraction_lost: int, cumulative: int, jitter_units: int) -> None:
        """A report block about this stream (from its receiver)."""
        self.rtcp_reports += 1
        self.rtcp_fraction_lost = fraction_lost / 256.0
        self.rtcp_cumulative_lost = cumulative
        if self.clock_rate:
            self.rtcp_jitter_ms = jitter_units * 1000.0 / self.clock_rate

    @property
    def source(self) -> Endpoint:
        return (self._ends or self._make_ends())[0]

    @property
    def destination(self) -> Endpoint:
        return (self._ends or self._make_ends())[1]

    def _make_ends(self) -> tuple[Endpoint, Endpoint]:
        ends = self._ends = (
            Endpoint.from_raw(self.src, self.sport),
            Endpoint.from_raw(self.dst, self.dport),
        )
        return ends

    @property
    def has_jitter(self) -> bool:
        """False when no packet had a known clock rate (Wireshark prints -1 as the minimum)."""
        return self._min_jitter != _INF


# -- assigning datagrams to streams --------------------------------------------------------------

_CANDIDATE, _RTP, _REJECTED = 0, 1, 2
#: Packets of one SSRC in sequence (each 1-16 after the previous one of that SSRC, other SSRCs
#: may come between: bundled audio and video) before an unannounced flow is taken for RTP.
HEURISTIC_RUN = 4
#: Packets an unannounced flow may show without such a run before it is given up.
HEURISTIC_GIVE_UP = 64
#: Packets an undecided flow holds, to be counted once it is taken for RTP (the most recent).
HEURISTIC_HOLD = 16
#: SSRCs followed per undecided flow (random bytes show a new one in every packet).
HEURISTIC_SSRCS = 8
#: Bytes held by all undecided flows together; past it packets are judged but not held (a
#: flow then found to be RTP misses its first packets in the statistics).
HEURISTIC_HOLD_BYTES = 16 << 20
#: Bounds against hostile captures: UDP flows followed (relayed flow directions described
#: too), RTP streams per flow and in all.
MAX_FLOWS = 1 << 18
MAX_STREAMS_PER_FLOW = 256
MAX_STREAMS = 1 << 16
_NTP_EPOCH_OFFSET = 2208988800


class MediaSlot:
    """One announcement of an address for media (Wireshark's RTP "conversation"): the payload
    type map of the call (offer and answer merged), SDES keys, and who announced it. Packets
    to the address use its slot, failing that packets from it. A new SDP makes a new slot.
    """

    __slots__ = ("rtpmap", "cryptos", "call_id", "setup_frame", "source", "encrypted")

    def __init__(
        self,
        rtpmap: dict[int, tuple[str, int]] | None,
        call_id: str | None,
        setup_frame: int,
        source: str,
        cryptos: list[SrtpContext] | None = None,
        encrypted: bool = False,
    ) -> None:
        self.rtpmap = rtpmap
        self.cryptos = cryptos or []
        self.call_id = call_id
        self.setup_frame = setup_frame
        self.source = source
        self.encrypted = encrypted


FlowKey = tuple[bytes, int, bytes, int]

#: What a flow without streams or keys points at (most maybe-RTP flows are never RTP, and
#: up to 2^18 of them are followed: three empty containers each were 180 bytes a flow).
#: Read-only, so a write that forgot to make the flow its own container fails loudly.
_NO_STREAMS = cast("dict[int, StreamStats]", MappingProxyType({}))
_NO_CHOICE = cast("dict[int, SrtpContext]", MappingProxyType({}))
_NO_KEYS: tuple[SrtpContext, ...] = ()


class _Flow:
    """One UDP 5-tuple direction carrying (or maybe carrying) RTP."""

    __slots__ = ("state", "slot", "key_slot", "stale", "streams", "pending", "seen",
                 "rtcp_packets", "keys", "chosen", "last", "runs", "held")  # fmt: skip

    def __init__(self) -> None:
        self.state = _CANDIDATE
        self.slot: MediaSlot | None = None
        self.key_slot: MediaSlot | None = None
        #: Signalling changed for one of its addresses: look its slot and keys up again.
        self.stale = True
        self.streams: dict[int, StreamStats] = _NO_STREAMS
        #: While undecided: the packets held to count if it turns out to be RTP, and per SSRC
        #: (its 4 header bytes) the last sequence number and the length of its run.
        self.pending: list[tuple[int, float, bytes]] | None = []
        self.runs: dict[bytes, tuple[int, int]] | None = {}
        self.held = 0
        self.seen = 0
        self.rtcp_packets = 0
        self.keys: Sequence[SrtpContext] = _NO_KEYS
        self.chosen: dict[int, SrtpContext] = _NO_CHOICE
        #: The stream of the previous packet (flows rarely change SSRC).
        self.last: StreamStats | None = None


#: Stands for every flow past MAX_FLOWS: never RTP, never stored.
_IGNORED = _Flow()
_IGNORED.state = _REJECTED
_IGNORED.pending = None
_IGNORED.runs = None


class RtpTracker:
    """Sorts RTP/RTCP datagrams into streams and keeps their statistics.

    A flow is RTP at once when SDP (``announce``) or TURN/ICE (``expected``) named one of its
    addresses; otherwise it must show :data:`HEURISTIC_RUN` packets of one SSRC with
    increasing sequence numbers first (those packets are then counted too).
    """

    def __init__(self, defects: DefectLog, user_keys: list[tuple[bytes, bytes]] | None = None):
        self.defects = defects
        self.streams: list[StreamStats] = []
        #: The time-series buckets all streams of the run hold (media/series.py).
        self.series_budget = SeriesBudget()
        self.rtcp_packets = 0
        self.rtcp_types: dict[str, int] = {}
        self.ms_extensions: dict[str, int] = {}
        self.user_keys = list(user_keys or [])
        self._flows: dict[tuple[bytes, int, bytes, int], _Flow] = {}
        self._slots: dict[tuple[bytes, int], MediaSlot] = {}
        self._expected: dict[tuple[bytes, int], str] = {}
        #: Flows by each of their two endpoints, to mark them stale when one is announced.
        #: (A lone flow's key is stored as it is, a list only from the second: most endpoints
        #: of maybe-RTP flows have one flow, and a list each cost 90 bytes a flow.)
        self._endpoint_flows: dict[tuple[bytes, int], FlowKey | list[FlowKey]] = {}
        self._by_ssrc: dict[int, list[StreamStats]] = {}
        self._call_rtpmaps: dict[str, dict[int, tuple[str, int]]] = {}
        #: Every media address each call's SDP announced: a flow takes the slot of the call
        #: that announced both its ends (many calls through one relay share its address).
        self._call_endpoints: dict[str, set[tuple[bytes, int]]] = {}
        self._flows_full = False
        self._streams_full = False
        #: Bytes held by undecided flows (HEURISTIC_HOLD_BYTES bounds it).
        self._held_bytes = 0
        #: Flow key -> how TURN carried it (media/relay.py): given to the flow's streams.
        self._relays: dict[tuple[bytes, int, bytes, int], RelayPath] = {}
        #: Called with a flow's key when news about one of its addresses may change how its
        #: packets are counted (MediaPipeline then takes it back from the fast path).
        self.forget_flow: Callable[[tuple[bytes, int, bytes, int]], None] | None = None

    # -- what signalling tells us ------------------------------------------------------------
    def announce(
        self,
        ip: bytes,
        port: int,
        frame: int,
        *,
        rtpmap: dict[int, tuple[str, int]] | None = None,
        call_id: str | None = None,
        source: str = "sdp",
        cryptos: list[SrtpContext] | None = None,
        encrypted: bool = False,
    ) -> None:
        """Media flows to and from ``ip:port`` from now on (a new slot, fresh timestamps)."""
        if call_id is not None:
            self._call_endpoints.setdefault(call_id, set()).add((ip, port))
            if rtpmap is not None:
                shared = self._call_rtpmaps.setdefault(call_id, {})
                shared.update(rtpmap)
                rtpmap = shared
        self._slots[(ip, port)] = MediaSlot(rtpmap, call_id, frame, source, cryptos, encrypted)
        self._touch(ip, port)

    def _touch(self, ip: bytes, port: int) -> None:
        """Only flows with this endpoint are affected by news about it."""
        flows = self._flows
        forget = self.forget_flow
        found = self._endpoint_flows.get((ip, port))
        if found is None:
            return
        for key in found if isinstance(found, list) else (found,):
            flows[key].stale = True
            if forget is not None:
                forget(key)

    def expect(self, ip: bytes, port: int, source: str) -> None:
        """TURN/ICE learned that media flows at ``ip:port`` (no SDP details)."""
        if (ip, port) not in self._expected:
            self._expected[(ip, port)] = source
            self._touch(ip, port)

    def sip_message(self, msg: SipMessage, body: bytes | None = None) -> None:
        """Learn media addresses, payload types and SDES keys from a SIP message's SDP
        (``body``: ``msg.body`` when the caller has read it already)."""
        frame = msg.frame or 0
        for sdp in sdp_bodies(msg, body):
            try:
                sd = (_parse_sdp or _sdp_parser())(sdp)
            except MalformedError as exc:
                self.defects.add(frame, exc.layer, exc.offset, exc.reason)
                continue
            for m in sd.media:
                conn = sd.media_connection(m)
                packed = conn.packed if conn is not None else None
                proto = m.proto.upper()
                if m.port == 0 or packed is None or "RTP" not in proto:
                    continue
                cryptos = m.cryptos()
                keys = _srtp_contexts(cryptos) if cryptos else []
                encrypted = "SAVP" in proto
                rtpmap = m.rtpmap()
                for port in dict.fromkeys((m.port, m.rtcp_port)):
                    self.announce(
                        packed, port, frame, rtpmap=rtpmap, call_id=msg.call_id,
                        cryptos=keys, encrypted=encrypted,
                    )  # fmt: skip

    def relay_path(self, key: tuple[bytes, int, bytes, int]) -> RelayPath | None:
        """How TURN carried the flow ``key`` so far (None: never seen relayed)."""
        return self._relays.get(key)

    def set_relay_path(self, key: tuple[bytes, int, bytes, int], path: RelayPath) -> None:
        """The flow ``key`` reached us through TURN (StunPipeline says so before it hands the
        packet on): its streams, present and future, say how."""
        if key not in self._relays and len(self._relays) >= MAX_FLOWS:
            return
        self._relays[key] = path
        flow = self._flows.get(key)
        if flow is not None:
            for stream in flow.streams.values():
                stream.relay = path

    # -- the per-packet path -----------------------------------------------------------------
    def datagram(
        self, frame: int, ts: float, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes
    ) -> StreamStats | None:
        """One UDP payload whose first byte says RTP/RTCP version 2.

        Returns the stream when the packet was plain RTP of a settled flow, unencrypted or
        authentic SRTP (what the compiled fast path may take over), else None.
        """
        key = (src, sport, dst, dport)
        flow = self._flows.get(key)
        if flow is None or flow.stale:
            flow = self._resolve(key, flow)
        n = len(payload)
        if n >= 2 and 192 <= payload[1] <= 223:
            self._rtcp(flow, frame, ts, payload)
            return None
        state = flow.state
        if state == _RTP and n >= 12:
            # The common case, inline: header fields, stream lookup, statistics.
            _b0, b1, seq, rts, ssrc = _RTP_HEADER(payload, 0)
            stream = flow.last
            if stream is None or stream.ssrc != ssrc:
                stream = flow.streams.get(ssrc)
                if stream is None:
                    stream = self._new_stream(flow, key, ssrc, frame)
                    if stream is None:
                        return None
                flow.last = stream
            if flow.keys:
                clear = self._unprotect(flow, stream, ssrc, payload)
                stream.packet(frame, ts, seq, rts, b1 & 0x7F, b1 & 0x80, n, clear)
                return stream if clear is not None else None
            stream.packet(frame, ts, seq, rts, b1 & 0x7F, b1 & 0x80, n, payload)
            return stream
        if state == _REJECTED:
            return None
        if n < 12:
            if state == _RTP:
                self.defects.add(frame, "rtp", n, f"RTP packet of {n} bytes, header needs 12")
            return None
        self._candidate(flow, key, frame, ts, payload)
        return None

    def _account(
        self,
        flow: _Flow,
        key: tuple[bytes, int, bytes, int],
        frame: int,
        ts: float,
        payload: bytes,
    ) -> None:
        b0, b1, seq, rts, ssrc = _RTP_HEADER(payload, 0)
        stream = flow.streams.get(ssrc)
        if stream is None:
            stream = self._new_stream(flow, key, ssrc, frame)
            if stream is None:
                return
        clear: bytes | None = payload
        if flow.keys:
            clear = self._unprotect(flow, stream, ssrc, payload)
        stream.packet(frame, ts, seq, rts, b1 & 0x7F, b1 & 0x80, len(payload), clear)

    # -- flows ------------------------------------------------------------------------------
    def _resolve(self, key: tuple[bytes, int, bytes, int], flow: _Flow | None) -> _Flow:
        src, sport, dst, dport = key
        slot = self._pick_slot(src, sport, dst, dport)
        if flow is None:
            if len(self._flows) >= MAX_FLOWS and slot is None:
                if not self._flows_full:
                    self._flows_full = True
                    reason = f"more than {MAX_FLOWS} RTP-like UDP flows: new ones not followed"
                    self.defects.add(None, "rtp", None, reason)
                return _IGNORED
            flow = self._flows[key] = _Flow()
            self._index_endpoint((src, sport), key)
            if (dst, dport) != (src, sport):
                self._index_endpoint((dst, dport), key)
        flow.stale = False
        if slot is None and flow.state != _RTP:
            origin = self._expected.get((dst, dport)) or self._expected.get((src, sport))
            if origin is not None:
                slot = MediaSlot(None, None, 0, origin)
        if slot is not None and slot is not flow.slot:
            flow.slot = slot
            if flow.state != _RTP:
                # Like Wireshark, packets before the announcement are not counted.
                flow.state = _RTP
                self._release(flow)
            for stream in flow.streams.values():
                stream.set_rtpmap(slot.rtpmap)
                self._label(stream, slot)
        key_slot = self._slots.get((src, sport))
        if key_slot is not flow.key_slot or not flow.keys:
            flow.key_slot = key_slot
            keys = list(key_slot.cryptos) if key_slot is not None else []
            if self.user_keys:
                from .srtp import SrtpContext

                keys.extend(SrtpContext(k, s) for k, s in self.user_keys)
            flow.keys = keys or _NO_KEYS
            flow.chosen = {} if keys else _NO_CHOICE
        return flow

    def _index_endpoint(self, endpoint: tuple[bytes, int], key: FlowKey) -> None:
        index = self._endpoint_flows
        found = index.get(endpoint)
        if found is None:
            index[endpoint] = key
        elif isinstance(found, list):
            found.append(key)
        else:
            index[endpoint] = [found, key]

    def _pick_slot(self, src: bytes, sport: int, dst: bytes, dport: int) -> MediaSlot | None:
        """The announcement a flow follows: the destination's, else the source's; but when
        they come from different calls, the one whose call announced both ends."""
        to_slot = self._slots.get((dst, dport))
        from_slot = self._slots.get((src, sport))
        if to_slot is None or from_slot is None or to_slot.call_id == from_slot.call_id:
            return to_slot or from_slot
        to_call = self._call_endpoints.get(to_slot.call_id or "", ())
        if (src, sport) in to_call:
            return to_slot
        from_call = self._call_endpoints.get(from_slot.call_id or "", ())
        return from_slot if (dst, dport) in from_call else to_slot

    def _label(self, stream: StreamStats, slot: MediaSlot) -> None:
        """What the announcement tells about a stream; the first call to name it keeps it
        (a later SDP naming the same address, e.g. the next call through a relay, does not
        relabel it: analysis/calls.py settles which call owns each stream)."""
        if stream.call_id is None and slot.call_id is not None:
            stream.call_id = slot.call_id
        if slot.source != "heuristic":
            stream.signalled = True
        if stream.setup_frame is None and slot.setup_frame:
            stream.setup_frame = slot.setup_frame
        if slot.encrypted:
            stream.encrypted = True

    def _new_stream(
        self, flow: _Flow, key: tuple[bytes, int, bytes, int], ssrc: int, frame: int
    ) -> StreamStats | None:
        if len(flow.streams) >= MAX_STREAMS_PER_FLOW or len(self.streams) >= MAX_STREAMS:
            if not self._streams_full:
                self._streams_full = True
                self.defects.add(frame, "rtp", 8, "too many SSRCs: further RTP streams "
                                 f"(over {MAX_STREAMS_PER_FLOW} per flow, {MAX_STREAMS} in all) "
                                 "are not followed")  # fmt: skip
            return None
        slot = flow.slot
        stream = StreamStats(ssrc, key[0], key[1], key[2], key[3], slot.rtpmap if slot else None)
        stream.series.budget = self.series_budget
        stream.relay = self._relays.get(key)
        if slot is not None:
            self._label(stream, slot)
        if flow.streams is _NO_STREAMS:
            flow.streams = {}
        flow.streams[ssrc] = stream
        self.streams.append(stream)
        self._by_ssrc.setdefault(ssrc, []).append(stream)
        return stream

    def _candidate(
        self,
        flow: _Flow,
        key: tuple[bytes, int, bytes, int],
        frame: int,
        ts: float,
        payload: bytes,
    ) -> None:
        """Unannounced flow: wait for a run of packets that can only be RTP.

        Runs are counted per SSRC, so interleaved streams (bundled audio and video on one
        address pair, as WebRTC and Teams send them) are found as Wireshark's heuristic finds
        them; once one SSRC has shown a run, every held packet of the flow is counted.
        """
        flow.seen += 1
        pending = flow.pending
        runs = flow.runs
        assert pending is not None and runs is not None
        ssrc = payload[8:12]
        seq = (payload[2] << 8) | payload[3]
        previous = runs.get(ssrc)
        run = 1
        if previous is not None and 0 < ((seq - previous[0]) & 0xFFFF) <= 16:
            run = previous[1] + 1
        if previous is None and len(runs) >= HEURISTIC_SSRCS:
            runs.clear()
        runs[ssrc] = (seq, run)
        size = len(payload)
        if self._held_bytes + size <= HEURISTIC_HOLD_BYTES:
            pending.append((frame, ts, payload))
            self._held_bytes += size
            flow.held += size
            if len(pending) > HEURISTIC_HOLD:
                dropped = len(pending.pop(0)[2])
                self._held_bytes -= dropped
                flow.held -= dropped
        if run >= HEURISTIC_RUN:
            flow.state = _RTP
            flow.slot = MediaSlot(None, None, 0, "heuristic")
            self._release(flow)
            for f, t, p in pending:
                self._account(flow, key, f, t, p)
        elif flow.seen >= HEURISTIC_GIVE_UP:
            flow.state = _REJECTED
            self._release(flow)

    def _release(self, flow: _Flow) -> None:
        """The flow is decided: it holds nothing any more."""
        self._held_bytes -= flow.held
        flow.held = 0
        flow.pending = None
        flow.runs = None

    # -- SRTP -------------------------------------------------------------------------------
    def srtp_for(self, stream: StreamStats) -> tuple[bool, tuple[object, bytes, int, int] | None]:
        """For the fast path: whether ``stream`` can be handed over, and the (rollover state,
        authentication key, tag length, MKI length) of the key that authenticated its packets
        (None for a flow without keys)."""
        flow = self._flows.get((stream.src, stream.sport, stream.dst, stream.dport))
        if flow is None or not flow.keys:
            return True, None
        ctx = flow.chosen.get(stream.ssrc)
        key = ctx.fast_path_key(stream.ssrc) if ctx is not None else None
        return key is not None, key

    def _unprotect(
        self, flow: _Flow, stream: StreamStats, ssrc: int, packet: bytes
    ) -> bytes | None:
        hlen = rtp_header_length(packet)
        if hlen < 0:
            stream.srtp_auth_failures += 1
            return None
        chosen = flow.chosen.get(ssrc)
        candidates = [chosen] if chosen is not None else flow.keys
        # Only telephone events are read past the header: decrypt those alone.
        decrypt = is_telephone_event(packet[1] & 0x7F, stream._rtpmap)
        for ctx in candidates:
            clear = ctx.unprotect(packet, hlen, decrypt)
            if clear is not None:
                flow.chosen[ssrc] = ctx
                stream.srtp_decrypted += 1
                stream.encrypted = True
                return clear
        stream.srtp_auth_failures += 1
        return None

    # -- RTCP -------------------------------------------------------------------------------
    def _rtcp(self, flow: _Flow, frame: int, ts: float, payload: bytes) -> None:
        # The RTCP parser (ten packet types) loads with the first RTCP packet, not every run.
        from .rtcp import Goodbye, ReceiverReport, SenderReport, parse_rtcp, srtcp_kind

        self.rtcp_packets += 1
        flow.rtcp_packets += 1
        data: bytes | None = None
        for ctx in flow.keys:
            data = ctx.unprotect_rtcp(payload)
            if data is not None:
                break
        slot = flow.slot
        # SRTCP (media/rtcp.py): counted as such; without its key never read as report blocks.
        srtp = bool(flow.keys) or (slot is not None and slot.encrypted)
        srtcp = srtcp_kind(
            payload, data, srtp=srtp or any(st.encrypted for st in flow.streams.values())
        )
        if srtcp is not None:
            self.rtcp_types[srtcp] = self.rtcp_types.get(srtcp, 0) + 1
            if data is None:
                return
        # Random UDP may look like RTCP: only announced flows report malformed RTCP.
        quiet = bool(flow.keys) or slot is None or slot.encrypted or slot.source == "heuristic"
        try:
            packets = parse_rtcp(data if data is not None else payload)
        except MalformedError as exc:
            if not quiet:  # SRTCP we cannot open is not a defect of the input
                self.defects.add(frame, exc.layer, exc.offset, exc.reason)
            return
        types = self.rtcp_types
        for p in packets:
            name = type(p).__name__
            types[name] = types.get(name, 0) + 1
            if isinstance(p, (SenderReport, ReceiverReport)):
                for ext in p.extensions:
                    self.ms_extensions[ext.name] = self.ms_extensions.get(ext.name, 0) + 1
                arrival = _ntp_middle(ts)
                for block in p.reports:
                    for stream in self._by_ssrc.get(block.ssrc, ()):
                        stream.rtcp_report(block.fraction_lost, block.cumulative_lost, block.jitter)
                        if block.lsr:
                            rtt = ((arrival - block.lsr - block.dlsr) & 0xFFFFFFFF) / 65.536
                            if rtt < 60000:
                                stream.rtcp_rtt_ms = rtt
            elif isinstance(p, Goodbye):
                for ssrc in p.ssrcs:
                    for stream in self._by_ssrc.get(ssrc, ()):
                        stream.bye = True

    def finish(self) -> None:
        """End of capture: packets held by an undecided flow are simply not RTP."""
        for flow in self._flows.values():
            if flow.pending is not None:
                self._release(flow)


#: sdp.parse_sdp once the first SDP body loaded the SDP parser (a function-level import
#: statement per body cost a package lookup each time).
_parse_sdp: Callable[[bytes], SessionDescription] | None = None


def _sdp_parser() -> Callable[[bytes], SessionDescription]:
    global _parse_sdp
    from ..sdp import parse_sdp  # the SDP parser loads with the first SDP body

    _parse_sdp = parse_sdp
    return parse_sdp


def _srtp_contexts(cryptos: list[Any]) -> list[SrtpContext]:
    """SRTP contexts for the ``a=crypto`` lines of a suite we support (SRTP code loads here,
    on the first SDP that has keys)."""
    from .srtp import SUITES, SrtpContext

    return [
        SrtpContext(c.key, c.salt, c.suite, c.mki_length)
        for c in cryptos
        if c.suite in SUITES and c.key  # no key: redacted (--redact)
    ]


def _ntp_middle(ts: float) -> int:
    """Middle 32 bits of the NTP form of a capture time (16.16 fixed point seconds)."""
    return int((ts + _NTP_EPOCH_OFFSET) * 65536) & 0xFFFFFFFF


#: What a media type loses when read (blanks, control characters, non-ASCII bytes: anything
#: but a digit or a lower-case letter once the block is lower-cased) may stand between the
#: letters of "sdp" or "multipart" in a part header block that means them: with those bytes
#: deleted, the words are contiguous (a translate and two searches instead of a regular
#: expression that tried at every s and m of a presence body's part headers).
_BETWEEN_LETTERS = bytes(c for c in range(256) if not (48 <= c <= 57 or 97 <= c <= 122))


def _may_matter(head: bytes) -> bool:
    """Whether a part header block may say application/sdp or multipart/... (only such parts
    are parsed)."""
    letters = head.lower().translate(None, _BETWEEN_LETTERS)
    return b"sdp" in letters or b"multipart" in letters


def part_head_matters_py(body: bytes, start: int, end: int) -> bool:
    """Whether the part ``body[start:end]`` has a header block that may name application/sdp
    or a nested multipart: the reference for the compiled ``part_head_matters``."""
    head_end = part_bounds(body, start, end)[0]
    return head_end > start and _may_matter(body[start:head_end])


#: The compiled ``part_head_matters`` (no slice, no copies of the header block), or None.
_head_matters: Any = helper("part_head_matters")


def sdp_bodies(msg: SipMessage, body: bytes | None = None) -> list[bytes]:
    """The SDP parts of a SIP body: the body itself, or the application/sdp parts of a
    multipart body (Lync sends multipart/alternative with two SDP versions). ``body`` is
    ``msg.body`` when the caller has read it already (each read is a copy)."""
    ctype = msg.content_type
    if ctype is None:
        return []
    if ctype != "application/sdp" and not ctype.startswith("multipart/"):
        return []
    if body is None:
        body = msg.body
    if not body:
        return []
    if ctype == "application/sdp":
        return [body]
    out: list[bytes] = []
    # Only the parts whose header block could name application/sdp or a nested multipart are
    # parsed (presence bodies are multipart/related and many: reading every part's headers
    # was half of the media layer's cost on a Front End's SIP). The spans note the body's
    # structural problems as body_parts() would.
    # The others stay in the list as None: they count towards the 64 parts looked at.
    parts: list[BodyPart | None] = []
    matters = _head_matters if _head_matters is not None else part_head_matters_py
    for a, b in msg.part_spans(body):
        if matters(body, a, b):
            parts.append(parse_body_part(body[a:b]))
        else:
            parts.append(None)
    depth = 0
    while parts and depth < 64:
        part = parts.pop(0)
        depth += 1
        if part is None:
            continue
        if part.content_type == "application/sdp":
            out.append(part.body)
        elif part.content_type and part.content_type.startswith("multipart/"):
            parts.extend(part.body_parts())
    return out
