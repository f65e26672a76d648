"""Small seeded synthetic markets for the backtest oracle tests: gaps, halts, listings, delistings.

A market is a few symbols over a few consecutive NYSE sessions (pick sessions with a DST change or an early
close), with bars only in the first and last minutes of each session (so the session-close exit lands on the
real last bar while the tests stay small), random missing minutes, an opening gap every session, one halt,
one listing and one delisting. Signals are random booleans with a random rank.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from tapescan import calendar

SYMBOLS = ("AAA", "BBB", "CCC", "DDD")
HALTED, LISTED, DELISTED = "BBB", "CCC", "DDD"
FIRST_MINUTES = 40  # bars in the first minutes of a session ...
LAST_MINUTES = 20  # ... and in its last minutes
MISSING = 0.1  # share of minutes without a bar
HALT = range(10, 26)  # minutes since the open that the halted symbol misses, on the second session
DELIST_MINUTE = 20  # the delisted symbol's last bar, on the third session
SIGNAL_CHANCE = 0.06


def session_days(first: str, last: str) -> list[datetime.date]:
    """The NYSE sessions from `first` to `last` inclusive."""
    return list(calendar.sessions(first, last)["date"])


def synthetic_bars(seed: int, days: list[datetime.date], symbols: tuple[str, ...] = SYMBOLS) -> pd.DataFrame:
    """Bars (symbol, ts, open, high, low, close, volume) of `symbols` over `days`, prices in cents."""
    rng = np.random.default_rng(seed)
    rows = []
    for symbol in symbols:
        price = float(rng.uniform(20, 200))
        for index, day in enumerate(days):
            if symbol == LISTED and index == 0:
                continue  # listed on the second session
            if symbol == DELISTED and index > 2:
                break  # delisted during the third session
            open_, close = calendar.session_bounds(day)
            length = int((close - open_) / pd.Timedelta(minutes=1))
            minutes = [m for m in range(length) if m < FIRST_MINUTES or m >= length - LAST_MINUTES]
            price *= 1 + rng.normal(0, 0.02)  # the overnight gap
            for minute in minutes:
                if rng.random() < MISSING:
                    continue
                if symbol == HALTED and index == 1 and minute in HALT:
                    continue
                if symbol == DELISTED and index == 2 and minute > DELIST_MINUTE:
                    break
                o = round(price * (1 + rng.normal(0, 0.002)), 2)
                c = round(o * (1 + rng.normal(0, 0.004)), 2)
                h = round(max(o, c) * (1 + abs(rng.normal(0, 0.002))), 2)
                low = round(min(o, c) * (1 - abs(rng.normal(0, 0.002))), 2)
                rows.append((symbol, open_ + pd.Timedelta(minutes=minute), o, h, low, c, int(rng.integers(100, 5000))))
                price = c
    bars = pd.DataFrame(rows, columns=["symbol", "ts", "open", "high", "low", "close", "volume"])
    bars["volume"] = bars["volume"].astype("int64")
    return bars.sort_values(["ts", "symbol"], kind="stable").reset_index(drop=True)


def random_signals(seed: int, bars: pd.DataFrame, chance: float = SIGNAL_CHANCE) -> pd.DataFrame:
    """Random long/short entry/exit flags and a random rank, aligned to `bars`' rows."""
    rng = np.random.default_rng(seed + 1_000_003)
    n = len(bars)
    return pd.DataFrame({
        "long_entry": rng.random(n) < chance,
        "long_exit": rng.random(n) < chance,
        "short_entry": rng.random(n) < chance,
        "short_exit": rng.random(n) < chance,
        "rank": rng.random(n),
    }, index=bars.index)
