"""An example of your own strategy function, used by tapescan/data/examples/strategies/custom_breakout.yaml as
``strategy: "tapescan.backtest.example_signals:breakout"``; copy it into your own module to start one
(tapescan.backtest.custom says what such a function takes and returns)."""

from __future__ import annotations

import pandas as pd


def breakout(bars: pd.DataFrame, lookback: int = 20) -> pd.DataFrame:
    """Channel breakout: enter long when a bar closes above the highest high of the `lookback` bars before it,
    leave when one closes below their lowest low; short mirrored. Each decision uses bars up to its own."""
    highest = bars["high"].rolling(lookback).max().shift(1)
    lowest = bars["low"].rolling(lookback).min().shift(1)
    close = bars["close"]
    return pd.DataFrame({
        "long_entry": close > highest,
        "long_exit": close < lowest,
        "short_entry": close < lowest,
        "short_exit": close > highest,
        "range_pct": 100 * (highest - lowest) / close,  # a value to rank entries by (account.rank_by)
    })
