"""One test per rule of the stream ↔ call join (analysis/media_join.py, docs/calls.md), on small
captures built here: SIP over UDP with SDP, RTP at 20 ms. Each names the rule it holds."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pcapgen import Builder, sip

import lyncdump
from lyncdump.analysis import media_join as mj
from lyncdump.analysis.calls import Call
from lyncdump.media import stun

PROXY = "10.9.9.9"
RELAY = "10.5.5.5"  # answers every call on RELAY:6000, as an SBC or media relay does


def _sdp(ip: str, port: int, *extra: str, pts: str = "8") -> str:
    lines = ["v=0", f"o=- 1 1 IN IP4 {ip}", "s=-", f"c=IN IP4 {ip}", "t=0 0",
             f"m=audio {port} RTP/AVP {pts}", *extra]  # fmt: skip
    return "\n".join(lines) + "\n"


@dataclass
class Net:
    """A capture under construction: SIP messages and RTP streams at given times."""

    b: Builder = field(default_factory=Builder)
    n: int = 0

    def sip(self, t: float, src: str, dst: str, text: str) -> None:
        self.b.udp(t, src, 5060, dst, 5060, sip(text))

    def rtp(self, t: float, src: tuple[str, int], dst: tuple[str, int], ssrc: int,
            count: int = 50, seq: int = 100) -> None:  # fmt: skip
        for i in range(count):
            head = struct.pack("!BBHII", 0x80, 8, seq + i, 1000 + 160 * i, ssrc)
            self.b.udp(t + 0.02 * i, src[0], src[1], dst[0], dst[1], head + b"\xd5" * 160)

    def analyze(self) -> lyncdump.Capture:
        self.b.frames.sort(key=lambda f: f[0])
        return lyncdump.analyze(io.BytesIO(self.b.pcap_bytes()))


def _msg(first: str, call_id: str, cseq: str, ftag: str, ttag: str | None, body: str = "",
         branch: str = "z9hG4bK1") -> str:  # fmt: skip
    to = "<sip:b@x>" + (f";tag={ttag}" if ttag else "")
    head = (f"{first}\nVia: SIP/2.0/UDP {PROXY}:5060;branch={branch}\n"
            f"From: <sip:a@x>;tag={ftag}\nTo: {to}\nCall-ID: {call_id}\nCSeq: {cseq}\n"
            "Contact: <sip:a@10.9.9.9>\n")  # fmt: skip
    if body:
        return head + f"Content-Type: application/sdp\nContent-Length: auto\n\n{body}"
    return head + "Content-Length: 0\n\n"


def call(net: Net, t: float, call_id: str, offer: str, answer: str | None, *,
         bye: float | None = None, ttag: str = "t1") -> None:  # fmt: skip
    """INVITE with ``offer`` at t, 200 with ``answer`` 50 ms later, ACK, BYE at ``bye``."""
    br = f"z9hG4bK{call_id}"
    net.sip(t, PROXY, RELAY, _msg("INVITE sip:b@x SIP/2.0", call_id, "1 INVITE", "f", None,
                                  offer, br))  # fmt: skip
    if answer is not None:
        net.sip(t + 0.05, RELAY, PROXY, _msg("SIP/2.0 200 OK", call_id, "1 INVITE", "f", ttag,
                                             answer, br))  # fmt: skip
        net.sip(t + 0.06, PROXY, RELAY, _msg("ACK sip:b@x SIP/2.0", call_id, "1 ACK", "f", ttag,
                                             "", br + "a"))  # fmt: skip
    if bye is not None:
        net.sip(bye, PROXY, RELAY, _msg("BYE sip:b@x SIP/2.0", call_id, "2 BYE", "f", ttag, "",
                                        br + "b"))  # fmt: skip
        net.sip(bye + 0.01, RELAY, PROXY, _msg("SIP/2.0 200 OK", call_id, "2 BYE", "f", ttag, "",
                                               br + "b"))  # fmt: skip


def reinvite(net: Net, t: float, call_id: str, offer: str, answer: str, *, n: int = 2,
             from_callee: bool = False) -> None:  # fmt: skip
    """A re-INVITE (by the caller, or by the callee) and its 200 with SDP."""
    br = f"z9hG4bK{call_id}r{n}"
    ftag, ttag = ("t1", "f") if from_callee else ("f", "t1")
    net.sip(t, PROXY, RELAY, _msg("INVITE sip:b@x SIP/2.0", call_id, f"{n} INVITE", ftag, ttag,
                                  offer, br))  # fmt: skip
    net.sip(t + 0.05, RELAY, PROXY, _msg("SIP/2.0 200 OK", call_id, f"{n} INVITE", ftag, ttag,
                                         answer, br))  # fmt: skip


def _calls(cap: lyncdump.Capture) -> dict[str, Call]:
    return {c.call_id: c for c in cap.calls()}


def _streams(c: Call) -> set[tuple[str, str, str | None]]:
    return {(str(s.source), str(s.destination), s.join_rule) for s in c.streams}


def test_both_ends_beat_one_end_when_every_answer_names_the_relay() -> None:
    """The issue's case: calls overlap, every answer is RELAY:6000; each caller's stream is its
    own call's (source = its offer's port), and the relay's stream back to it too."""
    net = Net()
    for k in range(5):
        call(net, 0.1 * k, f"c{k}", _sdp("10.0.0.1", 20000 + 4 * k), _sdp(RELAY, 6000), bye=3.0)
    for k in range(5):
        net.rtp(0.5 + 0.1 * k, ("10.0.0.1", 20000 + 4 * k), (RELAY, 6000), 0x100 + k)
        net.rtp(0.5 + 0.1 * k, (RELAY, 6000), ("10.0.0.1", 20000 + 4 * k), 0x200 + k)
    calls = _calls(net.analyze())
    for k in range(5):
        port = 20000 + 4 * k
        assert _streams(calls[f"c{k}"]) == {
            (f"10.0.0.1:{port}", f"{RELAY}:6000", mj.BOTH_ENDS),
            (f"{RELAY}:6000", f"10.0.0.1:{port}", mj.BOTH_ENDS),
        }
        assert calls[f"c{k}"].findings == []


