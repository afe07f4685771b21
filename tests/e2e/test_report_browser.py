"""The HTML report in a real browser: Debian's chromium driven by its chromedriver (selenium
pointed at /usr/bin, nothing downloaded). Skips, saying why, where either is missing.

For every sample capture: the page loads with no console error and no network request; every
call, stream and session is there; each ladder has one arrow per SIP message (and one per ICE
pair, TURN allocation and media start/stop in a call); each chart holds its points; the search
box filters.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import lyncdump
from lyncdump.report import build_report

from ..conftest import CAPTURES

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(
        f"{CHROMIUM} or {CHROMEDRIVER} missing (Debian: apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

SAMPLES = sorted(
    p.name for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng", ".log", ".uccapilog")
)


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as exc:  # noqa: BLE001 - a browser that cannot start is a reason to skip
        pytest.skip(f"chromium could not be started: {exc}".splitlines()[0])
    yield driver
    driver.quit()


def _go(driver, hash_: str) -> None:
    driver.execute_script(
        "document.body.removeAttribute('data-ready');"
        "if (location.hash === arguments[0]) window.lyncdumpReport.route();"
        "else location.hash = arguments[0];",
        hash_,
    )
    for _ in range(100):
        if driver.execute_script("return document.body.getAttribute('data-ready')") == "1":
            return
        time.sleep(0.02)
    raise AssertionError(f"view {hash_} did not render")


def _count(driver, selector: str) -> int:
    return driver.execute_script("return document.querySelectorAll(arguments[0]).length", selector)


def _network_requests(driver, url: str) -> list[str]:
    import json

    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            requested = message["params"]["request"]["url"]
            if requested != url:
                out.append(requested)
    return out


@pytest.mark.parametrize("sample", SAMPLES)
def test_sample_report_in_the_browser(sample: str, browser, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(build_report([CAPTURES / sample]), encoding="utf-8")
    url = page.as_uri()
    browser.get_log("browser")
    browser.get_log("performance")
    browser.get(url)
    _go(browser, "#overview")
    data = browser.execute_script("return window.lyncdumpReport.data")

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
        shown = browser.execute_script(
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
        boxes = browser.find_elements("css selector", ".chart")
        assert len(boxes) == len(c["streams"])
        for box in boxes:
            browser.execute_script("arguments[0].scrollIntoView()", box)
        for _ in range(500):  # up to 10 s: a busy CI machine draws slowly
            if _count(browser, ".chart[data-drawn='1']") == len(boxes):
                break
            time.sleep(0.02)
        drawn = browser.execute_script(
            "return window.lyncdumpReport.charts.map(c => [c.stream, c.points, "
            "c.plot.data[0].length, c.plot.data[4].length])"
        )
        assert sorted(x[0] for x in drawn) == sorted(c["streams"])
        for stream, points, xs, lost in drawn:
            buckets = len(data["streams"][stream]["series"]["buckets"])
            assert points == xs == lost == buckets > 0
        assert _count(browser, ".chart canvas") == len(boxes)

    # The search box filters by Call-ID, kind and user.
    box = browser.find_element("id", "search")
    if data["calls"]:
        target = data["calls"][-1]
        box.clear()
        box.send_keys("call-id:" + target["call_id"])
        time.sleep(0.3)
        _go(browser, "#calls")
        same = sum(target["call_id"] in c["call_id"] for c in data["calls"])
        assert _count(browser, "main table.grid tbody tr") == same
    if data["sessions"]:
        kind = data["sessions"][0]["kind"]
        box.clear()
        box.send_keys("kind:" + kind)
        time.sleep(0.3)
        tab = data["sessions"][0]["tab"]
        _go(browser, "#" + tab)
        expected = sum(s["kind"] == kind and s["tab"] == tab for s in data["sessions"])
        if tab != "calls":
            assert _count(browser, "main table.grid tbody tr") == min(expected, 200)
    box.clear()
    box.send_keys("no-such-user-anywhere")
    time.sleep(0.3)
    _go(browser, "#calls")
    assert _count(browser, "main table.grid tbody tr") == 0
    box.clear()
    time.sleep(0.2)

    # No console error, nothing fetched.
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    assert _network_requests(browser, url) == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0


def test_hostile_text_stays_text(browser, tmp_path: Path) -> None:
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
    browser.get(page.as_uri())
    _go(browser, "#session/0")
    assert browser.title == "lyncdump report: " + evil  # the title shows it as text
    assert _count(browser, "main img, main b") == 0
    assert evil[:40] in browser.find_element("tag name", "main").text or evil[:20] in (
        browser.execute_script("return document.querySelector('svg.ladder').textContent")
    )


def test_chromium_is_the_system_one() -> None:
    assert shutil.which("chromium") in (CHROMIUM, None) or Path(CHROMIUM).exists()
