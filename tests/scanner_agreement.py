"""The scanner engine against the oracle scanner (tests/oracle_scanner.py, written from docs/spec/metrics.md), row for
row, on the scanner test market: a listing, a delisting, gaps, the Thanksgiving holiday and the early close.
Shared by the CPU suite and the simulator run (backend="gpu")."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from tapescan import ScannerConfig, scan, sweep
from tapescan.store import Store
from tests.oracle_scanner import oracle_scan, oracle_sweep

# Every filter block, loose enough that hits come and go during a session; short windows so that the
# listing (2024-11-19) gets defined trailing metrics inside the range. Point-in-time groups, exclusions.
FILTERED = {
    "start_time": "09:30", "end_time": "15:00", "interval_minutes": 30, "point_in_time": True,
    "symbols": ["ZZIPO", "ZZDLST", "MMM", "NOPE"], "symbols_group": ["NASDAQ100"], "exclude_symbols": ["MSFT"],
    "average_volume": {"min": 1, "days": 3}, "average_price": {"min": 1, "max": 5000, "days": 4},
    "standard_deviation": {"min": 0.05, "days": 5}, "beta": {"min": -20, "max": 20, "days": 5},
    "correlation": {"min": -1, "max": 1, "days": 5}, "relative_volume": {"min": 0.6, "max": 4, "days": 3},
    "current_price_change_percentage": {"min": -4, "max": 4}, "today_price_range_percentage": {"max": 3},
}
SWEEP = (dt.date(2024, 11, 25), dt.date(2024, 12, 2))  # the delisting's last session .. after the early close
# No filter at all: every stored symbol at every moment, defined or not (trailing metrics over 10 sessions).
MOMENTS = [(dt.date(2024, 11, 29), dt.time(9, 30)), (dt.date(2024, 11, 29), dt.time(9, 31)),
           (dt.date(2024, 11, 29), dt.time(13, 0)), (dt.date(2024, 11, 29), dt.time(15, 0)),
           (dt.date(2024, 11, 22), dt.time(16, 0)), (dt.date(2024, 11, 19), dt.time(10, 7))]


def assert_same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same rows in the same order; values equal to a relative 1e-9 (docs/spec/metrics.md), undefined in the same places."""
    assert list(got.columns) == list(want.columns)
    keys = ["date", "time", "symbol"]
    assert got[keys].astype(str).values.tolist() == want[keys].astype(str).values.tolist()
    assert got["session_volume"].isna().tolist() == want["session_volume"].isna().tolist()
    assert got["session_volume"].dropna().tolist() == want["session_volume"].dropna().tolist()
    for name in ["price", "change_pct", "range_pct", "avg_volume", "avg_price", "std_pct", "beta", "correlation",
                 "rel_volume"]:
        np.testing.assert_allclose(got[name].to_numpy(float), want[name].to_numpy(float), rtol=1e-9, atol=0,
                                   equal_nan=True, err_msg=name)


def assert_sweep_agrees(store: Store, market: dict, backend: str) -> None:
    config = ScannerConfig.model_validate(FILTERED)
    expected = oracle_sweep(market["bars"], config, *SWEEP, market["symbols"], store_root=store.path,
                            store_sessions=market["sessions"])
    got = sweep(store, config, *SWEEP, backend=backend)
    assert 0 < len(expected) < 0.8 * len(set(expected["symbol"])) * len(set(zip(expected["date"], expected["time"])))
    assert {"ZZDLST", "ZZIPO", "MMM"} <= set(expected["symbol"]) and "MSFT" not in set(expected["symbol"])
    assert_same_rows(got, expected)
    first = expected.groupby(["date", "symbol"], sort=False).head(1)
    first = first.sort_values(["date", "time", "symbol"], ignore_index=True)
    assert_same_rows(sweep(store, config, *SWEEP, first_hit=True, backend=backend), first)


def assert_scans_agree(store: Store, market: dict, backend: str) -> None:
    config = ScannerConfig.model_validate({})
    for day, moment in MOMENTS:
        expected = oracle_scan(market["bars"], config, day, moment, market["symbols"], store_root=store.path)
        assert len(expected) == len(market["symbols"])
        assert_same_rows(scan(store, config, day, moment, backend=backend), expected)
