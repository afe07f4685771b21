"""What an RTP payload type means: its name, its clock rate, and how much a codec hurts quality.

Names and clock rates follow the IANA RTP parameters registry, RFC 3551 and the Lync dynamic
types of [MS-RTPDT]/[MS-RTPRAD] (reference ms-media.md 5.4). Stream statistics must agree with
Wireshark's RTP analysis, so the clock rate used for jitter follows the same rule it does: static
payload types (0-95) take the static rate whatever the SDP says, dynamic ones (96-127) take the
rate of the call's ``a=rtpmap`` or, without one, the rate of a well-known encoding name, and
telephone events have no rate (their timestamp does not advance, RFC 4733 2.2.1).
"""

from __future__ import annotations

#: Short names of static payload types, as Wireshark's RTP Streams table prints them.
STATIC_NAMES: dict[int, str] = {
    0: "g711U",
    1: "fs-1016",
    2: "g721",
    3: "GSM",
    4: "g723",
    5: "DVI4 8k",
    6: "DVI4 16k",
    7: "Exp. from Xerox PARC",
    8: "g711A",
    9: "g722",
    10: "16-bit audio, stereo",
    11: "16-bit audio, monaural",
    12: "Qualcomm",
    13: "CN",
    14: "MPEG-I/II Audio",
    15: "g728",
    16: "DVI4 11k",
    17: "DVI4 22k",
    18: "g729",
    19: "CN(old)",
    25: "CellB",
    26: "JPEG",
    28: "NV",
    31: "h261",
    32: "MPEG-I/II Video",
    33: "MPEG-II streams",
    34: "h263",
}

#: Sampling clock of static payload types (RFC 3551 table 4/5; G.722 is 8000 by convention).
STATIC_CLOCK: dict[int, int] = {
    0: 8000, 1: 8000, 2: 8000, 3: 8000, 4: 8000, 5: 8000, 6: 16000, 7: 8000, 8: 8000,
    9: 8000, 10: 44100, 11: 44100, 12: 8000, 13: 8000, 14: 90000, 15: 8000, 16: 11025,
    17: 22050, 18: 8000, 19: 8000, 25: 90000, 26: 90000, 28: 90000, 31: 90000, 32: 90000,
    33: 90000, 34: 90000,
}  # fmt: skip

#: Clock rates of dynamic encodings by name (IANA media subtypes), for streams whose SDP gives
#: a name without a rate. Matched as a case-insensitive prefix, longest name first.
NAMED_CLOCK: dict[str, int] = {
    "amr": 8000, "amr-wb": 16000, "bmpeg": 90000, "bt656": 90000, "dv": 90000, "evrc": 8000,
    "evrc0": 8000, "evrc1": 8000, "evrcb": 8000, "evrcb0": 8000, "evrcb1": 8000,
    "evrcwb": 16000, "evrcwb0": 16000, "evrcwb1": 16000, "evs": 16000, "g7221": 16000,
    "g726-16": 8000, "g726-24": 8000, "g726-32": 8000, "g726-40": 8000, "g729d": 8000,
    "g729e": 8000, "gsm-efr": 8000, "h263-1998": 90000, "h263-2000": 90000, "h264": 90000,
    "mp1s": 90000, "mp2p": 90000, "mp4v-es": 90000, "mpa-robust": 90000, "opus": 48000,
    "pointer": 90000, "raw": 90000, "red": 1000, "smv": 8000, "smv0": 8000, "t140": 1000,
    "telephone-event": 8000,
}  # fmt: skip

#: Payload types Lync / Skype for Business offers in its SDP (ms-media.md 5.4): name, clock.
#: Used to name a dynamic type when no SDP was seen; never for jitter (Wireshark would not).
LYNC_DYNAMIC: dict[int, tuple[str, int]] = {
    97: ("RED", 8000),
    101: ("telephone-event", 8000),
    103: ("SILK", 16000),
    104: ("SILK", 8000),
    111: ("SIREN", 16000),
    112: ("G7221", 16000),
    114: ("x-msrta", 16000),
    115: ("x-msrta", 8000),
    116: ("AAL2-G726-32", 8000),
    117: ("G726-32", 8000),
    118: ("CN", 16000),
    121: ("x-rtvc1", 90000),
    122: ("X-H264UC", 90000),
    123: ("x-ulpfecuc", 90000),
    127: ("x-data", 90000),
}

#: Payload types that carry comfort noise (RFC 3389; 19 is the old reserved value).
COMFORT_NOISE = frozenset((13, 19))

#: The payload type Wireshark takes for RFC 4733 events when no SDP maps it (its
#: ``rtpevent.event_payload_type_value`` preference), named as it names it.
DEFAULT_EVENT_PT = 101


