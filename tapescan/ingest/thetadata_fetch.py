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
* streamed: v3 answers go to that file in blocks, never whole into memory (a v2 page is JSON, parsed
  in memory under the same cap), and one answer larger than
  `MAX_RESPONSE_BYTES` stops the fetch (a month of one symbol's 1-minute bars is a few MB);
* lazy: `dest` is made (by `prepare_dest`) only before the first file is written, so a fetch that writes
  nothing (an unreachable terminal) creates nothing;
* bounded: at most `concurrency` requests are in flight, because the terminal limits concurrent requests
  per subscription; transient failures (dropped connection, timeout, HTTP 5xx, truncated or malformed
  body) are retried with exponential backoff.

The terminal is local, and its requests carry the user's subscription, so the URL is checked before any
request: http or https only (``file://`` would read a local file into the store), a loopback host
(``localhost``, 127.0.0.0/8, ``::1``, decided from the URL's text, never by a DNS lookup) unless
`allow_remote_terminal`. No proxy from the environment is used, redirects are not followed, a v2
``next_page`` is asked of the same terminal URL, and a ``user:password@`` in the URL is sent as HTTP basic
authentication and shown as ``user:***@`` in every message.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import http.client
import ipaddress
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal, TypeVar

from tapescan.errors import IngestError
from tapescan.fsio import atomic_path

Api = Literal["v3", "v2"]

DEFAULT_BASE_URLS: dict[str, str] = {"v3": "http://127.0.0.1:25503", "v2": "http://127.0.0.1:25510"}
V3_HEADER = "timestamp,open,high,low,close,volume,count,vwap"
V2_HEADER = "timestamp,open,high,low,close,volume,count"
NO_DATA_STATUS = 472  # the terminal's NO_DATA answer: the request was fine, there are no bars
# The most bytes one answer may have. A symbol-month of 1-minute bars is a few MB (about 20,000 rows of 100
# bytes with extended hours), so this only stops a server that is not a Theta Terminal or has gone wrong.
MAX_RESPONSE_BYTES = 256 * 2**20

_HEADER_ONLY = {"v3": f"{V3_HEADER}\r\n".encode(), "v2": f"{V2_HEADER}\n".encode()}
_V2_FIELDS = ("ms_of_day", "open", "high", "low", "close", "volume", "count", "date")
_SYMBOL_RE = re.compile(r"[A-Za-z0-9.\-]+")
_MS_PER_DAY = 86_400_000
_EXCERPT_CHARS = 200
_BLOCK_BYTES = 2**16  # read and written at a time
_USERINFO_PASSWORD = re.compile(r"(://[^/?#@:]*:)[^/?#]*@")  # the password of scheme://user:password@host

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
    allow_remote_terminal: bool = False,
) -> FetchReport:
    """Download 1-minute bars of `symbols` from `start` to `end` (inclusive) into `dest`, one file per month.

    Files already in `dest` are skipped, so re-running after an interruption resumes. `on_chunk(path)` is
    called from the calling thread (never from a worker) once per chunk, when its file is written or found
    already present. `prepare_dest()` is called once, before the first file is written (the command line
    creates the store that holds `dest` there); without it, `dest` is created as needed. `base_url` must be
    http(s) on this machine unless `allow_remote_terminal`. Raises :class:`IngestError` for bad arguments or
    URL, an unreachable terminal, an HTTP 3xx or 4xx answer, an answer over `MAX_RESPONSE_BYTES`, or a chunk
    that still fails after `retries` retries; files written before the error are kept.
    """
    wanted = _validate(symbols, start, end, api, concurrency, retries)
    url = _check_terminal_url(base_url or DEFAULT_BASE_URLS[api], allow_remote_terminal)
    terminal = _Terminal(url, retries, backoff_s, timeout_s)
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


def _check_terminal_url(url: str, allow_remote: bool) -> str:
    """`url` without a trailing slash, once it is http(s) and (unless `allow_remote`) on this machine."""
    shown = _redact_url(url)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise IngestError(
            f"the Theta Terminal URL {shown!r} is not http:// or https://: pass --terminal http://127.0.0.1:PORT"
        )
    try:
        host, _ = parts.hostname, parts.port
    except ValueError as exc:
        raise IngestError(f"the Theta Terminal URL {shown!r} is malformed ({exc}): use http://HOST:PORT") from None
    if not host:
        raise IngestError(f"the Theta Terminal URL {shown!r} has no host: use http://HOST:PORT")
    if not allow_remote and not _is_loopback(host):
        raise IngestError(
            f"the Theta Terminal URL {shown} is not on this machine ({host} is not localhost, 127.x.x.x or ::1): "
            "the terminal runs locally, and a remote URL sends your subscription's requests elsewhere. "
            "Pass --allow-remote-terminal if that is what you mean."
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    """Whether `host` (as urlsplit gives it) is localhost or a loopback address, judged without DNS."""
    if host.rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _redact_url(url: str) -> str:
    """`url` with the password of a `user:password@` replaced by `***`, for messages."""
    return _USERINFO_PASSWORD.sub(r"\1***@", url, count=1)


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
    """Download one chunk into its file (atomically); return False when the terminal had no bars."""
    with writer.open(chunk.path) as out:
        has_bars = (_fetch_v3 if api == "v3" else _fetch_v2)(terminal, chunk, out)
        if not has_bars:
            out.restart()
            out.write(_HEADER_ONLY[api])
    return has_bars


class _Output:
    """One chunk's file, started only at the first write (after `prepare`) and written aside until complete."""

    def __init__(self, path: Path, prepare: Callable[[], None], stack: contextlib.ExitStack) -> None:
        self._path = path
        self._prepare = prepare
        self._stack = stack
        self._file: BinaryIO | None = None

    def write(self, data: bytes) -> None:
        if self._file is None:
            self._prepare()
            tmp = self._stack.enter_context(atomic_path(self._path))
            self._file = self._stack.enter_context(open(tmp, "w+b"))  # noqa: SIM115 (closed by the stack)
        self._file.write(data)

    def restart(self) -> None:
        """Drop what was written: a retried answer starts again."""
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()

    def lines(self) -> Iterator[bytes]:
        """The lines written so far, read back from the file."""
        if self._file is None:
            return iter(())
        self._file.seek(0)
        return iter(self._file)


class _Writer:
    """Opens chunk files for the worker threads, the first one preceded by `prepare()` (once)."""

    def __init__(self, prepare: Callable[[], None] | None) -> None:
        self._prepare = prepare
        self._lock = threading.Lock()

    def _prepare_once(self) -> None:
        with self._lock:
            if self._prepare is not None:
                self._prepare()
                self._prepare = None

    @contextlib.contextmanager
    def open(self, path: Path) -> Iterator[_Output]:
        """`path`'s output: renamed into place when the block ends, removed if the block raises."""
        with contextlib.ExitStack() as stack:
            yield _Output(path, self._prepare_once, stack)


def _fetch_v3(terminal: _Terminal, chunk: _Chunk, out: _Output) -> bool:
    """Stream the v3 CSV of one chunk into `out` as the terminal sent it; return False when it has no bars."""
    url = terminal.url(
        "/v3/stock/history/ohlc",
        symbol=chunk.symbol,
        start_date=f"{chunk.start:%Y%m%d}",
        end_date=f"{chunk.end:%Y%m%d}",
        interval="1m",
        format="csv",
    )
    try:
        terminal.get(url, chunk.label, lambda blocks: _save_v3_csv(blocks, out))
    except _NoData:
        return False
    return True


def _save_v3_csv(blocks: Iterable[bytes], out: _Output) -> None:
    """Write one v3 answer to `out` and check it; raise _NoData or _Transient (see _check_v3_csv)."""
    out.restart()
    for block in blocks:
        out.write(block)
    _check_v3_csv(out.lines())


def _check_v3_csv(lines: Iterator[bytes]) -> None:
    """Check `lines` are a complete v3 OHLC CSV with at least one bar; raise _NoData or _Transient."""
    head = next(lines, b"")
    if head.rstrip(b"\r\n") != V3_HEADER.encode():
        if b"NO_DATA" in head:
            raise _NoData
        raise _Transient(f"body does not start with the CSV header {V3_HEADER!r}: {_excerpt(head)}")
    width = V3_HEADER.count(",")
    has_bars = False
    for number, raw in enumerate(lines, start=2):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise _Transient(f"body is not UTF-8 text (line {number}: {exc})") from None
        if line and line.count(",") != width:
            raise _Transient(f"truncated CSV: line {number} is {line[:_EXCERPT_CHARS]!r}")
        has_bars = has_bars or bool(line)
    if not has_bars:
        raise _NoData


def _fetch_v2(terminal: _Terminal, chunk: _Chunk, out: _Output) -> bool:
    """Write the v2 JSON pages of one chunk to `out` as CSV; return False when the terminal has no bars."""
    url: str | None = terminal.url(
        "/v2/hist/stock/ohlc",
        root=chunk.symbol,
        start_date=f"{chunk.start:%Y%m%d}",
        end_date=f"{chunk.end:%Y%m%d}",
        ivl="60000",
    )
    has_bars = False
    while url is not None:
        try:
            lines, next_page = terminal.get(url, chunk.label, lambda blocks: _parse_v2_page(b"".join(blocks)))
        except _NoData:
            break
        if lines:
            if not has_bars:
                out.write(_HEADER_ONLY["v2"])
                has_bars = True
            out.write("".join(f"{line}\n" for line in lines).encode())
        url = None if next_page is None else terminal.page_url(next_page)
    return has_bars
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
        self._opener = _opener()

    def url(self, path: str, **params: str) -> str:
        """The URL of `path` on this terminal with query `params`."""
        return f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"

    def page_url(self, next_page: str) -> str:
        """A v2 `next_page` on this terminal: only its path and query are used, so paging cannot lead elsewhere."""
        parts = urllib.parse.urlsplit(next_page)
        return self.base_url + urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))

    def get(self, url: str, what: str, consume: Callable[[Iterator[bytes]], T]) -> T:
        """GET `url` and `consume` its body's blocks, retrying transient failures; raise _NoData when no bars."""
        last_error = ""
        for attempt in range(self._retries + 1):
            if attempt:
                with self._lock:
                    self.retries += 1
                time.sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                with self._open(url, what) as response:
                    return consume(_blocks(response, url))
            except _Transient as exc:
                last_error = str(exc)
        raise IngestError(
            f"ThetaData fetch of {what} failed after {self._retries + 1} attempts: GET {_redact_url(url)}: "
            f"{last_error}. Files already written are kept: re-run the same command to resume."
        )

    def _open(self, url: str, what: str) -> http.client.HTTPResponse:
        """The response to one GET; raise _Transient for failures worth retrying, _NoData, or IngestError."""
        with self._lock:
            self.requests += 1
        try:
            response = self._opener.open(_request(url), timeout=self._timeout_s)
        except urllib.error.HTTPError as exc:
            self._reached.set()
            raise self._http_error(exc, url, what) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError) and not self._reached.is_set():
                raise IngestError(
                    f"the Theta Terminal is not reachable at {_redact_url(self.base_url)} ({exc.reason}). Is it "
                    "running? Start it (java -jar ThetaTerminal.jar) and wait until it has logged in; if it "
                    "listens elsewhere, pass --terminal http://HOST:PORT (and --api v2 for a v2 terminal)."
                ) from None
            raise _Transient(f"{type(exc.reason).__name__}: {exc.reason}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from None
        self._reached.set()
        return response

    @staticmethod
    def _http_error(exc: urllib.error.HTTPError, url: str, what: str) -> Exception:
        """The exception for an HTTP error status: _NoData, _Transient (5xx) or IngestError (3xx, other 4xx)."""
        try:
            body = exc.read(_EXCERPT_CHARS)
        except (OSError, http.client.HTTPException):
            body = b""
        finally:
            exc.close()
        if 300 <= exc.code < 400:
            return IngestError(
                f"the Theta Terminal answered HTTP {exc.code} for {what} (GET {_redact_url(url)}), a redirect to "
                f"{_redact_url(exc.headers.get('Location', '(none)'))}: redirects are not followed; pass the "
                "terminal's own URL as --terminal."
            )
        if exc.code == NO_DATA_STATUS or b"NO_DATA" in body:
            return _NoData()
        if exc.code >= 500:
            return _Transient(f"HTTP {exc.code}: {_excerpt(body)}")
        return IngestError(
            f"the Theta Terminal answered HTTP {exc.code} for {what} (GET {_redact_url(url)}): {_excerpt(body)}"
        )


def _opener() -> urllib.request.OpenerDirector:
    """An opener for http and https only that follows no redirect and uses no proxy from the environment."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),  # every status without a handler, 3xx included, is an HTTPError
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _request(url: str) -> urllib.request.Request:
    """A GET of `url` without its `user:password@`, sent instead as HTTP basic authentication."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return urllib.request.Request(url)
    host = parts.netloc.rpartition("@")[2]
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return urllib.request.Request(parts._replace(netloc=host).geturl(), headers={"Authorization": f"Basic {token}"})


def _blocks(response: BinaryIO, url: str) -> Iterator[bytes]:
    """The body of `response` in blocks; raise _Transient if reading fails, IngestError past MAX_RESPONSE_BYTES."""
    size = 0
    while True:
        try:
            block = response.read(_BLOCK_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from None
        if not block:
            return
        size += len(block)
        if size > MAX_RESPONSE_BYTES:
            raise IngestError(
                f"the answer to GET {_redact_url(url)} is larger than {MAX_RESPONSE_BYTES:,} bytes "
                "(MAX_RESPONSE_BYTES), far more than a month of one symbol's 1-minute bars: is --terminal a "
                "Theta Terminal? Nothing of that month was kept."
            )
        yield block
