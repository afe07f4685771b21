"""The options of a run: one frozen value, so that a run is reproducible from it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Options:
    """Everything that tunes a run (``lyncdump.open(path, **fields)``)."""

    max_tcp_pending: int = 1 << 20
    max_fragment_bytes: int = 4 << 20
    max_sip_message: int = 1 << 20
    max_defects: int = 10000
    progress: Callable[[int, float], None] | None = None
    progress_every: int = 8192
    #: Passwords tried on STUN MESSAGE-INTEGRITY (besides ICE passwords learned from SDP).
    stun_passwords: tuple[str, ...] = ()
    #: TLS keys: an NSS key log file, and RSA private keys (PEM, DER or PKCS#12; one path is
    #: taken as a tuple of one) with the password that opens those that need one; pcapng
    #: Decryption Secrets Blocks are always used (docs/tls.md).
    keylog: str | os.PathLike[str] | None = None
    rsa_key: tuple[str | os.PathLike[str], ...] | str | os.PathLike[str] | None = ()
    rsa_key_password: str | None = field(default=None, repr=False)  # never shown
    #: Remove IM text, credentials, auth tokens and keys from every message (``--redact``).
    redact: bool = False
    #: Check NTLMv2 proofs and SIP signatures with this password; never printed or kept.
    ntlm_password: str | None = field(default=None, repr=False)
    #: SRTP master keys (base64 of key || salt, as in ``a=crypto inline:``) tried on every
    #: RTP/RTCP flow besides the keys of the call's SDP.
    srtp_keys: tuple[str, ...] = ()
    #: Verify IPv4, UDP and TCP checksums, knowing about offload (net/checksum.py); off by
    #: default as in tshark. Bad ones are dropped with a defect; runs without the fast path.
    verify_checksums: bool = False
    #: The machine that wrote a Lync server log (``host`` or ``host:port``), shown as the local
    #: side of its messages (``--log-host``; docs/tracelog.md).
    log_host: str | None = None
    #: Streaming runs (``lyncdump.stream``, the CLI's NDJSON and summary): a session with no
    #: message for this many seconds of capture time is finished and emitted (an answered
    #: call waits for its BYE). 32 s is 64 x T1, the longest a SIP transaction lives.
    session_quiet: float = 32.0
    #: Streaming runs: messages held in open sessions, in total, before the least recently
    #: active session is emitted early (a bound against captures that never go quiet).
    max_held_messages: int = 200_000


__all__ = ["Options"]