def payload_name(pt: int, rtpmap: dict[int, tuple[str, int]] | None = None) -> str:
    """The name shown for a payload type: the SDP's for dynamic types, else the static one."""
    if pt >= 96 and rtpmap is not None:
        entry = rtpmap.get(pt)
        if entry is not None:
            return entry[0]
    name = STATIC_NAMES.get(pt)
    if name is not None:
        return name
    if pt == DEFAULT_EVENT_PT:
        return "rtpevent"
    if 96 <= pt <= 127:
        return f"RTPType-{pt}"
    return "Unknown"


def named_clock(name: str) -> int:
    """Clock rate of a dynamic encoding known by name only (0 when unknown)."""
    lowered = name.lower()
    best = 0
    best_len = 0
    for known, rate in NAMED_CLOCK.items():
        if lowered.startswith(known) and len(known) > best_len:
            best, best_len = rate, len(known)
    return best


def jitter_clock(pt: int, rtpmap: dict[int, tuple[str, int]] | None = None) -> int:
    """Clock rate used for delay variation, 0 when it cannot be known (then no jitter).

    Static types use their static rate even when the SDP says otherwise; dynamic types need
    the SDP's rtpmap; telephone events have none.
    """
    if pt < 96:
        return STATIC_CLOCK.get(pt, 0)
    if rtpmap is None:
        return 0
    entry = rtpmap.get(pt)
    if entry is None:
        return 0
    name, rate = entry
    if name.lower().startswith("telephone-event"):
        return 0
    return rate if rate else named_clock(name)


def is_telephone_event(pt: int, rtpmap: dict[int, tuple[str, int]] | None) -> bool:
    """True when the call's SDP maps this payload type to RFC 4733 telephone events, or no SDP
    maps it and it is 101 (Wireshark's default for events)."""
    if pt < 96:
        return False
    entry = rtpmap.get(pt) if rtpmap is not None else None
    if entry is None:
        return pt == DEFAULT_EVENT_PT
    return entry[0].lower().startswith("telephone-event")


# -- E-model (ITU-T G.107) ---------------------------------------------------------------------

#: Equipment impairment Ie and packet-loss robustness Bpl per codec (ITU-T G.113 Appendix I,
#: G.107 Appendix I; Bpl of G.711 with PLC = 25.1 per G.113 Table I.3). Keys are lower case.
IMPAIRMENT: dict[str, tuple[float, float]] = {
    "g711u": (0.0, 25.1),
    "g711a": (0.0, 25.1),
    "pcmu": (0.0, 25.1),
    "pcma": (0.0, 25.1),
    "g722": (0.0, 25.1),
    "g729": (11.0, 19.0),
    "g723": (15.0, 16.1),
    "gsm": (20.0, 10.0),
    "g728": (7.0, 10.0),
    "g721": (7.0, 10.0),
    "g726-32": (7.0, 10.0),
    "ilbc": (10.0, 19.0),
    "silk": (0.0, 20.0),
    "siren": (0.0, 20.0),
    "g7221": (0.0, 20.0),
    "x-msrta": (0.0, 20.0),
    "opus": (0.0, 20.0),
}

#: Used by :func:`mos_lq` for codecs not in the table: a G.711-like codec without packet loss
#: concealment. Streams are not rated with it (:func:`rated_codec`).
DEFAULT_IMPAIRMENT = (0.0, 4.3)

#: Streams shorter than this are not rated: a loss ratio over a few packets says nothing.
MOS_MIN_SECONDS = 1.0


def rated_codec(names: list[str]) -> str | None:
    """The speech codec the E-model can rate among a stream's payload names (in payload type
    order), or None: comfort noise and telephone events are not speech, video is not rated,
    and a codec without published Ie/Bpl values (or an unnamed dynamic type) is not guessed."""
    for name in names:
        if name.lower() in IMPAIRMENT:
            return name
    return None


def mos_lq(codec: str, loss_percent: float, one_way_delay_ms: float = 0.0) -> float:
    """MOS estimate from the E-model (G.107): R = 93.2 - Id - Ie,eff, MOS from R (G.107 B.4).

    ``Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl + Bpl)`` (random loss, BurstR = 1); ``Id`` from the
    one-way delay by the simplified G.107 form ``0.024 d + 0.11 (d - 177.3) H(d - 177.3)``.
    """
    ie, bpl = IMPAIRMENT.get(codec.lower(), DEFAULT_IMPAIRMENT)
    ppl = max(0.0, min(100.0, loss_percent))
    ie_eff = ie + (95.0 - ie) * ppl / (ppl + bpl)
    d = max(0.0, one_way_delay_ms)
    idelay = 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)
    r = 93.2 - idelay - ie_eff
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    mos = 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
    return max(1.0, min(4.5, mos))
