"""scan and sweep (docs/spec/metrics.md "Scanner semantics") on the analytics layer, on either backend.

A sweep goes session by session. For session D it reads D's panel once (the next session's read overlaps
this one's computation, on a background thread) and runs the scan kernel (tapescan.analytics.scan) over it:
one pass over each symbol's bars evaluates every filter at every scan time T of D. What D needs from before
D is carried forward instead of re-read:

- trailing metrics (avg volume and price, std %, beta, correlation) and prev_close come from the daily
  values, computed for a chunk of `CHUNK_SESSIONS` sessions at a time over the chunk plus its look-back;
  a symbol failing a trailing filter (or outside the universe) is not scanned at any T;
- time-of-day average volume needs the N sessions before D at every clock minute: the kernel records each
  session's clock volumes as it scans it, and a running sum over the last N (`TodWindow`) gives the average.

Memory is one panel (two while the next one is read), one chunk of daily values and N clock-volume arrays,
whatever the length of the range. A scan at one (D, T) is the same computation for one session and one time.
Before either runs, tapescan.scanner.diagnostics says what in the config and the store will keep hits out;
`funnel_steps` re-runs a scan's evaluation with the first k filters, for tapescan.scanner.funnel.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from tapescan import calendar
from tapescan.analytics import daily_matrix, trailing_metrics
from tapescan.analytics.drivers import Backend, compute_for
from tapescan.analytics.placement import AnyPanel
from tapescan.analytics.scan import ScanCells, TodWindow, scan_cells
from tapescan.analytics.volume import clock_volume
from tapescan.calendar import NS_PER_MINUTE
from tapescan.errors import TapescanError
from tapescan.kernels.scan import (
    BOUND_ACTIVE,
    BOUND_COLUMNS,
    BOUND_MAX,
    BOUND_MIN,
    INTRADAY_FILTERS,
    VALUE_FIELDS,
)
from tapescan.readahead import read_ahead
from tapescan.scanner.config import DEFAULT_DAYS, ConfigLike, FilterBounds, ScannerConfig, as_scanner_config
from tapescan.scanner.diagnostics import Diagnostic, DiagnosticHandler, diagnose, range_diagnostics, warn_in_python
from tapescan.scanner.groups import known_groups
from tapescan.scanner.universe import Universe, resolve_universe
from tapescan.store import SessionPanel, Store

#: Columns of a scan's or sweep's result, in order (docs/spec/interfaces.md).
SCAN_COLUMNS = ["date", "time", "symbol", "price", "change_pct", "range_pct", "session_volume", "avg_volume",
                "avg_price", "std_pct", "beta", "correlation", "rel_volume"]
#: The same columns as Arrow types, for writing a sweep part by part.
SCAN_SCHEMA = pa.schema([("date", pa.date32()), ("time", pa.string()), ("symbol", pa.string()),
                         *((name, pa.float64()) for name in SCAN_COLUMNS[3:6]), ("session_volume", pa.int64()),
                         *((name, pa.float64()) for name in SCAN_COLUMNS[7:])])
TRAILING = ("avg_volume", "avg_price", "std_pct", "beta", "correlation")
#: Sessions whose trailing metrics are computed together (with their look-back).
CHUNK_SESSIONS = 64


def scan_times(config: ScannerConfig, day: dt.date) -> pd.DatetimeIndex:
    """Every T of a sweep on `day`: start_time to end_time inclusive, every interval_minutes, never past the close.
    Integer ns arithmetic (no DST change falls inside a session): pandas' date_range cost a millisecond a session."""
    _, close = calendar.session_bounds(day)
    start = calendar.et_ns(day, config.start_time)
    end = min(calendar.et_ns(day, config.end_time), close.value)
    moments = np.arange(start, end + 1, config.interval_minutes * NS_PER_MINUTE, dtype=np.int64)
    return pd.DatetimeIndex(moments, tz="UTC").tz_convert(calendar.ET)


