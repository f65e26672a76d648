"""A slow, obvious backtest simulator written only from docs/spec/backtest.md and docs/BACKTEST.md.

Never from tapescan's simulator: tapescan.simulate / tapescan.backtest are compared against this one trade
for trade, order for order and stat for stat (tests/test_backtest_oracle.py). Everything here is plain Python
over clock minutes and symbols, the spec's order of events spelled out step by step; readable over fast.

``oracle_simulate(bars, signals, settings, sessions, trading_sessions)`` runs signals through the accounts;
``oracle_signals(bars, strategy, params)`` gives a built-in strategy's four signal columns;
``oracle_stats(...)`` turns equity, trades and bar counts into the spec's statistics.

Decisions taken where both documents are silent (listed in the helper's report, for docs/BACKTEST.md):

- A ``next_open`` signal on the symbol's last bar of the session lapses before anything else is checked: no
  order, not even an ``outside entry window`` rejection, is recorded for it (no order was sent).
- With ``fill: close``, "a bar on which a stop exits" means any exit other than ``signal`` before the close
  of that bar: stop_loss, trailing_stop, take_profit (at the open or inside the bar) and ``time``.
- Entry checks, in order: ``last bar of session``, then (shared) ``max_positions``, then ``size below one
  share``, then (shared) ``max_position_pct``, then the cash cut / ``insufficient cash`` (long entries only).
- A rejected order (other than ``outside entry window``) carries the shares as sized, the fill price with
  slippage, and fee 0 (nothing was paid).
- ``max_positions`` and ``max_position_pct`` apply to ``shared`` accounts only.
- Entries are ranked by ``rank`` descending; a NaN rank goes after every number; ties by symbol.
- ``end`` exits happen after the last clock minute of the range; the equity after them is the last session's
  E_d and is one more point of the drawdown series (after that minute's equity, which is also a point).
- Every account value uses the last close seen in the range; a position entered at an open before its
  symbol's first close in the range would be valued at its entry fill price (cannot happen: an entry needs a
  signal bar in the range, whose close comes first).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tapescan import calendar

ET = "America/New_York"
ONE_MINUTE = pd.Timedelta(minutes=1)
ANNUAL_SESSIONS = 252
# TA-Lib's TA_IS_ZERO: RSI is 0 when average gain + average loss lies within this of zero.
TALIB_ZERO = 1e-8

LONG = 1
SHORT = -1
DIRECTION_NAME = {LONG: "long", SHORT: "short"}
SIGNAL_COLUMNS = ("long_entry", "long_exit", "short_entry", "short_exit")
STAT_NAMES = (
    "total_return_pct", "cagr_pct", "sharpe", "sortino", "max_drawdown_pct", "calmar",
    "trades", "win_rate_pct", "profit_factor", "expectancy", "exposure_pct",
)
TRADE_COLUMNS = (
    "symbol", "direction", "entry_bar", "entry_price", "exit_bar", "exit_price", "shares",
    "entry_fee", "exit_fee", "pnl", "return_pct", "exit_reason",
)
ORDER_COLUMNS = ("symbol", "bar", "side", "shares", "price", "fee", "status", "reason")
EQUITY_COLUMNS = ("date", "equity", "cash", "return_pct", "drawdown_pct")
STOP_REASONS = ("stop_loss", "trailing_stop", "take_profit", "time")

#: The strategy file's keys, flat, with the spec's defaults.
DEFAULTS: dict[str, Any] = {
    "direction": "long",
    "fill": "next_open",
    "slippage_pct": 0.0,
    "fee_pct": 0.0,
    "fee_per_order": 0.0,
    "shares": None,
    "value": None,
    "percent_equity": None,
    "mode": "per_symbol",
    "init_cash": 100000.0,
    "max_positions": None,
    "max_position_pct": None,
    "stop_loss_pct": None,
    "take_profit_pct": None,
    "trailing_stop_pct": None,
    "max_minutes": None,
    "entry_start": "09:30",
    "entry_end": "16:00",
    "flat_at_close": True,
}
DEFAULT_SHARES = 100


# ---------------------------------------------------------------------------------------------- state


@dataclass
class Bar:
    """One regular-session 1-minute bar of one symbol, with the signals decided at its close."""

    symbol: str
    ts: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    last_of_session: bool  # the symbol's last bar of this session
    long_entry: bool
    long_exit: bool
    short_entry: bool
    short_exit: bool
    rank: float


@dataclass
class Position:
    """An open position: direction, whole shares, the entry fill and the trailing extreme."""

    direction: int
    shares: int
    entry_price: float  # fill price, slippage included
    entry_fee: float
    entry_bar: pd.Timestamp
    fill_time: pd.Timestamp  # next_open: the bar's start; close: the bar's end
    extreme: float  # long: the trailing peak; short: the trailing trough; starts at entry_price


@dataclass
class Account:
    """Cash and open positions; per_symbol has one per symbol, shared one for all."""

    cash: float
    positions: dict[str, Position] = field(default_factory=dict)


@dataclass
class Pending:
    """What a next_open signal asks of the symbol's next bar: an exit, an entry, or both (a reversal)."""

    exit: bool
    entry: int  # LONG, SHORT or 0
    rank: float


