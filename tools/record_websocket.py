"""Record SIP over WebSocket (RFC 7118) between a real WebSocket client and server on loopback.

    python tools/record_websocket.py captures/sip-websocket.pcapng

Uses the ``websockets`` library (pip install websockets) for both ends, tcpdump on the
loopback interface (root, or a tcpdump allowed to capture) and Wireshark's editcap, which puts
the TLS key log into the pcapng (a Decryption Secrets Block) so the sample opens without a key
file. Three connections are recorded in one file, each a sign-in and a call (REGISTER, 401, REGISTER, 200; INVITE with SDP, 100, 180,
200, ACK; BYE, 200):

1. ``ws`` without extensions, the INVITE sent as three fragments with a ping in between;
2. ``ws`` with permessage-deflate (the library's default), so every message is compressed
   with the window kept from one message to the next;
3. ``wss``: the same over TLS 1.3, its keys inside the pcapng.

Clients mask every frame (RFC 6455 §5.3), as a real client does. The output is committed with
its expected outputs (tools/update_expected.py); rerunning gives new random masks and keys.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websockets

PORTS = (18080, 18081, 18443)

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 20000 RTP/SAVPF 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
)


def sip(start: str, cseq: str, call: str, extra: str = "", body: str = "") -> str:
    return (
        f"{start}\r\n"
        f"Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK{call}{cseq.split()[0]}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=ws1\r\n"
        "To: <sip:bob@example.com>\r\n"
        f"Call-ID: {call}\r\n"
        f"CSeq: {cseq}\r\n"
        f"{extra}"
        f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
    )


def answer(request: str) -> list[str]:
    """What the server (a registrar and the callee in one) says to each request."""
    start, _, rest = request.partition("\r\n")
    method = start.split(" ", 1)[0]
    headers = dict(
        line.split(": ", 1) for line in rest.split("\r\n\r\n", 1)[0].split("\r\n") if ": " in line
    )
    call, cseq = headers["Call-ID"], headers["CSeq"]
    if method == "REGISTER":
        if "Authorization" not in headers:
            return [sip("SIP/2.0 401 Unauthorized", cseq, call,
                        'WWW-Authenticate: Digest realm="example.com", nonce="ws"\r\n')]  # fmt: skip
        return [sip("SIP/2.0 200 OK", cseq, call, "Expires: 600\r\n")]
    if method == "INVITE":
        return [
            sip("SIP/2.0 100 Trying", cseq, call),
            sip("SIP/2.0 180 Ringing", cseq, call),
            sip("SIP/2.0 200 OK", cseq, call, "Content-Type: application/sdp\r\n", SDP),
        ]
    if method in ("BYE", "OPTIONS"):
        return [sip("SIP/2.0 200 OK", cseq, call)]
    return []


async def serve(ws: websockets.ServerConnection) -> None:
    async for request in ws:
        for reply in answer(str(request)):
            await ws.send(reply)


async def client(url: str, tag: str, fragment: bool, **kwargs: object) -> None:
    async with websockets.connect(url, subprotocols=["sip"], **kwargs) as ws:  # type: ignore[arg-type]
        reg = f"reg-{tag}"
        await ws.send(sip("REGISTER sip:example.com SIP/2.0", "1 REGISTER", reg))
        await ws.recv()
        await ws.send(sip("REGISTER sip:example.com SIP/2.0", "2 REGISTER", reg,
                          'Authorization: Digest username="alice", realm="example.com"\r\n'))  # fmt: skip
        await ws.recv()
        call = f"call-{tag}"
        invite = sip("INVITE sip:bob@example.com SIP/2.0", "1 INVITE", call,
                     "Content-Type: application/sdp\r\n", SDP)  # fmt: skip
        if fragment:
            third = len(invite) // 3
            await ws.send([invite[:third], invite[third : 2 * third], invite[2 * third :]])
            await ws.ping(b"keep-alive")
        else:
            await ws.send(invite)
        for _ in range(3):
            await ws.recv()
        await ws.send(sip("ACK sip:bob@example.com SIP/2.0", "1 ACK", call))
        await asyncio.sleep(0.2)
        await ws.send(sip("BYE sip:bob@example.com SIP/2.0", "2 BYE", call))
        await ws.recv()


def tls_contexts(workdir: Path, keylog: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key, cert = workdir / "key.pem", workdir / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
         "-out", cert, "-days", "30", "-subj", "/CN=ws.example.com"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    client_ctx.keylog_filename = str(keylog)
    return server, client_ctx


async def run(keylog: Path, workdir: Path) -> None:
    plain, deflate, secure = PORTS
    server_tls, client_tls = tls_contexts(workdir, keylog)
    async with (
        websockets.serve(serve, "127.0.0.1", plain, subprotocols=["sip"], compression=None),
        websockets.serve(serve, "127.0.0.1", deflate, subprotocols=["sip"]),
        websockets.serve(serve, "127.0.0.1", secure, subprotocols=["sip"], ssl=server_tls,
                         compression=None),  # fmt: skip
    ):
        await client(f"ws://127.0.0.1:{plain}/sip", "ws", True, compression=None)
        await client(f"ws://127.0.0.1:{deflate}/sip", "deflate", False)
        await client(f"wss://127.0.0.1:{secure}/sip", "wss", False, ssl=client_tls,
                     compression=None)  # fmt: skip


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "captures/sip-websocket.pcapng")
    ports = " or ".join(f"tcp port {p}" for p in PORTS)
    with tempfile.TemporaryDirectory() as tmp:
        raw, keylog = Path(tmp) / "raw.pcap", Path(tmp) / "tls.keys"
        dump = subprocess.Popen(
            ["tcpdump", "-i", "lo", "-U", "-s", "0", "--time-stamp-precision=micro",
             "-w", str(raw), ports],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)
        try:
            asyncio.run(run(keylog, Path(tmp)))
            time.sleep(1.0)
        finally:
            dump.terminate()
            dump.wait(10)
        subprocess.run(
            ["editcap", "--inject-secrets", f"tls,{keylog}", str(raw), str(out)], check=True
        )
    os.chmod(out, 0o644)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
