"""The Data Manager: the one place the rest of tapescan asks for data, always as of "now".

"Now" comes from the run's clock (tapescan/clock.py): a :class:`ReplayClock` that a backtest moves, or a
:class:`LiveClock` in live mode (the feed's time, or the machine's). Whatever the manager returns respects
visibility (docs/spec/metrics.md "Time and sessions"): a bar is visible once its available time (its end; for a derived bar min(bucket end, close)) is at or before now, so no
caller can look ahead by accident. Metrics follow docs/spec/metrics.md and come from the analytics layer.

Strategies ask on every clock advance, so nothing is read twice: today's bars come from the run's
session_data when it holds the symbol's whole regular session (what the run has delivered, the live feed
included), else from today's panel. Session panels (all symbols, host memory, 41 bytes per symbol and minute)
stay resident in a window as long as the longest time-of-day window asked for, plus today: moving forward
day by day, each session is read from the store once, and memory does not grow with the length of a run.
The time-of-day averages are kept for the day and window asked, the daily values of a symbol's trailing window
likewise (read once per day and window), and `bars` keeps the most recent symbol-days it built.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.analytics.bars import BAR_COLUMNS, available_at, derived_panel, panel_frame
from tapescan.analytics.drivers import Backend, compute_for
from tapescan.analytics.volume import clock_minutes, tod_average_volume_before
from tapescan.analytics.window import SessionWindow
from tapescan.calendar import ONE_MINUTE
from tapescan.clock import Clock, LiveClock
from tapescan.errors import TapescanError
from tapescan.store import SessionPanel, Store

#: Symbol-days of bars that `DataManager.bars` keeps (a few hundred rows each): a strategy asking for the
#: same recent days on every advance builds each once.
KEPT_SYMBOL_DAYS = 4096


class HeldSession(Protocol):
    """What the Data Manager reads of a run's session_data: the session, its window and its 1-minute bars
    [symbol x window minute]."""

    date: dt.date
    start: pd.Timestamp
    end: pd.Timestamp
    symbols: list[str]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    mask: np.ndarray


class DataManager:
    """Bars and metrics of a store, as of the clock's now."""

    def __init__(self, store: Store, clock: Clock | None = None, backend: Backend = "auto",
                 session_data: Callable[[], HeldSession | None] | None = None) -> None:
        self.store = store
        self.clock = clock or LiveClock()
        self.compute = compute_for(backend)  # where derived bars are computed, resolved once
        self._session_data = session_data  # the run's session_data as it is now (None outside a run)
        self._tod: dict[tuple[dt.date, int], np.ndarray] = {}  # (today, N) -> tod averages [symbol x minute]
        self._dailies: dict[tuple[str, dt.date, dt.date], pd.DataFrame | None] = {}  # (symbol, window) -> rows
        self._day_bars = functools.lru_cache(maxsize=KEPT_SYMBOL_DAYS)(self._build_day_bars)
        self._symbol_day = functools.lru_cache(maxsize=KEPT_SYMBOL_DAYS)(self._read_symbol_day)

    @functools.cached_property
    def _resident(self) -> SessionWindow:
        """The session panels in use, all symbols, on the host: today's (its bars are taken from it) and the
        longest time-of-day window asked for (`hold_at_least` grows it), earliest forgotten first."""
        return SessionWindow(self.store, 1, None, "cpu")

    @functools.cached_property
    def _rows(self) -> dict[str, int]:
        """Symbol -> row of the resident panels."""
        return {symbol: row for row, symbol in enumerate(self._resident.symbols)}

    @property
    def mode(self) -> str:
        """"backtest" or "live", as the clock says."""
        return self.clock.mode

    # --- time and the calendar --------------------------------------------------------------------------

    def now(self) -> pd.Timestamp:
        return self.clock.now()

    def today(self) -> dt.date:
        return self.now().date()

    def is_market_open(self) -> bool:
        return calendar.is_open(self.now())

    def holiday(self, day: calendar.DateLike | None = None) -> str | None:
        """The market holiday's name on `day` (default today), or None."""
        return calendar.holiday_name(self.today() if day is None else day)

    def session_times(self, day: calendar.DateLike | None = None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The regular session's (open, close) on `day` (default today; early closes included), or None."""
        day = self.today() if day is None else calendar.to_date(day)
        return calendar.session_bounds(day) if calendar.is_session(day) else None

    # --- bars -----------------------------------------------------------------------------------------

    def bars(self, symbol: str, start: calendar.DateLike, end: calendar.DateLike, minutes: int = 1) -> pd.DataFrame:
        """`minutes`-minute bars of one symbol over [start, end] (regular session), the visible ones only."""
        if minutes < 1:
            raise TapescanError(f"a derived bar spans at least 1 minute (got {minutes}).")
        first, last = calendar.to_date(start), calendar.to_date(end)
        days = [day for day in self.store.sessions() if first <= day <= last and day <= self.today()]
        frames = [self._day_bars(symbol.upper(), day, minutes) for day in days]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=BAR_COLUMNS)
        available = available_at(frame["ts"], minutes) if len(frame) else frame["ts"]
        return frame[np.asarray(available <= self.now())].reset_index(drop=True)

    def _build_day_bars(self, symbol: str, day: dt.date, minutes: int) -> pd.DataFrame:
        """`symbol`'s `minutes`-minute bars of the stored session `day`, all of them (visible or not)."""
        panel = self._symbol_day(symbol, day)
        bars = panel if minutes == 1 else derived_panel(panel, minutes, self.compute)
        return panel_frame(bars)[BAR_COLUMNS]

    def _read_symbol_day(self, symbol: str, day: dt.date) -> SessionPanel:
        """`symbol`'s 1-minute panel of the stored session `day`: from the resident window for today and the
        days it holds (today's is read for every symbol, as today's metrics need it), else read for `symbol`
        alone."""
        if symbol in self._rows and (day == self.today() or day in self._resident.resident):
            return self._resident.panel(day).rows([self._rows[symbol]])
        return self.store.read_session(day, [symbol])

    def new_bars(self, symbols: Sequence[str]) -> BarStream:
        """A stream of today's 1-minute bars of `symbols`, handing each out once as it becomes visible."""
        return BarStream(self, [s.upper() for s in symbols])

    # --- today, as of now -------------------------------------------------------------------------------

    def _today_bars(self, symbol: str) -> pd.DataFrame:
        """`symbol`'s 1-minute bars of today visible now, from session_data or today's resident panel."""
        symbol, now = symbol.upper(), self.now()
        today = now.date()
        if not calendar.is_session(today):
            return pd.DataFrame(columns=BAR_COLUMNS)
        held = self._session_data() if self._session_data is not None else None
        if held is not None and held.date == today and symbol in held.symbols and \
                (held.start, held.end) == calendar.session_bounds(today):
            stamps = pd.date_range(held.start, periods=held.mask.shape[1], freq=ONE_MINUTE)
            return _visible(held, held.symbols.index(symbol), stamps, now)
        if symbol not in self._rows or not self._stored(today):
            return pd.DataFrame(columns=BAR_COLUMNS)
        panel = self._resident.panel(today)
        return _visible(panel, self._rows[symbol], panel.minutes, now)

    def _stored(self, day: dt.date) -> bool:
        """Does the store hold the session `day` (resident already, or in the manifest)?"""
        return day in self._resident.resident or day in self.store.sessions()

    def session_volume(self, symbol: str) -> int | None:
        """Volume of today's visible bars; None while none is visible."""
        bars = self._today_bars(symbol)
        return int(bars["volume"].sum()) if len(bars) else None

    def day_high_low(self, symbol: str) -> tuple[float, float] | None:
        """Today's high and low so far (visible bars); None while none is visible."""
        bars = self._today_bars(symbol)
        return (float(bars["high"].max()), float(bars["low"].min())) if len(bars) else None

    def last_price(self, symbol: str) -> float | None:
        """Close of the last visible bar today; None while none is visible."""
        bars = self._today_bars(symbol)
        return float(bars["close"].iloc[-1]) if len(bars) else None

    # --- trailing windows (sessions before today) -------------------------------------------------------

    def _window(self, days: int | None = None, years: int | None = None) -> list[dt.date]:
        """W_N(today): the N sessions before today, or the sessions in [today - N years, today)."""
        if (days is None) == (years is None):
            raise TapescanError("give either a number of sessions (days=) or of years (years=).")
        if days is not None:
            return calendar.sessions_before(self.today(), days)
        first = self.today() - pd.DateOffset(years=years)
        return [d for d in calendar.sessions(first.date(), self.today())["date"] if d < self.today()]

    def _daily(self, symbol: str, window: list[dt.date]) -> pd.DataFrame | None:
        """The window's daily values of `symbol`, or None when it misses any session (undefined); read once per
        symbol and window, and kept while today's windows end where this one does."""
        if not window:
            return None
        key = (symbol.upper(), window[0], window[-1])
        if key not in self._dailies:
            self._dailies = {k: v for k, v in self._dailies.items() if k[2] == window[-1]}
            daily = self.store.read_daily(window[0], window[-1], [key[0]])
            self._dailies[key] = daily if len(daily) == len(window) else None
        return self._dailies[key]

    def average_volume(self, symbol: str, days: int) -> float:
        """Mean daily volume over the N full sessions before today; NaN when one is missing."""
        daily = self._daily(symbol, self._window(days=days))
        return float(daily["volume"].mean()) if daily is not None else float("nan")

    def historical_high_low(self, symbol: str, days: int | None = None, years: int | None = None) -> tuple[float, float]:
        """Highest high and lowest low over the N sessions (or N years) before today; NaN when incomplete."""
        daily = self._daily(symbol, self._window(days=days, years=years))
        if daily is None:
            return float("nan"), float("nan")
        return float(daily["high"].max()), float(daily["low"].min())

    def tod_average_volume(self, symbol: str, days: int) -> float:
        """Mean over the N sessions before today of their volume known by now's clock time; NaN when a
        session is missing, before 09:31 or after 16:00 (outside the clock grid)."""
        minute = clock_minutes(self.today(), pd.DatetimeIndex([self.now()]))[0]
        if minute < 0:
            return float("nan")
        key = (self.today(), days)
        if key not in self._tod:
            self._tod = {k: v for k, v in self._tod.items() if k[0] == key[0]}  # only today's are asked again
            self._resident.hold_at_least(days + 1)  # the window and today
            self._tod[key] = tod_average_volume_before(self._resident, *key)
        row = self._rows.get(symbol.upper())
        return float("nan") if row is None else float(self._tod[key][row, minute])