@dataclass
class Curve:
    """An account's equity history: per clock minute (for the drawdown) and per session."""

    initial: float
    minutes: list[float] = field(default_factory=list)
    daily: list[float] = field(default_factory=list)
    daily_cash: list[float] = field(default_factory=list)
    daily_drawdown: list[float] = field(default_factory=list)
    peak: float = float("nan")

    def __post_init__(self) -> None:
        self.peak = self.initial

    def minute(self, equity: float) -> None:
        """Equity at a clock minute's end."""
        self.minutes.append(equity)
        self.peak = max(self.peak, equity)

    def close_session(self, equity: float, cash: float) -> None:
        """E_d and the drawdown against the highest equity of any minute so far, E_0 included."""
        self.peak = max(self.peak, equity)
        self.daily.append(equity)
        self.daily_cash.append(cash)
        self.daily_drawdown.append(100.0 * (1.0 - equity / self.peak))


@dataclass
class OracleResult:
    """The spec's outputs: trades, orders, equity per session, stats and per-symbol stats."""

    trades: pd.DataFrame
    orders: pd.DataFrame
    equity: pd.DataFrame
    stats: dict[str, float]
    symbol_stats: pd.DataFrame


# ---------------------------------------------------------------------------------------------- settings


def _settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The flat settings with the spec's defaults filled in; unknown keys are a test-writing error."""
    unknown = set(settings) - set(DEFAULTS) - {"rank_by"}
    if unknown:
        raise KeyError(f"oracle_simulate: unknown settings {sorted(unknown)}")
    merged = DEFAULTS | settings
    if merged["shares"] is None and merged["value"] is None and merged["percent_equity"] is None:
        merged["shares"] = DEFAULT_SHARES
    for key in ("entry_start", "entry_end"):
        value = merged[key]
        merged[key] = value if isinstance(value, datetime.time) else datetime.time.fromisoformat(value)
    return merged


def _pct(value: float | None) -> float:
    """A percentage setting as a fraction (0 when unset)."""
    return 0.0 if value is None else value / 100.0


# ---------------------------------------------------------------------------------------------- simulator


