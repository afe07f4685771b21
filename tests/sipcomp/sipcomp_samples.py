"""SIP-like traffic for the MS-SIPCOMP tests: plain functions and hypothesis strategies."""

from __future__ import annotations

import random

from hypothesis import strategies as st

USERS = ["alice", "bob", "carol", "dave", "erin"]
METHODS = ["INVITE", "MESSAGE", "SUBSCRIBE", "BENOTIFY", "INFO", "BYE", "REGISTER", "ACK"]


def sip_message(rng: random.Random, body_size: int | None = None) -> bytes:
    """One request or response with Lync-looking headers and an optional body."""
    a, b = rng.sample(USERS, 2)
    method = rng.choice(METHODS)
    call_id = f"{rng.getrandbits(128):032x}"
    if rng.random() < 0.4:
        start = rng.choice(["SIP/2.0 200 OK", "SIP/2.0 100 Trying", "SIP/2.0 401 Unauthorized"])
    else:
        start = (
            f"{method} sip:{b}@contoso.com;gruu;opaque=user:epid:{rng.getrandbits(40):x} SIP/2.0"
        )
    size = rng.choice([0, 0, 40, 300, 1500]) if body_size is None else body_size
    words = ["<presence>", "availability", "3500", "</note>", "sip:", "contoso", "a=candidate:1"]
    body = " ".join(rng.choice(words) for _ in range(size // 8 + 1))[:size].encode()
    head = (
        f"{start}\r\n"
        f"Via: SIP/2.0/TLS 10.0.{rng.randrange(256)}.{rng.randrange(256)}"
        f":{rng.randrange(1024, 65535)}"
        f";branch=z9hG4bK{rng.getrandbits(32):08x};ms-received-port=5061\r\n"
        f'From: "{a.title()}" <sip:{a}@contoso.com>;tag={rng.getrandbits(40):x}'
        f";epid={rng.getrandbits(40):x}\r\n"
        f"To: <sip:{b}@contoso.com>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {rng.randrange(1, 99)} {method}\r\n"
        f"User-Agent: UCCAPI/15.0.4753.1000 OC/15.0.4753.1000 (Microsoft Lync)\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def sip_traffic(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    return [sip_message(rng) for _ in range(count)]


@st.composite
def sip_messages(draw: st.DrawFn) -> bytes:
    """A SIP-like message, sometimes huge (FLUSHED: > 8 KiB) or binary (incompressible)."""
    kind = draw(st.sampled_from(["sip", "sip", "sip", "sip", "big", "noise", "tiny"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = random.Random(seed)
    if kind == "big":
        return sip_message(rng, body_size=draw(st.integers(6000, 12000)))
    if kind == "noise":
        return rng.randbytes(draw(st.integers(1, 600)))
    if kind == "tiny":
        return draw(st.binary(min_size=0, max_size=12))
    return sip_message(rng)
