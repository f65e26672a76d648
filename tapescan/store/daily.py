"""Daily values of one session (docs/spec/metrics.md "Daily values"), computed when the session is written.

For rows sorted by (symbol, ts) and restricted to regular-session bars, this equals the pandas expression

    bars[~bars.extended].groupby("symbol").agg(open=("open", "first"), high=("high", "max"),
        low=("low", "min"), close=("close", "last"), volume=("volume", "sum"), bars=("ts", "size"))

plus vwap = sum(((high + low + close) / 3) * volume) / volume, undefined (NaN) when volume is 0.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    regular = bars.filter(pc.invert(bars.column("extended")))
    if regular.num_rows == 0:
        return DAILY.empty_table()
    starts = group_starts(regular.column("symbol"))
    ends = np.append(starts[1:], regular.num_rows)
    o, h, l, c = (regular.column(name).to_numpy() for name in ("open", "high", "low", "close"))
    volume = regular.column("volume").to_numpy()
    volume_d = np.add.reduceat(volume, starts)
    typical_volume = np.add.reduceat(((h + l + c) / 3.0) * volume, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = np.where(volume_d > 0, typical_volume / volume_d, np.nan)
    columns = {
        "date": pa.array([session] * len(starts), pa.date32()),
        "symbol": regular.column("symbol").take(pa.array(starts)),
        "open": o[starts],
        "high": np.maximum.reduceat(h, starts),
        "low": np.minimum.reduceat(l, starts),
        "close": c[ends - 1],
        "volume": volume_d,
        "vwap": vwap,
        "bars": (ends - starts).astype(np.int32),
    }
    return pa.table(columns, schema=DAILY)