class Simulator:
    """One backtest run: the spec's order of events at each clock minute, over the symbols with a bar then."""

    def __init__(self, bars: list[Bar], settings: dict[str, Any], trading_sessions: list[datetime.date]):
        self.s = settings
        self.sessions = trading_sessions
        self.shared = settings["mode"] == "shared"
        self.symbols = sorted({bar.symbol for bar in bars})
        self.by_minute: dict[pd.Timestamp, list[Bar]] = {}
        for bar in bars:
            self.by_minute.setdefault(bar.ts, []).append(bar)
        for here in self.by_minute.values():
            here.sort(key=lambda b: b.symbol)
        self.last_bar: dict[str, Bar] = {}  # each symbol's last bar in the range (for `end` exits)
        for bar in sorted(bars, key=lambda b: b.ts):
            self.last_bar[bar.symbol] = bar
        init = float(settings["init_cash"])
        # "per_symbol: every symbol ... that has a bar in the range has its own account of init_cash";
        # "shared: one account of init_cash for the whole universe".
        if self.shared:
            self.accounts = {"": Account(init)}
            self.curves = {"": Curve(init)}
        else:
            self.accounts = {sym: Account(init) for sym in self.symbols}
            self.curves = {sym: Curve(init) for sym in self.symbols}
        self.portfolio = Curve(init * len(self.accounts))
        self.marks: dict[str, float] = {}  # last close seen, per symbol
        self.pending: dict[str, Pending] = {}
        self.orders: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.bars_total: dict[str, int] = dict.fromkeys(self.symbols, 0)
        self.bars_exposed: dict[str, int] = dict.fromkeys(self.symbols, 0)
        self.stopped: set[str] = set()  # symbols whose position a stop or time exit closed in this bar

    # -- accounts ---------------------------------------------------------------------------------------

    def account(self, symbol: str) -> Account:
        """The account that trades `symbol`."""
        return self.accounts[""] if self.shared else self.accounts[symbol]

    def position(self, symbol: str) -> Position | None:
        """The open position in `symbol`, if any."""
        return self.account(symbol).positions.get(symbol)

    def equity(self, account: Account) -> float:
        """Cash + shares x last close of every held symbol (short shares count negative)."""
        total = account.cash
        for symbol, pos in sorted(account.positions.items()):
            mark = self.marks.get(symbol, pos.entry_price)
            total += pos.direction * pos.shares * mark
        return total

    # -- prices, fees, orders ---------------------------------------------------------------------------

    def fill_price(self, price: float, buy: bool) -> float:
        """"a buy fills at price*(1 + slippage), a sell at price*(1 - slippage)"."""
        slip = _pct(self.s["slippage_pct"])
        return price * (1.0 + slip) if buy else price * (1.0 - slip)

    def fee(self, shares: int, price: float) -> float:
        """"Fee of an order = shares * fill price * fee_pct/100 + fee_per_order"."""
        return shares * price * self.s["fee_pct"] / 100.0 + self.s["fee_per_order"]

    def record(self, symbol: str, bar: pd.Timestamp, buy: bool, shares: int, price: float, fee: float,
               status: str, reason: str) -> None:
        """One order line, in processing order."""
        self.orders.append({
            "symbol": symbol, "bar": bar, "side": "buy" if buy else "sell", "shares": int(shares),
            "price": float(price), "fee": float(fee), "status": status, "reason": reason,
            "_seq": len(self.orders),
        })

    # -- exits ------------------------------------------------------------------------------------------

    def exit(self, symbol: str, bar_ts: pd.Timestamp, price: float, reason: str) -> None:
        """Close the position in `symbol` at `price` (before slippage): a sell for a long, a buy for a short."""
        account = self.account(symbol)
        pos = account.positions.pop(symbol)
        buy = pos.direction == SHORT
        fill = self.fill_price(price, buy)
        fee = self.fee(pos.shares, fill)
        # "Short sales add their proceeds to cash; covering takes cash. Exits are never refused."
        if buy:
            account.cash -= pos.shares * fill + fee
        else:
            account.cash += pos.shares * fill - fee
        self.record(symbol, bar_ts, buy, pos.shares, fill, fee, "filled", reason)
        # "pnl = (exit_price - entry_price) * shares * (+1 long, -1 short) - entry_fee - exit_fee"
        pnl = (fill - pos.entry_price) * pos.shares * pos.direction - pos.entry_fee - fee
        self.trades.append({
            "symbol": symbol, "direction": DIRECTION_NAME[pos.direction], "entry_bar": pos.entry_bar,
            "entry_price": pos.entry_price, "exit_bar": bar_ts, "exit_price": fill, "shares": pos.shares,
            "entry_fee": pos.entry_fee, "exit_fee": fee, "pnl": pnl,
            "return_pct": 100.0 * pnl / (pos.entry_price * pos.shares), "exit_reason": reason,
            "_seq": len(self.trades),
        })
        if reason in STOP_REASONS:
            self.stopped.add(symbol)

    def levels(self, pos: Position) -> dict[str, float]:
        """The position's stop levels from its entry fill price P; short positions mirror them."""
        s, P, d = self.s, pos.entry_price, pos.direction
        out = {}
        if s["stop_loss_pct"] is not None:
            out["stop_loss"] = P * (1.0 - d * s["stop_loss_pct"] / 100.0)
        if s["trailing_stop_pct"] is not None:
            out["trailing_stop"] = pos.extreme * (1.0 - d * s["trailing_stop_pct"] / 100.0)
        if s["take_profit_pct"] is not None:
            out["take_profit"] = P * (1.0 + d * s["take_profit_pct"] / 100.0)
        return out

    def gap_or_time_exit(self, bar: Bar) -> None:
        """Step 1, second part: a position entered before this bar exits at the open on a gap or a time stop."""
        pos = self.position(bar.symbol)
        if pos is None or not pos.entry_bar < bar.ts:
            return
        levels = self.levels(pos)
        d = pos.direction
        # "if the open is at or beyond one of its levels (a gap), it exits at the open (reasons checked in
        # the order stop_loss, trailing_stop, take_profit)"; short positions mirror.
        for reason in ("stop_loss", "trailing_stop"):
            if reason in levels and d * bar.open <= d * levels[reason]:
                self.exit(bar.symbol, bar.ts, bar.open, reason)
                return
        if "take_profit" in levels and d * bar.open >= d * levels["take_profit"]:
            self.exit(bar.symbol, bar.ts, bar.open, "take_profit")
            return
        # "else if the time stop is due, it exits at the open": the first bar whose start is at least
        # entry fill time + max_minutes.
        minutes = self.s["max_minutes"]
        if minutes is not None and bar.ts >= pos.fill_time + pd.Timedelta(minutes=minutes):
            self.exit(bar.symbol, bar.ts, bar.open, "time")

    def inside_exit(self, bar: Bar) -> None:
        """Step 2: a stop or trailing level reached inside the bar, else the take-profit level."""
        pos = self.position(bar.symbol)
        if pos is None or not pos.entry_bar < bar.ts:
            return
        levels = self.levels(pos)
        d = pos.direction
        adverse = bar.low if d == LONG else bar.high  # the side of the bar a stop is reached on
        favourable = bar.high if d == LONG else bar.low
        reached = [r for r in ("stop_loss", "trailing_stop") if r in levels and d * adverse <= d * levels[r]]
        if reached:
            # "both reached: the nearer one, the higher for a long; a tie is stop_loss"
            if len(reached) == 2:
                sl, tr = levels["stop_loss"], levels["trailing_stop"]
                reason = "trailing_stop" if d * tr > d * sl else "stop_loss"
            else:
                reason = reached[0]
            self.exit(bar.symbol, bar.ts, levels[reason], reason)
        elif "take_profit" in levels and d * favourable >= d * levels["take_profit"]:
            self.exit(bar.symbol, bar.ts, levels["take_profit"], "take_profit")

    # -- entries ----------------------------------------------------------------------------------------

    def size(self, price: float, equity: float) -> int:
        """Whole shares for an entry at fill price `price` (may be below 1: then the entry is rejected)."""
        s = self.s
        if s["shares"] is not None:
            return int(s["shares"])
        if s["value"] is not None:
            return math.floor(s["value"] / price)
        # "floor(p/100 * account equity at the fill / fill price)"
        return math.floor(s["percent_equity"] / 100.0 * equity / price)

    def enter(self, bar: Bar, direction: int, base_price: float, fill_time: pd.Timestamp) -> None:
        """An entry at `base_price` (before slippage) in `bar`, after the checks in their documented order."""
        s, symbol = self.s, bar.symbol
        account = self.account(symbol)
        buy = direction == LONG
        price = self.fill_price(base_price, buy)
        equity = self.equity(account)
        shares = self.size(price, equity)

        def reject(reason: str) -> None:
            self.record(symbol, bar.ts, buy, shares, price, 0.0, "rejected", reason)

        # "never for an order that would fill on the symbol's last bar of the session when flat_at_close"
        if s["flat_at_close"] and bar.last_of_session:
            return reject("last bar of session")
        if self.shared and s["max_positions"] is not None and len(account.positions) >= s["max_positions"]:
            return reject("max_positions")
        # "Size (whole shares, at least 1, else the order is rejected)"
        if shares < 1:
            return reject("size below one share")
        # "no entry whose value (shares * fill price) exceeds max_position_pct of equity"
        limit = s["max_position_pct"]
        if self.shared and limit is not None and shares * price > limit / 100.0 * equity:
            return reject("max_position_pct")
        filled = shares
        if buy:
            # "A buy that cash cannot pay for (shares*price + fee) is cut to the shares cash can pay for"
            if shares * price + self.fee(shares, price) > account.cash:
                filled = math.floor((account.cash - s["fee_per_order"]) / (price * (1.0 + s["fee_pct"] / 100.0)))
                if filled < 1:
                    return reject("insufficient cash")
        fee = self.fee(filled, price)
        if buy:
            account.cash -= filled * price + fee
        else:
            account.cash += filled * price - fee
        account.positions[symbol] = Position(direction, filled, price, fee, bar.ts, fill_time, price)
        self.record(symbol, bar.ts, buy, filled, price, fee, "filled", "entry")

    @staticmethod
    def rank_order(items: list[tuple[Bar, int, float]]) -> list[tuple[Bar, int, float]]:
        """Entries "in order of rank_by (descending; ties by symbol)", by the signal bar's rank; NaN last."""
        return sorted(items, key=lambda item: (math.isnan(item[2]), -np.nan_to_num(item[2]), item[0].symbol))

    # -- signals ----------------------------------------------------------------------------------------

    def decide(self, bar: Bar) -> Pending:
        """The signals at `bar`'s close, masked, cancelled, and applied to the position held now."""
        direction = self.s["direction"]
        le, lx, se, sx = bar.long_entry, bar.long_exit, bar.short_entry, bar.short_exit
        if direction == "long":  # "Direction masks signals before anything else"
            se = sx = False
        elif direction == "short":
            le = lx = False
        if le and lx:  # "An entry signal and an exit signal on the same bar (same direction) cancel"
            le = lx = False
        if se and sx:
            se = sx = False
        if le and se:  # BACKTEST.md: a long and a short entry on one bar also cancel
            le = se = False
        pos = self.position(bar.symbol)
        if pos is None:  # "an exit signal while flat is dropped"
            return Pending(False, LONG if le else SHORT if se else 0, bar.rank)
        if pos.direction == LONG:  # "an entry signal while a position is open is dropped" unless opposite
            return Pending(lx or se, SHORT if se else 0, bar.rank)
        return Pending(sx or le, LONG if le else 0, bar.rank)

    def in_window(self, bar: Bar) -> bool:
        """"Entries act only for signal bars with start in [entry_start, entry_end)"."""
        t = bar.ts.time()
        return self.s["entry_start"] <= t < self.s["entry_end"]

    def signals_at_close(self, bar: Bar) -> Pending | None:
        """What the bar's close-time signals ask for, after the lapse and entry-window rules; None: nothing."""
        if self.s["fill"] == "next_open" and bar.last_of_session:
            return None  # "If t is the symbol's last bar of the session, the order lapses" (not recorded)
        if self.s["fill"] == "close" and bar.symbol in self.stopped:
            return None  # "a bar on which a stop exits ignores that bar's signals"
        wish = self.decide(bar)
        if wish.entry and not self.in_window(bar):
            # recorded at the signal bar, shares 0, price NaN, fee 0; a reversal's exit part still happens
            self.record(bar.symbol, bar.ts, wish.entry == LONG, 0, float("nan"), 0.0, "rejected",
                        "outside entry window")
            wish.entry = 0
        if not wish.exit and not wish.entry:
            return None
        return wish

    # -- one clock minute -------------------------------------------------------------------------------

    def minute(self, here: list[Bar]) -> None:
        """The spec's order of events at one clock minute, over the symbols that have a bar then."""
        self.stopped = set()
        # 1. At the open: "pending signal exits fill at the open (symbol order)".
        for bar in here:
            wish = self.pending.get(bar.symbol)
            if wish is not None and wish.exit:
                self.exit(bar.symbol, bar.ts, bar.open, "signal")
        # "Then, for each position entered before this bar": a gap through a level, else the time stop.
        for bar in here:
            self.gap_or_time_exit(bar)
        # "Then pending entries fill at the open (in rank_by order)."
        entries = [(bar, wish.entry, wish.rank) for bar in here
                   if (wish := self.pending.pop(bar.symbol, None)) is not None and wish.entry]
        for bar, direction, _ in self.rank_order(entries):
            self.enter(bar, direction, bar.open, bar.ts)
        # 2. Inside the bar.
        for bar in here:
            self.inside_exit(bar)
        # 3. At the close: "positions are valued at the close; trailing peaks take the bar's high".
        for bar in here:
            self.marks[bar.symbol] = bar.close
            self.bars_total[bar.symbol] += 1
            pos = self.position(bar.symbol)
            if pos is not None:
                self.bars_exposed[bar.symbol] += 1
                if pos.entry_bar < bar.ts:  # the entry bar's own high does not count
                    pos.extreme = max(pos.extreme, bar.high) if pos.direction == LONG else min(pos.extreme, bar.low)
        # "signals are decided (with fill: close they fill now, exits before entries; with next_open they
        # wait for the symbol's next bar)"
        wishes = [(bar, wish) for bar in here if (wish := self.signals_at_close(bar)) is not None]
        if self.s["fill"] == "close":
            for bar, wish in wishes:
                if wish.exit:
                    self.exit(bar.symbol, bar.ts, bar.close, "signal")
            entries = [(bar, wish.entry, wish.rank) for bar, wish in wishes if wish.entry]
            for bar, direction, _ in self.rank_order(entries):
                self.enter(bar, direction, bar.close, bar.ts + ONE_MINUTE)
        else:
            for bar, wish in wishes:
                self.pending[bar.symbol] = wish
        # "then the session-close exit": after the symbol's last regular-session bar of the session.
        if self.s["flat_at_close"]:
            for bar in here:
                if bar.last_of_session and self.position(bar.symbol) is not None:
                    self.exit(bar.symbol, bar.ts, bar.close, "close")

    def mark_minute(self) -> None:
        """Equity at a clock minute's end, for every account and the portfolio."""
        for key, account in self.accounts.items():
            self.curves[key].minute(self.equity(account))
        self.portfolio.minute(sum(self.equity(a) for a in self.accounts.values()))

    def close_session(self) -> None:
        """Daily equity E_d of every account and the portfolio."""
        for key, account in self.accounts.items():
            self.curves[key].close_session(self.equity(account), account.cash)
        self.portfolio.close_session(sum(self.equity(a) for a in self.accounts.values()),
                                     sum(a.cash for a in self.accounts.values()))

    def end(self) -> None:
        """`end` exits after the range's last minute at each symbol's last close in the range."""
        open_any = any(account.positions for account in self.accounts.values())
        for symbol in self.symbols:
            if self.position(symbol) is not None:
                last = self.last_bar[symbol]
                self.exit(symbol, last.ts, last.close, "end")
        if open_any:  # the final equity includes them: it replaces the last E_d and is a drawdown point
            for key, account in self.accounts.items():
                self._replace_last(self.curves[key], self.equity(account), account.cash)
            self._replace_last(self.portfolio, sum(self.equity(a) for a in self.accounts.values()),
                               sum(a.cash for a in self.accounts.values()))

    @staticmethod
    def _replace_last(curve: Curve, equity: float, cash: float) -> None:
        curve.minutes.append(equity)
        curve.daily.pop()
        curve.daily_cash.pop()
        curve.daily_drawdown.pop()
        curve.close_session(equity, cash)

    def run(self) -> None:
        """Every clock minute of every session of the range, then the `end` exits."""
        for day in self.sessions:
            for start in calendar.session_minutes(day):
                self.minute(self.by_minute.get(start, []))
                self.mark_minute()
            self.close_session()
        self.end()


