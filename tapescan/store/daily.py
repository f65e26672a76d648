"""Daily values of one session (docs/spec/metrics.md "Daily values"), computed when the session is written.

For rows sorted by (symbol, ts), this equals the pandas expression

    bars[~bars.extended].groupby("symbol").agg(open=("open", "first"), high=("high", "max"),
        low=("low", "min"), close=("close", "last"), volume=("volume", "sum"), bars=("ts", "size"))

plus vwap = sum(((high + low + close) / 3) * volume) / volume, undefined (NaN) when volume is 0. The arithmetic
is the daily-value kernel's (tapescan/kernels/session.py `session_daily`), the one analytics.daily_values runs
on a panel, here over each symbol's run of rows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tapescan.cpu_fallback.session import daily_values_of_runs
from tapescan.kernels.session import (
    DAILY_BARS,
    DAILY_CLOSE,
    DAILY_HIGH,
    DAILY_LOW,
    DAILY_OPEN,
    DAILY_VOLUME,
    DAILY_VWAP,
)
from tapescan.store.schema import DAILY


def group_starts(symbols: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Start offsets of the runs of equal symbols in a symbol-sorted column."""
    column = symbols.combine_chunks() if isinstance(symbols, pa.ChunkedArray) else symbols
    n = len(column)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    changes = pc.not_equal(column.slice(1), column.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    return np.concatenate(([0], np.flatnonzero(changes) + 1))


def session_daily_values(bars: pa.Table, session: dt.date) -> pa.Table:
    """One :data:`DAILY` row per symbol with at least one regular-session bar in `bars` (one session)."""
    starts = group_starts(bars.column("symbol"))
    fields = (bars.column(name).to_numpy() for name in ("open", "high", "low", "close", "volume"))
    values = daily_values_of_runs(*fields, ~bars.column("extended").to_numpy(), starts)
    kept = values[DAILY_BARS] > 0
    values = values[:, kept]
    columns = {
        "date": pa.array([session] * values.shape[1], pa.date32()),
        "symbol": bars.column("symbol").take(pa.array(starts[kept])),
        "open": values[DAILY_OPEN],
        "high": values[DAILY_HIGH],
        "low": values[DAILY_LOW],
        "close": values[DAILY_CLOSE],
        "volume": values[DAILY_VOLUME].astype(np.int64),
        "vwap": values[DAILY_VWAP],
        "bars": values[DAILY_BARS].astype(np.int32),
    }
    return pa.table(columns, schema=DAILY)
