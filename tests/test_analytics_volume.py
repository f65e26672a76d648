"""Time-of-day average and relative volume on the CPU against the oracle written from docs/spec/metrics.md, on a
synthetic market with a holiday, an early close, a listing and a delisting."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from tapescan.analytics import (
    SessionWindow,
    clock_times,
    relative_volume,
    tod_average_volume_before,
)
from tapescan.errors import TapescanError
from tapescan.synth import write_synthetic_market
from tests import oracles

CLOCKS = [dt.time(9, 31), dt.time(10, 0), dt.time(12, 59), dt.time(13, 0), dt.time(13, 1), dt.time(15, 59),
          dt.time(16, 0)]


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    from tapescan.store import Store

    store = Store.create(tmp_path_factory.mktemp("tod") / "store")
    write_synthetic_market(store, 10, "2024-11-21", "2024-12-03", seed=9)
    return store


@pytest.mark.parametrize("days", [1, 3])
def test_tod_average_volume_equals_the_oracle(market, days):
    sessions = market.sessions()
    symbols = list(market.symbols()["symbol"])
    frames = [market.read_bars(symbol, sessions[0], sessions[-1]).assign(symbol=symbol) for symbol in symbols]
    bars = pd.concat(frames, ignore_index=True)
    grid = list(clock_times(sessions[0]).time)
    columns = [grid.index(clock) for clock in CLOCKS]
    window = SessionWindow(market, capacity=days + 1, backend="cpu")
    for position in range(len(sessions)):  # from the first session, whose window the store lacks
        average = tod_average_volume_before(window, sessions[position], days)
        for s, symbol in enumerate(symbols):
            expected = oracles.tod_avg_volume(bars, sessions, sessions[position], symbol, days, CLOCKS)
            for got, want, clock in zip(average[s, columns], expected, CLOCKS):
                assert (math.isnan(got) and math.isnan(want)) or got == want, (symbol, clock, sessions[position])
    assert window.reads == len(sessions) - 1  # the sweep read each session once (the last is never trailing)


def test_the_window_keeps_the_latest_sessions_and_serves_any_order(market):
    sessions = market.sessions()
    window = SessionWindow(market, capacity=2, backend="cpu")
    for day in sessions[3:6]:
        window.panel(day)
    assert window.resident == sessions[4:6] and window.reads == 3
    earlier = window.panel(sessions[0])  # older than everything held: read, served, and kept over the oldest
    assert earlier.date == sessions[0] and window.resident == [sessions[0], sessions[5]]
    assert list(earlier.symbols) == window.symbols == list(market.symbols()["symbol"])
    with pytest.raises(TapescanError, match="at least 1 session"):
        SessionWindow(market, capacity=0)
    with pytest.raises(TapescanError, match="at least 1 session"):
        tod_average_volume_before(window, sessions[-1], 0)


def test_relative_volume_is_undefined_where_the_average_is_zero_or_undefined():
    session = np.array([[10, 20, 30]])
    average = np.array([[5.0, 0.0, np.nan]])
    ratio = relative_volume(session, average)
    assert ratio[0, 0] == 2.0 and math.isnan(ratio[0, 1]) and math.isnan(ratio[0, 2])