# ---------------------------------------------------------------------------------------------- inputs


def _session_of(ts: pd.Series) -> pd.Series:
    """The ET calendar date of each bar start."""
    return ts.dt.tz_convert(ET).dt.date


def _regular(bars: pd.DataFrame) -> pd.Series:
    """Which rows are regular-session bars: open(D) <= start < close(D)."""
    dates = _session_of(bars["ts"])
    keep = np.zeros(len(bars), dtype=bool)
    for day in sorted(set(dates)):
        if not calendar.is_session(day):
            continue
        open_, close = calendar.session_bounds(day)
        keep |= ((dates == day) & (bars["ts"] >= open_) & (bars["ts"] < close)).to_numpy()
    return pd.Series(keep, index=bars.index)


def _bars(bars: pd.DataFrame, signals: pd.DataFrame, trading_sessions: list[datetime.date]) -> list[Bar]:
    """The range's regular-session bars as Bar records; warm-up bars and their signals are not used."""
    frame = bars.reset_index(drop=True).copy()
    sig = signals.reset_index(drop=True)
    if "symbol" not in frame:
        frame["symbol"] = ""
    frame["ts"] = frame["ts"].dt.tz_convert(ET)
    for column in SIGNAL_COLUMNS:
        frame[column] = sig[column].fillna(False).astype(bool) if column in sig else False
    frame["rank"] = sig["rank"].astype(float) if "rank" in sig else np.nan
    frame["date"] = _session_of(frame["ts"])
    frame = frame[_regular(frame) & frame["date"].isin(set(trading_sessions))]
    frame = frame.sort_values(["symbol", "ts"], kind="stable")
    last = frame.groupby(["symbol", "date"])["ts"].transform("max")
    out = []
    for row, is_last in zip(frame.itertuples(index=False), (frame["ts"] == last).to_numpy()):
        out.append(Bar(
            str(row.symbol), row.ts, float(row.open), float(row.high), float(row.low), float(row.close),
            bool(is_last), bool(row.long_entry), bool(row.long_exit), bool(row.short_entry),
            bool(row.short_exit), float(row.rank),
        ))
    return out


