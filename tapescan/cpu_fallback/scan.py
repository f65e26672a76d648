"""CPU drivers of the scan kernel: one symbol per parallel iteration, over a dense panel [symbol x minute] or over
a session's stored bars (tapescan/store/session_bars.py), which skips building the panel."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tapescan.kernels.scan import VALUE_FIELDS, ScanGrid, SymbolBars, TodSum, scan_symbol
from tapescan.store.reader import SessionPanel
from tapescan.store.session_bars import SessionBars


@njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def _scan(high, low, close, volume, mask, visible, clock, clock_visible, eligible, prev_close, tod_sum,
          tod_defined, tod_n, bounds, first_hit, passed, values, clock_volume, traded):
    """`scan_symbol` for every row of a dense panel (a slot per minute): passed [symbol x time], values
    [field x symbol x time], clock_volume [symbol x clock minute], traded [symbol]."""
    slot_minutes = np.arange(mask.shape[1])
    for s in prange(mask.shape[0]):
        traded[s] = scan_symbol(SymbolBars(high[s], low[s], close[s], volume[s], mask[s], slot_minutes),
                                ScanGrid(visible, clock, clock_visible),
                                TodSum(tod_sum[s], tod_defined[s], tod_n), eligible[s], prev_close[s], bounds,
                                first_hit, passed[s], values[:, s, :], clock_volume[s])


@njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def _scan_bars(high, low, close, volume, minute, first, end, width, visible, clock, clock_visible, eligible, prev_close,
               tod_sum, tod_defined, tod_n, bounds, first_hit, passed, values, clock_volume, traded):
    """`scan_symbol` for every row of a session's stored bars (a slot per bar: row s's are first[s]:end[s] of the
    flat columns, `minute` their panel minutes); outputs as `_scan`."""
    present = np.ones(width, dtype=np.bool_)  # a row has at most one bar a panel minute
    for s in prange(first.shape[0]):
        bars = slice(first[s], end[s])
        traded[s] = scan_symbol(SymbolBars(high[bars], low[bars], close[bars], volume[bars],
                                           present[:end[s] - first[s]], minute[bars]),
                                ScanGrid(visible, clock, clock_visible),
                                TodSum(tod_sum[s], tod_defined[s], tod_n), eligible[s], prev_close[s], bounds,
                                first_hit, passed[s], values[:, s, :], clock_volume[s])


def scan_panel(panel: SessionPanel | SessionBars, grid: ScanGrid, eligible: np.ndarray, prev_close: np.ndarray,
               tod: TodSum, bounds: np.ndarray, first_hit: bool) -> tuple[np.ndarray, ...]:
    """The scan kernel over a host panel or a session's stored bars; results passed [symbol x time], values
    [field x symbol x time], clock_volume [symbol x clock minute], traded [symbol] (as
    tapescan.gpu.scan.scan_panel)."""
    symbols, times = panel.shape[0], len(grid.visible)
    passed = np.empty((symbols, times), dtype=bool)
    values = np.empty((len(VALUE_FIELDS), symbols, times))
    clock_volume = np.empty((symbols, len(grid.clock_visible)), dtype=np.int64)
    traded = np.empty(symbols, dtype=bool)
    outputs = (passed, values, clock_volume, traded)
    if isinstance(panel, SessionBars):
        _scan_bars(panel.high, panel.low, panel.close, panel.volume, panel.minute, panel.first, panel.end,
                   panel.shape[1], *grid, eligible, prev_close, *tod, bounds, first_hit, *outputs)
    else:
        _scan(panel.high, panel.low, panel.close, panel.volume, panel.mask, *grid, eligible, prev_close, *tod,
              bounds, first_hit, *outputs)
    return outputs
