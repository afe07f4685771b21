"""SIP over WebSocket (RFC 7118): one TCP direction's HTTP Upgrade, then WebSocket frames.

Sans-IO, like the stream framer: :meth:`WebSocketDecoder.receive_data` takes the direction's
bytes (clear TCP, or TLS plaintext for ``wss``), :meth:`WebSocketDecoder.next_message` gives
each complete WebSocket message. RFC 7118 §5 puts exactly one SIP message in one WebSocket
message (text or binary), so each becomes one SIP message without Content-Length framing.

What a passive reader needs of RFC 6455:

- The direction starts with the HTTP/1.1 Upgrade request (client) or the ``101 Switching
  Protocols`` answer (server); anything else, or another status, means it is not WebSocket.
- Frames: FIN, RSV1-3, opcode (0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong),
  MASK and a 7-bit, 16-bit or 64-bit length, then the 4-byte masking key when masked (always
  from clients, §5.3) and the payload, unmasked by XOR with the key.
- A message may be fragmented: a text/binary frame without FIN, continuation frames, the last
  with FIN; control frames (at most 125 bytes, never fragmented) may come in between.
- RSV1 on a message's first frame means permessage-deflate (RFC 7692), when the server's
  answer accepted it: raw DEFLATE whose stream is finished by appending ``00 00 ff ff``, with
  the window kept from message to message unless ``<side>_no_context_takeover`` was agreed.

Bounds: a handshake of 16 KiB, a message (after inflating) of ``max_message`` bytes; a message
over it is skipped and reported. Lost TCP bytes end decoding of the direction (frame
boundaries cannot be found again with certainty), with a defect.
"""

from __future__ import annotations

import zlib
from collections import deque
from dataclasses import dataclass

from ..model import Defect

_LAYER = "websocket"

#: Largest HTTP handshake read before the direction is declared not WebSocket.
MAX_HANDSHAKE = 16 * 1024

OP_CONTINUATION = 0
OP_TEXT = 1
OP_BINARY = 2
OP_CLOSE = 8
OP_PING = 9
OP_PONG = 10

_DEFLATE_TAIL = b"\x00\x00\xff\xff"

# Decoder states.
_HANDSHAKE = 0
_FRAMES = 1
_DEAD = 2


@dataclass(slots=True)
class WsMessage:
    """One complete WebSocket data message: its payload, unmasked and inflated.

    ``first_frame`` / ``frame`` / ``ts`` are those of the segments holding its first and
    last byte; ``compressed`` when permessage-deflate carried it.
    """

    opcode: int
    payload: bytes
    first_frame: int
    frame: int
    ts: float
    compressed: bool = False