# ---------------------------------------------------------------------------------------------- stats


def oracle_stats(daily: list[float], initial: float, minutes: list[float], pnls: list[float],
                 bars_exposed: int, bars_total: int) -> dict[str, float]:
    """The spec's statistics from daily equity E_d, every minute's equity, trade pnls and bar counts."""
    nan = float("nan")
    sessions = len(daily)
    previous = [initial] + daily[:-1]
    r = [e / p - 1.0 for e, p in zip(daily, previous)]
    last = daily[-1] if daily else initial
    stats: dict[str, float] = {}
    stats["total_return_pct"] = 100.0 * (last / initial - 1.0)
    stats["cagr_pct"] = 100.0 * ((last / initial) ** (ANNUAL_SESSIONS / sessions) - 1.0) if sessions else nan
    mean = sum(r) / len(r) if r else nan
    if len(r) >= 2:
        std = math.sqrt(sum((x - mean) ** 2 for x in r) / (len(r) - 1))
        stats["sharpe"] = mean / std * math.sqrt(ANNUAL_SESSIONS) if std > 0 else nan
    else:
        stats["sharpe"] = nan
    if any(x < 0 for x in r):
        downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r))
        stats["sortino"] = mean / downside * math.sqrt(ANNUAL_SESSIONS)
    else:
        stats["sortino"] = nan
    peak, worst = initial, 0.0
    for equity in minutes:
        peak = max(peak, equity)
        worst = max(worst, 1.0 - equity / peak)
    stats["max_drawdown_pct"] = 100.0 * worst
    stats["calmar"] = stats["cagr_pct"] / stats["max_drawdown_pct"] if stats["max_drawdown_pct"] != 0 else nan
    stats["trades"] = float(len(pnls))
    stats["win_rate_pct"] = 100.0 * sum(1 for p in pnls if p > 0) / len(pnls) if pnls else nan
    losses = sum(p for p in pnls if p < 0)
    gains = sum(p for p in pnls if p > 0)
    stats["profit_factor"] = gains / abs(losses) if any(p < 0 for p in pnls) else nan
    stats["expectancy"] = sum(pnls) / len(pnls) if pnls else nan
    stats["exposure_pct"] = 100.0 * bars_exposed / bars_total if bars_total else nan
    return {name: stats[name] for name in STAT_NAMES}


