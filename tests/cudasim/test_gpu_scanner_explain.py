"""The filter funnel on the GPU path (numba CUDA simulator) is the CPU's, step for step.

Run as its own process with NUMBA_ENABLE_CUDASIM=1 (make test-cudasim).
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before Python starts (make test-cudasim)", allow_module_level=True)

from tapescan.scanner import explain
from tests.scanner_agreement import FILTERED


def test_gpu_funnel_is_the_cpu_funnel(scanner_store):
    store, _ = scanner_store
    quiet = {"on_diagnostic": lambda diagnostic: None}
    pd.testing.assert_frame_equal(explain(store, FILTERED, "2024-12-02", "11:00", backend="gpu", **quiet),
                                  explain(store, FILTERED, "2024-12-02", "11:00", backend="cpu", **quiet))