@functools.lru_cache(maxsize=256)
def _time_labels(minutes: tuple[int, ...]) -> pa.Array:
    """HH:MM of each minute of the day in `minutes`: the result's time column, the same for every full session."""
    return pa.array([f"{minute // 60:02d}:{minute % 60:02d}" for minute in minutes], pa.string())


def empty_result() -> pd.DataFrame:
    """A result with no rows and the result's columns and dtypes (a copy of one built once: building it costs about
    2 ms, which a sweep with strict filters paid for most of its sessions)."""
    return _empty_result().copy()


@functools.cache
def _empty_result() -> pd.DataFrame:
    columns = {name: pd.Series(dtype="float64") for name in SCAN_COLUMNS}
    columns.update(date=pd.Series(dtype=object), time=pd.Series(dtype="str"), symbol=pd.Series(dtype="str"),
                   session_volume=pd.Series(dtype="Int64"))
    return pd.DataFrame(columns)[SCAN_COLUMNS]


@dataclass(frozen=True)
class _Daily:
    """What session D needs from the sessions before it, per universe row."""

    trailing: dict[str, np.ndarray]  # metric -> float64 [R]
    prev_close: np.ndarray  # float64 [R]


def _bounds(filters: Mapping[str, FilterBounds]) -> np.ndarray:
    """The intraday ones of `filters` as the scan kernel takes them: rows INTRADAY_FILTERS (change_pct, range_pct,
    rel_volume); columns BOUND_COLUMNS (active, min, max), NaN for a missing bound."""
    bounds = np.full((len(INTRADAY_FILTERS), len(BOUND_COLUMNS)), np.nan)
    for row, metric in enumerate(INTRADAY_FILTERS):
        bounds[row, BOUND_ACTIVE] = 1.0 if metric in filters else 0.0
        if metric in filters:
            low, high, _ = filters[metric]
            bounds[row, BOUND_MIN] = np.nan if low is None else low
            bounds[row, BOUND_MAX] = np.nan if high is None else high
    return bounds


