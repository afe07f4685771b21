"""The lazy parser gives what the eager one gave: every accessor, every header, every defect.

The oracle is the parser of commit a864c2b, kept verbatim in ``eager_reference/``. Messages come
from every sample capture and every corpus file (exactly the bytes the pipeline parses, with what
the stream framer hands over), from deterministic mutations of those (bare LFs, folding, compact
and odd-case names, duplicates, bad lengths, bytes that are not UTF-8, truncation) and from
hypothesis. Accessors are called in two different orders, because a defect an accessor finds is
appended when it is first asked for.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lyncdump
from lyncdump.capture import tracelog
from lyncdump.errors import CaptureError, MalformedError
from lyncdump.pipeline import connection, core
from lyncdump.sip import message as lazy
from lyncdump.sip.framing import SipStreamFramer

from ..conftest import CAPTURES, corpus_dir
from . import sip_samples as S
from ._compiled import without
from .eager_reference import message as eager

TYPED = (
    "via",
    "from_",
    "to",
    "contact",
    "route",
    "record_route",
    "call_id",
    "cseq",
    "content_type",
    "content_type_params",
    "content_length",
    "max_forwards",
    "expires",
    "supported",
    "require",
    "proxy_require",
    "allow",
    "body_text",
    "body_parts",
)
#: names asked besides those the message has: compact forms, odd case, absent, not tokens
EXTRA_NAMES = (
    "i",
    "I",
    "CALL-ID",
    "v",
    "l",
    "Content-Length",
    "m",
    "k",
    "x-absent",
    "Ms-Text-Format",
    "foo bar",
    "a:b",
    "",
    "EndPoints",
    "WWW-Authenticate",
)
_PROPERTIES = {
    "NameAddr": ("uri_text", "tag", "epid", "expires", "instance", "is_wildcard"),
    "Via": ("branch", "received", "rport", "ms_received_port", "sent_by"),
    "SipUri": ("unescaped_user", "aor", "transport", "is_gruu"),
    "BodyPart": ("content_type", "content_type_params", "content_id", "body_text"),
}


def plain(x: Any) -> Any:
    """Values of either implementation as plain data (their classes are different objects)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        name = type(x).__name__
        out: list[Any] = [name]
        out.extend((f.name, plain(getattr(x, f.name))) for f in dataclasses.fields(x))
        out.extend((p, plain(getattr(x, p))) for p in _PROPERTIES.get(name, ()))
        if name == "SipUri":
            out.append(("str", str(x)))
        if name == "BodyPart":
            out.append(("parts", plain(x.body_parts())))
        return tuple(out)
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [plain(i) for i in x])
    if isinstance(x, dict):
        return ("dict", [(k, plain(v)) for k, v in x.items()])
    return x


def defects(msg: Any) -> list[tuple[Any, ...]]:
    return [(d.frame, d.layer, d.offset, d.reason) for d in msg.defects]


def snapshot(msg: Any, typed_first: bool) -> list[Any]:
    """Everything a consumer can read, in one of two orders."""
    out: list[Any] = [("parse-time defects", defects(msg))]
    fields = ("method", "request_uri", "status", "reason", "version", "is_request", "start_line")
    out.extend((f, getattr(msg, f)) for f in fields)
    if typed_first:  # what transaction matching reads first (the reference has no top_branch)
        if isinstance(msg, lazy.SipMessage):
            out.append(("top branch", msg.top_branch))
        else:
            out.append(("top branch", msg.via[0].branch if msg.via else None))

    def typed() -> None:
        for name in TYPED if typed_first else reversed(TYPED):
            value = getattr(msg, name)
            out.append((name, plain(value() if callable(value) else value)))

    def headers() -> None:
        names = [n for n, _ in msg.headers] if not typed_first else []
        for n in [*names, *EXTRA_NAMES, *(n.upper() for n in names)]:
            out.append(("header", n, msg.header(n), msg.header_values(n)))
        out.append(("headers", list(msg.headers)))

    if typed_first:
        typed()
        headers()
    else:
        headers()
        typed()
    out.append(("body", msg.body))
    out.append(("raw", msg.raw))
    out.append(("defects at the end", defects(msg)))
    return out


