"""SDP (RFC 4566/8866) session descriptions: the lines a call analyzer needs, kept general.

:func:`parse_sdp` takes the body bytes of a SIP message and returns a
:class:`SessionDescription`: session-level fields, then one :class:`MediaDescription` per
``m=`` line. Attributes stay an ordered list of ``(name, value)`` pairs (value ``None`` for
property attributes) at both levels, so later code (ICE candidates, offer/answer) can read any
of them without this module knowing them. Helpers decode the ones media decoding needs:
``a=rtpmap`` and ``a=crypto`` / Lync's ``a=cryptoscale`` (RFC 4568, [MS-SDPEXT] 3.1.5.2).

Reading is tolerant: a line that does not follow the grammar is skipped and described in
``defects``; only input that has no SDP line at all raises :class:`MalformedError`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import dataclass, field

from .errors import MalformedError

Attribute = tuple[str, "str | None"]


def packed_address(text: str) -> bytes | None:
    """``ipaddress.ip_address(text).packed``, None where it raises ValueError. The routine
    dotted quad (four ASCII decimal octets up to 255 without leading zeros: what
    ``ipaddress`` accepts of that shape) is read here; any other text goes to ``ipaddress``
    (about a tenth of its cost for an SDP's ``c=`` address)."""
    octets = text.split(".")
    if len(octets) == 4:
        for octet in octets:
            if not (0 < len(octet) <= 3 and octet.isascii() and octet.isdigit()):
                break
            if octet[0] == "0" and len(octet) > 1:
                break
        else:
            values = [int(octet) for octet in octets]
            if max(values) <= 255:
                return bytes(values)
    try:
        return ipaddress.ip_address(text).packed
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Connection:
    """``c=IN IP4 10.0.0.1`` (a multicast TTL/count suffix is dropped)."""

    net_type: str
    addr_type: str
    address: str

    @property
    def packed(self) -> bytes | None:
        """The address as 4/16 raw bytes (as the packet decoder gives them), None if a name."""
        return packed_address(self.address)


@dataclass(frozen=True, slots=True)
class Crypto:
    """An ``a=crypto`` (or ``a=cryptoscale``) line: SDES key material for SRTP.

    ``key`` is the master key and ``salt`` the master salt (16 + 14 bytes; AES_256_CM 32 + 14,
    AEAD_AES_128_GCM 16 + 12, AEAD_AES_256_GCM 32 + 12; both empty when ``--redact`` took them
    out); ``mki`` and ``mki_length`` come from the ``|value:length`` suffix (Lync offers ``1:1``).
    """

    tag: int
    suite: str
    key: bytes
    salt: bytes
    lifetime: str | None = None
    mki: int | None = None
    mki_length: int = 0
    scale: bool = False

    def __repr__(self) -> str:  # never print key material
        return f"Crypto(tag={self.tag}, suite={self.suite!r}, mki={self.mki}, scale={self.scale})"


@dataclass(slots=True)
class MediaDescription:
    """One ``m=`` section."""

    media: str
    port: int
    port_count: int
    proto: str
    formats: list[str]
    connection: Connection | None = None
    attributes: list[Attribute] = field(default_factory=list)
    #: Lines of this m-section other than ``a=``/``c=`` (``b=``, ``i=``, ``k=``), in order.
    lines: list[tuple[str, str]] = field(default_factory=list)

    def attribute(self, name: str) -> str | None:
        """Value of the first attribute called ``name`` (case-insensitive), None if absent."""
        lname = name.lower()
        for n, v in self.attributes:
            if n.lower() == lname:
                return v if v is not None else ""
        return None

    def rtpmap(self) -> dict[int, tuple[str, int]]:
        """``a=rtpmap:<pt> <name>/<rate>[/<channels>]`` as ``{pt: (name, rate)}``."""
        out: dict[int, tuple[str, int]] = {}
        for n, v in self.attributes:
            if n.lower() != "rtpmap" or not v:
                continue
            pt_text, _, encoding = v.strip().partition(" ")
            name, _, rest = encoding.strip().partition("/")
            rate_text = rest.partition("/")[0]
            try:
                pt = int(pt_text)
                rate = int(rate_text) if rate_text else 0
            except ValueError:
                continue
            if 0 <= pt <= 127 and name:
                out[pt] = (name, rate)
        return out

    def cryptos(self) -> list[Crypto]:
        """Every ``a=crypto`` and ``a=cryptoscale`` line that could be decoded, in order."""
        out = []
        for n, v in self.attributes:
            ln = n.lower()
            if ln in ("crypto", "cryptoscale") and v:
                c = parse_crypto(v, scale=ln == "cryptoscale")
                if c is not None:
                    out.append(c)
        return out

    def candidates(self) -> list[Candidate]:
        """ICE candidates of this m-line: ``a=candidate`` (ICE v19 or draft-6 syntax),
        ``a=x-candidate`` and ``a=x-candidate-ipv6``; lines that cannot be read are skipped."""
        out = []
        for n, v in self.attributes:
            ln = n.lower()
            if ln in ("candidate", "x-candidate", "x-candidate-ipv6") and v:
                c = parse_candidate(v)
                if c is not None:
                    out.append(c)
        return out

    @property
    def ice_ufrag(self) -> str | None:
        """``a=ice-ufrag`` (ICE v19 credentials are per m-line in Lync SDP)."""
        return self.attribute("ice-ufrag")

    @property
    def ice_pwd(self) -> str | None:
        return self.attribute("ice-pwd")

    @property
    def label(self) -> str | None:
        """``a=label`` / ``a=x-source`` ([MS-SDPEXT]): ``main-audio``, ``main-video`` ..."""
        return self.attribute("label") or self.attribute("x-source")

    @property
    def direction(self) -> str:
        """``sendrecv`` (the default), ``sendonly``, ``recvonly`` or ``inactive``."""
        for n, _v in self.attributes:
            if n.lower() in ("sendrecv", "sendonly", "recvonly", "inactive"):
                return n.lower()
        return "sendrecv"

    @property
    def ssrc_range(self) -> tuple[int, int] | None:
        """``a=x-ssrc-range:<first>-<last>``: the SSRCs this sender will use."""
        value = self.attribute("x-ssrc-range")
        if not value:
            return None
        a, _, b = value.strip().partition("-")
        try:
            first, last = int(a), int(b or a)
        except ValueError:
            return None
        return (first, last) if 0 <= first <= last <= 0xFFFFFFFF else None

    def ssrcs(self) -> list[tuple[int, int]]:
        """The SSRCs this m-line's sender announced, as (first, last) ranges: each RFC 5576
        ``a=ssrc:<id> ...`` once, and Lync's ``a=x-ssrc-range``."""
        out: list[tuple[int, int]] = []
        rng = self.ssrc_range
        if rng is not None:
            out.append(rng)
        seen: set[int] = set()
        for n, v in self.attributes:
            if n.lower() != "ssrc" or not v:
                continue
            head = v.split(None, 1)[0]
            if head.isdigit() and int(head) <= 0xFFFFFFFF and int(head) not in seen:
                seen.add(int(head))
                out.append((int(head), int(head)))
        return out

    def bandwidth(self) -> dict[str, int]:
        """``b=<type>:<kbps>`` lines of this m-line (``{"CT": 99980}``)."""
        return _bandwidths(self.lines)

    @property
    def rtcp_port(self) -> int:
        """``a=rtcp:<port>`` if given, the RTP port itself with ``a=rtcp-mux``, else port + 1."""
        value = self.attribute("rtcp")
        if value:
            try:
                return int(value.split()[0])
            except ValueError:
                pass
        if self.attribute("rtcp-mux") is not None:
            return self.port
        return self.port + 1


@dataclass(slots=True)
class SessionDescription:
    """A whole SDP body."""

    version: int | None = None
    origin: str | None = None
    session_name: str | None = None
    connection: Connection | None = None
    attributes: list[Attribute] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def media_connection(self, m: MediaDescription) -> Connection | None:
        """The address media ``m`` is received on: its own ``c=`` or the session's."""
        return m.connection or self.connection

    def attribute(self, name: str) -> str | None:
        """Value of the first session-level attribute called ``name``, None if absent."""
        lname = name.lower()
        for n, v in self.attributes:
            if n.lower() == lname:
                return v if v is not None else ""
        return None

    @property
    def ice_version(self) -> str | None:
        """``"19"`` (MS-ICE2 / RFC 5245 ``typ`` candidates or ``a=ice-ufrag``), ``"6"``
        (MS-ICE draft-6 candidates, the fallback part of a Lync offer) or None (no ICE)."""
        found: str | None = None
        for m in self.media:
            if m.ice_ufrag is not None:
                return "19"
            for c in m.candidates():
                if c.ice_version == "19":
                    return "19"
                found = "6"
        if self.attribute("ice-ufrag") is not None:
            return "19"
        return found

    def bandwidth(self) -> dict[str, int]:
        """Session-level ``b=<type>:<kbps>`` lines (those before the first ``m=``)."""
        head = []
        for kind, value in self.lines:
            if kind == "m":
                break
            head.append((kind, value))
        return _bandwidths(head)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ICE candidate line, in either syntax Lync writes.

    ICE v19 ([MS-ICE2], RFC 5245): ``<foundation> <component> <UDP|TCP-ACT|TCP-PASS|TCP>
    <priority> <ip> <port> typ <type> [raddr <ip> rport <port>]``. ICE draft-6 ([MS-ICE]):
    ``<username> <component> <password> <UDP|TCP> <qvalue> <ip> <port>`` (no type: "host"
    is assumed, ``priority`` holds the q-value times 1000).
    """

    foundation: str
    component: int
    transport: str
    priority: int
    address: str
    port: int
    type: str = "host"
    related_address: str | None = None
    related_port: int | None = None
    ice_version: str = "19"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def packed(self) -> bytes | None:
        return packed_address(self.address)


def parse_candidate(value: str) -> Candidate | None:
    """A candidate attribute value (after ``a=candidate:``), None when it cannot be read."""
    t = value.split()
    if len(t) < 6:
        return None
    try:
        component = int(t[1])
        if len(t) >= 8 and t[6].lower() == "typ":
            port = int(t[5])
            related_addr = related_port = None
            extra = t[8:]
            for i in range(0, len(extra) - 1, 2):
                if extra[i] == "raddr":
                    related_addr = extra[i + 1]
                elif extra[i] == "rport":
                    related_port = int(extra[i + 1])
            if not 0 <= port <= 65535:
                return None
            return Candidate(
                t[0], component, t[2].upper(), int(t[3]), t[4], port, t[7].lower(),
                related_addr, related_port,
            )  # fmt: skip
        if len(t) >= 7:  # draft-6: username component password transport qvalue ip port
            port = int(t[6])
            q = float(t[4])
            if not 0 <= port <= 65535 or not 0.0 <= q <= 1.0:
                return None
            return Candidate(
                t[0], component, t[3].upper(), int(round(q * 1000)), t[5], port, "host",
                ice_version="6", username=t[0], password=t[2],
            )  # fmt: skip
    except ValueError:
        return None
    return None


def _bandwidths(lines: list[tuple[str, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind, value in lines:
        if kind != "b":
            continue
        name, _, number = value.partition(":")
        try:
            out[name.strip()] = int(number.strip())
        except ValueError:
            continue
    return out


#: Master key and salt sizes of the SDES suites whose key || salt is not 16 + 14 bytes.
_CRYPTO_KEY_SIZES = {
    "AES_256_CM_HMAC_SHA1_80": (32, 14),
    "AES_256_CM_HMAC_SHA1_32": (32, 14),
    "AEAD_AES_128_GCM": (16, 12),
    "AEAD_AES_256_GCM": (32, 12),
}


def parse_crypto(value: str, *, scale: bool = False) -> Crypto | None:
    """``<tag> <suite> inline:<base64 key||salt>[|lifetime][|mki:len]`` ([MS-SDPEXT] adds a
    direction word after the tag of ``a=cryptoscale``). None when it cannot be used."""
    parts = value.split()
    if len(parts) < 3:
        return None
    try:
        tag = int(parts[0])
    except ValueError:
        return None
    rest = parts[1:]
    if scale and rest and "_" not in rest[0]:
        rest = rest[1:]  # "client" / "server" direction word
    if len(rest) < 2 or not rest[1].lower().startswith("inline:"):
        return None
    suite = rest[0]
    # RFC 4568 allows several key-params, ";"-separated (by MKI): the first one is used
    fields = rest[1].split(";", 1)[0][7:].split("|")
    key_size = _CRYPTO_KEY_SIZES.get(suite.upper(), (16, 14))
    if fields[0] == "<redacted>":  # --redact took the key out: the suite is still known
        material = b""
    else:
        try:
            material = base64.b64decode(fields[0] + "=" * (-len(fields[0]) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(material) != sum(key_size):
            return None
    lifetime: str | None = None
    mki: int | None = None
    mki_length = 0
    for extra in fields[1:]:
        if ":" in extra:
            a, _, b = extra.partition(":")
            try:
                mki, mki_length = int(a), int(b)
            except ValueError:
                return None
            if not 1 <= mki_length <= 128:
                return None
        else:
            lifetime = extra
    size = key_size[0]
    return Crypto(tag, suite, material[:size], material[size:], lifetime, mki, mki_length, scale)


def _connection(value: str) -> Connection | None:
    parts = value.split()
    if len(parts) < 3:
        return None
    return Connection(parts[0], parts[1], parts[2].split("/")[0])


def parse_sdp(body: bytes) -> SessionDescription:
    """Parse an SDP body (CRLF or LF lines; UTF-8 with replacement)."""
    text = body.decode("utf-8", "replace")
    sd = SessionDescription()
    current: MediaDescription | None = None
    seen_any = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
            sd.defects.append(f"line {number}: not <type>=<value>")
            continue
        seen_any = True
        kind, value = line[0], line[2:]
        sd.lines.append((kind, value))
        if kind == "m":
            parts = value.split()
            if len(parts) < 3:
                sd.defects.append(f"line {number}: m= needs media, port and proto")
                current = None
                continue
            port_text, _, count_text = parts[1].partition("/")
            try:
                port = int(port_text)
                count = int(count_text) if count_text else 1
            except ValueError:
                sd.defects.append(f"line {number}: bad port {parts[1]!r}")
                current = None
                continue
            if not 0 <= port <= 65535:
                sd.defects.append(f"line {number}: port {port} out of range")
                current = None
                continue
            current = MediaDescription(parts[0], port, count, parts[2], parts[3:])
            sd.media.append(current)
        elif kind == "c":
            conn = _connection(value)
            if conn is None:
                sd.defects.append(f"line {number}: bad c= line")
            elif current is not None:
                current.connection = conn
            else:
                sd.connection = conn
        elif kind == "a":
            name, sep, attr_value = value.partition(":")
            attr: Attribute = (name, attr_value if sep else None)
            (current.attributes if current is not None else sd.attributes).append(attr)
        elif current is not None:
            current.lines.append((kind, value))
        else:
            if kind == "v":
                try:
                    sd.version = int(value)
                except ValueError:
                    sd.defects.append(f"line {number}: bad version")
            elif kind == "o":
                sd.origin = value
            elif kind == "s":
                sd.session_name = value
    if not seen_any:
        raise MalformedError("sdp", 0, "no SDP line in body")
    return sd