class _Sweeper:
    """The state a sweep carries from one session to the next."""

    def __init__(self, store: Store, config: ConfigLike, sessions: list[dt.date], stored: list[dt.date],
                 backend: Backend) -> None:
        self.store, self.compute = store, compute_for(backend)
        self.config = config = as_scanner_config(config, known_groups(store.path))
        self.universe: Universe = resolve_universe(config, store, sessions)
        self.rows = list(self.universe.rows)
        self.symbol_labels = pa.array(self.rows, pa.string())  # the result's symbol column takes from it
        self.filters = filters = config.filters()
        self.windows = {m: (filters[m].days if m in filters else DEFAULT_DAYS) for m in TRAILING}
        self.stored_sessions = stored  # every stored session, oldest first (read once per scan or sweep)
        self.stored = set(stored)
        self.tod = TodWindow(len(self.rows), filters["rel_volume"].days if "rel_volume" in filters
                             else DEFAULT_DAYS)
        self._daily: dict[dt.date, _Daily] = {}

    # --- reading -----------------------------------------------------------------------------------------

    def fetch(self, day: dt.date, volume_only: bool = False) -> object:
        """The reading half of `read_panel` (run on the reader thread): D's bars from the store. On the CPU
        backend the cached panel, else the stored bars where they lie (SessionBars, which the CPU scan walks
        without a dense panel; without their prices with `volume_only`); on the GPU backend the cached host
        panel, else flat columns for the device (kernels run on the main thread only). None when the universe
        holds no stored symbol (nothing to read)."""
        if not self.rows:
            return None
        if self.compute.on_gpu:
            from tapescan.gpu.panels import read_columns

            cached = self.store.read_cached_session(day, self.rows)
            return cached if cached is not None else read_columns(self.store, day, self.rows)
        return self.store.read_for_scan(day, self.rows, volume_only)

    def ready(self, day: dt.date, fetched: object) -> AnyPanel:
        """The panel from what `fetch` read: on the device on the GPU backend (a cached host panel copied, flat
        columns placed there)."""
        if self.compute.on_gpu and fetched is not None:
            from tapescan.gpu.panels import DevicePanel, place_columns

            return DevicePanel.from_host(fetched) if isinstance(fetched, SessionPanel) else place_columns(day, fetched)
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
        by_window = {days: trailing_metrics(matrix, days, self.config.benchmark, self.compute)
                     for days in set(self.windows.values())}
        out = {}
        for day in chunk:
            i = position[day]
            trailing = {m: by_window[days][m].to_numpy()[i, :width] for m, days in self.windows.items()}
            out[day] = _Daily(trailing, matrix.close[i - 1, :width])
        return out

    def tod_before(self, day: dt.date) -> TodWindow | None:
        """The clock volumes of the N sessions before `day`, or None when the store lacks one of them."""
        window = calendar.sessions_before(day, self.tod.sessions)
        if not set(window) <= self.stored:
            return None
        missing = [past for past in window if not self.tod.holds(past)]
        for past, fetched in read_ahead(missing, functools.partial(self.fetch, volume_only=True)):
            self.tod.add(past, *clock_volume(self.ready(past, fetched), self.compute))
        self.tod.move_to(window)
        return self.tod

    def cells(self, day: dt.date, panel: AnyPanel, times: pd.DatetimeIndex, eligible: np.ndarray,
              prev_close: np.ndarray, tod: TodWindow | None, first_hit: bool,
              filters: Mapping[str, FilterBounds]) -> ScanCells:
        """The scan kernel over `panel`, with the intraday ones of `filters`."""
        return scan_cells(panel, times, eligible, prev_close, tod, _bounds(filters), first_hit, self.compute)

    # --- one session -------------------------------------------------------------------------------------

    def eligible(self, day: dt.date, before: _Daily, filters: Mapping[str, FilterBounds]) -> np.ndarray:
        """Rows in the universe on `day` that pass every trailing filter of `filters` (undefined fails)."""
        keep = self.universe.mask(day).copy()
        for metric, (low, high, _) in filters.items():
            if metric not in TRAILING:
                continue
            value = before.trailing[metric]
            keep &= ~np.isnan(value)
            if low is not None:
                keep &= value >= low
            if high is not None:
                keep &= value <= high
        return keep

    def evaluate(self, day: dt.date, panel: AnyPanel, times: pd.DatetimeIndex, chunk: list[dt.date],
                 first_hit: bool, filters: Mapping[str, FilterBounds]) -> tuple[_Daily, ScanCells]:
        """`filters` (trailing and intraday) evaluated for every universe row at each of `times` on `day`; keeps
        `day`'s clock volumes for the sessions after it."""
        before = self.daily(day, chunk)
        cells = self.cells(day, panel, times, self.eligible(day, before, filters), before.prev_close,
                           self.tod_before(day), first_hit, filters)
        self.tod.add(day, cells.clock_volume, cells.traded)  # for the rel_volume of the sessions after `day`
        return before, cells

    def scan_session(self, day: dt.date, panel: AnyPanel, times: pd.DatetimeIndex, chunk: list[dt.date],
                     first_hit: bool) -> pd.DataFrame:
        """Every universe row that passes every filter at each of `times` on `day`, by (time, symbol)."""
        if not self.rows:
            return empty_result()
        before, cells = self.evaluate(day, panel, times, chunk, first_hit, self.filters)
        return _hits_frame(day, times, self.symbol_labels, cells, before.trailing)


