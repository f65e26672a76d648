"""Random daily values over consecutive sessions for the trailing-window tests: gaps, a listing, a
delisting, constant prices, and SPY as the benchmark (itself with a gap when drawn)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from tapescan import calendar

START, END = "2024-11-18", "2024-12-10"  # 16 sessions with Thanksgiving and its early close


@st.composite
def daily_frames(draw) -> pd.DataFrame:
    sessions = list(calendar.sessions(START, END)["date"])
    count = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    names = ["SPY", *(f"S{i}" for i in range(count))]
    rows = []
    for k, name in enumerate(names):
        present = rng.random(len(sessions)) >= rng.choice([0.0, 0.0, 0.1, 0.3])
        kind = rng.integers(0, 4) if k else 0
        if kind == 1:
            present[: rng.integers(1, len(sessions))] = False  # lists mid-range
        if kind == 2:
            present[rng.integers(1, len(sessions)) :] = False  # delists mid-range
        close = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.02, len(sessions)))), 2)
        if kind == 3:
            close[:] = 42.0  # constant: zero variance
        for day, here, price in zip(sessions, present, close):
            if here:
                rows.append({"date": day, "symbol": name, "close": price, "volume": int(rng.integers(0, 10**7)),
                             "high": round(price * 1.01, 2), "low": round(price * 0.99, 2)})
    return pd.DataFrame(rows, columns=["date", "symbol", "close", "volume", "high", "low"])
