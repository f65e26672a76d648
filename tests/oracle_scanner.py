"""A slow, obvious scanner written only from docs/spec/metrics.md ("Scanner semantics"), never from the engine.

The real engine (tapescan.scanner.engine) is compared against this row for row. Everything here follows the
spec as literally as possible; the daily and trailing pieces reuse the oracles of tests/oracles.py.

``oracle_scan(bars, config, day, time, store_symbols, store_root=None)`` is one scan at (D, T);
``oracle_sweep(bars, config, start, end, store_symbols, first_hit=False, store_root=None, store_sessions=None)``
is the concatenation of scans over every session and scan time of a range. Both return the columns of
docs/spec/metrics.md "Scanner semantics" in order; see :data:`COLUMNS` and :data:`DTYPES`.

Decisions taken where docs/spec/metrics.md is silent (all written down in the helper's report):

- ``exclude_symbols`` also applies when the universe is the whole store (neither symbols nor symbols_group).
- change_pct is undefined when prev_close is 0, range_pct when session_low is 0 (a division by zero, like
  rel_volume's zero denominator); prices are never 0 in practice.
- A filter block with neither bound still fails an undefined value ("an undefined value fails the filter").
- Bars are regular-session bars by the NYSE calendar (open(D) <= start < close(D)); when the frame has an
  ``extended`` column its True rows are dropped as well.
"""

from __future__ import annotations

import datetime
import functools
import math

import numpy as np
import pandas as pd

from tapescan.scanner.config import ScannerConfig
from tapescan.scanner.groups import group_members
from tests import oracles

ET = "America/New_York"
ONE_MINUTE = pd.Timedelta(minutes=1)
DEFAULT_DAYS = 10
COLUMNS = [
    "date", "time", "symbol", "price", "change_pct", "range_pct", "session_volume",
    "avg_volume", "avg_price", "std_pct", "beta", "correlation", "rel_volume",
]
FLOAT_COLUMNS = [c for c in COLUMNS if c not in ("date", "time", "symbol", "session_volume")]
DTYPES = {"date": object, "time": "str", "symbol": "str", "session_volume": "Int64"} | dict.fromkeys(
    FLOAT_COLUMNS, "float64"
)
TRAILING = ("avg_volume", "avg_price", "std_pct", "beta", "correlation")


# ---------------------------------------------------------------------------------------------- calendar


@functools.cache
def nyse_sessions(start: datetime.date, end: datetime.date) -> tuple[datetime.date, ...]:
    """docs/spec/metrics.md "Time and sessions": the NYSE sessions from `start` to `end` inclusive (pandas-market-calendars)."""
    return tuple(stamp.date() for stamp in oracles.NYSE.schedule(start, end).index)


@functools.cache
def sessions_before(day: datetime.date, n: int) -> tuple[datetime.date, ...]:
    """The `n` calendar sessions immediately before `day` (excluded), oldest first: W_n(day)."""
    span = 2 * n + 14
    while True:
        found = tuple(d for d in nyse_sessions(day - datetime.timedelta(days=span), day) if d < day)
        if len(found) >= n:
            return found[len(found) - n :]
        span *= 2


@functools.cache
def session_close(day: datetime.date) -> pd.Timestamp:
    """The regular session's close on `day` (ET); ValueError when `day` is not a session."""
    schedule = oracles.NYSE.schedule(day, day)
    if schedule.empty:
        raise ValueError(f"{day} is not an NYSE session")
    return schedule["market_close"].iloc[0].tz_convert(ET)


@functools.cache
def at(day: datetime.date, clock: datetime.time) -> pd.Timestamp:
    """The instant `clock` (ET) on `day`."""
    return pd.Timestamp.combine(day, clock).tz_localize(ET)


# ---------------------------------------------------------------------------------------------- bars


def regular_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """docs/spec/metrics.md "Time and sessions": the regular-session bars (open(D) <= start < close(D), D the bar's ET
    date), the same rule as oracles.regular_session_bars, applied per date; `extended` True rows are dropped.

    Adds `date` (ET session date) and `available` (start + 1 minute), sorted by (symbol, ts).
    """
    frame = bars
    if "extended" in frame.columns:
        frame = frame[~frame["extended"].astype(bool)]
    frame = frame.assign(ts=frame["ts"].dt.tz_convert(ET))
    frame = frame.assign(date=frame["ts"].dt.date)
    keep = pd.Series(False, index=frame.index)
    if not frame.empty:
        schedule = oracles.NYSE.schedule(min(frame["date"]), max(frame["date"]))
        for stamp, row in schedule.iterrows():
            on_day = frame["date"] == stamp.date()
            keep |= on_day & (frame["ts"] >= row["market_open"]) & (frame["ts"] < row["market_close"])
    regular = frame[keep].assign(available=lambda f: f["ts"] + ONE_MINUTE)
    return regular.sort_values(["symbol", "ts"]).reset_index(drop=True)


