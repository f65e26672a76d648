"""The GPU time-of-day volume kernel under the numba CUDA simulator gives exactly the CPU kernel's results."""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before Python starts (make test-cudasim)", allow_module_level=True)

from hypothesis import given, settings
from hypothesis import strategies as st

from tapescan.analytics import tod_average_volume


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sessions=st.integers(1, 4), symbols=st.integers(1, 7))
def test_gpu_tod_average_volume_is_identical_to_the_cpu(seed, sessions, symbols):
    rng = np.random.default_rng(seed)
    history = np.cumsum(rng.integers(0, 5000, (sessions, symbols, 390)), axis=2)
    present = rng.random((sessions, symbols)) < 0.8
    on_gpu = tod_average_volume(history, present, backend="gpu")
    np.testing.assert_array_equal(on_gpu, tod_average_volume(history, present, backend="cpu"))
    assert np.isnan(on_gpu[~present.all(axis=0)]).all()
