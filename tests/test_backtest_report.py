"""The HTML backtest report (tapescan/backtest/report.py, issue 14 item 7): one self-contained file with every
section, hostile text escaped, empty runs rendered, written atomically with the umask's mode; and, in a real
headless Chromium (tests marked `browser`, skipped without one), no console error, no exception, no network
request, and every chart drawn.

Results are built by hand from the shared contract's columns (docs/spec/backtest.md, Outputs), and from a real
`tapescan.simulate()` run once that exists.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import stat
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import tapescan
from tapescan.backtest import report as report_module
from tapescan.backtest.config import StrategyConfig, builtin_strategies
from tapescan.backtest.report import (
    MONTHS,
    TRADE_ROWS_SHOWN,
    YEAR_COLUMN,
    ReportError,
    monthly_returns,
    write_report,
)
from tests import browser

pytest.importorskip("plotly", reason="the report extra (plotly) is not installed")

ET = "America/New_York"
SECTIONS = ("strategy", "statistics", "equity", "monthly-returns", "trade-returns", "exit-reasons", "symbol-pnl",
            "trades", "rejected-orders")
CHARTED_SECTIONS = ("equity", "monthly-returns", "trade-returns", "exit-reasons", "symbol-pnl")
HOSTILE = ('<script>alert("s")</script>', "</script><img src=x onerror=alert(1)>", 'A&B "q" \'x\'')
STAT_KEYS = ("total_return_pct", "cagr_pct", "sharpe", "sortino", "max_drawdown_pct", "calmar", "trades",
             "win_rate_pct", "profit_factor", "expectancy", "exposure_pct")
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "trailing_stop", "time", "close", "end")
INIT_CASH = 100_000.0


# ---------------------------------------------------------------------------------------------------- results


def equity_table(dates: list[dt.date], values: list[float], initial: float) -> pd.DataFrame:
    """The equity table of the spec from session-close equities: r_d = E_d / E_(d-1) - 1 with E_0 = initial,
    drawdown from the running peak of the daily values (E_0 included)."""
    previous = np.array([initial, *values[:-1]])
    peak = np.maximum.accumulate(np.array([initial, *values]))[1:]
    return pd.DataFrame({"date": dates, "equity": values, "cash": values,
                         "return_pct": 100.0 * (np.array(values) / previous - 1.0),
                         "drawdown_pct": 100.0 * (1.0 - np.array(values) / peak)})


def make_result(symbols: list[str], n_trades: int, sessions: int = 30, strategy: str = "sma_cross",
                rejected: int = 3, seed: int = 7) -> SimpleNamespace:
    """A plausible result with the contract's columns: trades over `symbols`, some rejected orders, daily
    equity over `sessions` weekdays from 2023-11-20 (so over a month and a year end). The config is a real
    StrategyConfig for a built-in `strategy`, else the dict of one (a hostile name no config accepts)."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2023-11-20", periods=sessions)
    entry = [pd.Timestamp(f"{days[i % sessions].date()} 09:31", tz=ET) + pd.Timedelta(minutes=int(m))
             for i, m in zip(range(n_trades), rng.integers(0, 300, n_trades))]
    entry_price = rng.uniform(10, 200, n_trades)
    exit_price = entry_price * (1 + rng.normal(0, 0.02, n_trades))
    shares = rng.integers(1, 500, n_trades).astype("int64")
    fee = np.full(n_trades, 1.0)
    pnl = (exit_price - entry_price) * shares - 2 * fee
    trades = pd.DataFrame({
        "symbol": [symbols[i % len(symbols)] for i in range(n_trades)], "direction": "long",
        "entry_bar": entry, "entry_price": entry_price,
        "exit_bar": [t + pd.Timedelta(minutes=30) for t in entry], "exit_price": exit_price,
        "shares": shares, "entry_fee": fee, "exit_fee": fee, "pnl": pnl,
        "return_pct": 100 * pnl / (entry_price * shares),
        "exit_reason": [EXIT_REASONS[i % len(EXIT_REASONS)] for i in range(n_trades)]})
    reasons = ["max_positions", "insufficient cash", "outside entry window"]
    orders = pd.DataFrame({
        "symbol": [symbols[i % len(symbols)] for i in range(rejected)],
        "bar": [pd.Timestamp(f"{days[i % sessions].date()} 10:00", tz=ET) for i in range(rejected)],
        "side": "buy", "shares": np.zeros(rejected, dtype="int64"), "price": np.nan, "fee": 0.0,
        "status": "rejected", "reason": [reasons[i % len(reasons)] for i in range(rejected)]})
    values = list(INIT_CASH * np.cumprod(1 + rng.normal(0.001, 0.01, sessions)))
    equity = equity_table([d.date() for d in days], values, INIT_CASH)
    stats = {key: float(rng.normal()) for key in STAT_KEYS} | {"trades": float(n_trades), "calmar": math.nan}
    symbol_stats = pd.DataFrame({key: rng.normal(size=len(symbols)) for key in STAT_KEYS},
                                index=pd.Index(symbols, name="symbol"))
    config = {"strategy": strategy, "params": {"fast": 10, "slow": 30}, "direction": "long",
              "stops": {"stop_loss_pct": 1.0, "take_profit_pct": None}}
    if strategy in builtin_strategies():
        config = StrategyConfig(**config)
    return SimpleNamespace(trades=trades, orders=orders, equity=equity, stats=stats, symbol_stats=symbol_stats,
                           config=config)


