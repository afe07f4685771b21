# ruff: noqa: E501  (the SIP templates below read better as long lines)
"""Throughput of the MS-SIPCOMP codec on realistic Lync SIP traffic, beside zlib.

Builds a few hundred KB of varied SIP messages (REGISTER with auth tokens, SUBSCRIBE/NOTIFY
with presence XML, INVITE/200 with ICE-laden SDP, MESSAGE, BYE, keep-alives), compresses them as
one MS-SIPCOMP direction would (one packet per message, 8 KiB history) and times:

* MPPC decompression and compression, MB/s of plain text;
* the compiled inflate alone (``mppc_inflate`` on each compressed packet, exact history, no
  per-packet Python beyond the call), when the fast path is built;
* the same text through zlib (one stream, Z_SYNC_FLUSH per message, the fair peer) for the
  reference ratio and speed;
* the full framing path (SipcompStreamDecoder on the wire bytes).

Run: ``python benchmarks/bench_mppc.py [--kb 400] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import base64
import random
import time
import zlib

from lyncdump import fastpath
from lyncdump.sipcomp.mppc import MppcCompressor, MppcDecompressor
from lyncdump.sipcomp.stream import SipcompStreamDecoder, SipcompStreamEncoder

USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
DOMAIN = "contoso.com"


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _common(rng: random.Random, method: str, cseq: int, frm: str, to: str, call_id: str) -> str:
    return (
        f"Via: SIP/2.0/TLS {_ip(rng)}:{rng.randrange(1024, 65535)};branch=z9hG4bK{_hex(rng, 8)};"
        f"ms-received-port={rng.randrange(1024, 65535)};ms-received-cid={_hex(rng, 5).upper()}\r\n"
        f"Max-Forwards: 70\r\n"
        f'From: "{frm.title()}" <sip:{frm}@{DOMAIN}>;tag={_hex(rng, 10)};epid={_hex(rng, 10)}\r\n'
        f"To: <sip:{to}@{DOMAIN}>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"User-Agent: UCCAPI/15.0.4753.1000 OC/15.0.4753.1000 (Microsoft Lync)\r\n"
    )


def _message(rng: random.Random) -> bytes:
    kind = rng.choice(["register", "subscribe", "notify", "invite", "ok", "message", "bye", "info"])
    a, b = rng.sample(USERS, 2)
    call_id = _hex(rng, 32)
    cseq = rng.randrange(1, 50)
    if kind == "register":
        token = base64.b64encode(rng.randbytes(rng.choice([64, 180, 900]))).decode()
        body = ""
        head = f"REGISTER sip:{DOMAIN} SIP/2.0\r\n" + _common(rng, "REGISTER", cseq, a, a, call_id)
        head += (
            f"Contact: <sip:{_ip(rng)}:{rng.randrange(1024, 65535)};transport=tls;ms-opaque={_hex(rng, 10)}>;"
            f'methods="INVITE, MESSAGE, INFO, SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";'
            f'proxy=replace;+sip.instance="<urn:uuid:{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 12)}>"\r\n'
            f"Supported: gruu-10, adhoclist, msrtc-event-categories, ms-benotify, ms-keep-alive\r\n"
            f'Authorization: TLS-DSK qop="auth", realm="SIP Communications Service", opaque="{_hex(rng, 8).upper()}", '
            f'crand="{_hex(rng, 8)}", cnum="{rng.randrange(1, 999)}", targetname="fe01.{DOMAIN}", response="{token[:40]}"\r\n'
            f'Proxy-Authorization: Kerberos qop="auth", realm="SIP Communications Service", gssapi-data="{token}"\r\n'
        )
    elif kind == "subscribe":
        cats = "".join(
            f"<name>{c}</name>"
            for c in rng.sample(
                [
                    "contactCard",
                    "note",
                    "state",
                    "services",
                    "calendarData",
                    "userProperties",
                    "routing",
                    "userInformation",
                    "alerts",
                    "device",
                ],
                6,
            )
        )
        body = (
            '<batchSub xmlns="http://schemas.microsoft.com/2006/01/sip/batch-subscribe" uri="sip:'
            f'{a}@{DOMAIN}" name=""><action name="subscribe" id="{rng.randrange(10**8)}"><adhocList>'
            + "".join(f'<resource uri="sip:{u}@{DOMAIN}"/>' for u in rng.sample(USERS, 4))
            + f'</adhocList><categoryList xmlns="http://schemas.microsoft.com/2006/09/sip/categories">{cats}'
            "</categoryList></action></batchSub>"
        )
        head = f"SUBSCRIBE sip:{a}@{DOMAIN} SIP/2.0\r\n" + _common(
            rng, "SUBSCRIBE", cseq, a, a, call_id
        )
        head += (
            "Event: presence\r\nAccept: application/msrtc-event-categories+xml, "
            "application/xpidf+xml, application/pidf+xml, application/rlmi+xml, multipart/related\r\n"
            "Supported: com.microsoft.autoextend, ms-benotify, ms-piggyback-first-notify\r\n"
            "Require: adhoclist, categoryList\r\n"
            "Content-Type: application/msrtc-adrl-categorylist+xml\r\n"
        )
    elif kind == "notify":
        avail = rng.choice([3500, 6500, 9500, 12500, 15500, 18500])
        body = "".join(
            f'<categories xmlns="http://schemas.microsoft.com/2006/09/sip/categories" uri="sip:{u}@{DOMAIN}">'
            f'<category name="state" instance="{rng.randrange(10**9)}" publishTime="2024-03-{rng.randrange(1, 28):02d}T'
            f'{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}">'
            f'<state xsi:type="aggregateState" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xmlns="http://schemas.microsoft.com/2006/09/sip/state"><availability>{avail}</availability>'
            f'<delimiter xmlns="http://schemas.microsoft.com/2006/09/sip/commontypes" /></state></category>'
            f'<category name="note"><note xmlns="http://schemas.microsoft.com/2006/09/sip/note">'
            f'<body type="personal" uri="">{rng.choice(["In a meeting", "Back at 3", "Working from home", "Out of office until Monday"])}'
            f"</body></note></category></categories>"
            for u in rng.sample(USERS, rng.randrange(1, 4))
        )
        head = f"BENOTIFY sip:{a}@{DOMAIN};gruu SIP/2.0\r\n" + _common(
            rng, "BENOTIFY", cseq, b, a, call_id
        )
        head += "Event: presence\r\nSubscription-State: active;expires=36000\r\nContent-Type: application/msrtc-event-categories+xml\r\n"
    elif kind in ("invite", "ok"):
        cands = "".join(
            f"a=candidate:{i} {c} {_hex(rng, 16)} UDP 0.{rng.randrange(100, 999)} {_ip(rng)} {rng.randrange(50000, 50100)}\r\n"
            for i in range(1, 5)
            for c in (1, 2)
        )
        body = (
            f"v=0\r\no=- 0 0 IN IP4 {_ip(rng)}\r\ns=session\r\nc=IN IP4 {_ip(rng)}\r\nb=CT:99980\r\nt=0 0\r\n"
            f"m=audio {rng.randrange(50000, 50100)} RTP/SAVP 114 9 112 111 0 8 116 115 4 97 13 118 101\r\n"
            f"a=ice-ufrag:{_hex(rng, 4)}\r\na=ice-pwd:{base64.b64encode(rng.randbytes(18)).decode()}\r\n"
            + cands
            + f"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:{base64.b64encode(rng.randbytes(30)).decode()}|2^31|1:1\r\n"
            "a=maxptime:200\r\na=rtcp:50001\r\na=rtpmap:114 x-msrta/16000\r\na=fmtp:114 bitrate=29000\r\n"
            "a=rtpmap:9 G722/8000\r\na=rtpmap:112 G7221/16000\r\na=fmtp:112 bitrate=24000\r\n"
            "a=rtpmap:111 SIREN/16000\r\na=fmtp:111 bitrate=16000\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:8 PCMA/8000\r\na=rtpmap:116 AAL2-G726-32/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
            "a=fmtp:101 0-16\r\na=encryption:optional\r\n"
        )
        if kind == "invite":
            head = f"INVITE sip:{b}@{DOMAIN} SIP/2.0\r\n" + _common(
                rng, "INVITE", cseq, a, b, call_id
            )
        else:
            head = "SIP/2.0 200 OK\r\n" + _common(rng, "INVITE", cseq, a, b, call_id)
        head += (
            f"Contact: <sip:{a}@{DOMAIN};opaque=user:epid:{_hex(rng, 22)};gruu>\r\n"
            f"Ms-Conversation-ID: {base64.b64encode(rng.randbytes(12)).decode()}\r\n"
            "Supported: ms-dialog-route-set-update, timer, histinfo, ms-safe-transfer, ms-sender, ms-early-media\r\n"
            "ms-endpoint-location-data: NetworkScope;ms-media-location-type=Intranet\r\n"
            "Content-Type: application/sdp\r\n"
        )
    elif kind == "message":
        text = " ".join(
            rng.choice(
                [
                    "hi",
                    "can",
                    "you",
                    "join",
                    "the",
                    "call",
                    "at",
                    "noon",
                    "thanks",
                    "see",
                    "deck",
                    "attached",
                    "ok",
                    "great",
                    "meeting",
                    "moved",
                ]
            )
            for _ in range(rng.randrange(3, 30))
        )
        body = text
        head = f"MESSAGE sip:{b}@{DOMAIN};opaque=user:epid:{_hex(rng, 22)};gruu SIP/2.0\r\n"
        head += _common(rng, "MESSAGE", cseq, a, b, call_id)
        head += (
            "Content-Type: text/plain; charset=UTF-8\r\nMs-IM-Format: text/plain; charset=UTF-8; ms-body="
            + base64.b64encode(text.encode()).decode()
            + "\r\n"
        )
    elif kind == "bye":
        body = ""
        head = f"BYE sip:{b}@{DOMAIN};opaque=user:epid:{_hex(rng, 22)};gruu SIP/2.0\r\n" + _common(
            rng, "BYE", cseq, a, b, call_id
        )
        head += 'ms-client-diagnostics: 51004; reason="Action initiated by user"\r\n'
    else:
        body = '<?xml version="1.0"?><KeyboardActivity><status status="idle" /></KeyboardActivity>'
        head = f"INFO sip:{b}@{DOMAIN} SIP/2.0\r\n" + _common(rng, "INFO", cseq, a, b, call_id)
        head += "Content-Type: application/xml\r\n"
    return (head + f"Content-Length: {len(body.encode())}\r\n\r\n" + body).encode()


def make_traffic(kb: int, seed: int = 2024) -> list[bytes]:
    """Varied SIP messages totalling about ``kb`` KiB."""
    rng = random.Random(seed)
    out: list[bytes] = []
    total = 0
    while total < kb * 1024:
        msg = _message(rng)
        out.append(msg)
        total += len(msg)
    return out


def _best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Best wall time of ``repeat`` runs after one warm-up (shared machines are noisy)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()

    messages = make_traffic(args.kb)
    plain = sum(len(m) for m in messages)
    mb = plain / 1e6

    def compress() -> list[tuple[int, bytes]]:
        c = MppcCompressor()
        return [c.compress(m) for m in messages]

    packets = compress()
    wire = sum(len(p) for _, p in packets)
    flushed = sum(1 for f, _ in packets if f & 0x80)

    def decompress() -> None:
        d = MppcDecompressor()
        for (f, p), m in zip(packets, messages, strict=True):
            if d.decompress(p, f) != m:
                raise SystemExit("round trip failed")

    inflate = fastpath.helper("mppc_inflate")

    def inflate_alone() -> None:
        hist = bytearray(8192)
        pos = 0
        for flags, p in packets:
            if flags & 0x80:  # FLUSHED: history reset, payload raw
                hist[:] = bytes(8192)
                pos = 0
            if flags & 0x40:  # AT_FRONT
                pos = 0
            if flags & 0x20:
                pos = inflate(hist, None, pos, 8192, p, 0, len(p) * 8, 0)[0]
            else:
                hist[pos : pos + len(p)] = p
                pos += len(p)

    enc = SipcompStreamEncoder()
    stream = b"".join(enc.encode(m) for m in messages)
    segments = [stream[i : i + 1460] for i in range(0, len(stream), 1460)]

    def framed() -> None:
        s = SipcompStreamDecoder()
        n = 0
        for i, seg in enumerate(segments):
            s.receive_data(seg, i, 0.0)
            while s.next_packet() is not None:
                n += 1
        if n != len(messages):
            raise SystemExit(f"framing decoded {n} of {len(messages)} packets")

    def zlib_compress() -> list[bytes]:
        z = zlib.compressobj(6, zlib.DEFLATED, -15)
        return [z.compress(m) + z.flush(zlib.Z_SYNC_FLUSH) for m in messages]

    zparts = zlib_compress()
    zwire = sum(len(p) for p in zparts)

    def zlib_decompress() -> None:
        z = zlib.decompressobj(-15)
        for p in zparts:
            z.decompress(p)

    t_dec = _best(decompress, args.repeat)
    t_com = _best(compress, args.repeat)
    t_frm = _best(framed, args.repeat)
    t_inf = _best(inflate_alone, args.repeat) if inflate is not None else None
    t_zd = _best(zlib_decompress, args.repeat)
    t_zc = _best(zlib_compress, args.repeat)
    whole = len(zlib.compress(b"".join(messages), 6))

    print(f"traffic: {len(messages)} SIP messages, {plain / 1024:.0f} KiB plain")
    print(f"lyncdump decodes MPPC with the {fastpath.describe()}")
    print(
        f"MPPC (lyncdump):              {wire / plain:6.1%} of plain ({flushed} FLUSHED)"
        f"   decompress {mb / t_dec:6.1f} MB/s   compress {mb / t_com:6.1f} MB/s"
    )
    print(
        f"  + MS-SIPCOMP framing (1460-byte segments):            decode     {mb / t_frm:6.1f} MB/s"
    )
    if t_inf is not None:
        print(
            f"  the compiled inflate alone (mppc_inflate per packet):  decode     {mb / t_inf:6.1f} MB/s"
        )
    print(
        f"zlib -6, sync flush per msg:  {zwire / plain:6.1%} of plain"
        f"               decompress {mb / t_zd:6.1f} MB/s   compress {mb / t_zc:6.1f} MB/s"
    )
    print(f"zlib -6, whole text at once:  {whole / plain:6.1%} of plain")
    print(
        f"ratio MPPC/zlib (per message): {wire / zwire:.2f}x the bytes;"
        f" decompression speed {t_zd / t_dec:.3f}x zlib's"
    )


if __name__ == "__main__":
    main()
