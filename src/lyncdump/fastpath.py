"""The optional compiled fast path for the routine packets of a capture, and its pure-Python
stand-in.

``lyncdump._fastpath`` (built from _fastpath.c when a C compiler is there at install time)
accounts routine RTP packets straight from the capture reader's buffer: Ethernet/IPv4/UDP
decode, stream lookup and the statistics update in one pass, with no Python object per packet.
It also reads the TCP directions Python hands it (``FastPath.sip_own``: reassembly, and the
framing of clear SIP) and drops bare ACKs. Everything else, and every packet it is unsure of,
takes the normal Python path, so results are the same with and without it
(tests/media/test_media_fastpath.py and tests/pipeline/test_sip_tcp_fastpath.py compare both).

``RtpCore`` is the base class of :class:`~lyncdump.media.stats.StreamStats`: the numeric
fields the per-packet update touches; ``RelayCore`` that of
:class:`~lyncdump.analysis.ice.PeerTraffic`, for MS-TURN relayed media; ``SrtpCore`` that of an
SRTP sender's rollover state, for SRTP whose key is known (only authentication is needed for
statistics: the fast path checks the HMAC-SHA1 tag and leaves the payload encrypted).
Compiled, they are C fields both paths share; in pure Python they are plain slots. Set
``LYNCDUMP_PURE_PYTHON=1`` to run without the compiled module (to compare, or to rule it out
when something looks wrong).
"""

from __future__ import annotations

import os
from functools import partial
from typing import TYPE_CHECKING, Any

#: The fields of a stream that the per-packet update reads and writes.
CORE_FIELDS = (
    "ssrc", "packets", "bytes", "last_frame", "start_seq", "stop_seq", "last_seq", "cycles",
    "sequence_errors", "duplicates", "out_of_order", "wrong_timestamps", "markers",
    "first_timestamp", "last_timestamp", "max_delta_frame", "_cur_pt", "_cur_clock",
    "_cur_khz", "srtp_decrypted", "last_time", "last_nominal", "time_ms", "jitter",
    "_min_delta", "max_delta", "mean_delta", "_min_jitter", "max_jitter", "mean_jitter",
    "under", "problem", "_cur_cn", "_cur_event",
) + (
    # The open bucket of the stream's time series (media/series.py): the end of its interval
    # (a packet at or past it is Python's), packets, jitter sum/count/max, largest delta.
    "_series_end", "_b_packets", "_b_jitter_sum", "_b_jitter_n", "_b_jitter_max",
    "_b_delta_max",
)  # fmt: skip


#: The counts of media relayed between a TURN allocation and one peer.
RELAY_FIELDS = (
    "packets_to_peer", "bytes_to_peer", "packets_from_peer", "bytes_from_peer", "_fast_rtp",
)  # fmt: skip


#: The rollover state of one SRTP sender under one key (RFC 3711 3.3.1).
SRTP_FIELDS = ("roc", "s_l", "started")


class PyRtpCore:
    """The pure-Python RtpCore: the same fields as slots (StreamStats sets them all).

    The compiled one also has ``packet()``, which accounts routine packets itself and calls
    the subclass's ``_packet()`` for the others; in pure Python ``packet`` is ``_packet``.
    """

    __slots__ = CORE_FIELDS

    if TYPE_CHECKING:

        def packet(
            self,
            frame: int,
            ts: float,
            seq: int,
            rts: int,
            pt: int,
            marker: int,
            size: int,
            payload: bytes | None = None,
        ) -> None: ...


class PyRelayCore:
    """The pure-Python RelayCore: the same fields as slots (PeerTraffic sets them all)."""

    __slots__ = RELAY_FIELDS


class PySrtpCore:
    """The pure-Python SrtpCore: the same fields as slots."""

    __slots__ = SRTP_FIELDS


