"""Frames from a live network interface, through scapy's capture sockets (Linux PF_PACKET,
libpcap elsewhere), handed to the same pipeline as a capture file.

:class:`LiveSource` is a :class:`~lyncdump.capture.source.CaptureReader`: ``Capture(source)``
decodes frames as they arrive. A reader thread only moves raw bytes from the socket to a
queue (no scapy dissection per packet); ``frames()`` runs in the caller's thread, writes each
frame to the optional pcapng file, and calls ``tick`` between frames and while idle, so a
caller can print what was decoded so far. It ends after ``duration`` seconds or on
:meth:`LiveSource.stop` (thread- and signal-safe).
"""

from __future__ import annotations

import os
import queue
import select
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from ..errors import CaptureError
from .source import CaptureReader

#: Frames waiting for the decoder; beyond this many the newest are dropped and counted, so a
#: decoder slower than the link cannot exhaust memory.
MAX_QUEUED = 100_000
#: How often (seconds) an idle ``frames()`` wakes to check for stop and call ``tick``.
POLL = 0.2


class LivePermissionError(CaptureError):
    """Capturing needs privileges this process does not have."""


def _open_socket(iface: str, bpf: str | None) -> Any:
    """A scapy capture socket; errors become one clear :class:`CaptureError` line."""
    try:
        import scapy.arch  # noqa: F401 - sets conf.L2socket / L2listen for this platform
        import scapy.layers.l2  # noqa: F401 - link-type numbers of the socket's classes
        from scapy.config import conf
        from scapy.error import Scapy_Exception
    except ImportError as exc:  # pragma: no cover - scapy is a dependency
        raise CaptureError(f"live capture needs scapy: {exc}") from None
    try:
        # On the loopback interface every packet is seen leaving and arriving; the plain
        # socket drops the outgoing copy (as libpcap does), elsewhere both directions count.
        if iface == conf.loopback_name:
            return conf.L2socket(iface=iface, filter=bpf)
        return conf.L2listen(iface=iface, filter=bpf)
    except PermissionError:
        raise LivePermissionError(
            f"{iface}: live capture needs privileges (run as root or give python CAP_NET_RAW)"
        ) from None
    except OSError as exc:
        if exc.errno in (1, 13):  # EPERM, EACCES
            raise LivePermissionError(
                f"{iface}: live capture needs privileges (run as root or give python CAP_NET_RAW)"
            ) from None
        raise CaptureError(f"{iface}: cannot capture: {exc.strerror or exc}") from None
    except (Scapy_Exception, ValueError) as exc:
        raise CaptureError(f"{iface}: cannot capture: {exc}") from None


class LiveSource(CaptureReader):
    """A live interface as a capture reader; see the module docstring.

    ``start()`` opens the interface (raising :class:`LivePermissionError` or
    :class:`CaptureError`); ``frames()`` yields ``(timestamp, linktype, bytes)`` until
    ``duration`` has passed or ``stop()`` is called; ``dropped`` counts frames lost to a full
    queue.
    """

    format = "live"

    def __init__(
        self,
        iface: str,
        bpf: str | None = None,
        write: str | os.PathLike[str] | None = None,
        duration: float | None = None,
    ) -> None:
        # No file behind it: CaptureReader.__init__ (which wants a byte stream) is not called.
        self.name = f"live:{iface}"
        self.compressed = False
        self.secrets: list[tuple[int, bytes]] = []
        self.iface = iface
        self.bpf = bpf
        self.duration = duration
        self.write_path = os.fspath(write) if write is not None else None
        self.linktype = 1
        self.dropped = 0
        self.captured = 0
        #: Called in the decoding thread between frames and at least every POLL seconds.
        self.tick: Callable[[], None] | None = None
        self._queue: queue.Queue[tuple[float, bytes]] = queue.Queue(MAX_QUEUED)
        self._stop = threading.Event()
        self._socket: Any = None
        self._thread: threading.Thread | None = None
        self._writer: Any = None
        self._file: IO[bytes] | None = None
        self._started = False

    def start(self) -> LiveSource:
        """Open the interface and start reading it."""
        from scapy.config import conf

        self._socket = _open_socket(self.iface, self.bpf)
        self.linktype = int(conf.l2types.layer2num.get(self._socket.LL, 1))
        if self.write_path is not None:
            import dpkt

            try:
                self._file = open(self.write_path, "wb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                self._socket.close()
                raise CaptureError(f"{self.write_path}: cannot write: {exc.strerror}") from None
            self._writer = dpkt.pcapng.Writer(self._file, snaplen=65535, linktype=self.linktype)
        self._thread = threading.Thread(target=self._read, name="lyncdump-live", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the capture: ``frames()`` returns once the queued frames are decoded."""
        self._stop.set()

    def _read(self) -> None:
        sock = self._socket
        put = self._queue.put_nowait
        stop = self._stop
        while not stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], POLL)
                if not ready:
                    continue
                _cls, raw, ts = sock.recv_raw(65535)
            except (OSError, ValueError):
                if stop.is_set():
                    return
                stop.set()
                return
            if raw is None:
                continue
            try:
                put((float(ts) if ts is not None else time.time(), raw))
            except queue.Full:
                self.dropped += 1

    def frames(self) -> Iterator[tuple[float, int, bytes]]:
        """Yield frames as they arrive; see the class docstring."""
        if self._started:
            raise CaptureError(f"{self.name}: frames() was already read")
        if self._socket is None:
            self.start()
        self._started = True
        return self._frames()

    def _frames(self) -> Iterator[tuple[float, int, bytes]]:
        deadline = time.monotonic() + self.duration if self.duration is not None else None
        get = self._queue.get
        linktype = self.linktype
        writer = self._writer
        while True:
            tick = self.tick
            if tick is not None:
                tick()
            if self._stop.is_set() and self._queue.empty():
                return
            wait = POLL
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._stop.set()
                    continue
                wait = min(wait, left)
            try:
                ts, raw = get(timeout=wait)
            except queue.Empty:
                continue
            self.captured += 1
            if writer is not None:
                writer.writepkt(raw, ts)
            yield ts, linktype, raw

    def close(self) -> None:
        """Stop reading, release the interface and finish the output file."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * POLL + 1)
            self._thread = None
        if self._socket is not None:
            try:
                self._socket.close()
            except OSError:
                pass
            self._socket = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __repr__(self) -> str:
        return f"<LiveSource {self.iface!r} bpf={self.bpf!r}>"


__all__ = ["LivePermissionError", "LiveSource", "MAX_QUEUED"]
