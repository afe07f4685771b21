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


def test_frames_not_decoded_are_in_the_overview() -> None:
    """sip-tunnels.pcapng: 5 frames carry no UDP/TCP (2 ARP, 1 ESP, 1 CDMA2000 over GRE, one
    nested past the depth limit), as ``lyncdump --summary`` counts them (tshark: ``-Y arp`` 2
    frames, ``-Y esp`` 1)."""
    doc = document("sip-tunnels.pcapng")
    overview = doc["overview"]
    assert overview["frames_not_decoded"] == {
        "EtherType 0x0806 (ARP)": 2,
        "IP protocol 50 (ESP)": 1,
        "GRE protocol 0x8881 (CDMA2000)": 1,
        "encapsulations nested deeper than 4": 1,
    }
    assert overview["not_decoded"] == [
        f"{CAPTURES / 'sip-tunnels.pcapng'}: 5 frames not decoded: they carry no UDP or TCP "
        "lyncdump reads (EtherType 0x0806 (ARP) 2, IP protocol 50 (ESP) 1, GRE protocol 0x8881 "
        "(CDMA2000) 1, encapsulations nested deeper than 4 1)"
    ]
    assert document("sip-udp-call.pcap")["overview"]["frames_not_decoded"] == {}


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


EDGE_LOG = "federation-edge.server.log"
FED_ALL = [
    "federation.pcapng",
    "federation-fe01.server.log",
    "federation-edge.server.log",
    "federation-med01.server.log",
    "federation-alice.uccapilog",
]


def _diag(d: dict) -> tuple:
    return (d["number"], d["severity"], d["result_code"], d["result_name"], d["session"], d["msg"])


def test_diagnostics_of_a_server_log_alone() -> None:
    """The Edge log's four diagnostic records (the text view shows the same): three joined to
    the session and message they are about, WSAECONNREFUSED alone; counts by severity and
    result; the logging host named; the calls flag what the log said about them."""
    doc = document(EDGE_LOG, log_host="edge01.contoso.com")
    sessions = {s["call_id"]: s for s in doc["sessions"]}
    fed2 = sessions["fed-call-2@127.0.0.10"]
    fed3 = sessions["fed-call-3@127.0.0.10"]
    options = sessions["8c1d6f0e2b3a4c5d9e8f7a6b5c4d3e2f"]
    assert sorted((_diag(d) for d in doc["diagnostics"]), key=lambda t: int(t[0][1:])) == [
        ("#16", "warning", "0xC3E93D6F", "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH",
         fed2["id"], 0),
        ("#21", "error", "0xC3E93D67", "SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH", fed3["id"], 0),
        ("#24", "error", "0x8007274D", "WSAECONNREFUSED", None, None),
        ("#26", "warning", "0xC3E93C5E", "SIPPROXY_E_ROUTING", options["id"], 0),
    ]  # fmt: skip
    assert {d["host"] for d in doc["diagnostics"]} == {"edge01.contoso.com"}
    assert fed2["msgs"][0][0] == 14 and fed2["msgs"][0][5].startswith("INVITE sip:carol@")
    refused = next(d for d in doc["diagnostics"] if d["record"] == 16)
    assert refused["about"] == "#14 INVITE"
    assert refused["peer"] == "127.0.0.20:51803"
    assert refused["data"] == {"domain": "acano.example", "fqdn1": "sip.other.example :5061"}
    assert refused["ms_diagnostics"] == 1009
    assert refused["meaning"].startswith("federation: the domain's _sipfederationtls._tcp SRV")
    assert refused["text"] == (
        "The domain of the message resolved by DNS SRV but none of the FQDNs is in the same domain"
    )
    assert [fed2["diags"], fed3["diags"]] == [[refused["id"]], [doc["diagnostics"][1]["id"]]]
    assert doc["overview"]["diagnostics"] == {
        "total": 4,
        "by_severity": {"error": 2, "warning": 2},
        "by_result": {
            "0xC3E93D6F SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH": 1,
            "0xC3E93D67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH": 1,
            "0x8007274D WSAECONNREFUSED": 1,
            "0xC3E93C5E SIPPROXY_E_ROUTING": 1,
        },
        "standalone": 1,
    }
    calls = {c["call_id"]: c for c in doc["calls"]}
    assert calls["fed-call-3@127.0.0.10"]["findings"][-1] == (
        "server log error 0xC3E93D67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH"
    )
    # A capture has none, and says nothing about them.
    plain = document("sip-udp-call.pcap")
    assert plain["diagnostics"] == [] and plain["overview"]["diagnostics"]["total"] == 0
    assert all(s["diags"] == [] for s in plain["sessions"])


