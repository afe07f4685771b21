"""MPPC with an 8 KiB history: the RDP 4.0 bulk codec (RFC 2118) that MS-SIPCOMP "LZ77-8K" uses.

Bitstream (MSB first): ``0``+7 bits low literal, ``10``+7 bits high literal, ``1111``+6 /
``1110``+8 (+64) / ``110``+13 (+320) copy offsets, each followed by a length code (3..8191).
Copies replicate (length may exceed the offset) and read the history modulo 8192, so after
AT_FRONT a copy may read the tail left by the previous pass; writes never wrap.

Flags are always handled in the RDP *byte* form defined here once (``PACKET_FLUSHED`` 0x80,
``PACKET_AT_FRONT`` 0x40, ``PACKET_COMPRESSED`` 0x20). MS-SIPCOMP writes the same bits as the
high nibble of its header's first byte (0x8/0x4/0x2), so ``byte0 & 0xF0`` *is* the byte form;
:func:`flags_from_nibble` / :func:`flags_to_nibble` convert when a bare nibble is at hand.

Bounds: one packet never produces more than 8,192 bytes (the write position is checked against
the end of the history before every write) and decoding is a single forward pass over the input,
so hostile input costs time linear in its size and memory fixed at two 8 KiB buffers (one while
the history is fully known). The total over many packets is bounded one level up, by
:class:`~lyncdump.sipcomp.budget.DecompressionBudget`. The decode tables are built on first use.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from lyncdump import fastpath
from lyncdump.errors import MalformedError

__all__ = [
    "HISTORY_SIZE",
    "PACKET_AT_FRONT",
    "PACKET_COMPRESSED",
    "PACKET_FLUSHED",
    "FLAGS_MASK",
    "PLACEHOLDER",
    "MppcCompressor",
    "MppcDecompressor",
    "describe_flags",
    "flags_from_nibble",
    "flags_to_nibble",
]

HISTORY_SIZE = 8192
_MASK = HISTORY_SIZE - 1

PACKET_FLUSHED = 0x80
"""History reset (zeroed, offset 0); in MS-SIPCOMP the payload is then sent raw."""
PACKET_AT_FRONT = 0x40
"""Write position back to 0 *without* clearing the history."""
PACKET_COMPRESSED = 0x20
"""Payload is an MPPC bitstream (otherwise it is passed through untouched)."""
FLAGS_MASK = PACKET_FLUSHED | PACKET_AT_FRONT | PACKET_COMPRESSED

PLACEHOLDER = 0x3F
"""Byte (``?``) written for output whose source history is unknown (mid-stream captures)."""

_LAYER = "mppc"
_ONES = b"\x01" * HISTORY_SIZE
_lowrun = re.compile(rb"[\x00-\x7f]+").match

# _inflate stop reasons
_FULL = 0  # write position reached the limit
_DRAINED = 1  # fewer than 8 bits left: only padding can remain
_SHORT = 2  # 8+ bits left but the next token needs more than that


def flags_from_nibble(nibble: int) -> int:
    """MS-SIPCOMP 4-bit flag value (0x8/0x4/0x2) -> RDP byte form used by this module."""
    return (nibble & 0x0F) << 4


def flags_to_nibble(flags: int) -> int:
    """RDP byte form -> MS-SIPCOMP 4-bit flag value."""
    return (flags >> 4) & 0x0F


def describe_flags(flags: int) -> str:
    """``"AT_FRONT|COMPRESSED"`` style text for reports (byte form)."""
    names = [
        name
        for bit, name in (
            (PACKET_FLUSHED, "FLUSHED"),
            (PACKET_AT_FRONT, "AT_FRONT"),
            (PACKET_COMPRESSED, "COMPRESSED"),
        )
        if flags & bit
    ]
    return "|".join(names) if names else "none"


def _views(data: bytes | bytearray) -> list[bytes]:
    """The input re-aligned at each of the 8 bit phases, zero padded by 8 bytes.

    ``views[s][i]`` is the byte made of stream bits ``8*i+s .. 8*i+s+7``: reading a token at any
    bit position is an index into one view, and a run of low literals (coded as the bytes
    themselves) is a plain slice of it, which is what makes a pure-Python decoder fast.
    """
    n = len(data) + 8
    v = int.from_bytes(data, "big") << 64
    first = bytes(data) + bytes(8)
    return [first] + [(v << s).to_bytes(n + 1, "big")[1:] for s in range(1, 8)]


def _offset_table() -> list[tuple[int, int]]:
    """(offset, bits used) for every 14 bits that follow a copy's leading ``11``.

    Offset 0 and offsets beyond 8191 are entered as 0: one test rejects both.
    """
    table = []
    for low in range(1 << 14):
        top = 0xC000 | low
        if top >= 0xF000:
            off, used = (top >> 6) & 0x3F, 10
        elif top >= 0xE000:
            off, used = ((top >> 4) & 0xFF) + 64, 12
        else:
            off, used = (top & 0x1FFF) + 320, 16
        table.append((off if off <= _MASK else 0, used))
    return table


def _length_table() -> list[tuple[int, int]]:
    """(length, bits) for every 12-bit prefix of a length code; (0, 0) for codes longer than 12
    bits (lengths >= 128), which take the slow path."""
    table = []
    for code in range(1 << 12):
        if code < 0x800:
            table.append((3, 1))
            continue
        k = 12 - (code ^ 0xFFF).bit_length()
        if 2 * k + 2 > 12:
            table.append((0, 0))
            continue
        bits = k + 1
        table.append(((1 << bits) | ((code >> (10 - 2 * k)) & ((1 << bits) - 1)), 2 * k + 2))
    return table


_TABLES: tuple[list[tuple[int, int]], list[tuple[int, int]]] | None = None
_window = struct.Struct(">Q").unpack_from


def _tables() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The offset and length tables, built on first use: 16k + 4k entries (about 1.5 MB and
    10 ms) that a run without MS-SIPCOMP never needs, so ``import`` does not pay for them."""
    global _TABLES
    if _TABLES is None:
        _TABLES = (_offset_table(), _length_table())
    return _TABLES