def _hits_frame(day: dt.date, times: pd.DatetimeIndex, symbols: pa.Array, cells: ScanCells,
                trailing: dict[str, np.ndarray]) -> pd.DataFrame:
    """The passing (symbol, time) cells as result rows, ordered by (time, symbol). Built from flat indices and
    Arrow takes of the labels: with a few thousand hits a session, pandas' per-value conversions would cost as
    much as the scan kernel."""
    flat = np.flatnonzero(cells.passed)
    if not len(flat):
        return empty_result()
    r, t = np.divmod(flat, cells.passed.shape[1])
    by_time = np.lexsort((r, t))
    r, t = r[by_time], t[by_time]
    values = dict(zip(VALUE_FIELDS, cells.values[:, r, t]))
    volume = values["session_volume"]
    columns = {
        "date": np.full(len(t), day, dtype=object),
        "time": pd.array(_time_labels(_minutes_of_day(times)).take(t), dtype="str"),
        "symbol": pd.array(symbols.take(r), dtype="str"), "price": values["price"],
        "change_pct": values["change_pct"], "range_pct": values["range_pct"],
        "session_volume": pd.arrays.IntegerArray(np.nan_to_num(volume).astype(np.int64), np.isnan(volume)),
        **{metric: trailing[metric][r] for metric in TRAILING}, "rel_volume": values["rel_volume"],
    }
    return pd.DataFrame(columns, columns=SCAN_COLUMNS)


def _minutes_of_day(times: pd.DatetimeIndex) -> tuple[int, ...]:
    """Each moment's minute of the day (ET wall clock), for `_time_labels`."""
    return tuple((times.hour * 60 + times.minute).tolist())


# --------------------------------------------------------------------------------------------- public API


def _sessions_in(stored: list[dt.date], start: calendar.DateLike, end: calendar.DateLike) -> list[dt.date]:
    first, last = calendar.to_date(start), calendar.to_date(end)
    if first > last:
        raise TapescanError(f"the sweep's start {first} is after its end {last}.")
    return [day for day in stored if first <= day <= last]


def _report(diagnostics: list[Diagnostic], on_diagnostic: DiagnosticHandler | None) -> None:
    """Hand each diagnostic to `on_diagnostic` (default: warnings as Python warnings)."""
    for diagnostic in diagnostics:
        (on_diagnostic or warn_in_python)(diagnostic)


def _diagnose(sweeper: _Sweeper, scanned: list[dt.date], moment: dt.time | None = None) -> list[Diagnostic]:
    """The diagnostics of a sweep over `scanned`, or of a scan at `moment` on the one session of `scanned`."""
    return diagnose(sweeper.config, sweeper.universe, sweeper.store.symbols()["symbol"], sweeper.stored_sessions,
                    scanned, moment)


def iter_sweep(store: Store, config: ConfigLike, start: calendar.DateLike, end: calendar.DateLike,
               first_hit: bool = False, backend: Backend = "auto",
               on_diagnostic: DiagnosticHandler | None = None) -> Iterator[tuple[dt.date, pd.DataFrame]]:
    """(session, its hits) for every stored session from `start` to `end`, in order, as each is computed.

    `config` is a ScannerConfig, its object as a dict, or a config file's path. `on_diagnostic` receives,
    before the first session, each reason why hits will be missing (tapescan.scanner.diagnostics).
    """
    stored = store.sessions()
    sessions = _sessions_in(stored, start, end)
    sweeper = _Sweeper(store, config, sessions, stored, backend)
    span = range_diagnostics(calendar.to_date(start), calendar.to_date(end), stored, sessions)
    _report([*span, *_diagnose(sweeper, sessions)], on_diagnostic)
    for i, (day, fetched) in enumerate(read_ahead(sessions, sweeper.fetch)):
        panel = sweeper.ready(day, fetched)
        chunk = sessions[i - i % CHUNK_SESSIONS : i - i % CHUNK_SESSIONS + CHUNK_SESSIONS]
        hits = sweeper.scan_session(day, panel, scan_times(sweeper.config, day), chunk, first_hit)
        del panel, fetched
        yield day, hits


