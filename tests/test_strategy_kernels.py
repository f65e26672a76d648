"""The built-in strategy kernels (tapescan/kernels/strategies.py, run by tapescan.indicators.strategy_signals)
against slow pandas oracles written from the table of docs/spec/backtest.md "Built-in strategies": the indicators
from TA-Lib (sma, ema, rsi), a two-pass numpy window (bbands) or tests/indicator_market.py (vwap, opening range),
the rules applied with pandas, short signals mirrored. Bars span a DST change and an early close, with gaps, so
crosses, levels and orb's once-per-session rule are checked across session boundaries.

Prices are continuous random walks, so no decision sits within rounding of its threshold and the kernels' and the
oracles' last-bit differences (TA-Lib's running sums) cannot flip a signal: signals must be equal exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tapescan import indicators as ind
from tapescan.kernels import strategies
from tapescan.kernels.signals import SIGNAL_BITS, SIGNAL_COLUMNS
from tests.indicator_market import DAYS, DST_FRIDAY, DST_MONDAY, bars_at, oracle_opening_range, oracle_session_minutes
from tests.indicator_market import oracle_vwap as vwap_oracle

talib = pytest.importorskip("talib")

COLUMNS = list(SIGNAL_COLUMNS)
#: Each session: the first hour with a few holes (minute 14 missing: the default orb range ends without its last
#: minute on the first day), and the last minutes.
HOLES = {DAYS[0]: {14, 20}, DAYS[1]: {3, 40}, DAYS[2]: {0, 1}, DAYS[3]: {59}}


def market(seed: int) -> pd.DataFrame:
    minutes = {day: [m for m in range(60) if m not in HOLES[day]] + [200, 201, 205, 209] for day in DAYS}
    return bars_at(minutes, np.random.default_rng(seed))


def tick_market(seed: int) -> pd.DataFrame:
    """The same bars with every price a multiple of 0.25 near 10 and often flat: sums and means are exact, so the
    rules' boundaries (fast == slow before a cross, close == vwap, close == range high) are met exactly."""
    bars = market(seed)
    rng = np.random.default_rng(seed)
    close = 10 + 0.25 * np.clip(np.cumsum(rng.integers(-1, 2, len(bars)) * (rng.random(len(bars)) < 0.4)), -30, 30)
    bars["close"], bars["open"] = close, np.concatenate([[close[0]], close[:-1]])
    bars["high"] = np.maximum(bars["open"], close) + 0.25 * rng.integers(0, 2, len(bars))
    bars["low"] = np.minimum(bars["open"], close) - 0.25 * rng.integers(0, 2, len(bars))
    bars["volume"] = rng.integers(1, 4, len(bars)) * 100.0
    return bars


def _signals(long_entry, long_exit, short_entry, short_exit) -> pd.DataFrame:
    return pd.DataFrame({"long_entry": long_entry, "long_exit": long_exit, "short_entry": short_entry,
                         "short_exit": short_exit}).fillna(False).astype(bool)


def cross_oracle(fast: np.ndarray, slow: np.ndarray) -> pd.DataFrame:
    """Crosses above: fast > slow now and fast <= slow at the previous bar (all four defined); below mirrored."""
    fast, slow = pd.Series(fast), pd.Series(slow)
    above = (fast > slow) & (fast.shift() <= slow.shift())
    below = (fast < slow) & (fast.shift() >= slow.shift())
    return _signals(above, below, below, above)