def _inflate(
    hist: bytearray,
    known: bytearray | None,
    pos: int,
    limit: int,
    views: list[bytes],
    bit: int,
    nbits: int,
    bit_base: int,
) -> tuple[int, int, int]:
    """Decode tokens from ``bit`` into ``hist`` at ``pos`` until ``limit`` or the input ends.

    Stops *before* a token that is not wholly inside ``nbits`` (so the caller can resume with
    more input) and returns ``(pos, bit, reason)``. ``known`` (mid-stream mode) gets the same
    slice operations as ``hist`` with 1 for known bytes, so unknown history propagates through
    copies. Corrupt tokens raise :class:`MalformedError` with the bit offset ``bit_base + bit``.
    Hot loop: copy tokens are decoded with two table lookups on a 64-bit window, literal runs
    are slices of the re-aligned input (see :func:`_views`).
    """
    lowrun = _lowrun
    window = _window
    offsets, lengths = _TABLES or _tables()
    ones = _ONES
    last = nbits - 8  # a token needs at least 8 bits
    while pos < limit:
        if bit > last:
            return pos, bit, _DRAINED
        v = views[bit & 7]
        i = bit >> 3
        b = v[i]
        if b >= 0xC0:  # copy: offset code, then length code
            w = window(v, i)[0]
            off, used = offsets[(w >> 48) & 0x3FFF]
            length, lbits = lengths[(w >> (52 - used)) & 0xFFF]
            if lbits:
                used += lbits
            else:
                lc = (w >> (40 - used)) & 0xFFFFFF
                k = 24 - (lc ^ 0xFFFFFF).bit_length()  # leading one bits
                if k > 11:  # the padding is zero, so these ones are really in the input
                    at = bit_base + bit + used
                    raise MalformedError(
                        _LAYER, at, f"length code with more than 11 leading ones at bit offset {at}"
                    )
                length = (1 << (k + 1)) | ((lc >> (22 - 2 * k)) & ((1 << (k + 1)) - 1))
                used += 2 * k + 2
            if bit + used > nbits:
                return pos, bit, _SHORT
            if not off:
                at = bit_base + bit
                top = w >> 48
                bad = (top >> 6) & 0x3F if top >= 0xF000 else (top & 0x1FFF) + 320
                raise MalformedError(
                    _LAYER, at, f"copy offset {bad} outside 1..8191 at bit offset {at}"
                )
            end = pos + length
            if end > limit:
                at = bit_base + bit
                raise MalformedError(
                    _LAYER,
                    at,
                    f"copy of {length} bytes at history position {pos} runs past the end "
                    f"({limit}) at bit offset {at}",
                )
            src = (pos - off) & 0x1FFF  # the history is read modulo 8192
            if length <= off:
                e = src + length
                if e <= 0x2000:
                    hist[pos:end] = hist[src:e]
                    if known is not None:
                        known[pos:end] = known[src:e]
                else:
                    hist[pos:end] = hist[src:] + hist[: e - 0x2000]
                    if known is not None:
                        known[pos:end] = known[src:] + known[: e - 0x2000]
            else:  # replicating copy: the first `off` bytes repeat
                e = src + off
                reps = length // off + 1
                if e <= 0x2000:
                    hist[pos:end] = (hist[src:e] * reps)[:length]
                    if known is not None:
                        known[pos:end] = (known[src:e] * reps)[:length]
                else:
                    hist[pos:end] = ((hist[src:] + hist[: e - 0x2000]) * reps)[:length]
                    if known is not None:
                        known[pos:end] = ((known[src:] + known[: e - 0x2000]) * reps)[:length]
            pos = end
            bit += used
        elif b < 0x80:
            if v[i + 1] >= 0x80:  # a lone low literal (the next token is not one)
                hist[pos] = b
                if known is not None:
                    known[pos] = 1
                pos += 1
                bit += 8
                continue
            # run of low literals: the stream bytes are the output bytes
            n = (nbits - bit) >> 3
            if n > limit - pos:
                n = limit - pos
            j = lowrun(v, i, i + n).end()  # type: ignore[union-attr]  # b < 0x80 always matches
            n = j - i
            hist[pos : pos + n] = v[i:j]
            if known is not None:
                known[pos : pos + n] = ones[:n]
            pos += n
            bit += n << 3
        else:  # high literal: 10 + 7 bits
            if bit == last:
                return pos, bit, _SHORT
            hist[pos] = 0x80 | ((b & 0x3F) << 1) | (v[i + 1] >> 7)
            if known is not None:
                known[pos] = 1
            pos += 1
            bit += 9
    return pos, bit, _FULL


