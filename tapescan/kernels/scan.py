"""One symbol's session as a scanner sees it: the scalar logic of the scan kernel (docs/spec/metrics.md "Intraday
metrics" and "Scanner semantics").

`scan_symbol` walks the symbol's 1-minute bars once. After the bars visible at each scan time it computes
price, change_pct, range_pct, session_volume and rel_volume and checks the intraday filters; it also records the
cumulative volume at each clock minute (09:31-16:00, tapescan/kernels/tod.py `clock_volumes`), which later
sessions average for their rel_volume. Compiled inline into the CPU drivers (a `prange` over symbols, on a dense panel
or straight on a session's stored bars) and the GPU kernel (a thread per symbol), so every target and form runs the
same arithmetic in the same order.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from tapescan.kernels.jitable import scalar
from tapescan.kernels.session import add_bar
from tapescan.kernels.tod import clock_volumes, relative_volume

#: The intraday filters, rows of `bounds`, and their indices.
INTRADAY_FILTERS = ("change_pct", "range_pct", "rel_volume")
CHANGE, RANGE, RELATIVE = range(len(INTRADAY_FILTERS))
#: Columns of a row of `bounds`: 1.0 when the filter is active (else 0.0), its min and its max (NaN: no bound).
BOUND_COLUMNS = ("active", "min", "max")
BOUND_ACTIVE, BOUND_MIN, BOUND_MAX = range(len(BOUND_COLUMNS))
#: Rows of the values a scan reports per cell, and their indices.
VALUE_FIELDS = ("price", "change_pct", "range_pct", "session_volume", "rel_volume")
PRICE, CHANGE_PCT, RANGE_PCT, SESSION_VOLUME, REL_VOLUME = range(len(VALUE_FIELDS))


class SymbolBars(NamedTuple):
    """One symbol's 1-minute bars as slots in time order: slot k is the bar of panel minute minute[k] when mask[k].
    A dense panel row has a slot per minute (minute[k] = k, absent bars: mask False); a symbol's stored bars
    (tapescan/store/session_bars.py) have a slot per bar (mask all True). Both give the same scan."""

    high: Any
    low: Any
    close: Any
    volume: Any
    mask: Any
    minute: Any


class ScanGrid(NamedTuple):
    """When a session is scanned: visible[t] bars have ended at scan time t, clock[t] is t's clock minute (-1
    when t is not on the 09:31-16:00 grid), clock_visible[c] bars have ended at clock minute c."""

    visible: Any
    clock: Any
    clock_visible: Any


class TodSum(NamedTuple):
    """The time-of-day window: clock volumes summed over its `sessions` sessions (total [clock minute]) and
    whether the symbol is present on all of them (the host holds every symbol: total [symbol x clock minute],
    defined [symbol])."""

    total: Any
    defined: Any
    sessions: Any


@scalar
def within(value, bounds, row):
    """min <= value <= max for the filter in bounds[row] = (active, min, max); NaN bounds are no bound, an
    undefined (NaN) value fails an active filter; an inactive filter passes."""
    if bounds[row, BOUND_ACTIVE] == 0.0:
        return True
    if value != value:
        return False
    if bounds[row, BOUND_MIN] == bounds[row, BOUND_MIN] and value < bounds[row, BOUND_MIN]:
        return False
    if bounds[row, BOUND_MAX] == bounds[row, BOUND_MAX] and value > bounds[row, BOUND_MAX]:
        return False
    return True


@scalar
def evaluate_cell(count, total, top, bottom, last, prev_close, tod, clock, bounds):
    """Whether a symbol passes the intraday filters as of one scan time, and its values there (price, change_pct,
    range_pct, session_volume, rel_volume; NaN where undefined): its bars so far summed in (count, total, top,
    bottom, last) by `add_bar`, `clock` the scan time's clock minute (-1 off the clock grid), `tod` a TodSum.

    Each value is computed once the filters before it have passed, in the order change_pct, range_pct,
    rel_volume: a failing cell's values are never read (NaN is returned for them), and most cells fail the first
    active filter. Without bars every value is NaN, which passes only inactive filters."""
    nan = math.nan
    if count == 0:
        empty = within(nan, bounds, CHANGE) and within(nan, bounds, RANGE) and within(nan, bounds, RELATIVE)
        return empty, nan, nan, nan, nan, nan
    change = 100.0 * (last / prev_close - 1.0)
    if not within(change, bounds, CHANGE):
        return False, nan, nan, nan, nan, nan
    spread = 100.0 * (top - bottom) / bottom
    if not within(spread, bounds, RANGE):
        return False, nan, nan, nan, nan, nan
    session_volume = float(total)
    relative = nan
    if tod.defined and clock >= 0:
        relative = relative_volume(session_volume, tod.total[clock] / tod.sessions)
    return within(relative, bounds, RELATIVE), last, change, spread, session_volume, relative


@scalar
def scan_symbol(bars, grid, tod, eligible, prev_close, bounds, first_hit, passed, values, clock_volume):
    """Scan one symbol (`bars`, a SymbolBars) at every scan time t of `grid` (a ScanGrid), whose bars are the
    first visible[t] minutes; returns whether it has any bar this session.

    passed[t] is set for every t (False when not `eligible`, i.e. not in the universe or failing a trailing
    filter); values[:, t] (VALUE_FIELDS) is written where passed[t]; clock_volume[c] is the volume of the first
    clock_visible[c] minutes. rel_volume = session_volume / (tod.total[clock[t]] / tod.sessions),
    defined when `tod.defined`, clock[t] >= 0 and the average is positive. pandas equivalent at one t: the
    visible bars' ``close.iloc[-1]``, ``volume.sum()``, ``high.max()``, ``low.min()`` and the
    docs/spec/metrics.md formulas. The named tuples are only read: numba (0.68) can drop a write into an array
    reached through a tuple field of an inlined function, so the outputs are plain arguments.
    """
    traded = clock_volumes(bars.volume, bars.mask, bars.minute, grid.clock_visible, clock_volume)
    if not eligible:  # no scan time can pass: only the clock volumes are needed (most symbols, in most sweeps)
        for t in range(grid.visible.shape[0]):
            passed[t] = False
        return traded
    slots = bars.minute.shape[0]
    total = 0
    count = 0
    top = math.nan
    bottom = math.nan
    last = math.nan
    hit = False
    k = 0
    t = 0
    while True:
        while t < grid.visible.shape[0] and (k == slots or grid.visible[t] <= bars.minute[k]):
            passed[t] = False
            if not (first_hit and hit):
                cell_passes, price, change, spread, session_volume, relative = evaluate_cell(
                    count, total, top, bottom, last, prev_close, tod, grid.clock[t], bounds)
                if cell_passes:
                    passed[t] = True
                    hit = True
                    values[PRICE, t] = price
                    values[CHANGE_PCT, t] = change
                    values[RANGE_PCT, t] = spread
                    values[SESSION_VOLUME, t] = session_volume
                    values[REL_VOLUME, t] = relative
            t += 1
        if k == slots:
            break
        if bars.mask[k]:
            total, count, top, bottom, last = add_bar(total, count, top, bottom, bars.high[k], bars.low[k],
                                                      bars.close[k], bars.volume[k])
        k += 1
    return traded
