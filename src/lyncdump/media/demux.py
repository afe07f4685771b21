"""Who speaks on a media port: first-byte classification (RFC 7983 plus Microsoft's cases).

RFC 7983 sorts a datagram by its first byte: 0-3 STUN, 16-19 ZRTP, 20-63 DTLS, 64-79 TURN
ChannelData, 128-191 RTP/RTCP. Microsoft adds 0xFF10 multiplexed TURN frames ([MS-TURN] 2.2.3)
and, on TCP 443, the fixed pseudo-TLS hello, which must never be taken for real TLS. RTP and
RTCP are told apart by the second byte (RFC 5761: 192..223 is RTCP).

The port preferences mirror the Lync Wireshark plugin's (UDP 3478, TCP 443, dynamic
1024-65535 on/off); classification itself works on any port, the preferences only say which
ports are *expected* to carry TURN (used to trust weaker signals there).
"""

from __future__ import annotations

from dataclasses import dataclass

from .stun import MAGIC_COOKIE_BYTES, MS_TURN_COOKIE_ATTR, is_stun_datagram
from .turn_tcp import is_pseudo_tls_client_hello, is_pseudo_tls_server_hello

STUN = "stun"
CHANNEL_DATA = "channel-data"
MULTIPLEXED_TURN = "ms-multiplexed-turn"
RTP = "rtp"
RTCP = "rtcp"
DTLS = "dtls"
TLS = "tls"
PSEUDO_TLS = "pseudo-tls"
ZRTP = "zrtp"
EDGE_REPLICATION = "ms-edge-replication"
UNKNOWN = "unknown"

#: Channel number of MS-TURN multiplexed frames.
MULTIPLEXED_CHANNEL = 0xFF10


@dataclass(frozen=True, slots=True)
class PortPreferences:
    """Where TURN is expected, as the Lync plugin's preferences put it."""

    udp_turn: int = 3478
    tcp_turn: tuple[int, ...] = (443, 3478)
    dynamic: bool = True
    dynamic_low: int = 1024
    dynamic_high: int = 65535

    def turn_port(self, port: int, *, tcp: bool = False) -> bool:
        """True for the configured TURN ports (and any dynamic port when that is on)."""
        if (tcp and port in self.tcp_turn) or (not tcp and port == self.udp_turn):
            return True
        return self.dynamic and self.dynamic_low <= port <= self.dynamic_high


def classify(data: bytes) -> str:
    """Name what a datagram (or one unframed TCP record) is from its first bytes."""
    if not data:
        return UNKNOWN
    first = data[0]
    if first < 4:
        if (
            is_stun_datagram(data)
            or data[4:8] == MAGIC_COOKIE_BYTES
            or (data[20:28] == MS_TURN_COOKIE_ATTR)
        ):
            return STUN
        return UNKNOWN
    if 16 <= first <= 19:
        return ZRTP
    if 20 <= first <= 63:
        if first == 0x16 and (is_pseudo_tls_client_hello(data) or is_pseudo_tls_server_hello(data)):
            return PSEUDO_TLS
        if 20 <= first <= 23 and data[1:2] == b"\x03":
            return TLS
        if 20 <= first <= 25 and data[1:2] == b"\xfe":
            return DTLS
        return DTLS if len(data) >= 13 else UNKNOWN
    if 64 <= first <= 79:
        return CHANNEL_DATA if len(data) >= 4 else UNKNOWN
    if 128 <= first <= 191:
        if len(data) < 2:
            return UNKNOWN
        return RTCP if 192 <= data[1] <= 223 else RTP
    if first == 0xFF and len(data) >= 12:
        second = data[1]
        if second == 0x10:
            return MULTIPLEXED_TURN
        if second == 0x80:
            return EDGE_REPLICATION
    return UNKNOWN


def channel_data(data: bytes) -> tuple[int, bytes] | None:
    """(channel, payload) of a ChannelData message (padding after it ignored), or None."""
    if len(data) < 4:
        return None
    channel = (data[0] << 8) | data[1]
    length = (data[2] << 8) | data[3]
    if 4 + length > len(data):
        return None
    return channel, data[4 : 4 + length]


def multiplexed_frame(data: bytes) -> tuple[bytes, bytes] | None:
    """(8-byte session ID, payload) of an 0xFF10 multiplexed TURN frame, or None."""
    if len(data) < 12 or data[0] != 0xFF or data[1] != 0x10:
        return None
    length = (data[2] << 8) | data[3]
    if length < 8 or 4 + length > len(data):
        return None
    return data[4:12], data[12 : 4 + length]


__all__ = [
    "PortPreferences",
    "channel_data",
    "classify",
    "multiplexed_frame",
]