def test_a_stream_never_joins_before_the_invite_nor_after_end_and_grace() -> None:
    net = Net()
    net.rtp(0.0, ("10.0.0.1", 20000), ("10.0.0.2", 30000), 0x11)  # found by the heuristic
    call(net, 1.5, "late", _sdp("10.0.0.1", 20000), _sdp("10.0.0.2", 30000), bye=2.0)
    net.rtp(2.0 + mj.END_GRACE + 0.5, ("10.0.0.2", 30000), ("10.0.0.1", 20000), 0x22)
    cap = net.analyze()
    assert _calls(cap)["late"].streams == []
    before, after = cap.streams()
    assert before.first_time < _calls(cap)["late"].start  # type: ignore[operator]
    assert (before.call_id, after.call_id) == (None, None)
    assert (before.join_rule, after.join_rule) == (None, None)


def test_newest_sdp_wins_a_tie_on_both_ends_far_apart() -> None:
    """A phone reused its ports; the first call's BYE was not captured: both calls name both
    addresses, the newer SDP wins, the other call is listed as a candidate."""
    net = Net()
    call(net, 0.0, "old", _sdp("10.0.0.1", 20000), _sdp("10.0.0.2", 30000))
    call(net, 20.0, "new", _sdp("10.0.0.1", 20000), _sdp("10.0.0.2", 30000))
    net.rtp(20.2, ("10.0.0.1", 20000), ("10.0.0.2", 30000), 0x33)
    calls = _calls(net.analyze())
    assert calls["old"].streams == []
    (st,) = calls["new"].streams
    assert st.join_rule == mj.NEWEST_SDP and st.candidate_calls == ("old", "new")


def test_equal_one_end_matches_are_ambiguous_and_listed() -> None:
    """Two calls through the relay, media from an address neither SDP names and neither call
    has its own media yet: the stream belongs to neither, and both list it."""
    net = Net()
    call(net, 0.0, "a", _sdp("10.0.0.1", 20000), _sdp(RELAY, 6000), bye=4.0)
    call(net, 0.1, "b", _sdp("10.0.0.1", 20004), _sdp(RELAY, 6000), bye=4.0)
    net.rtp(0.5, ("192.0.2.77", 40000), (RELAY, 6000), 0x44)
    cap = net.analyze()
    calls = _calls(cap)
    (st,) = cap.streams()
    assert st.call_id is None and st.join_rule == mj.AMBIGUOUS
    assert st.candidate_calls == ("a", "b")
    assert calls["a"].streams == calls["b"].streams == []
    assert calls["a"].ambiguous == calls["b"].ambiguous == [st]


