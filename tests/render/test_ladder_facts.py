"""The ladder's shortcuts say what the long way says: time stamps, auth tokens, multipart XML."""

from __future__ import annotations

import base64
import datetime as dt
import random

import pytest

from lyncdump.render import msview
from lyncdump.render.facts import message_facts
from lyncdump.render.text import format_time
from lyncdump.sip.message import parse_message


def _strftime(ts: float) -> str:
    """What format_time printed before it formatted the fields itself."""
    try:
        moment = dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return f"{ts:.6f}"
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


@pytest.mark.parametrize(
    "ts",
    [
        0.0,
        1768039200.123456,
        1768039200.9999996,  # rounds up into the next second
        -1.5,
        -62135596800.0,  # year 1: strftime's own %Y
        253402300799.999999,  # the last second of year 9999
        253402300800.0,  # past it: the number
        float("nan"),
        1e300,
    ],
)
def test_format_time_is_strftime(ts: float) -> None:
    assert format_time(ts) == _strftime(ts)


def test_format_time_is_strftime_at_random() -> None:
    rng = random.Random(14)
    for _ in range(20000):
        ts = rng.choice(
            [rng.uniform(0, 4e9), rng.uniform(-7e10, 3e11), rng.randint(0, 2**32) + rng.random()]
        )
        assert format_time(ts) == _strftime(ts), ts


def test_format_time_cached_seconds_are_strftime() -> None:
    """The cached second plus the split-off microseconds: the datetime's text, also at the
    half microseconds (rounded to even) and where they carry into the next second."""
    rng = random.Random(6)
    for _ in range(20000):
        second = rng.choice([1768039200, rng.randint(0, 2**33), rng.randint(0, 10**11 - 1)])
        micro = rng.randint(0, 999_999)
        ts = second + rng.choice(
            [micro / 1e6, (micro + 0.5) / 1e6, 0.9999995 + rng.random() * 1e-6, rng.random()]
        )
        assert format_time(ts) == _strftime(ts), ts
        assert format_time(ts) == _strftime(ts), ts  # the second from the cache this time


def test_format_time_cache_is_bounded() -> None:
    from lyncdump.render import text

    for second in range(3 * text._SECONDS_MAX):
        assert format_time(1768039200.25 + second) == _strftime(1768039200.25 + second)
        assert len(text._SECONDS) <= text._SECONDS_MAX


def _request(headers: str, body: bytes = b"", content_type: str | None = None) -> bytes:
    head = (
        "REGISTER sip:contoso.com SIP/2.0\r\nVia: SIP/2.0/TLS 10.0.0.1;branch=z9hG4bK1\r\n"
        "From: <sip:a@contoso.com>;tag=1\r\nTo: <sip:a@contoso.com>\r\nCall-ID: c\r\n"
        "CSeq: 1 REGISTER\r\n" + headers
    )
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


NTLM_NEGOTIATE = b"NTLMSSP\x00" + (1).to_bytes(4, "little") + b"\x07\x82\x08\xa2" + bytes(16)


@pytest.mark.parametrize(
    "header",
    [
        'Authorization: NTLM qop="auth", realm="SIP Communications Service", '
        'targetname="fe.contoso.com", gssapi-data="{token}", version=4',
        'Proxy-Authorization: NTLM qop="auth", GSSAPI-Data="{token}"',  # any case
        "Authorization: NTLM gssapi-data={token}",  # unquoted
        'Authorization: Kerberos gssapi-data="%%%"',  # not base64: a problem, said so
    ],
)
def test_a_token_is_decoded_when_a_header_names_it(header: str) -> None:
    token = base64.b64encode(NTLM_NEGOTIATE).decode()
    m = parse_message(_request(header.format(token=token) + "\r\n"))
    facts = message_facts(m)
    assert msview._may_hold_token(m)
    assert any(f == "NTLM NEGOTIATE" or "token unreadable" in f for f in facts), facts


def test_a_signed_message_without_a_token_is_not_decoded() -> None:
    m = parse_message(
        _request(
            'Proxy-Authorization: NTLM qop="auth", realm="SIP Communications Service", '
            'opaque="3C2A", crand="1a2b", cnum="7", targetname="fe.contoso.com", '
            'response="0100000000000000"\r\n'
            'Authentication-Info: NTLM rspauth="0100", srand="9F", snum="4", opaque="3C2A"\r\n'
        )
    )
    assert not msview._may_hold_token(m)
    assert message_facts(m) == ["auth NTLM"]
    assert "ms.auth" not in m._cache and "ms.tokens" not in m._cache  # nothing parsed


