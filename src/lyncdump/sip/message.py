"""One SIP message from bytes: start line, headers, body, and typed accessors.

Sans-IO: :func:`parse_message` takes the bytes of one message (a UDP datagram, or what
:class:`lyncdump.sip.framing.SipStreamFramer` cut from a stream) and returns a
:class:`SipMessage`. Only a start line that cannot be read (or a message over the size and
header-count bounds) raises :class:`~lyncdump.errors.MalformedError`; every other problem
becomes a :class:`~lyncdump.model.Defect` in ``message.defects`` and parsing goes on, because
an analyzer must show what real stacks sent, not what they should have sent.

Typed accessors (``via``, ``cseq``, ``contact``, ...) parse on first use and cache; they never
raise on bad values: they return None (or skip the bad item) and note a defect once.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .. import fastpath
from ..errors import MalformedError
from ..model import Defect, Endpoint
from ..net.encap import Encapsulation
from ..recent import CleanKeys, RecentTable, RecentTexts
from ..resultclass import result_dataclass
from .headers import (
    _CANONICAL,
    COMPACT_FORMS,
    NEVER_SPLIT,
    NameAddr,
    Via,
    canonical_name,
    is_token,
    media_type,
    parse_header_lines,
    parse_media_type,
    parse_name_addr,
    parse_via,
    split_header_values,
)

#: The fields of a message for ``dataclasses.fields``/``asdict`` and ``pd.DataFrame(messages)``
#: (lyncdump/resultclass.py): the start line, where it was seen, and the parsed header list,
#: body and defects (read when asked for, as the properties do).
MESSAGE_FIELDS = {
    "frame": "int | None", "first_frame": "int | None", "time": "float | None",
    "src": "Endpoint | None", "dst": "Endpoint | None", "transport": "str | None",
    "stream_id": "int | None", "method": "str | None", "request_uri": "str | None",
    "status": "int | None", "reason": "str | None", "version": "str",
    "call_id": "str | None", "cseq": "tuple[int, str] | None", "compressed": "bool",
    "wire_size": "int | None", "partial": "bool", "retransmission": "bool",
    "encapsulation": "Encapsulation | None", "headers": "list[tuple[str, str]]",
    "body": "bytes", "defects": "list[Defect]",
}  # fmt: skip

__all__ = [
    "KNOWN_METHODS",
    "MAX_HEADERS",
    "MAX_MESSAGE_SIZE",
    "BodyPart",
    "SipMessage",
    "looks_like_sip",
    "multipart_spans",
    "parse_body_part",
    "parse_message",
    "part_bounds",
    "split_multipart",
    "start_line_matches",
]

MAX_MESSAGE_SIZE = 1 << 20
"""Largest message :func:`parse_message` accepts (bytes); Lync messages are a few KiB."""

MAX_HEADERS = 1000
"""Most header fields one message may have; a bound against hostile input."""

KNOWN_METHODS: frozenset[str] = frozenset(
    {
        # RFC 3261 and extensions
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "REGISTER",
        "OPTIONS",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "INFO",
        "REFER",
        "MESSAGE",
        "UPDATE",
        # Microsoft [MS-SIP], [MS-SIPCOMP]
        "SERVICE",
        "BENOTIFY",
        "NEGOTIATE",
    }
)
"""Methods the renderer knows by name; any other token method parses just as well."""

_LAYER = "sip"
_TOKEN_CLASS = rb"A-Za-z0-9\-.!%*_+`'~"
_REQUEST_START_RE = re.compile(
    rb"[" + _TOKEN_CLASS + rb"]+ [A-Za-z][A-Za-z0-9+.\-]*:[^ \r\n]* SIP/2\.0(?:\r?\n|\r?\Z)"
)
_RESPONSE_START_RE = re.compile(rb"SIP/2\.0 [0-9]{3}(?:[ \r\n]|\Z)")
_REQUEST_LINE_RE = re.compile(
    r"([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+([A-Za-z][A-Za-z0-9+.\-]*:\S*)[ \t]+"
    r"([Ss][Ii][Pp]/[0-9]{1,4}\.[0-9]{1,4})[ \t]*"
)
_STATUS_LINE_RE = re.compile(r"([Ss][Ii][Pp]/[0-9]{1,4}\.[0-9]{1,4})[ \t]+([0-9]{3})(?:[ \t](.*))?")
_LEADING_CRLF_RE = re.compile(rb"[\r\n]*")
_CSEQ_RE = re.compile(r"\s*([0-9]{1,20})\s+([A-Za-z0-9\-.!%*_+`'~]+)\s*")
_CL_LIMIT = 10**15  # larger Content-Length values are treated as malformed
_REQUIRED = ("via", "from", "to", "call-id", "cseq")
_SINGLE = ("call-id", "cseq", "from", "to", "max-forwards", "content-type")
_DISPLAY = {
    "via": "Via",
    "from": "From",
    "to": "To",
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "max-forwards": "Max-Forwards",
    "content-type": "Content-Type",
}

T = TypeVar("T")


def looks_like_sip(data: bytes) -> bool:
    """Cheap test of the first bytes: a SIP/2.0 status line or a request line.

    Called on every UDP datagram and new TCP stream, so it only runs two anchored regexes
    that fail on the first byte for RTP, STUN and TLS. A request line must be complete
    (``METHOD scheme:... SIP/2.0`` then CRLF, LF or end of data).
    """
    if data[:8] == b"SIP/2.0 ":
        if len(data) < 12:  # too short to see the whole status code: judge what is there
            return len(data) == 8 or data[8:].isdigit()
        return _RESPONSE_START_RE.match(data) is not None
    return _REQUEST_START_RE.match(data) is not None


def start_line_matches(buf: bytes | bytearray, start: int, end: int) -> bool:
    """True when ``buf[start:end]`` (one line, with its LF) is a SIP/2.0 start line.

    The same test as :func:`looks_like_sip`, on a slice of a larger buffer without copying
    (the stream framer uses it to resynchronise).
    """
    if buf.startswith(b"SIP/2.0 ", start):
        return _RESPONSE_START_RE.match(buf, start, end) is not None
    return _REQUEST_START_RE.match(buf, start, end) is not None


def _decode(raw: bytes) -> tuple[str, bool]:
    """UTF-8 text of a header line; Latin-1 (lossless, flagged) when it is not UTF-8."""
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("latin-1"), False


def _int_in_range(text: str | None, limit: int) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if not text or len(text) > 20 or not text.isascii() or not text.isdigit():
        return None
    n = int(text)
    return n if n <= limit else None


class _ContentTypeView:
    """``Content-Type`` read the same way for a message and for each part of a multipart body."""

    __slots__ = ()

    if TYPE_CHECKING:  # each class that mixes this in has its own header()

        def header(self, name: str) -> str | None: ...

    @property
    def content_type(self) -> str | None:
        """Media type lower-cased, without parameters (``application/sdp``)."""
        value = self.header("content-type")
        return media_type(value) if value is not None else None

    @property
    def content_type_params(self) -> dict[str, str]:
        """Content-Type parameters (names lower-cased): ``charset``, ``boundary``, ..."""
        value = self.header("content-type")
        return parse_media_type(value)[1] if value is not None else {}


@dataclass(slots=True)
class BodyPart(_ContentTypeView):
    """One part of a multipart body: its MIME headers and raw bytes."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """First value of a part header (case-insensitive, compact forms understood)."""
        key = canonical_name(name)
        for hname, value in self.headers:
            if canonical_name(hname) == key:
                return value
        return None

    @property
    def content_id(self) -> str | None:
        """``Content-ID`` (Lync labels SDP alternatives with it, see Ms-Accepted-Content-ID)."""
        return self.header("content-id")

    @property
    def body_text(self) -> str:
        """The part decoded per its charset (UTF-8 by default), bad bytes replaced."""
        return _decode_body(self.body, self.content_type_params.get("charset"))

    def body_parts(self) -> list[BodyPart]:
        """Parts of a nested multipart part; [] otherwise."""
        ctype = self.content_type
        boundary = self.content_type_params.get("boundary")
        if not ctype or not ctype.startswith("multipart/") or not boundary:
            return []
        return split_multipart(self.body, boundary)


def _decode_body(body: bytes, charset: str | None) -> str:
    encoding = "utf-8"
    if charset:
        try:
            encoding = codecs.lookup(charset.strip()).name
        except (LookupError, ValueError):
            encoding = "utf-8"
    try:
        return body.decode(encoding, errors="replace")
    except (LookupError, ValueError, TypeError):  # odd codecs (e.g. binary-only ones)
        return body.decode("utf-8", errors="replace")


def _find_delimiter(body: bytes, delim: bytes, start: int) -> int:
    """Index of the next ``--boundary`` at a line start, or -1 (boundary prefixes ignored)."""
    pos = start
    n = len(body)
    while True:
        if pos == 0 and body.startswith(delim):
            hit = 0
        else:
            found = body.find(b"\n" + delim, max(pos - 1, 0))
            if found < 0:
                return -1
            hit = found + 1
        after = hit + len(delim)
        if after >= n or body[after] in b"-\r\n \t":
            return hit
        pos = hit + 1


def split_multipart(
    body: bytes, boundary: str, problems: list[str] | None = None
) -> list[BodyPart]:
    """Cut a multipart body (RFC 2046) into parts; preamble and epilogue are dropped.

    The CRLF before each delimiter belongs to the delimiter. A missing close delimiter is
    tolerated (the last part runs to the end) and reported.
    """
    return [parse_body_part(body[a:b]) for a, b in multipart_spans(body, boundary, problems)]


#: The problems multipart_spans notes, by the compiled helper's number for them.
_SPAN_PROBLEMS = (
    "",
    "multipart boundary not found in body",
    "multipart body without close delimiter",
)


def multipart_spans(
    body: bytes, boundary: str, problems: list[str] | None = None
) -> list[tuple[int, int]]:
    """Where the parts of a multipart body lie (``body[start:end]``, headers included): what
    :func:`split_multipart` cuts, with the same problems, without reading the parts.

    The compiled ``multipart_spans`` when it is there (Front End presence bodies are
    multipart/related with many parts); :func:`multipart_spans_py` otherwise."""
    if _spans_c is None:
        return multipart_spans_py(body, boundary, problems)
    spans, problem = _spans_c(body, b"--" + boundary.encode("utf-8", "replace"), MAX_HEADERS)
    if problem and problems is not None:
        problems.append(_SPAN_PROBLEMS[problem])
    return spans  # type: ignore[no-any-return]


def multipart_spans_py(
    body: bytes, boundary: str, problems: list[str] | None = None
) -> list[tuple[int, int]]:
    """:func:`multipart_spans` in Python: the reference the compiled helper is tested against."""
    delim = b"--" + boundary.encode("utf-8", "replace")
    pos = _find_delimiter(body, delim, 0)
    if pos < 0:
        if problems is not None:
            problems.append("multipart boundary not found in body")
        return []
    spans: list[tuple[int, int]] = []
    while len(spans) < MAX_HEADERS:
        after = pos + len(delim)
        if body[after : after + 2] == b"--":
            return spans
        eol = body.find(b"\n", after)
        if eol < 0:
            break
        start = eol + 1
        nxt = _find_delimiter(body, delim, start)
        if nxt < 0:
            spans.append((start, len(body)))
            break
        end = nxt - 1  # the LF before the delimiter
        if end > start and body[end - 1] == 13:
            end -= 1
        spans.append((start, max(end, start)))
        pos = nxt
    if problems is not None:
        problems.append("multipart body without close delimiter")
    return spans


def part_bounds(data: bytes, start: int, end: int) -> tuple[int, int]:
    """Where the headers of the part ``data[start:end]`` end and its body starts: ``(start,
    body start)`` for a part without headers. How :func:`parse_body_part` cuts a part, for a
    layer that looks at a part's header block before parsing it."""
    if data.startswith(b"\r\n", start, end):
        return start, start + 2
    if data.startswith(b"\n", start, end):
        return start, start + 1
    a = data.find(b"\n\r\n", start, end)
    b = data.find(b"\n\n", start, a + 1 if a >= 0 else end)  # only an earlier one matters
    if a < 0 and b < 0:
        return start, start
    if a < 0 or (0 <= b < a):
        return b + 1, b + 2
    return a + 1, a + 3


