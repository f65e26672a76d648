"""GPU driver of the time-of-day volume kernel: one thread per symbol on [session x clock minute x symbol]
device arrays, so that a warp reads neighbouring symbols (coalesced)."""

from __future__ import annotations

import numpy as np
from numba import cuda

from tapescan.gpu.launch import THREADS_PER_BLOCK, blocks
from tapescan.kernels.tod import tod_average


@cuda.jit
def _tod_kernel(history, present, out):
    s = cuda.grid(1)
    if s < history.shape[2]:
        tod_average(history[:, :, s], present[:, s], out[:, s])


def tod_average_volume(history: np.ndarray, present: np.ndarray, threads: int = THREADS_PER_BLOCK) -> np.ndarray:
    """Like tapescan.cpu_fallback.tod.tod_average_volume; returns the host array [symbol x clock minute]."""
    sessions, symbols, clock = history.shape
    device_history = cuda.to_device(np.ascontiguousarray(history.transpose(0, 2, 1)))
    out = cuda.device_array((clock, symbols), np.float64)
    _tod_kernel[blocks(symbols, threads), threads](device_history, cuda.to_device(np.ascontiguousarray(present)),
                                                   out)
    return np.ascontiguousarray(out.copy_to_host().T)
