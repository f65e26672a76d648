"""GPU drivers of the time-of-day volume kernels: one thread per symbol on a device panel [minute x symbol] or
on [session x clock minute x symbol] device arrays, so that a warp reads neighbouring symbols (coalesced)."""

from __future__ import annotations

import numpy as np
from numba import cuda

from tapescan.gpu.launch import THREADS_PER_BLOCK, blocks
from tapescan.gpu.panels import DevicePanel, slot_minutes
from tapescan.kernels.tod import clock_volumes, tod_average


@cuda.jit
def _clock_kernel(volume, mask, slot_minutes, clock_visible, out, traded):
    s = cuda.grid(1)
    if s < mask.shape[1]:
        traded[s] = clock_volumes(volume[:, s], mask[:, s], slot_minutes, clock_visible, out[:, s])


@cuda.jit
def _tod_kernel(history, present, out):
    s = cuda.grid(1)
    if s < history.shape[2]:
        tod_average(history[:, :, s], present[:, s], out[:, s])


def clock_volume(panel: DevicePanel, clock_visible: np.ndarray,
                 threads: int = THREADS_PER_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """Like tapescan.cpu_fallback.tod.clock_volume; returns host arrays [symbol x clock minute] and [symbol]."""
    symbols = panel.shape[0]
    out = cuda.device_array((len(clock_visible), symbols), np.int64)
    traded = cuda.device_array(symbols, np.bool_)
    _clock_kernel[blocks(symbols, threads), threads](panel.volume, panel.mask, slot_minutes(panel),
                                                     cuda.to_device(np.ascontiguousarray(clock_visible)), out, traded)
    return np.ascontiguousarray(out.copy_to_host().T), traded.copy_to_host()


def tod_average_volume(history: np.ndarray, present: np.ndarray, threads: int = THREADS_PER_BLOCK) -> np.ndarray:
    """Like tapescan.cpu_fallback.tod.tod_average_volume; returns the host array [symbol x clock minute]."""
    sessions, symbols, clock = history.shape
    device_history = cuda.to_device(np.ascontiguousarray(history.transpose(0, 2, 1)))
    out = cuda.device_array((clock, symbols), np.float64)
    _tod_kernel[blocks(symbols, threads), threads](device_history, cuda.to_device(np.ascontiguousarray(present)),
                                                   out)
    return np.ascontiguousarray(out.copy_to_host().T)
