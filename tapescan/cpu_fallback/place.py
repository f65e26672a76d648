"""CPU drivers of the panel-placing kernels: empty every cell, then place a run of bars, each in parallel."""

from __future__ import annotations

from numba import njit, prange

from tapescan.kernels.place import empty_cell, place_bar


@njit(parallel=True, cache=True)
def empty_panel(open_, high, low, close, volume, mask):
    """Mark every cell of the [minute x symbol] views (open_ ... mask) absent."""
    minutes, symbols = mask.shape
    for s in prange(symbols):
        for m in range(minutes):
            empty_cell(open_, high, low, close, volume, mask, m, s)


@njit(parallel=True, cache=True)
def place_chunk(lookup, codes, ts, start_ns, bar_open, bar_high, bar_low, bar_close, bar_volume,
               open_, high, low, close, volume, mask):
    """Put a run of stored bars (one Arrow chunk, say) into the [minute x symbol] views (open_ ... mask)."""
    for i in prange(codes.shape[0]):
        place_bar(i, lookup, codes, ts, start_ns, bar_open, bar_high, bar_low, bar_close, bar_volume,
                  open_, high, low, close, volume, mask)
