"""Stored bars as the CPU scan walks them (tapescan/store/session_bars.py): they are the bars of the dense panel,
the scan of them is the scan of the panel on every cell, their runs are found only where a partition is sorted by
(symbol, ts), and a partition that is not is read as a dense panel with the same sweep results."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from tapescan import sweep
from tapescan.analytics.scan import TodWindow, scan_cells
from tapescan.analytics.volume import clock_volume
from tapescan.calendar import NS_PER_MINUTE
from tapescan.cpu_fallback.place import find_runs
from tapescan.errors import StoreError
from tapescan.kernels.scan import BOUND_COLUMNS, INTRADAY_FILTERS
from tapescan.scanner import ScannerConfig
from tapescan.store import SessionPanel, Store
from tapescan.store.integrity import write_parquet
from tapescan.store.manifest import load_manifest, save_manifest
from tapescan.store.session_bars import SessionBars
from tapescan.synth import write_synthetic_market
from tests.test_panel_cache import FIELDS, SWEEP, assert_same_panel

WITHOUT_OPEN = FIELDS[1:]


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Store:
    """Pre- and post-market bars around each session (they have no panel cell); the 29th closes early."""
    store = Store.create(tmp_path_factory.mktemp("bars") / "store")
    write_synthetic_market(store, 12, "2024-11-25", "2024-11-29", seed=7, extended_hours=True)
    return Store(store.path, use_cache=False)


def row_choices(market: Store, day) -> list[list[str]]:
    """Every stored symbol; some in another order with one that has no bars; a single one (a filtered read)."""
    symbols = list(market.read_session(day).symbols)
    return [symbols, [symbols[5], "NOSUCH", *symbols[:5]], [symbols[3]]]


def test_stored_bars_are_the_bars_of_the_dense_panel(market):
    for day in market.sessions():
        for rows in row_choices(market, day):
            bars = market.read_for_scan(day, rows)
            assert isinstance(bars, SessionBars) and bars.shape == (len(rows), len(bars.minutes))
            assert_same_panel(bars.to_panel(), market.read_session(day, rows, without_open=True), WITHOUT_OPEN)


def test_clock_volumes_of_bars_read_without_prices_are_those_of_the_panel(market):
    for day in market.sessions():
        for rows in row_choices(market, day):
            volumes = market.read_for_scan(day, rows, volume_only=True)
            assert volumes.high is None and volumes.close is None
            ours, dense = (clock_volume(form, "cpu") for form in (volumes, market.read_session(day, rows)))
            assert np.array_equal(ours[0], dense[0]) and np.array_equal(ours[1], dense[1])
            assert dense[1].any()
            with pytest.raises(ValueError, match="volumes only"):
                volumes.to_panel()


def scan_both(market: Store, day, rows: list[str], rng: np.random.Generator, first_hit: bool):
    """scan_cells of the stored bars and of the dense panel, with random eligibility, previous closes and
    time-of-day sums, at every minute of the session and beyond its close."""
    bars, panel = market.read_for_scan(day, rows), market.read_session(day, rows, without_open=True)
    times = panel.minutes.append(panel.minutes[-1:] + np.timedelta64(5 * NS_PER_MINUTE, "ns"))
    eligible = rng.random(len(rows)) < 0.8
    prev_close = np.fmax.reduce(panel.close, axis=1) * rng.uniform(0.97, 1.03, len(rows))  # NaN: no bars
    tod = TodWindow(len(rows), 3)
    tod.total[:] = np.cumsum(rng.integers(0, 4000, tod.total.shape), axis=1)
    tod.present[:] = np.where(rng.random(len(rows)) < 0.8, 3, 2)
    bounds = np.full((len(INTRADAY_FILTERS), len(BOUND_COLUMNS)), np.nan)
    bounds[:, 0] = 1.0
    bounds[0, 1:] = (-2.0, 2.0)  # change_pct
    bounds[1, 1] = 0.2  # range_pct
    bounds[2, 1] = 0.5  # rel_volume
    return [scan_cells(form, times, eligible, prev_close, tod, bounds, first_hit, "cpu") for form in (bars, panel)]


@pytest.mark.parametrize("first_hit", [False, True])
def test_the_scan_of_stored_bars_is_the_scan_of_the_panel(market, first_hit):
    rng = np.random.default_rng(11)
    passes = 0
    for day in market.sessions():
        for rows in row_choices(market, day):
            ours, dense = scan_both(market, day, rows, rng, first_hit)
            assert np.array_equal(ours.passed, dense.passed)
            assert np.array_equal(ours.values[:, ours.passed], dense.values[:, dense.passed], equal_nan=True)
            assert np.array_equal(ours.clock_volume, dense.clock_volume)
            assert np.array_equal(ours.traded, dense.traded)
            passes += int(ours.passed.sum())
    assert passes  # the bounds let some cells pass


def runs(codes, minutes, lookup=(0, 1, -1), width=390):
    """find_runs over one run of codes, bar i starting minutes[i] minutes after the panel's start."""
    first, end = np.full(2, -1, np.int64), np.zeros(2, np.int64)
    minute = np.full(len(codes), -9, np.int64)
    ts = np.asarray(minutes, np.int64) * NS_PER_MINUTE
    found = find_runs(np.asarray(lookup, np.int32), np.asarray(codes, np.int32), ts, 0, 0, width, minute, first,
                      end)
    return found, first, end, minute


