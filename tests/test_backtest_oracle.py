"""tapescan's backtest against the oracle simulator (tests/oracle_backtest.py), which is written from the spec.

Trade for trade, order for order, equity and statistics at relative 1e-9 (issue 14 "What it must show"), on
seeded synthetic markets (tests/backtest_market.py) with gaps, a halt, a listing, a delisting, a DST change
and an early close; over both fill modes, every stop kind, both account modes, all three size kinds and every
direction; every built-in strategy through a store; and hypothesis for the edge cases (a stop and a take
profit inside one bar, a gap through a stop, an entry signal on a session's last bars, an open equal to a
level).
"""

from __future__ import annotations

import datetime
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tapescan
from tests.backtest_market import SYMBOLS, random_signals, session_days, synthetic_bars
from tests.oracle_backtest import STAT_NAMES, oracle_signals, oracle_simulate

pytestmark = pytest.mark.skipif(not hasattr(tapescan, "simulate"), reason="tapescan.simulate is not built yet")

ET = "America/New_York"
RTOL = 1e-9
# Amounts that should be equal but are sums taken in another order differ by rounding only; a percentage or
# amount that is 0 in one may be 1e-12 in the other, so near zero an absolute tolerance applies.
ATOL = 1e-7
DST_RANGE = ("2024-03-07", "2024-03-12")  # clocks changed on Sunday 2024-03-10
EARLY_CLOSE_RANGE = ("2024-11-27", "2024-12-02")  # 2024-11-29 closes at 13:00 (Thanksgiving 11-28 closed)
TEXT_TRADE = ("symbol", "direction", "exit_reason")
TIME_TRADE = ("entry_bar", "exit_bar")
FLOAT_TRADE = ("entry_price", "exit_price", "entry_fee", "exit_fee", "pnl", "return_pct")
TEXT_ORDER = ("symbol", "side", "status", "reason")
FLOAT_ORDER = ("price", "fee")
FLOAT_EQUITY = ("equity", "cash", "return_pct", "drawdown_pct")


# ---------------------------------------------------------------------------------------------- comparison


def _close(ours: pd.Series, theirs: pd.Series) -> np.ndarray:
    """Element-wise agreement at relative 1e-9 (absolute near zero), NaN equal to NaN."""
    a, b = ours.to_numpy(dtype="float64"), theirs.to_numpy(dtype="float64")
    return np.isclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)


def _stamps(column: pd.Series) -> list[pd.Timestamp]:
    return [pd.Timestamp(t).tz_convert(ET) for t in column]


def _rows(frame: pd.DataFrame, mask: np.ndarray) -> str:
    return frame[~mask].head(5).to_string()


def assert_same_frame(got: pd.DataFrame, want: pd.DataFrame, name: str, text: tuple[str, ...],
                      times: tuple[str, ...], floats: tuple[str, ...]) -> None:
    """`got` (tapescan) equals `want` (oracle): same rows in order, text and times exact, floats at 1e-9."""
    assert list(got.columns)[:len(want.columns)] == list(want.columns), f"{name} columns: {list(got.columns)}"
    assert len(got) == len(want), f"{name}: tapescan {len(got)} rows, oracle {len(want)}\n" \
        f"tapescan:\n{got.head(20).to_string()}\noracle:\n{want.head(20).to_string()}"
    got, want = got.reset_index(drop=True), want.reset_index(drop=True)
    for column in text:
        same = (got[column].astype(str) == want[column].astype(str)).to_numpy()
        assert same.all(), f"{name}.{column} differs:\ntapescan:\n{_rows(got, same)}\noracle:\n{_rows(want, same)}"
    for column in times:
        same = np.array([a == b for a, b in zip(_stamps(got[column]), _stamps(want[column]))], dtype=bool)
        assert same.all(), f"{name}.{column} differs:\ntapescan:\n{_rows(got, same)}\noracle:\n{_rows(want, same)}"
    if "shares" in want:
        assert got["shares"].dtype == np.int64, f"{name}.shares is {got['shares'].dtype}, not int64"
        same = (got["shares"] == want["shares"]).to_numpy()
        assert same.all(), f"{name}.shares differs:\ntapescan:\n{_rows(got, same)}\noracle:\n{_rows(want, same)}"
    for column in floats:
        same = _close(got[column], want[column])
        assert same.all(), f"{name}.{column} differs:\ntapescan:\n{_rows(got, same)}\noracle:\n{_rows(want, same)}"


def assert_same_stats(got: dict[str, float], want: dict[str, float], name: str = "stats") -> None:
    """Every statistic of the spec, at relative 1e-9; NaN where the oracle has NaN (undefined)."""
    for key in STAT_NAMES:
        a, b = float(got[key]), float(want[key])
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL), \
            f"{name}[{key}]: tapescan {a}, oracle {b}"


