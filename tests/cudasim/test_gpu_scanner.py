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
from tests.scanner_agreement import FILTERED, SWEEP, assert_scans_agree, assert_sweep_agrees


def test_gpu_sweep_and_first_hit_sweep_agree_with_the_oracle(scanner_store):
    assert_sweep_agrees(*scanner_store, backend="gpu")


def test_gpu_scans_agree_with_the_oracle_at_edge_moments(scanner_store):
    assert_scans_agree(*scanner_store, backend="gpu")


def test_gpu_sweep_is_identical_to_the_cpu_sweep(scanner_store):
    store, _ = scanner_store
    config = ScannerConfig.model_validate(FILTERED | {"interval_minutes": 1})
    pd.testing.assert_frame_equal(sweep(store, config, *SWEEP, backend="gpu"),
                                  sweep(store, config, *SWEEP, backend="cpu"), check_exact=True)


def test_a_gpu_sweep_from_the_panel_cache_is_identical_to_the_cpu_sweep(tmp_path, monkeypatch):
    """Cached sessions go to the device as whole host panels (not placed from Parquet columns there)."""
    import tapescan.gpu.panels
    from tapescan.store import Store
    from tests.scanner_market import scanner_market

    store = Store.create(tmp_path / "store")
    scanner_market(store)
    config = ScannerConfig.model_validate(FILTERED | {"interval_minutes": 1})
    expected = sweep(Store(store.path, use_cache=False), config, *SWEEP, backend="cpu")
    store.build_cache(store.sessions()[0], SWEEP[1])
    assert store.read_cached_session(SWEEP[1]) is not None
    monkeypatch.setattr(tapescan.gpu.panels, "read_columns", lambda *args: pytest.fail("read from Parquet"))
    pd.testing.assert_frame_equal(sweep(store, config, *SWEEP, backend="gpu"), expected, check_exact=True)
