"""Recycled panel arrays (tapescan/store/panel_arrays.py): a read into arrays handed back by an earlier panel is
exactly a fresh read (nothing of the earlier session shows through), views are never taken for reuse, and the
rows asked for must be distinct."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tapescan.errors import StoreError
from tapescan.store import Store
from tapescan.store.panel_arrays import PanelArrays, empty_arrays
from tapescan.synth import write_synthetic_market
from tests.test_panel_cache import FIELDS, assert_same_panel


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Store:
    store = Store.create(tmp_path_factory.mktemp("arrays") / "store")
    write_synthetic_market(store, 12, "2024-11-25", "2024-11-29", seed=7)  # the 29th closes early: fewer minutes
    return Store(store.path, use_cache=False)


def test_a_read_into_recycled_arrays_is_a_fresh_read(market):
    days = market.sessions()
    symbols = list(market.read_session(days[0]).symbols)
    rows = [symbols[5], "NOSUCH", *symbols[:5]]  # a row with no bars stays empty in recycled arrays
    arrays = PanelArrays()
    for without_open in (True, False):
        for day in days + days[::-1]:
            panel = market.read_session(day, rows, without_open=without_open, arrays=arrays)
            assert_same_panel(panel, market.read_session(day, rows), FIELDS[1:] if without_open else FIELDS)
            assert (panel.open is None) == without_open
            arrays.give_back(panel.arrays())
            del panel


def test_handed_back_arrays_are_reused_for_the_same_shape_only(market):
    day = market.sessions()[0]
    arrays = PanelArrays()
    first = market.read_session(day, arrays=arrays)
    high = first.high
    arrays.give_back(first.arrays())
    assert market.read_session(day, arrays=arrays).high is high
    assert market.read_session(day, arrays=arrays).high is not high  # handed out once, until given back again
    other = arrays.take((first.shape[0] + 1, first.shape[1]))
    assert other["high"] is not high and np.isnan(other["high"]).all() and not other["mask"].any()


def test_views_are_not_taken_for_reuse(market):
    day = market.sessions()[0]
    arrays = PanelArrays()
    panel = market.read_session(day)
    view = type(panel)(panel.date, panel.symbols, panel.minutes, panel.open, panel.high[:, :],
                       panel.low, panel.close, panel.volume, panel.mask)
    arrays.give_back(view.arrays())
    assert arrays.take(panel.shape)["low"] is not panel.low


def test_empty_arrays_are_absent_cells():
    arrays = empty_arrays((2, 3), without_open=True)
    assert set(arrays) == {"high", "low", "close", "volume", "mask"}
    assert all(np.isnan(arrays[name]).all() for name in ("high", "low", "close"))
    assert arrays["volume"].dtype == np.int64 and not arrays["volume"].any()
    assert arrays["mask"].dtype == bool and not arrays["mask"].any()


def test_a_symbol_asked_for_twice_is_named(market):
    day = market.sessions()[0]
    symbol = market.read_session(day).symbols[2]
    cached = Store(market.path)
    cached.build_cache(day, day)
    try:
        for store in (market, cached):
            with pytest.raises(StoreError, match=f"name {symbol} more than once"):
                store.read_session(day, [symbol, "X", symbol])
        with pytest.raises(StoreError, match=f"name {symbol} more than once"):
            cached.read_cached_session(day, [symbol, symbol])
    finally:
        cached.cache.clear()


@pytest.mark.parametrize("preset", [None, "ACTIVE"])
def test_openmp_idle_threads_sleep_unless_the_user_says_otherwise(preset):
    env = {"PATH": "/usr/bin:/bin"} | ({"OMP_WAIT_POLICY": preset} if preset else {})
    code = "import os, tapescan; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == (preset or "PASSIVE")