def sweep(store: Store, config: ConfigLike, start: calendar.DateLike, end: calendar.DateLike,
          first_hit: bool = False, backend: Backend = "auto",
          on_diagnostic: DiagnosticHandler | None = None) -> pd.DataFrame:
    """Every scan of every stored session from `start` to `end` at every scan time, by (date, time, symbol).

    `config` and `on_diagnostic` as in :func:`iter_sweep`.
    """
    swept = iter_sweep(store, config, start, end, first_hit, backend, on_diagnostic)
    frames = [hits for _, hits in swept if len(hits)]
    return pd.concat(frames, ignore_index=True) if frames else empty_result()


def _one_moment(store: Store, config: ConfigLike, day: calendar.DateLike, time: dt.time | str, backend: Backend,
                on_diagnostic: DiagnosticHandler | None) -> tuple[_Sweeper, dt.date, pd.DatetimeIndex]:
    """The sweeper, session and scan time of a scan at (`day`, `time`), its diagnostics reported."""
    day = calendar.to_date(day)
    moment = _moment(day, time)
    stored = store.sessions()
    if day not in stored:
        raise TapescanError(f"the store holds no bars for {day}; scan a stored session (tapescan daily lists them).")
    sweeper = _Sweeper(store, config, [day], stored, backend)
    _report(_diagnose(sweeper, [day], moment.time()), on_diagnostic)
    return sweeper, day, pd.DatetimeIndex([moment])


def scan(store: Store, config: ConfigLike, day: calendar.DateLike, time: dt.time | str, backend: Backend = "auto",
         on_diagnostic: DiagnosticHandler | None = None) -> pd.DataFrame:
    """The universe symbols passing every filter as of `time` (ET) on session `day`, sorted by symbol.

    `config` is a ScannerConfig, its object as a dict, or a config file's path. `on_diagnostic` receives each
    reason why hits will be missing (tapescan.scanner.diagnostics); without it, warnings are Python warnings.
    """
    sweeper, day, times = _one_moment(store, config, day, time, backend, on_diagnostic)
    return sweeper.scan_session(day, sweeper.read_panel(day), times, [day], first_hit=False)


@dataclass(frozen=True)
class FunnelStep:
    """The universe symbols left after the first k filters of the config (`metric` is the k-th, None for k = 0),
    and how many of the symbols entering step k had an undefined `metric` (which fails it)."""

    metric: str | None
    left: int
    undefined: int


def funnel_steps(store: Store, config: ConfigLike, day: calendar.DateLike, time: dt.time | str,
                 backend: Backend = "auto", on_diagnostic: DiagnosticHandler | None = None,
                 ) -> tuple[ScannerConfig, Universe, list[FunnelStep], pd.DataFrame]:
    """A scan at (`day`, `time`) evaluated by the engine with the first k filters, for k = 0 .. every filter
    (config.filters() order); the last step's `left` is the scan's hit count. Also the config, the universe and
    the scan's hits (the last step is the scan itself). The session is read once and the scan kernel runs once
    per step, on the panel already read."""
    sweeper, day, times = _one_moment(store, config, day, time, backend, on_diagnostic)
    if not sweeper.rows:
        return (sweeper.config, sweeper.universe, [FunnelStep(m, 0, 0) for m in (None, *sweeper.filters)],
                empty_result())
    panel = sweeper.read_panel(day)
    active = list(sweeper.filters.items())
    steps, previous = [], None
    for k in range(len(active) + 1):
        before, cells = sweeper.evaluate(day, panel, times, [day], False, dict(active[:k]))
        metric, undefined = (active[k - 1][0] if k else None), 0
        if metric is not None and previous is not None:
            value = (before.trailing[metric] if metric in TRAILING
                     else previous.values[VALUE_FIELDS.index(metric), :, 0])
            undefined = int(np.isnan(value[previous.passed[:, 0]]).sum())
        steps.append(FunnelStep(metric, int(cells.passed[:, 0].sum()), undefined))
        previous = cells
    hits = _hits_frame(day, times, sweeper.symbol_labels, previous, before.trailing)
    return sweeper.config, sweeper.universe, steps, hits


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
