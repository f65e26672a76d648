"""Download 1-minute stock bars from a local Theta Terminal into one CSV file per symbol and month.

ThetaData serves its history through the Theta Terminal, a Java process the user runs on their own machine
that answers HTTP on 127.0.0.1 (API v3 on port 25503, the legacy v2 API on 25510). :func:`fetch_ohlc` asks
it for one symbol and one calendar month at a time (v3 refuses longer ranges) and saves each answer as
``{SYMBOL}_{YYYYMMDD}_{YYYYMMDD}_1m.csv`` for the ThetaData ingester to read.

Years of bars for thousands of symbols take hours to download, so the fetch is built to be interrupted:

* resumable: a chunk whose file exists is not requested again, so re-running the same command resumes;
  a chunk without data is saved as a header-only file for the same reason;
* atomic: each file is written aside and renamed into place, so a killed fetch never leaves a partial
  file that a resumed fetch would then skip;
* lazy: `dest` is made (by `prepare_dest`) only before the first file is written, so a fetch that writes
  nothing (an unreachable terminal) creates nothing;
* bounded: at most `concurrency` requests are in flight, because the terminal limits concurrent requests
  per subscription; transient failures (dropped connection, timeout, HTTP 5xx, truncated or malformed
  body) are retried with exponential backoff.
"""

from __future__ import annotations

import datetime
import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from tapescan.errors import IngestError
from tapescan.fsio import write_bytes_atomic

Api = Literal["v3", "v2"]

DEFAULT_BASE_URLS: dict[str, str] = {"v3": "http://127.0.0.1:25503", "v2": "http://127.0.0.1:25510"}
V3_HEADER = "timestamp,open,high,low,close,volume,count,vwap"
V2_HEADER = "timestamp,open,high,low,close,volume,count"
NO_DATA_STATUS = 472  # the terminal's NO_DATA answer: the request was fine, there are no bars

_HEADER_ONLY = {"v3": f"{V3_HEADER}\r\n".encode(), "v2": f"{V2_HEADER}\n".encode()}
_V2_FIELDS = ("ms_of_day", "open", "high", "low", "close", "volume", "count", "date")
_SYMBOL_RE = re.compile(r"[A-Za-z0-9.\-]+")
_MS_PER_DAY = 86_400_000
_EXCERPT_CHARS = 200

T = TypeVar("T")


@dataclass
class FetchReport:
    """What one :func:`fetch_ohlc` call did."""

    requests: int  # HTTP requests made (pages included, retries included)
    retries: int  # requests that were retried after a failure
    written: list[Path] = field(default_factory=list)  # files written by this call
    skipped: list[Path] = field(default_factory=list)  # files already present (resume): not requested again
    no_data: list[tuple[str, datetime.date, datetime.date]] = field(default_factory=list)  # chunks without bars


@dataclass(frozen=True)
class _Chunk:
    symbol: str
    start: datetime.date
    end: datetime.date
    path: Path

    @property
    def label(self) -> str:
        return f"{self.symbol} {self.start.isoformat()}..{self.end.isoformat()}"


class _NoData(Exception):
    """The terminal has no bars for the request."""


class _Transient(Exception):
    """A failure worth retrying; the message says what went wrong."""


