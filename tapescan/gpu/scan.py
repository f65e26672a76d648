"""GPU driver of the scan kernel: one thread per symbol on a device panel [minute x symbol] (coalesced)."""

from __future__ import annotations

import numpy as np
from numba import cuda

from tapescan.gpu.launch import THREADS_PER_BLOCK, blocks
from tapescan.gpu.panels import DevicePanel, slot_minutes
from tapescan.kernels.scan import VALUE_FIELDS, ScanGrid, SymbolBars, TodSum, scan_symbol


@cuda.jit
def _scan_kernel(high, low, close, volume, mask, slot_minutes, visible, clock, clock_visible, eligible, prev_close,
                 tod_sum, tod_defined, tod_n, bounds, first_hit, passed, values, clock_volume, traded):
    s = cuda.grid(1)
    if s < mask.shape[1]:
        bars = SymbolBars(high[:, s], low[:, s], close[:, s], volume[:, s], mask[:, s], slot_minutes)
        traded[s] = scan_symbol(bars, ScanGrid(visible, clock, clock_visible),
                                TodSum(tod_sum[:, s], tod_defined[s], tod_n), eligible[s], prev_close[s], bounds,
                                first_hit, passed[:, s], values[:, :, s], clock_volume[:, s])


def scan_panel(panel: DevicePanel, grid: ScanGrid, eligible: np.ndarray, prev_close: np.ndarray, tod: TodSum,
               bounds: np.ndarray, first_hit: bool, threads: int = THREADS_PER_BLOCK) -> tuple[np.ndarray, ...]:
    """Like tapescan.cpu_fallback.scan.scan_panel; host inputs (tod.total [symbol x clock minute]), host results
    passed [symbol x time], values [field x symbol x time], clock_volume [symbol x clock minute], traded. The
    kernel takes flat arrays and scalars and builds the kernel's named tuples itself."""
    symbols = panel.shape[0]
    visible, clock, clock_visible = grid
    tod_sum, tod_defined, tod_n = tod
    times, clocks = len(visible), len(clock_visible)
    passed = cuda.device_array((times, symbols), np.bool_)
    values = cuda.device_array((len(VALUE_FIELDS), times, symbols), np.float64)
    clock_volume = cuda.device_array((clocks, symbols), np.int64)
    traded = cuda.device_array(symbols, np.bool_)
    inputs = [cuda.to_device(np.ascontiguousarray(a)) for a in (visible, clock, clock_visible, eligible, prev_close,
                                                                np.asarray(tod_sum).T, tod_defined)]
    _scan_kernel[blocks(symbols, threads), threads](
        panel.high, panel.low, panel.close, panel.volume, panel.mask, slot_minutes(panel), *inputs, tod_n,
        cuda.to_device(bounds), first_hit, passed, values, clock_volume, traded)
    return (np.ascontiguousarray(passed.copy_to_host().T),
            np.ascontiguousarray(values.copy_to_host().transpose(0, 2, 1)),
            np.ascontiguousarray(clock_volume.copy_to_host().T), traded.copy_to_host())
