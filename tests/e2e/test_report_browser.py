"""The HTML report in real browsers: Debian's chromium (selenium and its chromedriver, from
/usr/bin) and Debian's firefox-esr (WebDriver BiDi over a WebSocket, no geckodriver): nothing
is downloaded. One set of assertions runs in each (report_browsers.py is the small driver
interface); a browser that cannot be had skips, saying why, and the other still runs.

For every sample capture (gzip ones included): the page loads with no console error and no
network request; every call, stream and session is there; each ladder has one arrow per SIP
message (and one per ICE pair, TURN allocation and media start/stop in a call); each chart
holds its points; the search box filters, finds the one row it names and clearing it brings
the others back; relayed media names its relay and outer addresses.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

import lyncdump
from lyncdump.report import build_report

from ..conftest import CAPTURES
from .report_browsers import BROWSERS, CHROMIUM, Driver, Unavailable, _free_port, start

INPUT_SUFFIXES = (".pcap", ".pcapng", ".log", ".uccapilog")


def _is_sample(path: Path) -> bool:
    """A capture or log in captures/, gzip or not (not its expected outputs)."""
    name = path.name[: -len(".gz")] if path.name.endswith(".gz") else path.name
    return Path(name).suffix in INPUT_SUFFIXES


SAMPLES = sorted(p.name for p in CAPTURES.iterdir() if _is_sample(p))


@pytest.fixture(scope="module", params=BROWSERS)
def browser(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    try:
        driver = start(request.param)
    except Unavailable as exc:
        pytest.skip(str(exc))
    yield driver
    driver.quit()


def _wait(driver: Driver, condition: str, what: str, *args: Any, seconds: float = 10.0) -> None:
    """Poll the JavaScript ``condition`` (an expression) until it holds."""
    deadline = time.monotonic() + seconds  # a busy CI machine draws slowly
    while not driver.js("return !!(" + condition + ")", *args):
        if time.monotonic() > deadline:
            raise AssertionError(f"{driver.name}: {what}")
        time.sleep(0.02)


def _go(driver: Driver, hash_: str) -> None:
    driver.js(
        "document.body.removeAttribute('data-ready');"
        "if (location.hash === arguments[0]) window.lyncdumpReport.route();"
        "else location.hash = arguments[0];",
        hash_,
    )
    _wait(
        driver, "document.body.getAttribute('data-ready') === '1'", f"view {hash_} did not render"
    )


def _count(driver: Driver, selector: str) -> int:
    return int(driver.js("return document.querySelectorAll(arguments[0]).length", selector))


def _open(driver: Driver, page: Path) -> dict[str, Any]:
    """Load the page, show the overview, return the document it embeds."""
    driver.load(page.as_uri())
    _go(driver, "#overview")
    return driver.js("return window.lyncdumpReport.data")  # type: ignore[no-any-return]


def _search(driver: Driver, text: str) -> None:
    """Type into the search box (replacing what it holds) and wait for the search to apply."""
    held = driver.js("return document.getElementById('search').value")
    driver.type("#search", "\b" * len(held) + text)
    _wait(
        driver,
        "document.getElementById('search').value === arguments[0] && "
        "document.body.getAttribute('data-query') === arguments[0]",
        f"the search for {text!r} did not apply",
        text,
    )


def _rows(driver: Driver) -> list[str]:
    """The links of the rows the current table shows."""
    return driver.js(  # type: ignore[no-any-return]
        "return [...document.querySelectorAll('main table.grid tbody tr')]"
        ".map(tr => tr.getAttribute('data-href'))"
    )


def _page_is_quiet(driver: Driver, url: str) -> None:
    """No console error, nothing fetched but the page itself."""
    assert driver.console_errors() == []
    assert [u for u in driver.requests() if u.split("#")[0] != url] == []
    assert driver.js("return performance.getEntriesByType('resource').length") == 0


def test_samples_include_the_gzip_relay_captures() -> None:
    assert {"sipp-relay-tcp.pcapng.gz", "sipp-relay-udp.pcapng.gz"} <= set(SAMPLES)
    assert not any(s.endswith((".txt", ".ndjson")) for s in SAMPLES)


@pytest.mark.parametrize("sample", SAMPLES)
def test_sample_report_in_the_browser(sample: str, browser: Driver, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(build_report([CAPTURES / sample]), encoding="utf-8")
    data = _open(browser, page)

    # Everything the library finds is in the page.
    cap = lyncdump.open(str(CAPTURES / sample))
    assert len(data["sessions"]) == len(cap.sessions())
    assert len(data["streams"]) == len(cap.streams())
    assert len(data["calls"]) == len(cap.calls())
    tabs = {
        "calls": len(data["calls"]),
        "streams": len(data["streams"]),
        "signins": sum(s["tab"] == "signins" for s in data["sessions"]),
        "im": sum(s["tab"] == "im" for s in data["sessions"]),
        "presence": sum(s["tab"] == "presence" for s in data["sessions"]),
        "other": sum(s["tab"] == "other" for s in data["sessions"]),
    }
    for tab, expected in tabs.items():
        _go(browser, "#" + tab)
        shown = browser.js(
            "return document.querySelector('#tab-' + arguments[0] + ' .n').textContent", tab
        )
        assert int(shown) == expected, tab
        if expected:
            assert _count(browser, "main table.grid tbody tr") == min(expected, 200), tab

    # A ladder per session, one arrow per message.
    for s in data["sessions"]:
        _go(browser, f"#session/{s['id']}")
        assert _count(browser, "svg.ladder .arrow.msg") == len(s["msgs"]), s["call_id"]
        assert _count(browser, "svg.ladder .arrow") == len(s["msgs"])

    # Each call: its ladder mixes SIP, ICE, TURN and media; each chart has its points.
    for c in data["calls"]:
        _go(browser, f"#call/{c['id']}")
        session = data["sessions"][c["session"]]
        assert _count(browser, "svg.ladder .arrow.msg") == len(session["msgs"])
        assert _count(browser, "svg.ladder .row.ice") == sum(len(i["pairs"]) for i in c["ice"])
        assert _count(browser, "svg.ladder .row.turn") == len(c["allocations"])
        assert _count(browser, "svg.ladder .row.media-start") == len(c["streams"])
        assert _count(browser, "table.ice-pairs tbody tr") == sum(len(i["pairs"]) for i in c["ice"])
        boxes = _count(browser, ".chart")
        assert boxes == len(c["streams"])
        # Charts draw as they scroll into view: bring each undrawn one there until all are.
        _wait(
            browser,
            "(() => { const rest = document.querySelectorAll(\".chart:not([data-drawn='1'])\");"
            " if (rest.length) rest[0].scrollIntoView(); return rest.length === 0; })()",
            f"the charts of call {c['call_id']} were not all drawn",
        )
        drawn = browser.js(
            "return window.lyncdumpReport.charts.map(c => [c.stream, c.points, "
            "c.plot.data[0].length, c.plot.data[4].length])"
        )
        assert sorted(x[0] for x in drawn) == sorted(c["streams"])
        for stream, points, xs, lost in drawn:
            buckets = len(data["streams"][stream]["series"]["buckets"])
            assert points == xs == lost == buckets > 0
        assert _count(browser, ".chart canvas") == boxes

    # The search box filters by Call-ID, kind and user.
    if data["calls"]:
        target = data["calls"][-1]
        _search(browser, "call-id:" + target["call_id"])
        _go(browser, "#calls")
        same = sum(target["call_id"].lower() in c["call_id"].lower() for c in data["calls"])
        assert _count(browser, "main table.grid tbody tr") == same
    if data["sessions"]:
        kind = data["sessions"][0]["kind"]
        _search(browser, "kind:" + kind)
        tab = data["sessions"][0]["tab"]
        _go(browser, "#" + tab)
        expected = sum(s["kind"] == kind and s["tab"] == tab for s in data["sessions"])
        if tab != "calls":
            assert _count(browser, "main table.grid tbody tr") == min(expected, 200)
    _search(browser, "no-such-user-anywhere")
    _go(browser, "#calls")
    assert _count(browser, "main table.grid tbody tr") == 0
    _search(browser, "")

    _page_is_quiet(browser, page.as_uri())


# -- the search box finds the one row it names -----------------------------------------------------
def _users(item: dict[str, Any], data: dict[str, Any]) -> str:
    """The text ``user:`` looks in, as report.js builds it."""
    if "caller" in item:  # a call
        sess = data["sessions"][item["session"]] if item["session"] is not None else None
        names = [item["caller"], item["callee"]] + (sess["participants"] if sess else [])
    else:
        names = [item["from"], item["to"]] + (item.get("participants") or [])
    return " ".join(n for n in names if n).lower()


def _tables(data: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Each tab's rows as (their link, the row's record)."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "calls": [(f"#call/{c['id']}", c) for c in data["calls"]]
    }
    for s in data["sessions"]:
        out.setdefault(s["tab"], []).append((f"#session/{s['id']}", s))
    return out


def _unique_term(data: dict[str, Any], field: str) -> tuple[str, str, str] | None:
    """A ``field:value`` search matching exactly one row of a tab that has others:
    (the tab, the search, the row's link)."""
    for tab, rows in _tables(data).items():
        if len(rows) < 2:
            continue
        for href, item in rows:
            if field == "call-id":
                value = item["call_id"].lower()
                hits = [h for h, x in rows if value in x["call_id"].lower()]
            elif field == "kind":
                value = "call" if tab == "calls" else item["kind"]
                hits = [h for h, x in rows if ("call" if tab == "calls" else x["kind"]) == value]
            else:
                for value in _users(item, data).split():
                    hits = [h for h, x in rows if value in _users(x, data)]
                    if hits == [href]:
                        return tab, f"user:{value}", href
                continue
            if hits == [href] and " " not in value:
                return tab, f"{field}:{value}", href
    return None


# Samples where each search field names exactly one row among several (checked below).
SEARCHES = {
    "user": "lync-signin-failed.pcapng",
    "call-id": "lync-signin-tcp.pcapng",
    "kind": "lync-signin-tcp.pcapng",
}


@pytest.mark.parametrize("field", sorted(SEARCHES))
def test_search_finds_its_one_row(field: str, browser: Driver, tmp_path: Path) -> None:
    """Type a user, a Call-ID or a kind that one row has: that row stays, the others go, the
    tab's count says 1; clearing the box (Backspace) brings every row back."""
    page = tmp_path / "report.html"
    page.write_text(build_report([CAPTURES / SEARCHES[field]]), encoding="utf-8")
    data = _open(browser, page)
    found = _unique_term(data, field)
    assert found is not None, f"{SEARCHES[field]} has no {field} in exactly one row"
    tab, term, href = found
    rows = _tables(data)[tab]
    _go(browser, "#" + tab)
    before = _rows(browser)
    assert len(before) == min(len(rows), 200) >= 2 and href in before

    _search(browser, term)
    _go(browser, "#" + tab)
    assert _rows(browser) == [href]
    count = browser.js(
        "return document.querySelector('#tab-' + arguments[0] + ' .n').textContent", tab
    )
    assert count == "1"

    _search(browser, "")
    _go(browser, "#" + tab)
    assert sorted(_rows(browser)) == sorted(before)
    _page_is_quiet(browser, page.as_uri())


# -- relayed media ---------------------------------------------------------------------------------
def test_relayed_media_names_its_relay(browser: Driver, tmp_path: Path) -> None:
    """lync-turn-tcp443.pcap: the call's media went through the Edge's TURN server over TCP 443.
    The calls and streams tables say relayed and via which relay; the call's detail lists the
    relay, the relayed address and the outer addresses of the packets that carried it."""
    page = tmp_path / "report.html"
    page.write_text(build_report([CAPTURES / "lync-turn-tcp443.pcap"]), encoding="utf-8")
    data = _open(browser, page)
    (call,) = data["calls"]
    assert call["relays"] == [
        {"server": "198.51.100.10:443", "relayed": "198.51.100.10:55000", "transport": "TCP",
         "via": ["active-destination"]}
    ]  # fmt: skip
    _go(browser, "#calls")
    path = browser.js(
        "const tr = document.querySelector('main table.grid tbody tr');"
        "const i = [...document.querySelectorAll('main table.grid thead th')]"
        ".findIndex(th => th.textContent.startsWith('Path'));"
        "return tr.children[i].textContent"
    )
    assert path.startswith(
        "relayed via Edge 198.51.100.10:443 (TCP, relayed address 198.51.100.10:55000)"
    )

    _go(browser, "#streams")
    paths = browser.js(
        "const i = [...document.querySelectorAll('main table.grid thead th')]"
        ".findIndex(th => th.textContent.startsWith('Path'));"
        "return [...document.querySelectorAll('main table.grid tbody tr')]"
        ".map(tr => tr.children[i].textContent)"
    )
    assert len(paths) == len(data["streams"]) == 2
    assert all(p.startswith("relayed via Edge 198.51.100.10:443 (TCP") for p in paths)

    _go(browser, f"#call/{call['id']}")
    text = browser.js("return document.querySelector('main').innerText")
    assert "Relayed media (2 of 2 streams inside TURN)" in text
    cells = browser.js(
        "return [...document.querySelectorAll('main table.relayed tbody tr')]"
        ".map(tr => [...tr.children].map(td => td.textContent))"
    )
    assert len(cells) == 2
    outer = sorted((row[5], row[6]) for row in cells)
    assert outer == [
        ("Edge 198.51.100.10:443", "client 10.0.1.20:50011"),
        ("client 10.0.1.20:50011", "Edge 198.51.100.10:443"),
    ]
    for row in cells:
        assert "198.51.100.10:55000" == row[3] and row[4] == "TCP active-destination"
    assert "outer " in text and "10.0.1.20:50011" in text  # each stream's card too
    _page_is_quiet(browser, page.as_uri())


# -- server-log diagnostics ------------------------------------------------------------------------
FEDERATION = [
    "federation.pcapng",
    "federation-fe01.server.log",
    "federation-edge.server.log",
    "federation-med01.server.log",
]


@pytest.mark.parametrize("merge", [False, True], ids=["edge-log", "merged"])
def test_server_log_diagnostics_in_every_view(merge: bool, browser: Driver, tmp_path: Path) -> None:
    """The Edge log alone, then the federation capture merged with its logs: the diagnostics
    tab lists them all, the overview the ones about no session in the inputs, each session
    and call view its own in a table and as marks on its ladder (no extra arrow)."""
    names = FEDERATION if merge else ["federation-edge.server.log"]
    page = tmp_path / "report.html"
    page.write_text(build_report([CAPTURES / n for n in names], merge=merge), encoding="utf-8")
    data = _open(browser, page)
    diags = data["diagnostics"]
    assert len(diags) == (5 if merge else 4)
    alone = [d for d in diags if d["session"] is None]
    assert len(alone) == (2 if merge else 1)
    assert _count(browser, "main table.diagnostics tbody tr") == len(alone)
    text = browser.js("return document.querySelector('main').innerText")
    assert "Server-log diagnostics" in text and "WSAECONNREFUSED" in text
    shown = browser.js("return document.querySelector('#tab-diagnostics .n').textContent")
    assert int(shown) == len(diags)
    _go(browser, "#diagnostics")
    assert _count(browser, "main table.diagnostics tbody tr") == len(diags)
    cells = browser.js(
        "return [...document.querySelectorAll('main table.diagnostics tbody tr')]"
        ".map(tr => tr.children[2].textContent)"
    )
    assert "0xC3E93D67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH" in cells
    for s in data["sessions"]:
        _go(browser, f"#session/{s['id']}")
        assert _count(browser, "svg.ladder .row.diag") == len(s["diags"]), s["call_id"]
        assert _count(browser, "svg.ladder .arrow") == len(s["msgs"]), s["call_id"]
        assert _count(browser, "main table.diagnostics tbody tr") == len(s["diags"])
    for c in data["calls"]:
        _go(browser, f"#call/{c['id']}")
        session = data["sessions"][c["session"]]
        assert _count(browser, "svg.ladder .row.diag") == len(session["diags"])
        assert _count(browser, "svg.ladder .row.diag.error") == sum(
            data["diagnostics"][i]["severity"] == "error" for i in session["diags"]
        )
    # The search box finds a diagnostic by its result name.
    _search(browser, "SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH")
    _go(browser, "#diagnostics")
    assert _count(browser, "main table.diagnostics tbody tr") == 1
    _search(browser, "")
    _page_is_quiet(browser, page.as_uri())


def test_no_diagnostics_tab_without_a_server_log(browser: Driver, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(build_report([CAPTURES / "sip-udp-call.pcap"]), encoding="utf-8")
    _open(browser, page)
    assert _count(browser, "#tab-diagnostics") == 0
    text = browser.js("return document.querySelector('main').innerText")
    assert "Server-log diagnostics" not in text


def test_hostile_text_stays_text(browser: Driver, tmp_path: Path) -> None:
    """Markup in a SIP message is shown as characters, never run or rendered."""
    from lyncdump.report.data import ReportData
    from lyncdump.report.html import render_html

    data = ReportData()
    data.consume(lyncdump.stream(str(CAPTURES / "sip-udp-call.pcap"), messages=True))
    doc = data.document()
    evil = "<img src=x onerror=\"document.title='owned'\"></script><b>bold</b>"
    doc["sessions"][0]["msgs"][0][5] = evil
    doc["sessions"][0]["from"] = evil
    page = tmp_path / "evil.html"
    page.write_text(render_html(doc, evil), encoding="utf-8")
    browser.load(page.as_uri())
    _go(browser, "#session/0")
    assert browser.js("return document.title") == "lyncdump report: " + evil  # shown as text
    assert _count(browser, "main img, main b") == 0
    main = browser.js("return document.querySelector('main').innerText")
    ladder = browser.js("return document.querySelector('svg.ladder').textContent")
    assert evil[:40] in main or evil[:20] in ladder
    _page_is_quiet(browser, page.as_uri())


def test_chromium_is_the_system_one() -> None:
    assert shutil.which("chromium") in (CHROMIUM, None) or Path(CHROMIUM).exists()


def test_the_driver_sees_errors_and_requests(browser: Driver, tmp_path: Path) -> None:
    """The quiet-page checks are not vacuous: a page that logs an error, throws, requests an
    http image and loads one its Content-Security-Policy blocks is caught by each driver."""
    page = tmp_path / "noisy.html"
    closed = _free_port()  # nothing listens there: the request fails, on this machine only
    page.write_text(
        "<!doctype html><html><head>"
        "<meta http-equiv='Content-Security-Policy' content=\"img-src http://127.0.0.1:*\">"
        "</head><body>"
        f"<img src='http://127.0.0.1:{closed}/x.png'><img src='data:image/png;base64,AA=='>"
        "<script>console.error('boom'); setTimeout(() => { throw new Error('thrown'); }, 0);"
        "</script></body></html>",
        encoding="utf-8",
    )
    browser.load(page.as_uri())
    _wait(browser, "document.readyState === 'complete'", "the noisy page did not load")
    time.sleep(0.3)
    errors = " ".join(browser.console_errors())
    assert "boom" in errors and "thrown" in errors
    requests = browser.requests()
    assert f"http://127.0.0.1:{closed}/x.png" in requests
    assert "blocked: data" in requests


def test_a_missing_browser_is_a_reason_to_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without firefox-esr or chromium the driver says which and how to install it."""
    from . import report_browsers

    monkeypatch.setattr(report_browsers, "FIREFOX", "/nonexistent/firefox-esr")
    monkeypatch.setattr(report_browsers.shutil, "which", lambda _name: None)
    with pytest.raises(Unavailable, match=r"firefox-esr missing \(Debian: apt-get install"):
        start("firefox")
    monkeypatch.setattr(report_browsers, "CHROMEDRIVER", "/nonexistent/chromedriver")
    with pytest.raises(Unavailable, match="chromium-driver"):
        start("chromium")
