"""The panel cache (tapescan/store/panel_cache.py): a cached read is the store read, a write to the store
invalidates exactly the sessions it touched, the size cap evicts the least recently read sessions, damage falls
back to the store, and `tapescan cache build|info|clear` say what they did."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tapescan import sweep
from tapescan.cli.cache_cmd import parse_size
from tapescan.cli.main import app
from tapescan.scanner import ScannerConfig
from tapescan.store import Store
from tapescan.synth import write_synthetic_market
from tests.conftest import make_bars

FIELDS = ("open", "high", "low", "close", "volume", "mask")
SWEEP = {"market_scanner_config": {
    "start_time": "09:45", "end_time": "15:30", "interval_minutes": 15,
    "average_volume": {"min": 1, "days": 3}, "current_price_change_percentage": {"min": -50, "max": 50},
    "relative_volume": {"min": 0.1, "days": 3}}}


@pytest.fixture
def market(tmp_path) -> Store:
    store = Store.create(tmp_path / "store")
    write_synthetic_market(store, 10, "2024-11-20", "2024-12-03", seed=4)
    return store


def uncached(store: Store) -> Store:
    return Store(store.path, use_cache=False)


def assert_same_panel(got, expected, fields=FIELDS) -> None:
    assert list(got.symbols) == list(expected.symbols)
    assert got.minutes.equals(expected.minutes)
    for name in fields:
        ours, theirs = getattr(got, name), getattr(expected, name)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, name
        assert np.array_equal(ours, theirs, equal_nan=True), name


def test_a_cached_read_is_the_store_read(market):
    days = market.sessions()
    report = market.build_cache(days[0], days[-1])
    assert report.added == days and len(report.info.valid) == len(days)
    plain = uncached(market)
    symbols = list(plain.read_session(days[0]).symbols)
    for day in days:
        assert_same_panel(market.read_session(day), plain.read_session(day))
    subset = [symbols[3], "NOSUCH", symbols[0]]
    for rows in (subset, [], symbols[::-1], symbols):
        assert_same_panel(market.read_session(days[1], rows), plain.read_session(days[1], rows))
    panel = market.read_session(days[2])
    panel.close[0, 0] = -1.0  # a panel is the caller's to change: the cache must not see it
    assert_same_panel(market.read_session(days[2]), plain.read_session(days[2]))
    extended = market.read_session(days[0], extended_hours=True)  # extended hours always come from the store
    assert_same_panel(extended, plain.read_session(days[0], extended_hours=True))


def test_a_read_without_the_open_is_the_full_read_less_the_open(market):
    days = market.sessions()
    market.build_cache(days[0], days[0])
    symbols = list(uncached(market).read_session(days[0]).symbols)
    for store in (market, uncached(market)):  # from the cache, and from the Parquet file
        for day in days[:2]:
            for rows in (None, symbols[2:5] + ["NOSUCH"]):
                full = store.read_session(day, rows)
                lean = store.read_session(day, rows, without_open=True)
                assert lean.open is None
                assert_same_panel(lean, full, FIELDS[1:])


def test_a_write_invalidates_exactly_the_sessions_it_touched(market):
    days = market.sessions()
    config = ScannerConfig.model_validate(SWEEP)
    before = sweep(uncached(market), config, days[0], days[-1], backend="cpu")
    market.build_cache(days[0], days[-1])
    assert len(before) and sweep(market, config, days[0], days[-1], backend="cpu").equals(before)

    touched = [days[4], days[6]]
    symbol = before["symbol"].iloc[0]  # a symbol with hits, its bars of two sessions replaced by others
    new = pd.concat([make_bars(symbol, str(day), list(range(0, 390, 2)), base=20.0) for day in touched])
    market.write_bars(new, adjustment="unadjusted", source="test", replace=True)
    info = market.cache.info(market.manifest())
    assert sorted(entry.day for entry in info.stale) == touched
    assert [entry.day for entry in info.valid] == [day for day in days if day not in touched]
    for day in days:
        assert_same_panel(market.read_session(day), uncached(market).read_session(day))
    assert market.read_session(touched[0], [symbol]).close[0, 0] == new["close"].iloc[0]

    after = sweep(uncached(market), config, days[0], days[-1], backend="cpu")
    assert not after.equals(before)  # the write changed the result ...
    pd.testing.assert_frame_equal(sweep(market, config, days[0], days[-1], backend="cpu"), after)  # ... and the cache
    rebuilt = market.build_cache(days[0], days[-1])
    assert rebuilt.added == touched and rebuilt.removed_stale == 2 and not rebuilt.info.stale
    pd.testing.assert_frame_equal(sweep(market, config, days[0], days[-1], backend="cpu"), after)


def test_the_cap_evicts_the_least_recently_read_sessions(market):
    days = market.sessions()
    market.build_cache(days[0], days[2])
    one = max(entry.size for entry in market.cache.entries())
    for age, entry in enumerate(market.cache.entries()):  # days[0] read last, days[2] first
        os.utime(entry.path, (1_000_000 - age, 1_000_000 - age))
    report = market.build_cache(days[3], days[3], max_bytes=3 * one + one // 2)
    assert report.evicted == [days[2]]
    assert [entry.day for entry in report.info.valid] == [days[0], days[1], days[3]]
    assert market.cache.max_bytes() == 3 * one + one // 2  # kept for the next build
    report = market.build_cache(days[0], days[-1])  # more than fits: the asked-for sessions go last, latest kept
    assert [entry.day for entry in report.info.valid] == days[-3:]
    assert report.info.size <= market.cache.max_bytes()


def test_damage_and_a_changed_calendar_fall_back_to_the_store(market):
    days = market.sessions()
    market.build_cache(days[0], days[1])
    first, second = market.cache.entries()
    first.path.write_bytes(first.path.read_bytes()[:1000])  # truncated
    assert_same_panel(market.read_session(days[0]), uncached(market).read_session(days[0]))
    assert not first.path.exists()  # dropped; the next build makes it again

    moved = market.cache.path_for(market.manifest(), days[0])
    os.replace(second.path, moved)  # an entry whose minute axis is not the session's (another day's panel)
    assert_same_panel(market.read_session(days[0]), uncached(market).read_session(days[0]))
    assert not moved.exists()


def test_entries_get_the_usual_permissions(market):
    days = market.sessions()
    market.build_cache(days[0], days[0])
    umask = os.umask(0)
    os.umask(umask)
    (entry,) = market.cache.entries()
    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o666 & ~umask
    assert not [path for path in entry.path.parent.iterdir() if path.name.startswith(".")]  # no temporaries


runner = CliRunner()


def test_cache_commands_say_what_they_did(market):
    days = market.sessions()
    store = str(market.path)
    built = runner.invoke(app, ["cache", "build", "--store", store, "--start", str(days[2]), "--end", str(days[4])])
    assert built.exit_code == 0, built.output
    assert "cached 3 session(s), 0 already cached." in built.output
    assert f"3 session(s), {days[2]} to {days[4]}" in built.output
    info = runner.invoke(app, ["cache", "info", "--store", store])
    assert info.exit_code == 0 and "3 session(s)" in info.output and "34.36 GB" in info.output
    again = runner.invoke(app, ["cache", "build", "--store", store, "--max-size", "64GiB"])
    assert again.exit_code == 0 and f"cached {len(days) - 3} session(s), 3 already cached." in again.output
    assert json.loads((market.path / "cache" / "settings.json").read_text()) == {"max_bytes": 64 * 2**30}
    cleared = runner.invoke(app, ["cache", "clear", "--store", store, "--end", str(days[1])])
    assert cleared.exit_code == 0 and "removed 2 cached session file(s)" in cleared.output
    cleared = runner.invoke(app, ["cache", "clear", "--store", store])
    assert f"removed {len(days) - 2} cached session file(s)" in cleared.output
    assert market.cache.entries() == []


@pytest.mark.parametrize(("text", "expected"), [("32GB", 32 * 10**9), ("500MiB", 500 * 2**20), ("1.5T", 15 * 10**11),
                                                ("4096", 4096), (" 2 gib ", 2 * 2**30)])
def test_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["5x", "-1GB", "0", "GB", "1.2.3MB"])
def test_bad_sizes_are_refused_in_plain_words(market, text):
    result = runner.invoke(app, ["cache", "build", "--store", str(market.path), "--max-size", text])
    assert result.exit_code != 0
    assert "is not a size; write it as e.g. 32GB" in str(result.exception) + result.output
