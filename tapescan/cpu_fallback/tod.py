"""CPU driver of the time-of-day volume kernel: one symbol per parallel iteration."""

from __future__ import annotations

from numba import njit, prange

from tapescan.kernels.tod import tod_average


@njit(parallel=True, cache=True)
def tod_average_volume(history, present, out):
    """`tod_average` for every symbol: history [session x symbol x clock minute], present [session x symbol],
    out [symbol x clock minute]."""
    for s in prange(history.shape[1]):
        tod_average(history[:, s, :], present[:, s], out[s])
