"""The built-in strategies of docs/spec/backtest.md "Built-in strategies" as small state machines over the
streaming indicators of tapescan/kernels/indicators.py: one `strategy_bar` call per bar of a lane (one symbol
under one set of parameters), nothing materialised per bar.

A strategy is a kind id (STRATEGIES), a float64 parameter vector (`strategy_params`, in the order of PARAMS),
a float64 state vector (all zeros when fresh) and a float64 history vector holding its indicators' ring buffers.
`strategy_bar` returns the sum of the signal bits of tapescan/kernels/signals.py decided at the bar's close,
long and short alike (the simulator masks them by direction):

| kind | long entry / short exit | long exit / short entry |
| --- | --- | --- |
| sma_cross, ema_cross | fast crosses above slow | fast crosses below slow |

| kind | long entry | long exit | short entry | short exit |
| --- | --- | --- | --- | --- |
| rsi_reversion | rsi < lower | rsi > upper | rsi > upper | rsi < lower |
| bbands_reversion | close < lower band | close > middle | close > upper band | close < middle |
| vwap_reversion | close < vwap * (1 - d/100) | close >= vwap | close > vwap * (1 + d/100) | close <= vwap |
| orb | first close > range high in the session | none | first close < range low in the session | none |

"Crosses above" at bar t: fast[t] > slow[t] and fast[t-1] <= slow[t-1], all four defined, t-1 being the
symbol's previous bar (in the previous session for a session's first bar: the indicators continue).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from numbers import Integral, Real

import numpy as np

from tapescan.errors import TapescanError
from tapescan.kernels.indicators import (
    BBANDS_SLOTS,
    EMA_SLOTS,
    OPENING_RANGE_SLOTS,
    RSI_SLOTS,
    SMA_SLOTS,
    VWAP_SLOTS,
    bbands_update,
    ema_update,
    opening_range_update,
    rsi_update,
    sma_update,
    vwap_update,
)
from tapescan.kernels.jitable import routine, scalar
from tapescan.kernels.signals import LONG_ENTRY, LONG_EXIT, SHORT_ENTRY, SHORT_EXIT


class StrategyError(TapescanError, ValueError):
    """A built-in strategy name or parameter that cannot run (unknown, wrong type, out of range)."""


#: Kind ids of the built-in strategies (compile-time constants in the kernels).
SMA_CROSS, EMA_CROSS, RSI_REVERSION, BBANDS_REVERSION, VWAP_REVERSION, ORB = range(6)
STRATEGIES: dict[str, int] = {
    "sma_cross": SMA_CROSS,
    "ema_cross": EMA_CROSS,
    "rsi_reversion": RSI_REVERSION,
    "bbands_reversion": BBANDS_REVERSION,
    "vwap_reversion": VWAP_REVERSION,
    "orb": ORB,
}

#: Parameter vector indices, per strategy.
CROSS_FAST, CROSS_SLOW = range(2)  # sma_cross, ema_cross
RSI_PERIOD, RSI_LOWER, RSI_UPPER = range(3)
BBANDS_PERIOD, BBANDS_K = range(2)
VWAP_DEVIATION_PCT = 0
ORB_MINUTES = 0

#: State layout. Crosses: the fast indicator's slots, the slow one's, then the previous fast and slow values and
#: whether both were defined.
CROSS_PREVIOUS_FAST, CROSS_PREVIOUS_SLOW, CROSS_PREVIOUS_DEFINED = range(3)
CROSS_SLOTS = 3
#: orb: the opening range's slots, then whether the session's long and short entries were signalled.
ORB_LONG_DONE, ORB_SHORT_DONE = OPENING_RANGE_SLOTS, OPENING_RANGE_SLOTS + 1
ORB_SLOTS = OPENING_RANGE_SLOTS + 2


@dataclass(frozen=True)
class Param:
    """One strategy parameter: its name, its default, whether it is a whole number, and its lowest value."""

    name: str
    default: float
    whole: bool
    minimum: float
    minimum_included: bool = True


_PERIOD_OF_TWO = 2  # TA-Lib's least period for RSI and BBANDS

#: Each strategy's parameters, in the order of its parameter vector (defaults from the spec's table).
PARAMS: dict[str, tuple[Param, ...]] = {
    "sma_cross": (Param("fast", 10, True, 1), Param("slow", 30, True, 1)),
    "ema_cross": (Param("fast", 12, True, 1), Param("slow", 26, True, 1)),
    "rsi_reversion": (
        Param("period", 14, True, _PERIOD_OF_TWO), Param("lower", 30.0, False, 0.0), Param("upper", 70.0, False, 0.0)
    ),
    "bbands_reversion": (Param("period", 20, True, _PERIOD_OF_TWO), Param("k", 2.0, False, 0.0, False)),
    "vwap_reversion": (Param("deviation_pct", 1.0, False, 0.0),),
    "orb": (Param("minutes", 15, True, 1),),
}
_RSI_SCALE = 100.0
_PERCENT = 100.0


def strategy_kind(name: str) -> int:
    """The kind id of the built-in strategy `name`; StrategyError naming the nearest built-in otherwise."""
    if name in STRATEGIES:
        return STRATEGIES[name]
    near = get_close_matches(str(name), list(STRATEGIES), n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    raise StrategyError(f"strategy: {name!r} is not a built-in strategy; {hint}the built-ins are "
                        f"{', '.join(STRATEGIES)}.")


def _checked_value(strategy: str, param: Param, value: object) -> float:
    """`value` as a float after checking its type and lower bound; StrategyError naming the parameter."""
    where = f"params.{param.name} of {strategy}"
    if param.whole:
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise StrategyError(f"{where} must be a whole number of {'minutes' if strategy == 'orb' else 'bars'}, "
                                f"not {value!r}.")
    elif isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise StrategyError(f"{where} must be a finite number, not {value!r}.")
    number = float(value)
    too_low = number < param.minimum if param.minimum_included else number <= param.minimum
    if too_low:
        bound = f"at least {param.minimum:g}" if param.minimum_included else f"more than {param.minimum:g}"
        raise StrategyError(f"{where} must be {bound}, not {value!r}.")
    return number


def _check_relations(strategy: str, values: np.ndarray) -> None:
    """The checks that involve two parameters or an upper bound."""
    kind = STRATEGIES[strategy]
    if kind in (SMA_CROSS, EMA_CROSS) and values[CROSS_FAST] >= values[CROSS_SLOW]:
        raise StrategyError(f"params.fast of {strategy} must be less than params.slow (fast "
                            f"{values[CROSS_FAST]:g}, slow {values[CROSS_SLOW]:g}); swap them or pick another.")
    if kind == RSI_REVERSION:
        if values[RSI_UPPER] > _RSI_SCALE:
            raise StrategyError(f"params.upper of {strategy} must be at most 100 (rsi lies in 0..100), "
                                f"not {values[RSI_UPPER]:g}.")
        if values[RSI_LOWER] >= values[RSI_UPPER]:
            raise StrategyError(f"params.lower of {strategy} must be less than params.upper (lower "
                                f"{values[RSI_LOWER]:g}, upper {values[RSI_UPPER]:g}).")
    if kind == VWAP_REVERSION and values[VWAP_DEVIATION_PCT] >= _PERCENT:
        raise StrategyError(f"params.deviation_pct of {strategy} must be less than 100 (a percent of vwap), "
                            f"not {values[VWAP_DEVIATION_PCT]:g}.")


def strategy_params(name: str, params: Mapping[str, object] | None = None) -> np.ndarray:
    """The parameter vector of built-in strategy `name` (float64, in the order of PARAMS[name], defaults for the
    parameters not given); StrategyError for an unknown strategy or parameter, a wrong type or a value out of
    range (fast >= slow, lower >= upper, ...)."""
    strategy_kind(name)
    given = dict(params or {})
    known = PARAMS[name]
    names = [param.name for param in known]
    for key in given:
        if key not in names:
            near = get_close_matches(str(key), names, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise StrategyError(f"params.{key}: {name} has no parameter {key!r}; {hint}its parameters are "
                                f"{', '.join(names)}.")
    values = np.array([_checked_value(name, p, given.get(p.name, p.default)) for p in known], dtype=np.float64)
    _check_relations(name, values)
    return values


def state_size(kind: int, params: np.ndarray) -> int:
    """Length of a lane's state vector for strategy `kind` with parameter vector `params`."""
    if kind == SMA_CROSS:
        return 2 * SMA_SLOTS + CROSS_SLOTS
    if kind == EMA_CROSS:
        return 2 * EMA_SLOTS + CROSS_SLOTS
    if kind == RSI_REVERSION:
        return RSI_SLOTS
    if kind == BBANDS_REVERSION:
        return BBANDS_SLOTS
    if kind == VWAP_REVERSION:
        return VWAP_SLOTS
    if kind == ORB:
        return ORB_SLOTS
    raise StrategyError(f"strategy kind {kind!r} is not a built-in strategy kind ({sorted(STRATEGIES.values())}).")


