"""Session kernels on the CPU against the oracles written from docs/spec/metrics.md (tests/oracles.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings

from tapescan.analytics import cumulative_intraday, daily_values
from tests import oracles
from tests.session_panels import panel_bars, panels


def minutes_to_check(count: int, seed: int) -> list[int]:
    """Every minute of a short panel; of a long one the edges and a random dozen (the oracle is slow)."""
    if count <= 40:
        return list(range(count))
    picks = np.random.default_rng(seed).choice(count, 12, replace=False)
    return sorted({0, 1, count - 2, count - 1, *picks.tolist()})


@settings(max_examples=30, deadline=None)
@given(panel=panels())
def test_cumulative_intraday_equals_the_oracle(panel):
    result = cumulative_intraday(panel, backend="cpu")
    bars = panel_bars(panel)
    assert list(result.as_of) == list(panel.minutes + pd.Timedelta(minutes=1))
    for s, symbol in enumerate(panel.symbols):
        mine = bars[bars["symbol"] == symbol]
        for j in minutes_to_check(len(result.as_of), s):
            as_of = result.as_of[j]
            expected = oracles.intraday_as_of(mine, as_of)
            if expected is None:
                assert result.bars[s, j] == 0 and result.volume[s, j] == 0
                assert math.isnan(result.last[s, j]) and math.isnan(result.high[s, j]) and math.isnan(result.low[s, j])
                continue
            assert result.bars[s, j] > 0
            assert result.volume[s, j] == expected["session_volume"]
            assert result.last[s, j] == expected["price"]
            assert result.high[s, j] == expected["session_high"]
            assert result.low[s, j] == expected["session_low"]


@settings(max_examples=30, deadline=None)
@given(panel=panels())
def test_daily_values_equal_the_oracle(panel):
    result = daily_values(panel, backend="cpu")
    expected = oracles.daily_values(panel_bars(panel)).set_index("symbol")
    assert list(result.index) == list(expected.index)
    for column in ("open", "high", "low", "close", "volume", "bars"):
        assert result[column].tolist() == expected[column].tolist(), column
    np.testing.assert_allclose(result["vwap"].to_numpy(float), expected["vwap"].to_numpy(float), rtol=1e-12)


def test_daily_values_of_a_stored_session_equal_the_store_table(store):
    from tapescan.synth import write_synthetic_market

    write_synthetic_market(store, 30, "2024-11-27", "2024-11-29", seed=5)
    for day in store.sessions():
        computed = daily_values(store.read_session(day), backend="cpu")
        stored = store.read_daily(day, day).set_index("symbol")
        assert list(computed.index) == list(stored.index)
        for column in ("open", "high", "low", "close", "volume", "bars"):
            assert computed[column].tolist() == stored[column].tolist(), column
        np.testing.assert_allclose(computed["vwap"], stored["vwap"], rtol=1e-12)
