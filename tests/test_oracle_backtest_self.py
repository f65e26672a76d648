"""Hand-computed cases that pin the backtest oracle (tests/oracle_backtest.py) to docs/spec/backtest.md.

Every expected number is worked out here by hand from the spec's sentences, never by the oracle, so that the
oracle can in turn judge tapescan's simulator (tests/test_backtest_oracle.py).
"""

from __future__ import annotations

import datetime
import math

import pandas as pd
import pytest

from tests.oracle_backtest import oracle_signals, oracle_simulate, oracle_stats

ET = "America/New_York"
DAY = "2024-03-05"  # a Tuesday, full session 09:30-16:00
NEXT_DAY = "2024-03-06"
CODES = {"LE": "long_entry", "LX": "long_exit", "SE": "short_entry", "SX": "short_exit"}


def market(rows: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bars and signals from rows (symbol, 'YYYY-MM-DD HH:MM' or 'HH:MM' on DAY, open, high, low, close[, codes[,
    rank]]), codes such as 'LE' or 'LX+SE'."""
    records, signals = [], []
    for row in rows:
        symbol, when, o, h, lo, c = row[:6]
        codes = row[6] if len(row) > 6 else ""
        stamp = when if " " in when else f"{DAY} {when}"
        records.append({"symbol": symbol, "ts": pd.Timestamp(stamp, tz=ET), "open": float(o), "high": float(h),
                        "low": float(lo), "close": float(c), "volume": 1000})
        flags = dict.fromkeys(CODES.values(), False)
        for code in filter(None, codes.split("+")):
            flags[CODES[code]] = True
        flags["rank"] = float(row[7]) if len(row) > 7 else math.nan
        signals.append(flags)
    return pd.DataFrame(records), pd.DataFrame(signals)


def run(rows: list[tuple], **settings):
    """The oracle over the sessions that the rows cover."""
    bars, signals = market(rows)
    days = sorted({ts.date() for ts in bars["ts"]})
    return oracle_simulate(bars, signals, settings, days, days)


def only_trade(result) -> pd.Series:
    assert len(result.trades) == 1, result.trades
    return result.trades.iloc[0]


# ---------------------------------------------------------------------------------------------- stops


def test_stop_loss_wins_over_take_profit_inside_one_bar():
    # Entry at the 09:31 open, 100. Levels: stop 100*(1-0.02) = 98, take profit 100*(1+0.03) = 103.
    # 09:32 reaches both (low 97, high 104): "Stop loss wins over take profit" -> exit at 98.
    result = run([
        ("A", "09:30", 99, 100, 98, 99, "LE"),
        ("A", "09:31", 100, 100.5, 99.5, 100),
        ("A", "09:32", 100, 104, 97, 100),
        ("A", "09:33", 100, 100, 100, 100),
    ], stop_loss_pct=2, take_profit_pct=3)
    trade = only_trade(result)
    assert trade.exit_reason == "stop_loss"
    assert trade.exit_price == pytest.approx(98.0, rel=1e-12)
    assert trade.exit_bar == pd.Timestamp(f"{DAY} 09:32", tz=ET)
    assert trade.pnl == pytest.approx(-200.0, rel=1e-12)  # (98 - 100) * 100 shares
    assert trade.return_pct == pytest.approx(-2.0, rel=1e-12)


def test_take_profit_inside_the_bar_exits_at_the_level():
    result = run([
        ("A", "09:30", 99, 100, 98, 99, "LE"),
        ("A", "09:31", 100, 100.5, 99.5, 100),
        ("A", "09:32", 100, 104, 99, 100),
        ("A", "09:33", 100, 100, 100, 100),
    ], stop_loss_pct=2, take_profit_pct=3)
    trade = only_trade(result)
    assert (trade.exit_reason, trade.exit_price) == ("take_profit", pytest.approx(103.0, rel=1e-12))


def test_the_entry_bar_is_not_checked():
    # The 09:31 entry bar itself falls to 90 (below the 98 stop): not checked; the position lives on to the
    # session-close exit at the last bar's close (101).
    result = run([
        ("A", "09:30", 99, 100, 98, 99, "LE"),
        ("A", "09:31", 100, 100.5, 90, 100),
        ("A", "09:32", 100, 101, 99, 101),
    ], stop_loss_pct=2)
    trade = only_trade(result)
    assert (trade.exit_reason, trade.exit_price, trade.exit_bar.minute) == ("close", 101.0, 32)


def test_a_gap_through_the_stop_exits_at_the_open():
    # Stop at 98; 09:32 opens at 95 (beyond it): exit at the open, 95, not at the level.
    result = run([
        ("A", "09:30", 99, 100, 98, 99, "LE"),
        ("A", "09:31", 100, 100.5, 99.5, 100),
        ("A", "09:32", 95, 96, 94, 95),
        ("A", "09:33", 95, 95, 95, 95),
    ], stop_loss_pct=2, take_profit_pct=3)
    trade = only_trade(result)
    assert (trade.exit_reason, trade.exit_price) == ("stop_loss", 95.0)
    assert trade.pnl == pytest.approx(-500.0, rel=1e-12)


def test_a_gap_through_take_profit_exits_at_the_open():
    result = run([
        ("A", "09:30", 99, 100, 98, 99, "LE"),
        ("A", "09:31", 100, 100.5, 99.5, 100),
        ("A", "09:32", 106, 107, 105, 106),
        ("A", "09:33", 100, 100, 100, 100),
    ], stop_loss_pct=2, take_profit_pct=3)
    trade = only_trade(result)
    assert (trade.exit_reason, trade.exit_price) == ("take_profit", 106.0)


def test_an_open_equal_to_the_level_is_a_gap():
    # "at or beyond": open 98 == the stop level -> exit at the open (98), reason stop_loss.
    result = run([
        ("A", "09:30", 99, 100, 98, 99, "LE"),
        ("A", "09:31", 100, 100.5, 99.5, 100),
        ("A", "09:32", 98, 103, 97, 100),
        ("A", "09:33", 100, 100, 100, 100),
    ], stop_loss_pct=2, take_profit_pct=3)
    trade = only_trade(result)
    assert (trade.exit_reason, trade.exit_price) == ("stop_loss", 98.0)


def test_trailing_peak_takes_a_high_only_after_its_bar():
    # Entry 100 at 09:31 (its high 110 is the entry bar's: never part of the peak). Trailing 5%.
    # 09:32: peak used = 100 -> level 95; low 99 does not reach it; then the peak takes 104.
    # 09:33: level = 104 * 0.95 = 98.8; low 98.5 reaches it -> exit at 98.8.
    result = run([
        ("A", "09:30", 99, 100, 98, 99, "LE"),
        ("A", "09:31", 100, 110, 99.5, 100),
        ("A", "09:32", 100, 104, 99, 103),
        ("A", "09:33", 100, 101, 98.5, 99),
        ("A", "09:34", 99, 99, 99, 99),
    ], trailing_stop_pct=5)
    trade = only_trade(result)
    assert trade.exit_reason == "trailing_stop"
    assert trade.exit_price == pytest.approx(104 * 0.95, rel=1e-12)
    assert trade.exit_bar.minute == 33


def test_stop_loss_and_trailing_both_reached_exits_at_the_nearer():
    # Entry 100; stop 10% -> 90; trailing 5%: after 09:32's high 110 the level is 104.5. 09:33's low 80 reaches
    # both: the nearer (higher, for a long) is the trailing level 104.5.
    result = run([
        ("A", "09:30", 99, 100, 98, 99, "LE"),
        ("A", "09:31", 100, 100, 100, 100),
        ("A", "09:32", 105, 110, 105, 108),
        ("A", "09:33", 106, 106, 80, 85),
        ("A", "09:34", 85, 85, 85, 85),
    ], stop_loss_pct=10, trailing_stop_pct=5)
    trade = only_trade(result)
    assert trade.exit_reason == "trailing_stop"
    assert trade.exit_price == pytest.approx(110 * 0.95, rel=1e-12)


def test_short_stops_mirror():
    # Short entry at 50. Stop 2% -> 51, take profit 4% -> 48. 09:32: high 51.5 reaches the stop -> cover at 51.
    result = run([
        ("A", "09:30", 50, 50, 50, 50, "SE"),
        ("A", "09:31", 50, 50.5, 49.5, 50),
        ("A", "09:32", 50, 51.5, 47, 50),
        ("A", "09:33", 50, 50, 50, 50),
    ], direction="short", stop_loss_pct=2, take_profit_pct=4)
    trade = only_trade(result)
    assert (trade.direction, trade.exit_reason) == ("short", "stop_loss")
    assert trade.exit_price == pytest.approx(51.0, rel=1e-12)
    assert trade.pnl == pytest.approx(-100.0, rel=1e-12)  # (51 - 50) * 100 * -1


def test_time_stop_at_the_first_bar_at_least_max_minutes_after_the_fill():
    # next_open fill at 09:31's start; max_minutes 3 -> due at 09:34; 09:34 is missing, so the 09:35 open.
    result = run([
        ("A", "09:30", 10, 10, 10, 10, "LE"),
        ("A", "09:31", 10, 10, 10, 10),
        ("A", "09:32", 10, 10, 10, 10),
        ("A", "09:33", 10, 10, 10, 10),
        ("A", "09:35", 11, 11, 11, 11),
        ("A", "09:36", 12, 12, 12, 12),
    ], max_minutes=3)
    trade = only_trade(result)
    assert (trade.exit_reason, trade.exit_price, trade.exit_bar.minute) == ("time", 11.0, 35)


def test_time_stop_of_a_close_fill_counts_from_the_bar_end():
    # fill: close at 09:30's close -> fill time 09:31; max_minutes 2 -> the 09:33 open.
    result = run([
        ("A", "09:30", 10, 10, 10, 10, "LE"),
        ("A", "09:31", 10, 10, 10, 10),
        ("A", "09:32", 10, 10, 10, 10),
        ("A", "09:33", 13, 13, 13, 13),
        ("A", "09:34", 14, 14, 14, 14),
    ], fill="close", max_minutes=2)
    trade = only_trade(result)
    assert (trade.exit_reason, trade.exit_price, trade.exit_bar.minute) == ("time", 13.0, 33)


# ---------------------------------------------------------------------------------------------- money


def test_fee_and_slippage_arithmetic():
    # slippage 1%, fee 0.1% + 1 per order, 10 shares.
    # Buy at the 09:31 open 100 -> 101; fee = 10*101*0.001 + 1 = 2.01.
    # Exit signal at 09:31 -> sell at the 09:32 open 110 -> 108.9; fee = 10*108.9*0.001 + 1 = 2.089.
    # pnl = (108.9 - 101)*10 - 2.01 - 2.089 = 74.901; return = 100*74.901/1010.
    result = run([
        ("A", "09:30", 100, 100, 100, 100, "LE"),
        ("A", "09:31", 100, 100, 100, 100, "LX"),
        ("A", "09:32", 110, 110, 110, 110),
        ("A", "09:33", 110, 110, 110, 110),
    ], shares=10, slippage_pct=1, fee_pct=0.1, fee_per_order=1)
    trade = only_trade(result)
    assert trade.entry_price == pytest.approx(101.0, rel=1e-12)
    assert trade.exit_price == pytest.approx(108.9, rel=1e-12)
    assert trade.entry_fee == pytest.approx(2.01, rel=1e-12)
    assert trade.exit_fee == pytest.approx(2.089, rel=1e-12)
    assert trade.pnl == pytest.approx(74.901, rel=1e-12)
    assert trade.return_pct == pytest.approx(100 * 74.901 / 1010, rel=1e-12)
    assert result.equity["equity"].iloc[0] == pytest.approx(100000 + 74.901, rel=1e-12)
    assert list(result.orders["reason"]) == ["entry", "signal"]
    assert list(result.orders["side"]) == ["buy", "sell"]


def test_a_buy_is_cut_to_what_cash_pays_for():
    # init_cash 1000, 100 shares at 20 (+1 per order) cost 2001: cut to floor((1000 - 1) / 20) = 49.
    result = run([
        ("A", "09:30", 20, 20, 20, 20, "LE"),
        ("A", "09:31", 20, 20, 20, 20),
        ("A", "09:32", 20, 20, 20, 20),
    ], init_cash=1000, shares=100, fee_per_order=1)
    assert only_trade(result).shares == 49
    assert result.orders["shares"].dtype == "int64"


def test_a_buy_with_no_cash_left_is_rejected():
    # init_cash 10 cannot pay one share at 20: rejected at the fill bar with the shares as sized.
    result = run([
        ("A", "09:30", 20, 20, 20, 20, "LE"),
        ("A", "09:31", 20, 20, 20, 20),
        ("A", "09:32", 20, 20, 20, 20),
    ], init_cash=10, shares=5)
    assert result.trades.empty
    order = result.orders.iloc[0]
    assert (order.status, order.reason, order.shares, order.price) == ("rejected", "insufficient cash", 5, 20.0)
    assert order.bar.minute == 31


def test_value_sizing_floors():
    # value 1000 at 30 -> floor(33.33) = 33 shares.
    result = run([
        ("A", "09:30", 30, 30, 30, 30, "LE"),
        ("A", "09:31", 30, 30, 30, 30),
        ("A", "09:32", 30, 30, 30, 30),
    ], value=1000)
    assert only_trade(result).shares == 33


def test_value_below_one_share_is_rejected():
    result = run([
        ("A", "09:30", 30, 30, 30, 30, "LE"),
        ("A", "09:31", 30, 30, 30, 30),
        ("A", "09:32", 30, 30, 30, 30),
    ], value=20)
    assert result.trades.empty
    assert list(result.orders["reason"]) == ["size below one share"]


def test_percent_equity_sizing_values_other_positions_at_their_last_close():
    # Shared account, 10000 cash, 30% of equity. A enters at the 09:31 open 50: 3000 / 50 = 60 shares, cash 7000.
    # B fills at the 09:33 open 40; A's last close before that open is 09:32's, 60 (its 09:33 close comes
    # later in the minute). Equity = 7000 + 60*60 = 10600; 30% / 40 = 79.5 -> 79 shares.
    result = run([
        ("A", "09:30", 50, 50, 50, 50, "LE"),
        ("A", "09:31", 50, 50, 50, 50),
        ("A", "09:32", 60, 60, 60, 60),
        ("A", "09:33", 70, 70, 70, 70),
        ("A", "09:34", 70, 70, 70, 70),
        ("B", "09:32", 40, 40, 40, 40, "LE"),
        ("B", "09:33", 40, 40, 40, 40),
        ("B", "09:34", 40, 40, 40, 40),
    ], mode="shared", init_cash=10000, percent_equity=30)
    trades = result.trades.set_index("symbol")
    assert trades.loc["A", "shares"] == 60
    assert trades.loc["B", "shares"] == 79


# ---------------------------------------------------------------------------------------------- orders


def test_short_trade_pnl():
    # Short 100 at 50 (the 09:31 open), cover on a signal at the 09:33 open 45: pnl = (45 - 50)*100*(-1) = 500.
    result = run([
        ("A", "09:30", 50, 50, 50, 50, "SE"),
        ("A", "09:31", 50, 50, 50, 50),
        ("A", "09:32", 46, 46, 46, 46, "SX"),
        ("A", "09:33", 45, 45, 45, 45),
        ("A", "09:34", 45, 45, 45, 45),
    ], direction="short")
    trade = only_trade(result)
    assert (trade.direction, trade.exit_reason, trade.exit_price) == ("short", "signal", 45.0)
    assert trade.pnl == pytest.approx(500.0, rel=1e-12)
    assert trade.return_pct == pytest.approx(10.0, rel=1e-12)
    assert list(result.orders["side"]) == ["sell", "buy"]
    # Daily equity: 100000 + 500; the short's proceeds were cash while it was open.
    assert result.equity["equity"].iloc[0] == pytest.approx(100500.0, rel=1e-12)


def test_direction_long_ignores_short_signals():
    result = run([
        ("A", "09:30", 50, 50, 50, 50, "SE"),
        ("A", "09:31", 50, 50, 50, 50),
        ("A", "09:32", 50, 50, 50, 50),
    ])
    assert result.orders.empty


def test_a_reversal_is_two_orders_at_one_fill_price():
    # direction both: long from the 09:31 open 10; a short entry at 09:32 reverses at the 09:33 open 12:
    # sell 100 (exit, reason signal) and sell 100 (short entry), both at 12*(1 - 0.5%) = 11.94, each with its fee.
    result = run([
        ("A", "09:30", 10, 10, 10, 10, "LE"),
        ("A", "09:31", 10, 10, 10, 10),
        ("A", "09:32", 12, 12, 12, 12, "SE"),
        ("A", "09:33", 12, 12, 12, 12),
        ("A", "09:34", 11, 11, 11, 11),
    ], direction="both", slippage_pct=0.5, fee_per_order=2)
    orders = result.orders
    assert list(orders["reason"]) == ["entry", "signal", "entry", "close"]
    assert list(orders["side"]) == ["buy", "sell", "sell", "buy"]
    assert orders["price"].iloc[1] == orders["price"].iloc[2] == pytest.approx(11.94, rel=1e-12)
    assert list(orders["fee"]) == [2.0, 2.0, 2.0, 2.0]
    long, short = result.trades.iloc[0], result.trades.iloc[1]
    assert (long.direction, long.exit_reason) == ("long", "signal")
    assert long.pnl == pytest.approx((11.94 - 10.05) * 100 - 4, rel=1e-12)
    # The short closes at the session close, 09:34 close 11 bought at 11.055.
    assert (short.direction, short.exit_reason) == ("short", "close")
    assert short.pnl == pytest.approx((11.94 - 11.055) * 100 - 4, rel=1e-12)
    assert result.stats["trades"] == 2


def test_entry_and_exit_on_one_bar_cancel_and_entry_while_open_is_dropped():
    result = run([
        ("A", "09:30", 10, 10, 10, 10, "LE+LX"),  # cancel: nothing
        ("A", "09:31", 10, 10, 10, 10, "LE"),
        ("A", "09:32", 11, 11, 11, 11, "LE"),  # dropped: a position is open (no pyramiding)
        ("A", "09:33", 12, 12, 12, 12),
        ("A", "09:34", 13, 13, 13, 13),
    ])
    trade = only_trade(result)
    assert (trade.entry_bar.minute, trade.entry_price, trade.exit_reason) == (32, 11.0, "close")
    assert len(result.orders) == 2


def test_max_positions_rejects_by_rank():
    # Shared, max_positions 1: A and B signal at 09:30; B ranks higher and enters, A is rejected at the fill bar.
    result = run([
        ("A", "09:30", 10, 10, 10, 10, "LE", 1.0),
        ("A", "09:31", 10, 10, 10, 10),
        ("A", "09:32", 10, 10, 10, 10),
        ("B", "09:30", 20, 20, 20, 20, "LE", 5.0),
        ("B", "09:31", 20, 20, 20, 20),
        ("B", "09:32", 20, 20, 20, 20),
    ], mode="shared", max_positions=1)
    assert list(result.trades["symbol"]) == ["B"]
    rejected = result.orders[result.orders["status"] == "rejected"].iloc[0]
    assert (rejected.symbol, rejected.reason, rejected.shares, rejected.price) == ("A", "max_positions", 100, 10.0)
    assert result.symbol_stats.empty


def test_max_position_pct_rejects_the_order_as_sized():
    # 100 shares at 60 = 6000 > 5% of 100000 = 5000: rejected.
    result = run([
        ("A", "09:30", 60, 60, 60, 60, "LE"),
        ("A", "09:31", 60, 60, 60, 60),
        ("A", "09:32", 60, 60, 60, 60),
    ], mode="shared", max_position_pct=5)
    assert result.trades.empty
    assert list(result.orders["reason"]) == ["max_position_pct"]


def test_entry_window_rejects_at_the_signal_bar():
    result = run([
        ("A", "09:45", 10, 10, 10, 10, "LE"),
        ("A", "09:46", 10, 10, 10, 10),
        ("A", "10:00", 10, 10, 10, 10, "LE"),
        ("A", "10:01", 10, 10, 10, 10),
        ("A", "10:02", 10, 10, 10, 10),
    ], entry_start="10:00")
    first = result.orders.iloc[0]
    assert (first.bar.minute, first.status, first.reason, first.shares, first.fee) == (
        45, "rejected", "outside entry window", 0, 0.0)
    assert math.isnan(first.price)
    assert only_trade(result).entry_bar.minute == 1  # from the 10:00 signal, at the 10:01 open


def test_an_entry_that_would_fill_on_the_last_bar_is_rejected_and_one_on_it_lapses():
    # next_open: the 09:31 signal would fill on 09:32, the last bar -> rejected there, sized;
    # the 09:32 signal (last bar) lapses: no order at all.
    result = run([
        ("A", "09:30", 10, 10, 10, 10),
        ("A", "09:31", 10, 10, 10, 10, "LE"),
        ("A", "09:32", 11, 11, 11, 11, "LE"),
    ])
    assert result.trades.empty
    assert len(result.orders) == 1
    order = result.orders.iloc[0]
    assert (order.reason, order.bar.minute, order.shares, order.price) == ("last bar of session", 32, 100, 11.0)


def test_overnight_position_gaps_at_the_next_open_and_end_exit():
    # flat_at_close off: long from day 1's 09:31 open 10; day 2 opens at 9 (through the 5% stop at 9.5).
    # A second entry on day 2 stays open to the end of the range: exit 'end' at the last close (12).
    result = run([
        ("A", f"{DAY} 09:30", 10, 10, 10, 10, "LE"),
        ("A", f"{DAY} 09:31", 10, 10, 10, 10),
        ("A", f"{DAY} 15:59", 10, 10, 10, 10),
        ("A", f"{NEXT_DAY} 09:30", 9, 9, 9, 9, "LE"),
        ("A", f"{NEXT_DAY} 09:31", 10, 10, 10, 10),
        ("A", f"{NEXT_DAY} 09:32", 12, 12, 12, 12),
    ], flat_at_close=False, stop_loss_pct=5)
    first, second = result.trades.iloc[0], result.trades.iloc[1]
    assert (first.exit_reason, first.exit_price, str(first.exit_bar)) == (
        "stop_loss", 9.0, f"{NEXT_DAY} 09:30:00-05:00")
    assert (second.exit_reason, second.exit_price, str(second.exit_bar)) == (
        "end", 12.0, f"{NEXT_DAY} 09:32:00-05:00")
    # E_1 = 100000 (position valued at 10 = its cost); E_2 = 100000 - 100 + 200.
    assert list(result.equity["equity"]) == pytest.approx([100000.0, 100100.0], rel=1e-12)
    assert list(result.equity["return_pct"]) == pytest.approx([0.0, 0.1], rel=1e-9)


def test_close_fill_ignores_signals_of_a_bar_a_stop_left():
    # fill: close. Entry at 09:30's close 10; 09:31 stops out at 9.5 (5%) and signals LE: ignored.
    result = run([
        ("A", "09:30", 10, 10, 10, 10, "LE"),
        ("A", "09:31", 10, 10, 9, 9, "LE"),
        ("A", "09:32", 9, 9, 9, 9),
        ("A", "09:33", 9, 9, 9, 9),
    ], fill="close", stop_loss_pct=5)
    trade = only_trade(result)
    assert (trade.entry_bar.minute, trade.exit_reason, trade.exit_price) == (30, "stop_loss", 9.5)


# ---------------------------------------------------------------------------------------------- accounts


def test_per_symbol_accounts_sum_and_exposure():
    # Two symbols, two accounts of 1000: portfolio E_0 = 2000. A gains (12 - 10)*10 = 20, B is never traded.
    # A holds at the close of 09:31 and 09:32 (the session-close exit counts its bar): 2 of A's 3 bars, 2 of 6.
    result = run([
        ("A", "09:30", 10, 10, 10, 10, "LE"),
        ("A", "09:31", 10, 10, 10, 11),
        ("A", "09:32", 12, 12, 12, 12),
        ("B", "09:30", 5, 5, 5, 5),
        ("B", "09:31", 5, 5, 5, 5),
        ("B", "09:32", 5, 5, 5, 5),
    ], init_cash=1000, shares=10)
    assert result.equity["equity"].iloc[0] == pytest.approx(2020.0, rel=1e-12)
    assert result.stats["total_return_pct"] == pytest.approx(1.0, rel=1e-12)
    assert result.stats["exposure_pct"] == pytest.approx(100 * 2 / 6, rel=1e-12)
    assert result.symbol_stats.loc["A", "total_return_pct"] == pytest.approx(2.0, rel=1e-12)
    assert result.symbol_stats.loc["A", "exposure_pct"] == pytest.approx(100 * 2 / 3, rel=1e-12)
    assert result.symbol_stats.loc["B", "total_return_pct"] == 0.0
    assert math.isnan(result.symbol_stats.loc["B", "win_rate_pct"])


def test_max_drawdown_uses_every_minute():
    # A: 10 shares from 100; 09:32 closes at 50 (equity 1000 - 500), 09:33's close-exit at 100 again.
    # Daily equity shows no loss, the minute equity does: 500/1000 = 50%.
    result = run([
        ("A", "09:30", 100, 100, 100, 100, "LE"),
        ("A", "09:31", 100, 100, 100, 100),
        ("A", "09:32", 100, 100, 50, 50),
        ("A", "09:33", 100, 100, 100, 100),
    ], init_cash=1000, shares=10)
    assert result.equity["equity"].iloc[0] == pytest.approx(1000.0)
    assert result.stats["max_drawdown_pct"] == pytest.approx(50.0, rel=1e-12)
    assert result.equity["drawdown_pct"].iloc[0] == pytest.approx(0.0)


def test_stats_formulas_on_a_known_curve():
    # E_0 = 100; E = 110, 99, 104.5 -> r = 0.1, -0.1, 0.0555...
    r = [0.1, -0.1, 104.5 / 99 - 1]
    mean = sum(r) / 3
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / 2)
    stats = oracle_stats([110.0, 99.0, 104.5], 100.0, [110.0, 95.0, 99.0, 104.5], [10.0, -5.0, 0.0, 20.0], 3, 12)
    assert stats["total_return_pct"] == pytest.approx(4.5, rel=1e-12)
    assert stats["cagr_pct"] == pytest.approx(100 * (1.045 ** 84 - 1), rel=1e-12)
    assert stats["sharpe"] == pytest.approx(mean / std * math.sqrt(252), rel=1e-12)
    assert stats["sortino"] == pytest.approx(mean / math.sqrt(0.01 / 3) * math.sqrt(252), rel=1e-12)
    assert stats["max_drawdown_pct"] == pytest.approx(100 * (1 - 95 / 110), rel=1e-12)
    assert stats["calmar"] == pytest.approx(stats["cagr_pct"] / stats["max_drawdown_pct"], rel=1e-12)
    assert stats["trades"] == 4
    assert stats["win_rate_pct"] == 50.0
    assert stats["profit_factor"] == pytest.approx(30 / 5, rel=1e-12)
    assert stats["expectancy"] == pytest.approx(25 / 4, rel=1e-12)
    assert stats["exposure_pct"] == pytest.approx(25.0, rel=1e-12)
    flat = oracle_stats([100.0], 100.0, [100.0], [], 0, 5)
    assert math.isnan(flat["sharpe"]) and math.isnan(flat["sortino"]) and math.isnan(flat["calmar"])
    assert math.isnan(flat["profit_factor"]) and math.isnan(flat["win_rate_pct"])


# ---------------------------------------------------------------------------------------------- signals


def _closes(symbol: str, closes: list[float], day: str = DAY) -> pd.DataFrame:
    start = pd.Timestamp(f"{day} 09:30", tz=ET)
    return pd.DataFrame({
        "symbol": symbol, "ts": [start + pd.Timedelta(minutes=i) for i in range(len(closes))],
        "open": closes, "high": [c + 0.5 for c in closes], "low": [c - 0.5 for c in closes], "close": closes,
        "volume": 100,
    })


def test_sma_cross_signals_by_hand():
    # fast 2, slow 3 over closes 5,4,3,4,6,5: sma2 = -,4.5,3.5,3.5,5,5.5; sma3 = -,-,4,3.667,4.333,5.
    # Bar 3: 3.5 > 3.667? no. Bar 4: 5 > 4.333 and 3.5 <= 3.667 -> cross above. Bar 2: 3.5 < 4, bar 1 undefined.
    signals = oracle_signals(_closes("A", [5, 4, 3, 4, 6, 5]), "sma_cross", {"fast": 2, "slow": 3})
    assert list(signals["long_entry"]) == [False, False, False, False, True, False]
    assert list(signals["short_entry"]) == [False] * 6
    assert signals["long_entry"].equals(signals["short_exit"])


def test_rsi_by_hand():
    # period 2: changes +1, -1, +2: first averages gain 0.5, loss 0.5 -> rsi 50 at bar 2; then gain (0.5+2)/2
    # = 1.25, loss 0.25 -> rsi 83.3 at bar 3 > upper 70: long exit and short entry there.
    signals = oracle_signals(_closes("A", [10, 11, 10, 12]), "rsi_reversion", {"period": 2, "lower": 30, "upper": 70})
    assert list(signals["short_entry"]) == [False, False, False, True]
    assert list(signals["long_entry"]) == [False] * 4


def test_orb_enters_once_per_session_per_direction():
    # minutes 2: the range is bars 09:30 and 09:31 (highs 10.5, 11.5 -> 11.5); closes 12 at 09:32 and 13 at 09:33
    # both break it, only the first signals; the next session starts over.
    first = _closes("A", [10, 11, 12, 13])
    second = _closes("A", [10, 11, 12, 13], NEXT_DAY)
    signals = oracle_signals(pd.concat([first, second], ignore_index=True), "orb", {"minutes": 2})
    assert list(signals["long_entry"]) == [False, False, True, False] * 2
    assert not signals["long_exit"].any() and not signals["short_entry"].any()


def test_vwap_resets_each_session():
    # day 1 trades at 100 (vwap 100); day 2's first bar at 50 has vwap 50: not below vwap*(1 - 1%).
    bars = pd.concat([_closes("A", [100, 100]), _closes("A", [50, 48], NEXT_DAY)], ignore_index=True)
    signals = oracle_signals(bars, "vwap_reversion", {"deviation_pct": 1.0})
    # day 2 bar 2: vwap = (50 + 48)/2 = 49 (typical = close when high/low are symmetric), 48 < 48.51 -> entry.
    assert list(signals["long_entry"]) == [False, False, False, True]


@pytest.mark.parametrize("day", [datetime.date(2024, 3, 5)])
def test_sessions_without_bars_still_count(day):
    # A range of two sessions where the second has no bars: r = 0 there, two equity rows.
    bars, signals = market([("A", "09:30", 10, 10, 10, 10), ("A", "09:31", 10, 10, 10, 10)])
    days = [day, datetime.date(2024, 3, 6)]
    result = oracle_simulate(bars, signals, {}, days, days)
    assert list(result.equity["date"]) == days
    assert list(result.equity["return_pct"]) == [0.0, 0.0]


# ---------------------------------------------------------------------------------------------- invariants


@pytest.mark.parametrize("settings", [
    {},
    {"direction": "both", "fill": "close", "mode": "shared", "max_positions": 2, "percent_equity": 40,
     "stop_loss_pct": 0.5, "trailing_stop_pct": 0.4, "take_profit_pct": 1.0, "max_minutes": 30,
     "flat_at_close": False, "slippage_pct": 0.05, "fee_pct": 0.01, "fee_per_order": 1.0},
])
def test_money_is_conserved_on_a_random_market(settings):
    # Once every position is closed, the portfolio's gain is the sum of the trades' pnl, and equity is cash;
    # every trade's entry and exit are filled orders.
    from tests.backtest_market import random_signals, session_days, synthetic_bars

    days = session_days("2024-03-07", "2024-03-12")
    bars = synthetic_bars(3, days)
    result = oracle_simulate(bars, random_signals(3, bars), settings, days, days)
    initial = 100000.0 * (1 if settings.get("mode") == "shared" else 4)
    last = result.equity.iloc[-1]
    assert len(result.trades) > 10
    assert last.equity - initial == pytest.approx(result.trades["pnl"].sum(), rel=1e-9)
    assert last.equity == pytest.approx(last.cash, rel=1e-12)
    filled = result.orders[result.orders["status"] == "filled"]
    assert len(filled) == 2 * len(result.trades)
    assert result.stats["trades"] == len(result.trades)
    assert (result.trades["entry_bar"] <= result.trades["exit_bar"]).all()
