"""The numbers a strategy file's execution, size, account, stops and session settings give the kernels: the
SETTING_* row of tapescan/kernels/portfolio.py, percentages as fractions and "not set" as NaN."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tapescan.kernels.portfolio import (
    SETTING_DIRECTION,
    SETTING_FEE_PER_ORDER,
    SETTING_FEE_RATE,
    SETTING_FIELDS,
    SETTING_FILL_CLOSE,
    SETTING_FLAT_AT_CLOSE,
    SETTING_INIT_CASH,
    SETTING_MAX_MINUTES,
    SETTING_MAX_POSITION,
    SETTING_MAX_POSITIONS,
    SETTING_SHARED,
    SETTING_SIZE_AMOUNT,
    SETTING_SIZE_KIND,
    SETTING_SLIPPAGE,
    SETTING_STOP_LOSS,
    SETTING_TAKE_PROFIT,
    SETTING_TRAILING_STOP,
    SIZE_PERCENT_EQUITY,
    SIZE_SHARES,
    SIZE_VALUE,
)
from tapescan.kernels.signals import LONG_SIGNALS, SHORT_SIGNALS

#: The signal bits each direction acts on.
DIRECTION_BITS = {"long": LONG_SIGNALS, "short": SHORT_SIGNALS, "both": LONG_SIGNALS | SHORT_SIGNALS}


def _fraction(percent: float | None) -> float:
    return math.nan if percent is None else percent / 100.0


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class RunSettings:
    """A strategy file's settings as the simulator uses them."""

    vector: np.ndarray
    entry_start: dt.time
    entry_end: dt.time
    shared: bool
    init_cash: float
    warmup_sessions: int

    @classmethod
    def of(cls, config: Any) -> RunSettings:
        """From a StrategyConfig (tapescan.backtest.config)."""
        vector = np.full(len(SETTING_FIELDS), np.nan)
        execution, size, account, stops = config.execution, config.size, config.account, config.stops
        vector[SETTING_FILL_CLOSE] = execution.fill == "close"
        vector[SETTING_SLIPPAGE] = execution.slippage_pct / 100.0
        vector[SETTING_FEE_RATE] = execution.fee_pct / 100.0
        vector[SETTING_FEE_PER_ORDER] = execution.fee_per_order
        if size.shares is not None:
            vector[SETTING_SIZE_KIND], vector[SETTING_SIZE_AMOUNT] = SIZE_SHARES, size.shares
        elif size.value is not None:
            vector[SETTING_SIZE_KIND], vector[SETTING_SIZE_AMOUNT] = SIZE_VALUE, size.value
        else:
            vector[SETTING_SIZE_KIND], vector[SETTING_SIZE_AMOUNT] = SIZE_PERCENT_EQUITY, size.percent_equity / 100
        vector[SETTING_DIRECTION] = DIRECTION_BITS[config.direction]
        vector[SETTING_STOP_LOSS] = _fraction(stops.stop_loss_pct)
        vector[SETTING_TAKE_PROFIT] = _fraction(stops.take_profit_pct)
        vector[SETTING_TRAILING_STOP] = _fraction(stops.trailing_stop_pct)
        vector[SETTING_MAX_MINUTES] = _or_nan(stops.max_minutes)
        vector[SETTING_FLAT_AT_CLOSE] = config.session.flat_at_close
        vector[SETTING_INIT_CASH] = account.init_cash
        shared = account.mode == "shared"
        vector[SETTING_SHARED] = shared
        vector[SETTING_MAX_POSITIONS] = _or_nan(account.max_positions)
        vector[SETTING_MAX_POSITION] = _fraction(account.max_position_pct)
        return cls(vector, config.session.entry_start, config.session.entry_end, shared, float(account.init_cash),
                   int(config.warmup_sessions))
