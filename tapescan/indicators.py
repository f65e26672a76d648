"""The built-in indicators and strategies over whole arrays, for users and tests.

Each function runs the streaming kernels of tapescan/kernels/indicators.py (the ones the backtest uses) over
1-D numpy arrays in one compiled loop and returns float64 arrays, NaN where the indicator is not yet defined
(docs/spec/backtest.md "Indicators"). `strategy_signals` runs a built-in strategy's kernel
(tapescan/kernels/strategies.py) over one symbol's bars and returns its four signal columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral

import numpy as np
import pandas as pd
from numba import njit

from tapescan import calendar
from tapescan.analytics.bars import BAR_COLUMNS
from tapescan.errors import TapescanError
from tapescan.kernels.indicators import (
    ATR_SLOTS,
    BBANDS_SLOTS,
    EMA_SLOTS,
    OPENING_RANGE_SLOTS,
    RSI_SLOTS,
    SMA_SLOTS,
    VWAP_SLOTS,
    atr_update,
    bbands_update,
    ema_update,
    opening_range_update,
    rsi_update,
    sma_update,
    vwap_update,
)
from tapescan.kernels.signals import SIGNAL_BITS
from tapescan.kernels.strategies import new_state, strategy_bar, strategy_kind, strategy_params

#: The columns `strategy_signals` reads.
#: TA-Lib's least period of each indicator (RSI and BBANDS need two closes).
_LEAST_PERIOD = {"sma": 1, "ema": 1, "rsi": 2, "atr": 1, "bbands": 2, "opening_range": 1}


class IndicatorError(TapescanError, ValueError):
    """Indicator input that cannot be computed (a bad period, arrays of different lengths, bars without ts)."""


@njit(cache=True)
def _sma(close, n, out):
    state = np.zeros(SMA_SLOTS)
    ring = np.zeros(n)
    for i in range(close.shape[0]):
        out[i] = sma_update(state, 0, ring, close[i])


@njit(cache=True)
def _ema(close, n, out):
    state = np.zeros(EMA_SLOTS)
    for i in range(close.shape[0]):
        out[i] = ema_update(state, 0, close[i], n)


@njit(cache=True)
def _rsi(close, n, out):
    state = np.zeros(RSI_SLOTS)
    for i in range(close.shape[0]):
        out[i] = rsi_update(state, 0, close[i], n)


@njit(cache=True)
def _atr(high, low, close, n, out):
    state = np.zeros(ATR_SLOTS)
    for i in range(close.shape[0]):
        out[i] = atr_update(state, 0, high[i], low[i], close[i], n)


@njit(cache=True)
def _bbands(close, n, k, upper, middle, lower):
    state = np.zeros(BBANDS_SLOTS)
    ring = np.zeros(n)
    for i in range(close.shape[0]):
        upper[i], middle[i], lower[i] = bbands_update(state, 0, ring, close[i], k)


@njit(cache=True)
def _vwap(high, low, close, volume, session, out):
    state = np.zeros(VWAP_SLOTS)
    for i in range(close.shape[0]):
        new_session = i == 0 or session[i] != session[i - 1]
        out[i] = vwap_update(state, 0, high[i], low[i], close[i], volume[i], new_session)


@njit(cache=True)
def _opening_range(high, low, minute, session, m, range_high, range_low):
    state = np.zeros(OPENING_RANGE_SLOTS)
    for i in range(high.shape[0]):
        new_session = i == 0 or session[i] != session[i - 1]
        range_high[i], range_low[i] = opening_range_update(state, 0, high[i], low[i], minute[i], new_session, m)


@njit(cache=True)
def _strategy(kind, params, state, history, open_, high, low, close, volume, minute, new_session, bits):
    for i in range(close.shape[0]):
        bits[i] = strategy_bar(kind, params, state, history, open_[i], high[i], low[i], close[i], volume[i],
                               minute[i], new_session[i])


def new_sessions(session: np.ndarray) -> np.ndarray:
    """True at each bar whose session id differs from the bar before (and at the first bar)."""
    starts = np.ones(len(session), bool)
    starts[1:] = session[1:] != session[:-1]
    return starts


def _period(indicator: str, n: object, name: str = "n") -> int:
    """`n` checked as a whole number of bars at least TA-Lib's least period for `indicator`."""
    least = _LEAST_PERIOD[indicator]
    if isinstance(n, bool) or not isinstance(n, Integral) or n < least:
        raise IndicatorError(f"{indicator}: {name} must be a whole number >= {least}, not {n!r}.")
    return int(n)


