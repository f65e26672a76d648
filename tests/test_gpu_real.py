"""On a machine with a usable NVIDIA GPU: the analytics run for real on it and agree exactly with the CPU.
Skipped elsewhere (the same check runs under the CUDA simulator in tests/cudasim on every machine)."""

from __future__ import annotations

import pytest

from tapescan.backend import resolve_backend
from tests.gpu_agreement import assert_gpu_equals_cpu_on_a_market

pytestmark = pytest.mark.gpu


def test_the_gpu_agrees_with_the_cpu_on_a_synthetic_market(store):
    resolution = resolve_backend("auto")
    if resolution.name != "gpu":
        pytest.skip(f"no usable GPU here: {resolution.reason}")
    assert_gpu_equals_cpu_on_a_market(store, symbols=300)


def test_the_gpu_simulator_agrees_with_the_cpu(store):
    """A built-in strategy with stops on a synthetic market: trades, orders, equity and stats bit for bit."""
    resolution = resolve_backend("auto")
    if resolution.name != "gpu":
        pytest.skip(f"no usable GPU here: {resolution.reason}")
    import pandas as pd

    import tapescan
    from tapescan.synth import write_synthetic_market

    write_synthetic_market(store, 200, "2024-03-04", "2024-03-15", seed=4)
    sessions = store.sessions()
    strategy = {"strategy": "ema_cross", "params": {"fast": 5, "slow": 20}, "direction": "both",
                "stops": {"stop_loss_pct": 0.5, "trailing_stop_pct": 0.4, "take_profit_pct": 1.0},
                "execution": {"slippage_pct": 0.01, "fee_pct": 0.01}, "size": {"percent_equity": 50}}
    gpu, cpu = (tapescan.backtest(strategy, store, sessions[1], sessions[-1], backend=name) for name in ("gpu", "cpu"))
    assert len(cpu.trades) > 100
    for name in ("trades", "orders", "equity", "symbol_stats"):
        pd.testing.assert_frame_equal(getattr(gpu, name), getattr(cpu, name), check_exact=True)
    assert gpu.stats == pytest.approx(cpu.stats, rel=0, abs=0, nan_ok=True)
