"""session_data: everything the current session has delivered, per symbol, plus the trailing history.

Per symbol: 1-minute bars (dense [symbol x minute] arrays over the session window, so that a whole clock
advance is written as one column), derived k-minute bars (completed buckets only; the bucket still filling
is "pending"), 1-second bars, quotes and ticks (kept as delivered batches), session volume, high and low,
bar_quality, an updated flag and the newest event time per data type, and the trailing historical bars.
Only the coordinator's thread writes it (see tapescan/stream/coordinator.py); consumers read it at clock
advances, on that same thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.calendar import NS_PER_MINUTE, ONE_MINUTE
from tapescan.cpu_fallback.session import derived_bar_arrays
from tapescan.store import SessionPanel
from tapescan.stream.queues import NONE, Items


@dataclass
class DerivedBars:
    """k-minute bars of the session: [symbol x bucket] arrays; `done` marks the completed buckets. Buckets align
    to the session open (docs/spec/metrics.md), so a window starting between two boundaries begins with a short one."""

    minutes: int
    first: int  # the first bucket's number, counted from the session open (docs/spec/metrics.md: buckets align to it)
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    bars: np.ndarray  # int32: 1-minute bars in the bucket
    done: np.ndarray  # bool [bucket]: the bucket has ended (available) and is in session_data

    def count(self) -> np.ndarray:
        """Per symbol: completed derived bars that hold at least one 1-minute bar."""
        return ((self.bars > 0) & self.done[None, :]).sum(axis=1)


@dataclass
class SessionData:
    """The current session's data for every symbol (rows of `symbols`)."""

    date: dt.date
    start: pd.Timestamp  # session window start (ET)
    end: pd.Timestamp  # window end: the config's end_time, or the close if earlier
    symbols: list[str]
    derived_intervals: list[int]
    session_ended: bool = False
    open: np.ndarray = field(init=False)
    high: np.ndarray = field(init=False)
    low: np.ndarray = field(init=False)
    close: np.ndarray = field(init=False)
    volume: np.ndarray = field(init=False)
    mask: np.ndarray = field(init=False)
    derived: dict[int, DerivedBars] = field(init=False)
    session_volume: np.ndarray = field(init=False)
    session_high: np.ndarray = field(init=False)
    session_low: np.ndarray = field(init=False)
    newest: dict[str, np.ndarray] = field(init=False)  # data type -> newest event time per symbol
    updated: dict[str, np.ndarray] = field(init=False)  # data type -> updated at the last advance
    streamed: dict[str, list[Items]] = field(init=False)  # 1s bars, quotes, ticks as delivered
    history: dict[int, list[pd.DataFrame]] = field(default_factory=dict)  # bar minutes -> trailing sessions
    # k -> the session's k-minute bars computed ahead by the analytics layer (the upkeep thread's prefetch)
    # (the derived panel and its bar counts per bucket)
    prefetched: dict[int, tuple[SessionPanel, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._minutes = max(0, int((self.end - self.start) // ONE_MINUTE))
        session_open, _ = calendar.session_bounds(self.date)
        self.offset = int((self.start - session_open) // ONE_MINUTE)  # window start, from the open
        symbols, minutes = len(self.symbols), self.minutes
        self.open, self.high, self.low, self.close = (np.full((symbols, minutes), np.nan) for _ in range(4))
        self.volume = np.zeros((symbols, minutes), dtype=np.int64)
        self.mask = np.zeros((symbols, minutes), dtype=bool)
        self.derived = {k: self._empty_derived(k) for k in self.derived_intervals}
        self.session_volume = np.zeros(symbols, dtype=np.int64)
        self.session_high = np.full(symbols, np.nan)
        self.session_low = np.full(symbols, np.nan)
        self.newest, self.updated, self.streamed = {}, {}, {"1s": [], "quote": [], "tick": []}

    @classmethod
    def for_session(cls, day: dt.date, start_time: dt.time, end_time: dt.time, symbols: list[str],
                    derived_intervals: list[int]) -> SessionData:
        open_ts, close_ts = calendar.session_bounds(day)
        start = max(open_ts, pd.Timestamp.combine(day, start_time).tz_localize(calendar.ET))
        end = min(close_ts, pd.Timestamp.combine(day, end_time).tz_localize(calendar.ET))
        start = min(start, end)  # a window starting at or after an early close is empty, at the close
        return cls(day, start, end, list(symbols), list(derived_intervals))

    @property
    def minutes(self) -> int:
        return self._minutes

    def _empty_derived(self, k: int) -> DerivedBars:
        first = self.offset // k
        shape = (len(self.symbols), max(0, -(-(self.offset + self.minutes) // k) - first))
        return DerivedBars(k, first, np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan),
                           np.full(shape, np.nan), np.zeros(shape, np.int64), np.zeros(shape, np.int32),
                           np.zeros(shape[1], dtype=bool))

    # --- writes (coordinator thread only) -------------------------------------------------------------

    def add_symbol(self, symbol: str) -> int:
        """A new last row for `symbol`, with nothing delivered yet; returns the row."""
        def grown(array: np.ndarray, fill: object) -> np.ndarray:
            return np.concatenate([array, np.full((1, *array.shape[1:]), fill, dtype=array.dtype)])

        self.symbols.append(symbol)
        self.open, self.high, self.low, self.close = (grown(a, np.nan) for a in (self.open, self.high, self.low,
                                                                                 self.close))
        self.volume, self.mask = grown(self.volume, 0), grown(self.mask, False)
        for bars in self.derived.values():
            for name, fill in (("open", np.nan), ("high", np.nan), ("low", np.nan), ("close", np.nan),
                               ("volume", 0), ("bars", 0)):
                setattr(bars, name, grown(getattr(bars, name), fill))
        self.session_volume = grown(self.session_volume, 0)
        self.session_high, self.session_low = grown(self.session_high, np.nan), grown(self.session_low, np.nan)
        self.newest = {kind: grown(times, NONE) for kind, times in self.newest.items()}
        self.updated = {kind: grown(flags, False) for kind, flags in self.updated.items()}
        return len(self.symbols) - 1

    def begin_advance(self) -> None:
        """Clear the updated flags: they say what the coming advance delivers."""
        for flags in self.updated.values():
            flags[:] = False

    def _mark(self, kind: str, rows: np.ndarray, times: np.ndarray) -> None:
        newest = self.newest.setdefault(kind, np.full(len(self.symbols), NONE))
        if len(times) and times[0] == times[-1]:
            newest[rows] = np.maximum(newest[rows], times[0])
        else:
            np.maximum.at(newest, rows, times)
        self.updated.setdefault(kind, np.zeros(len(self.symbols), dtype=bool))[rows] = True

    def add_minute_bars(self, items: Items) -> None:
        """Put 1-minute bars (inside the window) into their cells and update volume, high and low; a bar whose
        cell is already filled (a gap fill that came first) counts once."""
        column = (items.stamp - self.start.value) // NS_PER_MINUTE
        inside = (column >= 0) & (column < self.minutes)
        rows, column, values = items.symbol[inside], column[inside], items.values[inside]
        fresh = ~self.mask[rows, column]
        self.open[rows, column], self.high[rows, column] = values[:, 0], values[:, 1]
        self.low[rows, column], self.close[rows, column] = values[:, 2], values[:, 3]
        self.volume[rows, column] = values[:, 4].astype(np.int64)
        self.mask[rows, column] = True
        counted, added = rows[fresh], values[fresh]
        if len(counted) and items.time[0] == items.time[-1]:  # one event time: one bar per symbol at most
            self.session_volume[counted] += added[:, 4].astype(np.int64)
            self.session_high[counted] = np.fmax(self.session_high[counted], added[:, 1])
            self.session_low[counted] = np.fmin(self.session_low[counted], added[:, 2])
        else:
            np.add.at(self.session_volume, counted, added[:, 4].astype(np.int64))
            np.fmax.at(self.session_high, counted, added[:, 1])
            np.fmin.at(self.session_low, counted, added[:, 2])
        self._mark("1m", rows, items.time[inside])

    def add_streamed(self, items: Items) -> None:
        """Keep 1-second bars, quotes or ticks as delivered."""
        self.streamed[items.kind].append(items)
        self._mark(items.kind, items.symbol, items.time)

    def refill_minute_bars(self, items: Items) -> None:
        """Bars fetched to fill gaps: put them in, recompute volume, high and low from the visible bars, and
        recompute any completed derived bucket they fall in."""
        self.add_minute_bars(items)
        rows = np.unique(items.symbol)
        visible = self.mask[rows]
        self.session_volume[rows] = self.volume[rows].sum(axis=1)
        with np.errstate(all="ignore"):
            self.session_high[rows] = np.where(visible.any(axis=1), np.nanmax(self.high[rows], axis=1), np.nan)
            self.session_low[rows] = np.where(visible.any(axis=1), np.nanmin(self.low[rows], axis=1), np.nan)
        for bars in self.derived.values():
            minute = (items.stamp - self.start.value) // NS_PER_MINUTE + self.offset  # from the open
            for bucket in np.unique(minute // bars.minutes - bars.first):
                if 0 <= bucket < len(bars.done) and bars.done[bucket]:
                    self._aggregate(bars, int(bucket))

    def complete_buckets(self, clock: int) -> None:
        """Derived buckets whose end (or the window's end) has passed at `clock` become session data."""
        for bars in self.derived.values():
            for bucket in np.flatnonzero(~bars.done):
                end = min(self._bucket_start(bars, bucket + 1), self.end.value)
                if end > clock:
                    break
                if not self._take_prefetched(bars, int(bucket)):
                    self._aggregate(bars, int(bucket))
                bars.done[bucket] = True
                rows = np.flatnonzero(bars.bars[:, bucket] > 0)
                self._mark(f"{bars.minutes}m", rows, np.full(len(rows), end))

    def _take_prefetched(self, bars: DerivedBars, bucket: int) -> bool:
        """Use the prefetched bucket when it is whole inside the window and made of exactly the bars
        session_data holds (every row holds as many 1-minute bars in it as the prefetch counted; bars only
        come from the source the prefetch read, so equal counts mean equal bars). False: aggregate here."""
        if bars.minutes not in self.prefetched:
            return False
        ahead, counts = self.prefetched[bars.minutes]
        first, last = self._columns(bars, bucket)
        if last - first != bars.minutes or ahead.shape[0] != len(self.symbols):
            return False
        index = bars.first + bucket
        if not np.array_equal(self.mask[:, first:last].sum(axis=1), counts[:, index]):
            return False
        for target, source in ((bars.open, ahead.open), (bars.high, ahead.high), (bars.low, ahead.low),
                               (bars.close, ahead.close), (bars.volume, ahead.volume), (bars.bars, counts)):
            target[:, bucket] = source[:, index]
        return True

    def _bucket_start(self, bars: DerivedBars, bucket: int) -> int:
        """Bucket `bucket`'s start stamp (ns): the open + (first + bucket) x k minutes."""
        return self.start.value + ((bars.first + bucket) * bars.minutes - self.offset) * NS_PER_MINUTE

    def _columns(self, bars: DerivedBars, bucket: int) -> tuple[int, int]:
        """The window's minutes [first, last) that fall in bucket `bucket`."""
        first = (bars.first + bucket) * bars.minutes - self.offset
        return max(0, first), min(first + bars.minutes, self.minutes)

    def _aggregate(self, bars: DerivedBars, bucket: int) -> None:
        """One bucket from the 1-minute bars, by the derived-bar kernel (docs/spec/metrics.md "Derived bars")."""
        first, last = self._columns(bars, bucket)
        part = [np.ascontiguousarray(a[:, first:last]) for a in (self.open, self.high, self.low, self.close,
                                                                 self.volume, self.mask)]
        out = derived_bar_arrays(*part, max(1, last - first), 1)
        for target, values in zip((bars.open, bars.high, bars.low, bars.close, bars.volume, bars.bars), out):
            target[:, bucket] = values[:, 0]

    # --- reads ------------------------------------------------------------------------------------------

    def pending_bucket_start(self, k: int, clock: int) -> np.ndarray:
        """Per symbol: the start (ns) of the k-minute bucket being filled (holding bars, not yet ended)."""
        bars = self.derived[k]
        open_buckets = np.flatnonzero(~bars.done)
        out = np.full(len(self.symbols), NONE)
        if len(open_buckets):
            first, last = self._columns(bars, open_buckets[0])
            holding = self.mask[:, first:last].any(axis=1)
            out[holding] = self._bucket_start(bars, open_buckets[0])
        return out

    def bar_quality(self, clock: int) -> np.ndarray:
        """Per symbol, % of the window's minutes whose bar should be known at `clock` that session_data holds
        (100 before the first minute has ended)."""
        expected = int(np.clip((clock - self.start.value) // NS_PER_MINUTE, 0, self.minutes))
        if expected == 0:
            return np.full(len(self.symbols), 100.0)
        return 100.0 * self.mask[:, :expected].sum(axis=1) / expected

    def first_last_bar(self) -> tuple[np.ndarray, np.ndarray]:
        """Per symbol, the stamps (ns) of the first and last 1-minute bar held (NONE without bars)."""
        if not self.minutes:
            return np.full(len(self.symbols), NONE), np.full(len(self.symbols), NONE)
        has = self.mask.any(axis=1)
        first = np.where(has, self.start.value + self.mask.argmax(axis=1) * NS_PER_MINUTE, NONE)
        last_index = self.minutes - 1 - self.mask[:, ::-1].argmax(axis=1)
        last = np.where(has, self.start.value + last_index * NS_PER_MINUTE, NONE)
        return first, last

    def missing_minutes(self, clock: int) -> np.ndarray:
        """[symbol x minute ended by `clock`] True where session_data lacks that minute's bar (a gap to fill)."""
        expected = int(np.clip((clock - self.start.value) // NS_PER_MINUTE, 0, self.minutes))
        return ~self.mask[:, :expected]
