"""Placing a session's stored bars into a dense panel: the scalar logic shared by the CPU reader
(tapescan/cpu_fallback/place.py) and the GPU loader (tapescan/gpu/panels.py).

Each driver gives a bar its cell with `bar_minute` and writes the bar there (the CPU into its [symbol x minute]
panel, the GPU into [minute x symbol]); cells never collide, since the store holds at most one bar per (symbol,
minute). `empty_cell` marks a device cell absent (the host allocates its panel already empty).
"""

from __future__ import annotations

import math

from tapescan.calendar import NS_PER_MINUTE
from tapescan.kernels.jitable import scalar


@scalar
def empty_cell(open_, high, low, close, volume, mask, minute, symbol):
    """Mark the cell absent: NaN prices, volume 0, mask False."""
    open_[minute, symbol] = math.nan
    high[minute, symbol] = math.nan
    low[minute, symbol] = math.nan
    close[minute, symbol] = math.nan
    volume[minute, symbol] = 0
    mask[minute, symbol] = False


@scalar
def bar_minute(row, ts, start_ns, minutes):
    """The panel minute of a bar of panel row `row` starting at `ts` (ns since the epoch), or -1 when the bar has
    no cell: row -1 (a symbol not wanted) or a minute outside the panel's `minutes` (an extended-hours bar in a
    regular-session panel, exactly as the store's `extended` column would say: both come from the calendar's
    session bounds).

    Scalars only: a jitable inlined into the per-bar loop with array arguments costs the CPU a reference count
    per array per bar (six times the loop's own work, measured)."""
    minute = (ts - start_ns) // NS_PER_MINUTE
    if row < 0 or minute < 0 or minute >= minutes:
        return -1
    return minute