def empty_result() -> SimpleNamespace:
    """A run of one session without a trade or an order, every statistic undefined, no strategy file."""
    trades = pd.DataFrame({c: pd.Series(dtype=object) for c in
                           ("symbol", "direction", "entry_bar", "entry_price", "exit_bar", "exit_price", "shares",
                            "entry_fee", "exit_fee", "pnl", "return_pct", "exit_reason")})
    orders = pd.DataFrame({c: pd.Series(dtype=object) for c in
                           ("symbol", "bar", "side", "shares", "price", "fee", "status", "reason")})
    equity = equity_table([dt.date(2024, 3, 1)], [INIT_CASH], INIT_CASH)
    return SimpleNamespace(trades=trades, orders=orders, equity=equity, stats={k: math.nan for k in STAT_KEYS},
                           symbol_stats=pd.DataFrame(), config=None)


# ---------------------------------------------------------------------------------------------------- parsing


class PageParts(HTMLParser):
    """Tags, external references, section ids, chart specs and table rows of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.table_cells: list[str] = []
        self.row_values: dict[str, str] = {}  # header cell -> value cell of the rows that have both
        self._script: dict[str, str | None] | None = None
        self._text: list[str] = []
        self._cell: str | None = None
        self._row_header: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script, self._text = dict(attrs), []
        if tag == "tr":
            self._row_header = None
        self._cell = tag if tag in ("td", "th") else None

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None
        if tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text.append(data)
        elif self._cell == "td":
            self.table_cells.append(data)
            if self._row_header is not None:
                self.row_values[self._row_header] = data
        elif self._cell == "th":
            self._row_header = data

    def table_cells_after(self, heading: str) -> str | None:
        """The cell of a key/value row whose header cell reads `heading`."""
        return self.row_values.get(heading)

    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.tags if attrs.get("id")}

    def charts(self) -> dict[str, dict]:
        return {attrs["data-chart"]: json.loads(text) for attrs, text in self.scripts if attrs.get("data-chart")}

    def rows(self, table_class: str) -> int:
        """Body rows of the table with `table_class` (counted from the tags in order)."""
        inside, body, count = False, False, 0
        for tag, attrs in self.tags:
            if tag == "table":
                inside = table_class in (attrs.get("class") or "").split()
            elif inside and tag == "tbody":
                body = True
            elif inside and body and tag == "tr":
                count += 1
        return count


def parse(page: Path) -> PageParts:
    parts = PageParts()
    parts.feed(page.read_text(encoding="utf-8"))
    return parts


def external_references(parts: PageParts) -> list[str]:
    """src/href values of any element that would fetch something from a network (or any stylesheet link)."""
    found = []
    for tag, attrs in parts.tags:
        for name in ("src", "href", "data", "poster"):
            value = (attrs.get(name) or "").strip().lower()
            if value.startswith(("http:", "https:", "//", "ftp:")):
                found.append(f"<{tag} {name}={value}>")
        if tag == "link":
            found.append(f"<link {attrs}>")
    return found


# ---------------------------------------------------------------------------------------------------- tests


def test_monthly_returns_are_each_months_equity_change():
    # From the spec's daily equity: a month's return is E(last session of the month) over E(last session of
    # the month before) - 1, the first month measured from E_0, a year's likewise.
    dates = [dt.date(2023, 12, 28), dt.date(2023, 12, 29), dt.date(2024, 1, 2), dt.date(2024, 1, 31),
             dt.date(2024, 3, 1)]
    values = [101_000.0, 99_500.0, 102_000.0, 98_000.0, 103_000.0]
    table = monthly_returns(equity_table(dates, values, INIT_CASH))
    assert list(table.index) == [2023, 2024]
    assert list(table.columns) == [*MONTHS, YEAR_COLUMN]
    expected = {(2023, "Dec"): 99_500 / INIT_CASH, (2024, "Jan"): 98_000 / 99_500, (2024, "Mar"): 103_000 / 98_000,
                (2023, YEAR_COLUMN): 99_500 / INIT_CASH, (2024, YEAR_COLUMN): 103_000 / 99_500}
    for (year, month), ratio in expected.items():
        assert table.loc[year, month] == pytest.approx(100 * (ratio - 1), rel=1e-12)
    assert math.isnan(table.loc[2024, "Feb"]) and math.isnan(table.loc[2023, "Nov"])
    assert table.notna().sum().sum() == len(expected)


@pytest.mark.parametrize(("value", "digits", "text"), [
    (0.0, 2, "0.00"), (0, 0, "0"), (-0.001, 2, "0.00"), (-0.3, 0, "0"), (-0.006, 2, "-0.01"), (-1234.5, 2, "-1,234.50"),
    (12.0, 0, "12"), (math.nan, 2, report_module.MISSING), (None, 2, report_module.MISSING)])
def test_numbers_read_plainly(value, digits, text):
    assert report_module._number(digits)(value) == text
    assert report_module._number(digits, "%")(value) == (text if text == report_module.MISSING else text + "%")


def test_report_is_self_contained_with_every_section(tmp_path):
    result = make_result(["AAPL", "MSFT", "BRK.B"], n_trades=25)
    page = write_report(result, tmp_path / "report.html")
    assert page == tmp_path / "report.html"
    parts = parse(page)
    assert external_references(parts) == []
    assert set(SECTIONS) <= parts.ids()
    # plotly.js is inlined once, in the one script of the page that is neither a chart spec nor the drawing code
    text = page.read_text(encoding="utf-8")
    assert text.count("plotly.js v") == 1
    libraries = [body for attrs, body in parts.scripts if "data-chart" not in attrs and "Plotly.newPlot" not in body]
    assert len(libraries) == 1 and len(libraries[0]) > 1_000_000
    charts = parts.charts()
    assert len(charts) == len(CHARTED_SECTIONS)
    for chart_id, spec in charts.items():
        assert chart_id in parts.ids() and spec["data"], chart_id
    assert parts.rows("trades") == len(result.trades)
    # each trade's entry bar is shown at its ET start; each rejection reason is counted
    first = result.trades.sort_values("entry_bar").iloc[0]
    assert first["entry_bar"].strftime("%Y-%m-%d %H:%M") in parts.table_cells
    for reason in result.orders["reason"]:
        assert reason in parts.table_cells
    # the settings as a strategy file has them, unset ones left out
    for setting, value in (("strategy", "sma_cross"), ("params.slow", "30"), ("stops.stop_loss_pct", "1.0"),
                           ("account.init_cash", "100000.0"), ("session.flat_at_close", "true")):
        assert parts.table_cells_after(setting) == value, setting
    assert "stops.take_profit_pct" not in text


def test_hostile_text_is_escaped_everywhere(tmp_path):
    result = make_result(list(HOSTILE), n_trades=12, strategy=HOSTILE[1])
    result.orders["reason"] = HOSTILE[0]
    page = write_report(result, tmp_path / "report.html")
    text = page.read_text(encoding="utf-8")
    for hostile in HOSTILE:
        assert hostile not in text
    parts = parse(page)
    tags = {tag for tag, _ in parts.tags}
    assert "img" not in tags
    assert not [attrs for _, attrs in parts.tags if any(name.startswith("on") for name in attrs)]
    # shown as text: table cells read back as the symbols themselves, chart labels as their escaped form
    for hostile in HOSTILE:
        assert hostile in parts.table_cells
    labels = json.dumps(list(parts.charts().values()))
    assert html.escape(HOSTILE[1]) in labels
    assert f"<title>Backtest: {html.escape(HOSTILE[1])}</title>" in text


def test_empty_result_renders_every_section(tmp_path):
    page = write_report(empty_result(), tmp_path / "empty.html")
    parts = parse(page)
    assert set(SECTIONS) <= parts.ids()
    assert external_references(parts) == []
    text = page.read_text(encoding="utf-8")
    assert "No trades." in text and "No order was rejected." in text and "tapescan.simulate()" in text
    assert parts.rows("trades") == 0
    # one session still has an equity curve and a monthly return; every undefined statistic reads as such
    charts = parts.charts()
    assert len(charts) == 2
    # one point gets days either side and a value range, not plotly's zoom to sub-millisecond ticks
    assert charts["chart-1"]["layout"]["yaxis"]["range"] == pytest.approx([0.99 * INIT_CASH, 1.01 * INIT_CASH])
    low, high = (pd.Timestamp(t) for t in charts["chart-1"]["layout"]["xaxis"]["range"])
    assert low < pd.Timestamp("2024-03-01") < high and high - low >= pd.Timedelta(days=2)
    assert parts.table_cells.count(report_module.MISSING) >= len(STAT_KEYS)
    assert "nan" not in " ".join(parts.table_cells).lower()


def test_long_runs_are_cut_and_say_so(tmp_path):
    symbols = [f"S{i:03d}" for i in range(50)]
    result = make_result(symbols, n_trades=TRADE_ROWS_SHOWN + 5)
    page = write_report(result, tmp_path / "report.html")
    parts = parse(page)
    assert parts.rows("trades") == TRADE_ROWS_SHOWN
    text = page.read_text(encoding="utf-8")
    assert f"Showing the first {TRADE_ROWS_SHOWN:,} of {TRADE_ROWS_SHOWN + 5:,} trades" in text
    symbol_chart = parts.charts()["chart-5"]["data"][0]
    assert len(symbol_chart["y"]) == 2 * report_module.SYMBOLS_CHARTED
    pnl = result.trades.groupby("symbol")["pnl"].sum()
    assert symbol_chart["y"][0] == pnl.idxmax() and symbol_chart["y"][-1] == pnl.idxmin()


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_file_mode_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        page = write_report(empty_result(), tmp_path / "report.html")
    finally:
        os.umask(old)
    assert stat.S_IMODE(page.stat().st_mode) == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_file_and_nothing_else(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("old report")

    def refuse(src, dst):
        raise OSError("rename refused")

    monkeypatch.setattr("tapescan.fsio.os.replace", refuse)
    with pytest.raises(OSError, match="rename refused"):
        write_report(make_result(["AAPL"], n_trades=3), target)
    assert target.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_result_missing_a_column_is_named_and_nothing_is_written(tmp_path):
    result = make_result(["AAPL"], n_trades=3)
    result.trades = result.trades.drop(columns=["exit_reason"])
    with pytest.raises(ReportError, match="result.trades lacks the column.*exit_reason"):
        write_report(result, tmp_path / "report.html")
    assert list(tmp_path.iterdir()) == []


def test_without_plotly_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    for name in ("plotly", "plotly.graph_objects", "plotly.offline", "plotly.subplots"):
        monkeypatch.setitem(__import__("sys").modules, name, None)
    with pytest.raises(ReportError, match=r"pip install 'tapescan\[report\]'"):
        write_report(empty_result(), tmp_path / "report.html")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------------- simulate


def simulated_result():
    """A real run of tapescan.simulate on two symbols over two sessions (skipped until it exists)."""
    if not hasattr(tapescan, "simulate"):
        pytest.skip("tapescan.simulate is not built yet")
    frames = []
    for symbol, drift in (("AAA", 0.05), ("BBB", -0.04)):
        for day in ("2024-03-04", "2024-03-05"):
            ts = pd.date_range(f"{day} 09:30", periods=60, freq="min", tz=ET)
            close = 50 + drift * np.arange(60) + np.sin(np.arange(60) / 3)
            frames.append(pd.DataFrame({"symbol": symbol, "ts": ts, "open": close - 0.01, "high": close + 0.2,
                                        "low": close - 0.2, "close": close, "volume": 1_000.0}))
    bars = pd.concat(frames, ignore_index=True)
    minute = bars["ts"].dt.minute
    return tapescan.simulate(bars, (minute % 10 == 0).to_numpy(), (minute % 10 == 5).to_numpy(),
                             shares=10, stop_loss_pct=0.5)


def test_a_simulated_run_reports(tmp_path):
    result = simulated_result()
    assert len(result.trades) > 0
    page = write_report(result, tmp_path / "report.html")
    parts = parse(page)
    assert set(SECTIONS) <= parts.ids()
    assert parts.rows("trades") == len(result.trades)
    assert external_references(parts) == []
    if hasattr(result, "report"):
        assert parse(result.report(tmp_path / "again.html")).rows("trades") == len(result.trades)


# ---------------------------------------------------------------------------------------------------- browser

needs_chromium = pytest.mark.skipif(browser.chromium() is None, reason="no Chromium on PATH (apt-get install "
                                                                       "chromium)")
INJECTED = "document.querySelectorAll('img, iframe, object, embed, [onerror], [onload]').length"


def open_in_chromium(page: Path, **options) -> browser.PageVisit:
    visit = browser.visit(page, {"charts": "document.querySelectorAll('script[data-chart]').length",
                                 "drawn": "Array.from(document.querySelectorAll('.chart')).filter("
                                          "c => c.querySelector('svg.main-svg')).length",
                                 "injected": INJECTED, "title": "document.title"},
                          ready="document.readyState === 'complete'", **options)
    return visit


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("symbols", [["AAPL", "MSFT", "BRK.B"], list(HOSTILE)], ids=["plain", "hostile"])
def test_report_opens_cleanly_in_chromium(tmp_path, symbols):
    page = write_report(make_result(symbols, n_trades=40, strategy=symbols[0]), tmp_path / "report.html")
    visit = open_in_chromium(page)
    assert visit.problems == []
    assert [url for url in visit.requests if not url.startswith("data:")] == [page.resolve().as_uri()]
    assert visit.values["charts"] == len(CHARTED_SECTIONS)
    assert visit.values["drawn"] == len(CHARTED_SECTIONS)  # each chart's <div> holds plotly's drawn svg
    assert visit.values["injected"] == 0
    assert visit.values["title"] == f"Backtest: {symbols[0]}"


@pytest.mark.browser
@needs_chromium
def test_empty_report_opens_cleanly_in_chromium(tmp_path):
    page = write_report(empty_result(), tmp_path / "empty.html")
    visit = open_in_chromium(page, screenshot=True)
    assert visit.problems == []
    assert visit.values["drawn"] == visit.values["charts"] == 2
    assert visit.screenshot is not None and visit.screenshot.startswith(b"\x89PNG")


@pytest.mark.browser
@needs_chromium
def test_the_browser_check_sees_errors(tmp_path):
    # the check itself can fail: a page with a console error, an exception, a dialog and a remote script
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>console.error('boom'); alert('hi');</script>"
                    "<script src='http://example.invalid/x.js'></script>"
                    "<script>undefinedFunction();</script></body></html>")
    visit = browser.visit(page, ready="document.readyState === 'complete'")
    problems = "\n".join(visit.problems)
    for expected in ("console error: boom", "uncaught exception: ReferenceError", "dialog opened: alert: hi",
                     "network request: http://example.invalid/x.js"):
        assert expected in problems
