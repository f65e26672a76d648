"""Small one-symbol bar sequences for the indicator and strategy tests, and the slow pandas oracles of the
per-session indicators (vwap, opening_range), written from docs/spec/backtest.md "Indicators".

Session and minute of a bar are found here from tapescan.calendar.session_bounds and the ET wall clock, not the
way tapescan.indicators finds them (session_table and UTC nanoseconds), so the two check each other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tapescan import calendar

#: Sessions the tests draw from: a DST change (Friday EST, Monday EDT), an early close (13:00) and the next day.
DST_FRIDAY, DST_MONDAY, EARLY_CLOSE, AFTER_EARLY_CLOSE = "2024-03-08", "2024-03-11", "2024-11-29", "2024-12-02"
DAYS = (DST_FRIDAY, DST_MONDAY, EARLY_CLOSE, AFTER_EARLY_CLOSE)


def random_walk(rng: np.random.Generator, count: int, start: float = 100.0, step: float = 0.004) -> np.ndarray:
    """`count` positive prices: a geometric random walk from `start` with steps of relative size ~`step`."""
    return start * np.exp(np.cumsum(rng.normal(0.0, step, count)))


def bars_at(minutes_by_day: dict[str, list[int]], rng: np.random.Generator, step: float = 0.004) -> pd.DataFrame:
    """One symbol's bars at the given minutes since each day's open (minutes absent: no bar), in time order:
    ts (ET bar starts), open, high, low, close, volume (whole shares, some 0)."""
    ts = pd.DatetimeIndex(
        [calendar.session_minutes(day)[minute] for day, minutes in minutes_by_day.items() for minute in minutes]
    )
    close = random_walk(rng, len(ts), step=step)
    open_ = np.concatenate([[close[0]], close[:-1]]) * np.exp(rng.normal(0.0, step / 4, len(ts)))
    high = np.maximum(open_, close) * (1 + rng.uniform(0.0, step, len(ts)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0.0, step, len(ts)))
    volume = rng.integers(0, 5_000, len(ts)).astype(np.float64)
    volume[rng.random(len(ts)) < 0.1] = 0.0
    return pd.DataFrame({"ts": ts, "open": open_, "high": high, "low": low, "close": close, "volume": volume})


def oracle_session_minutes(ts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(session index in order of first appearance, minutes since that session's open) of each bar start, from
    the ET date, calendar.session_bounds and the ET wall clock."""
    local = pd.Series(pd.DatetimeIndex(ts).tz_convert(calendar.ET))
    dates = [stamp.date() for stamp in local]
    order = {date: i for i, date in enumerate(dict.fromkeys(dates))}
    minutes = []
    for stamp, date in zip(local, dates, strict=True):
        open_, _ = calendar.session_bounds(date)
        minutes.append(stamp.hour * 60 + stamp.minute - (open_.hour * 60 + open_.minute))
    return np.array([order[date] for date in dates]), np.array(minutes)


def oracle_vwap(bars: pd.DataFrame, session: np.ndarray) -> np.ndarray:
    """Per session: cumulative sum((high + low + close) / 3 * volume) / cumulative sum(volume); NaN while the
    session's volume is 0."""
    typical = (bars["high"] + bars["low"] + bars["close"]) / 3.0
    weighted = (typical * bars["volume"]).groupby(session).cumsum()
    volume = bars["volume"].groupby(session).cumsum()
    return np.where(volume > 0, weighted / volume.where(volume > 0), np.nan)


def oracle_opening_range(bars: pd.DataFrame, session: np.ndarray, minute: np.ndarray, m: int) -> tuple[np.ndarray,
                                                                                                     np.ndarray]:
    """At each bar: the max high / min low of its session's bars so far that start before open + m minutes,
    defined once the bar starts at open + m - 1 or later and such a bar exists; NaN otherwise."""
    high, low = bars["high"].to_numpy(), bars["low"].to_numpy()
    range_high, range_low = np.full(len(bars), np.nan), np.full(len(bars), np.nan)
    for i in range(len(bars)):
        inside = [j for j in range(i + 1) if session[j] == session[i] and minute[j] < m]
        if minute[i] >= m - 1 and inside:
            range_high[i] = max(high[j] for j in inside)
            range_low[i] = min(low[j] for j in inside)
    return range_high, range_low
