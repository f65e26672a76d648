"""CPU drivers of the simulator: every lane through one session, per account mode.

`per_symbol` accounts never interact, so each lane runs alone through the session (a `prange` over lanes,
`lane_session`); `shared` accounts couple the lanes minute by minute, so one loop serves every lane's phases
in the order of docs/spec/backtest.md (exits in symbol order, then entries in rank order). Both call the same
phase functions of tapescan/kernels/portfolio.py. Arrays: bars [row x minute] (the session panel), lanes
[lane x LANE_FIELDS], records [lane x capacity x fields], counts [lane x 2]; `rows[l]` is lane l's panel row.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tapescan.kernels.jitable import routine
from tapescan.kernels.lane import bar_signals, lane_session, last_present
from tapescan.kernels.portfolio import (
    ACCOUNT_CASH,
    LANE_PENDING_ENTRY,
    LANE_PENDING_EXIT,
    LANE_PENDING_RANK,
    REASON_SIGNAL,
    SESSION_LAST,
    SESSION_OPEN_MINUTE,
    SESSION_TRADING,
    SETTING_FILL_CLOSE,
    end_of_range,
    exit_position,
    inside_bar,
    lane_equity,
    open_entry,
    open_exits,
    session_close,
    signal_orders,
    value_close,
)


@njit(parallel=True, cache=True)
def per_symbol_session(kind, params, state, history, open_, high, low, close, volume, mask, given, rows, session,
                       settings, lanes, accounts, orders, trades, counts, equity):
    """`lane_session` for every lane l (its bars: panel row rows[l]; its account: accounts[l])."""
    for lane in prange(rows.shape[0]):
        r = rows[lane]
        lane_session(kind, params[lane], state[lane], history[lane], open_[r], high[r], low[r], close[r],
                     volume[r], mask[r], given[r], session, settings, lanes[lane], accounts[lane], orders[lane],
                     trades[lane], counts[lane], equity[lane])


@routine
def _account_equity(lanes, cash):
    """The shared account's equity: cash + every lane's shares x its last close."""
    total = cash
    for lane in range(lanes.shape[0]):
        total = lane_equity(lanes[lane], total)
    return total


@routine
def _ranked_entries(lanes, account, settings, orders, trades, counts, rows, mask, j, bar, fill_time, prices,
                    last):
    """Fill the lanes' waiting entries at this minute, best `rank` first (NaN last; ties by lane = symbol)."""
    waiting = np.empty(rows.shape[0], dtype=np.int64)
    keys = np.empty(rows.shape[0])
    n = 0
    for lane in range(rows.shape[0]):
        if mask[rows[lane], j] and lanes[lane, LANE_PENDING_ENTRY] != 0.0:
            waiting[n] = lane
            rank = lanes[lane, LANE_PENDING_RANK]
            keys[n] = np.inf if np.isnan(rank) else -rank
            n += 1
    order = np.argsort(keys[:n], kind="mergesort")
    for k in range(n):
        lane = waiting[order[k]]
        r = rows[lane]
        direction = lanes[lane, LANE_PENDING_ENTRY]
        lanes[lane, LANE_PENDING_ENTRY] = 0.0
        open_entry(lanes[lane], account, settings, orders[lane], trades[lane], counts[lane], bar, fill_time,
                   prices[r, j], direction, _account_equity(lanes, account[ACCOUNT_CASH]), j == last[lane])


@njit(cache=True)
def shared_session(kind, params, state, history, open_, high, low, close, volume, mask, given, rank, rows, session,
                   settings, lanes, account, orders, trades, counts, equity):
    """Every lane through one session with one account; equity[j] = the account's equity after minute j."""
    trading = session[SESSION_TRADING] != 0.0
    fill_close = settings[SETTING_FILL_CLOSE] != 0.0
    n_lanes = rows.shape[0]
    last = np.empty(n_lanes, dtype=np.int64)
    first = np.ones(n_lanes, dtype=np.bool_)
    for lane in range(n_lanes):
        last[lane] = last_present(mask[rows[lane]])
    for j in range(mask.shape[1]):
        bar = session[SESSION_OPEN_MINUTE] + j
        if trading:
            for lane in range(n_lanes):
                if mask[rows[lane], j]:
                    open_exits(lanes[lane], account, settings, orders[lane], trades[lane], counts[lane], bar,
                               open_[rows[lane], j])
            _ranked_entries(lanes, account, settings, orders, trades, counts, rows, mask, j, bar, bar, open_, last)
            for lane in range(n_lanes):
                r = rows[lane]
                if mask[r, j]:
                    inside_bar(lanes[lane], account, settings, orders[lane], trades[lane], counts[lane], bar,
                               high[r, j], low[r, j])
        for lane in range(n_lanes):
            r = rows[lane]
            if mask[r, j]:
                value_close(lanes[lane], bar, high[r, j], low[r, j], close[r, j], trading)
        for lane in range(n_lanes):
            r = rows[lane]
            if not mask[r, j]:
                continue
            bits = bar_signals(kind, params[lane], state[lane], history[lane], given[r], j, open_[r], high[r],
                               low[r], close[r], volume[r], first[lane])
            first[lane] = False
            if not trading:
                continue
            leave, direction = signal_orders(lanes[lane], settings, session, orders[lane], counts[lane], bar,
                                             bits, j == last[lane])
            lanes[lane, LANE_PENDING_RANK] = rank[r, j]
            lanes[lane, LANE_PENDING_ENTRY] = direction
            if not fill_close:
                lanes[lane, LANE_PENDING_EXIT] = 1.0 if leave else 0.0
            elif leave:
                exit_position(lanes[lane], account, settings, orders[lane], trades[lane], counts[lane], bar,
                              close[r, j], REASON_SIGNAL)
        if trading:
            if fill_close:
                _ranked_entries(lanes, account, settings, orders, trades, counts, rows, mask, j, bar, bar + 1.0,
                                close, last)
            for lane in range(n_lanes):
                r = rows[lane]
                if mask[r, j]:
                    session_close(lanes[lane], account, settings, orders[lane], trades[lane], counts[lane], bar,
                                  close[r, j], j == last[lane])
        equity[j] = _account_equity(lanes, account[ACCOUNT_CASH])
    if trading and session[SESSION_LAST] != 0.0:
        for lane in range(n_lanes):
            end_of_range(lanes[lane], account, settings, orders[lane], trades[lane], counts[lane])
        equity[mask.shape[1] - 1] = _account_equity(lanes, account[ACCOUNT_CASH])
