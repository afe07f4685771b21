"""One readable line for each XML body Lync sends (presence, roaming, provisioning, C3P, ...).

Bodies are parsed with defusedxml (no entities, no DTD tricks) and only up to
:data:`MAX_XML_BYTES`. A body with no ``<!`` at all (no DTD, so nothing to guard against: what
Lync sends) is read by the C parser, which gives the same tree about five times faster.
Anything that does not parse gives a short "not well-formed" note instead of an exception.
The summary is what the ladder shows; ``-v`` prints the body itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import fastpath
from ..recent import RecentTable

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

__all__ = ["MAX_XML_BYTES", "availability_name", "summarize_xml", "xml_summary_and_root"]

MAX_XML_BYTES = 256 * 1024
"""Larger XML bodies are not parsed (a bound against hostile input)."""

_AVAILABILITY = (
    (3000, 4499, "Available"),
    (4500, 5999, "Available (idle)"),
    (6000, 7499, "Busy"),
    (7500, 8999, "Busy (idle)"),
    (9000, 11999, "Do not disturb"),
    (12000, 14999, "Be right back"),
    (15000, 17999, "Away"),
    (18000, 1 << 31, "Offline"),
)


def availability_name(value: int) -> str | None:
    """Name of an aggregate availability number ([MS-PRES] ranges; below 3000 unnamed)."""
    for low, high, name in _AVAILABILITY:
        if low <= value <= high:
            return name
    return None


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]


def _children(el: Element, name: str) -> list[Element]:
    """``el`` and its descendants named ``name`` in any namespace, in document order (a
    list: a generator's step per element costs more than the few elements a body has)."""
    if type(el) is _XmlElement:  # the compiled reader's elements: tags are local names
        return el.named(name)  # type: ignore[attr-defined, no-any-return]
    suffix = "}" + name  # what _local(tag) == name means, without cutting every tag
    return [
        child
        for child in el.iter()
        if (tag := child.tag) == name or (type(tag) is str and tag.endswith(suffix))
    ]


def _first_text(el: Element, name: str) -> str | None:
    for child in _children(el, name):
        text = (child.text or "").strip()
        if text:
            return text
    return None


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _list(items: list[str], limit: int = 6) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" +{len(items) - limit} more"


def _state(el: Element) -> str | None:
    """``Away (15500) on-the-phone``: the first availability with text (else the first
    ``availability`` attribute of a state) and the first activity, in one walk of ``el``."""
    avail = attribute = activity = None
    for child in el.iter():
        tag = child.tag
        if type(tag) is not str:
            continue
        local = tag[tag.rfind("}") + 1 :]  # _local(tag), without a list
        if local == "availability":
            if avail is None:
                avail = (child.text or "").strip() or None
        elif local == "state":
            if attribute is None:
                attribute = child.get("availability") or None
        elif local == "activity" and activity is None:
            activity = child.get("token") or (child.text or "").strip() or None
    if avail is None:  # tolerate availability written as an attribute
        avail = attribute
    parts = []
    if avail and avail.isascii() and avail.isdigit() and len(avail) < 10:
        name = availability_name(int(avail))
        parts.append(f"{name} ({avail})" if name else avail)
    if activity:
        parts.append(activity)
    return " ".join(parts) or None


def _category_text(cat: Element) -> str:
    name = cat.get("name") or cat.get("categoryName") or "?"
    if cat.get("expires") == "0":  # a publication with expires="0" deletes the category
        return f"{name} (removed)"
    if name == "state":
        state = _state(cat)
        return f"state {state}" if state else "state"
    if name == "note":
        body = _first_text(cat, "body")
        return f'note "{_shorten(body, 40)}"' if body else "note"
    if name == "device":
        caps = [c for c in ("text", "audio", "video") if any(True for _ in _children(cat, c))]
        return "device" + (f" ({'/'.join(caps)})" if caps else "")
    return name


def _publish(root: Element) -> str:
    cats = [_category_text(p) for p in _children(root, "publication")]
    return "presence publish: " + (_list(cats) if cats else "nothing")


def _categories(root: Element) -> str:
    uri = root.get("uri")
    cats = [_category_text(c) for c in _children(root, "category")]
    head = f"presence of {uri}" if uri else "presence categories"
    return f"{head}: " + (_list(cats) if cats else "none")


def _roaming_list(root: Element) -> str:
    kinds = [r.get("type") or "?" for r in _children(root, "roaming")]
    return "roaming-self request: " + (_list(kinds) if kinds else "nothing")


def _roaming_data(root: Element) -> str:
    cats = len(list(_children(root, "category")))
    containers = len(list(_children(root, "container")))
    subscribers = len(list(_children(root, "subscriber")))
    return f"roaming-self: {cats} categories, {containers} containers, {subscribers} subscribers"


def _provisioning(root: Element) -> str:
    groups = [
        g.get("name") or "?"
        for g in root.iter()
        if _local(g.tag) in ("provisioningGroup", "provisionGroup")
    ]
    what = "request" if _local(root.tag) == "provisioningGroupList" else "groups"
    extra = ""
    for g in root.iter():
        if _local(g.tag) == "provisionGroup" and g.get("name") == "ServerConfiguration":
            focus = _first_text(g, "focusFactoryUri")
            if focus:
                extra = f"; focus factory {focus}"
    return f"provisioning {what}: " + (_list(groups) if groups else "none") + extra


def _c3p(root: Element) -> str:
    kind = _local(root.tag)
    command = next((_local(c.tag) for c in root), "?")
    req_id = root.get("requestId")
    text = f"C3P {command} {kind}" + (f" #{req_id}" if req_id else "")
    code = root.get("code")
    if code:
        text += f": {code}"
        reason = root.get("reason")
        if reason:
            text += f" ({reason})"
    target = root.get("to")
    if kind == "request" and target:
        text += f" to {target}"
    if kind == "response" and code == "success":
        for info in _children(root, "conference-info"):
            entity = info.get("entity")
            if entity:
                text += f", focus {entity}"
                break
    return text


def _conference_info(root: Element) -> str:
    state = root.get("state")
    version = root.get("version")
    users = list(_children(root, "user"))
    subject = _first_text(root, "subject")
    text = "conference-info" + (f" {state}" if state else "") + (f" v{version}" if version else "")
    text += f": {len(users)} user{'s' if len(users) != 1 else ''}"
    if subject:
        text += f', subject "{_shorten(subject, 40)}"'
    locked = _first_text(root, "locked")
    if locked == "true":
        text += ", locked"
    return text


def _conf_invite(root: Element) -> str:
    focus = _first_text(root, "focus-uri")
    subject = _first_text(root, "subject")
    text = "conference invitation"
    if focus:
        text += f" to {focus}"
    if subject:
        text += f' "{_shorten(subject, 40)}"'
    return text


def _batch_sub(root: Element) -> str:
    resources = [r.get("uri") or "?" for r in _children(root, "resource")]
    cats = [c.get("name") or "?" for c in _children(root, "category")]
    text = f"batch subscribe {len(resources)} contact{'s' if len(resources) != 1 else ''}"
    if cats:
        text += " for " + _list(cats)
    return text


def _imdn(root: Element) -> str:
    out = []
    for rec in _children(root, "recipient"):
        status = _first_text(rec, "status") or "?"
        out.append(f"{rec.get('uri') or '?'} {status}")
    return "IM delivery: " + (_list(out) if out else "no recipients")


def _keyboard(root: Element) -> str:
    for st in _children(root, "status"):
        value = st.get("status")
        if value == "type":
            return "typing"
        if value == "idle":
            return "stopped typing"
        if value:
            return f"keyboard {value}"
    return "keyboard activity"


def _multiparty(root: Element) -> str:
    child = next((c for c in root), None)
    if child is None:
        return "multiparty action"
    name = _local(child.tag)
    uri = child.get("uri")
    allow = child.get("allow")
    return f"multiparty {name}" + (f" {uri}" if uri else "") + (f" allow={allow}" if allow else "")


def _pidf(root: Element) -> str:
    basic = _first_text(root, "basic")
    entity = root.get("entity")
    return "pidf" + (f" {entity}" if entity else "") + (f": {basic}" if basic else "")


def _msrtc_pidf(root: Element) -> str:
    uri = root.get("uri")
    avail = None
    for a in _children(root, "availability"):
        avail = a.get("aggregate")
        break
    text = "presentity" + (f" {uri}" if uri else "")
    if avail and avail.isascii() and avail.isdigit() and len(avail) < 10:
        name = availability_name(int(avail))
        text += f": {name or avail}"
    return text


def _iscomposing(root: Element) -> str:
    state = _first_text(root, "state")
    return "composing: " + (state or "?")


def _rlmi(root: Element) -> str:
    resources = len(list(_children(root, "resource")))
    return f"resource list: {resources} resources"


def _soap(root: Element) -> str:
    for el in root.iter():
        if _local(el.tag) == "Body":
            child = next((c for c in el), None)
            if child is not None:
                return f"SOAP {_local(child.tag)}"
    return "SOAP"


_BY_ROOT = {
    "publish": _publish,
    "categories": _categories,
    "roamingList": _roaming_list,
    "roamingData": _roaming_data,
    "provisioningGroupList": _provisioning,
    "provisionGroupList": _provisioning,
    "request": _c3p,
    "response": _c3p,
    "conference-info": _conference_info,
    "Conferencing": _conf_invite,
    "batchSub": _batch_sub,
    "imdn": _imdn,
    "KeyboardActivity": _keyboard,
    "action": _multiparty,
    "presence": _pidf,
    "presentity": _msrtc_pidf,
    "isComposing": _iscomposing,
    "list": _rlmi,
    "Envelope": _soap,
}


#: ``(Element, fromstring)`` of xml.etree.ElementTree once loaded: an import statement per
#: body would cost a lookup each (a tenth of parsing a small presence document).
_ET: tuple[type[Element], Callable[[bytes], Any]] | None = None


def _load_et() -> tuple[type[Element], Callable[[bytes], Any]]:
    global _ET
    from xml.etree.ElementTree import Element, fromstring

    loaded: tuple[type[Element], Callable[[bytes], Any]] = (Element, fromstring)
    _ET = loaded
    return loaded


def parse_xml(body: bytes) -> Element | None:
    """The root element, or None when too large or not well-formed (never raises)."""
    if not body or len(body) > MAX_XML_BYTES:
        return None
    # The XML parsers load with the first body parsed (about 4 ms of start-up otherwise).
    Element, fromstring = _ET or _load_et()  # noqa: N806 - the class, under its own name

    try:
        if _plain_xml(body):
            root = fromstring(body)
        else:
            from defusedxml import ElementTree as _safe_et

            root = _safe_et.fromstring(body)
    except Exception:  # noqa: BLE001 - defusedxml and expat raise many types; all mean "no"
        return None
    return root if isinstance(root, Element) else None


def _plain_xml(body: bytes) -> bool:
    """True for a body the C parser may read without defusedxml's guard: no ``<!`` at all (so
    no DTD, no entity declaration; comments and CDATA go to defusedxml too), no NUL (UTF-16 and
    UTF-32 text go there as well) and a ``<`` first, after blanks or a UTF-8 byte order mark
    (so the bytes are ASCII-compatible and the search for ``<!`` means what it says)."""
    if b"<!" in body or b"\x00" in body:
        return False
    return body.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith(b"<")


#: The first start tag's name (after the XML declaration and any processing instruction: a
#: plain body has no ``<!``, and ``<`` cannot stand in an attribute value).
_FIRST_TAG = re.compile(rb"<([^?\s/>]+)")


def _check_unsummarised(body: bytes) -> tuple[None, str | None] | tuple[str, None] | None:
    """What :func:`_summary_and_root` gives a plain body whose root no summary reads (a
    contact list, a contact delta, ...): only whether it is well-formed, and its root tag.
    expat answers that without building the tree ElementTree would build and throw away,
    in about half the time: the same parser, with the same namespace handling, so the same
    verdict and tag. None when the root may have a summary, or the body is not plain (the
    tree is parsed then: ``parse_xml``)."""
    found = _FIRST_TAG.search(body)
    if found is None:
        return None
    if found.group(1).rpartition(b":")[2].decode("utf-8", "replace") in _BY_ROOT:
        return None
    if not _plain_xml(body):
        return None
    import pyexpat

    parser = pyexpat.ParserCreate(namespace_separator="}")  # as ElementTree's XMLParser
    names: list[str] = []

    def root_name(name: str, _attributes: object) -> None:
        names.append(name)
        parser.StartElementHandler = None  # the rest only needs to be well-formed

    parser.StartElementHandler = root_name
    try:
        parser.Parse(body, True)
    except Exception:  # noqa: BLE001 - as parse_xml: any failure means "not well-formed"
        return "XML not well-formed", None
    if not names:  # cannot happen after a successful parse; the tree path decides
        return None
    name = names[0]
    if name.rpartition("}")[2] in _BY_ROOT:  # the start-tag search was fooled: read the tree
        return None
    return None, ("{" + name if "}" in name else name)  # ElementTree's {namespace}name


def summarize_xml(content_type: str | None, body: bytes) -> str | None:
    """One line for an XML body, or None when the body is not XML we know."""
    return xml_summary_and_root(content_type, body)[0]


#: The last bodies summarised: the facts, the ladder and the JSON ``decoded`` object each ask
#: for the same body, and a Front End sends one presence document to every watcher in a burst
#: (the ladder of 50,024 sign-in messages finds 4,654 repeats among 35,789 bodies with 64, 2,686
#: with 8); parsing is most of the cost. Strings are kept, never the tree; the bodies held as
#: keys total at most ``_RECENT_BYTES`` (the oldest go first past either bound).
_RECENT_MAX = 64
_RECENT_BYTES = 2 * 1024 * 1024
_RECENT: RecentTable[tuple[str | None, bytes], tuple[str | None, str | None]] = RecentTable(
    _RECENT_MAX
)
_recent_held = [0]  # bytes of the bodies in _RECENT


def xml_summary_and_root(content_type: str | None, body: bytes) -> tuple[str | None, str | None]:
    """:func:`summarize_xml`'s line, and the root element's tag (``{namespace}name``) when the
    body was parsed (None when it was not XML, too large or not well-formed)."""
    key = (content_type, body)
    found = _RECENT.get(key)
    if found is None:
        found = _summary_and_root(content_type, body)
        if len(body) <= MAX_XML_BYTES:
            _remember(key, found)
    return found


def _remember(key: tuple[str | None, bytes], found: tuple[str | None, str | None]) -> None:
    recent = _RECENT
    held = _recent_held[0] + len(key[1])
    recent[key] = found  # a new key (it was looked up and missed)
    while len(recent) > _RECENT_MAX or held > _RECENT_BYTES:
        held -= len(recent.popitem(last=False)[0][1])
    _recent_held[0] = held


#: The compiled reader of plain XML bodies (lyncdump._fastpath; None without it).
_xml_elements = fastpath.helper("xml_elements")


#: The type of its elements (an ElementTree Element's tag, attrib, text, get, iter and
#: iteration over the children; the tag is the local name: every summary matches names in
#: any namespace).
_XmlElement = getattr(fastpath.compiled(), "XmlElement", None)


#: The attributes (without a prefix) the summaries read: the compiled reader keeps only
#: these (tests/sip/test_xml_flat.py checks the list against the summaries' ``get`` calls).
_ATTRIBUTES = (
    "name", "categoryName", "expires", "availability", "token", "uri", "type", "requestId",
    "code", "reason", "to", "entity", "state", "version", "status", "allow", "aggregate",
)  # fmt: skip

#: Element names the summaries look for: the reader shares these strings instead of making
#: one per element (any other name is made as it comes).
_NAMES = (
    "category", "state", "availability", "activity", "note", "body", "device", "text",
    "audio", "video", "publication", "publications", "roaming", "container", "subscriber",
    "provisioningGroup", "provisionGroup", "resource", "status", "capabilities",
    "machineName", "action", "categoryList", "adhocList",
)  # fmt: skip


def _flat_summary(body: bytes) -> tuple[str | None, str | None] | None:
    """:func:`_summary_and_root` of a body the compiled reader takes (the same elements,
    attributes and text ElementTree would give, and the same verdict: well-formed), without
    building a tree; None for any other body, or without the compiled module."""
    found = (
        _xml_elements(body, _BY_ROOT, _NAMES, _ATTRIBUTES) if _xml_elements is not None else None
    )
    if found is None:
        return None
    root_tag, every = found
    if every is None:  # a root no summary reads: only well-formed, and its tag
        return None, root_tag
    try:
        return _BY_ROOT[every[0].tag](every[0]), root_tag
    except (ValueError, TypeError, AttributeError):
        return None, root_tag
    finally:
        every.clear()  # the elements refer to the list: no cycle left for the collector


def _summary_and_root(content_type: str | None, body: bytes) -> tuple[str | None, str | None]:
    ctype = (content_type or "").lower()
    if not body or not ("xml" in ctype or ctype.endswith("+xml") or body.lstrip()[:1] == b"<"):
        return None, None
    if len(body) > MAX_XML_BYTES:
        return f"XML of {len(body)} bytes not parsed (over {MAX_XML_BYTES})", None
    flat = _flat_summary(body)
    if flat is not None:
        return flat
    checked = _check_unsummarised(body)
    if checked is not None:
        return checked
    root = parse_xml(body)
    if root is None:
        return "XML not well-formed", None
    tag = str(root.tag)
    summarize = _BY_ROOT.get(_local(root.tag))
    if summarize is None:
        return None, tag
    try:
        return summarize(root), tag
    except (ValueError, TypeError, AttributeError):
        return None, tag
