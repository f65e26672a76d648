"""One lane (one symbol under one set of parameters) through one session, bar by bar: the strategy's signals
(tapescan/kernels/strategies.py, or signals given as bits) and the order of events of
tapescan/kernels/portfolio.py, for accounts that belong to the lane alone (`per_symbol`).

The CPU driver runs it for every lane in a `prange`, the GPU kernel in one thread per lane; the `shared`
driver interleaves the same phases over all lanes minute by minute instead.
"""

from __future__ import annotations

from tapescan.kernels.jitable import routine
from tapescan.kernels.portfolio import (
    ACCOUNT_CASH,
    LANE_PENDING_ENTRY,
    LANE_PENDING_EXIT,
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
from tapescan.kernels.strategies import strategy_bar

#: The strategy kind of signals computed outside the kernels (given as bits per bar).
GIVEN_SIGNALS = -1


@routine
def bar_signals(kind, params, state, history, given, j, open_, high, low, close, volume, new_session):
    """The signal bits at the close of bar j: the strategy's (its indicators updated), or the given ones."""
    if kind == GIVEN_SIGNALS:
        return int(given[j])
    return strategy_bar(kind, params, state, history, open_[j], high[j], low[j], close[j], volume[j], j,
                        new_session)


@routine
def last_present(mask):
    """Index of the last True of `mask` (-1 when none): the symbol's last bar of the session."""
    for j in range(mask.shape[0] - 1, -1, -1):
        if mask[j]:
            return j
    return -1


@routine
def lane_session(kind, params, state, history, open_, high, low, close, volume, mask, given, session, settings,
                 lane, account, orders, trades, counts, equity):
    """Run one lane with its own account through one session's minutes; equity[j] = the account's equity at
    the end of minute j. Warm-up sessions (SESSION_TRADING 0) only carry the strategy's state forward."""
    trading = session[SESSION_TRADING] != 0.0
    fill_close = settings[SETTING_FILL_CLOSE] != 0.0
    last = last_present(mask)
    first = True
    for j in range(mask.shape[0]):
        if mask[j]:
            bar = session[SESSION_OPEN_MINUTE] + j
            is_last = j == last
            if trading:
                open_exits(lane, account, settings, orders, trades, counts, bar, open_[j])
                direction = lane[LANE_PENDING_ENTRY]
                if direction != 0.0:
                    lane[LANE_PENDING_ENTRY] = 0.0
                    open_entry(lane, account, settings, orders, trades, counts, bar, bar, open_[j], direction,
                               account[ACCOUNT_CASH], is_last)
                inside_bar(lane, account, settings, orders, trades, counts, bar, high[j], low[j])
            value_close(lane, bar, high[j], low[j], close[j], trading)
            bits = bar_signals(kind, params, state, history, given, j, open_, high, low, close, volume, first)
            first = False
            if trading:
                leave, direction = signal_orders(lane, settings, session, orders, counts, bar, bits, is_last)
                if not fill_close:
                    lane[LANE_PENDING_EXIT] = 1.0 if leave else 0.0
                    lane[LANE_PENDING_ENTRY] = direction
                else:
                    if leave:
                        exit_position(lane, account, settings, orders, trades, counts, bar, close[j],
                                      REASON_SIGNAL)
                    if direction != 0:
                        open_entry(lane, account, settings, orders, trades, counts, bar, bar + 1.0, close[j],
                                   direction, account[ACCOUNT_CASH], is_last)
                session_close(lane, account, settings, orders, trades, counts, bar, close[j], is_last)
        equity[j] = lane_equity(lane, account[ACCOUNT_CASH])
    if trading and session[SESSION_LAST] != 0.0:
        end_of_range(lane, account, settings, orders, trades, counts)
        equity[mask.shape[0] - 1] = lane_equity(lane, account[ACCOUNT_CASH])
