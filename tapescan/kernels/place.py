"""Placing a session's stored bars into a dense panel: the scalar logic shared by the CPU reader
(tapescan/cpu_fallback/place.py) and the GPU loader (tapescan/gpu/panels.py).

Both write panels seen as [minute x symbol] arrays (the CPU driver passes transposed views of its
[symbol x minute] panel), one cell or one bar at a time; cells never collide, since the store holds at most
one bar per (symbol, minute).
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
def place_bar(i, lookup, codes, ts, start_ns, bar_open, bar_high, bar_low, bar_close, bar_volume,
              open_, high, low, close, volume, mask):
    """Put stored bar i in its cell: row lookup[codes[i]] (skipped when -1), minute (ts - start) // 1 minute
    (skipped outside the panel's minutes: an extended-hours bar in a regular-session panel, as the store's
    `extended` column would say, since both come from the same calendar bounds)."""
    row = lookup[codes[i]]
    minute = (ts[i] - start_ns) // NS_PER_MINUTE
    if row >= 0 and 0 <= minute < mask.shape[0]:
        open_[minute, row] = bar_open[i]
        high[minute, row] = bar_high[i]
        low[minute, row] = bar_low[i]
        close[minute, row] = bar_close[i]
        volume[minute, row] = bar_volume[i]
        mask[minute, row] = True
