"""The GPU trailing-window kernel under the numba CUDA simulator gives exactly the CPU kernel's results."""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before Python starts (make test-cudasim)", allow_module_level=True)

from hypothesis import given, settings
from hypothesis import strategies as st

from tapescan.analytics import TRAILING_FIELDS, daily_matrix, trailing_metrics
from tapescan.cpu_fallback import trailing as cpu
from tapescan.gpu import trailing as gpu
from tests.daily_matrices import END, START, daily_frames


@settings(max_examples=15, deadline=None)
@given(daily=daily_frames(), days=st.sampled_from([1, 3, 5]))
def test_gpu_trailing_metrics_are_identical_to_the_cpu(daily, days):
    matrix = daily_matrix(daily, START, END)
    bench = matrix.close[:, list(matrix.symbols).index("SPY")].copy() if "SPY" in matrix.symbols else \
        np.full(len(matrix.sessions), np.nan)
    inputs = (matrix.close, matrix.volume, matrix.high, matrix.low, matrix.present, bench, ~np.isnan(bench))
    np.testing.assert_array_equal(gpu.trailing_metrics(*inputs, days, threads=2), cpu.trailing_metrics(*inputs, days))


@settings(max_examples=5, deadline=None)
@given(daily=daily_frames())
def test_the_analytics_api_runs_trailing_metrics_on_the_gpu_when_asked(daily):
    matrix = daily_matrix(daily, START, END)
    on_gpu, on_cpu = trailing_metrics(matrix, 3, backend="gpu"), trailing_metrics(matrix, 3, backend="cpu")
    for name in TRAILING_FIELDS:
        assert on_gpu[name].equals(on_cpu[name]), name
