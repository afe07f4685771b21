"""Where capture bytes come from: a path, ``-`` for stdin, or a binary file object.

This is the only place that touches the operating system. It turns every way input can fail
(missing file, permission, a broken gzip stream, a text-mode file object) into one
:class:`~lyncdump.errors.CaptureError` line, peeks at the first bytes to tell the format (never
the file name), and undoes gzip on the fly so a ``.pcap.gz`` streams like a ``.pcap``.

The format readers (pcap, pcapng, netmon) only see a :class:`ByteStream`: a ``read(n)`` that
returns up to ``n`` bytes, ``b""`` at the end, and raises nothing but ``CaptureError``, and a
``readinto(view)`` that fills memory the reader keeps for the whole run (pcap and pcapng read
through one :class:`ReadBuffer`: no fresh megabyte per chunk for the allocator to hand back to
the system and take again).
"""

from __future__ import annotations

import os
import sys
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import IO, Protocol, cast

from ..errors import CaptureError

#: Bytes asked of the operating system (or of gzip) per read: big reads keep the per-frame
#: path free of I/O calls.
CHUNK = 1 << 20

#: The largest captured length of one frame we accept (libpcap's own maximum snapshot length,
#: 262144 bytes). A record header that claims more is corrupt, and we never allocate for it.
MAX_FRAME = 256 * 1024

#: The size of the buffer a pcap or pcapng reader keeps for the run (:class:`ReadBuffer`): the
#: chunk the readers read before, so their memory is what it was. The unread tail moved to its
#: front is shorter than one pcap record (at most a quarter of the buffer), so each read of a
#: file is at least three quarters of a megabyte.
READ_BUFFER = CHUNK

#: Magic numbers of the formats we read, as they appear on disk.
GZIP_MAGIC = b"\x1f\x8b"
PCAP_MAGICS = (
    b"\xd4\xc3\xb2\xa1",  # µs, little-endian
    b"\xa1\xb2\xc3\xd4",  # µs, big-endian
    b"\x4d\x3c\xb2\xa1",  # ns, little-endian
    b"\xa1\xb2\x3c\x4d",  # ns, big-endian
)
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
NETMON2_MAGIC = b"GMBU"

