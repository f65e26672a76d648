"""GPU drivers of the session kernels.

Layout on the device: [minute x symbol] (the transpose of the host panels), so that the threads of a warp,
one per symbol, read neighbouring addresses at every minute (coalesced). Inputs go to the device once;
only the results come back. Without CuPy the transposes are made on the host (under the CUDA simulator
in CI, and on machines with numba-cuda alone).
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from tapescan.kernels.session import cumulate_session, derive_bars, session_daily

THREADS_PER_BLOCK = 128


@cuda.jit
def _cumulate_kernel(high, low, close, volume, mask, out_volume, out_high, out_low, out_last, out_bars):
    s = cuda.grid(1)
    if s < mask.shape[1]:
        cumulate_session(high[:, s], low[:, s], close[:, s], volume[:, s], mask[:, s],
                         out_volume[:, s], out_high[:, s], out_low[:, s], out_last[:, s], out_bars[:, s])


@cuda.jit
def _daily_kernel(open_, high, low, close, volume, mask, out):
    s = cuda.grid(1)
    if s < mask.shape[1]:
        session_daily(open_[:, s], high[:, s], low[:, s], close[:, s], volume[:, s], mask[:, s], out, s)


@cuda.jit
def _derive_kernel(open_, high, low, close, volume, mask, minutes, out_open, out_high, out_low, out_close,
                   out_volume, out_bars):
    s = cuda.grid(1)
    if s < mask.shape[1]:
        derive_bars(open_[:, s], high[:, s], low[:, s], close[:, s], volume[:, s], mask[:, s], minutes,
                    out_open[:, s], out_high[:, s], out_low[:, s], out_close[:, s], out_volume[:, s], out_bars[:, s])


def blocks(n: int, threads: int) -> int:
    """Blocks of `threads` threads that cover `n` items."""
    return max(1, (n + threads - 1) // threads)


def _to_device(*arrays: np.ndarray) -> list:
    """[symbol x minute] host arrays as [minute x symbol] device arrays."""
    return [cuda.to_device(np.ascontiguousarray(array.T)) for array in arrays]


def cumulate_sessions(high, low, close, volume, mask, threads: int = THREADS_PER_BLOCK) -> tuple[np.ndarray, ...]:
    """Like tapescan.cpu_fallback.session.cumulate_sessions; returns host arrays [symbol x minute]."""
    symbols, minutes = mask.shape
    inputs = _to_device(high, low, close, volume, mask)
    outputs = [cuda.device_array((minutes, symbols), dtype) for dtype in (np.int64, np.float64, np.float64,
                                                                          np.float64, np.int32)]
    _cumulate_kernel[blocks(symbols, threads), threads](*inputs, *outputs)
    return tuple(np.ascontiguousarray(output.copy_to_host().T) for output in outputs)


def daily_values(open_, high, low, close, volume, mask, threads: int = THREADS_PER_BLOCK) -> np.ndarray:
    """Like tapescan.cpu_fallback.session.daily_values; returns the host array [7 x symbol]."""
    symbols = mask.shape[0]
    out = cuda.device_array((7, symbols), np.float64)
    _daily_kernel[blocks(symbols, threads), threads](*_to_device(open_, high, low, close, volume, mask), out)
    return out.copy_to_host()


def derived_bars(open_, high, low, close, volume, mask, minutes: int,
                 threads: int = THREADS_PER_BLOCK) -> tuple[np.ndarray, ...]:
    """Like tapescan.cpu_fallback.session.derived_bars; returns host arrays [symbol x bucket]."""
    symbols, length = mask.shape
    buckets = -(-length // minutes)
    outputs = [cuda.device_array((buckets, symbols), dtype) for dtype in (np.float64, np.float64, np.float64,
                                                                          np.float64, np.int64, np.int32)]
    inputs = _to_device(open_, high, low, close, volume, mask)
    _derive_kernel[blocks(symbols, threads), threads](*inputs, minutes, *outputs)
    return tuple(np.ascontiguousarray(output.copy_to_host().T) for output in outputs)