def _visible(bars: HeldSession | SessionPanel, row: int, stamps: pd.DatetimeIndex, now: pd.Timestamp) -> pd.DataFrame:
    """Row `row`'s bars (`stamps`: the panel's minutes) whose available time (start + 1 minute) is at or
    before `now`, oldest first."""
    have = bars.mask[row] & np.asarray(stamps + ONE_MINUTE <= now)
    return pd.DataFrame({"ts": stamps[have], "open": bars.open[row, have], "high": bars.high[row, have],
                         "low": bars.low[row, have], "close": bars.close[row, have],
                         "volume": bars.volume[row, have]})


class BarStream:
    """Hands out today's 1-minute bars of some symbols once each, in time order, as they become visible."""

    def __init__(self, manager: DataManager, symbols: list[str]) -> None:
        self.manager = manager
        self.symbols = symbols
        self._handed = pd.Timestamp.min.tz_localize(calendar.ET)

    def poll(self) -> pd.DataFrame:
        """The bars that became visible since the last poll (columns symbol, ts, open, high, low, close, volume)."""
        frames = [self.manager._today_bars(symbol).assign(symbol=symbol) for symbol in self.symbols]
        bars = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["symbol", *BAR_COLUMNS])
        fresh = bars[bars["ts"] > self._handed].sort_values(["ts", "symbol"], ignore_index=True)
        if len(fresh):
            self._handed = fresh["ts"].max()
        return fresh[["symbol", *BAR_COLUMNS]]
