"""The GPU session kernels under the numba CUDA simulator give exactly the CPU kernels' results.

Run as their own process with NUMBA_ENABLE_CUDASIM=1 (make test-cudasim); small inputs, 4 threads per
block so that several blocks run.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before Python starts (make test-cudasim)", allow_module_level=True)

from hypothesis import given, settings
from hypothesis import strategies as st

from tapescan.cpu_fallback import session as cpu
from tapescan.gpu import session as gpu
from tapescan.gpu.panels import DevicePanel
from tests.gpu_agreement import assert_gpu_equals_cpu_on_a_market
from tests.session_panels import panels


@settings(max_examples=15, deadline=None)
@given(panel=panels(max_symbols=9))
def test_gpu_cumulative_intraday_is_identical_to_the_cpu(panel):
    expected = cpu.cumulate_sessions(panel)
    for got, want in zip(gpu.cumulate_sessions(DevicePanel.from_host(panel), threads=4), expected, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@settings(max_examples=15, deadline=None)
@given(panel=panels(max_symbols=9))
def test_gpu_daily_values_are_identical_to_the_cpu(panel):
    np.testing.assert_array_equal(gpu.daily_values(DevicePanel.from_host(panel), threads=4), cpu.daily_values(panel))


@settings(max_examples=15, deadline=None)
@given(panel=panels(max_symbols=9), minutes=st.sampled_from([1, 4, 15, 60]))
def test_gpu_derived_bars_are_identical_to_the_cpu(panel, minutes):
    expected = cpu.derived_bars(panel, minutes)
    for got, want in zip(gpu.derived_bars(DevicePanel.from_host(panel), minutes, threads=4), expected, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_every_analytics_function_agrees_on_a_synthetic_market(store):
    assert_gpu_equals_cpu_on_a_market(store, symbols=12)