def _multipart(n: int) -> bytes:
    parts = [
        b"--b\r\nContent-Type: application/msrtc-event-categories+xml\r\n\r\n"
        b'<categories xmlns="http://schemas.microsoft.com/2006/09/sip/categories" '
        b'uri="sip:u%d@contoso.com"/>\r\n' % i
        for i in range(n)
    ]
    return b"".join(parts) + b"--b--\r\n"


@pytest.mark.parametrize("n", [1, 4, 5, 6, 8, 10])
def test_a_multipart_shows_four_summaries_and_parses_one_more(
    n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bytes] = []
    real = msview.summarize_xml

    def counted(content_type: str | None, body: bytes) -> str | None:
        asked.append(body)
        return real(content_type, body)

    monkeypatch.setattr(msview, "summarize_xml", counted)
    m = parse_message(_request("", _multipart(n), "multipart/related; boundary=b"))
    shown = [f"presence of sip:u{i}@contoso.com: none" for i in range(min(n, 4))]
    expected = " | ".join(shown) + (" | …" if n > 4 else "")
    assert expected in message_facts(m)
    assert len(asked) == min(n, 5)  # the parts after the fifth summary are not read


def _may_hold_token_reference(m: object) -> bool:
    """``_may_hold_token`` before the header block was searched once: six lookups."""
    from lyncdump.sip.auth import AUTH_HEADERS

    if "ms.tokens" in m._cache:  # type: ignore[attr-defined]
        return True
    return any(
        "gssapi-data" in value.lower()
        for key in AUTH_HEADERS
        for value in m._values(key)  # type: ignore[attr-defined]
    )


def _auth_schemes_reference(m: object, names: tuple[str, ...]) -> list[str]:
    """``auth_schemes`` before it looked the canonical names up itself."""
    schemes: list[str] = []
    for name in names:
        for value in m.header_values(name):  # type: ignore[attr-defined]
            scheme = value.strip().split(" ", 1)[0].split(",", 1)[0]
            if scheme and scheme not in schemes:
                schemes.append(scheme)
    return schemes


_AUTH_LINES = [
    'Authorization: NTLM qop="auth", gssapi-data="TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAA="',
    'Proxy-Authorization: Kerberos qop="auth", GSSAPI-DATA="%%%"',
    'Proxy-Authorization: NTLM qop="auth", opaque="1", response="01"',
    'WWW-Authenticate: NTLM realm="SIP", version=4',
    'Proxy-Authenticate: Kerberos realm="SIP", gssapi-data=""',
    'Authentication-Info: NTLM rspauth="0100", snum="4"',
    "authorization: TLS-DSK ,x",
    "X-Gssapi-Data: gssapi-data",
    "Subject: gssapİ-data",
    "Proxy-Authorization:   ",
]


@pytest.mark.parametrize("seed", range(40))
def test_token_test_and_schemes_as_the_long_way(seed: int) -> None:
    rng = random.Random(seed)
    lines = rng.sample(_AUTH_LINES, rng.randint(0, 4))
    for start in ("REGISTER sip:contoso.com SIP/2.0", "SIP/2.0 401 Unauthorized"):
        head = (
            f"{start}\r\nVia: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK1\r\n"
            "From: <sip:a@contoso.com>;tag=1\r\nTo: <sip:a@contoso.com>\r\nCall-ID: c\r\n"
            "CSeq: 1 REGISTER\r\n" + "".join(line + "\r\n" for line in lines)
        )
        m = parse_message((head + "Content-Length: 0\r\n\r\n").encode())
        ref = parse_message((head + "Content-Length: 0\r\n\r\n").encode())
        assert msview._may_hold_token(m) == _may_hold_token_reference(ref)
        from lyncdump.render.facts import _AUTH_ANSWERS, _AUTH_CHALLENGES, auth_schemes

        for names, spelled in (
            (_AUTH_ANSWERS, ("Authorization", "Proxy-Authorization")),
            (_AUTH_CHALLENGES, ("WWW-Authenticate", "Proxy-Authenticate")),
        ):
            assert auth_schemes(m, names) == _auth_schemes_reference(ref, spelled)
        assert message_facts(m) == message_facts(ref)


