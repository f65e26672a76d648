"""CPU driver of the scan kernel: one symbol per parallel iteration, panels [symbol x minute]."""

from __future__ import annotations

from numba import njit, prange

from tapescan.kernels.scan import scan_symbol


@njit(parallel=True, cache=True, error_model="numpy")
def scan_panel(high, low, close, volume, mask, visible, clock, clock_visible, eligible, prev_close, tod_sum,
               tod_defined, tod_n, bounds, first_hit, passed, values, clock_volume, traded):
    """`scan_symbol` for every row: passed [symbol x time], values [field x symbol x time], clock_volume
    [symbol x clock minute], traded [symbol]."""
    for s in prange(mask.shape[0]):
        traded[s] = scan_symbol(high[s], low[s], close[s], volume[s], mask[s], visible, clock, clock_visible,
                                eligible[s], prev_close[s], tod_sum[s], tod_defined[s], tod_n, bounds, first_hit,
                                passed[s], values[:, s, :], clock_volume[s])
