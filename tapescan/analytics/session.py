"""Metrics of one session for all symbols at once, from a dense :class:`~tapescan.store.SessionPanel`.

Both accept a host panel or a device panel (tapescan.analytics.placement). `cumulative_intraday` gives,
for every symbol and every minute, what is known once that minute's bar has closed (docs/spec/metrics.md "Intraday
metrics": session volume, high, low, last price), so that a scan "as of T" at any T is a lookup.
`daily_values` gives docs/spec/metrics.md "Daily values". Both run on the backend that `tapescan.backend.resolve_backend`
picks; the CPU and GPU paths run the same per-symbol code (tapescan/kernels/session.py) and give identical
results.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tapescan.analytics.drivers import Backend, compute_for
from tapescan.analytics.placement import AnyPanel
from tapescan.calendar import ONE_MINUTE
from tapescan.kernels.session import DAILY_FIELDS


@dataclass(frozen=True)
class IntradayCumulative:
    """Per symbol and minute j of the session: the visible bars' metrics once bar j has closed.

    Column j holds what is known as of open + (j + 1) minutes (a bar is visible at its end). Where `bars`
    is 0 nothing is known yet: prices are NaN and every intraday metric is undefined.
    """

    date: dt.date
    symbols: np.ndarray
    as_of: pd.DatetimeIndex  # open + (j + 1) minutes, ET
    volume: np.ndarray  # int64 [S, M]: session volume
    high: np.ndarray  # float64 [S, M]: session high
    low: np.ndarray  # float64 [S, M]: session low
    last: np.ndarray  # float64 [S, M]: price (close of the last visible bar)
    bars: np.ndarray  # int32 [S, M]: visible bars


def cumulative_intraday(panel: AnyPanel, backend: Backend = "auto") -> IntradayCumulative:
    """Session volume, high, low and last price for every symbol at the end of every minute."""
    volume, high, low, last, bars = compute_for(backend).cumulate_sessions(panel)
    as_of = panel.minutes + ONE_MINUTE
    return IntradayCumulative(panel.date, panel.symbols, as_of, volume, high, low, last, bars)


def daily_values(panel: AnyPanel, backend: Backend = "auto") -> pd.DataFrame:
    """docs/spec/metrics.md "Daily values" of every symbol with at least one bar in the (regular-session) panel."""
    values = compute_for(backend).daily_values(panel)
    frame = pd.DataFrame(dict(zip(DAILY_FIELDS, values)), index=pd.Index(panel.symbols, name="symbol"))
    frame = frame[frame["bars"] > 0]
    return frame.astype({"volume": np.int64, "bars": np.int32})
