"""tapescan's statistics against empyrical-reloaded on the daily returns (issue 14, "What it must show").

The daily equity is rebuilt here from tapescan's trades and the bars alone (cash moves at each fill, open positions
valued at the symbol's last close of the session: spec "Valuation and metrics"), checked against tapescan's equity
table, and its returns r_d = E_d / E_(d-1) - 1 (E_0 the initial value) go to empyrical with the spec's
annualisation of 252 sessions: Sharpe, Sortino and CAGR on any market; max drawdown and Calmar on a market with
one bar per session, all at the same minute, where every bar's equity (the spec's drawdown) is the daily equity
(empyrical's). Portfolio statistics and, for per_symbol accounts, each symbol's.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import tapescan
from tapescan import calendar
from tests.peers import require_peer
from tests.peers.peer_market import random_bars, random_signals

empyrical = require_peer("empyrical")

RTOL = 1e-9
ANNUALIZATION = 252
PERCENT = 100.0
INIT_CASH = 100_000.0
RANGE = ("2024-01-02", "2024-03-28")
SETTINGS = {"fee_pct": 0.05, "fee_per_order": 1.0, "slippage_pct": 0.02, "shares": 200, "mode": "per_symbol",
            "init_cash": INIT_CASH, "stop_loss_pct": 2.0, "take_profit_pct": 3.0}


def _cash_flows(trades: pd.DataFrame) -> pd.DataFrame:
    """(symbol, date, amount): the cash each fill moves, from the trade's prices, shares and fees."""
    sign = np.where(trades["direction"] == "long", 1.0, -1.0)
    value_in = trades["entry_price"] * trades["shares"]
    value_out = trades["exit_price"] * trades["shares"]
    entries = pd.DataFrame({"symbol": trades["symbol"], "date": trades["entry_bar"].dt.date,
                            "amount": -sign * value_in - trades["entry_fee"]})
    exits = pd.DataFrame({"symbol": trades["symbol"], "date": trades["exit_bar"].dt.date,
                          "amount": sign * value_out - trades["exit_fee"]})
    return pd.concat([entries, exits], ignore_index=True)


def rebuilt_daily_equity(trades: pd.DataFrame, bars: pd.DataFrame, days: list, symbols: list[str]) -> pd.DataFrame:
    """[day x symbol] account equity at each session's close: cash + signed shares held x the last close."""
    closes = (bars.assign(date=bars["ts"].dt.date).sort_values("ts").groupby(["date", "symbol"])["close"].last()
              .unstack().reindex(index=days, columns=symbols).ffill())
    flows = _cash_flows(trades).groupby(["date", "symbol"])["amount"].sum().unstack()
    cash = INIT_CASH + flows.reindex(index=days, columns=symbols).fillna(0.0).cumsum()
    held = pd.DataFrame(0.0, index=days, columns=symbols)
    for trade in trades.itertuples():
        sign = 1.0 if trade.direction == "long" else -1.0
        open_days = [d for d in days if trade.entry_bar.date() <= d < trade.exit_bar.date()]
        held.loc[open_days, trade.symbol] += sign * trade.shares
    return cash + held * closes.fillna(0.0)


def _returns(equity: pd.Series, initial: float) -> np.ndarray:
    values = equity.to_numpy(np.float64)
    return values / np.concatenate([[initial], values[:-1]]) - 1.0


def _assert_stat(ours: float, theirs: float, name: str) -> None:
    assert math.isfinite(theirs), f"{name}: the peer's value is undefined; the inputs do not test it"
    assert ours == pytest.approx(theirs, rel=RTOL), name


def _assert_daily_stats(stats: dict, r: np.ndarray, drawdown: bool) -> None:
    _assert_stat(stats["sharpe"], empyrical.sharpe_ratio(r, annualization=ANNUALIZATION), "sharpe")
    _assert_stat(stats["sortino"], empyrical.sortino_ratio(r, annualization=ANNUALIZATION), "sortino")
    _assert_stat(stats["cagr_pct"], PERCENT * empyrical.cagr(r, annualization=ANNUALIZATION), "cagr_pct")
    if drawdown:
        _assert_stat(stats["max_drawdown_pct"], -PERCENT * empyrical.max_drawdown(r), "max_drawdown_pct")
        _assert_stat(stats["calmar"], empyrical.calmar_ratio(r, annualization=ANNUALIZATION), "calmar")


def _run(bars: pd.DataFrame, seed: int, **settings) -> tuple[object, pd.DataFrame, list]:
    signals = random_signals(bars, seed, rate=0.2)
    result = tapescan.simulate(bars, signals["long_entry"], signals["long_exit"], signals["short_entry"],
                               signals["short_exit"], **{**SETTINGS, **settings})
    days = calendar.sessions(bars["ts"].min().date(), bars["ts"].max().date())["date"].tolist()
    symbols = sorted(bars["symbol"].unique())
    equity = rebuilt_daily_equity(result.trades, bars, days, symbols)
    assert len(result.trades) >= 10, "too few trades to move the statistics"
    np.testing.assert_allclose(result.equity["equity"].to_numpy(np.float64), equity.sum(axis=1).to_numpy(),
                               rtol=RTOL, err_msg="tapescan's daily equity against the one rebuilt from its trades")
    return result, equity, symbols


def _one_bar_sessions(seed: int) -> pd.DataFrame:
    """Three symbols with one bar a session, all at 09:30, over RANGE (a few sessions without a bar)."""
    return random_bars(seed, symbols=3, minutes=1, presence=0.9, sessions=RANGE)


@pytest.mark.parametrize("direction", ["long", "both"])
def test_daily_statistics_agree_with_empyrical(direction: str) -> None:
    """Sharpe, Sortino and CAGR on the daily returns of a market with many bars a session, positions overnight."""
    bars = random_bars(11, symbols=3, minutes=20, sessions=("2024-02-20", "2024-03-15"))
    result, equity, _ = _run(bars, 12, direction=direction, fill="next_open", flat_at_close=False)
    _assert_daily_stats(result.stats, _returns(equity.sum(axis=1), INIT_CASH * equity.shape[1]), drawdown=False)


@pytest.mark.parametrize("direction", ["long", "short", "both"])
def test_drawdown_and_every_daily_statistic_on_one_bar_sessions(direction: str) -> None:
    """With one bar a session (fill at its close) every bar's equity is a daily equity, so the spec's max drawdown
    and Calmar equal empyrical's on the daily returns; per_symbol statistics are each symbol's own account's."""
    bars = _one_bar_sessions(21)
    result, equity, symbols = _run(bars, 22, direction=direction, fill="close", flat_at_close=False)
    _assert_daily_stats(result.stats, _returns(equity.sum(axis=1), INIT_CASH * len(symbols)), drawdown=True)
    assert sorted(result.symbol_stats.index) == symbols
    for symbol in symbols:
        _assert_daily_stats(result.symbol_stats.loc[symbol].to_dict(), _returns(equity[symbol], INIT_CASH),
                            drawdown=True)
