"""GPU drivers of the session kernels.

Layout on the device: [minute x symbol] (the transpose of the host panels), so that the threads of a warp,
one per symbol, read neighbouring addresses at every minute (coalesced). The drivers take a
:class:`~tapescan.gpu.panels.DevicePanel` (loaded on the device, or copied there once) and bring back only
their results.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from tapescan.gpu.launch import THREADS_PER_BLOCK, blocks
from tapescan.gpu.panels import DevicePanel
from tapescan.kernels.session import DAILY_FIELDS, cumulate_session, derive_bars, session_daily


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
        session_daily(open_[:, s], high[:, s], low[:, s], close[:, s], volume[:, s], mask[:, s], 0, mask.shape[0],
                      out, s)


@cuda.jit
def _derive_kernel(open_, high, low, close, volume, mask, minutes, out_open, out_high, out_low, out_close,
                   out_volume, out_bars):
    s = cuda.grid(1)
    if s < mask.shape[1]:
        derive_bars(open_[:, s], high[:, s], low[:, s], close[:, s], volume[:, s], mask[:, s], minutes,
                    out_open[:, s], out_high[:, s], out_low[:, s], out_close[:, s], out_volume[:, s], out_bars[:, s])


def _host(device_array) -> np.ndarray:
    """A [row x symbol] device result as the host array [symbol x row]."""
    return np.ascontiguousarray(device_array.copy_to_host().T)


def cumulate_sessions(panel: DevicePanel, threads: int = THREADS_PER_BLOCK) -> tuple[np.ndarray, ...]:
    """Like tapescan.cpu_fallback.session.cumulate_sessions; returns host arrays [symbol x minute]."""
    symbols, minutes = panel.shape
    outputs = [cuda.device_array((minutes, symbols), dtype) for dtype in (np.int64, np.float64, np.float64,
                                                                          np.float64, np.int32)]
    _cumulate_kernel[blocks(symbols, threads), threads](panel.high, panel.low, panel.close, panel.volume,
                                                        panel.mask, *outputs)
    return tuple(_host(output) for output in outputs)


def daily_values(panel: DevicePanel, threads: int = THREADS_PER_BLOCK) -> np.ndarray:
    """Like tapescan.cpu_fallback.session.daily_values; returns the host array [DAILY_FIELDS x symbol]."""
    symbols = panel.shape[0]
    out = cuda.device_array((len(DAILY_FIELDS), symbols), np.float64)
    _daily_kernel[blocks(symbols, threads), threads](panel.open, panel.high, panel.low, panel.close, panel.volume,
                                                     panel.mask, out)
    return out.copy_to_host()


def derived_bars(panel: DevicePanel, minutes: int, threads: int = THREADS_PER_BLOCK) -> tuple[np.ndarray, ...]:
    """Like tapescan.cpu_fallback.session.derived_bars; returns host arrays [symbol x bucket]."""
    symbols, length = panel.shape
    buckets = -(-length // minutes)
    outputs = [cuda.device_array((buckets, symbols), dtype) for dtype in (np.float64, np.float64, np.float64,
                                                                          np.float64, np.int64, np.int32)]
    _derive_kernel[blocks(symbols, threads), threads](panel.open, panel.high, panel.low, panel.close, panel.volume,
                                                      panel.mask, minutes, *outputs)
    return tuple(_host(output) for output in outputs)
