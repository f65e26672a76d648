"""CPU driver of the panel-placing kernel: empty every cell, then place every bar, both in parallel."""

from __future__ import annotations

from numba import njit, prange

from tapescan.kernels.place import empty_cell, place_bar


@njit(parallel=True, cache=True)
def place_session(lookup, codes, ts, extended, start_ns, bar_open, bar_high, bar_low, bar_close, bar_volume,
                  open_, high, low, close, volume, mask):
    """Fill the [minute x symbol] views (open_ ... mask) from a session's stored bars (regular ones only)."""
    minutes, symbols = mask.shape
    for s in prange(symbols):
        for m in range(minutes):
            empty_cell(open_, high, low, close, volume, mask, m, s)
    for i in prange(codes.shape[0]):
        place_bar(i, lookup, codes, ts, extended, start_ns, bar_open, bar_high, bar_low, bar_close, bar_volume,
                  open_, high, low, close, volume, mask)