@dataclass(slots=True)
class Handshake:
    """The HTTP request or answer that opened the direction."""

    start_line: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        """First value of a header (case-insensitive)."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def is_upgrade_request(self) -> bool:
        return self.start_line.startswith("GET ") and (
            (self.header("upgrade") or "").strip().lower() == "websocket"
        )

    @property
    def status(self) -> int | None:
        parts = self.start_line.split(" ", 2)
        if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
            return int(parts[1])
        return None


def looks_like_upgrade(data: bytes) -> bool:
    """First bytes of a direction that may be a WebSocket opening handshake (either side)."""
    return data.startswith(b"GET ") or data.startswith(b"HTTP/1.1 101")


def deflate_parameters(extensions: str | None) -> dict[str, str] | None:
    """The permessage-deflate parameters a ``Sec-WebSocket-Extensions`` value accepts, or
    None when it does not name permessage-deflate."""
    if not extensions:
        return None
    for offer in extensions.split(","):
        parts = [p.strip() for p in offer.split(";")]
        if parts[0].lower() != "permessage-deflate":
            continue
        params: dict[str, str] = {}
        for p in parts[1:]:
            key, _, value = p.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        return params
    return None


class WebSocketDecoder:
    """One direction of a WebSocket connection (see the module docstring).

    ``client`` says which side this is: clients must mask every frame, servers never do
    (RFC 6455 §5.1; a frame against the rule is reported, and decoded anyway).
    """

    def __init__(self, *, client: bool, max_message: int = 1 << 20) -> None:
        self.client = client
        self.max_message = max_message
        self.handshake: Handshake | None = None
        #: Set by the connection once the server's answer decided the extensions.
        self.deflate_agreed = False
        #: False once the opening handshake says this is not WebSocket (or decoding stopped).
        self.websocket = True
        self.defects: list[Defect] = []
        self._state = _HANDSHAKE
        self._buf = bytearray()
        self._offset = 0  # stream offset of _buf[0]
        self._frames: deque[tuple[int, int, float]] = deque()  # (stream end, frame, ts)
        self._out: deque[WsMessage] = deque()
        # The message being reassembled from fragments.
        self._parts: list[bytes] = []
        self._size = 0
        self._opcode = 0
        self._rsv1 = False
        self._first_frame = 0
        self._dropping = False  # the message is over max_message: its payload is skipped
        self._skip = 0  # payload bytes still to drop
        # permessage-deflate, once the server's answer accepted it.
        self._inflate: zlib._Decompress | None = None
        self._deflate = False
        self._reset_window = False

    # -- input --------------------------------------------------------------------------------
    def use_deflate(self, params: dict[str, str] | None) -> None:
        """The handshake agreed on permessage-deflate (``params`` from
        :func:`deflate_parameters`), or on no extension (None)."""
        if params is None:
            self._deflate = False
            return
        self._deflate = True
        side = "client" if self.client else "server"
        self._reset_window = f"{side}_no_context_takeover" in params
        bits = params.get(f"{side}_max_window_bits") or "15"
        try:
            window = int(bits) if bits else 15
        except ValueError:
            window = 15
        self._inflate = zlib.decompressobj(-max(9, min(15, window)))

    def receive_data(self, data: bytes, frame: int, ts: float) -> None:
        """The direction's next bytes."""
        if self._state == _DEAD or not data:
            return
        self._buf += data
        self._frames.append((self._offset + len(self._buf), frame, ts))
        if self._state == _HANDSHAKE:
            self._read_handshake(frame)
        if self._state == _FRAMES:
            self._read_frames()

    def receive_gap(self, missing: int, frame: int, ts: float) -> None:
        """Bytes lost: frame boundaries are gone for good in this direction."""
        if self._state == _DEAD:
            return
        if self._state == _FRAMES:
            self._defect(
                frame,
                self._offset + len(self._buf),
                f"{missing} bytes missing from the capture: the rest of this WebSocket "
                "direction cannot be decoded",
            )
        self._stop()

    def close(self) -> None:
        """The direction ended: report a frame or message left unfinished."""
        if self._state == _FRAMES and (self._buf or self._opcode):
            self._defect(
                self._last_frame(),
                self._offset,
                f"stream ended inside a WebSocket message ({len(self._buf) + self._size} bytes)",
            )
        self._buf.clear()
        self._parts.clear()

    def next_message(self) -> WsMessage | None:
        """The next complete data message, or None until more bytes arrive."""
        return self._out.popleft() if self._out else None

    # -- internals ----------------------------------------------------------------------------
    def _defect(self, frame: int | None, offset: int | None, reason: str) -> None:
        if len(self.defects) < 1000:
            self.defects.append(Defect(frame, _LAYER, offset, reason))

    def _stop(self) -> None:
        self._state = _DEAD
        self._buf = bytearray()
        self._parts.clear()
        self._frames.clear()

    def _last_frame(self) -> int:
        return self._frames[-1][1] if self._frames else 0

    def _frame_at(self, offset: int) -> tuple[int, float]:
        """Frame and time of the segment holding the byte at stream ``offset``."""
        for end, frame, ts in self._frames:
            if offset < end:
                return frame, ts
        return (self._frames[-1][1], self._frames[-1][2]) if self._frames else (0, 0.0)

    def _consume(self, n: int) -> None:
        del self._buf[:n]
        self._offset += n
        frames = self._frames
        while len(frames) > 1 and frames[0][0] <= self._offset:
            frames.popleft()

    def _read_handshake(self, frame: int) -> None:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > MAX_HANDSHAKE:
                self.websocket = False
                self._stop()
            return
        text = bytes(self._buf[:end]).decode("latin-1")
        lines = text.split("\r\n")
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers.append((name.strip(), value.strip()))
        hs = self.handshake = Handshake(lines[0], headers)
        self._consume(end + 4)
        if self.client and hs.is_upgrade_request:
            self._state = _FRAMES
        elif not self.client and hs.status == 101:
            self._state = _FRAMES
        else:
            self.websocket = False
            self._stop()

    def _read_frames(self) -> None:
        while self._state == _FRAMES:
            if self._skip:
                drop = min(self._skip, len(self._buf))
                self._consume(drop)
                self._skip -= drop
                if self._skip:
                    return
            header = self._frame_header()
            if header is None:
                return
            fin, rsv1, opcode, masked, key, pos, length = header
            start = self._offset
            if opcode >= 8:  # control: small, never fragmented
                if len(self._buf) < pos + length:
                    return
                self._consume(pos + length)
                if opcode == OP_CLOSE:
                    self._state = _DEAD  # nothing follows a close frame in this direction
                    self._buf = bytearray()
                continue
            if masked != self.client:
                self._defect(
                    self._frame_at(start)[0],
                    start,
                    "unmasked frame from the client"
                    if self.client
                    else "masked frame from the server",
                )
            if opcode == OP_CONTINUATION and not self._opcode:
                self._defect(
                    self._frame_at(start)[0], start, "continuation frame with no message begun"
                )
                self._consume(pos)
                self._skip = length
                continue
            if opcode != OP_CONTINUATION:
                if self._opcode:
                    self._defect(
                        self._frame_at(start)[0],
                        start,
                        "new message begun before the last one ended",
                    )
                self._parts = []
                self._size = 0
                self._opcode = opcode
                self._rsv1 = rsv1
                self._first_frame = self._frame_at(start)[0]
                self._dropping = False
            if self._dropping or self._size + length > self.max_message:
                if not self._dropping:
                    self._dropping = True
                    self._defect(
                        self._frame_at(start)[0],
                        start,
                        f"WebSocket message over {self.max_message} bytes skipped",
                    )
                self._consume(pos)
                self._skip = length
                if fin:
                    self._end_message()
                continue
            if len(self._buf) < pos + length:
                return
            payload = bytes(self._buf[pos : pos + length])
            if masked:
                payload = _unmask(payload, key)
            frame, ts = self._frame_at(start + pos + length - 1)
            self._consume(pos + length)
            self._parts.append(payload)
            self._size += length
            if fin:
                self._finish_message(start, frame, ts)

    def _frame_header(self) -> tuple[bool, bool, int, bool, bytes, int, int] | None:
        """(FIN, RSV1, opcode, masked, key, header length, payload length) of the frame at
        the front of the buffer, or None until its header is all there (or it is bad)."""
        buf = self._buf
        n = len(buf)
        if n < 2:
            return None
        b0, b1 = buf[0], buf[1]
        length = b1 & 0x7F
        pos = 2
        if length == 126:
            if n < 4:
                return None
            length = int.from_bytes(buf[2:4], "big")
            pos = 4
        elif length == 127:
            if n < 10:
                return None
            length = int.from_bytes(buf[2:10], "big")
            pos = 10
            if length >> 63:
                self._fatal("64-bit frame length with its top bit set")
                return None
        masked = bool(b1 & 0x80)
        key = b""
        if masked:
            if n < pos + 4:
                return None
            key = bytes(buf[pos : pos + 4])
            pos += 4
        opcode = b0 & 0x0F
        fin = bool(b0 & 0x80)
        if opcode not in (0, 1, 2, 8, 9, 10):
            self._fatal(f"frame with unknown opcode {opcode}")
            return None
        if opcode >= 8 and (length > 125 or not fin):
            self._fatal(
                f"control frame (opcode {opcode}) "
                + ("of more than 125 bytes" if length > 125 else "fragmented")
            )
            return None
        return fin, bool(b0 & 0x40), opcode, masked, key, pos, length

    def _end_message(self) -> None:
        self._parts = []
        self._size = 0
        self._opcode = 0
        self._dropping = False

    def _finish_message(self, start: int, frame: int, ts: float) -> None:
        data = b"".join(self._parts)
        opcode, compressed, first = self._opcode, self._rsv1, self._first_frame
        self._end_message()
        if compressed:
            inflated = self._inflated(data, frame, start)
            if inflated is None:
                return
            data = inflated
        self._out.append(WsMessage(opcode, data, first, frame, ts, compressed))

    def _inflated(self, data: bytes, frame: int, start: int) -> bytes | None:
        if not self._deflate or self._inflate is None:
            self._defect(frame, start, "compressed frame (RSV1) without permessage-deflate agreed")
            return None
        try:
            out = self._inflate.decompress(data + _DEFLATE_TAIL, self.max_message + 1)
        except zlib.error as exc:
            self._defect(frame, start, f"permessage-deflate data does not inflate ({exc})")
            self.use_deflate({})  # a fresh window: later messages may still decode
            return None
        if len(out) > self.max_message or self._inflate.unconsumed_tail:
            self._defect(frame, start, f"WebSocket message inflates past {self.max_message} bytes")
            self.use_deflate({})
            return None
        if self._reset_window:
            self.use_deflate({f"{'client' if self.client else 'server'}_no_context_takeover": ""})
        return out

    def _fatal(self, reason: str) -> None:
        self._defect(self._frame_at(self._offset)[0], self._offset, reason)
        self._stop()


def _unmask(payload: bytes, key: bytes) -> bytes:
    """XOR with the 4-byte masking key, repeated (RFC 6455 §5.3), as one big integer."""
    n = len(payload)
    if not n:
        return payload
    mask = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(mask, "little")).to_bytes(
        n, "little"
    )


__all__ = [
    "Handshake",
    "MAX_HANDSHAKE",
    "WebSocketDecoder",
    "WsMessage",
    "deflate_parameters",
    "looks_like_upgrade",
]
