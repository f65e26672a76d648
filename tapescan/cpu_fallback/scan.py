"""CPU driver of the scan kernel: one symbol per parallel iteration, panels [symbol x minute]."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from tapescan.kernels.scan import VALUE_FIELDS, ScanGrid, SymbolBars, TodSum, scan_symbol

if TYPE_CHECKING:
    from tapescan.store.reader import SessionPanel


@njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def _scan(high, low, close, volume, mask, visible, clock, clock_visible, eligible, prev_close, tod_sum,
          tod_defined, tod_n, bounds, first_hit, passed, values, clock_volume, traded):
    """`scan_symbol` for every row: passed [symbol x time], values [field x symbol x time], clock_volume
    [symbol x clock minute], traded [symbol]."""
    for s in prange(mask.shape[0]):
        traded[s] = scan_symbol(SymbolBars(high[s], low[s], close[s], volume[s], mask[s]),
                                ScanGrid(visible, clock, clock_visible),
                                TodSum(tod_sum[s], tod_defined[s], tod_n), eligible[s], prev_close[s], bounds,
                                first_hit, passed[s], values[:, s, :], clock_volume[s])


def scan_panel(panel: SessionPanel, grid: ScanGrid, eligible: np.ndarray, prev_close: np.ndarray, tod: TodSum,
               bounds: np.ndarray, first_hit: bool) -> tuple[np.ndarray, ...]:
    """The scan kernel over a host panel; results passed [symbol x time], values [field x symbol x time],
    clock_volume [symbol x clock minute], traded [symbol] (as tapescan.gpu.scan.scan_panel)."""
    symbols, times = panel.shape[0], len(grid.visible)
    passed = np.empty((symbols, times), dtype=bool)
    values = np.empty((len(VALUE_FIELDS), symbols, times))
    clock_volume = np.empty((symbols, len(grid.clock_visible)), dtype=np.int64)
    traded = np.empty(symbols, dtype=bool)
    _scan(panel.high, panel.low, panel.close, panel.volume, panel.mask, *grid, eligible, prev_close, *tod, bounds,
          first_hit, passed, values, clock_volume, traded)
    return passed, values, clock_volume, traded
