"""The compiled reader of plain XML bodies (``xml_elements``) against ElementTree.

Whatever the reader accepts, ElementTree must parse to the same elements (local names, the
attributes without a prefix, the text before the first child, the nesting) and the same root
tag, and the summaries must come out the same with and without it. Checked on the bodies of
the samples, on generated documents (namespaces, prefixes bound or not, reserved names,
entities and character references, CR, CDATA, comments, processing instructions, odd
declarations, non-ASCII and control characters), on their truncations and mutations, and on
random bytes.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, fromstring

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lyncdump.sip import xmlbody

from ._compiled import without
from .test_ms_xmlbody import CASES

pytestmark = pytest.mark.skipif(
    xmlbody._xml_elements is None, reason="the compiled module is not built (or not in use)"
)


class _Everything:
    """Every root name: the reader gives the elements of any document."""

    def __contains__(self, name: object) -> bool:
        return True


#: The attribute names the tests ask the reader to keep: the summaries' and a few more.
_KEPT = (*xmlbody._ATTRIBUTES, "b", "c", "v", "x", "xml:lang", "xmlns", "p:name")


def _elements(body: bytes, roots: Any = None) -> Any:
    roots = _Everything() if roots is None else roots
    found = xmlbody._xml_elements(body, roots, xmlbody._NAMES, _KEPT)
    if found is not None and found[1] is not None:
        every = found[1]
        view = [(el.tag, el.attrib, el.text, el.end) for el in every]
        for i, el in enumerate(every):  # iter() and the children, as ElementTree's
            assert el.iter() == every[i : el.end]
            children, j = [], i + 1
            while j < el.end:
                children.append(every[j])
                j = every[j].end
            assert list(el) == children
            for name in {e.tag for e in every} | {"absent"}:
                assert el.named(name) == [e for e in el.iter() if e.tag == name]
            for key in (*el.attrib, "absent"):
                assert el.get(key) == el.attrib.get(key)
                assert el.get(key, "d") == el.attrib.get(key, "d")
        every.clear()
        return found[0], view
    return found


def _et_view(body: bytes) -> tuple[str, list[tuple[str, dict[str, str], str | None, int]]] | None:
    """What xml_elements should give for ``body``, from ElementTree (None: not well-formed)."""
    try:
        root = fromstring(body)
    except Exception:  # noqa: BLE001 - every parse failure means "not well-formed"
        return None
    assert isinstance(root, Element)
    every = list(root.iter())
    index = {id(el): i for i, el in enumerate(every)}
    items = []
    for i, el in enumerate(every):
        attrib = {k: v for k, v in el.attrib.items() if k in _KEPT and not k.startswith("{")}
        end = i + len(list(el.iter()))
        assert index[id(el)] == i
        items.append((el.tag.rpartition("}")[2], attrib, el.text, end))
    return root.tag, items


def _check(body: bytes) -> Any:
    found = _elements(body)
    if found is not None:
        assert _et_view(body) == found, body
        assert _elements(body, ()) == (found[0], None)  # the verdict and tag alone
        ctype = "application/xml"
        fast = xmlbody._summary_and_root(ctype, body)
        with without(xmlbody, "_xml_elements"):
            slow = xmlbody._summary_and_root(ctype, body)
        assert fast == slow, body
    return found


def test_sample_bodies_are_read_and_summarised_alike() -> None:
    for ctype, text, summary in CASES:
        body = text.encode()
        found = _check(body)
        assert xmlbody.summarize_xml(ctype, body) == summary
        if _et_view(body) is not None and b"&" not in body and b"<!" not in body:
            assert found is not None, text


def test_declarations_and_blanks() -> None:
    accepted = [
        b'<?xml version="1.0"?>\r\n<a/>',
        b"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<a>x</a>\n",
        b' \n<a b="1"\r\n c="2">t<c/>u</a>',
        b'<p:a xmlns:p="urn:p" p:x="1" x="2"><p:b/></p:a>',
        b'<a xmlns="urn:d"><b xmlns=""/></a>',
        b'<a xml:lang="en" v="\xc3\xa9\tx\ny"/>',
    ]
    for body in accepted:
        assert _check(body) is not None, body
    left_to_elementtree = [
        b"",
        b'  <?xml version="1.0"?><a/>',  # a declaration after blanks: not well-formed
        b'<?xml version="1.1"?><a/>',
        b'<?xml version="1.0" encoding="ISO-8859-1"?><a/>',
        b'<?xml encoding="utf-8" version="1.0"?><a/>',
        b"<?pi x?><a/>",
        b"<a><?pi x?></a>",
        b"<!-- c --><a/>",
        b"<a><![CDATA[x]]></a>",
        b"<a>&amp;</a>",
        b'<a b="&#65;"/>',
        b"<a>x\ry</a>",
        b'<a b="x\ry"/>',
        b"\xef\xbb\xbf<a/>",
        b"<a>]]></a>",
        b"<a>\x01</a>",
        b"<a>\xed\xa0\x80</a>",  # a surrogate
        b"<a>\xef\xbf\xbe</a>",  # U+FFFE
        b"<a>\xc0\x80</a>",  # overlong
        b"<a><b></a></b>",
        b"<a/><b/>",
        b"<a/>x",
        b"<a",
        b"<a>",
        b'<a b="1" b="2"/>',
        b'<a b="1"c="2"/>',
        b'<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>',
        b"<p:a/>",
        b'<a p:x="1"/>',
        b'<a xmlns:p=""/>',
        b'<a xmlns:xml="http://www.w3.org/XML/1998/namespace"/>',
        b'<a xmlns="http://www.w3.org/2000/xmlns/"/>',
        b"<xmlns/>",
        b"<a:b:c/>",
        b"<\xc3\xa9/>",
        b"<a b='<'/>",
    ]
    for body in left_to_elementtree:
        assert _check(body) is None, body


# Generated documents: mostly plain, with a few of everything the reader must refuse or read
# exactly as ElementTree does.
_NAMES = [
    "categories", "category", "state", "availability", "activity", "note", "body", "device",
    "text", "audio", "video", "publish", "publication", "roaming", "container", "subscriber",
    "resource", "status", "a", "b", "x-y", "_z", "n.1", "Body", "Envelope", "xmlns", "xml",
]  # fmt: skip
_ATTRS = [
    "name", "categoryName", "expires", "uri", "token", "availability", "p:name", "xml:lang",
    "type", "status", "xmlns", "xmlns:p", "xmlns:q", "xmlns:xml", "q:name", "r:x", "code",
]  # fmt: skip
_VALUES = [
    "", "state", "note", "device", "0", "3500", "sip:a@b", "urn:p", " a\tb\nc ", "é", ">",
    "\U0001f600", "urn:q", "http://www.w3.org/XML/1998/namespace", "a&amp;b", "&#65;", "x\ry",
    "<", "'", '"', "{}", "\x7f",
]  # fmt: skip
_TEXTS = [
    "", " ", "3500", "hello", " in-a-meeting ", "a\nb", "é ]] >", "a\r\nb", "&lt;", "&#x41;",
    "]]>", "\x00", "\x0b", "\ufffe", "<![CDATA[x]]>", "<!-- c -->", "<?pi x?>",
]  # fmt: skip


#: How many of each list a well-formed document draws from (the rest is for the odd ones).
_CLEAN_NAMES, _CLEAN_ATTRS, _CLEAN_VALUES, _CLEAN_TEXTS = 25, 8, 12, 7


@st.composite
def _element(draw: st.DrawFn, depth: int = 0, clean: bool = False) -> str:
    if clean:
        pick: Any = lambda values, n: draw(st.sampled_from(values[:n]))  # noqa: E731
    else:
        pick = lambda values, n: draw(st.sampled_from(values))  # noqa: E731
    prefix = pick(["", "", "", "p:", "q:", "xml:", "r:"], 5)
    name = prefix + pick(_NAMES, _CLEAN_NAMES)
    attrs = draw(
        st.lists(
            st.tuples(st.sampled_from(_ATTRS[: _CLEAN_ATTRS if clean else None]), st.just(0)),
            max_size=4,
            unique_by=(lambda a: a[0]) if clean else None,
        )
    )
    attrs = [(k, pick(_VALUES, _CLEAN_VALUES)) for k, _ in attrs]
    quote = draw(st.sampled_from(['"', "'"]))
    space = draw(st.sampled_from([" ", "\n", "\t", "\r\n", "  "]))
    head = name + "".join(f"{space}{k}={quote}{v}{quote}" for k, v in attrs)
    head += draw(st.sampled_from(["", "", " ", "\n"]))
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return f"<{head}/>"
    parts = [pick(_TEXTS, _CLEAN_TEXTS)]
    for _ in range(draw(st.integers(0, 3))):
        parts.append(draw(_element(depth + 1, clean and draw(st.integers(0, 9)) > 0)))
        parts.append(pick(_TEXTS, _CLEAN_TEXTS))
    return f"<{head}>{''.join(parts)}</{name}{draw(st.sampled_from(['', ' ']))}>"


_DECLS = [
    "", "", '<?xml version="1.0"?>', "<?xml version='1.0' encoding='utf-8'?>\r\n",
    '<?xml version="1.0" standalone="no" ?>\n', '<?xml version="1.0" encoding="latin-1"?>',
    " ", "\n\n", "<!-- c -->",
]  # fmt: skip


@st.composite
def _document(draw: st.DrawFn) -> bytes:
    clean = draw(st.integers(0, 3)) > 0
    decl = draw(st.sampled_from(_DECLS[: 6 if clean else None]))
    root = draw(_element(clean=clean))
    if clean or draw(st.booleans()):  # bind the prefixes on the root, as Lync's bodies do
        space = root.find(" ") if 0 < root.find(" ") < root.find(">") else None
        cut = space if space is not None else len(root.split(">")[0].rstrip("/"))
        root = root[:cut] + ' xmlns:p="urn:p" xmlns:q="urn:q" xmlns="urn:d"' + root[cut:]
    tail = draw(
        st.sampled_from(["", "\n", " \r\n", "x", "<a/>", "<!-- c -->"][: 3 if clean else None])
    )
    return (decl + root + tail).encode()


@given(_document())
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_documents(body: bytes) -> None:
    _check(body)


@given(_document(), st.data())
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_truncated_and_mutated_documents(body: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(body)))
    _check(body[:cut])
    at = data.draw(st.integers(0, len(body)))
    byte = data.draw(st.sampled_from(list(b"<>/=\"'&:;!?[]\r\n\t \x00\x80\xc3\xff") + [0x41]))
    _check(body[:at] + bytes([byte]) + body[at:])
    _check(body[:at] + bytes([byte]) + body[at + 1 :])


@given(st.binary(max_size=200))
@settings(max_examples=800, deadline=None)
def test_random_bytes(body: bytes) -> None:
    _check(body)
    _check(b"<a>" + body + b"</a>")


def test_lync_bodies() -> None:
    """The shapes of the bench captures' bodies (tools/make_bulk_sip.py) are all read."""
    bodies = [
        b'<categories xmlns="http://schemas.microsoft.com/2006/09/sip/categories" uri="sip:a@b">'
        b'<category name="state" instance="1" publishTime="2026-01-01T08:00:00Z" container="2">'
        b'<state xmlns="http://schemas.microsoft.com/2006/09/sip/state" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" manual="false" '
        b'xsi:type="aggregateState"><availability>3500</availability></state></category>'
        b'<category name="note"><note xmlns="http://schemas.microsoft.com/2006/09/sip/note">'
        b'<body type="personal" uri="">Working remotely</body></note></category></categories>',
        b'<?xml version="1.0"?>\r\n<KeyboardActivity><status status="type" /></KeyboardActivity>',
        b'<contactDelta deltaNum="1045" prevDeltaNum="230"><addedContact uri="sip:i@c" name="" '
        b'groups="1" subscribed="true"/></contactDelta>',
    ]
    for body in bodies:
        assert _check(body) is not None


