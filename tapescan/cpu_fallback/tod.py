"""CPU driver of the time-of-day volume kernel: one symbol per parallel iteration."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tapescan.kernels.tod import tod_average


@njit(parallel=True, cache=True)
def _tod(history, present, out):
    """`tod_average` for every symbol: history [session x symbol x clock minute], present [session x symbol],
    out [symbol x clock minute]."""
    for s in prange(history.shape[1]):
        tod_average(history[:, s, :], present[:, s], out[s])


def tod_average_volume(history: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Mean clock volume over the window's sessions: the array [symbol x clock minute] (NaN where incomplete)."""
    out = np.empty((history.shape[1], history.shape[2]))
    _tod(history, np.ascontiguousarray(present), out)
    return out