def parse_body_part(data: bytes) -> BodyPart:
    """One part of a multipart body (what :func:`split_multipart` cut): headers and body."""
    head_end, body_start = part_bounds(data, 0, len(data))
    if head_end == 0:
        return BodyPart([], data[body_start:])
    lines = [_decode(line.rstrip(b"\r"))[0] for line in data[:head_end].split(b"\n")]
    return BodyPart(parse_header_lines(lines), data[body_start:])


# -- lazy header access --------------------------------------------------------------------------
#
# A message whose header block is "clean" (CRLF line ends, every line a ``token: value`` header,
# no folding, valid UTF-8, at most MAX_HEADERS lines: what Lync and every mainstream stack send)
# keeps its bytes and is read on demand: a header asked for is found by one regex scan of the
# header block, and the whole (name, value) list is built only when someone asks for it. Any
# other message is parsed the eager way, line by line, exactly as before; both give the same
# values and the same defects (tests/sip/test_sip_lazy_parity.py checks it against the eager
# parser of commit a864c2b on every sample, corpus file and generated message). With the
# compiled module, a clean message that gives no parse-time defect is made whole in C, the
# object _lazy_message would make (``sip_message``; tests/sip/test_sip_made_in_c.py).


class _Unset:
    """The "not read yet" marker of the typed-header slots; pickles as itself."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "_UNSET"


class _Checked(_Unset):
    """From/To checked for defects (none) but not built yet; pickles as itself."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "_CHECKED"


_UNSET: object = _Unset()
#: From/To checked for defects (none) but not built yet (note_address_defects, or read at
#: parse time): built when asked, as _UNSET is, without a defect to note.
_CHECKED: object = _Checked()
_EMPTY: tuple[str, ...] = ()
_LONG_TO_COMPACT = {long: short for short, long in COMPACT_FORMS.items()}
#: canonical header name -> regex finding its values in a clean header block (None: not a token)
_LOOKUPS: dict[str, re.Pattern[bytes] | None] = {}
# A clean header block, every line of it: a token name, optional blanks, a colon, a value
# without LF, CRLF. Folding, bare LFs and lines that are not headers all fail to match.
_CLEAN_RE = re.compile(rb"(?:[A-Za-z0-9\-.!%*_+`'~]+[ \t]*:[^\n]*\r\n)*")
#: initials -> regex finding the headers whose name starts with one of them (headers_starting)
_STARTING: dict[str, re.Pattern[bytes]] = {}
#: after this many different headers looked up one by one, the whole block is parsed at once
_LOOKUPS_BEFORE_INDEX = 8
#: The headers framing, sessions, counts and every view read, found at parse time in one scan
#: (canonical name -> spellings); absent ones are known absent, others are looked up on demand.
_CORE = {
    "call-id": "i",
    "cseq": None,
    "via": "v",
    "from": "f",
    "to": "t",
    "content-type": "c",
    "content-length": "l",
    "max-forwards": None,
}
_CORE_KEYS = frozenset(_CORE)
_REQUIRED_KEYS = frozenset(_REQUIRED)
_SINGLE_KEYS = frozenset(_SINGLE)


def _spellings(
    names: dict[str, str | None], forms: Callable[[str], tuple[str, ...]]
) -> dict[bytes, str]:
    """Written spelling -> canonical name, for each of ``forms`` of every name and compact
    form in ``names`` (the usual ones: any other is looked up lower-cased)."""
    return {
        written.encode("ascii"): key
        for key, short in names.items()
        for spelling in (key, short)
        if spelling is not None
        for written in forms(spelling)
    }