#: The compiled ``_inflate`` (``lyncdump._fastpath.mppc_inflate``), or None.
_c_inflate: Any = fastpath.helper("mppc_inflate")


def _run_inflate(
    hist: bytearray,
    known: bytearray | None,
    pos: int,
    limit: int,
    data: bytes | bytearray,
    bit: int,
    bit_base: int,
) -> tuple[int, int, int]:
    """:func:`_inflate` over all of ``data`` from ``bit``: compiled when the fast path is built
    (about 20x faster, the same results: tests/sipcomp/test_mppc_compiled.py), else in Python."""
    nbits = len(data) * 8
    if _c_inflate is None:
        return _inflate(hist, known, pos, limit, _views(data), bit, nbits, bit_base)
    result = _c_inflate(hist, known, pos, limit, data, bit, nbits, bit_base)
    if result[2] < 0:
        raise MalformedError(_LAYER, result[3], result[4])
    return result  # type: ignore[no-any-return]


class MppcDecompressor:
    """Receiver side of one direction: the 8 KiB history persists from packet to packet.

    ``decompress(data, flags)`` handles one whole packet. The framing layer, which learns where a
    packet ends only by decoding it, uses :meth:`start_packet` / :meth:`decode_some` /
    :meth:`finish_packet` to decode a payload as it arrives.

    History that is not known (capture started mid-connection, or after any error) is tracked
    per byte: literals are always exact, copies from unknown bytes yield :data:`PLACEHOLDER`
    and set :attr:`last_partial`. After a :class:`MalformedError` the state is defined: the
    history is unknown (as for a mid-stream start) until a FLUSHED packet makes it exact again;
    AT_FRONT packets then re-anchor the write position and known bytes accumulate.
    """

    __slots__ = ("history", "_known", "_virtual", "_pos", "_start", "last_partial", "last_known")

    def __init__(self, *, history_known: bool = True) -> None:
        self.history = bytearray(HISTORY_SIZE)
        self._known: bytearray | None = None
        self._virtual = False
        self._pos = 0
        self._start = 0
        self.last_partial = False
        """True when the last packet's output holds placeholder bytes."""
        self.last_known: bytes | None = None
        """Known-map of the last packet's output (1 = exact byte) when it is partial."""
        if not history_known:
            self.forget()

    # -- state --------------------------------------------------------------------------------

    @property
    def position(self) -> int:
        """Current write position in the history (virtual while not anchored)."""
        return self._pos

    @property
    def exact(self) -> bool:
        """True when every history byte is known, so output is exact."""
        return self._known is None

    def reset(self) -> None:
        """What PACKET_FLUSHED does: zero history, position 0, everything known."""
        self.history = bytearray(HISTORY_SIZE)
        self._known = None
        self._virtual = False
        self._pos = self._start = 0

    def forget(self) -> None:
        """Declare the history unknown (mid-stream start, or after an error).

        The true write position is unknown too: decode into a virtual pass starting at 0 (copies
        within it resolve by distance) until the next AT_FRONT anchors it.
        """
        self.history = bytearray(bytes([PLACEHOLDER]) * HISTORY_SIZE)
        self._known = bytearray(HISTORY_SIZE)
        self._virtual = True
        self._pos = self._start = 0

    def load_history(self, history: bytes, position: int) -> None:
        """Install a known 8 KiB history and write position (tests, saved state)."""
        if len(history) != HISTORY_SIZE or not 0 <= position <= HISTORY_SIZE:
            raise ValueError("history must be 8192 bytes and position within it")
        self.history = bytearray(history)
        self._known = None
        self._virtual = False
        self._pos = self._start = position

    def resume_at(self, position: int) -> None:
        """Another decoder wrote the (exact) history in place up to ``position``; go on there."""
        self._pos = self._start = position

    @classmethod
    def adopting(cls, history: bytearray, position: int) -> MppcDecompressor:
        """A decoder over an exact 8 KiB ``history`` another decoder made and wrote up to
        ``position`` (the compiled fast path, which decoded a direction's first packets),
        taken as is: no copy."""
        dec = cls.__new__(cls)
        dec.history = history
        dec._known = None
        dec._virtual = False
        dec._pos = dec._start = position
        dec.last_partial = False
        dec.last_known = None
        return dec

    def copy(self) -> MppcDecompressor:
        """Independent snapshot (the framing layer tries header layouts on copies)."""
        other = MppcDecompressor.__new__(MppcDecompressor)
        other.history = bytearray(self.history)
        other._known = None if self._known is None else bytearray(self._known)
        other._virtual = self._virtual
        other._pos = self._pos
        other._start = self._start
        other.last_partial = self.last_partial
        other.last_known = self.last_known
        return other

    # -- whole packets ------------------------------------------------------------------------

    def decompress(self, data: bytes | bytearray, flags: int) -> bytes:
        """Decode one packet; ``flags`` in byte form (0x80/0x40/0x20).

        Order as MS-RDPBCGR: FLUSHED, then AT_FRONT, then COMPRESSED. Without COMPRESSED the
        payload is returned as is and the history is not touched. Tokens are read while at least
        8 bits remain (the rest is padding).
        """
        self.start_packet(flags)
        if not flags & PACKET_COMPRESSED:
            self.last_partial = False
            self.last_known = None
            return bytes(data)
        try:
            nbits = len(data) * 8
            pos, bit, why = _run_inflate(
                self.history, self._known, self._pos, HISTORY_SIZE, data, 0, 0
            )
            self._pos = pos
            if why == _SHORT:
                raise MalformedError(_LAYER, bit, f"truncated token at bit offset {bit}")
            if why == _FULL and nbits - bit >= 8:
                raise MalformedError(
                    _LAYER,
                    bit,
                    f"output would pass the end of the 8192-byte history at bit offset {bit}",
                )
        except MalformedError:
            self.forget()
            raise
        return self.finish_packet()

    # -- incremental (framing layer) ----------------------------------------------------------

    def start_packet(self, flags: int) -> None:
        """Apply a new packet's FLUSHED / AT_FRONT (byte form) and mark where its output starts."""
        if flags & PACKET_FLUSHED:
            self.reset()
        if flags & PACKET_AT_FRONT:
            if self._virtual:  # first anchor: old virtual bytes sit at unknown absolute places
                self.history[:] = bytes([PLACEHOLDER]) * HISTORY_SIZE
                self._known = bytearray(HISTORY_SIZE)
                self._virtual = False
            elif self._known is not None and self._known.find(0) < 0:
                self._known = None
            self._pos = 0
        self._start = self._pos

    def decode_some(
        self, data: bytes | bytearray, bit: int, size: int, start: int = 0
    ) -> tuple[int, bool]:
        """Continue decoding the current packet until it has produced ``size`` bytes.

        The payload received so far is ``data[start:]``; ``bit`` is the offset (relative to the
        payload) returned by the previous call, 0 at first. Returns ``(bit, done)``; when done
        the payload ends at its byte ``(bit + 7) // 8``. Not done means: call again with more.
        """
        limit = self._start + size
        if limit > HISTORY_SIZE:
            self.forget()
            raise MalformedError(
                _LAYER,
                0,
                f"declared size {size} does not fit the history at position "
                f"{self._start} (bit offset 0)",
            )
        if self._pos >= limit:
            return bit, True
        first = bit >> 3
        # A valid token spends at most 9 bits per byte it produces, and the last one needs at
        # most 40 bits: never look further than that, so a packet that has not produced its
        # size within that many bits is corrupt rather than waiting for more data.
        need = ((limit - self._pos) * 9 + 40) // 8 + 2
        chunk = data[start + first : start + first + need]
        try:
            pos, stop, why = _run_inflate(
                self.history, self._known, self._pos, limit, chunk, bit & 7, first * 8
            )
        except MalformedError:
            self.forget()
            raise
        self._pos = pos
        if why != _FULL and len(chunk) >= need:
            at = first * 8 + stop
            self.forget()
            raise MalformedError(
                _LAYER, at, f"payload does not produce the declared {size} bytes (bit offset {at})"
            )
        return first * 8 + stop, why == _FULL

    def pending(self) -> bytes:
        """Output of the current packet so far (for early plausibility checks)."""
        return bytes(self.history[self._start : self._pos])

    def pending_known(self) -> bytes | None:
        """Known-map of :meth:`pending` (1 = known), or None when all known."""
        if self._known is None:
            return None
        return bytes(self._known[self._start : self._pos])

    def finish_packet(self) -> bytes:
        """Output of the current packet; sets :attr:`last_partial` and :attr:`last_known`."""
        start, pos = self._start, self._pos
        known = self._known
        self.last_partial = known is not None and known.find(0, start, pos) >= 0
        self.last_known = bytes(known[start:pos]) if self.last_partial and known else None
        self._start = pos
        return bytes(self.history[start:pos])