def test_latching_by_elimination_and_the_reverse_stream() -> None:
    """Caller "nat" offered a private address; its RTP comes from the NAT's public port. The
    other call through the relay has its own both-ends media there, so "nat" is the only call
    left; the relay's stream back to the NAT port follows it (symmetric RTP)."""
    net = Net()
    call(net, 0.0, "direct", _sdp("10.0.0.1", 20000), _sdp(RELAY, 6000), bye=4.0)
    call(net, 0.1, "nat", _sdp("192.168.1.50", 7078), _sdp(RELAY, 6000), bye=4.0)
    net.rtp(0.3, ("10.0.0.1", 20000), (RELAY, 6000), 0x55)
    net.rtp(0.3, (RELAY, 6000), ("10.0.0.1", 20000), 0x56)
    net.rtp(0.4, ("198.51.100.9", 61234), (RELAY, 6000), 0x57)
    net.rtp(0.42, (RELAY, 6000), ("198.51.100.9", 61234), 0x58)
    calls = _calls(net.analyze())
    assert _streams(calls["nat"]) == {
        ("198.51.100.9:61234", f"{RELAY}:6000", mj.ELIMINATION),
        (f"{RELAY}:6000", "198.51.100.9:61234", mj.ELIMINATION),
    }
    assert len(calls["direct"].streams) == 2
    (finding,) = calls["nat"].findings
    assert finding.kind == "unannounced media address"
    assert "198.51.100.9:61234" in finding.detail


def test_reverse_of_a_joined_stream() -> None:
    """Only the NAT'd caller's outgoing stream can be told by elimination (the other call sends
    nothing yet); the relay's answer to the NAT port goes with it."""
    net = Net()
    call(net, 0.0, "quiet", _sdp("10.0.0.1", 20000), _sdp(RELAY, 6000), bye=4.0)
    call(net, 0.1, "nat", _sdp("192.168.1.50", 7078), _sdp(RELAY, 6000), bye=4.0)
    net.rtp(0.3, (RELAY, 6000), ("10.0.0.1", 20000), 0x61)  # the relay → "quiet"
    net.rtp(0.4, ("198.51.100.9", 61234), (RELAY, 6000), 0x62)  # ambiguous by itself...
    net.rtp(0.45, (RELAY, 6000), ("198.51.100.9", 61234), 0x63)  # ...but "quiet" has this role
    calls = _calls(net.analyze())
    rules = {s.ssrc: s.join_rule for s in calls["nat"].streams}
    assert rules == {0x62: mj.REVERSE, 0x63: mj.ELIMINATION}


def test_reinvite_moves_media_and_the_sdp_in_force_wins() -> None:
    """Call "a" moves its media from :20000 to :20100 by a re-INVITE; call "b" later names
    :20000 again. A stream on :20000 after that belongs to "b" (in force), one on :20100 to
    "a"; a stream on :20000 before the re-INVITE was "a"'s and stays so."""
    net = Net()
    call(net, 0.0, "a", _sdp("10.0.0.1", 20000), _sdp("10.0.0.2", 30000), bye=9.0)
    net.rtp(0.2, ("10.0.0.2", 30000), ("10.0.0.1", 20000), 0x71, count=20)
    reinvite(net, 2.0, "a", _sdp("10.0.0.1", 20100), _sdp("10.0.0.2", 30000))
    net.rtp(2.2, ("10.0.0.2", 30000), ("10.0.0.1", 20100), 0x72)
    call(net, 3.0, "b", _sdp("10.0.0.1", 20000), _sdp("10.0.0.2", 30000), bye=9.0)
    net.rtp(3.2, ("10.0.0.2", 30000), ("10.0.0.1", 20000), 0x73)
    calls = _calls(net.analyze())
    assert {s.ssrc for s in calls["a"].streams} == {0x71, 0x72}
    assert {(s.ssrc, s.join_rule) for s in calls["b"].streams} == {(0x73, mj.BOTH_ENDS)}


