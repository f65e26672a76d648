"""The GPU data path under the numba CUDA simulator: a session read from the store and built on the device
equals the host reader's panel exactly; a rolling window reads each session once and keeps results equal.

Run as their own process with NUMBA_ENABLE_CUDASIM=1 (make test-cudasim); small stores.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before Python starts (make test-cudasim)", allow_module_level=True)

from hypothesis import HealthCheck, given, settings

from tapescan import calendar
from tapescan.analytics import SessionWindow, cumulative_intraday, tod_average_volume_before
from tapescan.gpu.panels import FIELDS, DevicePanel, load_session
from tapescan.store import Store
from tapescan.synth import write_synthetic_market
from tests import fake_cudf
from tests.session_panels import panel_bars, panels

DAYS = ("2024-11-22", "2024-12-03")  # includes the 2024-11-29 early close and the Thanksgiving holiday


def assert_same_panel(got, want) -> None:
    assert got.date == want.date
    assert list(got.symbols) == list(want.symbols)
    assert got.minutes.equals(want.minutes)
    for name in FIELDS:
        assert getattr(got, name).dtype == getattr(want, name).dtype, name
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Store:
    """A small synthetic market with extended-hours bars (which a regular panel leaves out), a listing and a
    delisting."""
    store = Store.create(tmp_path_factory.mktemp("market") / "store")
    write_synthetic_market(store, 6, *DAYS, seed=5, extended_hours=True)
    return store


def test_a_session_built_on_the_device_equals_the_host_reader(market):
    for day in market.sessions()[::3]:
        assert_same_panel(load_session(market, day, threads=8).to_host(), market.read_session(day))


def test_a_subset_keeps_the_requested_order_and_an_unknown_symbol_stays_empty(market):
    day = market.sessions()[-1]
    wanted = ["ZZDLST", "NOSUCH", *list(market.read_session(day).symbols[:2])]
    got = load_session(market, day, wanted, threads=8).to_host()
    assert_same_panel(got, market.read_session(day, wanted))
    assert not got.mask[1].any()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(panel=panels(max_symbols=4))
def test_random_panels_round_trip_through_the_device_loader(tmp_path_factory, panel):
    if not panel.mask.any():
        return
    store = Store.create(tmp_path_factory.mktemp("random") / "store")
    store.write_bars(panel_bars(panel), adjustment="unadjusted", source="test")
    assert_same_panel(load_session(store, panel.date, list(panel.symbols), threads=8).to_host(),
                      store.read_session(panel.date, list(panel.symbols)))


def test_the_cudf_reader_path_builds_the_same_panel(market, monkeypatch):
    monkeypatch.setitem(sys.modules, "cudf", fake_cudf)
    day = market.sessions()[4]
    assert_same_panel(load_session(market, day, threads=8).to_host(), market.read_session(day))
    assert fake_cudf.reads, "load_session did not go through cudf.read_parquet"


def test_a_device_panel_copied_from_the_host_comes_back_unchanged(market):
    panel = market.read_session(market.sessions()[2])
    assert_same_panel(DevicePanel.from_host(panel).to_host(), panel)


def test_the_window_reads_each_session_once_while_sweeping_and_forgets_the_oldest(market):
    window = SessionWindow(market, capacity=3, backend="gpu")
    sessions = market.sessions()
    for i in range(3, len(sessions)):
        for trailing in sessions[i - 3 : i]:
            assert isinstance(window.panel(trailing), DevicePanel)
    assert window.reads == len(sessions) - 1  # every session before the last, once
    assert window.resident == sessions[-4:-1]


def test_analytics_on_resident_device_panels_equal_the_cpu_path(market):
    on_gpu = SessionWindow(market, capacity=4, backend="gpu")
    on_cpu = SessionWindow(market, capacity=4, backend="cpu")
    assert on_gpu.symbols == on_cpu.symbols == list(market.symbols()["symbol"])
    day = market.sessions()[-1]
    np.testing.assert_array_equal(tod_average_volume_before(on_gpu, day, 3),
                                  tod_average_volume_before(on_cpu, day, 3))
    assert on_gpu.reads == 3
    panel = on_gpu.panel(calendar.previous_session(day))
    for name in ("volume", "high", "low", "last", "bars"):
        np.testing.assert_array_equal(getattr(cumulative_intraday(panel, "gpu"), name),
                                      getattr(cumulative_intraday(panel, "cpu"), name))
    assert on_gpu.reads == 3  # the panel was resident


def test_a_window_over_sessions_the_store_lacks_is_undefined(market):
    window = SessionWindow(market, capacity=3, backend="gpu")
    first = pd.Timestamp(DAYS[0]).date()
    assert np.isnan(tod_average_volume_before(window, first, 3)).all()
    assert window.reads == 0
