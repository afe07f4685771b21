"""STUN messages of a streaming run, kept out of memory once their records can no longer change.

``--json`` writes a ``stun`` record for every STUN/TURN message, after the sessions. Holding
them parsed costs about 1.25 kB each, so a long media-heavy run used to keep at most 100,000
and count the rest. A streaming run instead hands each message here once it has settled
(media/stun_pipeline.py: its answer, retransmissions and integrity keys have had their time),
and only what the record needs is written: the message's bytes, how it was parsed, and what
the pipeline and the ICE analysis found out about it (where and when it was seen, fingerprint,
integrity, retransmission, RTT, defects), about 150 bytes. Reading back parses the bytes again
(about 4 µs a message). The first megabytes stay in memory; past them the spool is a
temporary file, deleted when the spool is.
"""

from __future__ import annotations

import marshal
import struct
from collections.abc import Iterator
from typing import Any

from . import stun as s

#: Bytes of spooled messages held in memory before the spool moves to a temporary file
#: (about 30,000 messages).
MEMORY = 4 << 20
#: Bytes read at a time when the messages are read back.
_CHUNK = 1 << 20
_LENGTH = struct.Struct("<I")


class StunSpool:
    """Messages written once, read back in the order written (any number of times)."""

    def __init__(self, memory: int | None = None) -> None:
        import tempfile  # (with random and shutil: only a run that spools STUN loads them)

        size = MEMORY if memory is None else memory
        # (a max_size of 0 would mean "never move to a file")
        self._file: Any = tempfile.SpooledTemporaryFile(max_size=max(1, size))  # noqa: SIM115
        self.count = 0

    def add(self, msg: s.StunMessage) -> None:
        data = marshal.dumps(
            (
                msg.raw,
                msg.flavor,
                msg.frame,
                msg.time,
                msg.src,
                msg.dst,
                msg.transport,
                msg.fingerprint,
                msg.integrity,
                msg.depth,
                msg.retransmission,
                msg.rtt,
                msg.defects,
            )
        )
        self._file.write(_LENGTH.pack(len(data)) + data)
        self.count += 1

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[s.StunMessage]:
        f = self._file
        end = f.tell()
        f.seek(0)
        buf = memoryview(b"")
        pos = 0
        try:
            for _ in range(self.count):
                while pos + 4 > len(buf) or pos + 4 + _LENGTH.unpack_from(buf, pos)[0] > len(buf):
                    more = f.read(_CHUNK)  # records in bulk
                    if not more:
                        raise EOFError("STUN spool cut short")  # (only if the file was)
                    buf = memoryview(bytes(buf[pos:]) + more)
                    pos = 0
                (size,) = _LENGTH.unpack_from(buf, pos)
                record = marshal.loads(buf[pos + 4 : pos + 4 + size])
                pos += 4 + size
                (raw, flavor, frame, time, src, dst, transport, fingerprint, integrity, depth,
                 retransmission, rtt, defects) = record  # fmt: skip
                msg = s.parse(raw, flavor=flavor)  # it parsed when it was seen
                msg.frame, msg.time, msg.src, msg.dst = frame, time, src, dst
                msg.transport, msg.fingerprint, msg.integrity = transport, fingerprint, integrity
                msg.depth, msg.retransmission, msg.rtt = depth, retransmission, rtt
                msg.defects = list(defects)
                yield msg
        finally:
            f.seek(end)

    def close(self) -> None:
        self._file.close()


class StunMessages:
    """Every STUN message of a streaming run, in the order seen: those spooled, then those
    still settling in memory."""

    def __init__(self, spool: StunSpool, recent: list[s.StunMessage]) -> None:
        self.spool = spool
        self.recent = recent

    def __len__(self) -> int:
        return self.spool.count + len(self.recent)

    def __iter__(self) -> Iterator[s.StunMessage]:
        yield from self.spool
        yield from self.recent


__all__ = ["MEMORY", "StunMessages", "StunSpool"]