def outcome(parse: Callable[[], Any], typed_first: bool) -> Any:
    try:
        msg = parse()
    except MalformedError as exc:
        return ("MalformedError", exc.layer, exc.offset, exc.reason)
    return snapshot(msg, typed_first)


def check(data: bytes, datagram: bool, **handover: Any) -> None:
    """Lazy (with and without what the framer hands over, with and without the compiled
    helpers) == eager, in both orders."""
    for typed_first in (True, False):
        want = outcome(lambda: eager.parse_message(data, datagram=datagram), typed_first)
        got = outcome(lambda: lazy.parse_message(data, datagram=datagram), typed_first)
        assert got == want, data[:300]
        if lazy._sip_head is not None and lazy._sip_head(data, -1) is not None:
            # the compiled head took it: the Python one must agree
            with without(lazy, "_sip_head", "_top_branch"):
                got = outcome(lambda: lazy.parse_message(data, datagram=datagram), typed_first)
            assert got == want, data[:300]
        if handover:
            got = outcome(
                lambda: lazy.parse_message(data, datagram=datagram, **handover), typed_first
            )
            assert got == want, data[:300]


# -- what the pipeline parses -----------------------------------------------------------------


def _inputs() -> list[Path]:
    paths = sorted(
        p
        for p in CAPTURES.iterdir()
        if p.suffix in (".pcap", ".pcapng", ".cap", ".gz", ".log", ".uccapilog")
    )
    corpus = corpus_dir()
    if corpus is not None:
        paths += sorted(p for p in corpus.iterdir() if p.is_file() and p.suffix != ".md")
    return paths


def _no_hand(pipe: connection.TcpConnectionPipeline) -> None:
    return None


def recorded(path: Path) -> list[tuple[bytes, bool, dict[str, Any]]]:
    """Every (data, datagram, handover) the pipeline gives parse_message for this input."""
    calls: list[tuple[bytes, bool, dict[str, Any]]] = []

    def recorder(data: bytes, *, datagram: bool = False, **handover: Any) -> lazy.SipMessage:
        calls.append((bytes(data), datagram, handover))
        return lazy.parse_message(data, datagram=datagram, **handover)

    modules = (core, connection, tracelog)  # every caller of parse_message in the pipeline
    saved = [m.parse_message for m in modules]
    for module in modules:
        module.parse_message = recorder  # type: ignore[assignment]
    # The compiled scan makes clean messages itself (_fastpath.c sip_make): without a hand
    # from the connection it gives each one to _deliver, which calls parse_message.
    pipe = connection.TcpConnectionPipeline
    make_hand = pipe._make_hand
    pipe._make_hand = _no_hand  # type: ignore[assignment,method-assign]
    try:
        keylog = path.with_suffix(".keys")
        options = {"keylog": str(keylog)} if keylog.exists() else {}
        lyncdump.open(str(path), **options).run()
    except CaptureError:
        pass
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.parse_message = original  # type: ignore[assignment]
        pipe._make_hand = make_hand  # type: ignore[method-assign]
    return calls


@pytest.mark.parametrize("path", _inputs(), ids=lambda p: p.name)
def test_every_message_of_every_capture(path: Path) -> None:
    calls = recorded(path)
    for data, datagram, handover in calls:
        check(data, datagram, **{k: v for k, v in handover.items() if v is not None})


def test_the_recorder_sees_the_samples_messages() -> None:
    calls = recorded(CAPTURES / "lync-compressed-tcp.pcap")
    assert len(calls) > 100
    assert all(handover["header_end"] is not None for _, _, handover in calls[3:])