def month_chunks(start: datetime.date, end: datetime.date) -> list[tuple[datetime.date, datetime.date]]:
    """Split [start, end] into (first, last) date ranges that each lie within one calendar month."""
    chunks = []
    first = start
    while first <= end:
        next_month = (first.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        chunks.append((first, min(end, next_month - datetime.timedelta(days=1))))
        first = next_month
    return chunks


def chunk_path(dest: Path, symbol: str, start: datetime.date, end: datetime.date) -> Path:
    """The file that holds `symbol`'s 1-minute bars from `start` to `end` (inclusive)."""
    return Path(dest) / f"{symbol.upper()}_{start:%Y%m%d}_{end:%Y%m%d}_1m.csv"


def fetch_ohlc(
    symbols: Sequence[str],
    start: datetime.date,
    end: datetime.date,
    dest: Path,
    *,
    api: Api = "v3",
    base_url: str | None = None,
    concurrency: int = 4,
    retries: int = 3,
    backoff_s: float = 0.5,
    timeout_s: float = 60.0,
    on_chunk: Callable[[Path], None] | None = None,
    prepare_dest: Callable[[], None] | None = None,
) -> FetchReport:
    """Download 1-minute bars of `symbols` from `start` to `end` (inclusive) into `dest`, one file per month.

    Files already in `dest` are skipped, so re-running after an interruption resumes. `on_chunk(path)` is
    called from the calling thread (never from a worker) once per chunk, when its file is written or found
    already present. `prepare_dest()` is called once, before the first file is written (the command line
    creates the store that holds `dest` there); without it, `dest` is created as needed. Raises
    :class:`IngestError` for bad arguments, an unreachable terminal, an HTTP 4xx answer, or a chunk that
    still fails after `retries` retries; files written before the error are kept.
    """
    wanted = _validate(symbols, start, end, api, concurrency, retries)
    terminal = _Terminal((base_url or DEFAULT_BASE_URLS[api]).rstrip("/"), retries, backoff_s, timeout_s)
    writer = _Writer(prepare_dest)
    report = FetchReport(requests=0, retries=0)
    pending = []
    for symbol in wanted:
        for first, last in month_chunks(start, end):
            chunk = _Chunk(symbol, first, last, chunk_path(dest, symbol, first, last))
            if chunk.path.exists():
                report.skipped.append(chunk.path)
                if on_chunk is not None:
                    on_chunk(chunk.path)
            else:
                pending.append(chunk)
    try:
        _fetch_all(terminal, writer, pending, api, concurrency, report, on_chunk)
    finally:
        report.requests, report.retries = terminal.requests, terminal.retries
    report.written.sort()
    report.skipped.sort()
    report.no_data.sort()
    return report


def _validate(
    symbols: Sequence[str], start: datetime.date, end: datetime.date, api: str, concurrency: int, retries: int
) -> list[str]:
    """Check the arguments; return the symbols upper-cased, without duplicates, in the order given."""
    if api not in DEFAULT_BASE_URLS:
        raise IngestError(f"unknown ThetaData API {api!r}: use 'v3' or 'v2'")
    if isinstance(symbols, str):
        symbols = [symbols]
    if not symbols:
        raise IngestError("no symbols given: pass at least one, for example AAPL")
    for symbol in symbols:
        if not isinstance(symbol, str) or not _SYMBOL_RE.fullmatch(symbol):
            raise IngestError(
                f"bad symbol {symbol!r}: use letters, digits, '.' and '-' only (for example AAPL or BRK.B)"
            )
    if start > end:
        raise IngestError(f"start {start.isoformat()} is after end {end.isoformat()}: swap them")
    if concurrency < 1:
        raise IngestError(f"concurrency must be at least 1, got {concurrency}")
    if retries < 0:
        raise IngestError(f"retries must be 0 or more, got {retries}")
    return list(dict.fromkeys(symbol.upper() for symbol in symbols))


def _fetch_all(
    terminal: _Terminal,
    writer: _Writer,
    pending: list[_Chunk],
    api: Api,
    concurrency: int,
    report: FetchReport,
    on_chunk: Callable[[Path], None] | None,
) -> None:
    """Fetch `pending` chunks on `concurrency` workers, recording results in `report` as they complete."""
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="thetadata-fetch") as pool:
        futures = {pool.submit(_fetch_chunk, terminal, writer, chunk, api): chunk for chunk in pending}
        try:
            for future in as_completed(futures):
                chunk = futures[future]
                if not future.result():
                    report.no_data.append((chunk.symbol, chunk.start, chunk.end))
                report.written.append(chunk.path)
                if on_chunk is not None:
                    on_chunk(chunk.path)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _fetch_chunk(terminal: _Terminal, writer: _Writer, chunk: _Chunk, api: Api) -> bool:
    """Download one chunk and write its file atomically; return False when the terminal had no bars."""
    data = _fetch_v3(terminal, chunk) if api == "v3" else _fetch_v2(terminal, chunk)
    writer.write(chunk.path, _HEADER_ONLY[api] if data is None else data)
    return data is not None


class _Writer:
    """Atomic file writes from the worker threads, the first one preceded by `prepare()` (once)."""

    def __init__(self, prepare: Callable[[], None] | None) -> None:
        self._prepare = prepare
        self._lock = threading.Lock()

    def write(self, path: Path, data: bytes) -> None:
        with self._lock:
            if self._prepare is not None:
                self._prepare()
                self._prepare = None
        write_bytes_atomic(path, data)


def _fetch_v3(terminal: _Terminal, chunk: _Chunk) -> bytes | None:
    """The v3 CSV of one chunk as the terminal sent it, or None when it has no bars."""
    url = terminal.url(
        "/v3/stock/history/ohlc",
        symbol=chunk.symbol,
        start_date=f"{chunk.start:%Y%m%d}",
        end_date=f"{chunk.end:%Y%m%d}",
        interval="1m",
        format="csv",
    )
    try:
        return terminal.get(url, _check_v3_csv, chunk.label)
    except _NoData:
        return None


def _check_v3_csv(body: bytes) -> bytes:
    """Return `body` if it is a complete v3 OHLC CSV with at least one bar; raise _NoData or _Transient."""
    try:
        lines = body.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise _Transient(f"body is not UTF-8 text ({exc})") from None
    if not lines or lines[0] != V3_HEADER:
        if b"NO_DATA" in body:
            raise _NoData
        raise _Transient(f"body does not start with the CSV header {V3_HEADER!r}: {_excerpt(body)}")
    width = V3_HEADER.count(",")
    for number, line in enumerate(lines[1:], start=2):
        if line and line.count(",") != width:
            raise _Transient(f"truncated CSV: line {number} is {line[:_EXCERPT_CHARS]!r}")
    if not any(lines[1:]):
        raise _NoData
    return body


