"""RTP streams as people and programs read them: quality lines, JSON records, a CSV table.

The quality line carries the columns of Wireshark's RTP Streams window (packets, lost, delta
and jitter min/mean/max, problems) plus what Lync engineers ask next: MOS estimate, RTCP
reports, SRTP state, DTMF digits. Streams go under the session whose SDP announced their
addresses; the rest under "media without signalling".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

from ..media import relay as r
from ..media.stats import StreamStats

# csv and the JSON writer (for SCHEMA_VERSION) load with the first stream written as a row or
# record: --summary and the ladder print stream lines only.

#: Columns of ``--streams-csv``: JSON field names, in this order; ``relay_*`` are the fields of
#: the JSON ``relay`` object, flattened (empty for a stream that was not relayed).
CSV_FIELDS = (
    "call_id", "ssrc", "src", "dst", "payload", "first_time", "last_time", "duration",
    "packets", "expected", "lost", "lost_percent", "sequence_errors", "duplicates",
    "out_of_order", "wrong_timestamps", "min_delta_ms", "mean_delta_ms", "max_delta_ms",
    "max_delta_frame", "min_jitter_ms", "mean_jitter_ms", "max_jitter_ms", "clock_rate", "bytes",
    "bitrate_kbps", "markers", "problem", "mos", "signalled", "encrypted", "srtp_decrypted",
    "srtp_auth_failures", "rtcp_reports", "rtcp_fraction_lost", "rtcp_cumulative_lost",
    "rtcp_jitter_ms", "rtcp_rtt_ms", "dtmf", "relay_via", "relay_transport", "relay_outer_src",
    "relay_outer_dst", "relay_server", "relay_relayed", "relay_allocation", "relay_channel",
)  # fmt: skip

#: How each TURN mechanism (media/relay.py) reads in the stream line.
VIA_TEXT = {
    r.CHANNEL_DATA: "ChannelData",
    r.SEND_INDICATION: "Send indication",
    r.DATA_INDICATION: "Data indication",
    r.ACTIVE_DESTINATION: "raw after Set Active Destination",
    r.MULTIPLEXED: "0xFF10 multiplexed",
}


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def dtmf_text(st: StreamStats) -> str:
    """The keys pressed (RFC 4733 events 0-15), in order: ``"12#"``."""
    if not st.dtmf_events:
        return ""
    from ..media.rtp import DTMF_DIGITS  # the RTP packet types load only for a DTMF stream

    return "".join(DTMF_DIGITS[e[0]] if e[0] < 16 else "?" for e in st.dtmf_events)


def stream_to_dict(st: StreamStats) -> dict[str, Any]:
    """A stream as JSON (``record: "stream"``); -1 minimums mean "no value" as in Wireshark."""
    from .json import SCHEMA_VERSION

    return {
        "record": "stream",
        "schema": SCHEMA_VERSION,
        "call_id": st.call_id,
        "join": st.join_rule,
        "candidate_calls": list(st.candidate_calls),
        "ssrc": st.ssrc,
        "ssrc_hex": f"0x{st.ssrc:08X}",
        "src": str(st.source),
        "dst": str(st.destination),
        "payload": st.payload,
        "payload_types": sorted(st.payload_types),
        "first_frame": st.first_frame,
        "last_frame": st.last_frame,
        "first_time": st.first_time,
        "last_time": st.last_time,
        "duration": round(st.duration, 6),
        "packets": st.packets,
        "expected": st.expected,
        "lost": st.lost,
        "lost_percent": round(st.lost_percent, 3),
        "sequence_errors": st.sequence_errors,
        "duplicates": st.duplicates,
        "out_of_order": st.out_of_order,
        "wrong_timestamps": st.wrong_timestamps,
        "min_delta_ms": _r(st.min_delta),
        "mean_delta_ms": _r(st.mean_delta),
        "max_delta_ms": _r(st.max_delta),
        "max_delta_frame": st.max_delta_frame or None,
        "min_jitter_ms": _r(st.min_jitter),
        "mean_jitter_ms": _r(st.mean_jitter),
        "max_jitter_ms": _r(st.max_jitter),
        "clock_rate": st.clock_rate or None,
        "bytes": st.bytes,
        "bitrate_kbps": _r(st.bitrate_kbps, 1),
        "markers": st.markers,
        "problem": st.problem,
        "mos": st.mos,
        "signalled": st.signalled,
        "encrypted": st.encrypted,
        "srtp_decrypted": st.srtp_decrypted,
        "srtp_auth_failures": st.srtp_auth_failures,
        "rtcp_reports": st.rtcp_reports,
        "rtcp_fraction_lost": _r(st.rtcp_fraction_lost, 4),
        "rtcp_cumulative_lost": st.rtcp_cumulative_lost,
        "rtcp_jitter_ms": _r(st.rtcp_jitter_ms),
        "rtcp_rtt_ms": _r(st.rtcp_rtt_ms),
        "bye": st.bye,
        "dtmf": dtmf_text(st),
        "dtmf_events": [
            {"event": e, "time": t, "duration": d, "end": bool(end)}
            for e, t, d, end in st.dtmf_events
        ],
        "series": series_to_dict(st),
        "relay": relay_to_dict(st.relay) if st.relay is not None else None,
    }


def relay_to_dict(path: r.RelayPath) -> dict[str, Any]:
    """The ``relay`` object of a stream record: how TURN carried it (docs/json.md)."""
    return {
        "via": list(path.via),
        "transport": path.transport,
        "outer_src": str(path.outer_src),
        "outer_dst": str(path.outer_dst),
        "server": str(path.server) if path.server is not None else None,
        "relayed": str(path.relayed) if path.relayed is not None else None,
        "allocation": path.allocation,
        "channel": f"0x{path.channel:04x}" if path.channel is not None else None,
    }


def relay_text(path: r.RelayPath) -> str:
    """The stream line's phrase: ``relayed by TURN 198.51.100.20:3478 (#2, relayed
    198.51.100.20:49170) on UDP 10.0.1.20:50030 → 198.51.100.20:3478, ChannelData 0x4001``."""
    server = f"TURN {path.server}" if path.server is not None else "TURN (server not seen)"
    known = [f"#{path.allocation}"] if path.allocation is not None else []
    if path.relayed is not None:
        known.append(f"relayed {path.relayed}")
    if known:
        server += f" ({', '.join(known)})"
    how = []
    for via in path.via:
        text = VIA_TEXT.get(via, via)
        if via == r.ACTIVE_DESTINATION and path.transport == "TCP":
            text = "data frames after Set Active Destination"  # MS-TURN TCP type 0x03
        elif via == r.CHANNEL_DATA and path.channel is not None:
            text += f" 0x{path.channel:04X}"
        how.append(text)
    outer = f"{path.transport} {path.outer_src} → {path.outer_dst}"
    return f"relayed by {server} on {outer}, {' + '.join(how)}"


#: The columns of a stream's ``series.buckets`` rows (media/series.py).
SERIES_COLUMNS = ("start", "packets", "lost", "max_jitter_ms", "mean_jitter_ms", "max_delta_ms")


def series_to_dict(st: StreamStats) -> dict[str, Any]:
    """The stream's time series: the interval (seconds), the column names, one row a bucket."""
    return {
        "interval": st.series_interval,
        "columns": list(SERIES_COLUMNS),
        "buckets": [list(row) for row in st.time_series()],
    }