def test_hold_is_recognised_and_is_not_one_way_audio() -> None:
    net = Net()
    call(net, 0.0, "h", _sdp("10.0.0.1", 20000), _sdp("10.0.0.2", 30000), bye=9.0)
    net.rtp(0.2, ("10.0.0.1", 20000), ("10.0.0.2", 30000), 0x81)
    reinvite(net, 3.0, "h", _sdp("10.0.0.1", 20000, "a=sendonly"),
             _sdp("10.0.0.2", 30000, "a=recvonly"))  # fmt: skip
    reinvite(net, 6.0, "h", _sdp("10.0.0.1", 20000), _sdp("10.0.0.2", 30000), n=3)
    (c,) = net.analyze().calls()
    assert [(round(t - c.start, 2), side, d) for t, side, d in c.holds] == [
        (3.0, "caller", "sendonly"), (3.05, "callee", "recvonly"),
        (6.0, "caller", "sendrecv"), (6.05, "callee", "sendrecv"),
    ]  # fmt: skip
    assert c.findings == []


def test_one_way_audio_without_hold_is_a_finding() -> None:
    net = Net()
    call(net, 0.0, "w", _sdp("10.0.0.1", 20000), _sdp("10.0.0.2", 30000), bye=3.0)
    net.rtp(0.2, ("10.0.0.1", 20000), ("10.0.0.2", 30000), 0x91)
    (c,) = net.analyze().calls()
    (f,) = c.findings
    assert f.kind == "one-way audio"
    assert f.detail == "RTP from the caller only (50 packets); nothing from the callee"


def test_forked_invite_early_media_from_two_branches() -> None:
    """Two branches answer 183 with their own SDP (To tags t1, t2) and send early media; the
    first answers 200. Both early streams are the call's."""
    net = Net()
    br = "z9hG4bKfork"
    offer = _sdp("10.0.0.1", 20000)
    net.sip(0.0, PROXY, RELAY, _msg("INVITE sip:b@x SIP/2.0", "fork", "1 INVITE", "f", None,
                                    offer, br))  # fmt: skip
    for tag, ip, t in (("t1", "10.0.0.21", 0.1), ("t2", "10.0.0.22", 0.15)):
        net.sip(t, RELAY, PROXY, _msg("SIP/2.0 183 Session Progress", "fork", "1 INVITE", "f",
                                      tag, _sdp(ip, 31000), br))  # fmt: skip
        net.rtp(t + 0.05, (ip, 31000), ("10.0.0.1", 20000), 0xA0 + int(tag[1]))
    net.sip(1.5, RELAY, PROXY, _msg("SIP/2.0 200 OK", "fork", "1 INVITE", "f", "t1",
                                    _sdp("10.0.0.21", 31000), br))  # fmt: skip
    (c,) = net.analyze().calls()
    assert _streams(c) == {
        ("10.0.0.21:31000", "10.0.0.1:20000", mj.BOTH_ENDS),
        ("10.0.0.22:31000", "10.0.0.1:20000", mj.BOTH_ENDS),
    }
    assert c.state == "in call"


def test_b2bua_legs_sharing_both_addresses_share_the_stream() -> None:
    """A B2BUA re-INVITEs both its legs to point at each other (Asterisk directmedia): both
    dialogs name the same two addresses within moments; the stream is on each leg."""
    net = Net()
    call(net, 0.0, "leg-a", _sdp("10.0.0.1", 8000), _sdp(RELAY, 13060), bye=9.0)
    call(net, 0.01, "leg-b", _sdp(RELAY, 18010), _sdp("10.0.0.2", 8000), bye=9.0)
    reinvite(net, 2.0, "leg-a", _sdp("10.0.0.2", 8000), _sdp("10.0.0.1", 8000), from_callee=True)
    reinvite(net, 2.01, "leg-b", _sdp("10.0.0.1", 8000), _sdp("10.0.0.2", 8000))
    net.rtp(2.3, ("10.0.0.2", 8000), ("10.0.0.1", 8000), 0xB1)
    calls = _calls(net.analyze())
    (a,), (b,) = calls["leg-a"].streams, calls["leg-b"].streams
    assert a is b and a.join_rule == mj.LEGS and a.candidate_calls == ("leg-a", "leg-b")
    assert a.call_id == "leg-a"


def test_an_announced_ssrc_is_evidence() -> None:
    """Equal on one end, but one call's SDP announced the stream's SSRC (a=ssrc)."""
    net = Net()
    call(net, 0.0, "a", _sdp("10.0.0.1", 20000), _sdp(RELAY, 6000), bye=4.0)
    call(net, 0.1, "b", _sdp("10.0.0.1", 20004, "a=ssrc:3405691582 cname:b"),
         _sdp(RELAY, 6000), bye=4.0)  # fmt: skip
    net.rtp(0.5, ("192.0.2.77", 40000), (RELAY, 6000), 0xCAFEBABE)
    calls = _calls(net.analyze())
    (st,) = calls["b"].streams
    assert st.join_rule == mj.ONE_END and calls["a"].streams == []


