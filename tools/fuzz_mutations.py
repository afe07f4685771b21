"""Seeds and mutations for fuzzing lyncdump: shared by tests/fuzz (hypothesis, in CI) and
tools/fuzz.py (long campaigns on the command line).

Seeds are real bytes taken apart with lyncdump's own readers: frames of the sample captures, and
inside them SIP messages, SDP bodies, auth tokens, STUN/RTP/RTCP datagrams, TCP direction
streams (clear SIP, TLS records, MS-SIPCOMP packets, RFC 4571 media). Mutations are of two
kinds: blind ones (bit flips, interesting values, deletions, duplications, splices, truncation)
and structure-aware ones that know where lengths and separators are (a pcap record length, a
Content-Length, a STUN attribute length, an MS-SIPCOMP header, an SDP line), so that a mutated
input gets past the outer checks and reaches the parser under test.

Every mutation is a pure function of (data, an operation code, an integer), so a hypothesis
strategy can draw and shrink lists of them, and a campaign can replay one from its seed.
"""

from __future__ import annotations

import io
import random
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".gz")
LOG_SUFFIXES = (".log", ".uccapilog")

INTERESTING_8 = (0, 1, 0x7F, 0x80, 0xFF)
INTERESTING_16 = (0, 1, 0x7FFF, 0x8000, 0xFFFF, 1500, 8192, 8193)
INTERESTING_32 = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 20, (1 << 20) + 1)


# -- blind mutations --------------------------------------------------------------------------


def _pos(data: bytes | bytearray, n: int) -> int:
    return n % len(data) if data else 0


def bit_flip(data: bytes, n: int) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    out[_pos(data, n >> 3)] ^= 1 << (n & 7)
    return bytes(out)


def set_byte(data: bytes, n: int) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    out[_pos(data, n >> 8)] = n & 0xFF
    return bytes(out)


