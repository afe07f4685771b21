"""STUN, TURN and Microsoft's MS-TURN / MS-ICE2 / MS-TURNBWM messages: parse and serialize.

Three wire flavours share one header (type, length, 128-bit transaction field):

- ``rfc5389``: RFC 5389/8489 STUN and RFC 5766/8656 TURN, magic cookie 0x2112A442 in bytes 4..7,
  attributes padded to 4 bytes;
- ``ms-turn``: [MS-TURN], recognised by attribute 0x000F MAGIC-COOKIE (0x72C64BC6) first, never by
  the header (libnice's OC2007 client sends random 128-bit IDs); attributes are NOT padded,
  0x0014 is NONCE and 0x0015 REALM (swapped against RFC 5389), 0x0115 is a Data Indication;
- ``rfc3489``: classic STUN, no cookie (OCS 2007 era ICE draft 6 checks).

Parsing is cheap (header and attribute boundaries, values kept as slices); attribute values are
decoded into named fields only when asked (:func:`attribute_fields`), which is what output does.
Bad bytes raise :class:`MalformedError` (layer ``stun``) and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import MalformedError
from ..model import format_ip

MAGIC_COOKIE = 0x2112A442
MAGIC_COOKIE_BYTES = b"\x21\x12\xa4\x42"
#: Value of the MS-TURN MAGIC-COOKIE attribute (0x000F), first in every MS-TURN message.
MS_TURN_COOKIE = 0x72C64BC6
MS_TURN_COOKIE_ATTR = b"\x00\x0f\x00\x04\x72\xc6\x4b\xc6"
FINGERPRINT_XOR = 0x5354554E
HEADER_SIZE = 20

RFC5389 = "rfc5389"
MS_TURN = "ms-turn"
RFC3489 = "rfc3489"

_HEADER = struct.Struct("!HH")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")
_ZERO_PADS = (b"", b"\x00", b"\x00\x00", b"\x00\x00\x00")

# -- message types ----------------------------------------------------------------------------

#: RFC 5389 / 5766 / 6062 methods (12-bit method number -> name).
METHODS: dict[int, str] = {
    0x001: "Binding",
    0x002: "Shared Secret",
    0x003: "Allocate",
    0x004: "Refresh",
    0x006: "Send",
    0x007: "Data",
    0x008: "CreatePermission",
    0x009: "ChannelBind",
    0x00A: "Connect",
    0x00B: "ConnectionBind",
    0x00C: "ConnectionAttempt",
}
CLASSES = ("request", "indication", "success response", "error response")

#: MS-TURN raw message types whose meaning differs from the RFC 5389 reading.
MS_TURN_TYPES: dict[int, str] = {
    0x0004: "Send request",
    0x0104: "Send response",
    0x0114: "Send error response",
    0x0006: "Set Active Destination request",
    0x0106: "Set Active Destination response",
    0x0116: "Set Active Destination error response",
    0x0115: "Data indication",
}
#: Data Indication variants seen in old TURN drafts (open question 3 of the reference).
DATA_INDICATION_TYPES = frozenset((0x0115, 0x0017, 0x1115))


def split_type(msg_type: int) -> tuple[int, int]:
    """RFC 5389 type -> (method, class 0..3): the class bits are 4 and 8, the rest is method."""
    cls = ((msg_type >> 4) & 1) | ((msg_type >> 7) & 2)
    method = (msg_type & 0x000F) | ((msg_type >> 1) & 0x0070) | ((msg_type >> 2) & 0x0F80)
    return method, cls


def join_type(method: int, cls: int) -> int:
    """(method, class) -> RFC 5389 message type (inverse of :func:`split_type`)."""
    return (
        (method & 0x000F)
        | ((method & 0x0070) << 1)
        | ((method & 0x0F80) << 2)
        | ((cls & 1) << 4)
        | ((cls & 2) << 7)
    )


def type_name(msg_type: int, flavor: str = RFC5389) -> str:
    """``Allocate error response``, ``Data indication``, ``Binding request`` ..."""
    if msg_type == 0x1115 or (flavor == MS_TURN and msg_type in MS_TURN_TYPES):
        return MS_TURN_TYPES.get(msg_type, "Data indication")
    if msg_type == 0x0115:
        return "Data indication"
    method, cls = split_type(msg_type)
    return f"{METHODS.get(method, f'Method 0x{method:03x}')} {CLASSES[cls]}"


# -- attributes ---------------------------------------------------------------------------------

#: Attribute names as RFC 5389/8489, 3489, 5766/8656, 5245/8445, 6062, 5780, 7635, 8016 and
#: Microsoft's MS-TURN, MS-ICE2, MS-ICE2BWM and MS-TURNBWM give them.
ATTRIBUTE_NAMES: dict[int, str] = {
    0x0001: "MAPPED-ADDRESS",
    0x0002: "RESPONSE-ADDRESS",
    0x0003: "CHANGE-REQUEST",
    0x0004: "SOURCE-ADDRESS",
    0x0005: "CHANGED-ADDRESS",
    0x0006: "USERNAME",
    0x0007: "PASSWORD",
    0x0008: "MESSAGE-INTEGRITY",
    0x0009: "ERROR-CODE",
    0x000A: "UNKNOWN-ATTRIBUTES",
    0x000B: "REFLECTED-FROM",
    0x000C: "CHANNEL-NUMBER",
    0x000D: "LIFETIME",
    0x000E: "ALTERNATE-SERVER",
    0x000F: "MAGIC-COOKIE",
    0x0010: "BANDWIDTH",
    0x0011: "DESTINATION-ADDRESS",
    0x0012: "XOR-PEER-ADDRESS",
    0x0013: "DATA",
    0x0014: "REALM",
    0x0015: "NONCE",
    0x0016: "XOR-RELAYED-ADDRESS",
    0x0017: "REQUESTED-ADDRESS-FAMILY",
    0x0018: "EVEN-PORT",
    0x0019: "REQUESTED-TRANSPORT",
    0x001A: "DONT-FRAGMENT",
    0x001B: "ACCESS-TOKEN",
    0x001C: "MESSAGE-INTEGRITY-SHA256",
    0x001D: "PASSWORD-ALGORITHM",
    0x001E: "USERHASH",
    0x0020: "XOR-MAPPED-ADDRESS",
    0x0022: "RESERVATION-TOKEN",
    0x0024: "PRIORITY",
    0x0025: "USE-CANDIDATE",
    0x0026: "PADDING",
    0x0027: "RESPONSE-PORT",
    0x002A: "CONNECTION-ID",
    0x8000: "ADDITIONAL-ADDRESS-FAMILY",
    0x8001: "ADDRESS-ERROR-CODE",
    0x8002: "PASSWORD-ALGORITHMS",
    0x8003: "ALTERNATE-DOMAIN",
    0x8004: "ICMP",
    0x8006: "MS-ATTRIBUTE-8006",
    0x8008: "MS-VERSION",
    0x8020: "XOR-MAPPED-ADDRESS (MS)",
    0x8022: "SOFTWARE",
    0x8023: "ALTERNATE-SERVER",
    0x8025: "TRANSACTION-TRANSMIT-COUNTER",
    0x8027: "CACHE-TIMEOUT",
    0x8028: "FINGERPRINT",
    0x8029: "ICE-CONTROLLED",
    0x802A: "ICE-CONTROLLING",
    0x802B: "RESPONSE-ORIGIN",
    0x802C: "OTHER-ADDRESS",
    0x802D: "ECN-CHECK",
    0x802E: "THIRD-PARTY-AUTHORIZATION",
    0x8030: "MOBILITY-TICKET",
    0x8032: "MS-ALTERNATE-HOST-NAME",
    0x8036: "MS-ATTRIBUTE-8036",
    0x8037: "MS-APP-ID",
    0x8039: "MS-SECURE-TAG",
    0x8050: "MS-SEQUENCE-NUMBER",
    0x8054: "MS-CANDIDATE-IDENTIFIER",
    0x8055: "MS-SERVICE-QUALITY",
    0x8056: "BANDWIDTH-ADMISSION-CONTROL-MESSAGE",
    0x8057: "BANDWIDTH-RESERVATION-IDENTIFIER",
    0x8058: "BANDWIDTH-RESERVATION-AMOUNT",
    0x8059: "REMOTE-SITE-ADDRESS",
    0x805A: "REMOTE-RELAY-SITE-ADDRESS",
    0x805B: "LOCAL-SITE-ADDRESS",
    0x805C: "LOCAL-RELAY-SITE-ADDRESS",
    0x805D: "REMOTE-SITE-ADDRESS-RESPONSE",
    0x805E: "REMOTE-RELAY-SITE-ADDRESS-RESPONSE",
    0x805F: "LOCAL-SITE-ADDRESS-RESPONSE",
    0x8060: "LOCAL-RELAY-SITE-ADDRESS-RESPONSE",
    0x8061: "SIP-DIALOG-IDENTIFIER",
    0x8062: "SIP-CALL-IDENTIFIER",
    0x8068: "LOCATION-PROFILE",
    0x8070: "MS-IMPLEMENTATION-VERSION",
    0x8090: "MS-ALTERNATE-MAPPED-ADDRESS",
    0x8095: "MS-MULTIPLEXED-TURN-SESSION-ID",
    0xC057: "GOOG-NETWORK-INFO",
}
#: MS-TURN renames (its numbering predates RFC 5389/5766).
MS_ATTRIBUTE_NAMES: dict[int, str] = {
    0x0012: "REMOTE-ADDRESS",
    0x0014: "NONCE",
    0x0015: "REALM",
}

A_MAPPED = 0x0001
A_USERNAME = 0x0006
A_MESSAGE_INTEGRITY = 0x0008
A_ERROR_CODE = 0x0009
A_CHANNEL_NUMBER = 0x000C
A_LIFETIME = 0x000D
A_MS_COOKIE = 0x000F
A_BANDWIDTH = 0x0010
A_DESTINATION = 0x0011
A_PEER = 0x0012
A_DATA = 0x0013
A_MS_NONCE = 0x0014
A_MS_REALM = 0x0015
A_RELAYED = 0x0016
A_XOR_MAPPED = 0x0020
A_PRIORITY = 0x0024
A_USE_CANDIDATE = 0x0025
A_MS_VERSION = 0x8008
A_MS_XOR_MAPPED = 0x8020
A_FINGERPRINT = 0x8028
A_ICE_CONTROLLED = 0x8029
A_ICE_CONTROLLING = 0x802A
A_MS_ALT_MAPPED = 0x8090
A_MS_MUX_SESSION = 0x8095

#: Attributes holding a transport address; True when XOR'd with the transaction field.
ADDRESS_ATTRIBUTES: dict[int, bool] = {
    0x0001: False,
    0x0002: False,
    0x0004: False,
    0x0005: False,
    0x000B: False,
    0x000E: False,
    0x0011: False,
    0x0016: True,
    0x0020: True,
    0x8020: True,
    0x8023: False,
    0x802B: False,
    0x802C: False,
    0x8059: True,
    0x805A: True,
    0x805B: True,
    0x805C: True,
    0x8090: False,
}

ERROR_REASONS: dict[int, str] = {
    274: "Disable Candidate",
    275: "Disable Candidate Pair",
    300: "Try Alternate",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    405: "Mobility Forbidden",
    420: "Unknown Attribute",
    431: "Integrity Check Failure",
    432: "Missing Username",
    434: "Missing Realm",
    435: "Missing Nonce",
    436: "Unknown User",
    437: "Allocation Mismatch",
    438: "Stale Nonce",
    440: "Address Family not Supported",
    441: "Wrong Credentials",
    442: "Unsupported Transport Protocol",
    443: "Peer Address Family Mismatch",
    446: "Connection Already Exists",
    447: "Connection Timeout or Failure",
    486: "Allocation Quota Reached",
    487: "Role Conflict",
    500: "Server Error",
    508: "Insufficient Capacity",
}

MS_VERSIONS: dict[int, str] = {
    1: "MS-ICE",
    2: "MS-ICE2",
    3: "MS-ICE2 with SHA-256",
    4: "MS-ICE2 with SHA-256 and IPv6",
    5: "multiplexed TURN over UDP",
    6: "multiplexed TURN over UDP and TCP",
}
STREAM_TYPES = {1: "audio", 2: "video", 3: "supplemental video", 4: "data"}
SERVICE_QUALITIES = {0: "best effort", 1: "reliable"}
ACM_TYPES = {0: "Reservation Check", 1: "Reservation Commit", 2: "Reservation Update"}
LOCATIONS = {0: "unknown", 1: "Internet", 2: "Intranet"}
FEDERATIONS = {0: "none", 1: "enterprise", 2: "public cloud"}


@dataclass(slots=True)
class StunAttribute:
    """One TLV: its type, its value bytes and where the TLV starts in the message."""

    type: int
    value: bytes
    offset: int = 0
    #: The padding bytes as sent (RFC 5389 lets senders put anything there).
    padding: bytes = b""


@dataclass(slots=True)
class StunMessage:
    """One STUN/TURN message as on the wire; ``raw`` is exactly its bytes."""

    msg_type: int
    transaction: bytes  # the 16 bytes after the length field, cookie included
    attributes: list[StunAttribute]
    flavor: str = RFC5389
    raw: bytes = b""
    #: Set by the pipeline: where it was seen.
    frame: int | None = None
    time: float | None = None
    src: tuple[bytes, int] | None = None
    dst: tuple[bytes, int] | None = None
    transport: str = "UDP"
    #: ``valid`` / ``invalid`` / ``absent`` for FINGERPRINT and MESSAGE-INTEGRITY;
    #: ``unchecked`` when no key was known.
    fingerprint: str = "absent"
    integrity: str = "absent"
    #: How deep in TURN encapsulation this message was (0 = on its own flow).
    depth: int = 0
    retransmission: bool = False
    #: Seconds since the request this response answers (None for requests / unmatched).
    rtt: float | None = None
    defects: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return type_name(self.msg_type, self.flavor)

    @property
    def method(self) -> int:
        return split_type(self.msg_type)[0]

    @property
    def cls(self) -> int:
        """0 request, 1 indication, 2 success response, 3 error response."""
        if self.msg_type in DATA_INDICATION_TYPES and self.msg_type != 0x0017:
            return 1
        return split_type(self.msg_type)[1]

    @property
    def is_request(self) -> bool:
        return self.cls == 0

    @property
    def is_response(self) -> bool:
        return self.cls >= 2

    @property
    def transaction_id(self) -> str:
        """Hex of the transaction ID as tshark shows it: 96 bits after a cookie, else 128."""
        if self.transaction[:4] == MAGIC_COOKIE_BYTES:
            return self.transaction[4:].hex()
        return self.transaction.hex()

    def get(self, attr_type: int) -> bytes | None:
        """Value of the first attribute of that type (None when absent)."""
        for a in self.attributes:
            if a.type == attr_type:
                return a.value
        return None

    def has(self, attr_type: int) -> bool:
        return any(a.type == attr_type for a in self.attributes)

    def attribute_name(self, attr_type: int) -> str:
        return attribute_name(attr_type, self.flavor)

    def address(self, attr_type: int) -> tuple[bytes, int] | None:
        """A transport address attribute decoded (XOR undone when it is XOR'd), or None."""
        value = self.get(attr_type)
        if value is None:
            return None
        try:
            return decode_address(value, self.transaction, ADDRESS_ATTRIBUTES.get(attr_type, False))
        except MalformedError:
            return None

    def peer_address(self) -> tuple[bytes, int] | None:
        """XOR-PEER-ADDRESS (RFC 5766) or the plain MS-TURN REMOTE-ADDRESS."""
        value = self.get(A_PEER)
        if value is None:
            return None
        try:
            return decode_address(value, self.transaction, self.flavor != MS_TURN)
        except MalformedError:
            return None

    def to_dict(self) -> dict[str, Any]:
        """The ``stun`` record of docs/json.md, every attribute decoded."""
        from ..render.stun_json import stun_to_dict

        return stun_to_dict(self)

    def error(self) -> tuple[int, str] | None:
        value = self.get(A_ERROR_CODE)
        if value is None or len(value) < 4:
            return None
        code = (value[2] & 7) * 100 + value[3]
        reason = value[4:].decode("utf-8", "replace").rstrip("\x00")
        return code, reason or ERROR_REASONS.get(code, "")

    def u32(self, attr_type: int) -> int | None:
        value = self.get(attr_type)
        if value is None or len(value) < 4:
            return None
        return int(_U32.unpack_from(value)[0])


def attribute_name(attr_type: int, flavor: str = RFC5389) -> str:
    if flavor == MS_TURN and attr_type in MS_ATTRIBUTE_NAMES:
        return MS_ATTRIBUTE_NAMES[attr_type]
    return ATTRIBUTE_NAMES.get(attr_type, f"0x{attr_type:04x}")


# -- quick tests on raw bytes ---------------------------------------------------------------------


def looks_like_stun(data: bytes | memoryview, offset: int = 0) -> bool:
    """Header shape: top two bits 00, length fits, cookie or MS-TURN MAGIC-COOKIE first.

    Classic RFC 3489 messages (no cookie) only pass when the length matches the datagram
    exactly; see :func:`is_stun_datagram`.
    """
    if len(data) - offset < HEADER_SIZE or data[offset] & 0xC0:
        return False
    return bytes(data[offset + 4 : offset + 8]) == MAGIC_COOKIE_BYTES or (
        bytes(data[offset + 20 : offset + 28]) == MS_TURN_COOKIE_ATTR
    )


def is_stun_datagram(data: bytes) -> bool:
    """A whole datagram that is one STUN message: header shape and length field agree."""
    n = len(data)
    if n < HEADER_SIZE or data[0] & 0xC0:
        return False
    length = (data[2] << 8) | data[3]
    if length + HEADER_SIZE != n:
        return False
    if data[4:8] == MAGIC_COOKIE_BYTES or data[20:28] == MS_TURN_COOKIE_ATTR:
        return True
    # Classic STUN: attributes must walk exactly to the end with known-looking TLVs.
    if length % 4 or data[1] & 0xEE or data[0] > 0x01:
        return False
    pos = HEADER_SIZE
    while pos + 4 <= n:
        alen = (data[pos + 2] << 8) | data[pos + 3]
        pos += 4 + alen
    return pos == n


def message_size(data: bytes | memoryview, offset: int = 0) -> int | None:
    """Total size of the message starting at ``offset`` (header + length), None if cut short."""
    if len(data) - offset < 4:
        return None
    return HEADER_SIZE + ((data[offset + 2] << 8) | data[offset + 3])


_ICE_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def is_draft6_username(username: bytes) -> bool:
    """An MS-ICE draft 6 (MSN, Office Communicator 2007, libnice's OC2007 mode) check USERNAME:
    ``<remote>:<component>:<local>:<component>`` where remote and local are the *candidates'*
    base64-decoded usernames (binary), NUL-padded to a multiple of 4 bytes. Unlike RFC 5245's
    ``RFRAG:LFRAG`` (ice-chars only) it names candidates, not agents, so it cannot group the
    checks of one session by itself. [V: libnice 0.1.21 OC2007 on the wire]"""
    if len(username) % 4 or b":" not in username:
        return False
    head, colon, rest = username.partition(b":")
    if rest and b":" not in rest and set(head) <= _ICE_CHARS and set(rest) <= _ICE_CHARS:
        return False  # RFC 5245 ufrag pair
    body = username.rstrip(b"\x00")
    if len(username) - len(body) > 4:
        return False
    component = body.rsplit(b":", 1)[-1]
    if not component.isdigit() or len(component) > 3 or len(body) == len(component):
        return False
    return body.count(b":" + component + b":") >= 1


# -- parsing ---------------------------------------------------------------------------------


def parse(data: bytes, *, flavor: str | None = None) -> StunMessage:
    """One message occupying all of ``data``.

    The flavour is found from the bytes unless given: MS-TURN when the first attribute is the
    MS MAGIC-COOKIE, RFC 5389 when bytes 4..7 hold 0x2112A442, classic RFC 3489 otherwise.
    """
    n = len(data)
    if n < HEADER_SIZE:
        raise MalformedError("stun", 0, f"{n} bytes, shorter than the 20-byte header")
    msg_type, length = _HEADER.unpack_from(data)
    if msg_type & 0xC000:
        raise MalformedError("stun", 0, f"message type 0x{msg_type:04x} has top bits set")
    if length + HEADER_SIZE > n:
        raise MalformedError("stun", 2, f"length {length} runs past the {n}-byte buffer")
    if length + HEADER_SIZE < n:
        raise MalformedError("stun", 2, f"length {length} leaves {n - HEADER_SIZE - length} bytes")
    if flavor is None:
        if data[20:28] == MS_TURN_COOKIE_ATTR:
            flavor = MS_TURN
        elif data[4:8] == MAGIC_COOKIE_BYTES:
            flavor = RFC5389
        else:
            flavor = RFC3489
    padded = flavor != MS_TURN
    attrs: list[StunAttribute] = []
    append = attrs.append
    pos = HEADER_SIZE
    end = n
    while pos < end:
        if pos + 4 > end:
            raise MalformedError("stun", pos, "attribute header cut short")
        atype, alen = _HEADER.unpack_from(data, pos)
        vstart = pos + 4
        vend = vstart + alen
        if vend > end:
            raise MalformedError(
                "stun", pos, f"attribute 0x{atype:04x} length {alen} runs past the message"
            )
        start = pos
        pos = vend
        pad = b""
        if padded and alen & 3:
            pos = vend + 4 - (alen & 3)
            if pos > end:
                # The last attribute's padding is missing: tolerated, the value is whole.
                pos = end
            pad = data[vend:pos]
            if pad == _ZERO_PADS[len(pad)]:
                pad = b""
        append(StunAttribute(atype, data[vstart:vend], start, pad))
    return StunMessage(msg_type, bytes(data[4:20]), attrs, flavor, bytes(data))


def parse_many(data: bytes) -> list[StunMessage]:
    """Back-to-back messages in one buffer (TURN over TCP without framing)."""
    out: list[StunMessage] = []
    pos = 0
    n = len(data)
    while pos < n:
        size = message_size(data, pos)
        if size is None or pos + size > n:
            raise MalformedError("stun", pos, "message cut short")
        out.append(parse(data[pos : pos + size]))
        pos += size
    return out


# -- serializing ----------------------------------------------------------------------------


def serialize(
    msg_type: int,
    transaction: bytes,
    attributes: Iterable[tuple[int, bytes] | tuple[int, bytes, bytes]],
    *,
    flavor: str = RFC5389,
) -> bytes:
    """Build a message from (type, value) pairs; padded unless MS-TURN. No MI or FINGERPRINT
    is added: use :func:`add_integrity` / :func:`add_fingerprint` for those."""
    if len(transaction) != 16:
        raise ValueError("transaction field must be 16 bytes (cookie included)")
    body = bytearray()
    padded = flavor != MS_TURN
    for attr in attributes:
        atype, value = attr[0], attr[1]
        body += _HEADER.pack(atype, len(value)) + value
        if padded:
            need = (-len(value)) & 3
            pad = attr[2] if len(attr) > 2 else b""  # type: ignore[misc]
            body += pad if len(pad) == need else b"\x00" * need
    return _HEADER.pack(msg_type, len(body)) + transaction + bytes(body)


def to_bytes(msg: StunMessage) -> bytes:
    """Serialize a parsed message again (round trip: equals ``msg.raw`` for well-formed input)."""
    return serialize(
        msg.msg_type,
        msg.transaction,
        ((a.type, a.value, a.padding) for a in msg.attributes),
        flavor=msg.flavor,
    )


def _with_length(data: bytes, length: int) -> bytes:
    return data[:2] + _U16.pack(length) + data[4:]


def fingerprint_value(data_before: bytes) -> int:
    """CRC-32 of the message up to FINGERPRINT (length already covering it) XOR 0x5354554E."""
    return (binascii.crc32(data_before) & 0xFFFFFFFF) ^ FINGERPRINT_XOR


def add_fingerprint(message: bytes) -> bytes:
    """Append FINGERPRINT (RFC 5389 15.5)."""
    new_len = len(message) - HEADER_SIZE + 8
    head = _with_length(message, new_len)
    return head + _HEADER.pack(A_FINGERPRINT, 4) + _U32.pack(fingerprint_value(head))


def add_integrity(message: bytes, key: bytes, *, sha256: bool = False) -> bytes:
    """Append MESSAGE-INTEGRITY (HMAC-SHA1, or the 32-byte HMAC-SHA256 MS-TURN v3+ uses)."""
    import hashlib  # here and below: OpenSSL's hashes load with the first check, not every run
    import hmac

    size = 32 if sha256 else 20
    new_len = len(message) - HEADER_SIZE + 4 + size
    head = _with_length(message, new_len)
    mac = hmac.new(key, head, hashlib.sha256 if sha256 else hashlib.sha1).digest()
    return head + _HEADER.pack(A_MESSAGE_INTEGRITY, size) + mac


def long_term_key(username: bytes, realm: bytes, password: bytes) -> bytes:
    """RFC 5389 15.4 long-term credential key: MD5(username ":" realm ":" password)."""
    import hashlib

    return hashlib.md5(username + b":" + realm + b":" + password).digest()


def check_fingerprint(msg: StunMessage) -> str:
    """``valid`` / ``invalid`` / ``absent``."""
    for a in msg.attributes:
        if a.type == A_FINGERPRINT:
            if len(a.value) != 4:
                return "invalid"
            head = _with_length(msg.raw[: a.offset], a.offset + 8 - HEADER_SIZE)
            ok = fingerprint_value(head) == _U32.unpack(a.value)[0]
            return "valid" if ok else "invalid"
    return "absent"


def integrity_keys(msg: StunMessage, passwords: Iterable[bytes]) -> list[bytes]:
    """Candidate HMAC keys: each password as a short-term key, and the long-term key when the
    message names a user and a realm. Classic STUN (MS-ICE draft 6) keys with the candidate's
    password base64-decoded, as SDP and libnice's OC2007 mode carry it: that is tried too."""
    username = msg.get(A_USERNAME)
    realm_attr = A_MS_REALM if msg.flavor == MS_TURN else 0x0014
    realm = msg.get(realm_attr)
    keys: list[bytes] = []
    for pw in passwords:
        keys.append(pw)
        if msg.flavor == RFC3489 and len(pw) % 4 == 0:
            try:
                keys.append(base64.b64decode(pw, validate=True))
            except (binascii.Error, ValueError):
                pass
        if username is not None and realm is not None:
            keys.append(long_term_key(username, realm.strip(b'"'), pw))
            if realm.startswith(b'"'):
                keys.append(long_term_key(username, realm, pw))
    return keys


def check_integrity(msg: StunMessage, keys: Iterable[bytes]) -> str:
    """``valid`` when one key gives the MESSAGE-INTEGRITY on the wire, ``invalid`` when keys
    were tried and none matched, ``unchecked`` without keys, ``absent`` without the attribute.

    The HMAC covers the message up to the attribute with the length field ending just after
    it (RFC 5389); for MS-TURN the on-the-wire length is tried as well; for classic STUN also
    that text zero-padded to a multiple of 64 bytes, as RFC 3489 section 11.2.8 says (and
    MS-ICE draft 6 / libnice's OC2007 mode do).
    """
    import hashlib
    import hmac

    for a in msg.attributes:
        if a.type != A_MESSAGE_INTEGRITY:
            continue
        size = len(a.value)
        if size not in (20, 32):
            return "invalid"
        algo = hashlib.sha1 if size == 20 else hashlib.sha256
        before = msg.raw[: a.offset]
        variants = [_with_length(before, a.offset + 4 + size - HEADER_SIZE)]
        if msg.flavor == MS_TURN:
            variants.append(before)
        elif msg.flavor == RFC3489 and len(before) % 64:
            variants.append(variants[0] + bytes(-len(before) % 64))
        tried = False
        for key in keys:
            tried = True
            for v in variants:
                if hmac.compare_digest(hmac.new(key, v, algo).digest(), a.value):
                    return "valid"
        return "invalid" if tried else "unchecked"
    return "absent"


# -- attribute values ---------------------------------------------------------------------------


def decode_address(value: bytes, transaction: bytes, xored: bool) -> tuple[bytes, int]:
    """reserved(1) family(1) port(2) address(4|16) -> (address bytes, port).

    XOR'd forms use the wire bytes 4..7 (port: 4..5) and, for IPv6, all 16 bytes of the
    transaction field, never a constant cookie: that covers RFC 5389 and MS-TURN alike.
    """
    if len(value) < 8:
        raise MalformedError("stun", 0, f"address attribute of {len(value)} bytes")
    family = value[1]
    port = _U16.unpack_from(value, 2)[0]
    if family == 1:
        addr = value[4:8]
    elif family == 2:
        if len(value) < 20:
            raise MalformedError("stun", 0, f"IPv6 address attribute of {len(value)} bytes")
        addr = value[4:20]
    else:
        raise MalformedError("stun", 1, f"address family {family}")
    if xored:
        port ^= _U16.unpack_from(transaction)[0]
        addr = bytes(x ^ y for x, y in zip(addr, transaction, strict=False))
    return addr, port


def encode_address(addr: bytes, port: int, transaction: bytes, xored: bool) -> bytes:
    """Inverse of :func:`decode_address`."""
    family = 1 if len(addr) == 4 else 2
    if xored:
        port ^= _U16.unpack_from(transaction)[0]
        addr = bytes(x ^ y for x, y in zip(addr, transaction, strict=False))
    return bytes((0, family)) + _U16.pack(port) + addr


def format_address(addr: tuple[bytes, int]) -> str:
    ip = format_ip(addr[0])
    return f"[{ip}]:{addr[1]}" if ":" in ip else f"{ip}:{addr[1]}"


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _printable(value: bytes) -> str | None:
    """UTF-8 text when the bytes are printable, else None (show hex instead)."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def attribute_fields(msg: StunMessage, attr: StunAttribute) -> dict[str, object]:
    """Named fields of one attribute's value, for output. Never raises: a value that does
    not fit its layout comes back as ``{"raw": hex, "defect": reason}``."""
    try:
        return _fields(msg, attr.type, attr.value)
    except (MalformedError, struct.error, IndexError) as exc:
        return {"raw": attr.value.hex(), "defect": str(exc)}


def _fields(msg: StunMessage, t: int, v: bytes) -> dict[str, object]:
    ms = msg.flavor == MS_TURN
    if t in ADDRESS_ATTRIBUTES or t == A_PEER:
        xored = ADDRESS_ATTRIBUTES.get(t, not ms)
        addr = decode_address(v, msg.transaction, xored)
        return {"address": format_address(addr), "family": "IPv4" if v[1] == 1 else "IPv6"}
    if t == A_ERROR_CODE:
        code = (v[2] & 7) * 100 + v[3]
        return {"code": code, "reason": _text(v[4:]) or ERROR_REASONS.get(code, "")}
    if t == 0x000A:
        return {"types": [f"0x{x:04x}" for x in struct.unpack(f"!{len(v) // 2}H", v)]}
    if t in (A_USERNAME, 0x0007, 0x0014, 0x0015, 0x8022, 0x8032, 0x8003, 0x8061, 0x8062):
        text = _printable(v)
        return {"text": text} if text is not None else {"hex": v.hex()}
    if t in (A_MESSAGE_INTEGRITY, 0x001C):
        return {
            "hmac": v.hex(),
            "algorithm": "HMAC-SHA256" if len(v) == 32 else "HMAC-SHA1",
            "check": msg.integrity,
        }
    if t == A_FINGERPRINT:
        return {"crc32": f"0x{_U32.unpack(v)[0]:08x}", "check": msg.fingerprint}
    if t == A_MS_COOKIE:
        return {"value": f"0x{_U32.unpack(v)[0]:08x}"}
    if t in (A_LIFETIME, A_BANDWIDTH, A_PRIORITY, 0x8006, 0x8036, 0x8037, 0x8027):
        key = {A_LIFETIME: "seconds", A_BANDWIDTH: "kbps", A_PRIORITY: "priority"}.get(t, "value")
        return {key: _U32.unpack(v)[0]}
    if t == A_MS_VERSION:
        version = _U32.unpack(v)[0]
        return {"version": version, "meaning": MS_VERSIONS.get(version, "")}
    if t == 0x8070:
        version = _U32.unpack(v)[0]
        return {"version": version}
    if t == 0x0003:
        flags = _U32.unpack(v)[0]
        return {"change_ip": bool(flags & 4), "change_port": bool(flags & 2)}
    if t == A_CHANNEL_NUMBER:
        return {"channel": f"0x{_U16.unpack_from(v)[0]:04x}"}
    if t == A_DATA:
        return {"size": len(v)}
    if t == 0x0017 or t == 0x8000:
        return {"family": {1: "IPv4", 2: "IPv6"}.get(v[0], str(v[0]))}
    if t == 0x0018:
        return {"reserve": bool(v[0] & 0x80)}
    if t == 0x0019:
        return {"protocol": {17: "UDP", 6: "TCP"}.get(v[0], str(v[0]))}
    if t in (A_ICE_CONTROLLED, A_ICE_CONTROLLING):
        return {"tie_breaker": f"0x{_U64.unpack(v)[0]:016x}"}
    if t in (A_USE_CANDIDATE, 0x001A):
        return {}
    if t == 0x8050:
        return {"connection_id": v[:20].hex(), "sequence": _U32.unpack_from(v, 20)[0]}
    if t == 0x8054:
        text = _printable(v)
        return {"foundation": text} if text is not None else {"hex": v.hex()}
    if t == 0x8055:
        stream, quality = struct.unpack("!HH", v[:4])
        return {
            "stream_type": STREAM_TYPES.get(stream, str(stream)),
            "service_quality": SERVICE_QUALITIES.get(quality, str(quality)),
        }
    if t == 0x8056:
        kind = _U16.unpack_from(v, 2)[0]
        return {"message_type": ACM_TYPES.get(kind, str(kind))}
    if t == 0x8058:
        a, b, c, d = struct.unpack("!IIII", v[:16])
        return {"min_send_kbps": a, "max_send_kbps": b, "min_recv_kbps": c, "max_recv_kbps": d}
    if 0x805D <= t <= 0x8060:
        flags, send, recv = struct.unpack("!III", v[:12])
        out: dict[str, object] = {
            "valid": bool(flags & 0x80000000),
            "max_send_kbps": send,
            "max_recv_kbps": recv,
        }
        if t in (0x805D, 0x805F):
            out["pstn_failover"] = bool(flags & 0x40000000)
        return out
    if t == 0x8068:
        return {
            "peer_location": LOCATIONS.get(v[0], str(v[0])),
            "self_location": LOCATIONS.get(v[1], str(v[1])),
            "federation": FEDERATIONS.get(v[2], str(v[2])),
        }
    if t == 0xC057:
        network_id, cost = struct.unpack("!HH", v[:4])
        return {"network_id": network_id, "network_cost": cost}
    return {"hex": v.hex()}


__all__ = [
    "ATTRIBUTE_NAMES",
    "MS_TURN",
    "RFC3489",
    "RFC5389",
    "StunAttribute",
    "StunMessage",
    "add_fingerprint",
    "add_integrity",
    "attribute_fields",
    "attribute_name",
    "check_fingerprint",
    "check_integrity",
    "decode_address",
    "encode_address",
    "is_draft6_username",
    "is_stun_datagram",
    "looks_like_stun",
    "long_term_key",
    "parse",
    "parse_many",
    "serialize",
    "split_type",
    "join_type",
    "to_bytes",
    "type_name",
]