# ---------------------------------------------------------------------------------------------- public


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...], sort: list[str]) -> pd.DataFrame:
    """Rows in the contract's column order, sorted stably, with int64 shares."""
    frame = pd.DataFrame(rows, columns=list(columns) + ["_seq"])
    frame = frame.sort_values(sort + ["_seq"], kind="stable").drop(columns="_seq").reset_index(drop=True)
    frame["shares"] = frame["shares"].astype("int64")
    for column in ("entry_bar", "exit_bar", "bar"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).dt.tz_convert(ET) if len(frame) else \
                pd.Series([], dtype=f"datetime64[ns, {ET}]")
    for column in frame.columns:
        if column in ("entry_price", "exit_price", "entry_fee", "exit_fee", "pnl", "return_pct", "price", "fee"):
            frame[column] = frame[column].astype("float64")
    return frame


def oracle_simulate(bars: pd.DataFrame, signals: pd.DataFrame, settings: dict[str, Any],
                    sessions: list[datetime.date], trading_sessions: list[datetime.date]) -> OracleResult:
    """Run `signals` (aligned to `bars`' rows) through the spec's simulator over `trading_sessions`.

    `sessions` are all the sessions the bars cover, warm-up included; only `trading_sessions` trade (their
    bars' signals act, their minutes are valued). `settings` are the strategy file's keys, flat.
    """
    del sessions  # warm-up bars only feed indicators, which the caller's signals already carry
    config = _settings(settings)
    days = sorted(calendar.to_date(d) for d in trading_sessions)
    sim = Simulator(_bars(bars, signals, days), config, days)
    sim.run()
    trades = _frame(sim.trades, TRADE_COLUMNS, ["entry_bar", "symbol"])
    orders = _frame(sim.orders, ORDER_COLUMNS, ["bar", "symbol"])
    p = sim.portfolio
    equity = pd.DataFrame({
        "date": pd.Series(days, dtype=object),
        "equity": np.asarray(p.daily, dtype="float64"),
        "cash": np.asarray(p.daily_cash, dtype="float64"),
        "return_pct": 100.0 * (np.asarray(p.daily) / np.asarray([p.initial] + p.daily[:-1]) - 1.0),
        "drawdown_pct": np.asarray(p.daily_drawdown, dtype="float64"),
    })
    stats = oracle_stats(p.daily, p.initial, p.minutes, list(trades["pnl"]),
                         sum(sim.bars_exposed.values()), sum(sim.bars_total.values()))
    rows = {}
    if not sim.shared:
        for symbol in sim.symbols:
            curve = sim.curves[symbol]
            pnls = list(trades.loc[trades["symbol"] == symbol, "pnl"])
            rows[symbol] = oracle_stats(curve.daily, curve.initial, curve.minutes, pnls,
                                        sim.bars_exposed[symbol], sim.bars_total[symbol])
    symbol_stats = pd.DataFrame.from_dict(rows, orient="index", columns=list(STAT_NAMES), dtype="float64")
    symbol_stats.index.name = "symbol"
    return OracleResult(trades, orders, equity, stats, symbol_stats)


