"""One-line summaries of Lync XML bodies; hostile XML (entities, huge, broken) never raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.sip.xmlbody import MAX_XML_BYTES, availability_name, summarize_xml


def test_availability_ranges() -> None:
    assert [availability_name(n) for n in (3500, 4500, 6500, 7500, 9500, 12500, 15500, 18500)] == [
        "Available",
        "Available (idle)",
        "Busy",
        "Busy (idle)",
        "Do not disturb",
        "Be right back",
        "Away",
        "Offline",
    ]
    assert availability_name(100) is None


CASES = [
    (
        "application/msrtc-category-publish+xml",
        '<publish xmlns="http://schemas.microsoft.com/2006/09/sip/rich-presence"><publications uri="sip:a@b">'  # noqa: E501
        '<publication categoryName="state" instance="0" container="2" version="1" expireType="endpoint">'  # noqa: E501
        '<state xmlns="http://schemas.microsoft.com/2006/09/sip/state"><availability>6500</availability>'
        '<activity token="in-a-meeting"/></state></publication>'
        '<publication categoryName="note" instance="0" container="400" version="1" expires="0"/></publications></publish>',  # noqa: E501
        "presence publish: state Busy (6500) in-a-meeting, note (removed)",
    ),
    (
        "application/msrtc-event-categories+xml",
        '<categories xmlns="http://schemas.microsoft.com/2006/09/sip/categories" uri="sip:bob@contoso.com">'  # noqa: E501
        '<category name="state"><state><availability>18000</availability></state></category>'
        '<category name="contactCard"/></categories>',
        "presence of sip:bob@contoso.com: state Offline (18000), contactCard",
    ),
    (
        "application/cccp+xml",
        '<response xmlns="urn:ietf:params:xml:ns:cccp" requestId="7" code="failure" reason="notAuthorized">'  # noqa: E501
        "<addUser/></response>",
        "C3P addUser response #7: failure (notAuthorized)",
    ),
    (
        "application/ms-imdn+xml",
        '<imdn xmlns="http://schemas.microsoft.com/rtc/2005/08/imdn"><message-id>1</message-id>'
        '<recipient uri="sip:bob@contoso.com"><status>503</status></recipient></imdn>',
        "IM delivery: sip:bob@contoso.com 503",
    ),
    (
        "application/xml",
        '<action xmlns="http://schemas.microsoft.com/sip/multiparty/"><RequestRM uri="sip:a@b" bid="3"/></action>',  # noqa: E501
        "multiparty RequestRM sip:a@b",
    ),
    (
        "application/xml",
        '<KeyboardActivity><status status="idle"/></KeyboardActivity>',
        "stopped typing",
    ),
    (
        "application/im-iscomposing+xml",
        '<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>active</state></isComposing>',  # noqa: E501
        "composing: active",
    ),
    (
        "application/pidf+xml",
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:b@c"><tuple id="t"><status><basic>open</basic></status></tuple></presence>',  # noqa: E501
        "pidf sip:b@c: open",
    ),
    (
        "text/xml+msrtc.pidf",
        '<presentity uri="sip:b@c"><availability aggregate="15000"/></presentity>',
        "presentity sip:b@c: Away",
    ),
    (
        "application/ms-conf-invite+xml",
        '<Conferencing version="2.0"><focus-uri>sip:a@b;gruu;opaque=app:conf:focus:id:X</focus-uri>'
        "<subject>Weekly</subject></Conferencing>",
        'conference invitation to sip:a@b;gruu;opaque=app:conf:focus:id:X "Weekly"',
    ),
    (
        "application/SOAP+xml",
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>'
        '<m:setPresence xmlns:m="http://schemas.microsoft.com/winrtc/2002/11/sip"/></SOAP-ENV:Body></SOAP-ENV:Envelope>',
        "SOAP setPresence",
    ),
    ("application/xml", "<unknownRoot/>", None),
    ("text/plain", "hello", None),
    ("application/xml", "<broken", "XML not well-formed"),
]


def test_summaries() -> None:
    for ctype, body, expected in CASES:
        assert summarize_xml(ctype, body.encode()) == expected, body


def test_entities_and_dtds_are_refused() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        "<categories>&b;</categories>"
    )
    assert summarize_xml("application/xml", bomb.encode()) == "XML not well-formed"
    ext = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><imdn>&x;</imdn>'
    assert summarize_xml("application/xml", ext.encode()) == "XML not well-formed"


def test_size_bound() -> None:
    big = b"<categories>" + b" " * MAX_XML_BYTES + b"</categories>"
    assert (
        summarize_xml("application/xml", big)
        == f"XML of {len(big)} bytes not parsed (over {MAX_XML_BYTES})"
    )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    summarize_xml("application/xml", data)
    summarize_xml("application/cccp+xml", b"<request>" + data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([c[1] for c in CASES]), st.integers(min_value=0, max_value=400))
def test_truncated_bodies(body: str, n: int) -> None:
    summarize_xml("application/xml", body.encode()[:n])


def test_summary_and_root_are_remembered_for_the_last_bodies_only() -> None:
    from lyncdump.sip import xmlbody

    body = b'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>'
    first = xmlbody.xml_summary_and_root("application/pidf+xml", body)
    assert first[1] == "{urn:ietf:params:xml:ns:pidf}presence"
    assert xmlbody.xml_summary_and_root("application/pidf+xml", bytes(body)) is first
    assert xmlbody.summarize_xml("application/pidf+xml", body) == first[0]
    assert xmlbody.xml_summary_and_root("text/plain", b"hello") == (None, None)
    assert xmlbody.xml_summary_and_root("application/xml", b"<a>") == ("XML not well-formed", None)
    for i in range(3 * xmlbody._RECENT_MAX):
        xmlbody.xml_summary_and_root("application/xml", b"<r%d/>" % i)
    assert len(xmlbody._RECENT) == xmlbody._RECENT_MAX
    assert xmlbody._recent_held[0] == sum(len(body) for _, body in xmlbody._RECENT)


def test_remembered_bodies_are_bounded_in_bytes() -> None:
    from lyncdump.sip import xmlbody

    big = xmlbody.MAX_XML_BYTES // 2
    for i in range(3 * xmlbody._RECENT_BYTES // big):
        body = b"<r%d>" % i + b"x" * big + b"</r%d>" % i
        assert xmlbody.xml_summary_and_root("application/xml", body) == (None, f"r{i}")
    held = sum(len(body) for _, body in xmlbody._RECENT)
    assert held == xmlbody._recent_held[0] <= xmlbody._RECENT_BYTES
    assert len(xmlbody._RECENT) == xmlbody._RECENT_BYTES // (big + 12)


def _tree(root: object) -> object:
    from xml.etree.ElementTree import Element, tostring

    return tostring(root) if isinstance(root, Element) else root


def _both(body: bytes) -> tuple[object, object]:
    """parse_xml's tree (C parser for plain bodies) and defusedxml's, as bytes (None: refused)."""
    from defusedxml import ElementTree as safe

    from lyncdump.sip.xmlbody import parse_xml

    try:
        want = _tree(safe.fromstring(body))
    except Exception:  # noqa: BLE001
        want = None
    return _tree(parse_xml(body)), want


def test_every_sample_xml_body_gives_defusedxml_s_tree() -> None:
    from lyncdump.api import Capture, Options

    from ..conftest import CAPTURES

    seen = 0
    for path in sorted(p for p in CAPTURES.iterdir() if p.name.endswith((".pcap", ".pcapng"))):
        keys = path.with_suffix(".keys")
        options = Options(keylog=str(keys)) if keys.exists() else None
        for m in Capture(str(path), options).run().messages():
            if m.body and b"<" in m.body[:64]:
                got, want = _both(m.body)
                assert got == want, m.body[:200]
                seen += want is not None
    assert seen > 50


_XML_PIECES = [
    "<a>", "</a>", "<b x='1'/>", "<?xml version='1.0' encoding='utf-8'?>", "<!DOCTYPE a>", "&amp;",
    "&lt;", "&x;", "<!-- c -->", "<![CDATA[<z>]]>", "text", " ", "\n", "<ns:c xmlns:ns='urn:x'>",
    "</ns:c>", "é", "\ufeff", "\x00", "<a xmlns='urn:y'>", "<",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_XML_PIECES), max_size=10).map("".join), st.booleans())
def test_plain_bodies_give_defusedxml_s_tree(text: str, bom: bool) -> None:
    body = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    got, want = _both(body)
    assert got == want
    if "<!DOCTYPE" in text and "&x;" in text:
        assert got is None


def _tree_path(ctype: str | None, body: bytes) -> tuple[str | None, str | None]:
    """_summary_and_root with every body parsed into a tree (no expat-only check)."""
    from lyncdump.sip import xmlbody

    saved = xmlbody._check_unsummarised
    xmlbody._check_unsummarised = lambda body: None  # type: ignore[assignment]
    try:
        return xmlbody._summary_and_root(ctype, body)
    finally:
        xmlbody._check_unsummarised = saved


def test_every_sample_xml_body_gives_the_tree_path_s_answer() -> None:
    from lyncdump.api import Capture, Options
    from lyncdump.sip.xmlbody import _check_unsummarised, _summary_and_root

    from ..conftest import CAPTURES

    checked = 0
    for path in sorted(p for p in CAPTURES.iterdir() if p.name.endswith((".pcap", ".pcapng"))):
        keys = path.with_suffix(".keys")
        options = Options(keylog=str(keys)) if keys.exists() else None
        for m in Capture(str(path), options).run().messages():
            bodies = [(m.content_type, m.body)]
            bodies += [(part.content_type, part.body) for part in m.body_parts() or ()]
            for ctype, body in bodies:
                if body and b"<" in body[:64]:
                    assert _summary_and_root(ctype, body) == _tree_path(ctype, body)
                    checked += _check_unsummarised(body) is not None
    assert checked > 0  # some bodies took the expat-only check


_ROOT_PIECES = [
    "<contactList>", "</contactList>", "<categories>", "</categories>", "<x:contactDelta "
    "xmlns:x='urn:d'>", "</x:contactDelta>", "<r:publish xmlns:r='urn:p'>", "</r:publish>",
    "<?pi <categories?>", "<?pi <contactList?>", "<?xml version='1.0'?>", "<c a='1'/>",
    "<c a='&amp;'/>", "&bad;", "<y:z>", "text", " ", "<contactList xmlns='urn:c'>", "<",
    "<category name='state'/>", "\xe9", "\ufeff", "<!-- c -->",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_ROOT_PIECES), max_size=8).map("".join), st.booleans())
def test_expat_only_check_agrees_with_the_tree(text: str, latin: bool) -> None:
    from lyncdump.sip.xmlbody import _summary_and_root

    body = text.encode("latin-1" if latin and text.isascii() is False and all(
        ord(c) < 256 for c in text) else "utf-8")  # fmt: skip
    for ctype in ("application/vnd-microsoft-roaming-contacts+xml", None):
        assert _summary_and_root(ctype, body) == _tree_path(ctype, body)


def _state_reference(el: object) -> str | None:
    """The three-walk ``_state`` of session 26, to check the one-walk version against."""
    from lyncdump.sip.xmlbody import _children, _first_text, availability_name

    avail = _first_text(el, "availability")  # type: ignore[arg-type]
    if avail is None:
        for s in _children(el, "state"):  # type: ignore[arg-type]
            avail = s.get("availability")
            if avail:
                break
    parts = []
    if avail and avail.isascii() and avail.isdigit() and len(avail) < 10:
        name = availability_name(int(avail))
        parts.append(f"{name} ({avail})" if name else avail)
    activity = None
    for act in _children(el, "activity"):  # type: ignore[arg-type]
        activity = act.get("token") or (act.text or "").strip() or None
        if activity:
            break
    if activity:
        parts.append(activity)
    return " ".join(parts) or None


_STATE_PIECES = [
    "<availability>6500</availability>", "<availability> </availability>",
    "<availability>x</availability>", "<s:availability xmlns:s='urn:s'>3500</s:availability>",
    "<state availability='15500'/>", "<state availability=''/>", "<state>", "</state>",
    "<activity token='on-the-phone'/>", "<activity token=''>away</activity>",
    "<activity> </activity>", "<activity/>", "<other>1</other>", "<?pi x?>",
    "<availability>99999999999</availability>",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_STATE_PIECES), max_size=8).map("".join))
def test_state_in_one_walk_as_in_three(inner: str) -> None:
    from xml.etree.ElementTree import fromstring

    from lyncdump.sip.xmlbody import _state

    try:
        root = fromstring(f"<category name='state'>{inner}</category>")
    except Exception:  # noqa: BLE001 - unbalanced pieces: nothing to compare
        return
    assert _state(root) == _state_reference(root)


def _children_reference(el: object, name: str) -> list[object]:
    """The generator ``_children`` of session 27 (every element, its local name compared)."""
    out = []
    for child in el.iter():  # type: ignore[attr-defined]
        tag = child.tag
        if isinstance(tag, str) and tag.rsplit("}", 1)[-1] == name:
            out.append(child)
    return out


_TREE_PIECES = [
    "<category name='a'>", "</category>", "<c:category xmlns:c='urn:c'>", "</c:category>",
    "<xcategory/>", "<category/>", "<q:category xmlns:q='urn:q'/>", "<?pi x?>", "text",
    "<categoryx/>", "<body>hi</body>", "<d:body xmlns:d='urn:d'> </d:body>",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TREE_PIECES), max_size=10).map("".join))
def test_children_as_a_list_are_the_generator_s(inner: str) -> None:
    from xml.etree.ElementTree import fromstring

    from lyncdump.sip.xmlbody import _children, _first_text

    try:
        root = fromstring(f"<categories xmlns='urn:r'>{inner}</categories>")
    except Exception:  # noqa: BLE001 - unbalanced pieces: nothing to compare
        return
    for name in ("category", "body", "categories", "x"):
        assert _children(root, name) == _children_reference(root, name)
    texts = [(c.text or "").strip() for c in _children_reference(root, "body")]
    assert _first_text(root, "body") == next((t for t in texts if t), None)
