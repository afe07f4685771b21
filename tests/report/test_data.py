"""The report's document (report/data.py) and page (report/html.py), without a browser."""

from __future__ import annotations

import json
import re

import pytest

import lyncdump
from lyncdump.report import build_report
from lyncdump.report.data import ReportData, to_json

from ..conftest import CAPTURES


def document(name: str, **options: object) -> dict:
    data = ReportData(redacted=bool(options.get("redact")))
    data.consume(lyncdump.stream(str(CAPTURES / name), messages=True, **options))
    return data.document()


def embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_call_sample_document() -> None:
    doc = document("lync-av-call.pcapng")
    assert len(doc["calls"]) == 1 and len(doc["streams"]) == 4
    call = doc["calls"][0]
    assert call["caller"] == "sip:alice@contoso.com"
    assert call["state"] == "completed" and call["path"] == "via Edge"
    assert call["codecs"] == "PCMU/8000, X-H264UC/90000"
    assert call["mos"] == 4.41 and call["findings"] == []
    assert sorted(call["streams"]) == [0, 1, 2, 3]
    assert all(doc["streams"][i]["call"] == 0 for i in call["streams"])
    # the session behind the call: every message a row, addresses by index
    session = doc["sessions"][call["session"]]
    assert [row[0] for row in session["msgs"]] == [6, 7, 17, 18, 19, 312, 313]
    assert doc["addrs"][session["msgs"][0][2]] == "10.0.1.20:50500"
    assert session["msgs"][0][5] == "INVITE sip:bob@fabrikam.com"
    # ladder events: 2 allocations, 3 ICE pairs, a start and a stop per stream
    kinds = [e[4] for e in call["events"]]
    assert kinds.count("turn") == 2 and kinds.count("ice") == 3
    assert kinds.count("media-start") == kinds.count("media-stop") == 4
    # the charts' data: one row per second with packets adding up
    for st in doc["streams"]:
        assert sum(row[1] for row in st["series"]["buckets"]) == st["packets"]
    assert doc["roles"]["198.51.100.10"] == "Edge"


def test_signin_and_im_details() -> None:
    doc = document("lync-remote-ntlm.pcapng")
    regs = [s for s in doc["sessions"] if s["kind"] == "registration"]
    assert regs and regs[0]["registration"]["outcome"] == "registered"
    assert regs[0]["tab"] == "signins"
    doc = document("lync-im-conversation.pcapng")
    ims = [s for s in doc["sessions"] if s["kind"] == "im"]
    assert ims and ims[0]["conversation"]["messages"] >= 1


def test_tls_without_keys_is_listed_as_not_decoded() -> None:
    doc = document("lync-tls-nokeys.pcap")
    notes = doc["overview"]["not_decoded"]
    assert any("not decrypted" in n for n in notes), notes


def test_redact_leaves_no_im_text() -> None:
    plain = json.dumps(document("lync-im-conversation.pcapng"), ensure_ascii=False)
    redacted = json.dumps(document("lync-im-conversation.pcapng", redact=True), ensure_ascii=False)
    conv = next(s["conversation"] for s in json.loads(plain)["sessions"] if s["conversation"])
    said = [e["text"] for e in conv["events"] if e["kind"] == "message" and e["text"]]
    assert said
    for text in said:
        assert text in plain
        assert text not in redacted


def test_json_cannot_close_the_script_element() -> None:
    text = to_json({"x": "</script><script>alert(1)</script>", "y": "a\u2028b", "z": "&"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["x"] == "</script><script>alert(1)</script>"


def test_not_a_number_becomes_null() -> None:
    assert json.loads(to_json({"x": float("nan"), "y": [float("inf"), 1.5]})) == {
        "x": None,
        "y": [None, 1.5],
    }


def test_page_is_self_contained() -> None:
    page = build_report([CAPTURES / "lync-av-call.pcapng"])
    assert page.startswith("<!doctype html>")
    assert "default-src 'none'" in page  # the page may fetch nothing
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert "Leon Sorokin" in page  # uPlot's licence travels with it
    assert embedded(page)["calls"][0]["call_id"] == "8c1f3a52b7d94e06a1c2d3e4f5a6b7c8"


def test_filters_keep_matching_sessions_and_their_media() -> None:
    page = build_report(
        [CAPTURES / "sipp-calls.pcapng"], matches=lambda s: s.call_id.startswith("1-")
    )
    doc = embedded(page)
    assert doc["sessions"] and all(s["call_id"].startswith("1-") for s in doc["sessions"])
    wanted = {i for c in doc["calls"] for i in c["streams"]}
    assert len(doc["streams"]) == len(wanted)


def test_merged_trace_log_and_capture() -> None:
    page = build_report(
        [CAPTURES / "lync-signin-tcp.server.log", CAPTURES / "lync-signin-tcp.pcapng"],
        merge=True,
    )
    doc = embedded(page)
    assert doc["inputs"][0]["format"] == "merged"
    assert any(s["kind"] == "registration" for s in doc["sessions"])


def test_missing_jinja2_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from lyncdump.report import ReportDependencyError, require_jinja2

    real = builtins.__import__

    def no_jinja(name: str, *args: object, **kw: object) -> object:
        if name == "jinja2":
            raise ImportError("No module named 'jinja2'")
        return real(name, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_jinja)
    with pytest.raises(ReportDependencyError, match=r"pip install 'lyncdump\[report\]'"):
        require_jinja2()
