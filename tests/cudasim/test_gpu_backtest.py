"""The GPU simulator (a thread per lane, `per_symbol` accounts) under the numba CUDA simulator gives exactly the
CPU driver's trades, orders, equity and statistics.

Run as its own process with NUMBA_ENABLE_CUDASIM=1 (make test-cudasim); small inputs, 4 threads per block so
that several blocks run.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before Python starts (make test-cudasim)", allow_module_level=True)

import tapescan
from tapescan.analytics.drivers import CPU, GPU
from tapescan.synth import write_synthetic_market

SETTINGS = [
    {"stop_loss_pct": 0.3, "take_profit_pct": 0.4, "fee_per_order": 1.0, "slippage_pct": 0.01},
    {"fill": "close", "trailing_stop_pct": 0.2, "direction": "both", "value": 5000.0},
    {"max_minutes": 7, "direction": "short", "percent_equity": 50.0, "flat_at_close": False, "fee_pct": 0.05},
    {"entry_start": "10:00", "entry_end": "11:00", "init_cash": 3000.0, "shares": 50},
]


@pytest.fixture(autouse=True)
def _several_blocks(monkeypatch):
    monkeypatch.setattr("tapescan.gpu.backtest.THREADS_PER_BLOCK", 4)


def _market(symbols: int = 5, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Random-walk bars of `symbols` over two sessions (one an early close), with absent minutes, and random
    signals."""
    rng = np.random.default_rng(seed)
    frames = []
    for day in ("2024-11-27", "2024-11-29"):
        starts = pd.Series(tapescan.calendar.session_minutes(day))
        for i in range(symbols):
            keep = rng.random(len(starts)) < 0.8
            close = 50 + np.cumsum(rng.normal(0, 0.05, keep.sum()))
            frames.append(pd.DataFrame({"symbol": f"S{i}", "ts": starts[keep].to_numpy(), "open": close + 0.01,
                                        "high": close + rng.random(keep.sum()) * 0.1, "low": close - 0.1,
                                        "close": close, "volume": 100.0}))
    bars = pd.concat(frames, ignore_index=True)
    signals = rng.random((3, len(bars))) < 0.04
    return bars, signals[0], signals[1], signals[2]


def _assert_same(gpu: tapescan.BacktestResult, cpu: tapescan.BacktestResult) -> None:
    pd.testing.assert_frame_equal(gpu.trades, cpu.trades, check_exact=True)
    pd.testing.assert_frame_equal(gpu.orders, cpu.orders, check_exact=True)
    pd.testing.assert_frame_equal(gpu.equity, cpu.equity, check_exact=True)
    pd.testing.assert_frame_equal(gpu.symbol_stats, cpu.symbol_stats, check_exact=True)
    assert gpu.stats == pytest.approx(cpu.stats, rel=0, abs=0, nan_ok=True)


@pytest.mark.parametrize("settings", SETTINGS)
def test_gpu_simulate_is_identical_to_the_cpu(settings):
    bars, entries, exits, shorts = _market()
    runs = [tapescan.simulate(bars, entries, exits, shorts, exits, backend=drivers, **settings)
            for drivers in (GPU, CPU)]
    assert len(runs[1].trades) > 3
    _assert_same(*runs)


def test_gpu_backtest_of_a_builtin_strategy_is_identical_to_the_cpu(tmp_path):
    store = tapescan.Store.create(tmp_path / "store")
    write_synthetic_market(store, 6, "2024-03-07", "2024-03-12", seed=2)
    strategy = {"strategy": "ema_cross", "params": {"fast": 3, "slow": 8}, "warmup_sessions": 1,
                "stops": {"trailing_stop_pct": 0.5}, "direction": "both"}
    runs = [tapescan.backtest(strategy, store, "2024-03-08", "2024-03-12", backend=drivers) for drivers in (GPU, CPU)]
    assert len(runs[1].trades) > 3
    _assert_same(*runs)
