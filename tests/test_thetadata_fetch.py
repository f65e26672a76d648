"""fetch_ohlc against a fake Theta Terminal: files and content, paging, resume, NO_DATA, retries, bounds, and
the terminal URL's safety (loopback, http(s), no redirects, size cap, no password shown).

No test reaches beyond this machine: every name and address is resolved through `loopback_only`.
"""

from __future__ import annotations

import base64
import datetime
import io
import ipaddress
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from tapescan.errors import IngestError
from tapescan.ingest import thetadata_fetch
from tapescan.ingest.thetadata_fetch import (
    FetchReport,
    chunk_path,
    fetch_ohlc,
    month_chunks,
)
from tests.thetadata_terminal import FakeTerminal, bars, v3_csv

D = datetime.date
JAN = (D(2024, 1, 2), D(2024, 1, 31))
V3_HEADER_ONLY = b"timestamp,open,high,low,close,volume,count,vwap\r\n"
V2_HEADER_ONLY = b"timestamp,open,high,low,close,volume,count\n"


def expected_v2(symbol: str, start: D, end: D, holidays: tuple[D, ...] = ()) -> bytes:
    """The CSV a v2 fetch must write, built from the fake's bars independently of the fetcher."""
    lines = ["timestamp,open,high,low,close,volume,count"]
    for bar in bars(symbol, start, end, frozenset(holidays)):
        lines.append(
            f"{bar.ts:%Y-%m-%dT%H:%M:%S}.000,{bar.open!r},{bar.high!r},{bar.low!r},{bar.close!r},"
            f"{bar.volume},{bar.count}"
        )
    return ("\n".join(lines) + "\n").encode()