def restore(cls: Any, state: dict[str, Any]) -> Any:
    """Rebuild an object of a class with a core base from :func:`reduce_fields`' state."""
    obj = cls.__new__(cls)
    for name, value in state.items():
        setattr(obj, name, value)
    return obj


def reduce_fields(obj: object, fields: tuple[str, ...]) -> tuple[Any, ...]:
    """``__reduce__`` for classes on a core base: a C base type has no pickle support of its
    own, so copy and pickle go through the named fields (core fields and slots)."""
    return restore, (type(obj), {name: getattr(obj, name) for name in fields})


#: The user asked for the pure-Python path (``LYNCDUMP_PURE_PYTHON`` set, and not to 0).
PURE_REQUESTED = os.environ.get("LYNCDUMP_PURE_PYTHON", "") not in ("", "0")


def _load() -> Any:
    if PURE_REQUESTED:
        return None
    try:
        from . import _fastpath  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _fastpath


_compiled = _load()


def compiled() -> Any:
    """The compiled module (``lyncdump._fastpath``) in use, or None."""
    return _compiled


def helper(name: str) -> Any:
    """One of the compiled module's helpers that other layers call (``mppc_inflate`` in
    sipcomp/mppc.py; ``sip_head``, ``sip_frame_head``, ``sip_top_branch``, ``sip_addr_base``,
    ``multipart_spans`` in sip/; ``ice_words``, ``part_head_matters`` in media/), or None when
    the module is not in use: the caller's Python code runs then."""
    return getattr(_compiled, name, None)


#: True when the compiled fast path is in use.
AVAILABLE = _compiled is not None

if TYPE_CHECKING:
    RtpCore = PyRtpCore
    RelayCore = PyRelayCore
    SrtpCore = PySrtpCore
else:
    RtpCore = _compiled.RtpCore if _compiled is not None else PyRtpCore
    RelayCore = _compiled.RelayCore if _compiled is not None else PyRelayCore
    SrtpCore = _compiled.SrtpCore if _compiled is not None else PySrtpCore


def attach(reader: object, progress_every: int, advance_every: int = 0) -> tuple[Any, Any]:
    """The FastPath for a run over ``reader``, and the per-frame call the capture loop should
    make, or ``(None, None)`` without the compiled module.

    A pcap or pcapng reader calls the FastPath on its buffer before each record it would yield
    (``progress_every`` frames are left to Python so progress is still reported on them, and
    ``advance_every`` frames so a streaming run moves its sessions' clock on the same frames
    as without the fast path); the
    per-frame call is then None. Any other reader (NetMon, live capture) yields every frame,
    and the loop offers each to ``FastPath.frame`` before decoding it in Python.
    """
    if _compiled is None:
        return None, None
    from .capture.pcap import PcapReader
    from .capture.pcapng import PcapngReader

    fast = _compiled.FastPath(progress_every, advance_every)
    if isinstance(reader, PcapReader):
        reader.skip = partial(fast.scan_pcap, reader.big_endian, reader.nanosecond, reader.linktype)
        return fast, None
    if isinstance(reader, PcapngReader):
        reader.skip = fast.scan_pcapng
        return fast, None
    return fast, fast.frame


def describe() -> str:
    """One line for ``--version`` and benchmarks: which path this run uses."""
    if _compiled is not None:
        return "compiled fast path (lyncdump._fastpath)"
    if PURE_REQUESTED:
        return "pure Python (LYNCDUMP_PURE_PYTHON is set)"
    return "pure Python (lyncdump._fastpath was not built)"


__all__ = [
    "AVAILABLE",
    "CORE_FIELDS",
    "PURE_REQUESTED",
    "RELAY_FIELDS",
    "SRTP_FIELDS",
    "PyRelayCore",
    "PyRtpCore",
    "PySrtpCore",
    "RelayCore",
    "RtpCore",
    "SrtpCore",
    "attach",
    "compiled",
    "describe",
    "reduce_fields",
    "restore",
]
