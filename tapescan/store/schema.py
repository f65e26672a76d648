"""Column schemas of the store's tables, and the checks that incoming bars must pass.

The store keeps prices as float64 and volumes as int64, bar timestamps as time-zone-aware ET instants
(nanoseconds) stamped at the start of the bar, and a flag for bars outside the regular session.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tapescan.calendar import NS_PER_MINUTE
from tapescan.errors import StoreError

ET_NAME = "America/New_York"
#: Version 2 added each file's size and digests to the manifest (version 1 manifests are still read).
SCHEMA_VERSION = 2

#: Price adjustments a symbol's bars can carry; one symbol's bars never mix two of them.
ADJUSTMENTS = ("unadjusted", "split", "split_dividend", "unknown")

PRICE_FIELDS = ("open", "high", "low", "close")

#: What a writer accepts (ts may be in any time zone; it is converted to ET).
INPUT_BARS = pa.schema(
    [
        ("symbol", pa.string()),
        ("ts", pa.timestamp("ns", tz=ET_NAME)),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.int64()),
    ]
)

#: One session partition of 1-minute bars, sorted by (symbol, ts).
BARS_1M = INPUT_BARS.append(pa.field("extended", pa.bool_()))

#: Daily values (docs/spec/metrics.md "Daily values"), one row per (date, symbol) present, sorted by (date, symbol).
DAILY = pa.schema(
    [
        ("date", pa.date32()),
        ("symbol", pa.string()),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.int64()),
        ("vwap", pa.float64()),
        ("bars", pa.int32()),
    ]
)

#: One row per stored symbol.
SYMBOLS = pa.schema(
    [
        ("symbol", pa.string()),
        ("adjustment", pa.string()),
        ("source", pa.string()),
        ("first_session", pa.date32()),
        ("last_session", pa.date32()),
        ("sessions", pa.int32()),
        ("bars", pa.int64()),
        ("attributes", pa.string()),
    ]
)


def conform_input_bars(bars: pa.Table) -> pa.Table:
    """Check and cast incoming bars to :data:`INPUT_BARS`; raise StoreError naming the first problem.

    Refused: missing columns, nulls, naive timestamps, timestamps not on a minute boundary, NaN or infinite
    or non-positive prices, high below low, open/close outside [low, high], negative volume.
    """
    missing = [name for name in INPUT_BARS.names if name not in bars.column_names]
    if missing:
        raise StoreError(f"bars lack the column(s) {missing}; expected {INPUT_BARS.names}.")
    ts_type = bars.schema.field("ts").type
    if not pa.types.is_timestamp(ts_type) or ts_type.tz is None:
        raise StoreError(
            f"column ts must hold time-zone-aware timestamps (got {ts_type}); localize naive times "
            f"to the vendor's zone first (usually {ET_NAME})."
        )
    try:
        bars = bars.select(INPUT_BARS.names).cast(INPUT_BARS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise StoreError(f"bars cannot be converted to the store's types {INPUT_BARS}: {error}") from error
    for name in INPUT_BARS.names:
        nulls = bars.column(name).null_count
        if nulls:
            raise StoreError(f"column {name} has {nulls} missing value(s); the store keeps complete bars only.")
    _refuse_rows(bars, _bad_row_mask(bars))
    return bars


def _bad_row_mask(bars: pa.Table) -> np.ndarray:
    """Rows that are not well-formed bars (see conform_input_bars)."""
    o, h, l, c = (bars.column(name).to_numpy() for name in PRICE_FIELDS)
    ts = bars.column("ts").cast(pa.int64()).to_numpy()
    volume = bars.column("volume").to_numpy()
    return (
        (ts % NS_PER_MINUTE != 0)
        | ~np.isfinite(o) | ~np.isfinite(h) | ~np.isfinite(l) | ~np.isfinite(c)
        | ~(l > 0)
        | ~(h >= l)
        | (o < l) | (o > h) | (c < l) | (c > h)
        | (volume < 0)
    )


def _refuse_rows(bars: pa.Table, bad: np.ndarray) -> None:
    """Raise StoreError describing the first bad row, if any."""
    count = int(bad.sum())
    if not count:
        return
    first = int(np.argmax(bad))
    row = {name: bars.column(name)[first].as_py() for name in INPUT_BARS.names}
    raise StoreError(
        f"{count} bar(s) are not well-formed 1-minute bars (prices > 0, low <= open/close <= high, "
        f"volume >= 0, ts on a whole minute); the first is {row}. Clean them (tapescan ingest quarantines "
        "such rows) before writing."
    )


def is_sorted(bars: pa.Table) -> bool:
    """True when rows are strictly ordered by (symbol, ts) (a cheap check that spares most sorts)."""
    if bars.num_rows < 2:
        return True
    symbol, ts = bars.column("symbol"), bars.column("ts")
    head, tail = slice(0, bars.num_rows - 1), slice(1, None)
    symbol_head, symbol_tail = symbol[head], symbol[tail]
    ts_head, ts_tail = ts[head], ts[tail]
    ordered = pc.or_(
        pc.less(symbol_head, symbol_tail),
        pc.and_(pc.equal(symbol_head, symbol_tail), pc.less(ts_head, ts_tail)),
    )
    return bool(pc.all(ordered).as_py())


def sort_bars(bars: pa.Table) -> pa.Table:
    """Bars ordered by (symbol, ts), the store's row order."""
    if is_sorted(bars):
        return bars
    return bars.take(pc.sort_indices(bars, sort_keys=[("symbol", "ascending"), ("ts", "ascending")]))
