"""Open a local page in headless Chromium and report what a person's browser saw: console errors, uncaught
exceptions, dialogs, every network request, values of JavaScript expressions after the page settled, and
optionally a full-page screenshot.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: commands on the child's
fd 3, replies and events on its fd 4, each message JSON ended by a NUL), so no websocket library and no port
are needed. Console messages and exceptions arrive as protocol events with their level, not as log lines to
parse. Tests that use it are marked `browser` and skip where no Chromium is on PATH (Debian: `apt-get
install chromium`).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
COMMAND_FD, REPLY_FD = 3, 4  # where Chromium's --remote-debugging-pipe reads commands and writes replies
FLAGS = ("--headless", "--disable-gpu", "--no-sandbox", "--remote-debugging-pipe", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--mute-audio", "--hide-scrollbars")
CONSOLE_ERROR_TYPES = frozenset({"error", "assert"})
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
VIEWPORT = (1400, 900)


def chromium() -> str | None:
    """The path of a Chromium (or Chrome) binary on PATH, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageVisit:
    """What happened while a page loaded and settled."""

    console_errors: list[str] = field(default_factory=list)  # console.error / console.assert messages
    exceptions: list[str] = field(default_factory=list)  # uncaught exceptions and rejected promises
    log_errors: list[str] = field(default_factory=list)  # browser-side errors (failed loads, blocked content)
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt opened by the page
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, itself included
    values: dict[str, Any] = field(default_factory=dict)  # the evaluated expressions, by name
    screenshot: bytes | None = None  # PNG of the whole page, when asked for

    @property
    def remote_requests(self) -> list[str]:
        """Requests that would need a network (anything not file:, data:, blob: or about:)."""
        return [url for url in self.requests if not url.startswith(LOCAL_SCHEMES)]

    @property
    def problems(self) -> list[str]:
        """Everything a clean offline page must not produce, labelled; empty when the page is clean."""
        return ([f"console error: {m}" for m in self.console_errors]
                + [f"uncaught exception: {m}" for m in self.exceptions]
                + [f"browser error: {m}" for m in self.log_errors]
                + [f"dialog opened: {m}" for m in self.dialogs]
                + [f"network request: {u}" for u in self.remote_requests])


class BrowserError(RuntimeError):
    """Chromium could not be driven (it died, or did not answer in time)."""


class DevTools:
    """One headless Chromium process and a DevTools session on one page target."""

    def __init__(self, binary: str, profile: Path, log: Path) -> None:
        command_read, self._command_write = _high_pipe()
        self._reply_read, reply_write = _high_pipe()

        def place_pipes() -> None:  # in the child, before exec: the pipe ends where Chromium expects them
            os.dup2(command_read, COMMAND_FD)
            os.dup2(reply_write, REPLY_FD)

        with open(log, "wb") as stderr:
            self.process = subprocess.Popen(
                [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=stderr, close_fds=False, preexec_fn=place_pipes)
        os.close(command_read)
        os.close(reply_write)
        self._log = log
        self._buffer = b""
        self._next_id = 0
        self.session: str | None = None
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        """Ask Chromium to quit, then make sure it has."""
        try:
            self._send("Browser.close", session=None)
        except (BrowserError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._command_write)
        os.close(self._reply_read)

    def _send(self, method: str, params: Mapping[str, Any] | None = None, *, session: str | None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": dict(params or {})}
        if session:
            message["sessionId"] = session
        os.write(self._command_write, json.dumps(message).encode() + b"\0")
        return self._next_id

    def call(self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float = 30.0,
             browser: bool = False) -> dict[str, Any]:
        """Send one command (to the page session unless `browser`) and return its result; events that arrive
        meanwhile are kept in `events`."""
        wanted = self._send(method, params, session=None if browser else self.session)
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, method)
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)
                self._answer_dialog(message)

    def pump(self, seconds: float) -> None:
        """Collect events for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                message = self._receive(deadline, "events")
            except TimeoutError:
                return
            if "method" in message:
                self.events.append(message)
                self._answer_dialog(message)

    def _answer_dialog(self, event: Mapping[str, Any]) -> None:
        """Dismiss a dialog the page opened (it would block the page); the event stays recorded."""
        if event["method"] == "Page.javascriptDialogOpening":
            self._send("Page.handleJavaScriptDialog", {"accept": False}, session=self.session)

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"Chromium did not answer {waiting_for} in time")
            ready, _, _ = select.select([self._reply_read], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._reply_read, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited (code {self.process.poll()}) while waiting for {waiting_for}; "
                                   f"its log: {self._log.read_text(errors='replace')[-2000:]}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends are numbered above the child's fds 3 and 4 (so placing one cannot clobber the other)
    and close on exec (only the copies placed at 3 and 4 reach Chromium)."""
    read, write = os.pipe()
    high = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (read, write))
    os.close(read)
    os.close(write)
    return high[0], high[1]