_CORE_SPELLINGS = _spellings(
    _CORE,
    lambda name: (
        name,
        name.upper(),
        name.title(),
        name.title().replace("-Id", "-ID").replace("Cseq", "CSeq"),
    ),
)  # the usual spellings; _CORE_RE finds any case, looked up lower-cased then
# The same names as a trie (one branch per first letter): a list of alternatives would be
# tried one by one at every line.
_CORE_RE = re.compile(  # anchored on LF: the CR before it may end the previous match
    rb"\n((?i:c(?:all-id|seq|ontent-(?:type|length))?|v(?:ia)?|f(?:rom)?|to?|max-forwards|[il]))"
    rb"[ \t]*:[ \t]*([^\n]*)"
)


#: The headers the ladder's facts, the JSON and the sign-in analysis read besides the core ones
#: (canonical name -> compact form): the first lookup of any of them finds them all in one scan
#: of the header block, and the others are then known absent. A ladder line's facts ask for
#: about ten of them: one scan costs a sixth of indexing the whole block (5.7 against 32.6 us
#: on Front End traffic), and a scan per name would walk the block ten times.
_VIEW = {
    "authorization": None,
    "proxy-authorization": None,
    "www-authenticate": None,
    "proxy-authenticate": None,
    "authentication-info": None,
    "proxy-authentication-info": None,
    "ms-user-logon-data": None,
    "ms-diagnostics": None,
    "ms-diagnostics-public": None,
    "ms-client-diagnostics": None,
    "ms-conversation-id": None,
    "reason": None,
    "event": "o",
    "expires": None,
    "contact": "m",
    "server": None,
    "user-agent": None,
}
_VIEW_KEYS = frozenset(_VIEW)
#: spelling as written (the usual ones; any other is looked up lower-cased) -> canonical name
_VIEW_SPELLINGS = _spellings(
    _VIEW, lambda name: (name, name.title().replace("Www", "WWW").replace("-Id", "-ID"))
)
#: In the index once the view headers were scanned for (not a token: never a header's name)
_VIEW_SCANNED = " view headers scanned"


def _trie(words: list[str]) -> str:
    """A regex matching exactly ``words``, as a trie: one branch per next letter, so a line is
    ruled out by its first letters instead of by trying every name in turn."""
    branches: dict[str, list[str]] = {}
    for word in words:
        if word:
            branches.setdefault(word[0], []).append(word[1:])
    alternatives = [re.escape(c) + _trie(rest) for c, rest in sorted(branches.items())]
    optional = "" in words
    if len(alternatives) == 1 and not optional:
        return alternatives[0]
    if not alternatives:
        return ""
    return "(?:" + "|".join(alternatives) + ")" + ("?" if optional else "")


_VIEW_RE = re.compile(  # anchored on LF, as _CORE_RE
    rb"\n(" + _trie([s.decode("ascii") for s in _VIEW_SPELLINGS]).encode("ascii") + rb")"
    rb"[ \t]*:[ \t]*([^\n]*)",
    re.IGNORECASE,
)


# The compiled helpers (lyncdump._fastpath; None without it): see parse_message, top_branch
# and _parse_addr.
_sip_head: Callable[..., Any] | None = fastpath.helper("sip_head")
_top_branch: Callable[..., Any] | None = fastpath.helper("sip_top_branch")
_addr_base: Callable[..., Any] | None = fastpath.helper("sip_addr_base")
_spans_c: Callable[..., Any] | None = fastpath.helper("multipart_spans")
_addrs_clean: Callable[..., int] | None = fastpath.helper("sip_addrs_clean")
#: The view headers' scan in C (what _VIEW_RE finds, without a regular expression: the
#: expression cost about 33,000 instructions a Front End message's header block).
_header_scan: Callable[..., None] | None = fastpath.helper("sip_header_scan")
#: The whole lazy message of a clean head with no parse-time defect, made in C (see
#: parse_message; usable once sip_message_setup took the class, at the end of this module).
_sip_message: Callable[..., Any] | None = fastpath.helper("sip_message")
_made_ready = False
_VIEW_LOWER = {spelling.lower(): key for spelling, key in _VIEW_SPELLINGS.items()}


def _lookup_re(key: str) -> re.Pattern[bytes] | None:
    """The regex that finds the values of canonical header ``key`` in a clean header block."""
    pattern = _LOOKUPS.get(key, _UNSET)
    if pattern is _UNSET:
        if not is_token(key):
            pattern = None  # never a header name: the index cannot hold it
        else:
            names = [re.escape(key.encode("ascii"))]
            short = _LONG_TO_COMPACT.get(key)
            if short is not None:
                names.append(short.encode("ascii"))
            pattern = re.compile(
                rb"\n(?:" + b"|".join(names) + rb")[ \t]*:[ \t]*([^\n]*)", re.IGNORECASE
            )
        if len(_LOOKUPS) >= 1024:  # header() can be asked any name: keep the table bounded
            _LOOKUPS.clear()
        _LOOKUPS[key] = pattern
    return pattern  # type: ignore[return-value]


# -- parsed values shared between messages -------------------------------------------------------
#
# From and To repeat from message to message (a dialog's every request and response): each
# distinct text is parsed once and its result, problems included, reused (two in three parses
# saved on Front End traffic; Via is not worth it: its branch changes with each transaction).
# The parsed objects are then shared between messages: treat them as read-only (as every
# accessor's result). The tables are bounded by entries and by the total characters of their
# keys (oldest entries dropped first), and so are their keys: docs/architecture.md gives each
# table's cost at its limit.

#: Most From/To texts whose parse is kept (a parsed address costs about 1 KB)
_SHARED_MAX = 4096
#: Longest From/To text (characters) whose parse is kept
_SHARED_TEXT_MAX = 512
#: Most characters of keys in a table of parses (at most _SHARED_MAX texts of 128 on average)
_SHARED_CHARS = 512 * 1024
#: Most From/To keys known to read without a problem, and of URI texts (a Front End's users,
#: 19,411 in the million-message capture, each with a From and a To key or two), and the
#: most characters of their keys (about 64 a key on average at the entry limit)
_KEYS_MAX = 65536
_KEYS_CHARS = 4 * 1024 * 1024
_ADDRS: RecentTexts[tuple[NameAddr | None, tuple[str, ...]]] = RecentTexts(
    _SHARED_MAX, _SHARED_CHARS
)
#: The same for the texts with placeholders for their parameter values (see _parse_addr): a
#: table of their own, so that the many texts seen once do not push them out.
_BASES: RecentTexts[tuple[NameAddr | None, tuple[str, ...]]] = RecentTexts(
    _SHARED_MAX, _SHARED_CHARS
)
#: From/To keys read without a problem (a text with placeholders, or a text that has none),
#: for the compiled ``sip_addrs_clean``: a new message whose From and To have their key here
#: needs no Python to know they give no defect. The compiled check decides the texts it knows
#: parse without one from their bytes first (``sip_addr_plain``) and only reads the set for
#: the others. Emptied when full (the keys come back).
_CLEAN_ADDRS = CleanKeys(_KEYS_MAX, _KEYS_CHARS)
#: Contact, Route and Record-Route values (every occurrence of the header, as sent) -> the
#: addresses parsed from them and the problems found: a client sends the same Contact with
#: each REGISTER and SUBSCRIBE, and the registrar's answer lists it back. At most
#: ``_ADDR_LISTS_MAX`` of them, each of at most ``_ADDR_LIST_TEXT_MAX`` characters in all and
#: ``_ADDR_LIST_ITEMS`` addresses (a longer list is parsed for its message alone).
_ADDR_LISTS_MAX = 256
_ADDR_LIST_TEXT_MAX = 1024
_ADDR_LIST_ITEMS = 4
_ADDR_LISTS: RecentTable[tuple[str, ...], tuple[tuple[NameAddr, ...], tuple[str, ...]]] = (
    RecentTable(_ADDR_LISTS_MAX)
)
#: The URI text (``str(addr.uri)``) of an address with placeholders known to read without a
#: problem (a key of ``_BASES``), or of such a text without parameter values (a To before its
#: tag): what a session's header line and summaries show of From and To, without building the
#: message's address (:meth:`SipMessage.addr_uri`).
_URI_TEXTS: RecentTexts[str] = RecentTexts(_KEYS_MAX, _KEYS_CHARS)


