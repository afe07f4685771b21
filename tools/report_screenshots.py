"""Make the report's screenshots in docs/ (report-call.png, report-charts.png) from the sample
captures/lync-av-call.pcapng, in Debian's headless chromium through its chromedriver (selenium
pointed at /usr/bin: nothing downloaded).

    python tools/report_screenshots.py [--out docs]

report-call.png: the call's view (#call/0) from the top, 1280 px wide; report-charts.png: the
first stream's card with its chart and facts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "captures" / "lync-av-call.pcapng"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _ready(driver, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while driver.execute_script("return document.body.getAttribute('data-ready')") != "1":
        if time.monotonic() > deadline:
            raise SystemExit("the report did not render")
        time.sleep(0.05)


def _shot(driver, path: Path, width: int, height: int, scroll_to: str | None = None) -> None:  # type: ignore[no-untyped-def]
    driver.set_window_size(width, height)
    # The window's size includes no chrome in headless mode; make the viewport exactly so.
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(width + (width - inner[0]), height + (height - inner[1]))
    if scroll_to:
        driver.execute_script(
            "const el = document.querySelector(arguments[0]); el.scrollIntoView();"
            "window.scrollBy(0, -90);",
            scroll_to,
        )
    else:
        driver.execute_script("window.scrollTo(0, 0)")
    deadline = time.monotonic() + 10
    while driver.execute_script(
        "return document.querySelectorAll(\".chart:not([data-drawn='1'])\").length"
        " && [...document.querySelectorAll('.chart')].some(c => {"
        " const r = c.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0"
        " && c.getAttribute('data-drawn') !== '1'; })"
    ):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    driver.save_screenshot(str(path))
    print(f"wrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"), help="folder (default docs/)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from lyncdump.report import build_report

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            page = Path(tmp) / "av.html"
            page.write_text(build_report([SAMPLE]), encoding="utf-8")
            driver.get(page.as_uri() + "#call/0")
            _ready(driver)
            out = Path(args.out)
            _shot(driver, out / "report-call.png", 1280, 1357)
            _shot(driver, out / "report-charts.png", 1280, 757, scroll_to=".stream-card")
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
