"""The GPU time-of-day volume kernels (clock volumes, tod average) under the numba CUDA simulator give exactly the
CPU kernels' results."""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before Python starts (make test-cudasim)", allow_module_level=True)

from hypothesis import given, settings
from hypothesis import strategies as st

from tapescan.analytics import clock_volume, tod_average_volume
from tapescan.synth import write_synthetic_market


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sessions=st.integers(1, 4), symbols=st.integers(1, 7))
def test_gpu_tod_average_volume_is_identical_to_the_cpu(seed, sessions, symbols):
    rng = np.random.default_rng(seed)
    history = np.cumsum(rng.integers(0, 5000, (sessions, symbols, 390)), axis=2)
    present = rng.random((sessions, symbols)) < 0.8
    on_gpu = tod_average_volume(history, present, backend="gpu")
    np.testing.assert_array_equal(on_gpu, tod_average_volume(history, present, backend="cpu"))
    assert np.isnan(on_gpu[~present.all(axis=0)]).all()


def test_gpu_clock_volume_is_identical_to_the_cpu(store):
    write_synthetic_market(store, 6, "2024-11-27", "2024-11-29", seed=5)
    for day in store.sessions():  # a full session and the 2024-11-29 early close
        panel = store.read_session(day)
        on_gpu, on_cpu = clock_volume(panel, backend="gpu"), clock_volume(panel, backend="cpu")
        for got, want in zip(on_gpu, on_cpu, strict=True):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
