"""Small seeded markets of regular-session 1-minute bars and random signals, for comparing tapescan with peers.

Bars follow the spec's bar sequence: each symbol has its own minutes (some absent), prices move inside a bar,
between present bars of a session (missing minutes still move the price) and overnight with a wider gap, so that
stops trigger inside bars and at gapped opens. The sessions cross the 2024 DST change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tapescan import calendar

SESSIONS = ("2024-03-07", "2024-03-12")
MINUTE_VOL = 0.003
GAP_VOL = 0.01
WICK_VOL = 0.0015
START_PRICE = 50.0


def random_bars(seed: int, symbols: int = 4, minutes: int = 80, presence: float = 0.85,
                sessions: tuple[str, str] = SESSIONS) -> pd.DataFrame:
    """Bars (symbol, ts, open, high, low, close, volume) of `symbols` symbols over the first `minutes` minutes of
    each session in `sessions`, each minute present with probability `presence`; sorted by (symbol, ts)."""
    rng = np.random.default_rng(seed)
    days = calendar.sessions(*sessions)
    frames = []
    for s in range(symbols):
        price = START_PRICE * (1 + s / 10)
        for day_open in days["open"]:
            price *= np.exp(rng.normal(0, GAP_VOL))
            opens = price * np.exp(np.cumsum(rng.normal(0, MINUTE_VOL, minutes)))
            closes = opens * np.exp(rng.normal(0, MINUTE_VOL, minutes))
            price = closes[-1]
            highs = np.maximum(opens, closes) * np.exp(np.abs(rng.normal(0, WICK_VOL, minutes)))
            lows = np.minimum(opens, closes) * np.exp(-np.abs(rng.normal(0, WICK_VOL, minutes)))
            keep = rng.random(minutes) < presence
            ts = day_open + pd.to_timedelta(np.arange(minutes), unit="min")
            frames.append(pd.DataFrame({"symbol": f"S{s:02d}", "ts": ts[keep], "open": opens[keep],
                                        "high": highs[keep], "low": lows[keep], "close": closes[keep],
                                        "volume": np.full(keep.sum(), 1_000, dtype=np.int64)}))
    return pd.concat(frames, ignore_index=True)


def random_signals(bars: pd.DataFrame, seed: int, rate: float = 0.06, quiet_tail: int = 2) -> dict[str, np.ndarray]:
    """Independent random long/short entry/exit signals aligned to the rows of `bars`, false on each symbol's last
    `quiet_tail` bars (so that no order is pending for the range's last bar: see vectorbt_peer's `end` exit)."""
    rng = np.random.default_rng(seed)
    tail = bars.groupby("symbol").cumcount(ascending=False).to_numpy() < quiet_tail
    names = ("long_entry", "long_exit", "short_entry", "short_exit")
    return {name: (rng.random(len(bars)) < rate) & ~tail for name in names}
