"""TLS record layer framing (RFC 5246 §6.2, RFC 8446 §5.1): bytes of one TCP direction in,
whole records out.

Sans-IO: :class:`RecordReader` takes the reassembled bytes of one direction as they arrive and
hands back complete records; it never decrypts. A header that cannot be a TLS record stops the
direction (TLS cannot resynchronise: sequence numbers and CBC chaining are lost) and says why.
"""

from __future__ import annotations

from ..errors import MalformedError

CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23
HEARTBEAT = 24

CONTENT_TYPES = {
    CHANGE_CIPHER_SPEC: "change_cipher_spec",
    ALERT: "alert",
    HANDSHAKE: "handshake",
    APPLICATION_DATA: "application_data",
    HEARTBEAT: "heartbeat",
}

#: Largest record fragment accepted: 2^14 plaintext + 2048 of expansion (RFC 5246 §6.2.3) and
#: 256 more that TLS 1.3 allows; anything bigger is not TLS. It also bounds the buffer below.
MAX_FRAGMENT = (1 << 14) + 2048 + 256

HEADER_SIZE = 5


def looks_like_record(data: bytes) -> bool:
    """Cheap sniff: does ``data`` start with a plausible TLS record header?"""
    return len(data) >= 2 and data[0] in CONTENT_TYPES and data[1] == 3


class TlsRecord:
    """One record as it was on the wire: ``fragment`` is still encrypted once keys are on."""

    __slots__ = ("content_type", "version", "fragment", "header", "frame", "ts", "offset")

    def __init__(
        self,
        content_type: int,
        version: int,
        fragment: bytes,
        header: bytes,
        frame: int,
        ts: float,
        offset: int,
    ) -> None:
        self.content_type = content_type
        self.version = version
        self.fragment = fragment
        self.header = header
        self.frame = frame
        self.ts = ts
        self.offset = offset  # of the header, in bytes since the direction started


class RecordReader:
    """Cuts one direction's byte stream into records.

    Holds at most one record plus one TCP delivery of bytes; a record is attributed to the frame
    that brought its last byte (the frame in which it became readable, as Wireshark does).
    """

    __slots__ = ("_buf", "_pos", "_base", "_frame", "_ts", "records", "bytes_seen")

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0
        self._base = 0
        self._frame = 0
        self._ts = 0.0
        self.records = 0
        self.bytes_seen = 0

    def receive_data(self, data: bytes, frame: int, ts: float) -> None:
        self.bytes_seen += len(data)
        if self._pos < len(self._buf):
            self._buf = self._buf[self._pos :] + data
        else:
            self._buf = data
        self._base += self._pos
        self._pos = 0
        self._frame = frame
        self._ts = ts

    @property
    def pending(self) -> int:
        """Bytes held that do not make a whole record yet."""
        return len(self._buf) - self._pos

    def next_record(self) -> TlsRecord | None:
        """The next whole record, or None until more bytes arrive.

        Raises :class:`MalformedError` (layer ``tls``) when the next header is not TLS; the
        reader is then useless for the rest of the direction.
        """
        buf, pos = self._buf, self._pos
        if len(buf) - pos < HEADER_SIZE:
            return None
        ctype = buf[pos]
        if ctype not in CONTENT_TYPES or buf[pos + 1] != 3:
            raise MalformedError(
                "tls", self._base + pos, f"not a TLS record header ({buf[pos : pos + 3].hex()})"
            )
        length = (buf[pos + 3] << 8) | buf[pos + 4]
        if length > MAX_FRAGMENT:
            raise MalformedError(
                "tls", self._base + pos, f"record of {length} bytes exceeds {MAX_FRAGMENT}"
            )
        end = pos + HEADER_SIZE + length
        if len(buf) < end:
            return None
        self._pos = end
        self.records += 1
        return TlsRecord(
            ctype,
            (buf[pos + 1] << 8) | buf[pos + 2],
            buf[pos + HEADER_SIZE : end],
            buf[pos : pos + HEADER_SIZE],
            self._frame,
            self._ts,
            self._base + pos,
        )