def test_runs_are_found_in_a_sorted_partition():
    # row 0's bars, a symbol that is not a row, then row 1's bars with a pre- and a post-market bar
    found, first, end, minute = runs([0, 0, 2, 1, 1, 1, 1], [0, 5, 3, -30, 2, 389, 400])
    assert found
    assert first.tolist() == [0, 4] and end.tolist() == [2, 6]
    assert minute[[0, 1, 4, 5]].tolist() == [0, 5, 2, 389]


@pytest.mark.parametrize(("codes", "minutes"), [
    ([0, 1, 0], [1, 1, 2]),  # row 0's bars split by row 1's
    ([0, 2, 0], [1, 1, 2]),  # ... or by a symbol that is not a row
    ([0, 0], [5, 4]),  # minutes going back
    ([0, 0], [5, 5]),  # the same minute twice
])
def test_runs_are_refused_out_of_order(codes, minutes):
    assert not runs(codes, minutes)[0]


def test_an_unsorted_partition_is_read_as_a_panel_with_the_same_sweep(tmp_path):
    store = Store.create(tmp_path / "store")
    write_synthetic_market(store, 8, "2024-11-20", "2024-12-03", seed=4)
    store = Store(store.path, use_cache=False)
    config = ScannerConfig.model_validate(SWEEP)
    days = store.sessions()
    before = sweep(store, config, days[0], days[-1], backend="cpu")
    manifest = load_manifest(store.path)
    day = days[-1]
    entry = manifest.bars_1m[day.isoformat()]
    table = pq.read_table(store.path / entry.file)
    write_parquet(store.path, entry, table.take(np.random.default_rng(3).permutation(table.num_rows)))
    save_manifest(store.path, manifest)

    rows = list(store.read_session(day).symbols)
    for volume_only in (False, True):
        read = store.read_for_scan(day, rows, volume_only)
        assert isinstance(read, SessionPanel)
        assert_same_panel(read, store.read_session(day, rows, without_open=True), WITHOUT_OPEN)
    assert len(before) and sweep(store, config, days[0], days[-1], backend="cpu").equals(before)


def test_a_symbol_asked_for_twice_is_named(market):
    day = market.sessions()[0]
    symbol = market.read_session(day).symbols[2]
    cached = Store(market.path)
    cached.build_cache(day, day)
    try:
        for store in (market, cached):
            for read in (store.read_session, store.read_for_scan):
                with pytest.raises(StoreError, match=f"name {symbol} more than once"):
                    read(day, [symbol, "X", symbol])
        with pytest.raises(StoreError, match=f"name {symbol} more than once"):
            cached.read_cached_session(day, [symbol, symbol])
    finally:
        cached.cache.clear()