def history_size(kind: int, params: np.ndarray) -> int:
    """Length of a lane's history vector (its ring buffers) for strategy `kind` with parameter vector `params`."""
    state_size(kind, params)  # checks the kind
    if kind == SMA_CROSS:
        return int(params[CROSS_FAST]) + int(params[CROSS_SLOW])
    if kind == BBANDS_REVERSION:
        return int(params[BBANDS_PERIOD])
    return 0


def new_state(kind: int, params: np.ndarray, lanes: int) -> tuple[np.ndarray, np.ndarray]:
    """Fresh (state [lanes x state_size], history [lanes x history_size]) for `lanes` lanes: all zeros, which
    every indicator reads as "nothing seen yet"."""
    return (np.zeros((lanes, state_size(kind, params))), np.zeros((lanes, history_size(kind, params))))


@scalar
def cross_signals(state, base, fast, slow):
    """Signal bits of fast vs slow at this bar (cross above: long entry and short exit; cross below: long exit
    and short entry), then remember this bar's values for the next."""
    bits = 0
    defined = not (math.isnan(fast) or math.isnan(slow))
    if defined and state[base + CROSS_PREVIOUS_DEFINED] != 0.0:
        previous_fast = state[base + CROSS_PREVIOUS_FAST]
        previous_slow = state[base + CROSS_PREVIOUS_SLOW]
        if fast > slow and previous_fast <= previous_slow:
            bits = LONG_ENTRY + SHORT_EXIT
        elif fast < slow and previous_fast >= previous_slow:
            bits = LONG_EXIT + SHORT_ENTRY
    state[base + CROSS_PREVIOUS_FAST] = fast
    state[base + CROSS_PREVIOUS_SLOW] = slow
    state[base + CROSS_PREVIOUS_DEFINED] = 1.0 if defined else 0.0
    return bits


