"""A fake Theta Terminal for tests: an HTTP server on 127.0.0.1 answering the v3 and v2 OHLC endpoints.

Bars are generated deterministically from the symbol, day and minute (see :func:`bars`), so a test can
compute what a fetch must have written. Every weekday not listed in `holidays` has `SESSION_MINUTES`
minutes from 09:30; minute `EMPTY_MINUTE` has no trades: v3 sends it as a NaN bar with volume 0 (as the real
terminal does), v2 leaves it out. The server can also page v2 answers, answer NO_DATA (HTTP 472), drop the
connection, send a truncated body, answer an HTTP error or redirect, per symbol; it records every request,
its Authorization header and the most requests it had in flight at once.

Use it as a context manager::

    with FakeTerminal(page_size=3) as terminal:
        fetch_ohlc(["AAPL"], start, end, dest, api="v2", base_url=terminal.url)
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

V3_PATH = "/v3/stock/history/ohlc"
V2_PATH = "/v2/hist/stock/ohlc"
V3_HEADER = "timestamp,open,high,low,close,volume,count,vwap"
V2_FORMAT = ["ms_of_day", "open", "high", "low", "close", "volume", "count", "date"]
SESSION_MINUTES = 5
EMPTY_MINUTE = 2
NO_DATA_BODY = b"NO_DATA: No data for the specified timeframe & contract."


@dataclass(frozen=True)
class Bar:
    """One generated 1-minute bar; `ts` is naive US/Eastern."""

    ts: datetime.datetime
    open: float
    high: float
    low: float
    close: float
    volume: int
    count: int


def _bar(symbol: str, ts: datetime.datetime, minute: int) -> Bar:
    price = 10 + sum(map(ord, symbol)) % 90 + ts.day / 7 + minute / 3
    return Bar(ts, price, price + 0.25, price - 0.25, price + 1 / 9, 100 * (minute + 1) + ts.day, minute + 1)


def session_days(start: datetime.date, end: datetime.date, holidays: frozenset[datetime.date]) -> list[datetime.date]:
    """Weekdays from `start` to `end` (inclusive) that are not `holidays`."""
    days = (start + datetime.timedelta(days=n) for n in range((end - start).days + 1))
    return [day for day in days if day.weekday() < 5 and day not in holidays]


def minute_ts(day: datetime.date, minute: int) -> datetime.datetime:
    """The start of session minute `minute` (0 = 09:30) on `day`."""
    return datetime.datetime.combine(day, datetime.time(9, 30)) + datetime.timedelta(minutes=minute)


def bars(
    symbol: str, start: datetime.date, end: datetime.date, holidays: frozenset[datetime.date] = frozenset()
) -> list[Bar]:
    """The bars with trades of `symbol` from `start` to `end`, in time order (the empty minute left out)."""
    return [
        _bar(symbol, minute_ts(day, minute), minute)
        for day in session_days(start, end, holidays)
        for minute in range(SESSION_MINUTES)
        if minute != EMPTY_MINUTE
    ]


def v3_csv(
    symbol: str, start: datetime.date, end: datetime.date, holidays: frozenset[datetime.date] = frozenset()
) -> str:
    """The v3 CSV answer: header, one row a minute (NaN OHLC for the empty one), session-running vwap, CRLF."""
    lines = [V3_HEADER]
    for day in session_days(start, end, holidays):
        value = volume = 0.0
        for minute in range(SESSION_MINUTES):
            ts = minute_ts(day, minute).isoformat(timespec="milliseconds")
            if minute == EMPTY_MINUTE:
                lines.append(f"{ts},NaN,NaN,NaN,NaN,0,0,{value / volume!r}")
                continue
            bar = _bar(symbol, minute_ts(day, minute), minute)
            value += bar.close * bar.volume
            volume += bar.volume
            lines.append(
                f"{ts},{bar.open!r},{bar.high!r},{bar.low!r},{bar.close!r},{bar.volume},{bar.count},{value / volume!r}"
            )
    return "".join(f"{line}\r\n" for line in lines)


def v2_rows(
    symbol: str, start: datetime.date, end: datetime.date, holidays: frozenset[datetime.date] = frozenset()
) -> list[list]:
    """The v2 `response` rows: [ms_of_day, open, high, low, close, volume, count, YYYYMMDD]."""
    return [
        [
            (bar.ts.hour * 3600 + bar.ts.minute * 60) * 1000,
            bar.open, bar.high, bar.low, bar.close, bar.volume, bar.count,
            int(f"{bar.ts:%Y%m%d}"),
        ]
        for bar in bars(symbol, start, end, holidays)
    ]


class FakeTerminal:
    """The fake terminal's settings, request log and server; a context manager that serves while inside.

    page_size: v2 rows per page (None: one page). holidays: weekdays without bars. no_data: symbols answered
    with HTTP 472. drop / truncate: symbol -> how many of its first requests get the connection closed
    without an answer / a truncated body. fail: symbol -> HTTP status always answered. redirect: symbol -> the
    URL of an HTTP 302 always answered. next_page_base: the scheme and host v2 next_page URLs name (default
    this server's). delay_s: time each answer takes, so that concurrent requests overlap.
    """

    def __init__(
        self,
        *,
        page_size: int | None = None,
        holidays: tuple[datetime.date, ...] = (),
        no_data: tuple[str, ...] = (),
        drop: dict[str, int] | None = None,
        truncate: dict[str, int] | None = None,
        fail: dict[str, int] | None = None,
        redirect: dict[str, str] | None = None,
        next_page_base: str | None = None,
        delay_s: float = 0.0,
    ) -> None:
        self.page_size = page_size
        self.holidays = frozenset(holidays)
        self.no_data = set(no_data)
        self.drop = dict(drop or {})
        self.truncate = dict(truncate or {})
        self.fail = dict(fail or {})
        self.redirect = dict(redirect or {})
        self.next_page_base = next_page_base
        self.delay_s = delay_s
        self.requests: list[str] = []  # path and query of every request, in arrival order
        self.authorization: list[str | None] = []  # the Authorization header of every request
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.terminal = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        """The base URL to pass as `base_url`."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request, counting it while in flight."""
        with self._lock:
            self.requests.append(handler.path)
            self.authorization.append(handler.headers.get("Authorization"))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay_s)
            self._answer(handler)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _take(self, counts: dict[str, int], symbol: str) -> bool:
        """Whether this request of `symbol` is one of the first `counts[symbol]` (and count it)."""
        with self._lock:
            if counts.get(symbol, 0) <= 0:
                return False
            counts[symbol] -= 1
            return True

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(split.query))
        if split.path == V3_PATH and query.get("interval") == "1m":
            symbol_key = "symbol"
        elif split.path == V2_PATH and query.get("ivl") == "60000":
            symbol_key = "root"
        else:
            return _send(handler, 404, b"unknown endpoint or interval")
        try:
            symbol = query[symbol_key]
            start = datetime.datetime.strptime(query["start_date"], "%Y%m%d").date()
            end = datetime.datetime.strptime(query["end_date"], "%Y%m%d").date()
        except (KeyError, ValueError):
            return _send(handler, 400, b"missing or bad symbol/root, start_date or end_date")
        if self._take(self.drop, symbol):
            handler.close_connection = True
            return None
        if symbol in self.fail:
            return _send(handler, self.fail[symbol], b"ERROR: simulated failure")
        if symbol in self.redirect:
            return _send(handler, 302, b"moved", headers={"Location": self.redirect[symbol]})
        if symbol in self.no_data:
            return _send(handler, 472, NO_DATA_BODY)
        if symbol_key == "symbol":
            return self._answer_v3(handler, symbol, start, end)
        return self._answer_v2(handler, symbol, start, end, int(query.get("page", "0")))

    def _answer_v3(self, handler: BaseHTTPRequestHandler, symbol: str, start: datetime.date, end: datetime.date) -> None:
        if (start.year, start.month) != (end.year, end.month) or start > end:
            return _send(handler, 400, b"date range must lie within one month")
        body = v3_csv(symbol, start, end, self.holidays).encode()
        if self._take(self.truncate, symbol):
            body = body[: body.index(b"\r\n", len(body) // 2) + 12]  # cut inside a row's timestamp
        return _send(handler, 200, body, "text/csv")

    def _answer_v2(
        self, handler: BaseHTTPRequestHandler, symbol: str, start: datetime.date, end: datetime.date, page: int
    ) -> None:
        rows = v2_rows(symbol, start, end, self.holidays)
        size = self.page_size or max(len(rows), 1)
        has_next = (page + 1) * size < len(rows)
        if has_next:
            query = {"root": symbol, "start_date": f"{start:%Y%m%d}", "end_date": f"{end:%Y%m%d}", "ivl": "60000"}
            page_query = urllib.parse.urlencode({**query, "page": page + 1})
            next_page = f"{self.next_page_base or self.url}{V2_PATH}?{page_query}"
        else:
            next_page = "null"
        doc = {
            "header": {
                "latency_ms": 1,
                "error_type": "null",
                "error_msg": "null",
                "next_page": next_page,
                "format": V2_FORMAT,
            },
            "response": rows[page * size : (page + 1) * size],
        }
        body = json.dumps(doc).encode()
        if self._take(self.truncate, symbol):
            body = body[: len(body) // 2]
        return _send(handler, 200, body, "application/json")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.terminal.handle(self)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "text/plain",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