def _arrays(indicator: str, dtype: type, **arrays: object) -> list[np.ndarray]:
    """The named inputs as contiguous 1-D arrays of `dtype`, all of one length; IndicatorError naming the
    offender otherwise."""
    converted = []
    for name, values in arrays.items():
        array = np.ascontiguousarray(values, dtype=dtype)
        if array.ndim != 1:
            raise IndicatorError(f"{indicator}: {name} must be one-dimensional, not of shape {array.shape}.")
        converted.append(array)
    lengths = {name: len(array) for name, array in zip(arrays, converted, strict=True)}
    if len(set(lengths.values())) > 1:
        raise IndicatorError(f"{indicator}: the inputs must have one length each, not {lengths}.")
    return converted


def sma(close: object, n: int) -> np.ndarray:
    """Simple moving average of the last n closes (TA-Lib SMA); NaN before the n-th value."""
    (close,) = _arrays("sma", np.float64, close=close)
    out = np.empty(len(close))
    _sma(close, _period("sma", n), out)
    return out


def ema(close: object, n: int) -> np.ndarray:
    """Exponential moving average, alpha = 2 / (n + 1), seeded with the mean of the first n (TA-Lib EMA)."""
    (close,) = _arrays("ema", np.float64, close=close)
    out = np.empty(len(close))
    _ema(close, float(_period("ema", n)), out)
    return out


def rsi(close: object, n: int) -> np.ndarray:
    """Wilder's relative strength index (TA-Lib RSI): first value after n close-to-close changes, 0..100."""
    (close,) = _arrays("rsi", np.float64, close=close)
    out = np.empty(len(close))
    _rsi(close, float(_period("rsi", n)), out)
    return out


def atr(high: object, low: object, close: object, n: int) -> np.ndarray:
    """Wilder's average true range (TA-Lib ATR): first value at index n, the mean of the first n true ranges."""
    high, low, close = _arrays("atr", np.float64, high=high, low=low, close=close)
    out = np.empty(len(close))
    _atr(high, low, close, float(_period("atr", n)), out)
    return out


