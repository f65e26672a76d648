"""Trailing-window metrics on the CPU against the oracle written from docs/spec/metrics.md."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tapescan.analytics import TRAILING_FIELDS, daily_matrix, trailing_metrics
from tests import oracles
from tests.daily_matrices import END, START, daily_frames


def assert_close(got: float, want: float, where: str) -> None:
    if math.isnan(want):
        assert math.isnan(got), f"{where}: {got} where undefined"
    else:
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {got} != {want}"


@settings(max_examples=30, deadline=None)
@given(daily=daily_frames(), days=st.sampled_from([1, 2, 3, 5]))
def test_trailing_metrics_equal_the_oracle(daily, days):
    matrix = daily_matrix(daily, START, END)
    result = trailing_metrics(matrix, days, backend="cpu")
    for day in matrix.sessions:
        for symbol in matrix.symbols:
            expected = oracles.trailing_metrics(daily, matrix.sessions, day, symbol, days)
            for name in TRAILING_FIELDS:
                assert_close(result[name].loc[day, symbol], expected[name], f"{name} {symbol} {day} N={days}")


@settings(max_examples=10, deadline=None)
@given(daily=daily_frames())
def test_a_missing_benchmark_leaves_only_beta_and_correlation_undefined(daily):
    with_spy = trailing_metrics(daily_matrix(daily, START, END), 3, backend="cpu")
    others = daily[daily["symbol"] != "SPY"]
    without = trailing_metrics(daily_matrix(others, START, END), 3, backend="cpu")
    assert without["beta"].isna().all().all() and without["correlation"].isna().all().all()
    for name in ("avg_volume", "avg_price", "std_pct", "hist_high", "hist_low"):
        columns = without[name].columns
        np.testing.assert_array_equal(without[name].to_numpy(), with_spy[name][columns].to_numpy())
