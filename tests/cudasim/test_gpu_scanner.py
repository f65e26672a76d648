"""The scanner on the GPU path (numba CUDA simulator) agrees row for row with the oracle scanner, and the
sweep's device panels give exactly the CPU sweep.

Run as its own process with NUMBA_ENABLE_CUDASIM=1 (make test-cudasim).
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before Python starts (make test-cudasim)", allow_module_level=True)

from tapescan import ScannerConfig, sweep
from tapescan.store import Store
from tests.scanner_agreement import FILTERED, SWEEP, assert_scans_agree, assert_sweep_agrees
from tests.scanner_market import scanner_market


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> tuple[Store, dict]:
    store = Store.create(tmp_path_factory.mktemp("oracle") / "store")
    return store, scanner_market(store)


def test_gpu_sweep_and_first_hit_sweep_agree_with_the_oracle(market):
    assert_sweep_agrees(*market, backend="gpu")


def test_gpu_scans_agree_with_the_oracle_at_edge_moments(market):
    assert_scans_agree(*market, backend="gpu")


def test_gpu_sweep_is_identical_to_the_cpu_sweep(market):
    store, _ = market
    config = ScannerConfig.model_validate(FILTERED | {"interval_minutes": 1})
    pd.testing.assert_frame_equal(sweep(store, config, *SWEEP, backend="gpu"),
                                  sweep(store, config, *SWEEP, backend="cpu"), check_exact=True)
