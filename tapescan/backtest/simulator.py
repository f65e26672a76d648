"""The simulator's host side: kernel state carried from session to session, records and equity gathered as it
goes, so that memory does not grow with the range (only the trades, the orders and one equity value per
session are kept).

A :class:`Simulator` holds one lane per symbol (its position, its strategy's indicator state, its account in
`per_symbol` mode), takes the sessions in order (:meth:`Simulator.run_session`, arrays [symbol x minute] of a
session panel) and hands the results over at the end (:meth:`Simulator.finish`). Who supplies the sessions
(the store, tapescan.backtest.engine; a DataFrame, tapescan.backtest.simulate) does not matter to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.analytics.drivers import Backend, compute_for
from tapescan.backtest.records import Records
from tapescan.backtest.results import BacktestResult
from tapescan.backtest.settings import RunSettings
from tapescan.backtest.stats import STAT_NAMES, ReturnMoments, equity_stats, exposure_pct, trade_stats
from tapescan.calendar import NS_PER_MINUTE
from tapescan.cpu_fallback.backtest import shared_session
from tapescan.errors import TapescanError
from tapescan.kernels.lane import GIVEN_SIGNALS
from tapescan.kernels.portfolio import (
    ACCOUNT_CASH,
    ACCOUNT_FIELDS,
    COUNT_ORDERS,
    COUNT_TRADES,
    LANE_BARS,
    LANE_BARS_EXPOSED,
    LANE_EXPIRY,
    LANE_EXTREME,
    LANE_FIELDS,
    LANE_LAST_CLOSE,
    LANE_PENDING_RANK,
    ORDER_FIELDS,
    SESSION_ENTRY_END,
    SESSION_ENTRY_START,
    SESSION_FIELDS,
    SESSION_LAST,
    SESSION_OPEN_MINUTE,
    SESSION_TRADING,
    TRADE_FIELDS,
)

#: Records room per lane and session to start with; a session that needs more runs again with enough.
FIRST_CAPACITY = 8


def range_days(start: calendar.DateLike, end: calendar.DateLike, warmup: int) -> tuple[list[dt.date], list[dt.date]]:
    """(the `warmup` NYSE sessions before the range, the NYSE sessions of [start, end]); TapescanError for a range
    that is reversed or holds no session."""
    first, last = calendar.to_date(start), calendar.to_date(end)
    if first > last:
        raise TapescanError(f"start {first} is after end {last}; give start <= end.")
    sessions = list(calendar.sessions(first, last)["date"])
    if not sessions:
        raise TapescanError(f"no NYSE session lies between {first} and {last}; give a range with a session.")
    return (calendar.sessions_before(sessions[0], warmup) if warmup else []), sessions


def schedule(warmup: list[dt.date], sessions: list[dt.date]) -> list[tuple[dt.date, bool, bool]]:
    """Every session a run goes through, in order, as (day, trading, last): warm-up ones do not trade."""
    return [(day, False, False) for day in warmup] + [(day, True, i == len(sessions) - 1)
                                                       for i, day in enumerate(sessions)]


def session_vector(day: dt.date, minutes: int, settings: RunSettings, trading: bool, last: bool) -> np.ndarray:
    """The SESSION_* row of one session: its open as a minute stamp and the entry window in minutes after it."""
    open_ts, close_ts = calendar.session_bounds(day)
    opening = open_ts.hour * 60 + open_ts.minute
    row = np.zeros(len(SESSION_FIELDS))
    row[SESSION_OPEN_MINUTE] = open_ts.value // NS_PER_MINUTE
    row[SESSION_ENTRY_START] = settings.entry_start.hour * 60 + settings.entry_start.minute - opening
    end = settings.entry_end.hour * 60 + settings.entry_end.minute - opening
    row[SESSION_ENTRY_END] = min(end, minutes)
    row[SESSION_TRADING] = trading
    row[SESSION_LAST] = last
    return row


@dataclass
class EquityTrack:
    """Equity as it goes, for a vector of accounts (the portfolio, or each symbol's account): the running peak
    and largest drawdown over every minute's equity, and the moments of the daily returns."""

    initial: np.ndarray
    peak: np.ndarray = field(init=False)
    max_drawdown: np.ndarray = field(init=False)
    last: np.ndarray = field(init=False)
    moments: ReturnMoments = field(init=False)

    def __post_init__(self) -> None:
        self.peak = self.initial.copy()
        self.max_drawdown = np.zeros_like(self.initial)
        self.last = self.initial.copy()
        self.moments = ReturnMoments(len(self.initial))

    def add_session(self, minute_equity: np.ndarray) -> np.ndarray:
        """Take one session's equity [account x minute]; returns each account's drawdown at the session's close."""
        peaks = np.maximum.accumulate(np.concatenate([self.peak[:, None], minute_equity], axis=1), axis=1)[:, 1:]
        self.max_drawdown = np.maximum(self.max_drawdown, (1.0 - minute_equity / peaks).max(axis=1))
        self.peak = peaks[:, -1]
        close = minute_equity[:, -1]
        self.moments.add(close / self.last - 1.0)
        self.last = close
        return 1.0 - close / self.peak

    def stats(self) -> dict[str, np.ndarray]:
        return equity_stats(self.initial, self.last, self.moments, self.max_drawdown)


class Simulator:
    """Lanes for `symbols` (in this order; `shared` accounts rank ties by it) under one strategy.

    `accounted[i]`: symbol i has a bar in the range and so an account (`per_symbol`) and a part of the portfolio.
    `kind`/`params`: a built-in strategy (tapescan.kernels.strategies) or GIVEN_SIGNALS.
    """

    def __init__(self, symbols: np.ndarray, accounted: np.ndarray, settings: RunSettings, kind: int,
                 params: np.ndarray, backend: Backend = "auto") -> None:
        self.symbols = np.asarray(symbols, dtype=object)
        self.accounted = np.asarray(accounted, dtype=bool)
        self.settings = settings
        self.kind = kind
        self.drivers = compute_for(backend)
        lanes = len(self.symbols)
        self.lanes = np.zeros((lanes, len(LANE_FIELDS)))
        self.lanes[:, [LANE_EXPIRY, LANE_LAST_CLOSE, LANE_EXTREME, LANE_PENDING_RANK]] = np.nan
        self.accounts = np.zeros((1 if settings.shared else lanes, len(ACCOUNT_FIELDS)))
        self.accounts[:, ACCOUNT_CASH] = settings.init_cash
        self.params = np.tile(np.asarray(params, dtype=np.float64), (lanes, 1))
        self.state, self.history = _strategy_state(kind, params, lanes)
        self.capacity = FIRST_CAPACITY
        self.records = Records(self.symbols)
        accounts = int(self.accounted.sum())
        self.portfolio = EquityTrack(np.array([settings.init_cash * (1 if settings.shared else accounts)]))
        self.per_symbol = None if settings.shared else EquityTrack(np.full(lanes, settings.init_cash))
        self.days: list[dt.date] = []
        self.daily: list[tuple[float, float, float]] = []

    def run_session(self, day: dt.date, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
                    volume: np.ndarray, mask: np.ndarray, given: np.ndarray | None = None,
                    rank: np.ndarray | None = None, trading: bool = True, last: bool = False) -> None:
        """One session: panel arrays [symbol x minute] with rows in `symbols` order (a session the store does not
        hold: every mask False). `given`/`rank`: int8 signal bits and rank values per bar, for GIVEN_SIGNALS."""
        shape = mask.shape
        given = np.zeros(shape, dtype=np.int8) if given is None else given
        rank = np.full(shape, np.nan) if rank is None else rank
        session = session_vector(day, shape[1], self.settings, trading, last)
        saved = (self.lanes.copy(), self.accounts.copy(), self.state.copy(), self.history.copy())
        while True:
            lanes = len(self.symbols)
            orders = np.empty((lanes, self.capacity, len(ORDER_FIELDS)))
            trades = np.empty((lanes, self.capacity, len(TRADE_FIELDS)))
            counts = np.zeros((lanes, 2))
            equity = self._simulate(open_, high, low, close, volume, mask, given, rank, session, orders, trades,
                                    counts)
            needed = int(counts.max(initial=0))
            if needed <= self.capacity:
                break
            self.capacity = needed
            self.lanes, self.accounts, self.state, self.history = (array.copy() for array in saved)
        if not trading:
            return
        self.records.add(orders, counts[:, COUNT_ORDERS], trades, counts[:, COUNT_TRADES])
        self._track_equity(day, equity)

    def _simulate(self, open_, high, low, close, volume, mask, given, rank, session, orders, trades, counts):
        """The drivers for this account mode; the equity of the session's minutes ([account x minute])."""
        rows = np.arange(len(self.symbols), dtype=np.int64)
        arrays = (self.kind, self.params, self.state, self.history, open_, high, low, close, volume, mask, given)
        if self.settings.shared:  # one account couples every lane: the CPU driver (docs/BACKTEST.md "How it runs")
            equity = np.empty((1, mask.shape[1]))
            shared_session(*arrays, rank, rows, session, self.settings.vector, self.lanes, self.accounts[0],
                           orders, trades, counts, equity[0])
            return equity
        equity = np.empty(mask.shape)
        self.drivers.per_symbol_session(*arrays, rows, session, self.settings.vector, self.lanes, self.accounts,
                                        orders, trades, counts, equity)
        return equity

    def _track_equity(self, day: dt.date, equity: np.ndarray) -> None:
        if self.settings.shared:
            portfolio = equity
            cash = float(self.accounts[0, ACCOUNT_CASH])
        else:
            portfolio = equity[self.accounted].sum(axis=0, keepdims=True)
            cash = float(self.accounts[self.accounted, ACCOUNT_CASH].sum())
            self.per_symbol.add_session(equity)
        drawdown = self.portfolio.add_session(portfolio)
        self.days.append(day)
        self.daily.append((float(portfolio[0, -1]), cash, float(drawdown[0])))

    def bar_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Bars in the range and bars closed with a position open, per lane."""
        return self.lanes[:, LANE_BARS].copy(), self.lanes[:, LANE_BARS_EXPOSED].copy()


def _strategy_state(kind: int, params: np.ndarray, lanes: int) -> tuple[np.ndarray, np.ndarray]:
    """Fresh indicator state and history rows for every lane (one empty column for given signals)."""
    if kind == GIVEN_SIGNALS:
        return np.zeros((lanes, 1)), np.zeros((lanes, 1))
    from tapescan.kernels.strategies import new_state

    state, history = new_state(kind, np.asarray(params, dtype=np.float64), lanes)
    # A strategy without a window has no history; one column keeps every array non-empty for the GPU.
    return state, history if history.shape[1] else np.zeros((lanes, 1))


def equity_frame(days: list[dt.date], daily: list[tuple[float, float, float]], initial: float) -> pd.DataFrame:
    """The per-session equity table: date, equity, cash, return_pct, drawdown_pct."""
    values = np.array(daily, dtype=np.float64).reshape(-1, 3)
    equity = values[:, 0]
    previous = np.concatenate([[initial], equity[:-1]])
    return pd.DataFrame({"date": pd.Series(days, dtype=object), "equity": equity, "cash": values[:, 1],
                         "return_pct": 100.0 * (equity / previous - 1.0), "drawdown_pct": 100.0 * values[:, 2]})


def finish(simulator: Simulator, config: Any) -> BacktestResult:
    """The results of a simulator that has run every session of the range."""
    trades = simulator.records.trade_table(len(TRADE_FIELDS))
    orders = simulator.records.order_table(len(ORDER_FIELDS))
    equity = equity_frame(simulator.days, simulator.daily, float(simulator.portfolio.initial[0]))
    accounted = simulator.accounted
    bars, exposed = simulator.lanes[:, LANE_BARS], simulator.lanes[:, LANE_BARS_EXPOSED]
    portfolio = {name: float(values[0]) for name, values in simulator.portfolio.stats().items()}
    overall = trade_stats(trades["pnl"]).iloc[0].to_dict()
    portfolio.update(overall, exposure_pct=float(exposure_pct(bars[accounted].sum(), exposed[accounted].sum())))
    stats = {name: float(portfolio[name]) for name in STAT_NAMES}
    symbol_stats = pd.DataFrame(columns=list(STAT_NAMES), index=pd.Index([], name="symbol"), dtype=np.float64)
    if simulator.per_symbol is not None:
        symbols = pd.Index(simulator.symbols[accounted].astype(str), name="symbol")
        per_lane = {name: values[accounted] for name, values in simulator.per_symbol.stats().items()}
        by_symbol = trade_stats(trades["pnl"], trades["symbol"], symbols)
        symbol_stats = pd.DataFrame(per_lane, index=symbols).join(by_symbol)
        symbol_stats["exposure_pct"] = exposure_pct(bars[accounted], exposed[accounted])
        symbol_stats = symbol_stats[list(STAT_NAMES)]
    return BacktestResult(trades, orders, equity, stats, symbol_stats, config)
