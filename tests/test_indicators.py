"""The streaming indicators (tapescan/kernels/indicators.py, run by tapescan.indicators) against their oracles:
TA-Lib for sma, ema, rsi, atr and bbands (docs/spec/backtest.md: TA-Lib's conventions, TA-Lib is right), slow
pandas versions written from the spec for vwap and opening_range (tests/indicator_market.py).

Tolerances: relative 1e-9 against TA-Lib, except the bbands deviation. TA-Lib's SMA keeps a running sum (drift of
a few ulps) and its build fuses multiplies into adds, so equality is not bit for bit but far inside 1e-9. Its
BBANDS variance is mean(x^2) - mean^2 from running sums, which cancels: its absolute error grows like
sqrt(bars * eps) * price, so the bands are compared with TA-Lib within that bound, and the deviation itself with a
two-pass numpy std of each window at relative 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapescan import calendar
from tapescan import indicators as ind
from tests.indicator_market import (
    DAYS,
    DST_FRIDAY,
    DST_MONDAY,
    EARLY_CLOSE,
    bars_at,
    oracle_opening_range,
    oracle_session_minutes,
    oracle_vwap,
)

talib = pytest.importorskip("talib")

RELATIVE = 1e-9
EPS = np.finfo(np.float64).eps
#: Price scales of the hypothesis inputs: sub-penny, ordinary, and huge prices.
SCALES = (1e-4, 0.37, 100.0, 2.5e6)
TALIB_UNSTABLE = ("EMA", "RSI", "ATR")


@st.composite
def price_paths(draw, least: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(high, low, close): a random walk at one of SCALES, with flat stretches (repeated closes, high = low)."""
    count = draw(st.integers(least, 160))
    steps = draw(st.lists(st.one_of(st.just(0.0), st.floats(-0.03, 0.03)), min_size=count, max_size=count))
    scale = draw(st.sampled_from(SCALES)) * draw(st.floats(1.0, 9.0))
    close = scale * np.exp(np.cumsum(steps))
    spread = np.array(draw(st.lists(st.one_of(st.just(0.0), st.floats(0.0, 0.02)), min_size=count,
                                    max_size=count)))
    flat = np.array(steps) == 0.0
    high = np.where(flat, close, close * (1 + spread))
    low = np.where(flat, close, close * (1 - spread / 2))
    return high, low, close


def assert_close(actual: np.ndarray, expected: np.ndarray, relative: float = RELATIVE) -> None:
    """Same NaN positions, values within `relative`."""
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=relative, atol=0.0)


def test_talib_runs_with_its_default_conventions():
    """The oracle: no unstable period (first values where the spec puts them) and the default compatibility."""
    assert {name: talib.get_unstable_period(name) for name in TALIB_UNSTABLE} == dict.fromkeys(TALIB_UNSTABLE, 0)
    assert talib.get_compatibility() == 0


@settings(max_examples=60, deadline=None)
@given(path=price_paths(), n=st.integers(1, 40))
def test_sma_and_ema_equal_talib(path, n):
    close = path[2]
    assert_close(ind.sma(close, n), talib.SMA(close, n))
    assert_close(ind.ema(close, n), talib.EMA(close, n))


@settings(max_examples=60, deadline=None)
@given(path=price_paths(), n=st.integers(2, 40))
def test_rsi_equals_talib(path, n):
    close = path[2]
    assert_close(ind.rsi(close, n), talib.RSI(close, n))


@settings(max_examples=60, deadline=None)
@given(path=price_paths(), n=st.integers(1, 40))
def test_atr_equals_talib(path, n):
    high, low, close = path
    assert_close(ind.atr(high, low, close, n), talib.ATR(high, low, close, n))


def window_std(close: np.ndarray, n: int) -> np.ndarray:
    """Population std of each window of n closes, two-pass (numpy), NaN before the n-th close."""
    out = np.full(len(close), np.nan)
    if len(close) >= n:
        out[n - 1:] = np.lib.stride_tricks.sliding_window_view(close, n).std(axis=1, ddof=0)
    return out


