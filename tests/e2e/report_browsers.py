"""The browsers the report's tests drive, behind one small interface so one set of assertions
runs in each: load a ``file://`` page, run JavaScript, type into a field, and say what the page
logged as an error and what it requested.

- **Chromium**: Debian's ``chromium`` driven by its ``chromedriver`` through selenium (both from
  /usr/bin, nothing downloaded).
- **Firefox**: Debian's ``firefox-esr`` driven over W3C WebDriver BiDi, which Firefox speaks
  itself (``--remote-debugging-port``): a WebSocket to ``ws://127.0.0.1:PORT/session`` and the
  BiDi commands ``session.new``, ``browsingContext.*``, ``script.callFunction``,
  ``input.performActions`` and the events ``log.entryAdded`` and ``network.beforeRequestSent``.
  Debian has no geckodriver package and drivers are never downloaded; BiDi needs none.

:func:`start` returns a driver or raises :class:`Unavailable` with the reason a test skips with.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any, Protocol

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FIREFOX = "/usr/bin/firefox-esr"
WIDTH, HEIGHT = 1400, 1000
BROWSERS = ("chromium", "firefox")

# Run before any page script in every page: a load the page's Content-Security-Policy blocks
# never reaches the network, so neither browser reports it as a request; the page hears of it.
PRELOAD = (
    "() => { window.__lyncdumpBlocked = [];"
    " document.addEventListener('securitypolicyviolation',"
    " (e) => window.__lyncdumpBlocked.push(e.blockedURI || e.violatedDirective)); }"
)
# A script's value crosses as JSON text so both drivers hand back the same Python values.
_CALL = "return JSON.stringify((function () { %s }).apply(null, arguments) ?? null);"


class Unavailable(Exception):
    """The browser cannot be had here: the message says why (and how to install it)."""


class Driver(Protocol):
    """What the report's browser tests need from a browser."""

    name: str

    def load(self, url: str) -> None:
        """Open ``url`` and forget what earlier pages logged and requested."""

    def js(self, body: str, *args: Any) -> Any:
        """Run ``body`` (a function body: ``arguments[0]``..., ``return`` a JSON value)."""

    def type(self, selector: str, text: str) -> None:
        """Focus the element and type ``text`` as key presses (``\\b`` is Backspace)."""

    def console_errors(self) -> list[str]:
        """Console errors and uncaught exceptions since :meth:`load`."""

    def requests(self) -> list[str]:
        """URLs requested since :meth:`load` (the page itself may be among them): what the
        browser reported, and what the page's resource timing lists."""

    def quit(self) -> None: ...


def start(name: str) -> Driver:
    """A running ``name`` (one of :data:`BROWSERS`), or :class:`Unavailable`."""
    if name == "chromium":
        return Chromium()
    if name == "firefox":
        return Firefox()
    raise ValueError(name)


# -- Chromium through selenium and chromedriver --------------------------------------------------
class Chromium:
    name = "chromium"

    def __init__(self) -> None:
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError as exc:
            raise Unavailable("selenium is not installed (pip install selenium)") from exc
        if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
            raise Unavailable(
                f"{CHROMIUM} or {CHROMEDRIVER} missing "
                "(Debian: apt-get install chromium chromium-driver)"
            )
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    f"--window-size={WIDTH},{HEIGHT}"):  # fmt: skip
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        try:
            self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        except Exception as exc:  # noqa: BLE001 - a browser that cannot start is a reason to skip
            raise Unavailable(f"chromium could not be started: {exc}".splitlines()[0]) from exc
        self.driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": f"({PRELOAD})();"}
        )
        self._errors: list[str] = []
        self._requests: list[str] = []

    def load(self, url: str) -> None:
        self.driver.get_log("browser")
        self.driver.get_log("performance")
        self._errors, self._requests = [], []
        self.driver.get(url)

    def js(self, body: str, *args: Any) -> Any:
        text = self.driver.execute_script(_CALL % body, *args)
        return json.loads(text)

    def type(self, selector: str, text: str) -> None:
        from selenium.webdriver.common.keys import Keys

        element = self.driver.find_element("css selector", selector)
        element.send_keys(text.replace("\b", Keys.BACKSPACE))

    def _drain(self) -> None:
        for entry in self.driver.get_log("browser"):
            if entry["level"] == "SEVERE":
                self._errors.append(entry["message"])
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                self._requests.append(message["params"]["request"]["url"])

    def console_errors(self) -> list[str]:
        self._drain()
        return list(self._errors)

    def requests(self) -> list[str]:
        self._drain()
        return _with_resources(self, self._requests)

    def quit(self) -> None:
        self.driver.quit()


