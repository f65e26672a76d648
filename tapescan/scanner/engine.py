"""scan and sweep (metrics.md "Scanner semantics") on the analytics layer, on either backend.

A sweep goes session by session. For session D it reads D's panel once (the next session's read overlaps
this one's computation, on a background thread), computes the cumulative intraday metrics at every minute
(`cumulative_intraday`), and evaluates every filter at every scan time T of D at once, as [symbol x time]
arrays. What D needs from before D is carried forward instead of re-read:

- trailing metrics (avg volume and price, std %, beta, correlation) and prev_close come from the daily
  values, computed for a chunk of `CHUNK_SESSIONS` sessions at a time over the chunk plus its look-back;
- time-of-day average volume needs the N sessions before D at every clock minute: each session's clock
  volume is kept from when that session itself was scanned, for as long as a later window needs it.

Memory is one panel (two while the next one is read), one chunk of daily values and N clock-volume arrays,
whatever the length of the range. A scan at one (D, T) is the same computation for one session and one time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from tapescan import calendar
from tapescan.analytics import (
    IntradayCumulative,
    cumulative_intraday,
    daily_matrix,
    tod_average_volume,
    trailing_metrics,
)
from tapescan.analytics.placement import AnyPanel, runs_on_gpu
from tapescan.analytics.volume import CLOCK_MINUTES, clock_volume_of
from tapescan.errors import TapescanError
from tapescan.scanner.config import ScannerConfig
from tapescan.scanner.universe import Universe, resolve_universe
from tapescan.store import Store

#: Columns of a scan's or sweep's result, in order (interfaces.md).
SCAN_COLUMNS = ["date", "time", "symbol", "price", "change_pct", "range_pct", "session_volume", "avg_volume",
                "avg_price", "std_pct", "beta", "correlation", "rel_volume"]
#: The same columns as Arrow types, for writing a sweep part by part.
SCAN_SCHEMA = pa.schema([("date", pa.date32()), ("time", pa.string()), ("symbol", pa.string()),
                         *((name, pa.float64()) for name in SCAN_COLUMNS[3:6]), ("session_volume", pa.int64()),
                         *((name, pa.float64()) for name in SCAN_COLUMNS[7:])])
#: Window of a trailing metric whose filter block is absent (it is still reported).
DEFAULT_WINDOW = 10
TRAILING = ("avg_volume", "avg_price", "std_pct", "beta", "correlation")
#: Sessions whose trailing metrics are computed together (with their look-back).
CHUNK_SESSIONS = 64
ONE_MINUTE = pd.Timedelta(minutes=1)


def scan_times(config: ScannerConfig, day: dt.date) -> pd.DatetimeIndex:
    """Every T of a sweep on `day`: start_time to end_time inclusive, every interval_minutes, never past the close."""
    _, close = calendar.session_bounds(day)
    start = pd.Timestamp.combine(day, config.start_time).tz_localize(calendar.ET)
    end = min(pd.Timestamp.combine(day, config.end_time).tz_localize(calendar.ET), close)
    if end < start:
        return pd.DatetimeIndex([], tz=calendar.ET)
    return pd.date_range(start, end, freq=pd.Timedelta(minutes=config.interval_minutes))


def empty_result() -> pd.DataFrame:
    """A result with no rows and the result's columns and dtypes."""
    columns = {name: pd.Series(dtype="float64") for name in SCAN_COLUMNS}
    columns.update(date=pd.Series(dtype=object), time=pd.Series(dtype="str"), symbol=pd.Series(dtype="str"),
                   session_volume=pd.Series(dtype="Int64"))
    return pd.DataFrame(columns)[SCAN_COLUMNS]


@dataclass(frozen=True)
class _Daily:
    """What session D needs from the sessions before it, per universe row."""

    trailing: dict[str, np.ndarray]  # metric -> float64 [R]
    prev_close: np.ndarray  # float64 [R]