def interesting(data: bytes, n: int) -> bytes:
    """An interesting 8/16/32-bit value (either byte order) at some offset."""
    if not data:
        return data
    kind = n % 5
    pos = _pos(data, n // 5)
    if kind == 0:
        value = bytes([INTERESTING_8[(n // 7) % len(INTERESTING_8)]])
    elif kind in (1, 2):
        v = INTERESTING_16[(n // 7) % len(INTERESTING_16)]
        value = struct.pack(">H" if kind == 1 else "<H", v)
    else:
        v = INTERESTING_32[(n // 7) % len(INTERESTING_32)]
        value = struct.pack(">I" if kind == 3 else "<I", v)
    return data[:pos] + value + data[pos + len(value) :]


def delete(data: bytes, n: int) -> bytes:
    if not data:
        return data
    pos = _pos(data, n >> 10)
    return data[:pos] + data[pos + 1 + (n & 0x3FF) % 64 :]


def duplicate(data: bytes, n: int) -> bytes:
    if not data:
        return data
    pos = _pos(data, n >> 10)
    size = 1 + (n & 0x3FF) % 256
    return data[:pos] + data[pos : pos + size] * (2 + (n >> 30) % 3) + data[pos + size :]


def insert_random(data: bytes, n: int) -> bytes:
    rng = random.Random(n)
    pos = _pos(data, n >> 8) if data else 0
    return data[:pos] + rng.randbytes(1 + (n & 0xFF) % 32) + data[pos:]


def truncate(data: bytes, n: int) -> bytes:
    return data[: _pos(data, n)] if data else data


def swap_chunks(data: bytes, n: int) -> bytes:
    if len(data) < 4:
        return data
    rng = random.Random(n)
    a, b = sorted(rng.sample(range(len(data)), 2))
    size = min(b - a, 1 + rng.randrange(64), len(data) - b)
    return (
        data[:a] + data[b : b + size] + data[a + size : b] + data[a : a + size] + data[b + size :]
    )


# -- structure-aware mutations ---------------------------------------------------------------

_CONTENT_LENGTH = re.compile(rb"(?im)^(content-length|l)[ \t]*:[ \t]*(\d*)")
_HEADER_LINE = re.compile(rb"(?m)^[A-Za-z][A-Za-z0-9-]*[ \t]*:[^\r\n]*\r?\n")
_SDP_LINE = re.compile(rb"(?m)^[a-z]=[^\r\n]*\r?\n")
_PARAM_VALUE = re.compile(rb'=\s*("[^"]*"|[^;,\s]+)')


def text_fields(data: bytes, n: int) -> bytes:
    """SIP/SDP/auth text: a Content-Length off by some, a header line repeated or dropped, a
    line end removed, a parameter value replaced by an extreme one."""
    if not data:
        return data
    rng = random.Random(n)
    kind = n % 6
    if kind == 0:
        matches = list(_CONTENT_LENGTH.finditer(data))
        if matches:
            m = matches[n // 6 % len(matches)]
            value = rng.choice([b"0", b"1", b"-1", b"99999999", b"4294967296", b"", b"1e3"])
            if m.group(2).isdigit():
                value = rng.choice([value, str(int(m.group(2)) + rng.randint(-3, 3)).encode()])
            return data[: m.start(2)] + value + data[m.end(2) :]
    lines = list((_HEADER_LINE if kind < 3 else _SDP_LINE).finditer(data))
    if kind in (1, 3) and lines:
        m = lines[n // 6 % len(lines)]
        return data[: m.end()] + m.group(0) * rng.randint(1, 40) + data[m.end() :]
    if kind in (2, 4) and lines:
        m = lines[n // 6 % len(lines)]
        return data[: m.start()] + data[m.end() :]
    if kind == 5:
        values = list(_PARAM_VALUE.finditer(data))
        if values:
            m = values[n // 6 % len(values)]
            value = rng.choice(
                [b"", b'"', b'"unterminated', b"\x00", b"%", b"A" * 5000, b"\xff\xfe", b"=="]
            )
            return data[: m.start(1)] + value + data[m.end(1) :]
    crlf = [m.start() for m in re.finditer(rb"\r\n", data)]
    if crlf:
        at = crlf[n // 6 % len(crlf)]
        return data[:at] + rng.choice([b"", b"\n", b"\r", b"\r\n\r\n", b" "]) + data[at + 2 :]
    return bit_flip(data, n)


#: Tokens a blind mutation would hardly make: charsets that are not text, key-param syntax,
#: multipart and transport words, extreme numbers (an AFL-style dictionary).
DICTIONARY = (
    b"charset=zlib",
    b"charset=idna",
    b"charset=undefined",
    b"charset=utf-16",
    b"charset=\x00",
    b"inline:",
    b"INLINE:",
    b";inline:AAAA|2^31|1:1",
    b"a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:",
    b"multipart/mixed;boundary=x",
    b"\r\n--x\r\n",
    b"\r\n--x--\r\n",
    b"Content-Type: text/plain\r\n",
    b"Content-Length: 0\r\n",
    b"ms-text-format: text/plain; charset=zlib; ms-body=aGk=\r\n",
    b"Via: SIP/2.0 h\r\n",
    b"Via: SIP/2.0/\r\n",
    b"Authorization: Basic \r\n",
    b'gssapi-data="',
    b"SIP/2.0 ",
    b"\r\n\r\n",
    b"=?",
    b"%00",
    b"4294967296",
    b"-1",
)


def dictionary(data: bytes, n: int) -> bytes:
    """A dictionary token inserted, or put in place of a parameter value or a line."""
    token = DICTIONARY[n % len(DICTIONARY)]
    kind = (n // len(DICTIONARY)) % 3
    if kind == 1:
        values = list(_PARAM_VALUE.finditer(data))
        if values:
            m = values[(n >> 8) % len(values)]
            return data[: m.start(1)] + token + data[m.end(1) :]
    if kind == 2:
        lines = list(_HEADER_LINE.finditer(data))
        if lines:
            m = lines[(n >> 8) % len(lines)]
            return data[: m.start()] + token + data[m.start() :]
    pos = _pos(data, n >> 8) if data else 0
    return data[:pos] + token + data[pos:]


def length_fields(data: bytes, n: int) -> bytes:
    """Binary protocols: find 16/32-bit big- or little-endian values that count bytes of what
    follows (equal to the rest of the data, or smaller) and push them just off, to 0, or far."""
    if len(data) < 4:
        return data
    rng = random.Random(n)
    hits = []
    size = len(data)
    for pos in range(0, min(size - 2, 256)):
        for fmt, width in ((">H", 2), ("<H", 2), (">I", 4), ("<I", 4)):
            if pos + width > size:
                continue
            (v,) = struct.unpack_from(fmt, data, pos)
            if 4 <= v <= size - pos - width + 64 and v >= (size - pos) // 8:
                hits.append((pos, fmt, v))
    if not hits:
        return interesting(data, n)
    pos, fmt, v = hits[n % len(hits)]
    new = rng.choice([0, 1, v - 1, v + 1, v + 4, v * 2, (1 << (8 * struct.calcsize(fmt))) - 1])
    new &= (1 << (8 * struct.calcsize(fmt))) - 1
    return data[:pos] + struct.pack(fmt, new) + data[pos + struct.calcsize(fmt) :]


def mppc_header(data: bytes, n: int) -> bytes:
    """MS-SIPCOMP: change the flags nibble or the length of one packet header."""
    heads = [m.start() for m in re.finditer(rb"[\x20\x60\x80\xa0\xe0]\x00\x00\x00", data)]
    if not heads:
        return bit_flip(data, n)
    at = heads[n % len(heads)]
    rng = random.Random(n)
    if n & 1 and at + 6 <= len(data):
        length = int.from_bytes(data[at + 4 : at + 6], "big")
        new = rng.choice([0, 1, length - 1, length + 1, 8192, 8193, 0xFFFF])
        return data[: at + 4] + (new & 0xFFFF).to_bytes(2, "big") + data[at + 6 :]
    flags = rng.choice([0x00, 0x20, 0x40, 0x60, 0x80, 0xA0, 0xC0, 0xE0, 0x21, 0x30])
    return data[:at] + bytes([flags]) + data[at + 1 :]


def splice(data: bytes, other: bytes, n: int) -> bytes:
    """The start of ``data`` joined to the end of ``other``."""
    if not data or not other:
        return data or other
    return data[: _pos(data, n)] + other[_pos(other, n >> 16) :]


Mutation = Callable[[bytes, int], bytes]

BLIND: dict[str, Mutation] = {
    "bit_flip": bit_flip,
    "set_byte": set_byte,
    "interesting": interesting,
    "delete": delete,
    "duplicate": duplicate,
    "insert_random": insert_random,
    "truncate": truncate,
    "swap_chunks": swap_chunks,
}
TEXT: dict[str, Mutation] = {**BLIND, "text_fields": text_fields, "dictionary": dictionary}
BINARY: dict[str, Mutation] = {**BLIND, "length_fields": length_fields}
SIPCOMP: dict[str, Mutation] = {**BINARY, "mppc_header": mppc_header}


def apply(data: bytes, ops: Iterable[tuple[str, int]], table: dict[str, Mutation]) -> bytes:
    """Apply named operations in turn (names missing from ``table`` fall back to a bit flip)."""
    for name, n in ops:
        data = table.get(name, bit_flip)(data, n)
    return data


# -- seeds from real captures -----------------------------------------------------------------


@dataclass
class Seeds:
    """Real bytes of each kind, taken from sample captures with lyncdump's own readers."""

    frames: list[tuple[int, bytes]] = field(default_factory=list)  # (linktype, frame)
    sip: list[bytes] = field(default_factory=list)
    sdp: list[bytes] = field(default_factory=list)
    xml: list[tuple[str, bytes]] = field(default_factory=list)  # (content type, body)
    auth: list[str] = field(default_factory=list)  # auth header values
    tokens: list[bytes] = field(default_factory=list)  # decoded gssapi-data
    stun: list[bytes] = field(default_factory=list)
    rtp: list[bytes] = field(default_factory=list)
    rtcp: list[bytes] = field(default_factory=list)
    streams: dict[str, list[bytes]] = field(default_factory=dict)  # kind -> direction bytes

    def add_stream(self, kind: str, data: bytes) -> None:
        if data:
            self.streams.setdefault(kind, []).append(data)


def _limit(items: list[bytes], count: int, size: int) -> list[bytes]:
    """At most ``count`` distinct items, each cut to ``size`` bytes."""
    seen: dict[bytes, None] = {}
    for item in items:
        seen.setdefault(item[:size], None)
        if len(seen) >= count:
            break
    return list(seen)


def collect_seeds(paths: Iterable[Path] | None = None, per_kind: int = 24) -> Seeds:
    """Seeds from the given captures (default: every sample capture in captures/)."""
    import lyncdump
    from lyncdump.capture import open_capture
    from lyncdump.media.demux import classify
    from lyncdump.model import DefectLog
    from lyncdump.net.decode import PacketDecoder
    from lyncdump.sip.auth import auth_headers

    if paths is None:
        paths = sorted(p for p in CAPTURES.iterdir() if p.suffix in CAPTURE_SUFFIXES)
    seeds = Seeds()
    streams: dict[tuple[object, ...], bytearray] = {}
    for path in paths:
        try:
            reader = open_capture(str(path))
        except Exception:  # noqa: BLE001 - a seed source that cannot be read is skipped
            continue
        decoder = PacketDecoder(DefectLog(10))
        try:
            for n, (ts, linktype, data) in enumerate(reader.frames(), 1):
                if n % 7 == 1 or len(seeds.frames) < per_kind:
                    seeds.frames.append((linktype, data))
                decoded = decoder.decode(n, ts, linktype, data)
                if decoded is None:
                    continue
                proto, src, sport, dst, dport, payload, _seq, _flags = decoded
                if not payload:
                    continue
                if proto == 6:
                    key = (path.name, src, sport, dst, dport)
                    buf = streams.setdefault(key, bytearray())
                    if len(buf) < 64 * 1024:
                        buf += payload
                    continue
                kind = classify(payload)
                if kind == "stun":
                    seeds.stun.append(payload)
                elif kind == "rtp":
                    seeds.rtp.append(payload)
                elif kind == "rtcp":
                    seeds.rtcp.append(payload)
        except Exception:  # noqa: BLE001 - keep the seeds read before a truncated end
            pass
        finally:
            reader.close()
        try:
            messages = lyncdump.open(str(path)).messages()
        except Exception:  # noqa: BLE001
            messages = []
        for m in messages:
            seeds.sip.append(m.raw)
            ctype = m.content_type or ""
            if ctype == "application/sdp":
                seeds.sdp.append(m.body)
            elif "xml" in ctype and m.body:
                seeds.xml.append((ctype, m.body))
            for part in m.body_parts():
                if part.content_type == "application/sdp":
                    seeds.sdp.append(part.body)
            for auth in auth_headers(m):
                seeds.auth.append(auth.raw)
                token = auth.token()
                if token:
                    seeds.tokens.append(token)
    for (name, *_), data in streams.items():
        head = bytes(data[:8])
        if head[:1] in (b"\x16", b"\x17") and head[1:2] == b"\x03":
            kind = "tls"
        elif head[:1].isalpha():
            kind = "sip"
        elif "compressed" in name or "sipcomp" in name:
            kind = "sipcomp"
        else:
            kind = "media"
        seeds.add_stream(kind, bytes(data))
    seeds.sip = _limit(seeds.sip, per_kind, 8192)
    seeds.sdp = _limit(seeds.sdp, per_kind, 4096)
    seeds.tokens = _limit(seeds.tokens, per_kind, 4096)
    seeds.stun = _limit(seeds.stun, per_kind, 2048)
    seeds.rtp = _limit(seeds.rtp, per_kind // 2, 512)
    seeds.rtcp = _limit(seeds.rtcp, per_kind, 1024)
    seeds.auth = list(dict.fromkeys(seeds.auth))[:per_kind]
    seeds.xml = list(dict.fromkeys(seeds.xml))[:per_kind]
    seeds.frames = seeds.frames[: per_kind * 8]
    return seeds


# -- captures: frames in, frames out ------------------------------------------------------------


def read_frames(data: bytes) -> list[tuple[float, int, bytes]]:
    """Every frame of a capture held in memory (those before a corrupt end, if any)."""
    from lyncdump.capture import open_capture

    out: list[tuple[float, int, bytes]] = []
    try:
        reader = open_capture(io.BytesIO(data))
        for frame in reader.frames():
            out.append(frame)
    except Exception:  # noqa: BLE001 - what was read before the error is what we have
        pass
    return out


def write_pcap(frames: list[tuple[float, int, bytes]]) -> bytes:
    """A little-endian nanosecond pcap (one link type: the first frame's; others are written
    with it too, which is itself a fine mutation)."""
    linktype = frames[0][1] if frames else 1
    out = [struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, linktype)]
    for ts, _lt, data in frames:
        sec = int(ts)
        nsec = int(round((ts - sec) * 1e9)) % 1_000_000_000
        out.append(struct.pack("<IIII", sec & 0xFFFFFFFF, nsec, len(data), len(data)) + data)
    return b"".join(out)


def payload_span(linktype: int, frame: bytes) -> tuple[int, int, int] | None:
    """(protocol, start, end) of the UDP/TCP payload inside a frame, by lyncdump's decoder."""
    from lyncdump.model import DefectLog
    from lyncdump.net.decode import PacketDecoder

    decoded = PacketDecoder(DefectLog(1)).decode(1, 0.0, linktype, frame)
    if decoded is None or not decoded[5]:
        return None
    payload = decoded[5]
    start = frame.rfind(payload)
    if start < 0:
        return None
    return decoded[0], start, start + len(payload)


def mutate_capture(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    """One structure-aware mutation of a capture: it stays a readable pcap most of the time
    and the damage lands in a payload a parser will look at."""
    frames = read_frames(data)
    choice = rng.random()
    if not frames or choice < 0.12:  # the file itself: its record headers, its end
        table = BINARY
        name = rng.choice(["bit_flip", "truncate", "length_fields", "interesting", "delete"])
        out = data
        for _ in range(rng.randint(1, 3)):
            out = table[name](out, rng.getrandbits(32))
        return out
    frames = list(frames)
    if choice < 0.22 and other is not None:  # splice frames of another capture in
        theirs = read_frames(other)
        if theirs:
            at = rng.randrange(len(frames) + 1)
            take = theirs[rng.randrange(len(theirs)) :][: rng.randint(1, 20)]
            frames[at:at] = [
                (frames[min(at, len(frames) - 1)][0], frames[0][1], f[2]) for f in take
            ]
            return write_pcap(frames)
    if choice < 0.3:  # frames dropped, repeated or reordered (TCP reassembly, fragments)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(frames))
            what = rng.random()
            if what < 0.4:
                del frames[i]
            elif what < 0.7:
                frames.insert(i, frames[i])
            else:
                j = rng.randrange(len(frames))
                frames[i], frames[j] = frames[j], frames[i]
            if not frames:
                break
        return write_pcap(frames) if frames else data[:24]
    # payload mutations, structure-aware by what the payload is
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(frames))
        ts, linktype, frame = frames[i]
        span = payload_span(linktype, frame)
        n = rng.getrandbits(32)
        if span is None:
            frames[i] = (ts, linktype, apply(frame, [(rng.choice(list(BINARY)), n)], BINARY))
            continue
        _proto, start, end = span
        payload = frame[start:end]
        if payload[:1].isalpha() or b"SIP/2.0" in payload[:64]:
            table = TEXT
        elif re.search(rb"[\x20\x60\x80\xa0\xe0]\x00\x00\x00", payload[:16]):
            table = SIPCOMP
        else:
            table = BINARY
        new = apply(payload, [(rng.choice(list(table)), n)], table)
        frames[i] = (ts, linktype, frame[:start] + new + frame[end:])
    return write_pcap(frames)


def mutate_text_log(data: bytes, rng: random.Random) -> bytes:
    """A trace log: text mutations, plus record markers dropped or repeated."""
    ops = [(rng.choice(list(TEXT)), rng.getrandbits(32)) for _ in range(rng.randint(1, 4))]
    out = apply(data, ops, TEXT)
    if rng.random() < 0.3:
        marks = [m.start() for m in re.finditer(rb"\$\$(?:begin|end)_record|:: ", out)]
        if marks:
            at = rng.choice(marks)
            out = out[:at] + (b"" if rng.random() < 0.5 else out[at : at + 16]) + out[at + 8 :]
    return out


def inputs(corpus: Path | None = None) -> list[Path]:
    """The campaign's starting inputs: sample captures and logs, and the corpus (if present)."""
    found = [p for p in CAPTURES.iterdir() if p.suffix in CAPTURE_SUFFIXES + LOG_SUFFIXES]
    if corpus is not None and corpus.is_dir():
        found += [p for p in corpus.iterdir() if p.suffix in CAPTURE_SUFFIXES]
    return sorted(found)