def test_an_announced_ssrc_range_is_evidence() -> None:
    """Lync announces the SSRCs a sender will use as a range (``a=x-ssrc-range``): a stream
    whose SSRC falls inside one call's range goes to that call; one just outside it does not
    (both calls match on one end only, so that stream stays ambiguous)."""
    net = Net()
    call(net, 0.0, "a", _sdp("10.0.0.1", 20000, "a=x-ssrc-range:1000-1099"),
         _sdp(RELAY, 6000), bye=4.0)  # fmt: skip
    call(net, 0.1, "b", _sdp("10.0.0.1", 20004, "a=x-ssrc-range:2000-2099"),
         _sdp(RELAY, 6000), bye=4.0)  # fmt: skip
    net.rtp(0.5, ("192.0.2.77", 40000), (RELAY, 6000), 2099)
    net.rtp(0.6, ("192.0.2.78", 40002), (RELAY, 6000), 2100)
    cap = net.analyze()
    calls = _calls(cap)
    (st,) = calls["b"].streams
    assert (st.ssrc, st.join_rule) == (2099, mj.ONE_END)
    assert calls["a"].streams == []
    outside = next(s for s in cap.streams() if s.ssrc == 2100)
    assert outside.join_rule == mj.AMBIGUOUS and outside.candidate_calls == ("a", "b")


def _stun_tid(n: int) -> bytes:
    return stun.MAGIC_COOKIE_BYTES + struct.pack("!III", 0x4A4F494E, 0x54455354, n)


def _xor(ip: str, port: int, tid: bytes) -> bytes:
    return stun.encode_address(bytes(int(x) for x in ip.split(".")), port, tid, True)


def _ice_check(net: Net, t: float, src: tuple[str, int], dst: tuple[str, int], n: int,
               username: str, *, nominate: bool) -> None:  # fmt: skip
    """A connectivity check from src to dst (USE-CANDIDATE when ``nominate``) and its success."""
    tid = _stun_tid(n)
    attrs = [(0x0006, username.encode()), (0x0024, (1862270719).to_bytes(4, "big"))]
    if nominate:
        attrs.append((0x0025, b""))
    request = stun.add_fingerprint(stun.serialize(0x0001, tid, attrs))
    answer = stun.serialize(0x0101, tid, [(0x0020, _xor(*src, tid))])
    net.b.udp(t, src[0], src[1], dst[0], dst[1], request)
    net.b.udp(t + 0.01, dst[0], dst[1], src[0], src[1], stun.add_fingerprint(answer))


def test_the_nominated_ice_pair_is_evidence() -> None:
    """Two calls through the relay match a stream on one end only; the ICE session of call "b"
    (its SDP's ufrag) nominated exactly the stream's address pair, so the stream is "b"'s. A
    check on that pair without USE-CANDIDATE is no evidence: the next stream, whose pair was
    only checked, stays ambiguous."""
    net = Net()
    call(net, 0.0, "a", _sdp("10.0.0.1", 20000, "a=ice-ufrag:Aaaa"), _sdp(RELAY, 6000),
         bye=4.0)  # fmt: skip
    call(net, 0.1, "b", _sdp("10.0.0.1", 20004, "a=ice-ufrag:Bbbb"), _sdp(RELAY, 6000),
         bye=4.0)  # fmt: skip
    nat = ("192.0.2.77", 40000)
    _ice_check(net, 0.3, nat, (RELAY, 6000), 1, "Rrrr:Bbbb", nominate=True)
    net.rtp(0.5, nat, (RELAY, 6000), 0x5151)
    checked = ("192.0.2.88", 40010)
    _ice_check(net, 0.3, checked, (RELAY, 6000), 2, "Rrrr:Aaaa", nominate=False)
    net.rtp(0.6, checked, (RELAY, 6000), 0x5252)
    cap = net.analyze()
    calls = _calls(cap)
    assert [ice.nominated is not None for ice in calls["b"].ice] == [True]
    assert [ice.nominated for ice in calls["a"].ice] == [None]
    (st,) = calls["b"].streams
    assert (str(st.source), st.ssrc, st.join_rule) == ("192.0.2.77:40000", 0x5151, mj.ONE_END)
    assert calls["a"].streams == []
    other = next(s for s in cap.streams() if s.ssrc == 0x5252)
    assert other.join_rule == mj.AMBIGUOUS and other.candidate_calls == ("a", "b")