def window_bands(close: np.ndarray, n: int, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(upper, middle, lower) from each window of n closes: mean, population std (numpy, two-pass)."""
    middle, std = np.full(len(close), np.nan), np.full(len(close), np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(close, n)
    middle[n - 1:], std[n - 1:] = windows.mean(axis=1), windows.std(axis=1)
    return middle + k * std, middle, middle - k * std


def first_in_session(condition: pd.Series, session: np.ndarray) -> pd.Series:
    """True at the first bar of each session where `condition` holds."""
    return condition & (condition.astype(int).groupby(session).cumsum() == 1)


def oracle(name: str, bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """The spec table's signals for strategy `name` with `params` (defaults from the spec filled in)."""
    defaults = {"sma_cross": {"fast": 10, "slow": 30}, "ema_cross": {"fast": 12, "slow": 26},
                "rsi_reversion": {"period": 14, "lower": 30.0, "upper": 70.0},
                "bbands_reversion": {"period": 20, "k": 2.0}, "vwap_reversion": {"deviation_pct": 1.0},
                "orb": {"minutes": 15}}
    p = defaults[name] | params
    close = bars["close"].to_numpy()
    session, minute = oracle_session_minutes(bars["ts"])
    if name == "sma_cross":
        return cross_oracle(talib.SMA(close, p["fast"]), talib.SMA(close, p["slow"]))
    if name == "ema_cross":
        return cross_oracle(talib.EMA(close, p["fast"]), talib.EMA(close, p["slow"]))
    if name == "rsi_reversion":
        rsi = talib.RSI(close, p["period"])
        return _signals(rsi < p["lower"], rsi > p["upper"], rsi > p["upper"], rsi < p["lower"])
    if name == "bbands_reversion":
        upper, middle, lower = window_bands(close, p["period"], p["k"])
        return _signals(close < lower, close > middle, close > upper, close < middle)
    if name == "vwap_reversion":
        vwap, d = vwap_oracle(bars, session), p["deviation_pct"] / 100
        return _signals(close < vwap * (1 - d), close >= vwap, close > vwap * (1 + d), close <= vwap)
    range_high, range_low = oracle_opening_range(bars, session, minute, p["minutes"])
    never = np.zeros(len(bars), bool)
    return _signals(first_in_session(pd.Series(close > range_high), session), never,
                    first_in_session(pd.Series(close < range_low), session), never)


CASES = [
    ("sma_cross", {}), ("sma_cross", {"fast": 2, "slow": 5}), ("sma_cross", {"fast": 1, "slow": 3}),
    ("ema_cross", {}), ("ema_cross", {"fast": 3, "slow": 7}),
    ("rsi_reversion", {}), ("rsi_reversion", {"period": 5, "lower": 40.0, "upper": 60.0}),
    ("bbands_reversion", {}), ("bbands_reversion", {"period": 5, "k": 1.0}),
    ("vwap_reversion", {}), ("vwap_reversion", {"deviation_pct": 0.2}), ("vwap_reversion", {"deviation_pct": 0}),
    ("orb", {}), ("orb", {"minutes": 5}), ("orb", {"minutes": 1}),
]


@pytest.mark.parametrize("seed", [7, 8])
@pytest.mark.parametrize("name, params", CASES)
def test_signals_equal_the_spec_oracle(name, params, seed):
    bars = market(seed)
    actual = ind.strategy_signals(name, bars, params)
    expected = oracle(name, bars, params)
    pd.testing.assert_frame_equal(actual.reset_index(drop=True), expected)
    fired = expected.any()
    signalled = ["long_entry", "short_entry"] if name == "orb" else COLUMNS
    assert fired[signalled].all(), f"the market gives {name} {params} no {list(fired[~fired].index)}: no test"


#: Rules whose boundaries the tick market meets exactly, and whose indicators are exact there (ema and rsi are
#: not: TA-Lib's build rounds their recurrences differently in the last bit).
TICK_CASES = [
    ("sma_cross", {"fast": 1, "slow": 3}), ("sma_cross", {"fast": 2, "slow": 4}),
    ("bbands_reversion", {"period": 4, "k": 1.0}),
    ("vwap_reversion", {"deviation_pct": 0}), ("vwap_reversion", {"deviation_pct": 2.5}),
    ("orb", {"minutes": 3}), ("orb", {"minutes": 10}),
]


@pytest.mark.parametrize("name, params", TICK_CASES)
def test_signals_at_exact_boundaries_equal_the_spec_oracle(name, params):
    bars = tick_market(5)
    pd.testing.assert_frame_equal(ind.strategy_signals(name, bars, params).reset_index(drop=True),
                                  oracle(name, bars, params))


def test_rsi_levels_are_strict():
    """rsi exactly at a level is neither below nor above it: closes 10, 16, 14 give rsi(2) = 100 * 3 / 4 = 75."""
    bars = bars_at({DST_MONDAY: [0, 1, 2]}, np.random.default_rng(0))
    bars["close"] = [10.0, 16.0, 14.0]
    assert ind.rsi(bars["close"], 2)[2] == 75.0
    at_lower = ind.strategy_signals("rsi_reversion", bars, {"period": 2, "lower": 75, "upper": 80})
    at_upper = ind.strategy_signals("rsi_reversion", bars, {"period": 2, "lower": 50, "upper": 75})
    assert not at_lower.any().any() and not at_upper.any().any()


def test_orb_enters_once_per_session_and_direction():
    bars = market(7)
    signals = ind.strategy_signals("orb", bars, {"minutes": 5})
    session, _ = oracle_session_minutes(bars["ts"])
    per_session = signals.groupby(session).sum()
    assert per_session[["long_entry", "short_entry"]].max().max() == 1
    assert not signals[["long_exit", "short_exit"]].any().any()
    range_high, _ = oracle_opening_range(bars, session, oracle_session_minutes(bars["ts"])[1], 5)
    above = bars["close"].to_numpy() > range_high
    assert above.sum() > per_session["long_entry"].sum()  # later closes above the range are not signalled


def test_a_cross_at_a_sessions_first_bar_compares_with_the_previous_session():
    """Indicators continue across sessions: the Monday open's close crosses the Friday's last bars' sma."""
    bars = bars_at({DST_FRIDAY: [388, 389], DST_MONDAY: [0, 1]}, np.random.default_rng(0))
    bars["close"] = [10.0, 8.0, 12.0, 13.0]
    signals = ind.strategy_signals("sma_cross", bars, {"fast": 1, "slow": 2})
    assert signals["long_entry"].tolist() == [False, False, True, False]
    assert signals["short_exit"].tolist() == [False, False, True, False]
    assert not signals[["long_exit", "short_entry"]].any().any()


@pytest.mark.parametrize("name, params", [case for case in CASES if case[1]])
def test_state_carried_across_chunks_gives_the_same_signals(name, params):
    """One pass split at a session boundary and mid-session, with the lane's state carried (as the simulator runs
    chunks of sessions), equals one pass over all the bars; another lane's state is left alone."""
    bars = market(9)
    whole = ind.strategy_signals(name, bars, params)
    kind, vector = strategies.STRATEGIES[name], strategies.strategy_params(name, params)
    session, minute = ind.session_minutes(bars["ts"])
    starts = ind.new_sessions(session)
    state, history = strategies.new_state(kind, vector, 2)
    bits = np.zeros(len(bars), np.int64)
    columns = [bars[c].to_numpy(np.float64) for c in ind.BAR_COLUMNS[1:]]
    cuts = [int(np.argmax(session == 1)), int(np.argmax(session == 2)) + 7]
    for piece in np.split(np.arange(len(bars)), cuts):
        chunk = slice(piece[0], piece[-1] + 1)
        ind._strategy(kind, vector, state[1], history[1], *(c[chunk] for c in columns), minute[chunk],
                      starts[chunk], bits[chunk])
    expected = sum(np.where(whole[column].to_numpy(), bit, 0) for column, bit in SIGNAL_BITS.items())
    np.testing.assert_array_equal(bits, expected)
    assert not state[0].any() and not history[0].any()


def test_new_state_is_zeros_of_the_strategy_sizes():
    vector = strategies.strategy_params("sma_cross", {"fast": 3, "slow": 8})
    state, history = strategies.new_state(strategies.SMA_CROSS, vector, 4)
    assert state.shape == (4, strategies.state_size(strategies.SMA_CROSS, vector)) and not state.any()
    assert history.shape == (4, 11) and not history.any()
    assert strategies.history_size(strategies.EMA_CROSS, strategies.strategy_params("ema_cross", {})) == 0
    assert strategies.history_size(strategies.BBANDS_REVERSION, strategies.strategy_params("bbands_reversion",
                                                                                           {})) == 20


def test_defaults_are_the_spec_tables():
    assert {name: strategies.strategy_params(name, {}).tolist() for name in strategies.STRATEGIES} == {
        "sma_cross": [10, 30], "ema_cross": [12, 26], "rsi_reversion": [14, 30, 70], "bbands_reversion": [20, 2],
        "vwap_reversion": [1], "orb": [15]}
    assert strategies.strategy_params("rsi_reversion", {"upper": 80, "period": np.int64(9)}).tolist() == [9, 30, 80]


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("sma_cros", {}, "did you mean 'sma_cross'"),
        ("sma_cross", {"fats": 3}, "params.fats: sma_cross has no parameter 'fats'; did you mean 'fast'"),
        ("sma_cross", {"fast": 30, "slow": 30}, "params.fast of sma_cross must be less than params.slow"),
        ("ema_cross", {"fast": 5.0}, "params.fast of ema_cross must be a whole number of bars"),
        ("ema_cross", {"fast": True}, "params.fast of ema_cross must be a whole number"),
        ("sma_cross", {"fast": 0}, "params.fast of sma_cross must be at least 1"),
        ("rsi_reversion", {"period": 1}, "params.period of rsi_reversion must be at least 2"),
        ("rsi_reversion", {"lower": 70, "upper": 30}, "params.lower of rsi_reversion must be less than"),
        ("rsi_reversion", {"upper": 170}, "params.upper of rsi_reversion must be at most 100"),
        ("rsi_reversion", {"lower": "30"}, "params.lower of rsi_reversion must be a finite number"),
        ("bbands_reversion", {"k": 0}, "params.k of bbands_reversion must be more than 0"),
        ("vwap_reversion", {"deviation_pct": float("nan")}, "must be a finite number"),
        ("vwap_reversion", {"deviation_pct": 100}, "must be less than 100"),
        ("orb", {"minutes": 0}, "params.minutes of orb must be at least 1"),
        ("orb", {"minutes": 2.5}, "must be a whole number of minutes"),
    ],
)
def test_bad_params_are_named(name, params, message):
    with pytest.raises(strategies.StrategyError, match=message):
        strategies.strategy_params(name, params)


def test_bad_bars_are_named():
    bars = market(1)
    with pytest.raises(ind.IndicatorError, match="no column volume"):
        ind.strategy_signals("orb", bars.drop(columns="volume"))
    with pytest.raises(ind.IndicatorError, match="more than one symbol"):
        ind.strategy_signals("orb", bars.assign(symbol=np.where(np.arange(len(bars)) % 2, "A", "B")))
    with pytest.raises(ind.IndicatorError, match="strictly increasing"):
        ind.strategy_signals("orb", bars.iloc[::-1])