@settings(max_examples=60, deadline=None)
@given(path=price_paths(), n=st.integers(2, 40), k=st.floats(0.5, 3.0))
def test_bbands_equal_talib_and_a_two_pass_deviation(path, n, k):
    close = path[2]
    upper, middle, lower = ind.bbands(close, n, k)
    talib_upper, talib_middle, talib_lower = talib.BBANDS(close, n, k, k)
    assert_close(middle, talib_middle)
    defined = ~np.isnan(middle)
    deviation = (upper - middle) / k
    expected = window_std(close, n)
    np.testing.assert_array_equal(np.isnan(deviation), np.isnan(expected))
    flat_noise = 1e-12 * np.abs(close).max()  # a flat window's deviation is 0 up to the rounding of its mean
    np.testing.assert_allclose(deviation[defined], expected[defined], rtol=RELATIVE, atol=flat_noise)
    np.testing.assert_allclose(middle - lower, upper - middle, rtol=0.0, atol=4 * EPS * np.abs(close).max())
    # TA-Lib's variance from running sums of squares is off by up to ~ bars * eps * price^2
    talib_noise = k * math.sqrt(8 * len(close) * EPS) * np.abs(close).max()
    np.testing.assert_allclose(upper[defined], talib_upper[defined], rtol=RELATIVE, atol=talib_noise)
    np.testing.assert_allclose(lower[defined], talib_lower[defined], rtol=RELATIVE, atol=talib_noise)


def test_bbands_catches_a_sample_deviation():
    """The bands use the population deviation: 3 closes 1, 2, 3 have std sqrt(2/3), not 1."""
    upper, middle, lower = ind.bbands(np.array([1.0, 2.0, 3.0]), 3, 1.0)
    assert middle[2] == 2.0 and upper[2] == pytest.approx(2 + math.sqrt(2 / 3), rel=1e-15)
    assert lower[2] == pytest.approx(2 - math.sqrt(2 / 3), rel=1e-15)


