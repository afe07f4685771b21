"""Frames chosen before decoding: ``-c N`` (stop after N frames) and ``-f EXPR`` (a BPF
filter on a capture file, as ``tcpdump -r FILE EXPR`` applies one).

:func:`select_frames` wraps a reader; the pipeline sees a reader like any other. Frame
numbers stay those of the file: a frame the BPF filter rejects is still counted, handed on as
a record the pipeline skips unread (a link type at or above ``NETMON_LINKTYPE_BASE``, the way
Network Monitor's own records are skipped), so ``#N`` on a ladder line and ``-w`` still name
the frame Wireshark shows as N. ``-c`` counts the frames that pass the filter, as tcpdump does.

The filter is compiled by libpcap (through scapy's binding, as ``lyncdump live --bpf`` is)
once per link type, and run by libpcap's own ``bpf_filter`` on each frame, so its language is
exactly tcpdump's (pcap-filter(7)). Without libpcap, :class:`BpfUnavailable` says what to
install. The compiled fast path takes RTP frame by frame from a wrapped reader, so results
stay those of an unfiltered run over the same frames.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import CaptureError
from .netmon import NETMON_LINKTYPE_BASE
from .source import CaptureReader

#: The link type of a frame the filter rejected: counted, never decoded.
SKIPPED_LINKTYPE = NETMON_LINKTYPE_BASE + 0xFFFF

_INSTALL = (
    "BPF filters on files need libpcap (Debian/Ubuntu: apt-get install libpcap0.8; "
    "macOS has it) and scapy (pip install scapy)"
)


class BpfUnavailable(CaptureError):
    """libpcap or scapy is missing: the message says what to install."""


class BpfSyntaxError(CaptureError):
    """libpcap could not compile the expression; the message is libpcap's."""


class _BpfInsn(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


_bpf_filter: Any = None


def _libpcap_filter() -> Any:
    """libpcap's ``bpf_filter(insns, packet, wirelen, buflen)``."""
    global _bpf_filter
    if _bpf_filter is None:
        name = ctypes.util.find_library("pcap") or "libpcap.so.0.8"
        try:
            lib = ctypes.CDLL(name)
            func = lib.bpf_filter
        except (OSError, AttributeError):
            raise BpfUnavailable(f"libpcap not found: {_INSTALL}") from None
        func.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint, ctypes.c_uint]
        func.restype = ctypes.c_uint
        _bpf_filter = func
    return _bpf_filter


class BpfProgram:
    """One expression compiled for one link type; ``matches(frame)`` runs it."""

    __slots__ = ("expression", "linktype", "_program", "_insns", "_run")

    def __init__(self, expression: str, linktype: int) -> None:
        self.expression = expression
        self.linktype = linktype
        try:
            from scapy.arch.common import compile_filter
            from scapy.error import Scapy_Exception
        except ImportError:
            raise BpfUnavailable(f"scapy is not installed: {_INSTALL}") from None
        run = _libpcap_filter()
        try:
            program = compile_filter(expression, linktype=linktype)
        except ImportError:
            raise BpfUnavailable(f"libpcap not found: {_INSTALL}") from None
        except (Scapy_Exception, OSError) as exc:
            text = str(exc)
            detail = text.split("(", 1)[1].rstrip(")") if "(" in text else text
            raise BpfSyntaxError(f"-f {expression!r}: {detail}") from None
        self._program = program  # keeps the instructions alive
        self._insns = ctypes.cast(program.bf_insns, ctypes.c_void_p)
        self._run = run

    def matches(self, frame: bytes) -> bool:
        n = len(frame)
        return bool(self._run(self._insns, frame, n, n))


def check_bpf(expression: str) -> None:
    """Compile once for Ethernet, so a typo is a usage error before any input is read."""
    BpfProgram(expression, 1)


class SelectedReader(CaptureReader):
    """A reader passing on at most ``count`` frames that pass ``bpf`` (see the module doc)."""

    def __init__(self, inner: CaptureReader, count: int | None, bpf: str | None) -> None:
        # No stream of its own: the inner reader has it (CaptureReader.__init__ not called).
        self._inner = inner
        self.name = inner.name
        self.format = inner.format
        self.compressed = inner.compressed
        self.secrets = inner.secrets  # the same list: it grows as the inner reader reads
        self.count = count
        self.bpf = bpf
        self.passed = 0
        self.rejected = 0
        self._programs: dict[int, BpfProgram] = {}
        self._started = False

    def __getattr__(self, name: str) -> Any:  # position, file_position(), linktype ... inside
        return getattr(self._inner, name)

    def _program(self, linktype: int) -> Callable[[bytes], bool]:
        program = self._programs.get(linktype)
        if program is None:
            assert self.bpf is not None
            program = self._programs[linktype] = BpfProgram(self.bpf, linktype)
        return program.matches

    def _frames(self) -> Iterator[tuple[float, int, bytes]]:
        count = self.count
        if count is not None and count <= 0:
            return
        bpf = self.bpf
        for ts, linktype, data in self._inner.frames():
            if bpf is not None and linktype < NETMON_LINKTYPE_BASE:
                if not self._program(linktype)(data):
                    self.rejected += 1
                    yield ts, SKIPPED_LINKTYPE, b""
                    continue
            self.passed += 1
            yield ts, linktype, data
            if count is not None and self.passed >= count:
                return

    def close(self) -> None:
        self._inner.close()


def select_frames(reader: CaptureReader, count: int | None, bpf: str | None) -> CaptureReader:
    """``reader`` itself when nothing is asked, else a :class:`SelectedReader` over it."""
    if count is None and not bpf:
        return reader
    return SelectedReader(reader, count, bpf or None)


__all__ = [
    "BpfProgram",
    "BpfSyntaxError",
    "BpfUnavailable",
    "SKIPPED_LINKTYPE",
    "SelectedReader",
    "check_bpf",
    "select_frames",
]