def _clean_addr(key: str) -> None:
    """Note that From/To key ``key`` parses without a problem (compiled runs only)."""
    if _addrs_clean is not None and len(key) <= _SHARED_TEXT_MAX:
        _CLEAN_ADDRS.note(key)


def _bracketed(value: str, gt: int) -> bool:
    """True when parse_name_addr reads ``value`` (not starting with a quote) as
    ``display <uri>``, the ``>`` at ``gt`` closing the URI."""
    lt = value.find("<")
    return 0 <= lt < gt and ":" not in value[:lt] and '"' not in value[:lt]


def _split_addr(value: str) -> tuple[str, dict[str, str]] | None:
    """``value`` with each plain token parameter value after the ``>`` replaced by a
    placeholder, and the values by placeholder; None when the text is not ``display <uri>;...``
    with such a value (the compiled ``sip_addr_base`` does the same for ASCII text)."""
    gt = value.find(">")
    if not (
        gt > 0
        and value.startswith(";", gt + 1)
        and '"' not in value[gt:]
        and "\x01" not in value  # the placeholders' mark
        and value.find(">", gt + 1) < 0
        and (value[0] == '"' or _bracketed(value, gt))
    ):
        return None
    items = value[gt + 2 :].split(";")
    real: dict[str, str] = {}
    for i, item in enumerate(items):
        name, eq, v = item.partition("=")
        if eq and is_token(v):
            placeholder = f"\x01{i}"
            real[placeholder] = v
            items[i] = f"{name}={placeholder}"
    return (value[: gt + 2] + ";".join(items), real) if real else None


def _parse_addr(value: str) -> tuple[NameAddr | None, tuple[str, ...]]:
    """parse_name_addr of a From/To text, with its problems.

    Every dialog gives From and To a new ``;tag=`` (and Lync an ``;epid=`` per client), so most
    texts are an address seen before with new parameter values. The text with each plain
    token value after the ``>`` replaced by a placeholder is parsed once (shared), and the
    values are put back: the result is what parsing the whole text gives.
    """
    split = _addr_base(value) if _addr_base is not None else _split_addr(value)
    if split is not None:
        base, real = split
        shared = _BASES.get(base)
        if shared is None:
            problems: list[str] = []
            shared = parse_name_addr(base, problems), tuple(problems)
            if len(base) <= _SHARED_TEXT_MAX:
                _BASES.put(base, shared)
        addr, found = shared
        if addr is not None and not found:
            _clean_addr(base)
            params = {k: real.get(v, v) if v else v for k, v in addr.params.items()}
            return NameAddr(addr.display, addr.uri, params, value.strip()), ()
    problems = []
    parsed = parse_name_addr(value, problems)
    if split is None and parsed is not None and not problems:
        _clean_addr(value)
    return parsed, tuple(problems)