@pytest.mark.parametrize("n", [0, 1, 5, 9, 12])
@pytest.mark.parametrize("parsed_first", [False, True])
def test_a_multipart_s_fact_reads_the_parts_as_body_parts(n: int, parsed_first: bool) -> None:
    """Parts cut one by one give the fact (and the defects) that body_parts() gives."""
    body = _multipart(n) + (b"--b\r\nno end" if n == 9 else b"")
    raw = _request("", body, "multipart/related; boundary=b")
    m, ref = parse_message(raw), parse_message(raw)
    if parsed_first:
        m.body_parts()
    ref_parts = ref.body_parts()
    summaries: list[str] = []  # the fact as it was built from body_parts()
    for part in ref_parts[:8]:
        summary = msview.summarize_xml(part.content_type, part.body)
        if summary:
            summaries.append(summary)
            if len(summaries) > 4:
                break
    want = " | ".join(summaries[:4]) + (" | …" if len(summaries) > 4 else "")
    facts = message_facts(m)
    assert (want in facts) if summaries else not any("presence" in f for f in facts), facts
    assert [d.reason for d in m.defects] == [d.reason for d in ref.defects]
    assert m.body_parts() == ref_parts


def _view_facts_reference(m: object) -> list[str]:
    """The facts message_facts reads from view headers, as it read them before it took the
    view index once: through ``m.header`` and ``m.expires`` (then the Contact parameter),
    for the methods and statuses it reads them for."""
    out: list[str] = []
    method = m.method or m.cseq[1]  # type: ignore[attr-defined]
    if method in ("REGISTER", "SUBSCRIBE") and (m.is_request or m.status < 300):  # type: ignore[attr-defined]
        exp = m.expires  # type: ignore[attr-defined]
        if exp is None:
            for contact in m.contact:  # type: ignore[attr-defined]
                value = contact.params.get("expires") if contact.params else None
                if value is not None and value.isdigit():
                    exp = int(value)
                    break
        if exp is not None:
            out.append(f"expires {exp}")
    if method in ("SUBSCRIBE", "NOTIFY", "BENOTIFY", "PUBLISH"):
        event = m.header("Event")  # type: ignore[attr-defined]
        if event:
            out.append("event " + event.split(";", 1)[0].strip())
    logon = m.header("ms-user-logon-data")  # type: ignore[attr-defined]
    if logon:
        out.append("remote user (via Edge)" if "remoteuser" in logon.lower() else logon.strip())
    if m.method in ("BYE", "CANCEL"):  # type: ignore[attr-defined]
        reason = m.header("Reason")  # type: ignore[attr-defined]
        if reason:
            out.append("reason " + reason.strip())
    return out


_VIEW_LINES = [
    "Expires: 3600",
    "Expires: 0",
    "expires:  7200 ",
    "Expires: soon",
    "Expires: 99999999999",
    "Expires:",
    'Contact: <sip:a@10.0.0.1:5061;transport=tls>;expires=1800;+sip.instance="<urn:uuid:1>"',
    'Contact: <sip:a@10.0.0.1;expires=5>;methods="INVITE, BYE"',
    "m: sip:b@10.0.0.2;EXPIRES=60",
    "Contact: <sip:c@10.0.0.3",
    "Contact: *",
    "Event: registration",
    "o: presence;id=1",
    "Event:",
    "ms-user-logon-data: RemoteUser",
    "MS-User-Logon-Data: something",
    "Reason: Q.850;cause=16",
    "reason:   ",
    "Subject: Expires: 5",
]


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("parsed_first", [False, True])
def test_view_header_facts_as_the_long_way(seed: int, parsed_first: bool) -> None:
    """Expires, Event, Reason and the logon data read from the view index once give what
    ``m.header()`` and ``m.expires`` give, with the same defects (a bad Expires, a Contact
    that does not parse)."""
    rng = random.Random(seed)
    lines = rng.sample(_VIEW_LINES, rng.randint(0, 6))
    method = rng.choice(["SUBSCRIBE", "REGISTER", "BYE", "NOTIFY"])
    for start in (f"{method} sip:contoso.com SIP/2.0", "SIP/2.0 200 OK"):
        head = (
            f"{start}\r\nVia: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK1\r\n"
            "From: <sip:a@contoso.com>;tag=1\r\nTo: <sip:a@contoso.com>\r\nCall-ID: c\r\n"
            f"CSeq: 1 {method}\r\n" + "".join(line + "\r\n" for line in lines)
        )
        raw = (head + "Content-Length: 0\r\n\r\n").encode()
        m, ref = parse_message(raw), parse_message(raw)
        if parsed_first:
            m.headers  # noqa: B018 - the index made whole first: the other way to look up
        facts = message_facts(m)
        have = [f for f in facts if f.split(" ", 1)[0] in ("expires", "event", "reason")]
        have += [f for f in facts if f.startswith("remote user") or f == "something"]
        assert sorted(have) == sorted(_view_facts_reference(ref)), (lines, start)
        assert [d.reason for d in m.defects] == [d.reason for d in ref.defects], (lines, start)


