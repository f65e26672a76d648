"""CPU driver of the trailing-window kernel: one symbol per parallel iteration, arrays [session x symbol]."""

from __future__ import annotations

from numba import njit, prange

from tapescan.kernels.trailing import trailing_symbol


@njit(parallel=True, cache=True)
def trailing_metrics(close, volume, high, low, present, bench_close, bench_present, days, out):
    """`trailing_symbol` for every column (symbol) of [session x symbol] arrays into out [7 x session x symbol]."""
    for s in prange(close.shape[1]):
        trailing_symbol(close[:, s], volume[:, s], high[:, s], low[:, s], present[:, s],
                        bench_close, bench_present, days, out, s)
