"""Random session panels for the kernel tests (CPU here, GPU under the simulator): gaps, empty and
single-bar symbols, zero volume, constant prices, on a regular day or an early close."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from tapescan import calendar
from tapescan.store.reader import SessionPanel

DAYS = (dt.date(2024, 3, 8), dt.date(2024, 11, 29))  # a regular session and an early close


@st.composite
def panels(draw, max_symbols: int = 5) -> SessionPanel:
    """A panel over the first minutes of a session (the whole session of the early close when drawn)."""
    day = draw(st.sampled_from(DAYS))
    minutes = calendar.session_minutes(day)
    minutes = minutes[: draw(st.sampled_from([1, 7, 40, len(minutes)]))]
    symbols, width = draw(st.integers(1, max_symbols)), len(minutes)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    mask = rng.random((symbols, width)) < rng.choice([0.0, 0.05, 0.6, 1.0], size=(symbols, 1))
    base = rng.choice([1.0, 12.5, 300.0], size=(symbols, 1))
    close = np.round(base * np.exp(np.cumsum(rng.normal(0, 0.01, (symbols, width)), axis=1)), 2)
    constant = rng.random((symbols, 1)) < 0.2
    close = np.where(constant, base, close)
    open_ = np.where(constant, base, np.round(close * np.exp(rng.normal(0, 0.003, close.shape)), 2))
    high = np.maximum(open_, close) + np.where(constant, 0.0, np.round(rng.random(close.shape), 2))
    low = np.minimum(open_, close) - np.where(constant, 0.0, np.round(rng.random(close.shape) * 0.5, 2))
    low = np.maximum(low, 0.01)
    volume = np.where(rng.random(close.shape) < 0.1, 0, rng.integers(1, 10_000, close.shape))
    absent = ~mask
    return SessionPanel(
        date=day, symbols=np.array([f"S{i}" for i in range(symbols)], dtype=object), minutes=minutes,
        open=np.where(absent, np.nan, open_), high=np.where(absent, np.nan, high),
        low=np.where(absent, np.nan, low), close=np.where(absent, np.nan, close),
        volume=np.where(absent, 0, volume).astype(np.int64), mask=mask,
    )


def panel_bars(panel: SessionPanel) -> pd.DataFrame:
    """The panel's bars in long form (symbol, ts, open, high, low, close, volume)."""
    rows, cols = np.nonzero(panel.mask)
    return pd.DataFrame({
        "symbol": panel.symbols[rows], "ts": panel.minutes[cols], "open": panel.open[rows, cols],
        "high": panel.high[rows, cols], "low": panel.low[rows, cols], "close": panel.close[rows, cols],
        "volume": panel.volume[rows, cols],
    })