def stream_line(st: StreamStats) -> str:
    """One quality line: ``src → dst  SSRC  payload  pkts lost delta jitter ...``."""
    jitter = (
        f"jitter {st.min_jitter:.3f}/{st.mean_jitter:.3f}/{st.max_jitter:.3f} ms"
        if st.has_jitter
        else "jitter -"
    )
    delta = (
        f"delta {st.min_delta:.3f}/{st.mean_delta:.3f}/{st.max_delta:.3f} ms"
        if st.min_delta != -1.0
        else "delta -"
    )
    line = (
        f"{st.source} → {st.destination}  0x{st.ssrc:08X}  {st.payload}  "
        f"{st.packets} pkts  lost {st.lost} ({st.lost_percent:.1f}%)  {delta}  {jitter}"
    )
    extras = []
    if st.mos is not None:
        extras.append(f"MOS {st.mos:.2f}")
    if st.problem:
        problems = []
        if st.sequence_errors:
            problems.append(f"{st.sequence_errors} sequence errors")
        if st.wrong_timestamps:
            problems.append(f"{st.wrong_timestamps} wrong timestamps")
        extras.append("problems: " + ", ".join(problems))
    if st.srtp_decrypted or st.srtp_auth_failures:
        extras.append(f"SRTP {st.srtp_decrypted} ok, {st.srtp_auth_failures} auth failures")
    elif st.encrypted:  # no key tried on it (a key that never fits counts auth failures)
        extras.append("SRTP, no key (--srtp-key opens it)")
    if st.rtcp_reports:
        rtcp = f"RTCP {st.rtcp_reports} reports"
        if st.rtcp_fraction_lost is not None:
            rtcp += f", loss {st.rtcp_fraction_lost * 100:.1f}%"
        if st.rtcp_jitter_ms is not None:
            rtcp += f", jitter {st.rtcp_jitter_ms:.1f} ms"
        if st.rtcp_rtt_ms is not None:
            rtcp += f", RTT {st.rtcp_rtt_ms:.1f} ms"
        extras.append(rtcp)
    digits = dtmf_text(st)
    if digits:
        extras.append(f"DTMF {digits}")
    if st.relay is not None:
        extras.append(relay_text(st.relay))
    if extras:
        line += "  · " + "; ".join(extras)
    return line


