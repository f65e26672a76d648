"""GPU driver of the simulator for `per_symbol` accounts: one thread per lane, each running
`lane_session` (tapescan/kernels/lane.py) through the session, as the CPU driver does in a `prange`.

Bars go to the device as [minute x symbol] (the transpose of the host panel), so that a warp's threads read
neighbouring addresses at every minute; lane state, records and equity stay [lane x ...] and come back whole.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from tapescan.gpu.launch import THREADS_PER_BLOCK, blocks
from tapescan.kernels.lane import lane_session


@cuda.jit
def _per_symbol_kernel(kind, params, state, history, open_, high, low, close, volume, mask, given, rows, session,
                       settings, lanes, accounts, orders, trades, counts, equity):
    lane = cuda.grid(1)
    if lane < rows.shape[0]:
        r = rows[lane]
        lane_session(kind, params[lane], state[lane], history[lane], open_[:, r], high[:, r], low[:, r],
                     close[:, r], volume[:, r], mask[:, r], given[:, r], session, settings, lanes[lane],
                     accounts[lane], orders[lane], trades[lane], counts[lane], equity[:, lane])


def per_symbol_session(kind, params, state, history, open_, high, low, close, volume, mask, given, rows, session,
                       settings, lanes, accounts, orders, trades, counts, equity) -> None:
    """The CPU driver's contract (host arrays, bars [symbol x minute]; state, records and equity written back)."""
    bars = [cuda.to_device(np.ascontiguousarray(array.T)) for array in (open_, high, low, close, volume, mask,
                                                                          given)]
    inputs = [cuda.to_device(array) for array in (params, rows, session, settings)]
    outputs = [cuda.to_device(array) for array in (state, history, lanes, accounts, orders, trades, counts)]
    device_equity = cuda.to_device(np.ascontiguousarray(equity.T))
    params_d, rows_d, session_d, settings_d = inputs
    state_d, history_d, lanes_d, accounts_d, orders_d, trades_d, counts_d = outputs
    _per_symbol_kernel[blocks(rows.shape[0], THREADS_PER_BLOCK), THREADS_PER_BLOCK](
        kind, params_d, state_d, history_d, *bars, rows_d, session_d, settings_d, lanes_d, accounts_d, orders_d,
        trades_d, counts_d, device_equity)
    for host, device in zip((state, history, lanes, accounts, orders, trades, counts), outputs):
        host[...] = device.copy_to_host()
    equity[...] = device_equity.copy_to_host().T