class _Sweeper:
    """The state a sweep carries from one session to the next."""

    def __init__(self, store: Store, config: ScannerConfig, sessions: list[dt.date], backend: str) -> None:
        self.store, self.config, self.backend = store, config, backend
        self.on_gpu = runs_on_gpu(backend)
        self.universe: Universe = resolve_universe(config, store, sessions)
        self.rows = list(self.universe.rows)
        filters = config.filters()
        self.windows = {m: (filters[m].days if m in filters else DEFAULT_WINDOW) for m in TRAILING}
        self.tod_window = filters["rel_volume"].days if "rel_volume" in filters else DEFAULT_WINDOW
        self.stored = set(store.sessions())
        self._daily: dict[dt.date, _Daily] = {}
        self._clock: dict[dt.date, tuple[np.ndarray, np.ndarray]] = {}  # day -> (clock volume [R x 390], traded)

    # --- reading -----------------------------------------------------------------------------------------

    def fetch(self, day: dt.date) -> object:
        """The reading half of `read_panel` (run on the reader thread): D's bars from the store, as a host
        panel on the CPU backend or as flat columns for the device (kernels run on the main thread only)."""
        if self.on_gpu:
            from tapescan.gpu.panels import read_columns

            return read_columns(self.store, day, self.rows)
        return self.store.read_session(day, self.rows)

    def ready(self, day: dt.date, fetched: object) -> AnyPanel:
        """The panel from what `fetch` read: built on the device on the GPU backend."""
        if self.on_gpu:
            from tapescan.gpu.panels import place_columns

            return place_columns(day, fetched)
        return fetched

    def read_panel(self, day: dt.date) -> AnyPanel:
        """D's regular-session panel over the universe rows, on the device when the backend is the GPU."""
        return self.ready(day, self.fetch(day))

    # --- what comes from before D ------------------------------------------------------------------------

    def daily(self, day: dt.date, chunk: list[dt.date]) -> _Daily:
        """Trailing metrics and prev_close on `day`, computed for all of `chunk` (which holds `day`) at once."""
        if day not in self._daily:
            self._daily = self._daily_chunk(chunk)
        return self._daily[day]

    def _daily_chunk(self, chunk: list[dt.date]) -> dict[dt.date, _Daily]:
        look_back = max(self.windows.values()) + 1
        first = calendar.sessions_before(chunk[0], look_back)[0]
        columns = self.rows + ([self.config.benchmark] if self.config.benchmark not in self.rows else [])
        daily = self.store.read_daily(first, chunk[-1], columns)
        matrix = daily_matrix(daily, first, chunk[-1], columns)
        position = {day: i for i, day in enumerate(matrix.sessions)}
        width = len(self.rows)
        by_window = {days: trailing_metrics(matrix, days, self.config.benchmark, self.backend)
                     for days in set(self.windows.values())}
        out = {}
        for day in chunk:
            i = position[day]
            trailing = {m: by_window[days][m].to_numpy()[i, :width] for m, days in self.windows.items()}
            out[day] = _Daily(trailing, matrix.close[i - 1, :width])
        return out

    def tod_average(self, day: dt.date) -> np.ndarray:
        """tod_avg_volume(N) on `day` [R x 390] from the clock volumes of the N sessions before it."""
        window = calendar.sessions_before(day, self.tod_window)
        if not set(window) <= self.stored:
            return np.full((len(self.rows), CLOCK_MINUTES), np.nan)
        for past in window:
            if past not in self._clock:
                self.remember(past, cumulative_intraday(self.read_panel(past), self.backend))
        for old in [d for d in self._clock if d < window[0]]:
            del self._clock[old]
        history = np.stack([self._clock[d][0] for d in window])
        present = np.stack([self._clock[d][1] for d in window])
        return tod_average_volume(history, present, self.backend)

    def remember(self, day: dt.date, cumulative: IntradayCumulative) -> None:
        """Keep `day`'s clock volume for the time-of-day windows of the sessions after it."""
        self._clock[day] = clock_volume_of(cumulative)

    # --- one session -------------------------------------------------------------------------------------

    def scan_session(self, day: dt.date, cumulative: IntradayCumulative, times: pd.DatetimeIndex,
                     chunk: list[dt.date], first_hit: bool) -> pd.DataFrame:
        """Every universe row that passes every filter at each of `times` on `day`, by (time, symbol)."""
        if not len(times) or not self.rows:
            return empty_result()
        before = self.daily(day, chunk)
        metrics = intraday_metrics(cumulative, times, before.prev_close, self.tod_average(day))
        metrics.update({m: values[:, None] for m, values in before.trailing.items()})
        passed = np.broadcast_to(self.universe.mask(day)[:, None], metrics["price"].shape).copy()
        for metric, bounds in self.config.filters().items():
            value = metrics[metric]
            passed &= ~np.isnan(value)
            if bounds.min is not None:
                passed &= value >= bounds.min
            if bounds.max is not None:
                passed &= value <= bounds.max
        if first_hit:
            passed = _first_only(passed)
        return _hits_frame(day, times, np.asarray(self.rows), metrics, passed)