def _fetch_v2(terminal: _Terminal, chunk: _Chunk) -> bytes | None:
    """The v2 JSON pages of one chunk converted to CSV, or None when the terminal has no bars."""
    url: str | None = terminal.url(
        "/v2/hist/stock/ohlc",
        root=chunk.symbol,
        start_date=f"{chunk.start:%Y%m%d}",
        end_date=f"{chunk.end:%Y%m%d}",
        ivl="60000",
    )
    lines = [V2_HEADER]
    while url is not None:
        try:
            page, next_page = terminal.get(url, _parse_v2_page, chunk.label)
        except _NoData:
            break
        lines.extend(page)
        url = None if next_page is None else urllib.parse.urljoin(terminal.base_url + "/", next_page)
    if len(lines) == 1:
        return None
    return ("\n".join(lines) + "\n").encode()


def _parse_v2_page(body: bytes) -> tuple[list[str], str | None]:
    """CSV lines of one v2 JSON page and the next page's URL (None on the last page); raise _Transient."""
    try:
        doc = json.loads(body)
        header, rows = doc["header"], doc["response"]
        columns = [header["format"].index(name) for name in _V2_FIELDS] if rows else []
        lines = [_v2_csv_line([row[i] for i in columns]) for row in rows]
        next_page = header.get("next_page")
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise _Transient(f"malformed v2 JSON ({type(exc).__name__}: {exc}): {_excerpt(body)}") from None
    return lines, None if next_page in (None, "", "null") else str(next_page)


def _v2_csv_line(values: list) -> str:
    """One CSV line from a v2 row's (ms_of_day, open, high, low, close, volume, count, date) values."""
    ms_of_day, open_, high, low, close, volume, count, yyyymmdd = values
    day = datetime.date(int(yyyymmdd) // 10000, int(yyyymmdd) // 100 % 100, int(yyyymmdd) % 100)
    if not 0 <= int(ms_of_day) < _MS_PER_DAY:
        raise ValueError(f"ms_of_day {ms_of_day} is outside one day")
    clock = datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(milliseconds=int(ms_of_day))
    prices = (repr(float(value)) for value in (open_, high, low, close))
    return ",".join([clock.isoformat(timespec="milliseconds"), *prices, str(int(volume)), str(int(count))])


def _excerpt(body: bytes) -> str:
    """The start of a response body, for error messages."""
    return repr(body[:_EXCERPT_CHARS].decode("utf-8", "replace"))


class _Terminal:
    """HTTP access to one Theta Terminal: retries with backoff, and thread-safe request counts."""

    def __init__(self, base_url: str, retries: int, backoff_s: float, timeout_s: float) -> None:
        self.base_url = base_url
        self.requests = 0
        self.retries = 0
        self._retries = retries
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._reached = threading.Event()  # set once any request got an HTTP answer
        # The terminal is local: never send its requests through a proxy named in the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def url(self, path: str, **params: str) -> str:
        """The URL of `path` on this terminal with query `params`."""
        return f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"

    def get(self, url: str, parse: Callable[[bytes], T], what: str) -> T:
        """GET `url` and `parse` its body, retrying transient failures; raise _NoData when there are no bars."""
        last_error = ""
        for attempt in range(self._retries + 1):
            if attempt:
                with self._lock:
                    self.retries += 1
                time.sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                return parse(self._get_once(url, what))
            except _Transient as exc:
                last_error = str(exc)
        raise IngestError(
            f"ThetaData fetch of {what} failed after {self._retries + 1} attempts: GET {url}: {last_error}. "
            "Files already written are kept: re-run the same command to resume."
        )

    def _get_once(self, url: str, what: str) -> bytes:
        """One GET; raise _Transient for failures worth retrying, _NoData, or IngestError."""
        with self._lock:
            self.requests += 1
        try:
            with self._opener.open(url, timeout=self._timeout_s) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            self._reached.set()
            raise self._http_error(exc, url, what) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError) and not self._reached.is_set():
                raise IngestError(
                    f"the Theta Terminal is not reachable at {self.base_url} ({exc.reason}). Is it running? "
                    "Start it (java -jar ThetaTerminal.jar) and wait until it has logged in; if it listens "
                    "elsewhere, pass --terminal http://HOST:PORT (and --api v2 for a v2 terminal)."
                ) from None
            raise _Transient(f"{type(exc.reason).__name__}: {exc.reason}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from None
        self._reached.set()
        return body

    @staticmethod
    def _http_error(exc: urllib.error.HTTPError, url: str, what: str) -> Exception:
        """The exception for an HTTP error status: _NoData, _Transient (5xx) or IngestError (other 4xx)."""
        try:
            body = exc.read()
        except (OSError, http.client.HTTPException):
            body = b""
        finally:
            exc.close()
        if exc.code == NO_DATA_STATUS or b"NO_DATA" in body:
            return _NoData()
        if exc.code >= 500:
            return _Transient(f"HTTP {exc.code}: {_excerpt(body)}")
        return IngestError(f"the Theta Terminal answered HTTP {exc.code} for {what} (GET {url}): {_excerpt(body)}")
