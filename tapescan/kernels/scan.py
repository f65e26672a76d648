"""One symbol's session as a scanner sees it: the scalar logic of the scan kernel (docs/spec/metrics.md "Intraday
metrics" and "Scanner semantics").

`scan_symbol` walks the symbol's 1-minute bars once. After the bars visible at each scan time it computes
price, change_pct, range_pct, session_volume and rel_volume and checks the intraday filters; after the bars
visible at each clock minute (09:31-16:00) it records the cumulative volume, which later sessions average
for their rel_volume. Compiled inline into the CPU driver (a `prange` over symbols) and the GPU kernel (a
thread per symbol), so both targets run the same arithmetic in the same order.
"""

from __future__ import annotations

import math

from numba.core.extending import register_jitable

from tapescan.kernels.session import add_bar

#: Rows of `bounds` (intraday filters) and of the values a scan reports per cell.
CHANGE, RANGE, RELATIVE = 0, 1, 2
VALUE_FIELDS = ("price", "change_pct", "range_pct", "session_volume", "rel_volume")


@register_jitable(inline="always")
def within(value, bounds, row):
    """min <= value <= max for the filter in bounds[row] = (active, min, max); NaN bounds are no bound, an
    undefined (NaN) value fails an active filter; an inactive filter passes."""
    if bounds[row, 0] == 0.0:
        return True
    if value != value:
        return False
    if bounds[row, 1] == bounds[row, 1] and value < bounds[row, 1]:
        return False
    if bounds[row, 2] == bounds[row, 2] and value > bounds[row, 2]:
        return False
    return True


@register_jitable(inline="always")
def scan_symbol(high, low, close, volume, mask, visible, clock, clock_visible, eligible, prev_close, tod_sum,
                tod_defined, tod_n, bounds, first_hit, passed, values, clock_volume):
    """Scan one symbol at every scan time t, whose bars are the first visible[t] minutes; returns whether it
    has any bar this session.

    passed[t] is set for every t (False when not `eligible`, i.e. not in the universe or failing a trailing
    filter); values[:, t] (VALUE_FIELDS) is written where passed[t]; clock_volume[c] is the volume of the
    first clock_visible[c] minutes. rel_volume = session_volume / (tod_sum[clock[t]] / tod_n), defined when
    `tod_defined`, clock[t] >= 0 and the average is positive. pandas equivalent at one t: the visible bars'
    ``close.iloc[-1]``, ``volume.sum()``, ``high.max()``, ``low.min()`` and the docs/spec/metrics.md formulas.
    """
    minutes = mask.shape[0]
    total = 0
    count = 0
    top = math.nan
    bottom = math.nan
    last = math.nan
    hit = False
    j = 0
    t = 0
    c = 0
    while True:
        while c < clock_visible.shape[0] and clock_visible[c] <= j:
            clock_volume[c] = total
            c += 1
        while t < visible.shape[0] and visible[t] <= j:
            passed[t] = False
            if eligible and not (first_hit and hit):
                price = math.nan
                change = math.nan
                spread = math.nan
                session_volume = math.nan
                relative = math.nan
                if count > 0:
                    price = last
                    change = 100.0 * (price / prev_close - 1.0)
                    spread = 100.0 * (top - bottom) / bottom
                    session_volume = float(total)
                    if tod_defined and clock[t] >= 0:
                        average = tod_sum[clock[t]] / tod_n
                        if average > 0:
                            relative = session_volume / average
                if within(change, bounds, CHANGE) and within(spread, bounds, RANGE) and within(
                        relative, bounds, RELATIVE):
                    passed[t] = True
                    hit = True
                    values[0, t] = price
                    values[1, t] = change
                    values[2, t] = spread
                    values[3, t] = session_volume
                    values[4, t] = relative
            t += 1
        if j == minutes:
            break
        if mask[j]:
            total, count, top, bottom, last = add_bar(total, count, top, bottom, high[j], low[j], close[j],
                                                      volume[j])
        j += 1
    return count > 0