def assert_agrees(result, oracle) -> None:
    """tapescan's BacktestResult equals the oracle's, output by output."""
    assert_same_frame(result.trades, oracle.trades, "trades", TEXT_TRADE, TIME_TRADE, FLOAT_TRADE)
    assert_same_frame(result.orders, oracle.orders, "orders", TEXT_ORDER, ("bar",), FLOAT_ORDER)
    assert list(result.equity["date"]) == list(oracle.equity["date"]), "equity dates differ"
    assert_same_frame(result.equity, oracle.equity, "equity", (), (), FLOAT_EQUITY)
    assert_same_stats(result.stats, oracle.stats)
    assert sorted(result.symbol_stats.index) == sorted(oracle.symbol_stats.index), "symbol_stats symbols differ"
    for symbol in oracle.symbol_stats.index:
        assert_same_stats(result.symbol_stats.loc[symbol].to_dict(), oracle.symbol_stats.loc[symbol].to_dict(),
                          f"symbol_stats[{symbol}]")


def simulate_both(bars: pd.DataFrame, signals: pd.DataFrame, days: list[datetime.date], **config):
    """(tapescan.simulate, oracle_simulate) on the same bars, signals and settings over `days`."""
    result = tapescan.simulate(
        bars, signals["long_entry"].to_numpy(), signals["long_exit"].to_numpy(),
        signals["short_entry"].to_numpy(), signals["short_exit"].to_numpy(),
        rank=signals["rank"].to_numpy() if "rank" in signals else None,
        backend="cpu", start=days[0], end=days[-1], **config,
    )
    return result, oracle_simulate(bars, signals, config, days, days)


# ---------------------------------------------------------------------------------------------- markets

STOPS = {
    "none": {},
    "stop_loss": {"stop_loss_pct": 0.4},
    "take_profit": {"take_profit_pct": 0.5},
    "trailing": {"trailing_stop_pct": 0.3},
    "time": {"max_minutes": 7},
    "all": {"stop_loss_pct": 0.6, "take_profit_pct": 0.8, "trailing_stop_pct": 0.35, "max_minutes": 25},
}
SIZES = {"shares": {"shares": 37}, "value": {"value": 9000.0}, "percent_equity": {"percent_equity": 30.0}}
COSTS = {"slippage_pct": 0.02, "fee_pct": 0.005, "fee_per_order": 0.35}

# (fill, stops, mode, size, direction, extra settings): every value of each axis at least twice, mixed.
CASES = [
    ("next_open", "none", "per_symbol", "shares", "long", {}),
    ("close", "none", "shared", "value", "short", {}),
    ("next_open", "stop_loss", "shared", "percent_equity", "both", COSTS),
    ("close", "stop_loss", "per_symbol", "shares", "long", COSTS),
    ("next_open", "take_profit", "per_symbol", "value", "short", {"flat_at_close": False}),
    ("close", "take_profit", "shared", "percent_equity", "long", {"max_positions": 2}),
    ("next_open", "trailing", "shared", "shares", "long", {"max_positions": 1, "init_cash": 5000.0}),
    ("close", "trailing", "per_symbol", "percent_equity", "both", {"flat_at_close": False, **COSTS}),
    ("next_open", "time", "per_symbol", "percent_equity", "both", {"entry_start": "09:40", "entry_end": "15:50"}),
    ("close", "time", "shared", "shares", "both", {"max_position_pct": 5.5, "flat_at_close": False}),
    ("close", "stop_loss", "per_symbol", "value", "both", {"value": 120.0}),  # some sizes below one share
    ("next_open", "all", "shared", "value", "both", {"max_positions": 3, "max_position_pct": 12.0, **COSTS}),
    ("close", "all", "per_symbol", "shares", "short", {"entry_start": "09:45", **COSTS}),
    ("next_open", "all", "per_symbol", "shares", "both", {"flat_at_close": False, "init_cash": 3000.0}),
    ("close", "all", "shared", "percent_equity", "long", {"flat_at_close": False, "max_positions": 2, **COSTS}),
]


def _case_id(case: tuple) -> str:
    fill, stops, mode, size, direction, extra = case
    return "-".join([fill, stops, mode, size, direction] + sorted(extra))


@pytest.fixture(scope="module", params=[DST_RANGE, EARLY_CLOSE_RANGE], ids=["dst", "early_close"])
def market(request):
    """A seeded market over a range with a DST change or an early close, and random signals."""
    days = session_days(*request.param)
    seed = 7 if request.param == DST_RANGE else 11
    bars = synthetic_bars(seed, days)
    return bars, random_signals(seed, bars), days


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_simulate_agrees_with_the_oracle(market, case):
    bars, signals, days = market
    fill, stops, mode, size, direction, extra = case
    config = {"fill": fill, "mode": mode, "direction": direction, **STOPS[stops], **SIZES[size], **extra}
    result, oracle = simulate_both(bars, signals, days, **config)
    assert len(oracle.trades) > 0  # the case exercises something
    assert_agrees(result, oracle)


def test_simulate_shared_rank_decides_who_gets_the_cash(market):
    # Few positions allowed and dense signals: the rank order of entries decides most fills.
    bars, _, days = market
    signals = random_signals(99, bars, chance=0.2)
    result, oracle = simulate_both(bars, signals, days, mode="shared", max_positions=1, value=20000.0,
                                   init_cash=30000.0, direction="both")
    assert (oracle.orders["reason"] == "max_positions").any()
    assert_agrees(result, oracle)