def intraday_metrics(cumulative: IntradayCumulative, times: pd.DatetimeIndex, prev_close: np.ndarray,
                     tod_average: np.ndarray) -> dict[str, np.ndarray]:
    """price, session_volume, change_pct, range_pct and rel_volume as of each of `times` [R x T] (NaN where
    undefined: no visible bar yet, no prev_close, no time-of-day average)."""
    session_open, _ = calendar.session_bounds(cumulative.date)
    visible = ((times - session_open) // ONE_MINUTE).to_numpy(np.int64)  # bars whose end <= T, by position
    column = np.minimum(visible, cumulative.bars.shape[1]) - 1
    known = column >= 0
    column = np.where(known, column, 0)
    defined = known[None, :] & (cumulative.bars[:, column] > 0)

    def at_times(values: np.ndarray) -> np.ndarray:
        return np.where(defined, values[:, column], np.nan)

    price, high, low = at_times(cumulative.last), at_times(cumulative.high), at_times(cumulative.low)
    volume = at_times(cumulative.volume.astype(np.float64))
    clock = ((times - times[0].normalize() - pd.Timedelta(hours=9, minutes=30)) // ONE_MINUTE).to_numpy(np.int64) - 1
    on_grid = (clock >= 0) & (clock < CLOCK_MINUTES)
    average = np.where(on_grid[None, :], tod_average[:, np.clip(clock, 0, CLOCK_MINUTES - 1)], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(average > 0, volume / average, np.nan)
    return {
        "price": price,
        "change_pct": 100 * (price / prev_close[:, None] - 1),
        "range_pct": 100 * (high - low) / low,
        "session_volume": volume,
        "rel_volume": relative,
    }


def _first_only(passed: np.ndarray) -> np.ndarray:
    """Keep, in each row, only the first True (first-hit mode)."""
    first = np.zeros_like(passed)
    rows = np.flatnonzero(passed.any(axis=1))
    first[rows, passed[rows].argmax(axis=1)] = True
    return first


def _hits_frame(day: dt.date, times: pd.DatetimeIndex, symbols: np.ndarray, metrics: dict[str, np.ndarray],
                passed: np.ndarray) -> pd.DataFrame:
    """The passing (symbol, time) cells as result rows, ordered by (time, symbol)."""
    t, r = np.nonzero(passed.T)
    if not len(t):
        return empty_result()
    columns: dict[str, object] = {
        "date": [day] * len(t), "time": pd.array(times[t].strftime("%H:%M"), dtype="str"),
        "symbol": pd.array(symbols[r], dtype="str")}
    for name in SCAN_COLUMNS[3:]:
        columns[name] = np.broadcast_to(metrics[name], passed.shape)[r, t]
    volume = columns["session_volume"]
    columns["session_volume"] = pd.arrays.IntegerArray(np.nan_to_num(volume).astype(np.int64), np.isnan(volume))
    return pd.DataFrame(columns)[SCAN_COLUMNS]


# --------------------------------------------------------------------------------------------- public API


def _sessions_in(store: Store, start: calendar.DateLike, end: calendar.DateLike) -> list[dt.date]:
    first, last = calendar.to_date(start), calendar.to_date(end)
    if first > last:
        raise TapescanError(f"the sweep's start {first} is after its end {last}.")
    return [day for day in store.sessions() if first <= day <= last]


def iter_sweep(store: Store, config: ScannerConfig, start: calendar.DateLike, end: calendar.DateLike,
               first_hit: bool = False, backend: str = "auto",
               on_missing: Callable[[list[str]], None] | None = None) -> Iterator[tuple[dt.date, pd.DataFrame]]:
    """(session, its hits) for every stored session from `start` to `end`, in order, as each is computed.

    `on_missing` receives, once, the universe symbols the store lacks.
    """
    sessions = _sessions_in(store, start, end)
    sweeper = _Sweeper(store, config, sessions, backend)
    if on_missing is not None and sweeper.universe.missing:
        on_missing(sweeper.universe.missing)
    if not sessions:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tapescan-read") as reader:
        upcoming: Future = reader.submit(sweeper.fetch, sessions[0])
        for i, day in enumerate(sessions):
            panel = sweeper.ready(day, upcoming.result())
            if i + 1 < len(sessions):
                upcoming = reader.submit(sweeper.fetch, sessions[i + 1])
            cumulative = cumulative_intraday(panel, backend)
            del panel
            chunk = sessions[i - i % CHUNK_SESSIONS : i - i % CHUNK_SESSIONS + CHUNK_SESSIONS]
            hits = sweeper.scan_session(day, cumulative, scan_times(config, day), chunk, first_hit)
            sweeper.remember(day, cumulative)
            yield day, hits


def sweep(store: Store, config: ScannerConfig, start: calendar.DateLike, end: calendar.DateLike,
          first_hit: bool = False, backend: str = "auto") -> pd.DataFrame:
    """Every scan of every stored session from `start` to `end` at every scan time, by (date, time, symbol)."""
    frames = [hits for _, hits in iter_sweep(store, config, start, end, first_hit, backend) if len(hits)]
    return pd.concat(frames, ignore_index=True) if frames else empty_result()


def scan(store: Store, config: ScannerConfig, day: calendar.DateLike, time: dt.time | str,
         backend: str = "auto", on_missing: Callable[[list[str]], None] | None = None) -> pd.DataFrame:
    """The universe symbols passing every filter as of `time` (ET) on session `day`, sorted by symbol.

    `on_missing` receives the universe symbols the store lacks, if any.
    """
    day = calendar.to_date(day)
    moment = _moment(day, time)
    if day not in store.sessions():
        raise TapescanError(f"the store holds no bars for {day}; scan a stored session (tapescan daily lists them).")
    sweeper = _Sweeper(store, config, [day], backend)
    if on_missing is not None and sweeper.universe.missing:
        on_missing(sweeper.universe.missing)
    cumulative = cumulative_intraday(sweeper.read_panel(day), backend)
    return sweeper.scan_session(day, cumulative, pd.DatetimeIndex([moment]), [day], first_hit=False)


def _moment(day: dt.date, time: dt.time | str) -> pd.Timestamp:
    """`time` on `day` in ET; it must lie within 09:30-16:00."""
    if isinstance(time, str):
        try:
            time = dt.time.fromisoformat(time.strip().zfill(5))
        except ValueError:
            raise TapescanError(f"scan time {time!r}: write HH:MM in ET, such as 10:15.") from None
    if not dt.time(9, 30) <= time <= dt.time(16, 0) or time.second or time.microsecond:
        raise TapescanError(f"scan time {time}: give a whole minute from 09:30 to 16:00 ET.")
    if not calendar.is_session(day):
        raise TapescanError(f"{day} is not a trading session; pick a session (tapescan calendar lists them).")
    return pd.Timestamp.combine(day, time).tz_localize(calendar.ET)
