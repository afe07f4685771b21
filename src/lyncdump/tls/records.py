"""TLS record layer framing (RFC 5246 §6.2, RFC 8446 §5.1): bytes of one TCP direction in,
whole records out.

Sans-IO: :class:`RecordReader` takes the reassembled bytes of one direction as they arrive and
hands back complete records; it never decrypts. A header that cannot be a TLS record stops the
direction and says why. After lost TCP bytes (:meth:`RecordReader.receive_gap`) the reader
resynchronises on the next record header it can trust: a plausible header (content type 20-24,
version 3.0-3.4, a length within bounds) whose record is followed by another plausible header
or ends exactly where the bytes received so far do. Whether the records can still be
*decrypted* is the session's business (their sequence numbers must be found again).
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


def _header_at(buf: bytes, pos: int) -> int:
    """The record length when a plausible header starts at ``pos`` (type, version 3.0-3.4,
    0 < length <= MAX_FRAGMENT), else -1; -2 when fewer than 5 bytes are there."""
    if len(buf) - pos < HEADER_SIZE:
        return -2
    if buf[pos] not in CONTENT_TYPES or buf[pos + 1] != 3 or buf[pos + 2] > 4:
        return -1
    length = (buf[pos + 3] << 8) | buf[pos + 4]
    return length if 0 < length <= MAX_FRAGMENT else -1


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

    __slots__ = (
        "_buf",
        "_pos",
        "_base",
        "_frame",
        "_ts",
        "records",
        "bytes_seen",
        "resyncing",
        "skipped",
    )

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0
        self._base = 0
        self._frame = 0
        self._ts = 0.0
        self.records = 0
        self.bytes_seen = 0
        #: Bytes were lost: looking for the next record header to trust.
        self.resyncing = False
        #: Bytes dropped while resynchronising (before the header found), in all.
        self.skipped = 0

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

    def receive_gap(self, missing: int) -> None:
        """``missing`` bytes will never come: the record being read is lost, and the next
        bytes are not known to start a record until one is found."""
        self._base += len(self._buf) + missing
        self._buf = b""
        self._pos = 0
        self.resyncing = True

    def _resync(self) -> bool:
        """Skip to the next header that can be trusted; False until one is found (bytes that
        cannot hold one are dropped, keeping the last 4 in case a header starts there)."""
        buf, pos = self._buf, self._pos
        end = len(buf)
        while pos < end:
            length = _header_at(buf, pos)
            if length == -2:
                break
            if length >= 0:
                nxt = pos + HEADER_SIZE + length
                if nxt == end:
                    confirmed: bool | None = True
                else:
                    after = _header_at(buf, nxt)
                    confirmed = None if after == -2 else after >= 0
                if confirmed is None:
                    self.skipped += pos - self._pos
                    self._pos = pos
                    return False  # wait for the bytes that confirm it (or not)
                if confirmed:
                    self.skipped += pos - self._pos
                    self._pos = pos
                    self.resyncing = False
                    return True
            pos += 1
        self.skipped += pos - self._pos
        self._pos = pos
        return False

    @property
    def pending(self) -> int:
        """Bytes held that do not make a whole record yet."""
        return len(self._buf) - self._pos

    def at_rest(self) -> bool:
        """Between records, not resynchronising, nothing held: the next byte starts a record.
        Lets the bytes held go (they were all read), so :meth:`taken` can count on from here."""
        if self.resyncing or self._pos < len(self._buf):
            return False
        self._base += self._pos
        self._buf = b""
        self._pos = 0
        return True

    def taken(self, record: bytes) -> int:
        """A whole record (header and fragment) read by another reader (the compiled fast
        path) while this one was at rest: counted as read here; its stream offset."""
        offset = self._base
        self._base += len(record)
        self.bytes_seen += len(record)
        self.records += 1
        return offset

    def next_record(self) -> TlsRecord | None:
        """The next whole record, or None until more bytes arrive.

        Raises :class:`MalformedError` (layer ``tls``) when the next header is not TLS; the
        reader is then useless for the rest of the direction.
        """
        if self.resyncing and not self._resync():
            return None
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
