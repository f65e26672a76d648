"""Orders and trades as the kernels leave them (rows of ORDER_* / TRADE_* numbers per lane), gathered session
by session and turned into the tables of docs/spec/backtest.md "Outputs" at the end."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tapescan.calendar import ET, NS_PER_MINUTE
from tapescan.kernels.portfolio import (
    ORDER_BAR,
    ORDER_FEE,
    ORDER_FILLED,
    ORDER_PRICE,
    ORDER_REASON,
    ORDER_SHARES,
    ORDER_SIDE,
    REASONS,
    TRADE_DIRECTION,
    TRADE_ENTRY_BAR,
    TRADE_ENTRY_FEE,
    TRADE_ENTRY_PRICE,
    TRADE_EXIT_BAR,
    TRADE_EXIT_FEE,
    TRADE_EXIT_PRICE,
    TRADE_REASON,
    TRADE_SHARES,
)

#: Text columns use pandas' string dtype ("str", Arrow-backed in pandas 3): a few bytes a row, where Python
#: strings in an object column cost about 60 (a run's orders can number millions).
TEXT = "str"

TRADE_COLUMNS = ("symbol", "direction", "entry_bar", "entry_price", "exit_bar", "exit_price", "shares", "entry_fee",
                 "exit_fee", "pnl", "return_pct", "exit_reason")
ORDER_COLUMNS = ("symbol", "bar", "side", "shares", "price", "fee", "status", "reason")


def _text(values: np.ndarray) -> pd.arrays.ArrowStringArray:
    return pd.array(values, dtype=TEXT)


def _named(codes: np.ndarray, names: tuple[str, ...]) -> pd.arrays.ArrowStringArray:
    """Each code's name (`names[code]`), as text."""
    return _text(np.asarray(names, dtype=object)[codes.astype(np.int64)])


def _kept(buffers: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The filled rows of per-lane buffers [lane x capacity x field], lane by lane, and each row's lane."""
    filled = np.arange(buffers.shape[1])[None, :] < counts.astype(np.int64)[:, None]
    return buffers[filled], np.nonzero(filled)[0]


def bar_times(minute_stamps: np.ndarray) -> pd.DatetimeIndex:
    """Minute stamps (minutes since the epoch) as bar starts in America/New_York."""
    return pd.DatetimeIndex(pd.to_datetime(minute_stamps.astype(np.int64) * NS_PER_MINUTE, utc=True)).tz_convert(ET)


class Records:
    """The orders and trades of a run, one block per session."""

    def __init__(self, symbols: np.ndarray) -> None:
        self.symbols = symbols
        self.orders: list[tuple[np.ndarray, np.ndarray]] = []
        self.trades: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, orders: np.ndarray, order_counts: np.ndarray, trades: np.ndarray, trade_counts: np.ndarray) -> None:
        """Keep one session's records (buffers [lane x capacity x field] with their counts per lane)."""
        self.orders.append(_kept(orders, order_counts))
        self.trades.append(_kept(trades, trade_counts))

    @staticmethod
    def _joined(blocks: list[tuple[np.ndarray, np.ndarray]], fields: int) -> tuple[np.ndarray, np.ndarray]:
        if not blocks:
            return np.empty((0, fields)), np.empty(0, dtype=np.int64)
        return np.concatenate([rows for rows, _ in blocks]), np.concatenate([lanes for _, lanes in blocks])

    def order_table(self, fields: int) -> pd.DataFrame:
        """Every order, sorted by (bar, symbol, the order the simulator processed them)."""
        rows, lanes = self._joined(self.orders, fields)
        symbols = self.symbols[lanes].astype(str)
        order = np.lexsort((np.arange(len(rows)), symbols, rows[:, ORDER_BAR]))
        rows, symbols = rows[order], symbols[order]
        return pd.DataFrame({
            "symbol": _text(symbols), "bar": bar_times(rows[:, ORDER_BAR]),
            "side": _named(rows[:, ORDER_SIDE] < 0, ("buy", "sell")),
            "shares": rows[:, ORDER_SHARES].astype(np.int64), "price": rows[:, ORDER_PRICE],
            "fee": rows[:, ORDER_FEE], "status": _named(rows[:, ORDER_FILLED] == 0, ("filled", "rejected")),
            "reason": _named(rows[:, ORDER_REASON], REASONS)})

    def trade_table(self, fields: int) -> pd.DataFrame:
        """Every closed trade with pnl and return, sorted by (entry_bar, symbol)."""
        rows, lanes = self._joined(self.trades, fields)
        symbols = self.symbols[lanes].astype(str)
        order = np.lexsort((np.arange(len(rows)), symbols, rows[:, TRADE_ENTRY_BAR]))
        rows, symbols = rows[order], symbols[order]
        direction = rows[:, TRADE_DIRECTION]
        shares = rows[:, TRADE_SHARES]
        entry, leave = rows[:, TRADE_ENTRY_PRICE], rows[:, TRADE_EXIT_PRICE]
        pnl = (leave - entry) * shares * direction - rows[:, TRADE_ENTRY_FEE] - rows[:, TRADE_EXIT_FEE]
        return pd.DataFrame({
            "symbol": _text(symbols),
            "direction": _named(direction < 0, ("long", "short")),
            "entry_bar": bar_times(rows[:, TRADE_ENTRY_BAR]), "entry_price": entry,
            "exit_bar": bar_times(rows[:, TRADE_EXIT_BAR]), "exit_price": leave,
            "shares": shares.astype(np.int64), "entry_fee": rows[:, TRADE_ENTRY_FEE],
            "exit_fee": rows[:, TRADE_EXIT_FEE], "pnl": pnl, "return_pct": 100.0 * pnl / (entry * shares),
            "exit_reason": _named(rows[:, TRADE_REASON], REASONS)})