# Formats we recognise only to say so clearly.
_KNOWN_OTHERS = (
    (b"RTSS", "a Network Monitor 1.x capture, which is not supported (only 2.x)"),
    (b"\xa1\xb2\xcd\x34", "a modified (Kuznetzov) pcap, which is not supported"),
    (b"\x34\xcd\xb2\xa1", "a modified (Kuznetzov) pcap, which is not supported"),
    (b"BZh", "bzip2-compressed: decompress it first"),
    (b"\xfd7zXZ\x00", "xz-compressed: decompress it first"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed: decompress it first"),
    (b"PK\x03\x04", "a zip archive: extract the capture first"),
)


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes | None: ...


class ByteStream:
    """A forward-only byte source whose reads raise nothing but :class:`CaptureError`.

    ``name`` is what error messages call the input. ``raw`` is the underlying file object when
    random access on it is possible (an uncompressed, seekable file), else ``None``; ``start``
    is the offset in ``raw`` where the capture begins.
    """

    __slots__ = (
        "name",
        "compressed",
        "raw",
        "start",
        "delivered",
        "origin",
        "_read",
        "_readinto",
        "_closers",
    )

    def __init__(
        self,
        name: str,
        f: _Readable,
        closers: list[IO[bytes]],
        compressed: bool,
        raw: IO[bytes] | None,
        start: int,
    ) -> None:
        self.name = name
        self.compressed = compressed
        self.raw = raw
        self.start = start
        self.delivered = 0  # bytes handed out so far (after gzip: the expanded size)
        # read1 returns what is ready instead of waiting for n bytes: a live pipe
        # (tcpdump -w - | lyncdump -) then yields frames as they arrive.
        read1 = getattr(f, "read1", None)
        self._read: Callable[[int], object] = read1 if callable(read1) else f.read
        # The same preference for readinto: readinto1 (a buffered file, stdin, gzip), else
        # readinto (a raw file: ours is unbuffered), else read and a copy.
        into = getattr(f, "readinto1", None)
        if not callable(into):
            into = getattr(f, "readinto", None)
        self._readinto: Callable[[memoryview], object] | None = into if callable(into) else None
        self._closers = closers
        #: The file the bytes come from before gzip (for :meth:`file_position`); open_stream
        #: sets it.
        self.origin: IO[bytes] | None = raw

    def file_position(self) -> tuple[int, int | None] | None:
        """``(bytes of the file read so far, its size or None)``, before decompression, for
        progress; None when the input is not a file (a pipe, a socket)."""
        f = self.origin
        if f is None:
            return None
        try:
            where = f.tell()
            size = os.fstat(f.fileno()).st_size
        except (OSError, ValueError, AttributeError):
            return None
        return where, size if size > 0 else None

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer near the end or on a pipe), ``b""`` at the end."""
        try:
            data = self._read(n)
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            raise CaptureError(f"{self.name}: {_describe_read_error(exc)}") from None
        if data is None:
            raise CaptureError(f"{self.name}: non-blocking input with no data ready")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise CaptureError(f"{self.name}: opened in text mode; open it in binary mode ('rb')")
        self.delivered += len(data)
        return bytes(data) if not isinstance(data, bytes) else data

    def readinto(self, view: memoryview) -> int:
        """Bytes read into the start of ``view`` (fewer than it holds near the end or on a
        pipe), 0 at the end."""
        into = self._readinto
        if into is None:
            return self._copy_into(view)
        try:
            n = into(view)
        except NotImplementedError:  # io.RawIOBase's own readinto: the object has only read
            self._readinto = None
            return self._copy_into(view)
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            raise CaptureError(f"{self.name}: {_describe_read_error(exc)}") from None
        if n is None:
            raise CaptureError(f"{self.name}: non-blocking input with no data ready")
        if type(n) is not int or not 0 <= n <= len(view):
            raise CaptureError(f"{self.name}: read error: readinto returned {n!r}")
        self.delivered += n
        return n

    def _copy_into(self, view: memoryview) -> int:
        data = self.read(len(view))
        n = len(data)
        if n > len(view):
            raise CaptureError(f"{self.name}: read error: {n} bytes returned for {len(view)} asked")
        view[:n] = data
        return n

    def read_all(self, limit: int) -> bytes:
        """Everything left, refusing (without reading it all) more than ``limit`` bytes."""
        parts: list[bytes] = []
        total = 0
        while True:
            part = self.read(CHUNK)
            if not part:
                return b"".join(parts)
            total += len(part)
            if total > limit:
                raise CaptureError(f"{self.name}: more than {limit} bytes")
            parts.append(part)

    def close(self) -> None:
        """Close what we opened ourselves; a caller's file object stays open."""
        for f in self._closers:
            try:
                f.close()
            except (OSError, ValueError):
                pass
        self._closers = []


