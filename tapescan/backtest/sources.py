"""Signals computed outside the kernels, placed into session panels as signal bits (tapescan/kernels/signals.py)
and rank values, one session at a time.

- :class:`PlacedBars`: a long frame of bars (symbol, ts, open, high, low, close, volume) with bits and ranks per
  row, as [symbol x minute] arrays per session (tapescan.simulate, and a Python strategy function's output).
- :class:`ScannerSignals`: strategy `scanner` — each session's first hits of a first-hit sweep of the strategy's
  scanner config; the signal bar is the symbol's last bar visible at the scan time T (docs/spec/metrics.md).
- :class:`FunctionSignals`: strategy "package.module:function" — the function gets each symbol's bars of the
  whole run (warm-up included) and returns its signals; this keeps those bars in memory for the call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.analytics.bars import BAR_COLUMNS
from tapescan.analytics.drivers import Drivers
from tapescan.backtest.config import StrategyConfig
from tapescan.backtest.custom import resolve_function, user_signals
from tapescan.calendar import ET, NS_PER_MINUTE
from tapescan.kernels.signals import LONG_ENTRY, LONG_EXIT, SHORT_ENTRY, SHORT_EXIT, SIGNAL_COLUMNS
from tapescan.scanner.engine import iter_sweep
from tapescan.store import Store


def signal_bits(long_entry: np.ndarray, long_exit: np.ndarray, short_entry: np.ndarray,
                short_exit: np.ndarray) -> np.ndarray:
    """The four boolean signals as one int8 of bits per bar."""
    return (long_entry * LONG_ENTRY + long_exit * LONG_EXIT + short_entry * SHORT_ENTRY
            + short_exit * SHORT_EXIT).astype(np.int8)


class PlacedBars:
    """Bars with their signal bits and rank values, one session panel at a time.

    `frame`: columns symbol, ts (ET, ns), open, high, low, close, volume, date (the session), row (the index into
    `bits` and `rank`); `symbols`: the panel's rows, sorted."""

    def __init__(self, frame: pd.DataFrame, bits: np.ndarray, rank: np.ndarray, symbols: np.ndarray) -> None:
        self.frame, self.bits, self.rank, self.symbols = frame, bits, rank, symbols
        self.row_of = {symbol: i for i, symbol in enumerate(symbols)}
        self.by_date = frame.groupby("date", sort=False).indices

    def session(self, day: dt.date) -> tuple[np.ndarray, ...]:
        """open, high, low, close, volume, mask, bits and rank [symbol x minute] of session `day` (bars outside
        its regular session are left out)."""
        minutes = calendar.session_minutes(day)
        shape = (len(self.symbols), len(minutes))
        bars = self.frame.iloc[self.by_date.get(day, np.empty(0, dtype=np.int64))]
        column = (bars["ts"].astype("int64").to_numpy() - minutes[0].value) // NS_PER_MINUTE
        regular = (column >= 0) & (column < len(minutes))
        bars, column = bars[regular], column[regular]
        flat = bars["symbol"].map(self.row_of).to_numpy(dtype=np.int64) * shape[1] + column
        rows = bars["row"].to_numpy()
        arrays = []
        for name in BAR_COLUMNS[1:]:
            values = np.full(shape, 0.0 if name == "volume" else np.nan)
            values.ravel()[flat] = bars[name].to_numpy()
            arrays.append(values)
        mask = np.zeros(shape, dtype=bool)
        mask.ravel()[flat] = True
        bits = np.zeros(shape, dtype=np.int8)
        bits.ravel()[flat] = self.bits[rows]
        rank = np.full(shape, np.nan)
        rank.ravel()[flat] = self.rank[rows]
        return (*arrays, mask, bits, rank)


