"""Slow, obvious reference implementations written from docs/spec/metrics.md, never from the code.

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
    """docs/spec/metrics.md "Daily values": one row per (date, symbol) with at least one regular-session bar."""
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
    """docs/spec/metrics.md "Intraday metrics" of one symbol's session bars as of `as_of`, from its visible
    regular-session bars (a bar is visible once its minute has ended); None when no bar is visible."""
    regular = regular_session_bars(bars)
    return intraday_of(regular[regular["ts"] + pd.Timedelta(minutes=1) <= as_of].sort_values("ts"))


def intraday_of(visible: pd.DataFrame) -> dict[str, float] | None:
    """price, session_volume, session_high and session_low of the visible bars (sorted by ts); None if none."""
    if visible.empty:
        return None
    return {
        "price": float(visible["close"].iloc[-1]),
        "session_volume": int(visible["volume"].sum()),
        "session_high": float(visible["high"].max()),
        "session_low": float(visible["low"].min()),
    }


def _daily_returns(closes: list[float]) -> pd.Series:
    """r_d = close_d / close_prev(d) - 1 for every close after the first."""
    return pd.Series(closes).pct_change().iloc[1:].reset_index(drop=True)


def trailing_metrics(daily: pd.DataFrame, sessions: list, day, symbol: str, days: int,
                     benchmark: str = "SPY") -> dict[str, float]:
    """docs/spec/metrics.md "Trailing-window metrics" of `symbol` as of session `day` over the calendar `sessions`
    (a list of consecutive sessions holding `day`); `daily` has date, symbol, close, volume, high, low.
    Undefined values are NaN."""
    rows = daily.set_index(["date", "symbol"])
    out = dict.fromkeys(("avg_volume", "avg_price", "std_pct", "beta", "correlation", "hist_high", "hist_low"),
                        math.nan)
    position = sessions.index(day)
    if position < days:
        return out
    window = sessions[position - days : position]

    def values(who: str, field: str, dates: list) -> list | None:
        if any((d, who) not in rows.index for d in dates):
            return None
        return [float(rows.loc[(d, who), field]) for d in dates]

    closes = values(symbol, "close", window)
    if closes is None:
        return out
    out["avg_volume"] = sum(values(symbol, "volume", window)) / days
    out["avg_price"] = sum(closes) / days
    out["hist_high"] = max(values(symbol, "high", window))
    out["hist_low"] = min(values(symbol, "low", window))
    if position - days - 1 < 0:
        return out
    with_previous = sessions[position - days - 1 : position]
    own = values(symbol, "close", with_previous)
    if own is None:
        return out
    returns = _daily_returns(own)
    variance = returns.var(ddof=1)
    if variance > 0:
        out["std_pct"] = 100 * math.sqrt(variance)
    bench = values(benchmark, "close", with_previous)
    if bench is None:
        return out
    bench_returns = _daily_returns(bench)
    bench_variance = bench_returns.var(ddof=1)
    if bench_variance > 0:
        out["beta"] = returns.cov(bench_returns) / bench_variance
        if variance > 0:
            out["correlation"] = returns.corr(bench_returns)
    return out


def derived_bars(bars: pd.DataFrame, minutes: int | pd.Timedelta) -> pd.DataFrame:
    """docs/spec/metrics.md "Derived bars": per (date, symbol), regular-session bars grouped in buckets of `minutes`
    minutes (or of a Timedelta: 60 seconds for 1-minute bars from 1-second bars) from the session's open; one
    row per bucket that holds a bar, stamped at the bucket start."""
    span = minutes if isinstance(minutes, pd.Timedelta) else pd.Timedelta(minutes=minutes)
    regular = regular_session_bars(bars)
    rows = []
    if regular.empty:
        return pd.DataFrame(rows, columns=["symbol", "ts", "open", "high", "low", "close", "volume"])
    local = regular["ts"].dt.tz_convert("America/New_York")
    schedule = NYSE.schedule(min(local.dt.date), max(local.dt.date))
    for (day, symbol), group in regular.groupby([local.dt.date, "symbol"], sort=True):
        session_open = schedule.loc[pd.Timestamp(day), "market_open"].tz_convert("America/New_York")
        bucket = (group["ts"] - session_open) // span
        for number, part in group.sort_values("ts").groupby(bucket.loc[group.sort_values("ts").index]):
            rows.append({
                "symbol": symbol, "ts": session_open + span * int(number),
                "open": part["open"].iloc[0], "high": part["high"].max(), "low": part["low"].min(),
                "close": part["close"].iloc[-1], "volume": int(part["volume"].sum()),
            })
    return pd.DataFrame(rows, columns=["symbol", "ts", "open", "high", "low", "close", "volume"])


def tod_avg_volume(bars: pd.DataFrame, sessions: list, day, symbol: str, days: int, clocks: list) -> list[float]:
    """docs/spec/metrics.md tod_avg_volume(N) of `symbol` as of each clock time in `clocks` (datetime.time) on session
    `day`: the mean over the N sessions before `day` of the volume of each one's regular bars known by that
    clock time; NaN when `day` has fewer than N sessions before it in `sessions` or the symbol misses one."""
    position = sessions.index(day)
    if position < days:
        return [math.nan] * len(clocks)
    mine = bars[bars["symbol"] == symbol]
    local_days = mine["ts"].dt.tz_convert("America/New_York").dt.date
    totals = []
    for session in sessions[position - days : position]:
        regular = regular_session_bars(mine[local_days == session])
        if regular.empty:
            return [math.nan] * len(clocks)
        known = regular["ts"] + pd.Timedelta(minutes=1)
        instants = [pd.Timestamp.combine(session, clock).tz_localize("America/New_York") for clock in clocks]
        totals.append([int(regular.loc[known <= at, "volume"].sum()) for at in instants])
    return [sum(column) / days for column in zip(*totals)]