@result_dataclass(MESSAGE_FIELDS)
class SipMessage(_ContentTypeView):
    """A parsed SIP request or response, plus where the pipeline saw it.

    Protocol fields come from :func:`parse_message`; context fields (``frame``, ``time``,
    ``src``, ``transport``, ...) are filled in later by the pipeline. Header values are kept as
    sent (folding undone); typed views are computed on demand and cached.

    Parsing is lazy: the start line, the checks that give parse-time defects, CSeq and
    Content-Length are read at once; every other header, ``headers`` (the whole list) and
    ``body`` are read from ``raw`` when first asked for. Accessors that find a problem add a
    defect to ``defects`` (once); :meth:`take_new_defects` hands a consumer the ones it has not
    seen yet (docs/sip.md, "Defects").
    """

    __slots__ = (
        "method",
        "request_uri",
        "status",
        "reason",
        "version",
        "raw",
        "_defects",  # created on first use: most messages have none
        "frame",
        "first_frame",
        "time",
        "src",
        "dst",
        "transport",
        "stream_id",
        "compressed",
        "wire_size",
        "partial",
        "retransmission",
        "encapsulation",
        "_index",  # canonical name -> values: complete (_complete) or a cache of lookups
        "_complete",
        "_lookups",  # headers looked up one by one in _buf so far
        "_headers",  # the (name, value) list, None until built from _buf
        "_body",  # None until cut from _buf
        "_buf",  # the message bytes a clean header block is read from (None: list mode)
        "_hstart",  # offset of the LF that ends the start line
        "_hend",  # offset right after the LF that ends the last header line
        "_bstart",  # offset of the body
        "_cache_d",
        "_via",
        "_from",
        "_to",
        "_cseq",
        "_ctype",
        "_taken",  # how many of ``defects`` take_new_defects() has handed out
    )

    def __init__(
        self,
        *,
        method: str | None = None,
        request_uri: str | None = None,
        status: int | None = None,
        reason: str | None = None,
        version: str = "SIP/2.0",
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        raw: bytes = b"",
        defects: list[Defect] | None = None,
    ) -> None:
        self.method = method
        self.request_uri = request_uri
        self.status = status
        self.reason = reason
        self.version = version
        self.raw = raw
        self._defects: list[Defect] | None = defects
        self.frame: int | None = None
        self.first_frame: int | None = None
        self.time: float | None = None
        self.src: Endpoint | None = None
        self.dst: Endpoint | None = None
        self.transport: str | None = None
        self.stream_id: int | None = None
        self.compressed = False
        self.wire_size: int | None = None
        self.partial = False
        self.retransmission = False  # set by analysis when the request was seen before
        self.encapsulation: Encapsulation | None = None  # tunnel it came through (net/encap.py)
        self._headers: list[tuple[str, str]] | None = headers if headers is not None else []
        self._body: bytes | None = body
        self._buf: bytes | None = None
        self._hstart = self._hend = self._bstart = 0
        self._index: dict[str, Sequence[str]] | None = None
        self._complete = False
        self._lookups = 0
        self._cache_d: dict[str, object] | None = None
        self._via = self._from = self._to = self._cseq = self._ctype = _UNSET
        self._taken = 0

    def __repr__(self) -> str:
        return f"<SipMessage {self.start_line!r} ({len(self.raw)} bytes)>"

    def to_dict(self, *, verbose: bool = False) -> dict[str, Any]:
        """The message object of docs/json.md (``verbose``: headers and body too)."""
        from ..render.json import message_to_dict

        return message_to_dict(self, verbose=verbose)

    # -- fields read on demand ------------------------------------------------------------

    @property
    def defects(self) -> list[Defect]:
        """Problems found in this message: at parse time, then by accessors (each once)."""
        defects = self._defects
        if defects is None:
            defects = self._defects = []
        return defects

    @defects.setter
    def defects(self, value: list[Defect]) -> None:
        self._defects = value

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every header field as ``(name, value)``, in order, names as written, folding undone.

        Treat it as read-only; assigning a new list (as ``--redact`` does) is supported and
        makes every lookup use the new list.
        """
        headers = self._headers
        if headers is None:
            headers = self._headers = self._read_headers()
        return headers

    @headers.setter
    def headers(self, value: list[tuple[str, str]]) -> None:
        if self._buf is not None and self._body is None:
            self._body = self._buf[self._bstart :]
        self._headers = value
        self._buf = None
        self._index = None
        self._complete = False
        self._ctype = _UNSET

    @property
    def body(self) -> bytes:
        """The body as bytes (after the empty line; cut at Content-Length for datagrams).

        Cut from ``raw`` on each use rather than kept: a kept copy would double the memory a
        message holds, and a slice costs a fraction of a microsecond.
        """
        body = self._body
        if body is None:
            assert self._buf is not None
            return self._buf[self._bstart :]
        return body

    @body.setter
    def body(self, value: bytes) -> None:
        self._body = value

    @property
    def _cache(self) -> dict[str, object]:
        """Per-message cache for views computed elsewhere (``ms.*`` keys, multipart parts)."""
        cache = self._cache_d
        if cache is None:
            cache = self._cache_d = {}
        return cache

    @_cache.setter
    def _cache(self, value: dict[str, object]) -> None:
        self._cache_d = value

    def _read_headers(self) -> list[tuple[str, str]]:
        """The (name, value) list of a clean header block (the same the eager loop builds)."""
        buf = self._buf
        assert buf is not None
        if self._hend - self._hstart < 3:
            return []
        text = buf[self._hstart + 1 : self._hend - 2].decode("utf-8")
        out: list[tuple[str, str]] = []
        for line in text.split("\r\n"):
            name, _, value = line.partition(":")
            out.append((name.rstrip(" \t"), value.strip(" \t")))
        return out

    def headers_starting(self, initials: str) -> list[tuple[str, str]]:
        """The pairs of :attr:`headers` whose name starts with one of the ASCII letters
        ``initials``, in order, found in the clean header block without making the others
        (nor keeping them): the MS-SIPCOMP NEGOTIATE tracker reads three headers of each
        NEGOTIATE message, and splitting the whole block cost it more than the rest."""
        if self._headers is not None or self._buf is None:
            return [h for h in self.headers if h[0][:1] and h[0][0] in initials]
        if self._hend - self._hstart < 3:
            return []
        pattern = _STARTING.get(initials)
        if pattern is None:
            first = re.escape(initials.encode("ascii"))
            pattern = _STARTING[initials] = re.compile(
                rb"\n([" + first + rb"][A-Za-z0-9\-.!%*_+`'~]*)[ \t]*:([^\n]*)\r"
            )
        # In a clean block (_CLEAN_RE) every LF ends a line, each line is a token, blanks, a
        # colon and a value, and ends with CRLF: the name and value _read_headers gives.
        return [
            (name.decode("ascii"), value.decode("utf-8").strip(" \t"))
            for name, value in pattern.findall(self._buf, self._hstart, self._hend)
        ]

    def take_new_defects(self) -> list[Defect]:
        """Defects added to ``defects`` since the last call (all of them on the first call).

        The pipeline takes the parse-time defects when it receives the message, and may call
        this again when consumers are done with it, to log what lazy accessors found since.
        """
        taken = self._taken
        defects = self._defects
        if defects is None or taken >= len(defects):
            return []
        self._taken = len(defects)
        return defects[taken:]

    # -- basic views -------------------------------------------------------------------------

    @property
    def is_request(self) -> bool:
        return self.method is not None

    @property
    def start_line(self) -> str:
        """The first line, normalised to single spaces (no CRLF)."""
        if self.method is not None:
            return f"{self.method} {self.request_uri} {self.version}"
        return f"{self.version} {self.status} {self.reason or ''}".rstrip()

    def _header_index(self) -> dict[str, Sequence[str]]:
        """Canonical lower-case name -> every value, for every header (built once)."""
        index = self._index
        if index is None or not self._complete:
            full: dict[str, list[str]] = {}
            for name, value in self.headers:
                full.setdefault(canonical_name(name), []).append(value)
            index = self._index = full  # type: ignore[assignment]
            self._complete = True
        return index  # type: ignore[return-value]

    def _values(self, key: str) -> Sequence[str]:
        """Every value of canonical header ``key`` (shared: do not modify)."""
        index = self._index
        if index is not None:
            found = index.get(key)
            if found is not None:
                return found
            if self._complete:
                return _EMPTY
        buf = self._buf
        if buf is None:
            return self._header_index().get(key, _EMPTY)
        if key in _CORE_KEYS:
            return _EMPTY  # the parse-time scan found none
        if key in _VIEW_KEYS and self._headers is None:
            if index is not None and _VIEW_SCANNED in index:
                return _EMPTY  # the scan of the view headers found none
            return self._view_values(buf, key)
        if self._lookups >= (_LOOKUPS_BEFORE_INDEX if self._headers is None else 2):
            return self._header_index().get(key, _EMPTY)  # cheaper than more scans now
        self._lookups += 1
        pattern = _lookup_re(key)
        values: tuple[str, ...] = ()
        if pattern is not None:
            values = tuple(
                raw[:-1].rstrip(b" \t").decode("utf-8")
                for raw in pattern.findall(buf, self._hstart, self._hend)
            )
        if index is None:
            index = self._index = {}
        index[key] = values
        return values

    def _view_values(self, buf: bytes, key: str) -> Sequence[str]:
        """Every value of view header ``key``, found with all the other view headers (and
        noted in the index, empty when absent) in one scan of the header block."""
        index = self._index
        if index is None:
            index = self._index = {}
        index[_VIEW_SCANNED] = _EMPTY
        if _header_scan is not None:
            _header_scan(buf, self._hstart, self._hend, _VIEW_LOWER, index)
        else:
            spellings = _VIEW_SPELLINGS
            for name, raw_value in _VIEW_RE.findall(buf, self._hstart, self._hend):
                name_key = spellings.get(name) or spellings[name.lower()]
                value = raw_value[:-1].rstrip(b" \t").decode("utf-8")
                index[name_key] = (*index.get(name_key, _EMPTY), value)
        self._lookups += 1
        return index.get(key, _EMPTY)

    def _view_index(self) -> Mapping[str, Sequence[str]] | None:
        """The index when it holds every view header the message has, an absent one absent
        from it (a lazy message once its view headers were scanned for, scanned now if need
        be; or a complete index), else None (ask :meth:`_values`). For the facts, which read
        about ten view headers a message, most of them absent: a dict lookup each instead of
        a call each. Do not modify."""
        index = self._index
        if index is not None and self._complete:
            return index
        buf = self._buf
        if buf is None or self._headers is not None:
            return None
        if index is None or _VIEW_SCANNED not in index:
            self._view_values(buf, "reason")  # any view header: the scan notes them all
            index = self._index
        return index

    def header(self, name: str) -> str | None:
        """First value of a header; names are case-insensitive and compact forms map both ways."""
        key = _CANONICAL.get(name)
        values = self._values(key if key is not None else canonical_name(name))
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """All values of a header: every occurrence, split on commas (outside quotes and
        ``<...>``) unless the header is in :data:`~lyncdump.sip.headers.NEVER_SPLIT`."""
        key = canonical_name(name)
        values = self._values(key)
        if not values:
            return []
        if key in NEVER_SPLIT:
            return list(values)
        out: list[str] = []
        for value in values:
            out.extend(split_header_values(value))
        return out

    def _note(self, reason: str) -> None:
        """Record a defect found by an accessor, once."""
        defect = Defect(None, _LAYER, None, reason)
        if defect not in self.defects:
            self.defects.append(defect)

    def _cached(self, key: str, compute: Callable[[], T]) -> T:
        cache = self._cache
        if key in cache:
            return cast(T, cache[key])
        value = compute()
        cache[key] = value
        return value

    def _name_addr(self, name: str, label: str) -> NameAddr | None:
        value = self.header(name)
        if value is None:
            return None
        found = _ADDRS.get(value)
        if found is None:
            found = _parse_addr(value)
            if len(value) <= _SHARED_TEXT_MAX:
                _ADDRS.put(value, found)
        for problem in found[1]:
            self._note(f"{label}: {problem}")
        return found[0]

    def note_address_defects(self, *, from_: bool = True, to: bool = True) -> None:
        """Note the problems reading From (``from_``) and To (``to``) finds, as :attr:`from_`
        and :attr:`to` would, without building the addresses when their text is a known
        address with new parameter values (see :func:`_parse_addr`): what the defect totals
        need of every message, whether or not a view shows its From and To."""
        if from_ and self._from is _UNSET:
            self._check_addr("from", "From")
        if to and self._to is _UNSET:
            self._check_addr("to", "To")

    def _check_addr(self, name: str, label: str) -> None:
        values = self._values(name)
        if not values:
            if name == "from":
                self._from = None
            else:
                self._to = None
            return
        value = values[0]
        found = _ADDRS.get(value)
        if found is None:
            split = _addr_base(value) if _addr_base is not None else _split_addr(value)
            if split is not None:
                shared = _BASES.get(split[0])
                if shared is not None and shared[0] is not None and not shared[1]:
                    # Parses without a problem; built if a view asks.
                    _clean_addr(split[0])
                    if name == "from":
                        self._from = _CHECKED
                    else:
                        self._to = _CHECKED
                    return
            found = _parse_addr(value)
            if len(value) <= _SHARED_TEXT_MAX:
                _ADDRS.put(value, found)
        if name == "from":
            self._from = found[0]
        else:
            self._to = found[0]
        for problem in found[1]:
            self._note(f"{label}: {problem}")

    def addr_uri(self, name: str) -> str | None:
        """The URI of From (``name`` ``"from"``) or To (``"to"``) as text, as
        ``str(m.from_.uri)`` gives it (None without the header or an address).

        A session's header line shows both of its first request, whose From and To were
        checked (no defect) but not built: when the text is a known address with new
        parameter values (see :func:`_parse_addr`), or a known text without any, the URI is
        that address's, kept as text (``_URI_TEXTS``), and the message's address is not built
        for it."""
        state = self._from if name == "from" else self._to
        key = None
        if state is _CHECKED:  # read without a problem: nothing to note by building it
            values = self._values(name)
            if values:
                value = values[0]
                split = _addr_base(value) if _addr_base is not None else _split_addr(value)
                # The URI of a text is the URI of its address with placeholders, or of the
                # text itself when it has no parameter values (a To without a tag).
                key = split[0] if split is not None else value
                text = _URI_TEXTS.get(key)
                if text is not None:
                    return text
        addr = self.from_ if name == "from" else self.to
        if addr is None or addr.uri is None:
            return None
        text = str(addr.uri)
        if key is not None and len(key) <= _SHARED_TEXT_MAX:
            _URI_TEXTS.put(key, text)
        return text

    def _name_addr_list(self, name: str, label: str) -> list[NameAddr]:
        values = self._values(name)
        key = tuple(values)
        found = _ADDR_LISTS.get(key) if key else None
        if found is None:
            addrs: list[NameAddr] = []
            problems: list[str] = []
            for item in self.header_values(name):
                addr = parse_name_addr(item, problems)
                if addr is not None:
                    addrs.append(addr)
            found = tuple(addrs), tuple(problems)
            if key and len(addrs) <= _ADDR_LIST_ITEMS and sum(map(len, key)) <= _ADDR_LIST_TEXT_MAX:
                _ADDR_LISTS.put(key, found)
        for problem in found[1]:
            self._note(f"{label}: {problem}")
        return list(found[0])

    # -- typed headers -----------------------------------------------------------------------

    @property
    def via(self) -> list[Via]:
        """Via entries, topmost first; unparsable entries are skipped (and noted)."""
        vias = self._via
        if vias is _UNSET:
            out: list[Via] = []
            problems: list[str] = []
            for item in self.header_values("via"):
                via = parse_via(item, problems)
                if via is not None:
                    out.append(via)
            for problem in problems:
                self._note(f"Via: {problem}")
            vias = self._via = out
        return vias  # type: ignore[return-value]

    @property
    def top_branch(self) -> str | None:
        """The topmost Via's ``branch`` (what transaction matching needs): the same as
        ``via[0].branch``, read without building the Via list when every entry is plain
        (the compiled ``sip_top_branch``; such entries cannot give a defect either)."""
        vias = self._via
        if vias is _UNSET:
            if _top_branch is not None:
                found = _top_branch(self._values("via"))
                if found is not False:
                    return found  # type: ignore[no-any-return]
            vias = self.via
        return vias[0].branch if vias else None  # type: ignore[index,attr-defined]

    @property
    def from_(self) -> NameAddr | None:
        addr = self._from
        if addr is _UNSET or addr is _CHECKED:
            addr = self._from = self._name_addr("from", "From")
        return addr  # type: ignore[return-value]

    @property
    def to(self) -> NameAddr | None:
        addr = self._to
        if addr is _UNSET or addr is _CHECKED:
            addr = self._to = self._name_addr("to", "To")
        return addr  # type: ignore[return-value]

    @property
    def contact(self) -> list[NameAddr]:
        """Contact entries; ``Contact: *`` gives one entry with ``is_wildcard``."""
        return self._cached("contact", lambda: self._name_addr_list("contact", "Contact"))

    @property
    def route(self) -> list[NameAddr]:
        return self._cached("route", lambda: self._name_addr_list("route", "Route"))

    @property
    def record_route(self) -> list[NameAddr]:
        return self._cached(
            "record-route", lambda: self._name_addr_list("record-route", "Record-Route")
        )

    @property
    def call_id(self) -> str | None:
        values = self._values("call-id")
        return values[0].strip() if values else None

    @property
    def cseq(self) -> tuple[int, str] | None:
        """(sequence number, method); None when absent or malformed (over 2**32-1 too)."""
        cseq = self._cseq
        if cseq is _UNSET:
            values = self._values("cseq")
            if not values:
                cseq = None
            else:
                value = values[0]
                m = _CSEQ_RE.fullmatch(value)
                if m is None or int(m.group(1)) > 0xFFFFFFFF:
                    self._note(f"malformed CSeq {value[:80]!r}")
                    cseq = None
                else:
                    cseq = int(m.group(1)), m.group(2)
            self._cseq = cseq
        return cseq  # type: ignore[return-value]

    @property
    def content_type(self) -> str | None:
        """Media type lower-cased, without parameters (``application/sdp``)."""
        ctype = self._ctype
        if ctype is _UNSET:
            values = self._values("content-type")
            ctype = self._ctype = media_type(values[0]) if values else None
        return ctype  # type: ignore[return-value]

    @property
    def content_length(self) -> int | None:
        """Content-Length; None when absent, malformed or given twice with different values."""
        values = self._values("content-length")
        if not values:
            return None
        numbers = {_int_in_range(v, _CL_LIMIT) for v in values}
        if len(numbers) != 1:
            return None
        return numbers.pop()

    def _bounded(self, name: str, limit: int) -> int | None:
        value = self.header(name)
        if value is None:
            return None
        n = _int_in_range(value, limit)
        if n is None:
            self._note(f"bad {name} value {value[:80]!r}")
        return n

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (0-255); None when absent or out of range."""
        return self._bounded("Max-Forwards", 255)

    @property
    def expires(self) -> int | None:
        """Expires in seconds (0 to 2**32-1); None when absent or not a number."""
        return self._bounded("Expires", 0xFFFFFFFF)

    def _tokens(self, name: str) -> list[str]:
        return [v for v in (x.strip() for x in self.header_values(name)) if v]

    @property
    def supported(self) -> list[str]:
        """Option tags of every Supported header (Lync sends several)."""
        return self._tokens("supported")

    @property
    def require(self) -> list[str]:
        return self._tokens("require")

    @property
    def proxy_require(self) -> list[str]:
        return self._tokens("proxy-require")

    @property
    def allow(self) -> list[str]:
        return self._tokens("allow")

    # -- body --------------------------------------------------------------------------------

    def body_parts(self) -> list[BodyPart]:
        """Parts of a multipart/* body (boundary from Content-Type); [] for other bodies."""

        def compute() -> list[BodyPart]:
            body = self.body
            return [parse_body_part(body[a:b]) for a, b in self.part_spans(body)]

        return self._cached("parts", compute)

    def part_spans(self, body: bytes | None = None) -> list[tuple[int, int]]:
        """Where the parts of a multipart/* body lie in :attr:`body` (``[]`` for other
        bodies), noting the same problems as :meth:`body_parts` without reading the parts
        (what a layer that wants only some of the parts reads first). A caller that holds
        :attr:`body` already passes it (each read of the property is a copy)."""

        def compute() -> list[tuple[int, int]]:
            ctype = self.content_type
            if not ctype or not ctype.startswith("multipart/"):
                return []
            boundary = self.content_type_params.get("boundary")
            if not boundary:
                self._note("multipart body without boundary parameter")
                return []
            problems: list[str] = []
            spans = multipart_spans(self.body if body is None else body, boundary, problems)
            for problem in problems:
                self._note(problem)
            return spans

        return self._cached("part-spans", compute)

    @property
    def body_text(self) -> str:
        """The body decoded per the Content-Type charset (UTF-8 by default), bad bytes replaced."""
        return _decode_body(self.body, self.content_type_params.get("charset"))