def _mutations(data: bytes) -> Iterator[bytes]:
    """Variants that push a clean message off the lazy path, or keep it on with odd spellings."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return
    lines = head.split(b"\r\n")
    yield b"\n".join(lines) + b"\n\n" + body  # bare LFs everywhere
    yield b"\r\n".join(lines[:-1]) + b"\n" + lines[-1] + b"\r\n\r\n" + body  # one bare LF
    yield b"\r\n".join([lines[0], *(ln.lower() for ln in lines[1:])]) + sep + body
    yield b"\r\n".join([lines[0], *(ln.upper() for ln in lines[1:])]) + sep + body
    compact = {b"via": b"v", b"from": b"f", b"to": b"t", b"call-id": b"i", b"contact": b"m"}
    compact |= {b"content-length": b"l", b"content-type": b"c", b"supported": b"k"}
    renamed = [lines[0]]
    for ln in lines[1:]:
        name, colon, value = ln.partition(b":")
        renamed.append(compact.get(name.lower(), name) + b" \t" + colon + value)
    yield b"\r\n".join(renamed) + sep + body
    if len(lines) > 2:
        yield b"\r\n".join([*lines[:2], b" folded continuation", *lines[2:]]) + sep + body
        yield b"\r\n".join([*lines[:2], b"no colon here", *lines[2:]]) + sep + body
        yield b"\r\n".join([lines[0], b"\tcontinuation first", *lines[1:]]) + sep + body
        yield b"\r\n".join([*lines, lines[1], lines[-1]]) + sep + body  # duplicates
        yield b"\r\n".join([lines[0], *lines[2:]]) + sep + body  # one header less
        yield b"\r\n".join([*lines[:2], b"X-Bin: caf\xe9 \xff", *lines[2:]]) + sep + body
        yield b"\r\n".join([*lines[:2], "X-Utf8: café ✓".encode(), *lines[2:]]) + sep + body
        yield b"\r\n".join([*lines[:2], b"X-Cr: a\rb\r", *lines[2:]]) + sep + body
    cl = [ln for ln in lines if ln.lower().startswith(b"content-length")]
    if cl:
        rest = [ln for ln in lines if ln not in cl]
        yield b"\r\n".join([*rest, cl[0] + b"\r2"]) + sep + body  # a stray CR in the value
        yield b"\r\n".join([*rest, cl[0].replace(b": ", b":\x0b")]) + sep + body
    yield b"\r\n".join([*lines, b"Content-Length: 7x"]) + sep + body
    yield b"\r\n".join([*lines, b"Content-Length: 999"]) + sep + body
    yield b"\r\n".join([*lines, b"l: 0"]) + sep + body
    yield b"\r\n".join([*lines, b"CSeq: 1 OTHER"]) + sep + body
    yield b"\r\n".join([*lines, b"Max-Forwards: 300", b"Expires: soon"]) + sep + body
    yield b"\r\n\r\n" + data  # keep-alive before the message
    yield data + b"trailing bytes"
    yield head + b"\r\n"  # no empty line
    yield head[: len(head) // 2]
    yield data[: len(head) + 3]


@pytest.mark.parametrize(
    "path", [p for p in _inputs() if p.parent == CAPTURES], ids=lambda p: p.name
)
def test_mutations_of_every_sample_message(path: Path) -> None:
    seen: set[bytes] = set()
    for data, _datagram, _handover in recorded(path):
        for variant in _mutations(data):
            if variant not in seen:
                seen.add(variant)
                check(variant, True)
                check(variant, False)
                check_framed(variant)


def check_framed(data: bytes) -> None:
    """The message as the stream framer cuts it, parsed with what the framer hands over."""
    framer = SipStreamFramer()
    framer.receive_data(data + b"\r\n\r\nOPTIONS sip:x SIP/2.0\r\n", 1, 0.0)
    while (framed := framer.next_message()) is not None:
        check(
            framed.data, False, header_end=framed.header_end, content_length=framed.content_length
        )


def test_torture_and_ms_samples() -> None:
    for data in [*S.VALID.values(), *S.MS_MESSAGES.values(), S.BADINV01, S.SCALAR02, S.MULTI01]:
        check(data, True)
        check(data, False)
        for variant in _mutations(data):
            check(variant, True)
            check_framed(variant)


_VIEW_HEADERS = (
    b"SIP/2.0 401 Unauthorized\r\n"
    b"Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK1\r\n"
    b"From: <sip:a@x>;tag=1\r\nTo: <sip:a@x>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\n"
    b'WWW-AUTHENTICATE: NTLM realm="SIP", targetname="fe"\r\n'
    b'www-authenticate:Kerberos realm="SIP" \r\n'
    b"o: presence;id=1\r\nm: <sip:a@10.0.0.1>;expires=60, <sip:a@10.0.0.2>\r\n"
    b'Ms-Diagnostics-Public: 1000;reason="x"\r\nms-diagnostics: 2;reason="y"\r\n'
    b"X-Other: 1\r\nAuthorizationX: not the header\r\nContent-Length: 0\r\n\r\n"
)


@pytest.mark.parametrize("first", ["Event", "X-Other", "Authorization", "Contact", "Via"])
def test_view_headers_found_in_one_scan_match_the_eager_parser(first: str) -> None:
    """The view headers (auth, ms-diagnostics, Event, Contact, ...) are found together on
    the first lookup of one of them: compact forms, odd case, repeats, a longer name that
    starts like one of them and absent ones read as the eager parser reads them, whichever
    header is asked for first."""
    msg = lazy.parse_message(_VIEW_HEADERS)
    reference = eager.parse_message(_VIEW_HEADERS)
    names = [first, *(n for n, _ in reference.headers), "Proxy-Authorization", "Reason", "e"]
    for name in names:
        assert msg.header(name) == reference.header(name), name
        assert msg.header_values(name) == reference.header_values(name), name
    assert msg._index is not None and msg._headers is None  # no whole header list was built
    check(_VIEW_HEADERS, False)


# -- generated messages --------------------------------------------------------------------------

_NAMES = [
    "Via", "v", "VIA", "From", "f", "To", "t", "Call-ID", "i", "call-id", "CSeq", "cseq",
    "Content-Length", "l", "content-length", "Content-Type", "c", "Max-Forwards", "Expires",
    "Contact", "m", "Route", "Record-Route", "Supported", "k", "Require", "Allow", "Event", "o",
    "ms-text-format", "X-Foo", "Proxy-Require", "WWW-Authenticate", "Bad Name", "", "A:B",
]  # fmt: skip
_VALUES = [
    "SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK1",
    "SIP/2.0/UDP [::1]:5;received=1.2.3.4, SIP/2.0/TLS h",
    '"Al \\"ice\\"" <sip:a@b.com;transport=tls>;tag=1;epid=2', "<sip:b@c>", "sip:x@y;tag=z",
    '"Bob" <sip:b@c>;epid=3;tag=9f', "<sip:a@b>;tag=1;tag=2", "<sip:a@b> ;TAG=1;tag=2",
    "sip:a@b;x=<y>;tag=t", "<sip:a@b;tag=c;tag=d", '"x;tag=y" <sip:a>;tag=z',
    "1 INVITE", "2 invite", "99999999999 BYE", "x", "0", "12", " 5 ", "007", "", "*",
    "abc@host", "multipart/mixed; boundary=zz", "application/sdp", "text/plain;charset=latin1",
    "timer, 100rel", "a, b,, c", '"unterminated', "<sip:a@b>;expires=60, <sip:c@d>",
]  # fmt: skip
_START = [
    "INVITE sip:bob@example.com SIP/2.0", "SIP/2.0 200 OK", "SIP/2.0 180",
    "MESSAGE sip:a@b SIP/2.1",
    "REGISTER  sip:x  SIP/2.0", "SIP/2.0 999 Big", "BYE tel:+1 SIP/2.0", "garbage line",
]  # fmt: skip
_EOL = st.sampled_from([b"\r\n"] * 8 + [b"\n", b"\r\r\n"])


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    eol = draw(_EOL)
    out = [draw(st.sampled_from(_START)).encode()]
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            out.append(b" " + draw(st.sampled_from(_VALUES)).encode())  # continuation
        elif kind == 1:
            out.append(draw(st.binary(max_size=12)).replace(b"\n", b""))
        else:
            name = draw(st.sampled_from(_NAMES)).encode()
            sep = draw(st.sampled_from([b":", b": ", b" :", b"\t:  ", b":\t"]))
            value = draw(st.sampled_from(_VALUES)).encode()
            if draw(st.integers(0, 6)) == 0:
                value += draw(st.sampled_from([b" \xe9", " é".encode(), b" \r", b"  ", b"\r2"]))
            out.append(name + sep + value)
        out.append(draw(_EOL) if draw(st.booleans()) else eol)
    text = out[0] + eol + b"".join(out[1:])
    if draw(st.integers(0, 5)):
        text += eol + draw(st.sampled_from([b"", b"v=0\r\n", b"--zz\r\n\r\nx\r\n--zz--", b"abc"]))
    return text


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(messages(), st.booleans())
def test_generated_messages(data: bytes, datagram: bool) -> None:
    check(data, datagram)


@SETTINGS
@given(st.binary(max_size=400), st.booleans())
def test_random_bytes(data: bytes, datagram: bool) -> None:
    check(data, datagram)


@SETTINGS
@given(messages(), st.integers(1, 50))
def test_framed_messages_with_handover(data: bytes, chunk: int) -> None:
    """What the framer cuts from a stream, parsed with what it hands over, == eager."""
    framer = SipStreamFramer()
    stream = data + b"\r\n\r\n" + data
    for i in range(0, len(stream), chunk):
        framer.receive_data(stream[i : i + chunk], i, 0.0)
        while (framed := framer.next_message()) is not None:
            check(
                framed.data,
                False,
                header_end=framed.header_end,
                content_length=framed.content_length,
            )


# -- the whole output ----------------------------------------------------------------------------


class _EagerMessage(eager.SipMessage):
    """The reference message with what the pipeline uses that it did not have: the tunnel slot
    and to_dict() (added on main after a864c2b, nothing to do with parsing), _values(),
    _view_index(), take_new_defects(), top_branch, part_spans(), note_address_defects(),
    addr_uri() and headers_starting()."""

    __slots__ = ("encapsulation",)

    def take_new_defects(self) -> list[Any]:
        return list(self.defects)  # the pipeline asks once, when it emits the session

    def _values(self, key: str) -> list[str]:  # what sip/ms.py reads a header with
        return self._header_index().get(key, [])

    def _view_index(self) -> dict[str, list[str]]:  # what the facts read auth headers from
        return self._header_index()

    @property
    def top_branch(self) -> str | None:  # what transaction matching reads
        vias = self.via
        return vias[0].branch if vias else None

    def note_address_defects(self, *, from_: bool = True, to: bool = True) -> None:
        if from_:  # what the defect totals read: the problems From/To give
            self.from_  # noqa: B018
        if to:
            self.to  # noqa: B018

    def headers_starting(self, initials: str) -> list[tuple[str, str]]:  # the NEGOTIATE tracker's
        return [h for h in self.headers if h[0][:1] and h[0][0] in initials]

    def addr_uri(self, name: str) -> str | None:  # what a session's header line shows
        addr = self.from_ if name == "from" else self.to
        return str(addr.uri) if addr is not None and addr.uri is not None else None

    def part_spans(self, body: bytes | None = None) -> list[tuple[int, int]]:
        """What the media layer reads SDP parts by (``body``: the caller's copy of
        ``self.body``, the same bytes); spans from the Python reference of the compiled
        helper."""
        from lyncdump.sip.message import multipart_spans_py

        self.body_parts()  # the reference notes the body's problems
        ctype = self.content_type
        boundary = self.content_type_params.get("boundary")
        if not ctype or not ctype.startswith("multipart/") or not boundary:
            return []
        return multipart_spans_py(self.body, boundary)

    def to_dict(self, *, verbose: bool = False) -> dict[str, Any]:
        from lyncdump.render.json import message_to_dict

        return message_to_dict(self, verbose=verbose)  # type: ignore[arg-type]


_EAGER_SLOTS = eager.SipMessage.__slots__


def _eager_parse(data: bytes, *, datagram: bool = False, **_handover: Any) -> Any:
    msg = eager.parse_message(data, datagram=datagram)
    twin = _EagerMessage.__new__(_EagerMessage)
    for name in _EAGER_SLOTS:
        setattr(twin, name, getattr(msg, name))
    twin.encapsulation = None
    return twin


@pytest.mark.parametrize("path", _inputs(), ids=lambda p: p.name)
@pytest.mark.parametrize("view", [["--json", "-v"], ["-v"], ["--summary"]], ids=" ".join)
def test_whole_output_is_the_eager_parser_output(
    path: Path, view: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's output (every message in full with -v) is the same with the eager parser."""
    from click.testing import CliRunner

    from lyncdump.cli import command

    keylog = path.with_suffix(".keys")
    args = [*view, *(["--keylog", str(keylog)] if keylog.exists() else []), str(path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LYNCDUMP_")}
    got = CliRunner(env=env).invoke(command, args)
    for module in (core, connection, tracelog):
        monkeypatch.setattr(module, "parse_message", _eager_parse)
    want = CliRunner(env=env).invoke(command, args)
    assert want.exception is None or isinstance(want.exception, SystemExit), want.exception
    assert (got.exit_code, got.output) == (want.exit_code, want.output)


# -- the header grammar, function by function ----------------------------------------------------

_GRAMMAR = st.lists(
    st.sampled_from([*' \t;,="\\<>:@/[]*.%ab1Z\u00a0\u2003é', "SIP/2.0/", "sip:", "5060"]),
    max_size=24,
).map("".join)


@SETTINGS
@given(_GRAMMAR, st.sampled_from([";", ","]))
def test_split_params_matches(text: str, sep: str) -> None:
    from lyncdump.sip.uri import split_params

    from .eager_reference.uri import split_params as reference

    assert split_params(text, sep) == reference(text, sep)


@SETTINGS
@given(_GRAMMAR)
def test_header_parsers_match(text: str) -> None:
    from lyncdump.sip import headers as new
    from lyncdump.sip import uri as new_uri

    from .eager_reference import headers as old
    from .eager_reference import uri as old_uri

    for variant in (text, "SIP/2.0/TCP " + text, "<sip:" + text, f'"{text}" <sip:a@b>;{text}'):
        for name in ("parse_via", "parse_name_addr", "parse_params"):
            got_problems: list[str] = []
            want_problems: list[str] = []
            got = getattr(new, name)(variant, got_problems)
            want = getattr(old, name)(variant, want_problems)
            assert (plain(got), got_problems) == (plain(want), want_problems), (name, variant)
        assert new.parse_media_type(variant) == old.parse_media_type(variant)
        assert plain(new_uri.parse_uri(variant)) == plain(old_uri.parse_uri(variant))


# -- headers_starting (the MS-SIPCOMP NEGOTIATE tracker's read; session 30) --------------------


def check_starting(data: bytes, datagram: bool, **handover: Any) -> None:
    """``headers_starting`` gives the pairs of ``headers`` whose name starts so, in order,
    whether the message read its block lazily or already holds the list."""
    try:
        msg = lazy.parse_message(data, datagram=datagram, **handover)
        full = lazy.parse_message(data, datagram=datagram, **handover)
    except MalformedError:
        return
    for initials in ("cCiI", "vVtTfF", "xX"):
        want = [h for h in full.headers if h[0][:1] and h[0][0] in initials]
        assert msg.headers_starting(initials) == want, data[:300]
        assert full.headers_starting(initials) == want, data[:300]


@pytest.mark.parametrize(
    "path", [p for p in _inputs() if p.parent == CAPTURES], ids=lambda p: p.name
)
def test_headers_starting_on_every_sample_message_and_its_mutations(path: Path) -> None:
    for data, datagram, handover in recorded(path):
        check_starting(data, datagram, **{k: v for k, v in handover.items() if v is not None})
        for variant in _mutations(data):
            check_starting(variant, False)


def test_headers_starting_on_torture_and_ms_samples() -> None:
    for data in [*S.VALID.values(), *S.MS_MESSAGES.values(), S.BADINV01, S.SCALAR02, S.MULTI01]:
        for variant in (data, *_mutations(data)):
            check_starting(variant, True)
            check_starting(variant, False)


@SETTINGS
@given(messages(), st.booleans())
def test_headers_starting_on_generated_messages(data: bytes, datagram: bool) -> None:
    check_starting(data, datagram)