def _turn(net: Net, t: float, client: tuple[str, int], server: tuple[str, int],
          relayed: tuple[str, int], peer: tuple[str, int]) -> None:  # fmt: skip
    """An RFC 5766 Allocate (success with the relayed address) and a CreatePermission for
    ``peer``, both answered."""
    for n, (request_type, attrs, answer_attrs) in enumerate([
        (0x0003, [(0x0019, bytes([17, 0, 0, 0]))],
         [(0x0016, _xor(*relayed, _stun_tid(10))), (0x0020, _xor(*client, _stun_tid(10))),
          (0x000D, (600).to_bytes(4, "big"))]),
        (0x0008, [(0x0012, _xor(*peer, _stun_tid(11)))], []),
    ]):  # fmt: skip
        tid = _stun_tid(10 + n)
        net.b.udp(t + n * 0.05, *client, *server, stun.serialize(request_type, tid, attrs))
        net.b.udp(t + n * 0.05 + 0.01, *server, *client,
                  stun.serialize(request_type | 0x0100, tid, answer_attrs))  # fmt: skip


def test_a_turn_permission_is_evidence() -> None:
    """Call "b"'s client allocated a relay (its SDP names the relayed candidate) and permitted
    the peer that then sends to the relay's media port; call "a" matches that stream on the
    same one end but has no allocation, so the stream is "b"'s."""
    net = Net()
    turn_server, relayed = ("10.7.7.7", 3478), ("10.7.7.7", 50000)
    candidate = "a=candidate:1 1 UDP 16777215 10.7.7.7 50000 typ relay raddr 10.0.0.1 rport 20004"
    call(net, 0.0, "a", _sdp("10.0.0.1", 20000), _sdp(RELAY, 6000), bye=4.0)
    _turn(net, 0.05, ("10.0.0.1", 20004), turn_server, relayed, ("192.0.2.99", 41000))
    call(net, 0.1, "b", _sdp("10.0.0.1", 20004, candidate), _sdp(RELAY, 6000), bye=4.0)
    net.rtp(0.5, ("192.0.2.99", 41000), (RELAY, 6000), 0x6161)
    # No SDP names either end of this one: the permission alone makes it "b"'s.
    net.rtp(0.7, ("192.0.2.99", 41000), ("10.7.7.7", 50002), 0x6262)
    calls = _calls(net.analyze())
    (alloc,) = calls["b"].allocations
    assert [str(e) for e in alloc.relayed] == ["10.7.7.7:50000"]
    assert [str(e) for e in alloc.permissions] == ["192.0.2.99:41000"]
    assert calls["a"].allocations == []
    assert [(s.ssrc, s.join_rule) for s in calls["b"].streams] == [
        (0x6161, mj.ONE_END), (0x6262, mj.EVIDENCE)]  # fmt: skip
    assert calls["a"].streams == []


def test_a_later_sdp_naming_the_same_address_does_not_relabel() -> None:
    """The RTP tracker labels a stream with the first call whose SDP named both its ends; the
    next call through the relay announces the relay's address again, and nothing moves."""
    net = Net()
    call(net, 0.0, "first", _sdp("10.0.0.1", 20000), _sdp(RELAY, 6000), bye=5.0)
    net.rtp(0.2, (RELAY, 6000), ("10.0.0.1", 20000), 0xD1)
    call(net, 0.5, "second", _sdp("10.0.0.1", 20004), _sdp(RELAY, 6000), bye=5.0)
    cap = net.analyze()
    (st,) = cap.streams()
    assert st.call_id == "first"  # the tracker's label, before any join
    assert st.packets == 50
    assert [s.ssrc for s in _calls(cap)["first"].streams] == [0xD1]
    assert _calls(cap)["second"].streams == []