# ---------------------------------------------------------------------------------------------- signals
# Indicators over one symbol's bar sequence (continuing across sessions; vwap and opening_range reset per
# session), as plain lists with NaN where undefined. Sums are plain left-to-right Python sums, oldest first.


def _sma(close: list[float], n: int) -> list[float]:
    """"mean of the last n closes": sum(oldest first) / n from the n-th bar on."""
    out = [math.nan] * len(close)
    for t in range(n - 1, len(close)):
        total = 0.0
        for x in close[t - n + 1:t + 1]:
            total += x
        out[t] = total / n
    return out


def _ema(close: list[float], n: int) -> list[float]:
    """alpha = 2/(n+1); the first value at the n-th bar is sma(n); then alpha*close + (1-alpha)*ema_prev."""
    out = [math.nan] * len(close)
    alpha = 2.0 / (n + 1)
    if len(close) >= n:
        out[n - 1] = _sma(close[:n], n)[n - 1]
        for t in range(n, len(close)):
            out[t] = alpha * close[t] + (1.0 - alpha) * out[t - 1]
    return out


def _rsi(close: list[float], n: int) -> list[float]:
    """Wilder's RSI with TA-Lib's conventions: first averages = simple means of the first n changes."""
    out = [math.nan] * len(close)
    if len(close) <= n:
        return out
    changes = [close[t] - close[t - 1] for t in range(1, len(close))]
    gain = sum(max(c, 0.0) for c in changes[:n]) / n
    loss = sum(max(-c, 0.0) for c in changes[:n]) / n

    def value(g: float, lo: float) -> float:
        total = g + lo
        return 100.0 * (g / total) if not -TALIB_ZERO < total < TALIB_ZERO else 0.0  # TA-Lib's zero case

    out[n] = value(gain, loss)
    for t in range(n + 1, len(close)):
        c = changes[t - 1]
        gain = (gain * (n - 1) + max(c, 0.0)) / n
        loss = (loss * (n - 1) + max(-c, 0.0)) / n
        out[t] = value(gain, loss)
    return out


def _bbands(close: list[float], n: int, k: float) -> tuple[list[float], list[float], list[float]]:
    """(upper, middle, lower): middle = sma(n), bands = middle +/- k * population std of the last n closes."""
    middle = _sma(close, n)
    upper, lower = [math.nan] * len(close), [math.nan] * len(close)
    for t in range(n - 1, len(close)):
        squares = 0.0
        for x in close[t - n + 1:t + 1]:
            squares += (x - middle[t]) ** 2
        std = math.sqrt(squares / n)
        upper[t], lower[t] = middle[t] + k * std, middle[t] - k * std
    return upper, middle, lower


def _vwap(frame: pd.DataFrame) -> list[float]:
    """Per session: sum(typical price * volume) / sum(volume) over the session's bars up to t."""
    out = []
    for _, day in frame.groupby("date", sort=True):
        num = vol = 0.0
        for row in day.itertuples(index=False):
            num += (row.high + row.low + row.close) / 3.0 * row.volume
            vol += row.volume
            out.append(num / vol if vol > 0 else math.nan)
    return out


