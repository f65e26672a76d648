"""Time-of-day average volume and relative volume (docs/spec/metrics.md "Intraday metrics").

Volumes are compared on one clock grid: minute j (0..389) is the clock time 09:30 + (j + 1) minutes, the
moment the bar stamped 09:30 + j becomes known. A session's cumulative volume at clock minute j counts its
bars known by then; after an early close it stays at the day's total, before a late open it is 0.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.analytics.drivers import Backend, compute_for
from tapescan.analytics.placement import AnyPanel
from tapescan.analytics.window import SessionWindow
from tapescan.calendar import NS_PER_MINUTE, NS_PER_SECOND
from tapescan.cpu_fallback.tod import relative_volumes
from tapescan.errors import TapescanError

CLOCK_MINUTES = calendar.REGULAR_MINUTES  # 09:31 ... 16:00
REGULAR_OPEN = dt.time(9, 30)
#: Ticks per second of each unit a DatetimeIndex may hold (pandas 3 infers s, ms, us or ns).
_TICKS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def clock_times(day: calendar.DateLike) -> pd.DatetimeIndex:
    """The clock grid on `day`: 09:31, 09:32, ..., 16:00 ET."""
    return pd.DatetimeIndex(clock_ns(day), tz="UTC").tz_convert(calendar.ET)


def clock_ns(day: calendar.DateLike) -> np.ndarray:
    """The clock grid on `day` as ns since the epoch."""
    return _regular_open_ns(calendar.to_date(day)) + NS_PER_MINUTE * np.arange(1, CLOCK_MINUTES + 1, dtype=np.int64)


def clock_minutes(day: calendar.DateLike, moments: pd.DatetimeIndex) -> np.ndarray:
    """Each moment's clock minute on `day`'s grid (09:31:00-09:31:59 -> 0, ..., 16:00 -> 389), -1 off the grid:
    the position of the time-of-day volume a moment's session volume is compared with."""
    clock = (epoch_ns(moments) - _regular_open_ns(calendar.to_date(day))) // NS_PER_MINUTE - 1
    return np.where((clock >= 0) & (clock < CLOCK_MINUTES), clock, -1)


def _regular_open_ns(day: dt.date) -> int:
    """09:30 ET on `day` (ns since the epoch), where the clock grid starts (whatever time the session opened)."""
    return calendar.et_ns(day, REGULAR_OPEN)


def epoch_ns(moments: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """ns since the epoch of each moment (an int64 array is taken as such): integer arithmetic on times costs
    microseconds where pandas' datetime arithmetic costs a millisecond a call."""
    if isinstance(moments, np.ndarray):
        return moments
    return moments.asi8 * (NS_PER_SECOND // _TICKS_PER_SECOND[moments.unit])


def bars_ended(minutes: pd.DatetimeIndex, moments: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """How many of a panel's minutes (bars, one a minute from minutes[0]) have ended at each moment."""
    if not len(minutes):
        return np.zeros(len(moments), dtype=np.int64)
    ended = (epoch_ns(moments) - minutes[0].value) // NS_PER_MINUTE
    return np.clip(ended, 0, len(minutes))


def clock_volume(panel: AnyPanel, backend: Backend = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Cumulative volume of each symbol at each clock minute [symbol x 390], and which symbols traded; the scan
    kernel records the same (tapescan/kernels/tod.py `clock_volumes`)."""
    return compute_for(backend).clock_volume(panel, bars_ended(panel.minutes, clock_ns(panel.date)))


def tod_average_volume(history: np.ndarray, present: np.ndarray, backend: Backend = "auto") -> np.ndarray:
    """Mean of the window's clock volumes [symbol x 390] from history [session x symbol x 390] and presence
    [session x symbol]; NaN for a symbol missing any session of the window."""
    return compute_for(backend).tod_average_volume(np.ascontiguousarray(history, dtype=np.int64), present)


def relative_volume(session_volume: np.ndarray, tod_average: np.ndarray) -> np.ndarray:
    """session_volume / tod_avg_volume, NaN where the average is 0 or undefined: the scan kernel's rule
    (tapescan/kernels/tod.py `relative_volume`), element by element on the CPU."""
    return relative_volumes(np.asarray(session_volume, dtype=np.float64), np.asarray(tod_average, dtype=np.float64))


def tod_average_volume_before(window: SessionWindow, day: calendar.DateLike, sessions: int) -> np.ndarray:
    """tod_avg_volume(N) on `day` at every clock minute [symbol x 390] (rows: `window.symbols`), from the N
    sessions before `day` held in `window`; NaN for a symbol missing any of them, and for every symbol when
    the store lacks one of those sessions."""
    if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 1:
        raise TapescanError(f"a time-of-day average needs at least 1 session (got {sessions!r}).")
    days = calendar.sessions_before(day, sessions)
    if not set(days) <= set(window.store.sessions()):
        return np.full((len(window.symbols), CLOCK_MINUTES), np.nan)
    volumes = [clock_volume(window.panel(d), window.compute) for d in days]
    history = np.stack([volume for volume, _ in volumes])
    present = np.stack([traded for _, traded in volumes])
    return tod_average_volume(history, present, window.compute)