def test_payload_type_not_in_the_answer() -> None:
    net = Net()
    call(net, 0.0, "pt", _sdp("10.0.0.1", 20000, pts="8 0"), _sdp(RELAY, 6000, pts="0"),
         bye=3.0)  # fmt: skip
    net.rtp(0.2, ("10.0.0.1", 20000), (RELAY, 6000), 0xE1)  # PT 8: PCMA
    net.rtp(0.2, (RELAY, 6000), ("10.0.0.1", 20000), 0xE2)
    (c,) = net.analyze().calls()
    details = sorted(f.detail for f in c.findings if f.kind == "payload type not in answer")
    assert details == [
        f"10.0.0.1:20000 → {RELAY}:6000 sends payload type 8 (g711A), not in the answer "
        "(PCMU/8000)",
        f"{RELAY}:6000 → 10.0.0.1:20000 sends payload type 8 (g711A), not in the answer "
        "(PCMU/8000)",
    ]


# -- hostile input: the join and the call views never raise ----------------------------------

_SDP_LINES = [
    "c=IN IP4 10.0.0.1", "c=IN IP4 0.0.0.0", "c=IN IP6 ::", "c=IN IP6 2001:db8::1", "c=IN IP4",
    "c=IN IP4 host.example", "m=audio 20000 RTP/AVP 8", "m=audio 0 RTP/AVP 8",
    "m=audio 99999 RTP/SAVP 0 8 101", "m=video 30000 RTP/AVP 96", "m=audio x RTP/AVP",
    "a=sendonly", "a=recvonly", "a=inactive", "a=rtcp:", "a=rtcp:abc", "a=rtcp-mux",
    "a=ssrc:", "a=ssrc:99999999999 cname:x", "a=ssrc:7 cname:x", "a=x-ssrc-range:9-1",
    "a=x-ssrc-range:1-4294967295", "a=candidate:1 1 UDP 1 10.0.0.1 20000 typ host",
    "a=candidate:1 1 UDP 1 bad port typ", "a=rtpmap:96 SILK/16000", "a=rtpmap:x", "v=0",
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", "b=AS:64",
]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(st.sampled_from(_SDP_LINES), max_size=10), min_size=1, max_size=6),
    st.lists(
        st.tuples(
            st.sampled_from(["INVITE", "200", "183", "486", "ACK", "BYE", "CANCEL"]),
            st.sampled_from(["c1", "c2"]),
            st.sampled_from(["f", "t1", "t2"]),
        ),
        min_size=1,
        max_size=8,
    ),  # fmt: skip
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.floats(0, 5)), max_size=6),
)
def test_random_dialogs_and_sdp_never_raise(sdps, messages, streams) -> None:  # type: ignore[no-untyped-def]
    from lyncdump.render.calls import call_lines, call_to_dict, summary_count_lines

    ports = [("10.0.0.1", 20000), ("10.0.0.2", 30000), (RELAY, 6000), ("10.0.0.1", 20001),
             ("192.0.2.1", 4000)]  # fmt: skip
    net = Net()
    for i, (what, call_id, tag) in enumerate(messages):
        body = "\n".join(sdps[i % len(sdps)]) + "\n"
        first = f"{what} sip:b@x SIP/2.0" if not what.isdigit() else f"SIP/2.0 {what} X"
        cseq = f"1 {what if not what.isdigit() else 'INVITE'}"
        to = None if what == "INVITE" and i == 0 else tag
        net.sip(0.1 * i, PROXY, RELAY, _msg(first, call_id, cseq, "f", to, body, f"z9hG4bK{i}"))
    for a, b, t in streams:
        if a != b:
            net.rtp(t, ports[a], ports[b], 0x1000 + a * 8 + b, count=5)
    cap = net.analyze()
    calls = cap.calls()
    for c in calls:
        list(call_lines(c))
        call_to_dict(c)
    list(summary_count_lines(calls, cap.streams()))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mangled_relay_capture_never_raises(data: st.DataObject) -> None:
    """Bytes flipped in the SIPp relay capture (SIP and SDP included): calls still come out."""
    import gzip

    from ..conftest import CAPTURES

    raw = bytearray(gzip.decompress((CAPTURES / "sipp-relay-udp.pcapng.gz").read_bytes()))
    for _ in range(data.draw(st.integers(1, 40))):
        pos = data.draw(st.integers(200, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    try:
        cap = lyncdump.analyze(io.BytesIO(bytes(raw)))
    except lyncdump.LyncdumpError:
        return  # a flipped block length may make the file unreadable: a clear error
    from lyncdump.render.calls import call_lines, call_to_dict

    for c in cap.calls():
        list(call_lines(c))
        call_to_dict(c)