def bbands(close: object, n: int, k: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bollinger bands (upper, middle, lower): sma(n) +/- k * the population std of the last n closes (TA-Lib
    BBANDS with nbdevup = nbdevdn = k)."""
    (close,) = _arrays("bbands", np.float64, close=close)
    if isinstance(k, bool) or not isinstance(k, int | float | np.floating | np.integer) or not np.isfinite(k):
        raise IndicatorError(f"bbands: k must be a finite number, not {k!r}.")
    upper, middle, lower = (np.empty(len(close)) for _ in range(3))
    _bbands(close, _period("bbands", n), float(k), upper, middle, lower)
    return upper, middle, lower


def vwap(high: object, low: object, close: object, volume: object, session: object) -> np.ndarray:
    """Each bar's session vwap: sum(typical price * volume) / sum(volume) over its session's bars so far
    (`session` = an id per bar; a change of id starts a session); NaN while the session's volume is 0."""
    high, low, close, volume = _arrays("vwap", np.float64, high=high, low=low, close=close, volume=volume)
    (session,) = _arrays("vwap", np.int64, session=session)
    if len(session) != len(close):
        raise IndicatorError(f"vwap: session has {len(session)} values for {len(close)} bars; give one per bar.")
    out = np.empty(len(close))
    _vwap(high, low, close, volume, session, out)
    return out


def opening_range(high: object, low: object, minute: object, session: object, m: int) -> tuple[np.ndarray,
                                                                                              np.ndarray]:
    """Each bar's opening range (high, low) of its session: the extremes of the bars starting less than m
    minutes after the open (`minute` = minutes since the open), defined from the bar at minute m - 1 or the first
    after it."""
    high, low = _arrays("opening_range", np.float64, high=high, low=low)
    minute, session = _arrays("opening_range", np.int64, minute=minute, session=session)
    if len(minute) != len(high):
        raise IndicatorError(f"opening_range: minute and session have {len(minute)} values for {len(high)} bars; "
                             "give one per bar.")
    range_high, range_low = np.empty(len(high)), np.empty(len(high))
    _opening_range(high, low, minute, session, float(_period("opening_range", m, "m")), range_high, range_low)
    return range_high, range_low


def session_minutes(ts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(session, minute) of each bar start in `ts` (tz-aware): the session's index among the bars' sessions and
    the bar's start in whole minutes since that session's open (from tapescan.calendar: early closes, late opens
    and DST included); IndicatorError for a bar outside every regular session."""
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        raise IndicatorError(f"bars.ts must be time-zone-aware bar starts (for example America/New_York), not "
                             f"{ts.dtype}; localize it with .dt.tz_localize(...).")
    if len(ts) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    local = ts.dt.tz_convert(calendar.ET)
    days = local.dt.tz_localize(None).dt.normalize().to_numpy("datetime64[ns]")
    table = calendar.session_table(pd.Timestamp(days.min()).date(), pd.Timestamp(days.max()).date())
    row = table.index.get_indexer(days)
    instants = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").view(np.int64)
    opens = table["open_ns"].to_numpy()[row]
    closes = table["close_ns"].to_numpy()[row]
    outside = (row < 0) | (instants < opens) | (instants >= closes)
    if outside.any():
        first = ts.iloc[int(np.argmax(outside))]
        raise IndicatorError(f"bars.ts: {first} is not in a regular session; strategies see regular-session "
                             "bars only, so drop extended-hours bars first.")
    session = np.unique(row, return_inverse=True)[1].astype(np.int64)
    return session, (instants - opens) // calendar.NS_PER_MINUTE


def strategy_signals(name: str, bars: pd.DataFrame, params: Mapping[str, object] | None = None) -> pd.DataFrame:
    """The built-in strategy `name`'s signals over one symbol's regular-session bars (columns ts, open, high, low,
    close, volume; ts tz-aware bar starts in time order): a DataFrame of bools long_entry, long_exit, short_entry,
    short_exit on bars' index, each decided at its bar's close (tapescan/kernels/strategies.py)."""
    kind = strategy_kind(name)
    vector = strategy_params(name, params)
    missing = [column for column in BAR_COLUMNS if column not in bars.columns]
    if missing:
        raise IndicatorError(f"bars has no column {', '.join(missing)}; give ts, open, high, low, close, volume.")
    if "symbol" in bars.columns and bars["symbol"].nunique() > 1:
        raise IndicatorError("bars holds more than one symbol; pass one symbol's bars at a time "
                             "(for example bars[bars.symbol == 'AAPL']).")
    session, minute = session_minutes(bars["ts"])
    if len(bars) > 1 and not (np.diff(bars["ts"].dt.tz_convert("UTC").to_numpy("datetime64[ns]").view(np.int64))
                              > 0).all():
        raise IndicatorError("bars.ts must be strictly increasing (one symbol's bars in time order); sort them "
                             "with bars.sort_values('ts') and drop duplicate bars.")
    state, history = new_state(kind, vector, 1)
    bits = np.zeros(len(bars), np.int64)
    columns = _arrays("strategy_signals", np.float64, **{c: bars[c].to_numpy() for c in BAR_COLUMNS[1:]})
    _strategy(kind, vector, state[0], history[0], *columns, minute, new_sessions(session), bits)
    return pd.DataFrame({column: (bits & bit) != 0 for column, bit in SIGNAL_BITS.items()}, index=bars.index)