def _opening_range(frame: pd.DataFrame, m: int) -> tuple[list[float], list[float]]:
    """Per session: max high / min low of the bars with start < open + m minutes, defined from open+m-1."""
    highs, lows = [], []
    for day, rows in frame.groupby("date", sort=True):
        open_, _ = calendar.session_bounds(day)
        inside = rows[rows["ts"] < open_ + pd.Timedelta(minutes=m)]
        high = max(inside["high"]) if len(inside) else math.nan
        low = min(inside["low"]) if len(inside) else math.nan
        for ts in rows["ts"]:
            defined = ts >= open_ + pd.Timedelta(minutes=m - 1)
            highs.append(high if defined else math.nan)
            lows.append(low if defined else math.nan)
    return highs, lows


def _crosses(x: list[float], y: list[float]) -> tuple[list[bool], list[bool]]:
    """(above, below) at each bar: x[t] > y[t] and x[t-1] <= y[t-1], all four defined (NaN compares false)."""
    above, below = [False] * len(x), [False] * len(x)
    for t in range(1, len(x)):
        above[t] = x[t] > y[t] and x[t - 1] <= y[t - 1]
        below[t] = x[t] < y[t] and x[t - 1] >= y[t - 1]
    return above, below


STRATEGY_DEFAULTS: dict[str, dict[str, float]] = {
    "sma_cross": {"fast": 10, "slow": 30},
    "ema_cross": {"fast": 12, "slow": 26},
    "rsi_reversion": {"period": 14, "lower": 30, "upper": 70},
    "bbands_reversion": {"period": 20, "k": 2.0},
    "vwap_reversion": {"deviation_pct": 1.0},
    "orb": {"minutes": 15},
}


def _symbol_signals(frame: pd.DataFrame, strategy: str, p: dict[str, float]) -> dict[str, list[bool]]:
    """The four signal lists of one symbol's bars (time order) for a built-in strategy."""
    close = [float(x) for x in frame["close"]]
    n = len(close)
    if strategy in ("sma_cross", "ema_cross"):
        average = _sma if strategy == "sma_cross" else _ema
        above, below = _crosses(average(close, int(p["fast"])), average(close, int(p["slow"])))
        return {"long_entry": above, "long_exit": below, "short_entry": below, "short_exit": above}
    if strategy == "rsi_reversion":
        rsi = _rsi(close, int(p["period"]))
        low = [r < p["lower"] for r in rsi]
        high = [r > p["upper"] for r in rsi]
        return {"long_entry": low, "long_exit": high, "short_entry": high, "short_exit": low}
    if strategy == "bbands_reversion":
        upper, middle, lower = _bbands(close, int(p["period"]), float(p["k"]))
        return {
            "long_entry": [c < lo for c, lo in zip(close, lower)],
            "long_exit": [c > mid for c, mid in zip(close, middle)],
            "short_entry": [c > up for c, up in zip(close, upper)],
            "short_exit": [c < mid for c, mid in zip(close, middle)],
        }
    if strategy == "vwap_reversion":
        vwap, dev = _vwap(frame), float(p["deviation_pct"]) / 100.0
        return {
            "long_entry": [c < v * (1.0 - dev) for c, v in zip(close, vwap)],
            "long_exit": [c >= v for c, v in zip(close, vwap)],
            "short_entry": [c > v * (1.0 + dev) for c, v in zip(close, vwap)],
            "short_exit": [c <= v for c, v in zip(close, vwap)],
        }
    if strategy == "orb":
        high, low = _opening_range(frame, int(p["minutes"]))
        long_entry, short_entry = [False] * n, [False] * n
        went_long, went_short = set(), set()  # sessions that already had their one entry per direction
        for t, day in enumerate(frame["date"]):
            if close[t] > high[t] and day not in went_long:
                long_entry[t] = True
                went_long.add(day)
            if close[t] < low[t] and day not in went_short:
                short_entry[t] = True
                went_short.add(day)
        return {"long_entry": long_entry, "long_exit": [False] * n, "short_entry": short_entry,
                "short_exit": [False] * n}
    raise KeyError(f"oracle_signals: no built-in strategy {strategy!r}")


def oracle_signals(bars: pd.DataFrame, strategy: str, params: dict[str, float] | None = None) -> pd.DataFrame:
    """A built-in strategy's signals (long_entry, long_exit, short_entry, short_exit), aligned to `bars`' rows.

    Indicators run over each symbol's regular-session bar sequence in time order, across sessions.
    """
    p = STRATEGY_DEFAULTS[strategy] | dict(params or {})
    frame = bars.reset_index(drop=True).copy()
    if "symbol" not in frame:
        frame["symbol"] = ""
    frame["ts"] = frame["ts"].dt.tz_convert(ET)
    frame["date"] = _session_of(frame["ts"])
    out = pd.DataFrame(False, index=frame.index, columns=list(SIGNAL_COLUMNS))
    regular = frame[_regular(frame)]
    for _, rows in regular.groupby("symbol", sort=True):
        rows = rows.sort_values("ts", kind="stable")
        for column, values in _symbol_signals(rows, strategy, p).items():
            out.loc[rows.index, column] = values
    out.index = bars.index
    return out
