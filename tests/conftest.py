"""Shared fixtures: small stores and bar tables built in the tests themselves.

numba's on-disk cache is keyed by the file of the compiled driver only, not by the files of the kernels it
inlines (tapescan/kernels/): a suite reusing an old cache could test stale code. Each test run therefore
compiles into a fresh cache folder, set before numba is first imported (worker processes inherit it).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

if "NUMBA_CACHE_DIR" not in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="tapescan-test-numba-")
    atexit.register(shutil.rmtree, os.environ["NUMBA_CACHE_DIR"], True)

import numpy as np
import pandas as pd
import pytest

from tapescan.store import Store


def make_bars(symbol: str, day: str, minutes: list[int], base: float = 10.0, start: str = "09:30") -> pd.DataFrame:
    """Well-formed 1-minute bars of one symbol at the given minute offsets from `start` on `day` (ET)."""
    ts = pd.Timestamp(f"{day} {start}", tz="America/New_York") + pd.to_timedelta(minutes, unit="min")
    price = base * (1 + 0.0001 * np.asarray(minutes, dtype=float))
    return pd.DataFrame({
        "symbol": symbol,
        "ts": ts,
        "open": price,
        "high": price * 1.005,
        "low": price * 0.995,
        "close": price * 1.002,
        "volume": 100 + np.asarray(minutes, dtype=np.int64),
    })


@pytest.fixture
def store(tmp_path) -> Store:
    return Store.create(tmp_path / "store")


@pytest.fixture(scope="module")
def scanner_store(tmp_path_factory) -> tuple[Store, dict]:
    """The scanner test market in a fresh store, and what it holds (tests/scanner_market.py)."""
    from tests.scanner_market import scanner_market

    store = Store.create(tmp_path_factory.mktemp("scanner") / "store")
    return store, scanner_market(store)