class _BitWriter:
    """MSB-first bit packer keeping a small int accumulator (O(n) overall)."""

    __slots__ = ("out", "acc", "nacc")

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.nacc = 0

    def flush(self) -> None:
        nb = self.nacc >> 3
        if nb:
            keep = self.nacc & 7
            self.out += (self.acc >> keep).to_bytes(nb, "big")
            self.acc &= (1 << keep) - 1
            self.nacc = keep

    def finish(self) -> bytes:
        pad = -self.nacc & 7
        self.acc <<= pad
        self.nacc += pad
        self.flush()
        return bytes(self.out)


def _literals(w: _BitWriter, chunk: bytes) -> None:
    if not chunk:
        return
    if chunk.isascii():  # low literals are coded as the bytes themselves
        w.acc = (w.acc << (len(chunk) << 3)) | int.from_bytes(chunk, "big")
        w.nacc += len(chunk) << 3
    else:
        acc, nacc = w.acc, w.nacc
        for c in chunk:
            if c < 0x80:
                acc = (acc << 8) | c
                nacc += 8
            else:
                acc = (acc << 9) | 0x100 | (c & 0x7F)
                nacc += 9
        w.acc, w.nacc = acc, nacc
    if w.nacc > 512:
        w.flush()


def _copy_code(off: int, length: int) -> tuple[int, int]:
    """(code, bits) of one copy tuple: offset code then length code."""
    if off < 64:
        code, bits = 0x3C0 | off, 10
    elif off < 320:
        code, bits = 0xE00 | (off - 64), 12
    else:
        code, bits = 0xC000 | (off - 320), 16
    if length == 3:
        return code << 1, bits + 1
    n = length.bit_length() - 1
    lcode = (((1 << (n - 1)) - 1) << (n + 1)) | (length - (1 << n))
    return (code << (2 * n)) | lcode, bits + 2 * n


