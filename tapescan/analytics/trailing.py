"""Trailing-window metrics for all symbols and all sessions at once (docs/spec/metrics.md "Trailing-window metrics").

The input is a :class:`DailyMatrix`: daily values as dense [session x symbol] arrays over consecutive
NYSE calendar sessions (so that "the N sessions before D" is the N rows above D's), with a presence mask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.analytics.drivers import Backend, compute_for
from tapescan.errors import TapescanError
from tapescan.kernels.trailing import TRAILING_FIELDS


@dataclass(frozen=True)
class DailyMatrix:
    """Daily values as [session x symbol] arrays over consecutive calendar sessions."""

    sessions: list[dt.date]
    symbols: np.ndarray
    close: np.ndarray  # float64, NaN where not present
    volume: np.ndarray  # float64 (exact integers), NaN where not present
    high: np.ndarray
    low: np.ndarray
    present: np.ndarray  # bool: the symbol has a regular-session bar that session


def daily_matrix(daily: pd.DataFrame, start: calendar.DateLike, end: calendar.DateLike,
                 symbols: Sequence[str] | None = None) -> DailyMatrix:
    """Dense daily matrices from daily-value rows (date, symbol, high, low, close, volume, as
    `Store.read_daily` returns) over every calendar session from `start` to `end`."""
    sessions = list(calendar.sessions(start, end)["date"])
    rows = pd.DatetimeIndex(pd.to_datetime(sessions)).get_indexer(pd.to_datetime(daily["date"]))
    if symbols is None:
        cols, uniques = pd.factorize(daily["symbol"], sort=True)
        names = np.asarray(uniques, dtype=object)
    else:
        names = np.asarray(list(symbols), dtype=object)
        cols = pd.Index(names).get_indexer(daily["symbol"])
    keep = (rows >= 0) & (cols >= 0)
    rows, cols = rows[keep], cols[keep]
    shape = (len(sessions), len(names))
    arrays = {}
    for field in ("close", "volume", "high", "low"):
        arrays[field] = np.full(shape, np.nan)
        arrays[field][rows, cols] = daily[field].to_numpy(dtype=np.float64)[keep]
    present = ~np.isnan(arrays["close"])
    return DailyMatrix(sessions, names, arrays["close"], arrays["volume"], arrays["high"], arrays["low"], present)


def trailing_metrics(matrix: DailyMatrix, days: int, benchmark: str = "SPY",
                     backend: Backend = "auto") -> dict[str, pd.DataFrame]:
    """Each of TRAILING_FIELDS as a DataFrame [session x symbol] (NaN where undefined) for window `days`.

    Returns, std_pct, beta and correlation use the benchmark's daily closes; a benchmark missing from the
    matrix leaves beta and correlation undefined.
    """
    if days < 1:
        raise TapescanError(f"a trailing window needs at least 1 session (got {days}).")
    column = np.flatnonzero(matrix.symbols == benchmark)
    bench_close = matrix.close[:, column[0]].copy() if len(column) else np.full(len(matrix.sessions), np.nan)
    bench_present = ~np.isnan(bench_close)
    out = compute_for(backend).trailing_metrics(matrix.close, matrix.volume, matrix.high, matrix.low, matrix.present,
                                                bench_close, bench_present, days)
    index = pd.Index(matrix.sessions, name="date")
    columns = pd.Index(matrix.symbols, name="symbol")
    return {name: pd.DataFrame(out[k], index=index, columns=columns) for k, name in enumerate(TRAILING_FIELDS)}