@routine
def _sma_cross_bar(params, state, history, close):
    fast_n = int(params[CROSS_FAST])
    fast = sma_update(state, 0, history[:fast_n], close)
    slow = sma_update(state, SMA_SLOTS, history[fast_n:fast_n + int(params[CROSS_SLOW])], close)
    return cross_signals(state, 2 * SMA_SLOTS, fast, slow)


@routine
def _ema_cross_bar(params, state, close):
    fast = ema_update(state, 0, close, params[CROSS_FAST])
    slow = ema_update(state, EMA_SLOTS, close, params[CROSS_SLOW])
    return cross_signals(state, 2 * EMA_SLOTS, fast, slow)


@routine
def _rsi_reversion_bar(params, state, close):
    rsi = rsi_update(state, 0, close, params[RSI_PERIOD])
    bits = 0
    if rsi < params[RSI_LOWER]:
        bits = LONG_ENTRY + SHORT_EXIT
    elif rsi > params[RSI_UPPER]:
        bits = LONG_EXIT + SHORT_ENTRY
    return bits  # NaN compares False: no signal before rsi is defined


@routine
def _bbands_reversion_bar(params, state, history, close):
    upper, middle, lower = bbands_update(state, 0, history[:int(params[BBANDS_PERIOD])], close, params[BBANDS_K])
    bits = 0
    if close < lower:
        bits += LONG_ENTRY
    if close > middle:
        bits += LONG_EXIT
    if close > upper:
        bits += SHORT_ENTRY
    if close < middle:
        bits += SHORT_EXIT
    return bits


@routine
def _vwap_reversion_bar(params, state, high, low, close, volume, new_session):
    vwap = vwap_update(state, 0, high, low, close, volume, new_session)
    deviation = params[VWAP_DEVIATION_PCT] / 100.0
    bits = 0
    if close < vwap * (1.0 - deviation):
        bits += LONG_ENTRY
    if close >= vwap:
        bits += LONG_EXIT
    if close > vwap * (1.0 + deviation):
        bits += SHORT_ENTRY
    if close <= vwap:
        bits += SHORT_EXIT
    return bits


@routine
def _orb_bar(params, state, high, low, close, minute, new_session):
    if new_session:
        state[ORB_LONG_DONE] = 0.0
        state[ORB_SHORT_DONE] = 0.0
    range_high, range_low = opening_range_update(state, 0, high, low, minute, new_session, params[ORB_MINUTES])
    bits = 0
    if close > range_high and state[ORB_LONG_DONE] == 0.0:
        state[ORB_LONG_DONE] = 1.0
        bits += LONG_ENTRY
    if close < range_low and state[ORB_SHORT_DONE] == 0.0:
        state[ORB_SHORT_DONE] = 1.0
        bits += SHORT_ENTRY
    return bits


@routine
def strategy_bar(kind, params, state, history, open_, high, low, close, volume, minute, new_session):
    """Update the lane's indicators with this bar and return its signal bits (LONG_ENTRY + LONG_EXIT +
    SHORT_ENTRY + SHORT_EXIT, each decided at the bar's close from bars up to it). `minute` is the bar's start in
    whole minutes since its session's open; `new_session` is true for the symbol's first bar of a session."""
    if kind == SMA_CROSS:
        return _sma_cross_bar(params, state, history, close)
    if kind == EMA_CROSS:
        return _ema_cross_bar(params, state, close)
    if kind == RSI_REVERSION:
        return _rsi_reversion_bar(params, state, close)
    if kind == BBANDS_REVERSION:
        return _bbands_reversion_bar(params, state, history, close)
    if kind == VWAP_REVERSION:
        return _vwap_reversion_bar(params, state, high, low, close, volume, new_session)
    if kind == ORB:
        return _orb_bar(params, state, high, low, close, minute, new_session)
    return 0