# -- parsing --------------------------------------------------------------------------------------


def _parse_start_line(
    line: str, defects: list[Defect], offset: int
) -> tuple[str | None, str | None, int | None, str | None, str]:
    """(method, request URI, status, reason, version) of a start line; defects appended."""
    m = _STATUS_LINE_RE.fullmatch(line)
    if m is not None:
        version, code, reason = m.groups()
        status = int(code)
        if reason is None:
            defects.append(Defect(None, _LAYER, offset, "no space after the status code"))
            reason = ""
        if not 100 <= status <= 699:
            defects.append(Defect(None, _LAYER, offset, f"status code {status} outside 100-699"))
        result: tuple[str | None, str | None, int | None, str | None, str] = (
            None,
            None,
            status,
            reason.rstrip(" \t"),
            version,
        )
    else:
        m = _REQUEST_LINE_RE.fullmatch(line)
        if m is None:
            reason = "not a SIP start line" if line else "empty start line"
            raise MalformedError(_LAYER, offset, reason)
        method, uri, version = m.groups()
        if line != f"{method} {uri} {version}":
            defects.append(Defect(None, _LAYER, offset, "irregular whitespace in the request line"))
        result = (method, uri, None, None, version)
    if version != "SIP/2.0":
        defects.append(Defect(None, _LAYER, offset, f"unexpected version {version!r}"))
    return result