def _describe_read_error(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "compressed data ends early (the .gz file is truncated)"
    gzip = sys.modules.get("gzip")  # loaded by open_stream for a gzip input only
    if isinstance(exc, zlib.error) or (gzip is not None and isinstance(exc, gzip.BadGzipFile)):
        return f"corrupt gzip data ({exc})"
    if isinstance(exc, OSError):
        return f"read error: {exc.strerror or exc}"
    return f"read error: {exc}"


class _Prefixed:
    """A file object that first replays bytes already read, so gzip sees the whole stream."""

    __slots__ = ("_head", "_read")

    def __init__(self, head: bytes, f: _Readable) -> None:
        self._head = head
        read1 = getattr(f, "read1", None)  # as in ByteStream: don't wait for a full buffer
        self._read: Callable[[int], bytes | None] = read1 if callable(read1) else f.read

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0:
                n = len(self._head)
            out, self._head = self._head[:n], self._head[n:]
            return out
        if n < 0:
            n = CHUNK
        return self._read(n) or b""


def _open_path(path: str) -> IO[bytes]:
    try:
        return open(path, "rb", buffering=0)  # noqa: SIM115 - ByteStream closes it
    except FileNotFoundError:
        raise CaptureError(f"{path}: No such file") from None
    except IsADirectoryError:
        raise CaptureError(f"{path}: is a directory, not a capture file") from None
    except PermissionError:
        raise CaptureError(f"{path}: permission denied") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot open: {exc.strerror or exc}") from None


def _stream_name(f: object) -> str:
    name = getattr(f, "name", None)
    if isinstance(name, str) and name:
        return name
    if isinstance(name, bytes):
        return os.fsdecode(name)
    return "<stream>"


def _seek_start(f: IO[bytes]) -> int | None:
    """The current offset when ``f`` allows random access, else ``None`` (pipes, sockets)."""
    try:
        if not f.seekable():
            return None
        return f.tell()
    except (OSError, ValueError, AttributeError):
        return None


def _read_head(stream: ByteStream, want: int) -> bytes:
    """At least ``want`` bytes unless the input is shorter (pipes may return short reads)."""
    head = stream.read(CHUNK)
    while head and len(head) < want:
        more = stream.read(CHUNK)
        if not more:
            break
        head += more
    return head


def open_stream(source: str | os.PathLike[str] | IO[bytes]) -> tuple[ByteStream, bytes]:
    """Open ``source`` and undo gzip; returns the stream and its first bytes (already read).

    The first bytes are handed back rather than pushed back so that non-seekable input (stdin,
    pipes) needs no seek: the format readers start parsing from them.
    """
    closers: list[IO[bytes]] = []
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if path == "-":
            if sys.stdin is None or not hasattr(sys.stdin, "buffer"):
                raise CaptureError("<stdin>: no standard input to read")
            f: IO[bytes] = sys.stdin.buffer
            name = "<stdin>"
        else:
            f = _open_path(path)
            closers.append(f)
            name = path
    elif hasattr(source, "read"):
        f = source
        name = _stream_name(source)
    else:
        raise CaptureError(f"cannot read a capture from a {type(source).__name__}")

    start = _seek_start(f)
    origin = f if start is not None else None
    stream = ByteStream(name, f, closers, False, origin, start or 0)
    try:
        head = _read_head(stream, 8)
        if head[:2] == GZIP_MAGIC:
            import gzip  # here: a capture that is not compressed has no use for it

            gz = gzip.GzipFile(fileobj=cast(IO[bytes], _Prefixed(head, f)), mode="rb")
            closers.insert(0, cast(IO[bytes], gz))
            stream = ByteStream(name, cast(_Readable, gz), closers, True, None, 0)
            stream.origin = origin
            head = _read_head(stream, 8)
    except CaptureError:
        stream.close()
        raise
    return stream, head


def detect(head: bytes) -> str:
    """The format of a capture from its first bytes: ``pcap``, ``pcapng`` or ``netmon2``.

    Raises ``ValueError`` with a description when it is none of them.
    """
    if head[:4] in PCAP_MAGICS:
        return "pcap"
    if head[:4] == PCAPNG_MAGIC:
        return "pcapng"
    if head[:4] == NETMON2_MAGIC:
        return "netmon2"
    for magic, what in _KNOWN_OTHERS:
        if head.startswith(magic):
            raise ValueError(f"{what} (starts with 0x{head[:4].hex()})")
    if len(head) < 4:
        raise ValueError(f"too short to be a capture ({len(head)} bytes)")
    raise ValueError(
        f"not a pcap, pcapng or Network Monitor capture (starts with 0x{head[:4].hex()})"
    )


class ReadBuffer:
    """The memory a pcap or pcapng reader reads into, kept for the whole run.

    ``data[pos:end]`` holds the bytes not consumed yet. :meth:`refill` moves them to the front
    and reads the input behind them with ``readinto``, so the steady state allocates nothing
    per chunk: a fresh megabyte each time made glibc give heap top memory back to the system
    and fault it in again (issue 14). The buffer holds :data:`READ_BUFFER` bytes (less for an
    input smaller than that); a pcapng block longer than that gets a buffer of its own size
    for as long as it is being read (bounded by the block limit the reader checks first),
    then the normal size comes back.

    Frames handed out are copies (``bytes``): nothing outside the reader points into ``data``,
    which later reads overwrite.
    """

    __slots__ = ("data", "view", "end", "_stream", "_grow")

    def __init__(self, stream: ByteStream, head: bytes) -> None:
        self._stream = stream
        # The first bytes' size: a megabyte for a big file (the first read asked for a chunk),
        # the whole input when it is smaller (an empty capture does not zero a megabyte), what
        # a pipe or gzip had ready. A smaller buffer becomes the usual one when a read fills it
        # (``_grow``) or a record does not fit in it.
        self.data = bytearray(max(len(head), 1))
        self._grow = False
        #: A view of ``data`` (slices of it are turned into frames without a second copy).
        self.view = memoryview(self.data)
        self.view[: len(head)] = head
        #: Where the bytes read so far end in ``data``.
        self.end = len(head)

    def refill(self, pos: int, frame: int, missing: int = 1) -> bool:
        """Keep ``data[pos:end]``, now at the front, and read at least ``missing`` more bytes
        behind it unless the input ends first. False when nothing more could be read.

        The reader's own offsets restart at 0. A read failure names ``frame``.
        """
        left = self.end - pos
        want = left + max(missing, 1)
        size = len(self.data)
        normal = READ_BUFFER
        if want > size or self._grow or (size > normal and want <= normal):
            # A record bigger than the buffer, more input than a small one holds, or back to
            # the normal size after a pcapng block bigger than it.
            data = bytearray(max(want, normal))
            view = memoryview(data)
            view[:left] = self.view[pos : self.end]
            self.data, self.view = data, view
        elif left and pos:
            self.view[:left] = self.view[pos : self.end]  # memoryview copies with memmove
        end = left
        read = self._stream.readinto
        view = self.view
        try:
            while end < want:
                n = read(view[end:])
                if not n:
                    break
                end += n
        except CaptureError as exc:
            raise CaptureError(f"{exc} (while reading frame {frame})") from None
        self.end = end
        self._grow = end == len(self.data) < normal
        return end > left


class CaptureReader(ABC):
    """What :func:`lyncdump.capture.open_capture` returns, whatever the format.

    ``frames()`` yields ``(timestamp, linktype, data)`` in file order; frame numbers are
    implied (1-based). It reads the input once: call it once per reader. When the input turns
    out truncated or corrupt, every good frame is yielded first, then ``CaptureError`` names
    the frame and the problem.
    """

    #: ``"pcap"``, ``"pcapng"`` or ``"netmon2"``.
    format: str = ""

    def __init__(self, stream: ByteStream, head: bytes) -> None:
        self.name = stream.name
        self.compressed = stream.compressed
        #: pcapng Decryption Secrets Blocks seen so far, as (secrets type, data); the list
        #: grows while ``frames()`` runs and is complete once it is exhausted.
        self.secrets: list[tuple[int, bytes]] = []
        self._stream = stream
        self._started = False

    def frames(self) -> Iterator[tuple[float, int, bytes]]:
        """Yield ``(seconds since the epoch, LINKTYPE number, frame bytes)``; see the class."""
        if self._started:
            raise CaptureError(f"{self.name}: frames() was already read; open the capture again")
        self._started = True
        return self._frames()

    @abstractmethod
    def _frames(self) -> Iterator[tuple[float, int, bytes]]:
        """The format's own record loop (pcap, pcapng, NetMon)."""

    def _error(self, what: str, frame: int, detail: str) -> CaptureError:
        """``name: truncated at frame 12: record header says 1514 bytes, 200 remain``."""
        return CaptureError(f"{self.name}: {what} at frame {frame}: {detail}")

    @property
    def position(self) -> int:
        """Bytes of the capture read so far: for a .gz, what it has expanded to."""
        return self._stream.delivered

    def file_position(self) -> tuple[int, int | None] | None:
        """How far into the input file reading is: ``(bytes, size or None)``, or None when
        unknown (a pipe). gzip inputs count compressed bytes (progress bars use this)."""
        stream = getattr(self, "_stream", None)
        return stream.file_position() if stream is not None else None

    def close(self) -> None:
        """Release the input (a caller's own file object is left open)."""
        self._stream.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        gz = ", gzip" if self.compressed else ""
        return f"<{type(self).__name__} {self.name!r} ({self.format}{gz})>"


__all__ = [
    "ByteStream",
    "CaptureReader",
    "ReadBuffer",
    "open_stream",
    "detect",
    "CHUNK",
    "MAX_FRAME",
]