def daily_table(regular: pd.DataFrame) -> pd.DataFrame:
    """docs/spec/metrics.md "Daily values" per (date, symbol) present: open, high, low, close, volume (what
    oracles.trailing_metrics reads), from already regular, (symbol, ts)-sorted bars."""
    grouped = regular.groupby(["date", "symbol"], sort=True)
    return grouped.agg(
        open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last"),
        volume=("volume", "sum"),
    ).reset_index()


def tod_avg_volume(window_bars: list[pd.DataFrame], window: tuple[datetime.date, ...],
                   clocks: list[datetime.time]) -> list[float]:
    """docs/spec/metrics.md tod_avg_volume(N) as of each clock time: the mean over the N sessions of `window` of the
    volume of each one's regular bars (`window_bars`, one frame per session) whose available time is <= that
    clock time on that session; NaN when a session of the window is not present (no bar).

    The same rule as oracles.tod_avg_volume (which tests/test_oracle_scanner.py checks it against), on bars
    already filtered to the regular session, with numpy sums so that a sweep over every minute stays fast.
    """
    if any(bars.empty for bars in window_bars):
        return [math.nan] * len(clocks)
    totals = []
    for session, bars in zip(window, window_bars):
        available = pd.DatetimeIndex(bars["available"])
        volume = bars["volume"].to_numpy(dtype=np.int64)
        totals.append([int(volume[available <= at(session, clock)].sum()) for clock in clocks])
    return [sum(column) / len(window) for column in zip(*totals)]


# ---------------------------------------------------------------------------------------------- universe


def universe(config: ScannerConfig, day: datetime.date, store_symbols: list[str],
             store_root: str | None = None) -> list[str]:
    """docs/spec/metrics.md "Scanner semantics": symbols ∪ members of every group − exclude_symbols (the whole store when
    neither symbols nor symbols_group is given), kept to the symbols the store holds; sorted."""
    if config.symbols or config.symbols_group:
        wanted = set(config.symbols)
        as_of = day if config.point_in_time else None
        for group in config.symbols_group:
            wanted |= set(group_members(group, as_of=as_of, store_root=store_root))
    else:
        wanted = set(store_symbols)
    wanted -= set(config.exclude_symbols)
    return sorted(wanted & set(store_symbols))


def window_days(config: ScannerConfig, metric: str) -> int:
    """The window N of a trailing metric: its block's days, or 10 when the block is absent (docs/spec/metrics.md)."""
    bounds = config.filters().get(metric)
    return bounds.days if bounds is not None and bounds.days is not None else DEFAULT_DAYS