def test_rsi_of_flat_closes_is_zero_as_in_talib():
    """No gain and no loss: TA-Lib's RSI is 0 (not NaN, not 50); one rise then flat: 100."""
    flat = np.full(8, 42.0)
    assert_close(ind.rsi(flat, 3), talib.RSI(flat, 3))
    assert ind.rsi(flat, 3)[3] == 0.0
    rise = np.array([1.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    assert_close(ind.rsi(rise, 2), talib.RSI(rise, 2))
    assert ind.rsi(rise, 2)[-1] == 100.0


def test_first_defined_values_sit_where_the_spec_puts_them():
    close = np.arange(1.0, 11.0)
    assert np.isnan(ind.sma(close, 4)[2]) and ind.sma(close, 4)[3] == 2.5
    assert ind.ema(close, 4)[3] == 2.5 and ind.ema(close, 4)[4] == 2.5 + (5 - 2.5) * 0.4
    assert np.isnan(ind.rsi(close, 4)[3]) and ind.rsi(close, 4)[4] == 100.0  # after 4 changes
    high, low = close + 1, close - 1  # true range 2 from the second bar on
    assert np.isnan(ind.atr(high, low, close, 3)[2]) and ind.atr(high, low, close, 3)[3] == 2.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ind.sma([1.0, 2.0], 0), "n must be a whole number >= 1"),
        (lambda: ind.rsi([1.0, 2.0], 1), "n must be a whole number >= 2"),
        (lambda: ind.bbands([1.0, 2.0], 2.5), "n must be a whole number >= 2"),
        (lambda: ind.ema([1.0, 2.0], True), "n must be a whole number"),
        (lambda: ind.atr([1.0], [1.0, 2.0], [1.0], 2), "the inputs must have one length each"),
        (lambda: ind.sma([[1.0]], 1), "close must be one-dimensional"),
        (lambda: ind.vwap([1.0], [1.0], [1.0], [1.0], [0, 0]), "session has 2 values for 1 bars"),
        (lambda: ind.opening_range([1.0], [1.0], [0], [0], 0), "m must be a whole number >= 1"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ind.IndicatorError, match=message):
        call()


#: Minutes since the open with holes: the first bars of each session (minute 4 missing), a later stretch, and the
#: session's last minutes (12:55-12:59 on the early close).
def _last_minutes(day: str, count: int) -> list[int]:
    size = len(calendar.session_minutes(day))
    return list(range(size - count, size))


MINUTES = {day: [0, 1, 2, 3, 5, 6, 9, 30, 31, 60] + _last_minutes(day, 5) for day in DAYS}


def test_session_minutes_follow_the_calendar_across_dst_and_an_early_close():
    bars = bars_at(MINUTES, np.random.default_rng(1))
    session, minute = ind.session_minutes(bars["ts"])
    expected_session, expected_minute = oracle_session_minutes(bars["ts"])
    np.testing.assert_array_equal(session, expected_session)
    np.testing.assert_array_equal(minute, expected_minute)
    assert minute[session == DAYS.index(EARLY_CLOSE)].max() == 209  # 12:59, the early close's last bar
    utc = bars["ts"].dt.tz_convert("UTC")
    assert utc[session == DAYS.index(DST_FRIDAY)].iloc[0].hour == 14  # 09:30 EST
    assert utc[session == DAYS.index(DST_MONDAY)].iloc[0].hour == 13  # 09:30 EDT


def test_a_bar_outside_the_session_is_refused():
    ts = pd.Series(pd.DatetimeIndex([pd.Timestamp(f"{EARLY_CLOSE} 13:00", tz=calendar.ET)]))  # after the close
    with pytest.raises(ind.IndicatorError, match="not in a regular session"):
        ind.session_minutes(ts)
    with pytest.raises(ind.IndicatorError, match="time-zone-aware"):
        ind.session_minutes(pd.Series(pd.DatetimeIndex(["2024-03-08 09:30"])))


@st.composite
def session_bars(draw) -> pd.DataFrame:
    """Bars on a few of DAYS at random minutes: gaps anywhere, often around the opening range's end."""
    days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=4, unique=True).map(sorted))
    minutes = {
        day: sorted(set(draw(st.lists(st.integers(0, 25), max_size=20))) | set(draw(st.sampled_from(
            [[], _last_minutes(day, 2)]))))
        for day in days
    }
    minutes = {day: chosen for day, chosen in minutes.items() if chosen}
    if not minutes:
        minutes = {days[0]: [0]}
    return bars_at(minutes, np.random.default_rng(draw(st.integers(0, 2**32 - 1))))


@settings(max_examples=60, deadline=None)
@given(bars=session_bars())
def test_vwap_equals_the_pandas_oracle(bars):
    session, _ = oracle_session_minutes(bars["ts"])
    actual = ind.vwap(bars["high"], bars["low"], bars["close"], bars["volume"], session)
    assert_close(actual, oracle_vwap(bars, session), relative=1e-12)  # the same sums in the same order


@settings(max_examples=60, deadline=None)
@given(bars=session_bars(), m=st.integers(1, 20))
def test_opening_range_equals_the_pandas_oracle(bars, m):
    session, minute = oracle_session_minutes(bars["ts"])
    high, low = ind.opening_range(bars["high"], bars["low"], minute, session, m)
    expected_high, expected_low = oracle_opening_range(bars, session, minute, m)
    np.testing.assert_array_equal(high, expected_high)  # maxima and minima: exact
    np.testing.assert_array_equal(low, expected_low)


def test_opening_range_without_its_last_minute_is_defined_at_the_next_bar():
    """m = 5 and no bar at minute 4: the range of minutes 0-3 is defined from the bar at minute 5."""
    bars = bars_at({DST_MONDAY: [0, 1, 2, 3, 5, 6], EARLY_CLOSE: [6, 7]}, np.random.default_rng(3))
    session, minute = oracle_session_minutes(bars["ts"])
    high, low = ind.opening_range(bars["high"], bars["low"], minute, session, 5)
    assert np.isnan(high[:4]).all() and high[4] == bars["high"][:4].max() and low[5] == bars["low"][:4].min()
    assert np.isnan(high[6:]).all()  # a session without a bar inside the range has none