@pytest.mark.parametrize("seed", range(20))
def test_what_shortens_as_before(seed: int) -> None:
    """``what`` without its shorten() calls when the texts are short: the same words."""
    from lyncdump.render.text import shorten, what

    rng = random.Random(seed)
    sizes = [1, 59, 60, 61, 150, 199, 200, 201, 400]
    for _ in range(50):
        method = "".join(rng.choice("ABCX") for _ in range(rng.choice(sizes)))
        uri = "sip:" + "u" * rng.choice([0, 10, 195, 196, 197, 300])
        reason = "".join(rng.choice("ABé€ ") for _ in range(rng.choice([0, *sizes])))
        for start in (f"{method} {uri} SIP/2.0", f"SIP/2.0 {rng.choice([200, 486])} {reason}"):
            raw = _request("").replace(b"REGISTER sip:contoso.com SIP/2.0", start.encode())
            m = parse_message(raw)
            if m.is_request:
                want = f"{shorten(m.method or '')} {shorten(m.request_uri or '', 200)}"
            else:
                want = shorten(f"{m.status} {m.reason}".rstrip(), 200)
            assert what(m) == want, start


def _ms_facts_im_and_check_reference(m: object) -> list[str]:
    """The IM and password-check facts as ms_facts wrote them with ``im_text`` called for
    every message and ``auth_check`` asked."""
    from lyncdump.analysis.im import im_text
    from lyncdump.analysis.registration import auth_check

    out: list[str] = []
    check = auth_check(m)  # type: ignore[arg-type]
    if check is not None:
        if check.proof is False:
            out.append("NTLMv2 proof INVALID (password does not match)")
        elif check.note:
            out.append(check.note)
        if check.signature is True:
            out.append("signature valid")
    said = im_text(m)  # type: ignore[arg-type]
    if said is not None:
        label = "first IM" if m.method == "INVITE" else "IM"  # type: ignore[attr-defined]
        out.append(f"{label} {msview._quote(said[1])}" if said[1] else f"{label} (text redacted)")
    return out


@pytest.mark.parametrize("method", ["INVITE", "MESSAGE", "INFO", "BYE", "NOTIFY", None])
@pytest.mark.parametrize("check", [None, "note", "invalid", "valid", "other"])
def test_im_and_check_facts_as_the_long_way(method: str | None, check: str | None) -> None:
    from lyncdump.analysis.registration import AuthCheck

    start = f"{method} sip:b@c SIP/2.0" if method else "SIP/2.0 200 OK"
    extra = "ms-text-format: text/plain; charset=UTF-8; ms-body=aGk=\r\n"
    body = b"hello there"
    raw = _request(extra, body, "text/plain").replace(
        b"REGISTER sip:contoso.com SIP/2.0", start.encode()
    )
    m = parse_message(raw)
    if check is not None:
        m._cache["ms.check"] = (
            {
                "note": AuthCheck(note="no challenge seen"),
                "invalid": AuthCheck(proof=False),
                "valid": AuthCheck(signature=True),
            }[check]
            if check != "other"
            else "not a check"
        )
    ref = _ms_facts_im_and_check_reference(m)
    facts = [
        f
        for f in msview.ms_facts(m)
        if f.startswith(("first IM", "IM ", "NTLMv2", "signature", "no challenge"))
    ]
    assert facts == ref
    assert any(f.startswith(("IM", "first IM")) for f in ref) == (method in ("INVITE", "MESSAGE"))