def expected(api: str, symbol: str, start: D, end: D) -> bytes:
    return v3_csv(symbol, start, end).encode() if api == "v3" else expected_v2(symbol, start, end)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Whatever the code under test does, a host that is not localhost or a loopback address is never looked up."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise socket.gaierror(socket.EAI_NONAME, f"test: {host!r} is not looked up")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class Opened:
    """What urllib was asked to open (`urls`), and the responses to give (`answers`; refused when none left)."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.answers: list[io.BytesIO] = []


@pytest.fixture
def opened(monkeypatch) -> Opened:
    """Record every URL urllib opens instead of connecting anywhere."""
    record = Opened()

    def open_(self, request, *args, **kwargs):
        record.urls.append(getattr(request, "full_url", request))
        if record.answers:
            return record.answers.pop(0)
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", open_)
    return record


def fetch(terminal: FakeTerminal, symbols: list[str], start: D, end: D, dest, **kwargs) -> FetchReport:
    kwargs.setdefault("backoff_s", 0.0)
    kwargs.setdefault("timeout_s", 5.0)
    return fetch_ohlc(symbols, start, end, dest, base_url=terminal.url, **kwargs)


def test_month_chunks_split_at_month_ends():
    assert month_chunks(D(2024, 1, 30), D(2024, 3, 4)) == [
        (D(2024, 1, 30), D(2024, 1, 31)),
        (D(2024, 2, 1), D(2024, 2, 29)),
        (D(2024, 3, 1), D(2024, 3, 4)),
    ]
    assert month_chunks(D(2023, 12, 31), D(2024, 1, 1)) == [(D(2023, 12, 31),) * 2, (D(2024, 1, 1),) * 2]
    assert month_chunks(D(2024, 5, 7), D(2024, 5, 7)) == [(D(2024, 5, 7), D(2024, 5, 7))]


def test_v3_writes_one_file_per_symbol_and_month_as_sent(tmp_path):
    seen = []
    with FakeTerminal() as terminal:
        report = fetch(
            terminal, ["aapl", "MSFT"], D(2024, 1, 30), D(2024, 3, 4), tmp_path, concurrency=2,
            on_chunk=lambda path: seen.append((path, threading.current_thread())),
        )
    names = [f"{s}_{a}_{b}_1m.csv" for s in ("AAPL", "MSFT")
             for a, b in (("20240130", "20240131"), ("20240201", "20240229"), ("20240301", "20240304"))]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)  # no temporary files left
    assert report.written == sorted(tmp_path / name for name in names)
    assert (report.requests, report.retries, report.skipped, report.no_data) == (6, 0, [], [])
    assert sorted(path for path, _ in seen) == report.written
    assert {thread for _, thread in seen} == {threading.main_thread()}
    for symbol in ("AAPL", "MSFT"):
        for first, last in month_chunks(D(2024, 1, 30), D(2024, 3, 4)):
            assert chunk_path(tmp_path, symbol, first, last).read_bytes() == v3_csv(symbol, first, last).encode()
    assert (tmp_path / "AAPL_20240130_20240131_1m.csv").read_bytes().startswith(
        b"timestamp,open,high,low,close,volume,count,vwap\r\n"
        b"2024-01-30T09:30:00.000,30.285714285714285,30.535714285714285,30.035714285714285,"
        b"30.396825396825395,130,1,30.396825396825395\r\n"
        b"2024-01-30T09:31:00.000,30.619047619047617,30.869047619047617,30.369047619047617,"
        b"30.730158730158728,230,2,30.609788359788357\r\n"
        b"2024-01-30T09:32:00.000,NaN,NaN,NaN,NaN,0,0,30.609788359788357\r\n"
    )
    assert "/v3/stock/history/ohlc?symbol=AAPL&start_date=20240201&end_date=20240229&interval=1m" in "\n".join(
        terminal.requests
    )


def test_v2_follows_pages_and_converts_to_csv(tmp_path):
    holiday = D(2024, 1, 15)
    with FakeTerminal(page_size=3, holidays=(holiday,)) as terminal:
        report = fetch(terminal, ["AAPL"], D(2024, 1, 2), D(2024, 1, 19), tmp_path, api="v2")
    path = tmp_path / "AAPL_20240102_20240119_1m.csv"
    content = path.read_bytes()
    assert content == expected_v2("AAPL", D(2024, 1, 2), D(2024, 1, 19), (holiday,))
    assert content.startswith(
        b"timestamp,open,high,low,close,volume,count\n"
        b"2024-01-02T09:30:00.000,26.285714285714285,26.535714285714285,26.035714285714285,"
        b"26.396825396825395,102,1\n"
        b"2024-01-02T09:31:00.000,"
    )
    assert b"2024-01-15T" not in content and b"T09:32:00.000" not in content
    assert content.count(b"\n") == 1 + 13 * 4  # 13 session days of 4 bars, 52 rows in pages of 3
    assert report.requests == len(terminal.requests) == 18
    assert terminal.requests[-1].endswith("&page=17")
    assert (report.written, report.no_data) == ([path], [])


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_resumed_fetch_requests_only_missing_files(tmp_path, api):
    with FakeTerminal() as terminal:
        first = fetch(terminal, ["AAPL", "MSFT"], D(2024, 1, 2), D(2024, 2, 9), tmp_path, api=api)
        assert len(terminal.requests) == 4
        again = fetch(terminal, ["AAPL", "MSFT"], D(2024, 1, 2), D(2024, 2, 9), tmp_path, api=api)
        assert len(terminal.requests) == 4
        assert (again.requests, again.written, again.skipped) == (0, [], first.written)
        missing = tmp_path / "MSFT_20240201_20240209_1m.csv"
        missing.unlink()
        seen = []
        resumed = fetch(terminal, ["AAPL", "MSFT"], D(2024, 1, 2), D(2024, 2, 9), tmp_path, api=api,
                        on_chunk=seen.append)
    assert terminal.requests[4:] == [terminal.requests[4]] and "MSFT" in terminal.requests[4]
    assert (resumed.requests, resumed.written) == (1, [missing])
    assert resumed.skipped == sorted(set(first.written) - {missing})
    assert sorted(seen) == first.written
    assert missing.read_bytes() == expected(api, "MSFT", D(2024, 2, 1), D(2024, 2, 9))


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_no_data_symbol_and_empty_chunk_give_header_only_files(tmp_path, api):
    header_only = V3_HEADER_ONLY if api == "v3" else V2_HEADER_ONLY
    with FakeTerminal(no_data=("ZZZZ",)) as terminal:
        report = fetch(terminal, ["AAPL", "ZZZZ"], *JAN, tmp_path, api=api)
        weekend = fetch(terminal, ["AAPL"], D(2024, 2, 3), D(2024, 2, 4), tmp_path, api=api)
    assert (tmp_path / "ZZZZ_20240102_20240131_1m.csv").read_bytes() == header_only
    assert (tmp_path / "AAPL_20240102_20240131_1m.csv").read_bytes() == expected(api, "AAPL", *JAN)
    assert report.no_data == [("ZZZZ", *JAN)]
    assert (report.requests, report.retries, len(report.written)) == (2, 0, 2)
    assert (tmp_path / "AAPL_20240203_20240204_1m.csv").read_bytes() == header_only
    assert weekend.no_data == [("AAPL", D(2024, 2, 3), D(2024, 2, 4))]


@pytest.mark.parametrize("api", ["v3", "v2"])
@pytest.mark.parametrize("fault", ["drop", "truncate"])
def test_dropped_connection_or_truncated_body_is_retried(tmp_path, api, fault):
    with FakeTerminal(page_size=10, **{fault: {"AAPL": 1}}) as terminal:
        report = fetch(terminal, ["AAPL"], *JAN, tmp_path, api=api)
    pages = 1 if api == "v3" else 9  # 21 session days of 4 bars in pages of 10
    assert (report.requests, report.retries) == (pages + 1, 1)
    assert terminal.requests[0] == terminal.requests[1]
    assert (tmp_path / "AAPL_20240102_20240131_1m.csv").read_bytes() == expected(api, "AAPL", *JAN)


@pytest.mark.parametrize("fault", [{"drop": {"MSFT": 99}}, {"fail": {"MSFT": 503}}, {"truncate": {"MSFT": 99}}])
def test_retries_exhausted_raise_and_keep_earlier_files(tmp_path, fault):
    with FakeTerminal(**fault) as terminal, pytest.raises(IngestError) as raised:
        fetch(terminal, ["AAPL", "MSFT"], *JAN, tmp_path, concurrency=1, retries=2)
    message = str(raised.value)
    assert "MSFT 2024-01-02..2024-01-31" in message and "after 3 attempts" in message
    assert f"{terminal.url}/v3/stock/history/ohlc?symbol=MSFT" in message and "re-run" in message
    assert sum("MSFT" in request for request in terminal.requests) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["AAPL_20240102_20240131_1m.csv"]
    assert (tmp_path / "AAPL_20240102_20240131_1m.csv").read_bytes() == v3_csv("AAPL", *JAN).encode()
    with FakeTerminal() as healthy:
        resumed = fetch(healthy, ["AAPL", "MSFT"], *JAN, tmp_path)
    assert (resumed.requests, resumed.skipped) == (1, [tmp_path / "AAPL_20240102_20240131_1m.csv"])
    assert (tmp_path / "MSFT_20240102_20240131_1m.csv").read_bytes() == v3_csv("MSFT", *JAN).encode()


def test_retries_back_off_exponentially(tmp_path):
    with FakeTerminal(drop={"AAPL": 99}) as terminal:
        began = time.monotonic()
        with pytest.raises(IngestError, match="RemoteDisconnected"):
            fetch(terminal, ["AAPL"], *JAN, tmp_path, retries=2, backoff_s=0.1)
    assert time.monotonic() - began >= 0.1 + 0.2
    assert len(terminal.requests) == 3


def test_http_4xx_is_reported_without_retry(tmp_path):
    refused = r"HTTP 403 for AAPL 2024-01-02\.\.2024-01-31.*simulated failure"
    with FakeTerminal(fail={"AAPL": 403}) as terminal, pytest.raises(IngestError, match=refused):
        fetch(terminal, ["AAPL"], *JAN, tmp_path, api="v2")
    assert len(terminal.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_unreachable_terminal_names_the_url_and_the_terminal_flag(tmp_path):
    """Nothing is created, not even the destination folder (the command line's store)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    prepared = []
    with pytest.raises(IngestError, match=rf"not reachable at {url} .*java -jar ThetaTerminal\.jar.*"
                                          r"if it listens elsewhere, pass --terminal http://HOST:PORT"):
        fetch_ohlc(["AAPL"], *JAN, tmp_path / "store" / "downloads", base_url=url + "/", backoff_s=0.0,
                   prepare_dest=lambda: prepared.append(True))
    assert prepared == []
    assert list(tmp_path.iterdir()) == []


def test_the_destination_is_prepared_once_before_the_first_file(tmp_path):
    dest = tmp_path / "store" / "downloads"
    seen = []

    def prepare() -> None:
        seen.append(list(tmp_path.iterdir()))  # nothing written yet
        dest.mkdir(parents=True)

    with FakeTerminal(delay_s=0.02) as terminal:
        report = fetch(terminal, ["AAPL", "MSFT"], D(2024, 1, 2), D(2024, 2, 29), dest, concurrency=4,
                       prepare_dest=prepare)
    assert seen == [[]]
    assert sorted(dest.iterdir()) == report.written and len(report.written) == 4


@pytest.mark.parametrize("concurrency", [1, 3])
def test_requests_in_flight_never_exceed_concurrency(tmp_path, concurrency):
    symbols = [f"S{n}" for n in range(8)]
    with FakeTerminal(delay_s=0.05) as terminal:
        report = fetch(terminal, symbols, *JAN, tmp_path, concurrency=concurrency)
    assert terminal.max_in_flight == concurrency
    assert len(report.written) == report.requests == 8


@pytest.mark.parametrize("symbol", ["", "AA PL", "AAPL;rm", "ÄPPL", "a/b"])
def test_bad_symbol_is_rejected(tmp_path, symbol):
    with pytest.raises(IngestError, match=f"bad symbol {symbol!r}"):
        fetch_ohlc(["AAPL", symbol], *JAN, tmp_path, base_url="http://127.0.0.1:9")


def test_bad_range_and_empty_symbols_are_rejected(tmp_path):
    with pytest.raises(IngestError, match="start 2024-02-01 is after end 2024-01-31"):
        fetch_ohlc(["AAPL"], D(2024, 2, 1), D(2024, 1, 31), tmp_path, base_url="http://127.0.0.1:9")
    with pytest.raises(IngestError, match="no symbols"):
        fetch_ohlc([], *JAN, tmp_path, base_url="http://127.0.0.1:9")


@pytest.mark.parametrize("url", [
    "http://192.0.2.1:25503", "https://10.0.0.5", "http://[2001:db8::1]:25503", "http://theta.example.com:25503",
    "http://127.0.0.1.example.com:25503", "http://localhost.example.com",
])
def test_a_terminal_url_off_this_machine_is_refused_before_any_request(tmp_path, opened, url):
    with pytest.raises(IngestError, match=r"is not on this machine .*Pass --allow-remote-terminal"):
        fetch_ohlc(["AAPL"], *JAN, tmp_path / "dest", base_url=url, backoff_s=0.0)
    assert opened.urls == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "127.5.5.5", "[::1]", "[::ffff:127.0.0.1]"])