def test_diagnostics_merged_with_the_capture() -> None:
    """The federation capture and its four logs: the five diagnostics of the text view, each
    numbered by its log's letter, joined to the merged sessions at the copy shown."""
    page = build_report(
        [CAPTURES / name for name in FED_ALL],
        merge=True,
        log_hosts=["federation-edge.server.log=edge01"],
    )
    doc = embedded(page)
    by_number = {d["number"]: d for d in doc["diagnostics"]}
    assert sorted(by_number) == ["B#2", "C#16", "C#21", "C#24", "C#26"]
    assert by_number["C#16"]["host"] == "edge01"
    assert by_number["B#2"]["host"] == "fe01.contoso.com:5061"
    assert by_number["B#2"]["session"] is None and by_number["C#24"]["session"] is None
    session = doc["sessions"][by_number["C#16"]["session"]]
    assert session["call_id"] == "fed-call-2@127.0.0.10"
    row = session["msgs"][by_number["C#16"]["msg"]]
    assert row[9:] == ["A#38", "A#38 B#19 C#14"] and by_number["C#16"]["about"] == "A#38 INVITE"
    assert doc["overview"]["diagnostics"]["standalone"] == 2
    assert doc["overview"]["diagnostics"]["by_severity"] == {"error": 2, "warning": 3}
    # Merged rows are in time order, numbered by the copy shown.
    fed1 = next(s for s in doc["sessions"] if s["call_id"] == "fed-call-1@127.0.0.10")
    assert [r[9] for r in fed1["msgs"][:6]] == ["A#10", "A#12", "A#14", "A#16", "C#3", "C#4"]
    assert [r[1] for r in fed1["msgs"]] == sorted(r[1] for r in fed1["msgs"])
    assert fed1["start"] == fed1["msgs"][0][1] == pytest.approx(1796552758.785884, abs=1e-6)
    # A filter keeps the diagnostics of the sessions shown and the lone ones it matches.
    page = build_report(
        [CAPTURES / name for name in FED_ALL],
        merge=True,
        matches=lambda s: s.call_id.startswith("fed-call-3"),
        filters=[("call-id", "fed-call-3@127.0.0.10")],
    )
    doc = embedded(page)
    assert [d["number"] for d in doc["diagnostics"]] == ["C#21"]


def test_merged_report_has_the_calls_with_their_media() -> None:
    """A server log and its capture: the merged calls joined to the capture's RTP."""
    page = build_report(
        [CAPTURES / "sip-udp-call.server.log", CAPTURES / "sip-udp-call.pcap"], merge=True
    )
    doc = embedded(page)
    call = doc["calls"][0]
    assert call["call_id"] == "call-1@192.168.1.50" and call["state"] == "completed"
    assert [doc["streams"][i]["ssrc_hex"] for i in call["streams"]] == [
        "0x11223344",
        "0x55667788",
    ]
    assert doc["diagnostics"] == []  # that log holds no diagnostic record


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


def test_relayed_media_in_the_document() -> None:
    """lync-av-call.pcapng: audio relayed by the Edge over UDP 3478, video over TCP 443. The
    call lists each relay once; each stream carries its relay path with the outer addresses
    (the values ``lyncdump --json`` gives its stream records)."""
    doc = document("lync-av-call.pcapng")
    (call,) = doc["calls"]
    assert call["relays"] == [
        {"server": "198.51.100.10:3478", "relayed": "198.51.100.10:56000", "transport": "UDP",
         "via": ["active-destination"]},
        {"server": "198.51.100.10:443", "relayed": "198.51.100.10:55000", "transport": "TCP",
         "via": ["active-destination"]},
    ]  # fmt: skip
    outer = sorted(
        (st["relay"]["transport"], st["relay"]["outer_src"], st["relay"]["outer_dst"])
        for st in doc["streams"]
    )
    assert outer == [
        ("TCP", "10.0.1.20:50011", "198.51.100.10:443"),
        ("TCP", "198.51.100.10:443", "10.0.1.20:50011"),
        ("UDP", "10.0.1.20:50020", "198.51.100.10:3478"),
        ("UDP", "198.51.100.10:3478", "10.0.1.20:50020"),
    ]
    lines = (CAPTURES / "lync-av-call.pcapng.ndjson").read_text().splitlines()
    expected = [r for r in map(json.loads, lines) if r["record"] == "stream"]
    assert sorted(json.dumps(st["relay"], sort_keys=True) for st in doc["streams"]) == sorted(
        json.dumps(r["relay"], sort_keys=True) for r in expected
    )


def test_direct_media_has_no_relay() -> None:
    doc = document("sipp-calls.pcapng")
    assert doc["calls"] and all(c["relays"] == [] for c in doc["calls"])
    assert all(st["relay"] is None for st in doc["streams"])


def test_the_page_written_in_pieces_is_the_page_built_whole() -> None:
    """write_html (the command's way: the data written item by item) gives the very text of
    render_html, NaN, hostile text and long lists included."""
    import io

    from lyncdump.report.data import CHUNKED_LIST, json_chunks
    from lyncdump.report.html import render_html, write_html

    doc = document("lync-av-call.pcapng")
    doc["sessions"] = doc["sessions"] * (CHUNKED_LIST + 2)
    doc["streams"][0]["mos"] = float("nan")
    doc["calls"][0]["caller"] = "</script><b>\u2028&"
    doc["odd"] = [float("inf")] * (CHUNKED_LIST + 1)
    assert "".join(json_chunks(doc)) == to_json(doc)
    handle = io.StringIO()
    write_html(doc, "a <title>", handle)
    assert handle.getvalue() == render_html(doc, "a <title>")
    assert handle.getvalue().count("</script>") == render_html({}, "").count("</script>")
    assert embedded(handle.getvalue())["streams"][0]["mos"] is None