def _body_end(
    numbers: list[int | None],
    first_value: str,
    n: int,
    body_start: int,
    datagram: bool,
    defects: list[Defect],
) -> int:
    """Where the body ends, given the Content-Length values read (None: not a number)."""
    rest = n - body_start
    length: int | None = None
    if numbers:
        if any(x is None for x in numbers):
            defects.append(Defect(None, _LAYER, None, f"bad Content-Length value {first_value!r}"))
        elif len(set(numbers)) > 1:
            defects.append(
                Defect(None, _LAYER, None, "several Content-Length headers that disagree")
            )
        else:
            length = numbers[0]
            if len(numbers) > 1:
                defects.append(Defect(None, _LAYER, None, "Content-Length given more than once"))
    end = n
    if length is not None:
        if length > rest:
            defects.append(
                Defect(
                    None,
                    _LAYER,
                    n,
                    f"Content-Length {length} but only {rest} bytes follow the headers",
                )
            )
        elif length < rest:
            if datagram:
                end = body_start + length
                defects.append(
                    Defect(None, _LAYER, end, f"{rest - length} bytes after the body ignored")
                )
            else:
                defects.append(
                    Defect(
                        None,
                        _LAYER,
                        body_start + length,
                        f"Content-Length {length} but {rest} bytes follow the headers",
                    )
                )
    elif not numbers and not datagram and rest:
        defects.append(Defect(None, _LAYER, body_start, "no Content-Length on a stream message"))
    return end


def _check_cseq(msg: SipMessage, defects: list[Defect]) -> None:
    cseq = msg.cseq  # notes a malformed CSeq
    if cseq is not None and msg.method is not None and cseq[1] != msg.method:
        defects.append(
            Defect(None, _LAYER, None, f"CSeq method {cseq[1][:40]} differs from {msg.method[:40]}")
        )


def parse_message(
    data: bytes,
    *,
    datagram: bool = False,
    header_end: int | None = None,
    content_length: int | None = None,
) -> SipMessage:
    """Parse one SIP message.

    ``datagram=True``: ``data`` is a whole UDP datagram; Content-Length (when present and
    sane) cuts the body and trailing bytes are ignored with a defect; without it the body is
    the rest of the datagram. ``datagram=False``: the framer already cut the message, so the
    body is everything after the headers (a Content-Length that disagrees is a defect).

    ``header_end`` and ``content_length`` let the stream framer hand over what it already
    found (:class:`~lyncdump.sip.framing.FramedMessage`): the offset of the first empty line,
    and the value of the only Content-Length header when it is plain digits.

    Raises :class:`MalformedError` (layer ``sip``) when the start line does not parse, the
    message is larger than :data:`MAX_MESSAGE_SIZE` or has more than :data:`MAX_HEADERS`
    header fields. Leading CRLFs (keep-alives) are skipped.
    """
    n = len(data)
    if _sip_head is not None and type(data) is bytes:
        he = -1 if header_end is None else header_end
        if _made_ready:
            # The clean case, made whole in C (what _lazy_message below would make of it).
            made = _sip_message(data, he, content_length)  # type: ignore[misc]
            if made is not None:
                return made  # type: ignore[no-any-return]
        head = _sip_head(data, he)
        if head is not None:
            (
                c_method,
                c_uri,
                c_status,
                c_reason,
                c_sl_end,
                c_hend,
                c_bstart,
                c_index,
                c_rep,
                c_cseq,
            ) = head
            return _lazy_message(
                data, c_method, c_uri, c_status, c_reason, "SIP/2.0", [], c_sl_end, c_hend,
                c_bstart, c_index, c_rep, content_length, datagram, c_cseq,
            )  # fmt: skip
    if n > MAX_MESSAGE_SIZE:
        raise MalformedError(_LAYER, MAX_MESSAGE_SIZE, f"message of {n} bytes exceeds 1 MiB")
    start = 0
    if n and data[0] in (10, 13):
        m0 = _LEADING_CRLF_RE.match(data)
        if m0 is not None:
            start = m0.end()
    if start >= n:
        raise MalformedError(_LAYER, start, "empty message")
    if header_end is not None and start == 0 and 0 < header_end < n:
        # The framer found the empty line: "\r\n" or a bare "\n" right at header_end.
        body_start = header_end + 2 if data[header_end] == 13 else header_end + 1
        complete = True
    else:
        a = data.find(b"\n\r\n", start)
        b = data.find(b"\n\n", start, a + 1 if a >= 0 else n)  # only an earlier one matters
        if a < 0 and b < 0:
            return _parse_eager(data, datagram, start, n, n, n, False)
        if a < 0 or (0 <= b < a):
            header_end, body_start = b + 1, b + 2
        else:
            header_end, body_start = a + 1, a + 3
        complete = True
    sl_end = data.find(b"\n", start)
    # The lazy path takes clean header blocks only (see above); anything else is read eagerly.
    if data[sl_end - 1] != 13 or data[header_end - 2] != 13:
        return _parse_eager(data, datagram, start, n, header_end, body_start, complete)
    head_is_ascii = data[start:header_end].isascii()
    if not head_is_ascii:
        try:
            data[start:header_end].decode("utf-8")
        except UnicodeDecodeError:
            return _parse_eager(data, datagram, start, n, header_end, body_start, complete)
    if _CLEAN_RE.fullmatch(data, sl_end + 1, header_end) is None or (
        header_end - sl_end > 4 * MAX_HEADERS  # could hold more lines than allowed: count
        and data.count(b"\n", sl_end + 1, header_end) > MAX_HEADERS
    ):
        return _parse_eager(data, datagram, start, n, header_end, body_start, complete)

    defects: list[Defect] = []
    line = data[start : sl_end - 1].decode("utf-8")
    method, uri, status, reason, version = _parse_start_line(line, defects, start)
    index: dict[str, Sequence[str]] = {}
    repeated = False
    spellings = _CORE_SPELLINGS
    for name, raw_value in _CORE_RE.findall(data, sl_end, header_end):
        key = spellings.get(name) or spellings[name.lower()]
        value = raw_value[:-1].rstrip(b" \t").decode()
        found = index.get(key)
        if found is None:
            index[key] = (value,)
        else:
            index[key] = (*found, value)
            repeated = True
    return _lazy_message(
        data, method, uri, status, reason, version, defects, sl_end, header_end, body_start,
        index, repeated, content_length, datagram,
    )  # fmt: skip


