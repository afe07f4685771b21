"""Machine output: NDJSON records with stable field names (the contract is docs/json.md).

One record per line, each with ``record`` naming its shape and ``source`` naming the input
it came from: an ``input`` record announcing the input, ``session`` objects (messages
inside), ..., then one ``capture`` object with counts, connections and defects.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..analysis.sessions import Session, Transaction
from ..sip.message import SipMessage
from .facts import message_facts

if TYPE_CHECKING:
    from ..analysis.diagnostics import Diagnostic

#: Bumped when a field changes meaning or disappears (adding fields does not bump it).
SCHEMA_VERSION = 1


def message_to_dict(m: SipMessage, *, verbose: bool = False) -> dict[str, Any]:
    """A SIP message as JSON: always frame, time, src, dst, transport, call_id, cseq and
    method (requests) or status (responses)."""
    cseq = m.cseq
    out: dict[str, Any] = {
        "frame": m.frame,
        "first_frame": m.first_frame,
        "time": m.time,
        "src": str(m.src) if m.src is not None else None,
        "dst": str(m.dst) if m.dst is not None else None,
        "transport": m.transport,
        "stream": m.stream_id,
        "call_id": m.call_id,
        "cseq": cseq[0] if cseq else None,
        "cseq_method": cseq[1] if cseq else None,
    }
    if m.is_request:
        out["method"] = m.method
        out["request_uri"] = m.request_uri
    else:
        out["status"] = m.status
        out["reason"] = m.reason
    from_, to = m.from_, m.to
    out["from"] = str(from_.uri) if from_ is not None and from_.uri is not None else None
    out["from_tag"] = from_.tag if from_ is not None else None
    out["to"] = str(to.uri) if to is not None and to.uri is not None else None
    out["to_tag"] = to.tag if to is not None else None
    out["content_type"] = m.content_type
    out["body_size"] = len(m.body)
    out["size"] = len(m.raw)
    out["compressed"] = bool(m.compressed)
    out["wire_size"] = m.wire_size
    out["partial"] = bool(m.partial)
    out["retransmission"] = bool(getattr(m, "retransmission", False))
    out["facts"] = message_facts(m)
    out["defects"] = [d.reason for d in m.defects]
    hop = getattr(m.dst if getattr(m.dst, "hop", None) else m.src, "hop", None)
    if hop:  # a server log's Direction source/destination (docs/tracelog.md)
        out["hop"] = {"source": hop[0] or None, "destination": hop[1] or None}
    encapsulation = getattr(m, "encapsulation", None)
    if encapsulation is not None:  # only on tunnelled messages (docs/json.md)
        out["encapsulation"] = encapsulation.to_dict()
    out["decoded"] = decoded_to_dict(m)
    if verbose:
        out["headers"] = [[name, value] for name, value in m.headers]
        out["body"] = m.body.decode("utf-8", "replace")
    return out


def decoded_to_dict(m: SipMessage) -> dict[str, Any]:
    """Every decoded layer of a message as fields (docs/json.md ``decoded``): ``sdp`` (each
    SDP part), and from msview ``auth`` (NTLM, Kerberos, TLS-DSK tokens), ``diagnostics``,
    ``conversation_id`` and ``xml``. Keys are present only for what the message carries."""
    from .msview import ms_decoded

    out: dict[str, Any] = {}
    if m.body:
        from ..media.stats import sdp_bodies

        sdps = []
        for body in sdp_bodies(m)[:8]:
            sdp = sdp_to_dict(body)
            if sdp is not None:
                sdps.append(sdp)
        if sdps:
            out["sdp"] = sdps
    out.update(ms_decoded(m))
    return out


def sdp_to_dict(body: bytes) -> dict[str, Any] | None:
    """One SDP body: session fields and each m-line with codecs, ICE candidates and crypto
    suites. Keys (``inline:``) and ICE passwords are never output: their presence is."""
    from ..errors import MalformedError
    from ..sdp import parse_sdp

    try:
        sdp = parse_sdp(body)
    except MalformedError:
        return None
    conn = sdp.connection
    media = []
    for md in sdp.media[:32]:
        c = sdp.media_connection(md)
        rtpmap = md.rtpmap()
        media.append(
            {
                "media": md.media,
                "port": md.port,
                "proto": md.proto,
                "formats": md.formats,
                "codecs": [
                    f"{rtpmap[int(f)][0]}/{rtpmap[int(f)][1]}"
                    if f.isdigit() and int(f) in rtpmap
                    else f
                    for f in md.formats
                ],
                "connection": c.address if c is not None else None,
                "rtcp_port": md.rtcp_port,
                "direction": md.direction,
                "label": md.label,
                "bandwidth": md.bandwidth(),
                "ice_ufrag": md.ice_ufrag,
                "ice_pwd": md.ice_pwd is not None,
                "candidates": [
                    {
                        "foundation": x.foundation,
                        "component": x.component,
                        "transport": x.transport,
                        "priority": x.priority,
                        "address": x.address,
                        "port": x.port,
                        "type": x.type,
                        "related_address": x.related_address,
                        "related_port": x.related_port,
                        "ice_version": x.ice_version,
                    }
                    for x in md.candidates()[:64]
                ],
                "crypto": [
                    {
                        "tag": k.tag,
                        "suite": k.suite,
                        "key": "(redacted)",
                        "lifetime": k.lifetime,
                        "mki": k.mki,
                        "mki_length": k.mki_length,
                        "scale": k.scale,
                    }
                    for k in md.cryptos()
                ],
            }
        )
    return {
        "version": sdp.version,
        "origin": sdp.origin,
        "session_name": sdp.session_name,
        "connection": conn.address if conn is not None else None,
        "ice_version": sdp.ice_version,
        "bandwidth": sdp.bandwidth(),
        "media": media,
        "defects": list(sdp.defects[:32]),
    }


def transaction_to_dict(t: Transaction) -> dict[str, Any]:
    return {
        "method": t.method,
        "cseq": t.cseq,
        "branch": t.branch,
        "final_status": t.final_status,
        "outcome": t.outcome,
        "responses": [r.status for r in t.responses],
        "request_retransmissions": t.request_retransmissions,
        "response_retransmissions": t.response_retransmissions,
        "cancelled": t.cancelled,
    }


def session_to_dict(
    s: Session,
    *,
    verbose: bool = False,
    diagnostics: list[Diagnostic] | None = None,
    hosts: dict[str | None, str] | None = None,
) -> dict[str, Any]:
    """A session: kind, call_id, messages, no method of its own; with ``diagnostics`` (trace
    logs only) the server-log diagnostic records joined to it."""
    record = {
        "record": "session",
        "schema": SCHEMA_VERSION,
        "kind": s.kind,
        "call_id": s.call_id,
        "part": s.part,
        "start": s.start,
        "end": s.end,
        "duration": round(s.duration, 6),
        "from": s.from_uri,
        "to": s.to_uri,
        "participants": s.participants,
        "outcome": s.outcome,
        "retransmissions": s.retransmissions,
        "transactions": [transaction_to_dict(t) for t in s.transactions],
        "messages": [message_to_dict(m, verbose=verbose) for m in s.messages],
    }
    if diagnostics is not None:
        from .diagnostics import diagnostic_to_dict

        record["diagnostics"] = [diagnostic_to_dict(d, hosts) for d in diagnostics]
    return record


def connection_to_dict(c: Any) -> dict[str, Any]:
    """A TCP connection as the ``capture`` record lists it (a ``ConnectionSummary``)."""
    return {
        "id": c.id,
        "client": str(c.client),
        "server": str(c.server),
        "protocol": c.protocol,
        "sip_messages": c.sip_messages,
        "compressed": c.compressed,
        "compression_layout": c.compression_layout,
        "compression_assumed": c.compression_assumed,
        "wire_bytes": c.wire_bytes,
        "plain_bytes": c.plain_bytes,
        "compression_ratio": (
            round(c.compression_ratio, 3) if c.compression_ratio is not None else None
        ),
        # TLS connections only: handshake, certificate, decryption (docs/tls.md).
        **({"tls": c.tls.to_dict()} if getattr(c, "tls", None) is not None else {}),
        # Tunnelled connections only (docs/network.md).
        **(
            {"encapsulation": c.encapsulation.to_dict()}
            if getattr(c, "encapsulation", None) is not None
            else {}
        ),
    }


class Deferred:
    """A list value of a record left as its items, each made into JSON only as the line is
    written (:func:`ndjson_line`): the ``connections`` of a capture record list up to 100,000
    connections, whose dicts all at once were about 600 B each (11.7 MB for 19,411) on top of
    the line."""

    __slots__ = ("items", "convert")

    def __init__(self, items: Iterable[Any], convert: Any) -> None:
        self.items = items
        self.convert = convert


def _stun_summary(capture: Any) -> dict[str, Any]:
    """render/stun_json.stun_summary, loaded only for a capture whose STUN pipeline started
    (a capture without STUN or TURN gets ``{}`` from it, and from here without the import)."""
    if getattr(getattr(capture, "media", None), "stun_started", None) is None:
        return {}
    from .stun_json import stun_summary

    return stun_summary(capture)


def capture_to_dict(
    capture: Any, sessions: list[Session] | None = None, *, deferred: bool = False
) -> dict[str, Any]:
    """The closing record: what was read, counted and found wrong. Session counts come from
    ``sessions`` when given (a merged time line), else from the run's own totals.
    ``deferred``: ``connections`` is a :class:`Deferred` for :func:`ndjson_line`."""
    stats = capture.stats
    kinds = Counter(s.kind for s in sessions) if sessions is not None else stats.sessions
    defects = capture.defects
    return {
        "record": "capture",
        "schema": SCHEMA_VERSION,
        "file": str(capture.name),
        "format": capture.format,
        "frames": stats.frames,
        "bytes": stats.bytes,
        "first_time": stats.first_time,
        "last_time": stats.last_time,
        "udp_datagrams": stats.udp_datagrams,
        "tcp_segments": stats.tcp_segments,
        "sip_messages": stats.sip_messages,
        "methods": dict(sorted(stats.methods.items())),
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "sessions": dict(sorted(kinds.items())),
        # Only when there were any: frames per tunnel kind, frames not decoded per kind.
        **_network(stats),
        "connections": (
            Deferred(capture.connections, connection_to_dict)
            if deferred
            else [connection_to_dict(c) for c in capture.connections]
        ),
        **_stun_summary(capture),
        "defects_total": len(defects),
        "defects": [d.to_dict() for d in defects],
        "error": str(capture.error) if capture.error is not None else None,
        # Lync trace logs only: their diagnostic / component records (docs/tracelog.md).
        **(_log_fields(capture, sessions) if str(capture.format).endswith("-log") else {}),
    }


def _log_fields(capture: Any, sessions: list[Session] | None) -> dict[str, Any]:
    """``log_events`` of a trace log; a server log adds ``log_host`` and ``diagnostics``."""
    from ..analysis.diagnostics import diagnostics_of
    from .diagnostics import counts_to_dict

    out: dict[str, Any] = {"log_events": [e.to_dict() for e in capture.log_events]}
    joined = getattr(capture, "diagnostics", None)
    index = joined() if callable(joined) else diagnostics_of(capture, sessions or [])
    if index.enabled:
        host = getattr(capture, "log_host", None) or (None, None)
        out["log_host"] = {
            "name": str(host[0]) if host[0] is not None else None,
            "from": host[1],
        }
        out["diagnostics"] = counts_to_dict(index)
    return out


def _network(stats: Any) -> dict[str, Any]:
    """``encapsulated`` and ``not_decoded`` frame counts by kind, each only when not empty
    (docs/network.md)."""
    out: dict[str, Any] = {}
    wrapped = getattr(stats, "encapsulated", None)
    if wrapped:
        out["encapsulated"] = dict(sorted(wrapped.items()))
    skipped = getattr(stats, "not_decoded", None)
    if skipped:
        out["not_decoded"] = dict(skipped)
    checksums = getattr(stats, "checksums", None)
    if checksums is not None:  # only with --verify-checksums
        out["checksums"] = checksums.to_dict()
    return out


def input_to_dict(
    source: str, *, index: int = 1, inputs: int = 1, files: list[str] | None = None
) -> dict[str, Any]:
    """The first record of each input: which input the records after it come from
    (``index`` of ``inputs`` in the run; ``files``: what it reads, several for a continuous
    set). Its totals come last, in the ``capture`` record."""
    return {
        "record": "input",
        "schema": SCHEMA_VERSION,
        "source": source,
        "index": index,
        "inputs": inputs,
        "files": files if files is not None else [source],
    }


def with_source(record: dict[str, Any], source: str) -> dict[str, Any]:
    """The record with ``source`` (the input as given) after ``record`` and ``schema``."""
    return {"record": record["record"], "schema": record["schema"], "source": source, **record}


def ndjson_lines(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Each record as one compact JSON line (no trailing newline)."""
    for record in records:
        yield ndjson_line(record)


def ndjson_line(record: dict[str, Any]) -> str:
    """One record as a compact JSON line; a :class:`Deferred` value is written item by item
    (the same text as ``json.dumps`` of the list it stands for)."""
    if not any(type(value) is Deferred for value in record.values()):
        return _dumps(record)
    pieces: list[str] = []
    for key, value in record.items():
        pieces.append("," if pieces else "{")
        pieces.append(_dumps(key))
        pieces.append(":")
        if type(value) is Deferred:
            convert = value.convert
            pieces.append("[")
            for n, item in enumerate(value.items):
                if n:
                    pieces.append(",")
                pieces.append(_dumps(convert(item)))
            pieces.append("]")
        else:
            pieces.append(_dumps(value))
    pieces.append("}" if pieces else "{}")
    return "".join(pieces)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