def visit(page: Path, expressions: Mapping[str, str] | None = None, *, ready: str = "true",
          timeout: float = 60.0, screenshot: bool = False, settle: float = 0.5) -> PageVisit:
    """Load `page` (a local file) in headless Chromium, wait for the load event and then for the JavaScript
    expression `ready` to be true, evaluate `expressions` (name -> JavaScript) and collect what happened."""
    binary = chromium()
    if binary is None:
        raise BrowserError("no Chromium on PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="tapescan-chromium-") as scratch:
        tools = DevTools(binary, Path(scratch) / "profile", Path(scratch) / "chromium.log")
        try:
            return _visit(tools, Path(page).resolve().as_uri(), expressions or {}, ready, timeout, screenshot,
                          settle)
        finally:
            tools.close()


def _visit(tools: DevTools, url: str, expressions: Mapping[str, str], ready: str, timeout: float,
           screenshot: bool, settle: float) -> PageVisit:
    deadline = time.monotonic() + timeout
    target = tools.call("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
    tools.session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                               browser=True)["sessionId"]
    for domain in ("Runtime", "Log", "Page", "Network"):
        tools.call(f"{domain}.enable")
    width, height = VIEWPORT
    tools.call("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    tools.events.clear()  # about:blank's own events
    tools.call("Page.navigate", {"url": url})
    while not any(e["method"] == "Page.loadEventFired" for e in tools.events):
        tools.pump(min(0.2, max(0.0, deadline - time.monotonic())))
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not finish loading in {timeout:.0f} s")
    while not _evaluate(tools, ready):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} never became ready ({ready}) in {timeout:.0f} s")
        tools.pump(0.2)
    tools.pump(settle)  # late errors (animation frames, resize handlers)
    result = PageVisit(values={name: _evaluate(tools, js) for name, js in expressions.items()})
    if screenshot:
        size = tools.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = tools.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        result.screenshot = base64.b64decode(shot["data"])
    _sort_events(tools.events, result)
    return result


def _evaluate(tools: DevTools, expression: str) -> Any:
    reply = tools.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
    if "exceptionDetails" in reply:
        raise BrowserError(f"evaluating {expression!r} failed: {reply['exceptionDetails']}")
    return reply["result"].get("value")


def _sort_events(events: list[dict[str, Any]], into: PageVisit) -> None:
    """File each protocol event under what it means for the page."""
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in CONSOLE_ERROR_TYPES:
            into.console_errors.append(" ".join(_describe(arg) for arg in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            into.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            into.log_errors.append(f"{entry.get('text', '')} ({entry.get('url', '')})")
        elif method == "Page.javascriptDialogOpening":
            into.dialogs.append(f"{params.get('type')}: {params.get('message')}")
        elif method == "Network.requestWillBeSent":
            into.requests.append(params.get("request", {}).get("url", ""))


def _describe(argument: Mapping[str, Any]) -> str:
    if "value" in argument:
        return str(argument["value"])
    return str(argument.get("description") or argument.get("type"))
