"""GPU driver of the trailing-window kernel: one thread per symbol on [session x symbol] arrays, so that
a warp's threads read neighbouring symbols of one session at a time (coalesced)."""

from __future__ import annotations

import numpy as np
from numba import cuda

from tapescan.gpu.launch import THREADS_PER_BLOCK, blocks
from tapescan.kernels.trailing import TRAILING_FIELDS, trailing_symbol


@cuda.jit
def _trailing_kernel(close, volume, high, low, present, bench_close, bench_present, days, out):
    s = cuda.grid(1)
    if s < close.shape[1]:
        trailing_symbol(close[:, s], volume[:, s], high[:, s], low[:, s], present[:, s],
                        bench_close, bench_present, days, out, s)


def trailing_metrics(close, volume, high, low, present, bench_close, bench_present, days: int,
                     threads: int = THREADS_PER_BLOCK) -> np.ndarray:
    """Like tapescan.cpu_fallback.trailing.trailing_metrics; returns the host array [7 x session x symbol]."""
    sessions, symbols = close.shape
    inputs = [cuda.to_device(np.ascontiguousarray(a)) for a in (close, volume, high, low, present, bench_close,
                                                                bench_present)]
    out = cuda.device_array((len(TRAILING_FIELDS), sessions, symbols), np.float64)
    _trailing_kernel[blocks(symbols, threads), threads](*inputs, days, out)
    return out.copy_to_host()