def test_the_reader_keeps_every_attribute_a_summary_reads() -> None:
    import inspect
    import re

    source = inspect.getsource(xmlbody)
    read = set(re.findall(r"""\.get\(["']([^"']+)["']\)""", source))
    assert read and read <= set(xmlbody._ATTRIBUTES), read - set(xmlbody._ATTRIBUTES)
    assert "xmlns" not in xmlbody._ATTRIBUTES


def test_elements_after_the_list_is_cleared() -> None:
    root_tag, every = xmlbody._xml_elements(b'<a name="x"><b/></a>', _Everything(), (), _KEPT)
    first = every[0]
    every.clear()
    assert (root_tag, first.tag, first.get("name"), first.iter(), list(first)) == (
        "a",
        "a",
        "x",
        [],
        [],
    )
    assert first.named("a") == []
    with pytest.raises(TypeError):
        first.get()
    with pytest.raises(TypeError):
        first.named(1)


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        xmlbody._xml_elements(b"<a/>", (), ["a"], ())
    with pytest.raises(TypeError):
        xmlbody._xml_elements(b"<a/>", (), (), ("\u00e9",))
    with pytest.raises(TypeError):
        xmlbody._xml_elements(b"<a/>", (), ())
    with pytest.raises(TypeError):
        xmlbody._xml_elements("<a/>", (), (), ())
