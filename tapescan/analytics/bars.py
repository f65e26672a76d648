"""Derived bars (docs/spec/metrics.md "Derived bars"): k-minute bars from the 1-minute bars of the regular session,
in buckets aligned to the session's open, the last one ending at the close (shorter when k does not divide
the session, and on early-close days)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.analytics.drivers import Backend, compute_for
from tapescan.analytics.placement import AnyPanel
from tapescan.errors import TapescanError
from tapescan.store import Store
from tapescan.store.reader import SessionPanel

BAR_COLUMNS = ["ts", "open", "high", "low", "close", "volume"]


def parse_interval(text: str) -> int:
    """Minutes in an interval written `Nm` or `Nh` (`1m`, `5m`, `15m`, `1h`)."""
    match = re.fullmatch(r"\s*(\d+)\s*([mh])\s*", text.lower())
    if not match or int(match[1]) < 1:
        raise TapescanError(f"interval {text!r}: write a whole number of minutes or hours, e.g. 1m, 5m, 15m, 1h.")
    return int(match[1]) * (60 if match[2] == "h" else 1)


def derived_panel(panel: AnyPanel, minutes: int, backend: Backend = "auto") -> SessionPanel:
    """The `minutes`-minute bars of a regular-session panel, as a panel whose minutes are the bucket starts
    (a bucket without 1-minute bars has mask False, NaN prices and volume 0)."""
    if minutes < 1:
        raise TapescanError(f"a derived bar spans at least 1 minute (got {minutes}).")
    return bucket_panel(panel, minutes, backend)


def bucket_panel(panel: AnyPanel, steps: int, backend: Backend = "auto") -> SessionPanel:
    """Bars of `steps` consecutive panel steps (minutes, or seconds for a 1-second panel) each, in buckets
    aligned to the session's open, the last one ending at the panel's end (the close)."""
    return counted_buckets(panel, steps, backend)[0]


def counted_buckets(panel: AnyPanel, steps: int, backend: Backend = "auto") -> tuple[SessionPanel, np.ndarray]:
    """`bucket_panel` and the number of bars in each bucket [symbol x bucket] (int32)."""
    session_open, _ = calendar.session_bounds(panel.date)
    if len(panel.minutes) and panel.minutes[0] != session_open:
        raise TapescanError("derived bars are built from the regular session; read the panel without extended hours.")
    o, h, lo, c, v, bars = compute_for(backend).derived_bars(panel, steps)
    return SessionPanel(panel.date, panel.symbols, panel.minutes[::steps], o, h, lo, c, v, bars > 0), bars


def available_at(starts: pd.DatetimeIndex | pd.Series, minutes: int) -> pd.DatetimeIndex:
    """When `minutes`-minute bars starting at `starts` (any sessions) become known: min(bucket end, the close
    of the bucket's session), so a bucket cut short by the close is known at the close."""
    starts = pd.DatetimeIndex(starts)
    days = starts.normalize()
    close_of = {day: calendar.session_bounds(day.date())[1] for day in days.unique()}
    closes = pd.DatetimeIndex(days.map(close_of)).tz_convert(starts.tz)
    ends = starts + pd.Timedelta(minutes=minutes)
    return ends.where(ends <= closes, closes)


def available_times(panel: SessionPanel, minutes: int) -> pd.DatetimeIndex:
    """When each bucket of a derived panel becomes known: min(bucket end, session close)."""
    return available_at(panel.minutes, minutes)


def symbol_bars(store: Store, symbol: str, start: calendar.DateLike, end: calendar.DateLike, minutes: int,
                backend: Backend = "auto") -> pd.DataFrame:
    """One symbol's `minutes`-minute bars over the stored sessions from `start` to `end`, oldest first."""
    first, last = calendar.to_date(start), calendar.to_date(end)
    compute = compute_for(backend)
    frames = [panel_frame(derived_panel(store.read_session(day, [symbol]), minutes, compute))[BAR_COLUMNS]
              for day in store.sessions() if first <= day <= last]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=BAR_COLUMNS)


def panel_frame(panel: SessionPanel) -> pd.DataFrame:
    """The bars present in a host panel, in long form: symbol, ts, open, high, low, close, volume, ordered by
    (symbol, ts)."""
    rows, cols = np.nonzero(panel.mask)
    return pd.DataFrame({
        "symbol": panel.symbols[rows], "ts": panel.minutes[cols], "open": panel.open[rows, cols],
        "high": panel.high[rows, cols], "low": panel.low[rows, cols], "close": panel.close[rows, cols],
        "volume": panel.volume[rows, cols],
    })