def test_loopback_terminal_urls_are_requested(tmp_path, opened, host):
    with pytest.raises(IngestError, match="not reachable"):
        fetch_ohlc(["AAPL"], *JAN, tmp_path, base_url=f"http://{host}:25503", backoff_s=0.0)
    assert [url.split("/v3/")[0] for url in opened.urls] == [f"http://{host}:25503"]


def test_allow_remote_terminal_lets_a_remote_name_through_to_the_request(tmp_path, opened):
    with pytest.raises(IngestError, match=r"not reachable at http://theta\.example\.com:25503 "):
        fetch_ohlc(["AAPL"], *JAN, tmp_path, base_url="http://theta.example.com:25503/", backoff_s=0.0,
                   allow_remote_terminal=True)
    query = "symbol=AAPL&start_date=20240102&end_date=20240131&interval=1m&format=csv"
    assert opened.urls == [f"http://theta.example.com:25503/v3/stock/history/ohlc?{query}"]


@pytest.mark.parametrize("url", ["file://{tmp}/terminal", "ftp://127.0.0.1:9", "localhost:25503", "127.0.0.1:25503"])
def test_a_terminal_url_that_is_not_http_is_refused(tmp_path, url):
    """`file://` used to read this file into the store."""
    query = "symbol=AAPL&start_date=20240102&end_date=20240131&interval=1m&format=csv"
    served = tmp_path / f"terminal/v3/stock/history/ohlc?{query}"  # the file a file:// URL names
    served.parent.mkdir(parents=True)
    served.write_text(v3_csv("AAPL", *JAN))
    dest = tmp_path / "dest"
    with pytest.raises(IngestError, match=r"is not http:// or https://: pass --terminal http://127\.0\.0\.1:PORT"):
        fetch_ohlc(["AAPL"], *JAN, dest, base_url=url.format(tmp=tmp_path), retries=0)
    assert not dest.exists()


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_a_redirect_is_an_error_naming_the_url_and_is_not_followed(tmp_path, api):
    with FakeTerminal() as terminal:
        terminal.redirect["AAPL"] = f"{terminal.url}/elsewhere"
        with pytest.raises(IngestError) as raised:
            fetch(terminal, ["AAPL"], *JAN, tmp_path, api=api)
    message = str(raised.value)
    assert "HTTP 302 for AAPL 2024-01-02..2024-01-31" in message and f"(GET {terminal.url}/v" in message
    assert f"a redirect to {terminal.url}/elsewhere: redirects are not followed" in message
    assert len(terminal.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_v2_next_page_is_asked_of_the_same_terminal(tmp_path):
    """Only the path and query of a next_page are used: it cannot send requests elsewhere."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        elsewhere = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with FakeTerminal(page_size=10, next_page_base=elsewhere) as terminal:
        report = fetch(terminal, ["AAPL"], *JAN, tmp_path, api="v2", retries=0)
    assert (report.requests, len(terminal.requests)) == (9, 9)
    assert (tmp_path / "AAPL_20240102_20240131_1m.csv").read_bytes() == expected_v2("AAPL", *JAN)


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_an_answer_over_the_size_cap_stops_the_fetch_and_leaves_no_file(tmp_path, monkeypatch, api):
    monkeypatch.setattr(thetadata_fetch, "MAX_RESPONSE_BYTES", 1000)
    monkeypatch.setattr(thetadata_fetch, "_BLOCK_BYTES", 300)  # v3: some blocks are written before the cap
    dest = tmp_path / "dest"
    with FakeTerminal() as terminal, pytest.raises(IngestError) as raised:
        fetch(terminal, ["AAPL"], *JAN, dest, api=api)
    message = str(raised.value)
    assert f"the answer to GET {terminal.url}/v" in message and "is larger than 1,000 bytes" in message
    assert "Nothing of that month was kept" in message
    assert len(terminal.requests) == 1  # not retried
    assert list(dest.glob("*")) == []  # no partial or temporary file


class BlocksOnly(io.BytesIO):
    """A response body that refuses to be read whole."""

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and 0 < size <= 2**20, f"read({size}) of a whole answer"
        return super().read(size)


def test_an_answer_is_streamed_to_the_file_in_blocks(tmp_path, opened):
    body = v3_csv("AAPL", *JAN).encode() * 20  # several blocks
    opened.answers.append(BlocksOnly(body))
    report = fetch_ohlc(["AAPL"], *JAN, tmp_path, backoff_s=0.0)
    assert report.written == [tmp_path / "AAPL_20240102_20240131_1m.csv"]
    assert report.written[0].read_bytes() == body


def credentials_in(url: str) -> str:
    return url.replace("http://", "http://user:secret@")


@pytest.mark.parametrize("fault", [{"fail": {"AAPL": 403}}, {"drop": {"AAPL": 99}}, {"redirect": {"AAPL": "x"}},
                                   {"size": 1000}])
def test_a_password_in_the_terminal_url_is_never_shown(tmp_path, monkeypatch, fault):
    monkeypatch.setattr(thetadata_fetch, "MAX_RESPONSE_BYTES", fault.pop("size", 2**20))
    if "redirect" in fault:
        fault["redirect"] = {"AAPL": "http://user:secret@127.0.0.1:9/x"}
    with FakeTerminal(**fault) as terminal, pytest.raises(IngestError) as raised:
        fetch_ohlc(["AAPL"], *JAN, tmp_path, base_url=credentials_in(terminal.url), backoff_s=0.0, retries=1)
    message = str(raised.value)
    assert "secret" not in message
    assert credentials_in(terminal.url).replace("secret", "***") in message


def test_a_password_is_not_shown_when_the_terminal_is_unreachable(tmp_path, opened):
    with pytest.raises(IngestError, match=r"not reachable at http://user:\*\*\*@127\.0\.0\.1:25503 ") as raised:
        fetch_ohlc(["AAPL"], *JAN, tmp_path, base_url="http://user:secret@127.0.0.1:25503", backoff_s=0.0)
    assert "secret" not in str(raised.value)
    assert all("secret" not in url and "user" not in url for url in opened.urls)


def test_a_password_is_refused_in_a_url_off_this_machine_without_being_shown(tmp_path):
    with pytest.raises(IngestError, match=r"http://user:\*\*\*@192\.0\.2\.1 is not on this machine") as raised:
        fetch_ohlc(["AAPL"], *JAN, tmp_path, base_url="http://user:secret@192.0.2.1")
    assert "secret" not in str(raised.value)


def test_a_user_and_password_in_the_url_are_sent_as_basic_authentication(tmp_path):
    with FakeTerminal(page_size=40) as terminal:
        url = credentials_in(terminal.url).replace("secret", "s%40cret")
        fetch_ohlc(["AAPL"], *JAN, tmp_path, api="v2", base_url=url)
    token = base64.b64encode(b"user:s@cret").decode()
    assert terminal.authorization == [f"Basic {token}"] * 3  # every page
