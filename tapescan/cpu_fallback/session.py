"""CPU drivers of the session kernels: one symbol per parallel iteration, arrays [symbol x minute]."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tapescan.kernels.session import cumulate_session, derive_bars, session_daily


@njit(parallel=True, cache=True)
def cumulate_sessions(high, low, close, volume, mask, out_volume, out_high, out_low, out_last, out_bars):
    """`cumulate_session` for every symbol (row) of [symbol x minute] arrays."""
    for s in prange(mask.shape[0]):
        cumulate_session(high[s], low[s], close[s], volume[s], mask[s],
                         out_volume[s], out_high[s], out_low[s], out_last[s], out_bars[s])


@njit(parallel=True, cache=True)
def daily_values(open_, high, low, close, volume, mask, out):
    """`session_daily` for every symbol (row) of [symbol x minute] arrays into out [7 x symbol]."""
    for s in prange(mask.shape[0]):
        session_daily(open_[s], high[s], low[s], close[s], volume[s], mask[s], out, s)


@njit(parallel=True, cache=True)
def derived_bars(open_, high, low, close, volume, mask, minutes, out_open, out_high, out_low, out_close,
                 out_volume, out_bars):
    """`derive_bars` for every symbol (row) of [symbol x minute] arrays into [symbol x bucket] outputs."""
    for s in prange(mask.shape[0]):
        derive_bars(open_[s], high[s], low[s], close[s], volume[s], mask[s], minutes, out_open[s], out_high[s],
                    out_low[s], out_close[s], out_volume[s], out_bars[s])


def empty_bars(shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Output arrays of `derived_bars` for [symbol x bucket] of `shape`."""
    return (np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape, np.int64),
            np.empty(shape, np.int32))


def empty_outputs(shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Output arrays of `cumulate_sessions` for a panel of `shape`."""
    return (np.empty(shape, np.int64), np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape, np.int32))