def _lazy_message(
    data: bytes,
    method: str | None,
    uri: str | None,
    status: int | None,
    reason: str | None,
    version: str,
    defects: list[Defect],
    sl_end: int,
    header_end: int,
    body_start: int,
    index: dict[str, Sequence[str]],
    repeated: bool,
    content_length: int | None,
    datagram: bool,
    cseq: tuple[int, str] | None = None,
) -> SipMessage:
    """The lazy message over ``data`` once its start line and core headers are read (by the
    code above or by the compiled ``sip_head``, which also gives the first CSeq when it is
    plain), with the parse-time checks."""
    n = len(data)
    msg = SipMessage.__new__(SipMessage)
    msg.method = method
    msg.request_uri = uri
    msg.status = status
    msg.reason = reason
    msg.version = version
    msg._defects = defects
    msg.frame = msg.first_frame = msg.time = None
    msg.src = msg.dst = msg.transport = msg.stream_id = msg.wire_size = None
    msg.encapsulation = None
    msg.compressed = msg.partial = msg.retransmission = False
    msg._headers = msg._body = msg._cache_d = None
    msg._index = index
    msg._complete = False
    msg._lookups = msg._taken = 0
    msg._via = msg._from = msg._to = msg._cseq = msg._ctype = _UNSET
    if _addrs_clean is not None:
        # From and To read before without a problem: no Python needed to know there is none.
        # The others are read now (a problem is noted later, where the accessors note it),
        # so that their keys are known to the messages after this one.
        clean = _addrs_clean(index, _CLEAN_ADDRS)
        if clean & 1:
            msg._from = _CHECKED
        else:
            _presolve_addr(msg, index, "from")
        if clean & 2:
            msg._to = _CHECKED
        else:
            _presolve_addr(msg, index, "to")
    msg._hstart = sl_end
    msg._hend = header_end
    msg._bstart = body_start
    msg._buf = data

    cl_values = index.get("content-length")
    # The framer's one Content-Length, which the body fills, has nothing left to check.
    if not (
        content_length is not None
        and content_length == n - body_start
        and cl_values is not None
        and len(cl_values) == 1
    ):
        if cl_values is None:
            numbers: list[int | None] = []
            first = ""
        elif content_length is not None and len(cl_values) == 1:
            numbers = [content_length]
            first = ""
        else:
            numbers = [_int_in_range(v, _CL_LIMIT) for v in cl_values]
            first = cl_values[0][:40]
        end = _body_end(numbers, first, n, body_start, datagram, defects)
        if end != n:
            data = data[:end]
            msg._buf = data
    msg.raw = data
    if not index.keys() >= _REQUIRED_KEYS:
        missing = [_DISPLAY[h] for h in _REQUIRED if h not in index]
        defects.append(Defect(None, _LAYER, None, "missing " + ", ".join(missing)))
    if repeated:
        for h in _SINGLE:
            count = len(index.get(h, ()))
            if count > 1:
                defects.append(Defect(None, _LAYER, None, f"{_DISPLAY[h]} appears {count} times"))
    if cseq is None:
        _check_cseq(msg, defects)
    else:
        msg._cseq = cseq
        if method is not None and cseq[1] != method:
            defects.append(
                Defect(None, _LAYER, None, f"CSeq method {cseq[1][:40]} differs from {method[:40]}")
            )
    if not defects:
        msg._defects = None
    return msg


def _presolve_addr(msg: SipMessage, index: dict[str, Sequence[str]], name: str) -> None:
    """Mark From (``name`` "from") or To of a new message read when its only text parses
    without a problem (noting its key for ``sip_addrs_clean``); otherwise leave it for
    :meth:`SipMessage.note_address_defects`, which notes the problems in their usual order."""
    values = index.get(name)
    if values is None or len(values) != 1:
        return
    value = values[0]
    found = _ADDRS.get(value)
    if found is None:
        found = _parse_addr(value)
        if len(value) <= _SHARED_TEXT_MAX:
            _ADDRS.put(value, found)
    if found[0] is not None and not found[1]:
        if name == "from":
            msg._from = _CHECKED
        else:
            msg._to = _CHECKED


def _parse_eager(
    data: bytes,
    datagram: bool,
    start: int,
    n: int,
    header_end: int,
    body_start: int,
    complete_headers: bool,
) -> SipMessage:
    """Line-by-line parse for header blocks the lazy path does not take (bare LFs, folding,
    bad lines, text that is not UTF-8, a missing empty line, too many headers)."""
    defects: list[Defect] = []
    lines = data[start:header_end].split(b"\n")
    if complete_headers or data.endswith(b"\n"):
        lines.pop()  # empty string after the last LF
    bare_lf_at: int | None = None
    undecodable_at: int | None = None
    offset = start
    last = len(lines) - 1
    headers: list[tuple[str, str]] = []
    msg: SipMessage | None = None
    for i, raw_line in enumerate(lines):
        line_offset = offset
        offset += len(raw_line) + 1
        if raw_line.endswith(b"\r"):
            raw_line = raw_line[:-1]
        elif bare_lf_at is None and (i < last or complete_headers or data.endswith(b"\n")):
            bare_lf_at = line_offset + len(raw_line)
        line, ok = _decode(raw_line)
        if not ok and undecodable_at is None:
            undecodable_at = line_offset
        if msg is None:
            method, uri, status, reason, version = _parse_start_line(line, defects, line_offset)
            msg = SipMessage(
                method=method,
                request_uri=uri,
                status=status,
                reason=reason,
                version=version,
                defects=defects,
            )
            continue
        if not line:
            continue
        if line[0] in " \t":
            if headers:
                name, value = headers[-1]
                cont = line.strip(" \t")
                headers[-1] = (name, f"{value} {cont}" if value and cont else value or cont)
            else:
                defects.append(
                    Defect(None, _LAYER, line_offset, "continuation line without a header skipped")
                )
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not is_token(name):
            defects.append(Defect(None, _LAYER, line_offset, "header line skipped: no valid name"))
            continue
        if len(headers) >= MAX_HEADERS:
            raise MalformedError(_LAYER, line_offset, f"more than {MAX_HEADERS} header fields")
        headers.append((name, value.strip(" \t")))
    if msg is None:  # only possible when data held nothing but line breaks, handled above
        raise MalformedError(_LAYER, start, "empty message")
    msg.headers = headers
    if bare_lf_at is not None:
        defects.append(Defect(None, _LAYER, bare_lf_at, "bare LF line ending (CRLF expected)"))
    if undecodable_at is not None:
        defects.append(
            Defect(None, _LAYER, undecodable_at, "header text is not UTF-8 (read as Latin-1)")
        )
    if not complete_headers:
        defects.append(Defect(None, _LAYER, n, "no empty line after the headers (truncated?)"))

    # Body and Content-Length.
    index = msg._header_index()
    cl_values = index.get("content-length", [])
    numbers = [_int_in_range(v, _CL_LIMIT) for v in cl_values]
    first = cl_values[0][:40] if cl_values else ""
    end = _body_end(numbers, first, n, body_start, datagram, defects)
    msg.body = data[body_start:end]
    msg.raw = data if end == n else data[:end]

    # Cheap checks every analyzer user wants flagged.
    missing = [_DISPLAY[h] for h in _REQUIRED if h not in index]
    if missing:
        defects.append(Defect(None, _LAYER, None, "missing " + ", ".join(missing)))
    for h in _SINGLE:
        count = len(index.get(h, ()))
        if count > 1:
            defects.append(Defect(None, _LAYER, None, f"{_DISPLAY[h]} appears {count} times"))
    _check_cseq(msg, defects)
    return msg


_setup = fastpath.helper("sip_message_setup")
if _setup is not None and _sip_message is not None:
    # The compiled module makes SipMessage objects itself (parse_message above, and the
    # fast path's clear SIP delivery): the class, its markers and what _lazy_message uses.
    _made_ready = bool(_setup(SipMessage, _UNSET, _CHECKED, _CLEAN_ADDRS, _presolve_addr))