# ---------------------------------------------------------------------------------------------- strategies

STRATEGY_PARAMS = {
    "sma_cross": {"fast": 3, "slow": 8},
    "ema_cross": {"fast": 4, "slow": 9},
    "rsi_reversion": {"period": 5, "lower": 35, "upper": 65},
    "bbands_reversion": {"period": 6, "k": 1.5},
    "vwap_reversion": {"deviation_pct": 0.3},
    "orb": {"minutes": 5},
}


@pytest.fixture(scope="module")
def strategy_store(tmp_path_factory):
    """The DST market in a store (one warm-up session before the range)."""
    if not hasattr(tapescan, "backtest"):
        pytest.skip("tapescan.backtest is not built yet")
    from tapescan.store import Store

    days = session_days("2024-03-06", "2024-03-12")
    bars = synthetic_bars(5, days)
    store = Store.create(tmp_path_factory.mktemp("backtest-oracle") / "store")
    store.write_bars(bars, adjustment="split_dividend", source="test")
    return store, bars, days


@pytest.mark.parametrize("strategy", sorted(STRATEGY_PARAMS))
@pytest.mark.parametrize("fill", ["next_open", "close"])
def test_builtin_strategies_agree_with_the_oracle(strategy_store, strategy, fill):
    store, bars, days = strategy_store
    trading = days[1:]  # days[0] is the warm-up session
    config = {
        "strategy": strategy, "params": STRATEGY_PARAMS[strategy], "direction": "both", "warmup_sessions": 1,
        "universe": {"symbols": list(SYMBOLS)},
        "execution": {"fill": fill, "slippage_pct": 0.01, "fee_pct": 0.0, "fee_per_order": 0.5},
        "size": {"value": 10000},
        "stops": {"stop_loss_pct": 1.0, "trailing_stop_pct": 0.8},
    }
    result = tapescan.backtest(config, store, trading[0], trading[-1], backend="cpu")
    signals = oracle_signals(bars, strategy, STRATEGY_PARAMS[strategy])
    flat = {"direction": "both", "fill": fill, "slippage_pct": 0.01, "fee_per_order": 0.5, "value": 10000,
            "stop_loss_pct": 1.0, "trailing_stop_pct": 0.8}
    oracle = oracle_simulate(bars, signals, flat, days, trading)
    assert len(oracle.orders) > 0
    assert_agrees(result, oracle)


# ---------------------------------------------------------------------------------------------- edges

LEVEL_PCT = 2.0  # stop loss and take profit, in percent of the entry price (100.0)
ENTRY = 100.0
SL, TP = ENTRY * (1 - LEVEL_PCT / 100), ENTRY * (1 + LEVEL_PCT / 100)
# Prices that sit on, just inside and beyond the levels of a position entered at 100.
PRICES = [SL - 1.0, SL, SL + 0.01, 99.0, ENTRY, 101.0, TP - 0.01, TP, TP + 1.0]
DAY = datetime.date(2024, 3, 5)


@st.composite
def edge_market(draw):
    """One symbol, one session: bars at 09:30.. (last one possibly near the close), prices around the levels,
    entry signals that may fall on the session's last bars."""
    count = draw(st.integers(3, 7))
    late = draw(st.booleans())  # put the bars at the end of the session instead
    start = pd.Timestamp(f"{DAY} 15:{60 - count:02d}" if late else f"{DAY} 09:30", tz=ET)
    rows = []
    for i in range(count):
        if i == 0:  # the entry's signal bar: a next_open entry fills at 100 on the next open, a close one here
            o = h = low = c = ENTRY
        else:
            o = ENTRY if i == 1 else draw(st.sampled_from(PRICES))
            h = max(o, draw(st.sampled_from(PRICES)))
            low = min(o, draw(st.sampled_from(PRICES)))
            c = min(max(round(draw(st.floats(low, h)), 2), low), h)
        rows.append(("X", start + pd.Timedelta(minutes=i), o, h, low, c, 1000))
    bars = pd.DataFrame(rows, columns=["symbol", "ts", "open", "high", "low", "close", "volume"])
    flags = {name: draw(st.lists(st.booleans(), min_size=count, max_size=count))
             for name in ("long_exit", "short_entry", "short_exit")}
    entry = [True] + draw(st.lists(st.booleans(), min_size=count - 1, max_size=count - 1))
    signals = pd.DataFrame({"long_entry": entry, **flags})
    config = {
        "fill": draw(st.sampled_from(["next_open", "close"])),
        "direction": draw(st.sampled_from(["long", "short", "both"])),
        "flat_at_close": draw(st.booleans()),
        "stop_loss_pct": LEVEL_PCT, "take_profit_pct": LEVEL_PCT,
        "trailing_stop_pct": draw(st.sampled_from([None, 1.0, LEVEL_PCT])),
    }
    return bars, signals, config


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edge_market())
def test_edges_agree_with_the_oracle(case):
    bars, signals, config = case
    result, oracle = simulate_both(bars, signals, [DAY], **config)
    assert_agrees(result, oracle)