def passes(value: float, low: float | None, high: float | None) -> bool:
    """docs/spec/metrics.md "Scanner semantics": min <= value <= max, both inclusive; None unbounded; undefined fails."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return False
    return (low is None or low <= value) and (high is None or value <= high)


# ---------------------------------------------------------------------------------------------- market


class Market:
    """The bars of one oracle call, prepared once (regular-session bars, daily values), with memoised
    per-(day, symbol) values.

    `clocks` maps a session to the scan times that oracle_sweep will ask for, so that tod_avg_volume is
    computed for all of them in one pass.
    """

    def __init__(self, bars: pd.DataFrame) -> None:
        self.regular = regular_bars(bars)
        self.daily = daily_table(self.regular)
        self.clocks: dict[datetime.date, list[datetime.time]] = {}
        self._closes = dict(zip(zip(self.daily["date"], self.daily["symbol"]), self.daily["close"].astype(float)))
        self._by_day: dict[datetime.date, dict[str, pd.DataFrame]] = {}
        self._trailing: dict[tuple, dict[str, float]] = {}
        self._tod: dict[tuple, dict[datetime.time, float]] = {}

    def session_bars(self, day: datetime.date, symbol: str) -> pd.DataFrame:
        """Regular-session bars of `symbol` on `day`, oldest first."""
        if day not in self._by_day:
            self._by_day[day] = {s: g for s, g in self.regular[self.regular["date"] == day].groupby("symbol")}
        return self._by_day[day].get(symbol, self.regular.iloc[0:0])

    def close_on(self, day: datetime.date, symbol: str) -> float:
        """close_d of `symbol` on session `day`; NaN when the session is not present for it."""
        return self._closes.get((day, symbol), math.nan)

    def trailing(self, day: datetime.date, symbol: str, days: int, benchmark: str) -> dict[str, float]:
        """docs/spec/metrics.md "Trailing-window metrics" over W_days(day), by oracles.trailing_metrics."""
        key = (day, symbol, days, benchmark)
        if key not in self._trailing:
            calendar_sessions = [*sessions_before(day, days + 1), day]
            self._trailing[key] = oracles.trailing_metrics(self.daily, calendar_sessions, day, symbol, days, benchmark)
        return self._trailing[key]

    def tod_avg_volume(self, day: datetime.date, symbol: str, days: int, clock: datetime.time) -> float:
        """docs/spec/metrics.md tod_avg_volume(days) as of `clock` on `day` (see :func:`tod_avg_volume`), memoised for
        every scan time of `day` at once."""
        key = (day, symbol, days)
        if key not in self._tod or clock not in self._tod[key]:
            clocks = sorted({clock, *self.clocks.get(day, [])})
            window = [self.session_bars(session, symbol) for session in sessions_before(day, days)]
            self._tod[key] = dict(zip(clocks, tod_avg_volume(window, sessions_before(day, days), clocks)))
        return self._tod[key][clock]


# ---------------------------------------------------------------------------------------------- one scan


def intraday(market: Market, day: datetime.date, clock: datetime.time, symbol: str) -> dict[str, float] | None:
    """docs/spec/metrics.md "Intraday metrics" from the bars of `day` visible at `clock` (available time <= T);
    None when no bar is visible."""
    bars = market.session_bars(day, symbol)
    return oracles.intraday_of(bars[bars["available"] <= at(day, clock)])


def symbol_row(market: Market, config: ScannerConfig, day: datetime.date, clock: datetime.time,
               symbol: str) -> dict:
    """Every column of one scan row of `symbol` at (day, clock); undefined values are NaN / pd.NA."""
    row: dict = {"date": day, "time": clock.strftime("%H:%M"), "symbol": symbol}
    for metric in TRAILING:
        row[metric] = market.trailing(day, symbol, window_days(config, metric), config.benchmark)[metric]
    now = intraday(market, day, clock, symbol)
    if now is None:
        row.update(price=math.nan, change_pct=math.nan, range_pct=math.nan, session_volume=pd.NA,
                   rel_volume=math.nan)
        return row
    prev_close = market.close_on(sessions_before(day, 1)[0], symbol)
    low = now["session_low"]
    tod = market.tod_avg_volume(day, symbol, window_days(config, "rel_volume"), clock)
    row.update(
        price=now["price"],
        change_pct=100 * (now["price"] / prev_close - 1) if prev_close and not math.isnan(prev_close) else math.nan,
        range_pct=100 * (now["session_high"] - low) / low if low else math.nan,
        session_volume=now["session_volume"],
        rel_volume=now["session_volume"] / tod if tod and not math.isnan(tod) else math.nan,
    )
    return row


def passes_all(row: dict, config: ScannerConfig) -> bool:
    """Whether a row passes every filter block present in `config` (absent blocks filter nothing)."""
    return all(passes(row[metric], bounds.min, bounds.max) for metric, bounds in config.filters().items())


def result_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as a frame with exactly COLUMNS and DTYPES (also when empty)."""
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for name in FLOAT_COLUMNS:
        frame[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
    frame["session_volume"] = pd.array(list(frame["session_volume"]), dtype="Int64")
    return frame.astype(DTYPES).reset_index(drop=True)


def scan_rows(market: Market, config: ScannerConfig, day: datetime.date, clock: datetime.time,
              store_symbols: list[str], store_root: str | None = None) -> list[dict]:
    """The rows of one scan at (day, clock): each universe symbol that passes every filter, sorted by symbol."""
    session_close(day)  # a scan is on a session
    rows = (symbol_row(market, config, day, clock, s) for s in universe(config, day, store_symbols, store_root))
    return [row for row in rows if passes_all(row, config)]


def oracle_scan(bars: pd.DataFrame, config: ScannerConfig, day: datetime.date, time: datetime.time,
                store_symbols: list[str], store_root: str | None = None) -> pd.DataFrame:
    """docs/spec/metrics.md "Scanner semantics": one scan at session `day`, time `time` (ET)."""
    return result_frame(scan_rows(Market(bars), config, day, time, store_symbols, store_root))


# ---------------------------------------------------------------------------------------------- sweep


def scan_times(config: ScannerConfig, day: datetime.date) -> list[datetime.time]:
    """start_time, start_time + interval, ... up to end_time inclusive, never past `day`'s close."""
    close = session_close(day)
    step = pd.Timedelta(minutes=config.interval_minutes)
    moment, last = at(day, config.start_time), at(day, config.end_time)
    times = []
    while moment <= last and moment <= close:
        times.append(moment.time())
        moment += step
    return times


def oracle_sweep(bars: pd.DataFrame, config: ScannerConfig, start: datetime.date, end: datetime.date,
                 store_symbols: list[str], first_hit: bool = False, store_root: str | None = None,
                 store_sessions: list[datetime.date] | None = None) -> pd.DataFrame:
    """docs/spec/metrics.md "Scanner semantics": the scans at every scan time of every session D in [start, end] (only
    those in `store_sessions` when given), ordered by (date, time, symbol); with `first_hit`, a (D, symbol)
    pair only at its first passing time."""
    market = Market(bars)
    stored = None if store_sessions is None else set(store_sessions)
    days = [d for d in nyse_sessions(start, end) if stored is None or d in stored]
    rows: list[dict] = []
    for day in days:
        market.clocks[day] = scan_times(config, day)
        seen: set[str] = set()
        for clock in market.clocks[day]:
            for row in scan_rows(market, config, day, clock, store_symbols, store_root):
                if first_hit and row["symbol"] in seen:
                    continue
                seen.add(row["symbol"])
                rows.append(row)
    return result_frame(rows)