def session_stream_lines(call_id: str | None, streams: Iterable[StreamStats]) -> Iterator[str]:
    """Lines for the streams one session's call owns (a stream shared by B2BUA legs is under
    each leg); nothing when there are none."""
    mine = [st for st in streams if call_id is not None and _owned_by(st, call_id)]
    if mine:
        yield "  media:"
        for st in mine:
            yield "    " + stream_line(st)


def _owned_by(st: StreamStats, call_id: str) -> bool:
    return st.call_id == call_id or (st.join_rule == "B2BUA legs" and call_id in st.candidate_calls)


def unsignalled_lines(streams: Iterable[StreamStats]) -> Iterator[str]:
    """The "media without signalling" section (streams no call owns), then the streams that
    match several calls equally (owned by none of them, docs/calls.md)."""
    streams = list(streams)
    rest = [st for st in streams if st.call_id is None and st.join_rule != "ambiguous"]
    if rest:
        yield "media without signalling:"
        for st in rest:
            yield "  " + stream_line(st)
    ambiguous = [st for st in streams if st.join_rule == "ambiguous"]
    if ambiguous:
        yield "media matching several calls (ambiguous):"
        for st in ambiguous:
            yield f"  {stream_line(st)}  · calls {', '.join(st.candidate_calls)}"


def summary_lines(capture: Any) -> Iterator[str]:
    """``--summary`` lines: streams (with and without signalling), RTCP packets by type."""
    tracker = capture.media.rtp if getattr(capture, "media", None) is not None else None
    streams = capture.streams()
    if streams:
        signalled = sum(1 for st in streams if st.call_id is not None or st.candidate_calls)
        packets = sum(st.packets for st in streams)
        yield f"  RTP streams {len(streams)} ({signalled} with signalling), {packets} RTP packets"
    if tracker is not None and tracker.rtcp_packets:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(tracker.rtcp_types.items()))
        line = f"  RTCP datagrams {tracker.rtcp_packets}" + (f" ({kinds})" if kinds else "")
        if tracker.ms_extensions:
            ms = ", ".join(f"{k} {v}" for k, v in sorted(tracker.ms_extensions.items()))
            line += f"; MS-RTP extensions: {ms}"
        yield line


def write_csv(out: IO[str], streams: Iterable[StreamStats]) -> None:
    """The stream table for spreadsheets: one header row, one row per stream."""
    import csv

    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for st in streams:
        row = stream_to_dict(st)
        row["ssrc"] = f"0x{st.ssrc:08X}"
        relay = row.pop("relay")
        if relay is not None:  # flat, for spreadsheets: relay_<field>, mechanisms joined by "+"
            relay["via"] = "+".join(relay["via"])
            row.update((f"relay_{k}", v) for k, v in relay.items())
        writer.writerow(row)
