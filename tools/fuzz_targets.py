"""Every parser of lyncdump as a fuzz target: bytes in, a full decode (lazy views included),
nothing raised but :class:`~lyncdump.errors.LyncdumpError`, and the bounds each one promises.

A target names the seeds it starts from (:class:`fuzz_mutations.Seeds` fields) and the
mutation table that suits its input (text or binary).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import fuzz_mutations as fm

from lyncdump.errors import LyncdumpError, MalformedError


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], None]
    seeds: str  # attribute of Seeds, or "streams:<kind>"
    table: dict[str, fm.Mutation]


def _sip(data: bytes) -> None:
    from lyncdump.sip.message import parse_message

    for datagram in (True, False):
        try:
            m = parse_message(data, datagram=datagram)
        except MalformedError:
            continue
        # the lazily parsed views: every one of them must cope with what the parser let in
        views = (m.via, m.from_, m.to, m.contact, m.route, m.record_route, m.cseq, m.call_id)
        views += (m.content_length, m.max_forwards, m.expires, m.supported, m.require, m.allow)
        views += (m.content_type, m.content_type_params, m.body_text)
        for part in m.body_parts():
            views += (part.body_text, part.body_parts(), part.content_id)
        _ms_views(m)
        _redact(data, datagram)


def _ms_views(m: object) -> None:
    from lyncdump.analysis.im import im_text
    from lyncdump.analysis.registration import decoded_tokens
    from lyncdump.render import facts, msview
    from lyncdump.sip.ms import diagnostics_of, endpoint_list, ms_header_summary, text_formats

    text_formats(m), diagnostics_of(m), endpoint_list(m), ms_header_summary(m)  # type: ignore[arg-type]
    decoded_tokens(m), im_text(m)  # type: ignore[arg-type]
    msview.ms_facts(m), msview.verbose_lines(m)  # type: ignore[arg-type]
    facts.message_facts(m)  # type: ignore[arg-type]


def _redact(data: bytes, datagram: bool) -> None:
    from lyncdump.render.redact import redact_message
    from lyncdump.sip.message import parse_message

    m = parse_message(data, datagram=datagram)
    redact_message(m)
    assert m.raw.endswith(m.body)
    assert m.header("content-length") in (None, str(len(m.body)))


def _sdp(data: bytes) -> None:
    from lyncdump.sdp import parse_sdp

    try:
        sd = parse_sdp(data)
    except MalformedError:
        return
    sd.ice_version, sd.bandwidth()
    for media in sd.media:
        media.cryptos(), media.candidates(), media.rtpmap(), media.direction, media.ssrc_range
        media.bandwidth(), media.rtcp_port, sd.media_connection(media)


def _xml(data: bytes) -> None:
    from lyncdump.sip.xmlbody import summarize_xml

    for ctype in ("application/xml", "application/msrtc-category-publish+xml", None):
        summary = summarize_xml(ctype, data)
        assert summary is None or isinstance(summary, str)


def _auth(data: bytes) -> None:
    from lyncdump.sip.auth import decode_token, parse_auth

    text = data.decode("utf-8", "replace")
    for header in ("Authorization", "WWW-Authenticate", "Authentication-Info"):
        auth = parse_auth(text, header)
        auth.kind, auth.version, auth.signature, auth.sa_key, auth.token()
        try:
            decode_token(auth)
        except MalformedError:
            pass


def _tokens(data: bytes) -> None:
    from lyncdump.sip.auth import parse_tls_dsk
    from lyncdump.sip.kerberos import parse_gss_token
    from lyncdump.sip.ntlm import parse_ntlm

    for parse in (parse_ntlm, parse_gss_token, parse_tls_dsk):
        try:
            parse(data)
        except MalformedError:
            pass


def _stun(data: bytes) -> None:
    from lyncdump.media import stun

    try:
        msg = stun.parse(data)
    except MalformedError:
        pass
    else:
        for attr in msg.attributes:
            stun.attribute_fields(msg, attr)
        msg.error()
    try:
        stun.parse_many(data)
    except MalformedError:
        pass


def _rtp(data: bytes) -> None:
    from lyncdump.media.rtcp import parse_rtcp
    from lyncdump.media.rtp import parse_comfort_noise, parse_rtp, parse_telephone_event

    for parse in (parse_rtp, parse_rtcp, parse_telephone_event, parse_comfort_noise):
        try:
            parse(data)
        except MalformedError:
            pass


def _frames(data: bytes) -> None:
    from lyncdump.model import DefectLog
    from lyncdump.net.decode import PacketDecoder

    decoder = PacketDecoder(DefectLog(100), max_fragment_bytes=1 << 16)
    for linktype in (1, 101, 113, 276, 0, 12, 9):
        decoder.decode(1, 0.0, linktype, data)
    decoder.flush()
    assert decoder.fragments.buffered <= 1 << 16


def _mppc(data: bytes) -> None:
    from lyncdump.sipcomp.mppc import PACKET_AT_FRONT, PACKET_COMPRESSED, MppcDecompressor

    for known in (True, False):
        dec = MppcDecompressor(history_known=known)
        for flags in (PACKET_COMPRESSED, PACKET_AT_FRONT | PACKET_COMPRESSED):
            try:
                out = dec.decompress(data, flags)
            except MalformedError:
                continue
            assert len(out) <= 8192


def _sipcomp_stream(data: bytes) -> None:
    from lyncdump.sipcomp.budget import DecompressionBudget
    from lyncdump.sipcomp.stream import SipcompStreamDecoder

    for mid in (False, True):
        budget = DecompressionBudget(1 << 16, 32)
        dec = SipcompStreamDecoder(mid_stream=mid, budget=budget.connection(1 << 15))
        for i in range(0, len(data), 97):
            dec.receive_data(data[i : i + 97], i, 0.0)
        if len(data) > 50:
            dec.receive_gap(10, 9999, 0.0)
            dec.receive_data(data[len(data) // 2 :], 10000, 0.0)
        dec.receive_eof()
        total = 0
        while (p := dec.next_packet()) is not None:
            total += len(p.plain)
        assert total <= budget.limit()


def _sip_stream(data: bytes) -> None:
    from lyncdump.sip.framing import SipStreamFramer

    framer = SipStreamFramer(max_message=1 << 16)
    for i in range(0, len(data), 113):
        framer.receive_data(data[i : i + 113], i, 0.0)
        while framer.next_message() is not None:
            pass
        assert framer.buffered <= 2 * (1 << 16) + (1 << 16) + 113
    framer.close()
    while framer.next_message() is not None:
        pass


def _tls_stream(data: bytes) -> None:
    from lyncdump.media.turn_tcp import TcpMediaFramer, detect
    from lyncdump.tls.decrypt import TlsSession
    from lyncdump.tls.keys import TlsKeys

    session = TlsSession(TlsKeys())
    for i in range(0, len(data), 211):
        session.receive_data(i & 1, data[i : i + 211], i, 0.0)
    session.finish()
    session.summary.to_dict()
    framing = detect(data)
    if framing is not None:
        framer = TcpMediaFramer(framing, pseudo_tls=data[:1] == b"\x16")
        for i in range(0, len(data), 211):
            framer.receive_data(data[i : i + 211], i, 0.0)
            if i == 211:
                framer.receive_gap(5, i, 0.0)
            while framer.next_frame() is not None:
                pass


def run_input(data: bytes) -> None:
    """The whole pipeline on a capture or trace log in memory, and its renderers."""
    import lyncdump
    from lyncdump.render import json as render_json
    from lyncdump.render import text as render_text

    try:
        cap = lyncdump.open(io.BytesIO(data))
        sessions = cap.sessions()
    except LyncdumpError:
        return
    for s in sessions:
        render_json.session_to_dict(s, verbose=True)
        list(render_text.session_lines(s, verbose=True))
    list(render_text.summary_lines(cap, sessions))
    render_json.capture_to_dict(cap, sessions)
    cap.calls()


TARGETS = [
    Target("sip", _sip, "sip", fm.TEXT),
    Target("sdp", _sdp, "sdp", fm.TEXT),
    Target("xml", _xml, "xml", fm.TEXT),
    Target("auth", _auth, "auth", fm.TEXT),
    Target("tokens", _tokens, "tokens", fm.BINARY),
    Target("stun", _stun, "stun", fm.BINARY),
    Target("rtp-rtcp", _rtp, "rtp", fm.BINARY),
    Target("rtcp", _rtp, "rtcp", fm.BINARY),
    Target("frames", _frames, "frames", fm.BINARY),
    Target("mppc", _mppc, "streams:sipcomp", fm.SIPCOMP),
    Target("sipcomp-stream", _sipcomp_stream, "streams:sipcomp", fm.SIPCOMP),
    Target("sip-stream", _sip_stream, "streams:sip", fm.TEXT),
    Target("tls-stream", _tls_stream, "streams:tls", fm.BINARY),
]


def seeds_for(target: Target, seeds: fm.Seeds) -> list[bytes]:
    if target.seeds.startswith("streams:"):
        return seeds.streams.get(target.seeds[8:], [])
    items = getattr(seeds, target.seeds)
    out = []
    for item in items:
        if isinstance(item, tuple):
            item = item[-1]
        if isinstance(item, str):
            item = item.encode("utf-8", "replace")
        out.append(item)
    return out