def _last_visible(mask: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per row i: the last minute j < offsets[i] with a bar (the last bar visible at the scan time), or -1."""
    columns = np.arange(mask.shape[1])
    visible = mask & (columns[None, :] < offsets[:, None])
    found = visible.any(axis=1)
    last = mask.shape[1] - 1 - np.argmax(visible[:, ::-1], axis=1)
    return np.where(found, last, -1)


class ScannerSignals:
    """Entry signals at each session's first hits of the strategy's scanner config (a first-hit sweep)."""

    def __init__(self, store: Store, config: StrategyConfig, sessions: list[dt.date], symbols: np.ndarray,
                 drivers: Drivers) -> None:
        self.hits: Iterator[tuple[dt.date, pd.DataFrame]] = iter_sweep(
            store, config.scanner, sessions[0], sessions[-1], first_hit=True, backend=drivers)
        self.row_of = {symbol: i for i, symbol in enumerate(symbols)}
        self.bit = SHORT_ENTRY if config.direction == "short" else LONG_ENTRY
        self.rank_by = config.account.rank_by
        self.upcoming = next(self.hits, None)

    def session(self, day: dt.date, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The session's entry bits and rank values [symbol x minute]."""
        bits = np.zeros(mask.shape, dtype=np.int8)
        rank = np.full(mask.shape, np.nan)
        if self.upcoming is None or self.upcoming[0] != day:
            return bits, rank
        hits = self.upcoming[1]
        self.upcoming = next(self.hits, None)
        hits = hits[hits["symbol"].isin(self.row_of)]
        if not len(hits):
            return bits, rank
        opening = calendar.session_bounds(day)[0]
        clock = pd.to_datetime(hits["time"], format="%H:%M")
        offsets = (clock.dt.hour * 60 + clock.dt.minute - (opening.hour * 60 + opening.minute)).to_numpy()
        rows = hits["symbol"].map(self.row_of).to_numpy(dtype=np.int64)
        columns = _last_visible(mask[rows], offsets)
        seen = columns >= 0
        bits[rows[seen], columns[seen]] = self.bit
        if self.rank_by is not None:
            rank[rows[seen], columns[seen]] = hits[self.rank_by].to_numpy(dtype=np.float64)[seen]
        return bits, rank


class FunctionSignals:
    """A user's strategy function over each symbol's bars of the run, placed session by session."""

    def __init__(self, store: Store, config: StrategyConfig, days: list[dt.date], symbols: np.ndarray,
                 stored: set[dt.date]) -> None:
        function = resolve_function(config.strategy)
        extra = (config.account.rank_by,) if config.account.rank_by else ()
        frame = _long_bars(store, [day for day in days if day in stored], list(symbols))
        bits = np.zeros(len(frame), dtype=np.int8)
        rank = np.full(len(frame), np.nan)
        for symbol, rows in frame.groupby("symbol", sort=False).indices.items():
            bars = frame.iloc[rows][list(BAR_COLUMNS)].reset_index(drop=True)
            signals = user_signals(function, bars, dict(config.params), extra)
            bits[rows] = signal_bits(*(signals[name].to_numpy() for name in SIGNAL_COLUMNS))
            if extra:
                rank[rows] = signals[extra[0]].to_numpy()
        self.placed = PlacedBars(frame, bits, rank, symbols)

    def session(self, day: dt.date, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The session's signal bits and rank values [symbol x minute]."""
        bits, rank = self.placed.session(day)[6:]
        return bits, rank


def _long_bars(store: Store, days: list[dt.date], symbols: list[str]) -> pd.DataFrame:
    """The regular-session bars of `symbols` on `days` as one frame sorted by (symbol, ts), with `date` and `row`."""
    pieces = []
    for day in days:
        panel = store.read_session(day, symbols)
        rows, columns = np.nonzero(panel.mask)
        pieces.append(pd.DataFrame({
            "symbol": panel.symbols[rows], "ts": panel.minutes[columns].tz_convert(ET).as_unit("ns"),
            **{name: getattr(panel, name)[rows, columns].astype(np.float64) for name in BAR_COLUMNS[1:]},
            "date": day}))
    frame = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(
        {name: [] for name in ("symbol", *BAR_COLUMNS, "date")})
    frame = frame.sort_values(["symbol", "ts"], kind="stable", ignore_index=True)
    frame["row"] = np.arange(len(frame))
    return frame