class MppcCompressor:
    """Sender side of one direction, for making test data and sample captures.

    Greedy: one candidate per 3-byte key (the most recent position), extended as far as it
    matches; round-trips through :class:`MppcDecompressor`, not byte-identical to Microsoft.
    Flags follow MS-SIPCOMP: AT_FRONT|COMPRESSED on the first packet and whenever the data does
    not fit behind the current position; FLUSHED alone with the raw data when the data is too big
    for the history or would grow, after which the history restarts empty.
    """

    __slots__ = ("_hist", "_pos", "_table")

    def __init__(self) -> None:
        self._hist = bytearray(HISTORY_SIZE)
        self._pos = 0
        self._table: dict[bytes, int] = {}

    @property
    def position(self) -> int:
        return self._pos

    def reset(self) -> None:
        """Zero history, position 0 (the state a FLUSHED packet gives the receiver)."""
        self._hist = bytearray(HISTORY_SIZE)
        self._pos = 0
        self._table.clear()

    def compress(self, data: bytes | bytearray) -> tuple[int, bytes]:
        """Compress one message; returns ``(flags in byte form, payload)``."""
        n = len(data)
        if n >= HISTORY_SIZE:  # "MUST be smaller than the history buffer"
            self.reset()
            return PACKET_FLUSHED, bytes(data)
        flags = PACKET_COMPRESSED
        if self._pos == 0 or self._pos + n > HISTORY_SIZE:
            flags |= PACKET_AT_FRONT
            self._pos = 0
        start = self._pos
        end = start + n
        self._hist[start:end] = data
        payload = self._encode(bytes(self._hist), start, end)
        if len(payload) > n:
            self.reset()
            return PACKET_FLUSHED, bytes(data)
        self._pos = end
        return flags, payload

    def _encode(self, buf: bytes, start: int, end: int) -> bytes:
        """Tokens for ``buf[start:end]`` given the history ``buf`` holds before ``start``.

        A candidate position c is usable if it is already written in this pass (c < p) or lies
        in the old tail after this message (c >= end, read modulo 8192); stale table entries are
        harmless because every match is verified against the bytes.
        """
        table = self._table
        get = table.get
        w = _BitWriter()
        lit = start
        p = start
        last = end - 2
        while p < last:
            key = buf[p : p + 3]
            c = get(key)
            table[key] = p
            if c is not None:
                if c < p:
                    dist = p - c
                    room = end - p
                    ok = dist <= _MASK
                elif c >= end:
                    dist = p - c + HISTORY_SIZE
                    room = min(end - p, HISTORY_SIZE - c)
                    ok = True
                else:
                    ok = False
                if ok and buf[c : c + 3] == key:
                    n = 3
                    for step in (64, 16, 4, 1):
                        while (
                            n + step <= room
                            and buf[c + n : c + n + step] == buf[p + n : p + n + step]
                        ):
                            n += step
                    _literals(w, buf[lit:p])
                    code, bits = _copy_code(dist, n)
                    w.acc = (w.acc << bits) | code
                    w.nacc += bits
                    q = p + 1
                    p += n
                    lit = p
                    # index the positions the match covered (cheaper in the tail: the last few)
                    stop = min(p, last)
                    if stop - q > 16:
                        q = stop - 16
                    while q < stop:
                        table[buf[q : q + 3]] = q
                        q += 1
                    continue
            p += 1
        _literals(w, buf[lit:end])
        return w.finish()
