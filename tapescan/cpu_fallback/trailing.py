"""CPU driver of the trailing-window kernel: one symbol per parallel iteration, arrays [session x symbol]."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tapescan.kernels.trailing import TRAILING_FIELDS, trailing_symbol


@njit(parallel=True, cache=True)
def _trailing(close, volume, high, low, present, bench_close, bench_present, days, out):
    """`trailing_symbol` for every column (symbol) of [session x symbol] arrays into out [field x session x symbol]."""
    for s in prange(close.shape[1]):
        trailing_symbol(close[:, s], volume[:, s], high[:, s], low[:, s], present[:, s],
                        bench_close, bench_present, days, out, s)


def trailing_metrics(close: np.ndarray, volume: np.ndarray, high: np.ndarray, low: np.ndarray, present: np.ndarray,
                     bench_close: np.ndarray, bench_present: np.ndarray, days: int) -> np.ndarray:
    """The trailing-window metrics of [session x symbol] arrays: the array [TRAILING_FIELDS x session x symbol]."""
    out = np.empty((len(TRAILING_FIELDS), *close.shape))
    _trailing(close, volume, high, low, present, bench_close, bench_present, days, out)
    return out
