"""Slow, obvious reference implementations written from ../shared/spec/metrics.md, never from the code.

Each function works on a plain pandas DataFrame of 1-minute bars with columns
symbol, ts (tz-aware), open, high, low, close, volume.
"""

from __future__ import annotations

import math

import pandas as pd
import pandas_market_calendars as mcal

NYSE = mcal.get_calendar("NYSE")


def regular_session_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Bars with open(D) <= start < close(D) for their ET date D, looked up in pandas-market-calendars."""
    if bars.empty:
        return bars
    local = bars["ts"].dt.tz_convert("America/New_York")
    days = local.dt.date
    schedule = NYSE.schedule(min(days), max(days))
    keep = []
    for ts, day in zip(local, days):
        key = pd.Timestamp(day)
        if key not in schedule.index:
            keep.append(False)
            continue
        keep.append(schedule.loc[key, "market_open"] <= ts < schedule.loc[key, "market_close"])
    return bars[keep]


def daily_values(bars: pd.DataFrame) -> pd.DataFrame:
    """metrics.md "Daily values": one row per (date, symbol) with at least one regular-session bar."""
    regular = regular_session_bars(bars).copy()
    regular["date"] = regular["ts"].dt.tz_convert("America/New_York").dt.date
    rows = []
    for (day, symbol), group in regular.groupby(["date", "symbol"], sort=True):
        group = group.sort_values("ts")
        volume = int(group["volume"].sum())
        typical = sum(((h + l + c) / 3) * v for h, l, c, v in zip(group.high, group.low, group.close, group.volume))
        rows.append({
            "date": day,
            "symbol": symbol,
            "open": group["open"].iloc[0],
            "high": group["high"].max(),
            "low": group["low"].min(),
            "close": group["close"].iloc[-1],
            "volume": volume,
            "vwap": typical / volume if volume else math.nan,
            "bars": len(group),
        })
    return pd.DataFrame(rows, columns=["date", "symbol", "open", "high", "low", "close", "volume", "vwap", "bars"])


def intraday_as_of(bars: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, float] | None:
    """metrics.md "Intraday metrics" of one symbol's session bars as of `as_of`, from its visible
    regular-session bars (a bar is visible once its minute has ended); None when no bar is visible."""
    regular = regular_session_bars(bars)
    visible = regular[regular["ts"] + pd.Timedelta(minutes=1) <= as_of].sort_values("ts")
    if visible.empty:
        return None
    return {
        "price": float(visible["close"].iloc[-1]),
        "session_volume": int(visible["volume"].sum()),
        "session_high": float(visible["high"].max()),
        "session_low": float(visible["low"].min()),
    }
