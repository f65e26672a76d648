"""CPU drivers of the session kernels: one symbol per parallel iteration, arrays [symbol x minute].

The public functions mirror tapescan/gpu/session.py (a host panel in, host arrays out) and allocate their
outputs here, next to the `njit` loops that fill them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from tapescan.kernels.session import DAILY_FIELDS, cumulate_session, derive_bars, session_daily

if TYPE_CHECKING:
    from tapescan.store.reader import SessionPanel


@njit(parallel=True, cache=True)
def _cumulate(high, low, close, volume, mask, out_volume, out_high, out_low, out_last, out_bars):
    """`cumulate_session` for every symbol (row) of [symbol x minute] arrays."""
    for s in prange(mask.shape[0]):
        cumulate_session(high[s], low[s], close[s], volume[s], mask[s],
                         out_volume[s], out_high[s], out_low[s], out_last[s], out_bars[s])


@njit(parallel=True, cache=True)
def _daily(open_, high, low, close, volume, mask, out):
    """`session_daily` for every symbol (row) of [symbol x minute] arrays into out [DAILY_FIELDS x symbol]."""
    for s in prange(mask.shape[0]):
        session_daily(open_[s], high[s], low[s], close[s], volume[s], mask[s], 0, mask.shape[1], out, s)


@njit(parallel=True, cache=True)
def _daily_runs(open_, high, low, close, volume, regular, starts, stops, out):
    """`session_daily` for every run of rows [starts[r], stops[r]) into out [DAILY_FIELDS x run]."""
    for r in prange(starts.shape[0]):
        session_daily(open_, high, low, close, volume, regular, starts[r], stops[r], out, r)


@njit(parallel=True, cache=True)
def _derive(open_, high, low, close, volume, mask, minutes, out_open, out_high, out_low, out_close, out_volume,
            out_bars):
    """`derive_bars` for every symbol (row) of [symbol x minute] arrays into [symbol x bucket] outputs."""
    for s in prange(mask.shape[0]):
        derive_bars(open_[s], high[s], low[s], close[s], volume[s], mask[s], minutes, out_open[s], out_high[s],
                    out_low[s], out_close[s], out_volume[s], out_bars[s])


def cumulate_sessions(panel: SessionPanel) -> tuple[np.ndarray, ...]:
    """Session volume, high, low, last close and bar count as of each minute: arrays [symbol x minute]."""
    shape = panel.shape
    outputs = (np.empty(shape, np.int64), np.empty(shape), np.empty(shape), np.empty(shape),
               np.empty(shape, np.int32))
    _cumulate(panel.high, panel.low, panel.close, panel.volume, panel.mask, *outputs)
    return outputs


def daily_values(panel: SessionPanel) -> np.ndarray:
    """Daily values of every symbol: the array [DAILY_FIELDS x symbol]."""
    out = np.empty((len(DAILY_FIELDS), panel.shape[0]))
    _daily(panel.open, panel.high, panel.low, panel.close, panel.volume, panel.mask, out)
    return out


def daily_values_of_runs(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray,
                         regular: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Daily values of one session's stored rows, sorted by (symbol, ts), per symbol (the run of rows from each
    offset in `starts`; rows not `regular` are left out): the array [DAILY_FIELDS x run], bars 0 for a symbol
    with extended-hours rows only. The store writes these, by the same kernel as `daily_values`."""
    stops = np.append(starts[1:], len(regular))
    out = np.empty((len(DAILY_FIELDS), len(starts)))
    _daily_runs(open_, high, low, close, volume, regular, starts, stops, out)
    return out


def derived_bars(panel: SessionPanel, steps: int) -> tuple[np.ndarray, ...]:
    """Bars of `steps` panel steps each (open, high, low, close, volume, bar count): arrays [symbol x bucket]."""
    return derived_bar_arrays(panel.open, panel.high, panel.low, panel.close, panel.volume, panel.mask, steps,
                              -(-panel.shape[1] // steps))


def derived_bar_arrays(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray,
                       mask: np.ndarray, steps: int, buckets: int) -> tuple[np.ndarray, ...]:
    """The first `buckets` derived bars of host arrays [symbol x minute] that need not be a panel (the stream's
    session window); a bucket past the arrays' end has no bars."""
    shape = (mask.shape[0], buckets)
    outputs = (np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape, np.int64),
               np.empty(shape, np.int32))
    _derive(open_, high, low, close, volume, mask, steps, *outputs)
    return outputs