# -- Firefox over WebDriver BiDi ------------------------------------------------------------------
class Firefox:
    """``firefox-esr --headless --remote-debugging-port`` and a BiDi session over a WebSocket.

    Commands are sent one at a time; the events that arrive while a command's answer is awaited
    (console entries, requests) are kept for :meth:`console_errors` and :meth:`requests`.
    """

    name = "firefox"
    TIMEOUT = 60.0

    def __init__(self) -> None:
        try:
            from websockets.sync.client import connect
        except ImportError as exc:
            raise Unavailable("websockets is not installed (pip install websockets)") from exc
        binary = FIREFOX if os.path.exists(FIREFOX) else shutil.which("firefox-esr")
        if not binary:
            raise Unavailable(f"{FIREFOX} missing (Debian: apt-get install firefox-esr)")
        self._profile = tempfile.mkdtemp(prefix="lyncdump-firefox-")
        port = _free_port()
        env = {**os.environ, "MOZ_HEADLESS": "1"}
        self._log = open(os.path.join(self._profile, "firefox.log"), "wb")  # noqa: SIM115
        self._proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-remote",
                "--profile",
                self._profile,
                "--remote-debugging-port",
                str(port),
                "about:blank",
            ],  # fmt: skip
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._stack = contextlib.ExitStack()
        self._next = 0
        self._errors: list[str] = []
        self._requests: list[str] = []
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            try:
                self._ws = self._stack.enter_context(
                    connect(f"ws://127.0.0.1:{port}/session", max_size=None, open_timeout=5)
                )
                break
            except OSError as exc:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.quit()
                    raise Unavailable(f"firefox-esr did not start its BiDi server: {exc}") from exc
                time.sleep(0.1)
        try:
            self._command("session.new", {"capabilities": {}})
            self._command(
                "session.subscribe", {"events": ["log.entryAdded", "network.beforeRequestSent"]}
            )
            tree = self._command("browsingContext.getTree", {"maxDepth": 0})
            self._context = tree["contexts"][0]["context"]
            self._command("script.addPreloadScript", {"functionDeclaration": PRELOAD})
            self._command(
                "browsingContext.setViewport",
                {"context": self._context, "viewport": {"width": WIDTH, "height": HEIGHT}},
            )
        except Exception as exc:
            self.quit()
            raise Unavailable(f"firefox-esr refused the BiDi session: {exc}") from exc

    def _command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next += 1
        self._ws.send(json.dumps({"id": self._next, "method": method, "params": params}))
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("type") == "event":
                self._event(message["method"], message["params"])
            elif message.get("id") == self._next:
                if message.get("type") == "error":
                    raise RuntimeError(f"{method}: {message['error']}: {message.get('message')}")
                return message["result"]  # type: ignore[no-any-return]

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "log.entryAdded" and params.get("level") == "error":
            self._errors.append(str(params.get("text")))
        elif method == "network.beforeRequestSent":
            self._requests.append(params["request"]["url"])

    def load(self, url: str) -> None:
        self._command("browsingContext.navigate", {"context": self._context, "url": "about:blank",
                                                   "wait": "complete"})  # fmt: skip
        self._errors, self._requests = [], []
        self._command(
            "browsingContext.navigate", {"context": self._context, "url": url, "wait": "complete"}
        )

    def js(self, body: str, *args: Any) -> Any:
        result = self._command(
            "script.callFunction",
            {
                "functionDeclaration": "function () { %s }" % (_CALL % body),
                "arguments": [_local_value(a) for a in args],
                "target": {"context": self._context},
                "awaitPromise": False,
            },
        )
        if result.get("type") == "exception":
            details = result["exceptionDetails"]
            raise RuntimeError(f"script failed: {details.get('text')}")
        value = result["result"]
        if value.get("type") != "string":
            raise RuntimeError(f"script returned {value}")
        return json.loads(value["value"])

    def type(self, selector: str, text: str) -> None:
        self.js("document.querySelector(arguments[0]).focus()", selector)
        keys = []
        for char in text:
            key = "\ue003" if char == "\b" else char  # WebDriver's Backspace
            keys += [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]
        self._command(
            "input.performActions",
            {"context": self._context,
             "actions": [{"type": "key", "id": "keyboard", "actions": keys}]},
        )  # fmt: skip

    def console_errors(self) -> list[str]:
        self.js("return 0")  # a round trip: events sent before it have arrived
        return list(self._errors)

    def requests(self) -> list[str]:
        self.js("return 0")
        return _with_resources(self, self._requests)

    def quit(self) -> None:
        with contextlib.suppress(Exception):
            if hasattr(self, "_ws"):
                self._command("session.end", {})
        with contextlib.suppress(Exception):
            self._stack.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)


def _with_resources(driver: Driver, seen: list[str]) -> list[str]:
    """The requests the driver saw, then the ones only the page knows of: its resource timing
    entries and the loads its Content-Security-Policy blocked (Firefox's BiDi reports http(s)
    requests, not ``file://`` ones; a blocked load is no request to either browser)."""
    timed = driver.js(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".concat((window.__lyncdumpBlocked || []).map(u => 'blocked: ' + u))"
    )
    found = seen + [u for u in timed if u not in seen]
    # A data: URL fetches nothing (Firefox reports the fonts it builds in as such requests).
    return [u for u in found if not u.startswith("data:")]


def _local_value(value: Any) -> dict[str, Any]:
    """A Python value as a BiDi ``script.LocalValue`` (the types the tests pass)."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean", "value": value}
    if isinstance(value, (int, float)):
        return {"type": "number", "value": value}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    if isinstance(value, (list, tuple)):
        return {"type": "array", "value": [_local_value(v) for v in value]}
    raise TypeError(f"cannot pass {type(value).__name__} to the page")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


__all__ = ["BROWSERS", "Chromium", "Driver", "Firefox", "Unavailable", "start"]
