"""The store: exact round trips, daily values against the oracle, merge rules, refusals, crash safety."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapescan.errors import StoreError
from tapescan.store import Store, integrity
from tapescan.store.lock import writer_lock
from tests import oracles
from tests.conftest import make_bars

# A normal day, an early close (13:00) and the day after a holiday.
DAYS = ["2024-11-27", "2024-11-29", "2024-12-02"]
SYMBOLS = ["AAA", "BB", "C.D", "ZZZZZ"]


@st.composite
def bar_tables(draw) -> pd.DataFrame:
    """Random well-formed bars: random symbols, days and minutes, extended-hours bars included."""
    parts = []
    for symbol in draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True)):
        for day in draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True)):
            minutes = draw(st.lists(st.integers(-330, 600), min_size=1, max_size=30, unique=True))
            frame = make_bars(symbol, day, sorted(minutes), base=draw(st.floats(0.01, 5000)))
            frame["volume"] = draw(st.integers(0, 10**9))
            parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def stored_bars(store: Store, symbol: str) -> pd.DataFrame:
    frame = store.read_bars(symbol, DAYS[0], DAYS[-1], extended_hours=True)
    return frame[["ts", "open", "high", "low", "close", "volume"]]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bars=bar_tables())
def test_round_trip_is_exact_and_daily_values_match_the_oracle(tmp_path_factory, bars):
    store = Store.create(tmp_path_factory.mktemp("s") / "store")
    shuffled = bars.sample(frac=1.0, random_state=1)  # writers sort; input order must not matter
    store.write_bars(shuffled, adjustment="unadjusted", source="test")
    for symbol, expected in bars.groupby("symbol"):
        expected = expected.sort_values("ts").drop(columns="symbol").reset_index(drop=True)
        got = stored_bars(store, symbol).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=True)
    daily = store.read_daily(DAYS[0], DAYS[-1])
    oracle = oracles.daily_values(bars)
    assert len(daily) == len(oracle)
    if len(oracle):
        pd.testing.assert_frame_equal(daily.reset_index(drop=True), oracle, check_dtype=False, rtol=1e-12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bars=bar_tables())
def test_dense_session_puts_every_regular_bar_in_its_cell(tmp_path_factory, bars):
    store = Store.create(tmp_path_factory.mktemp("s") / "store")
    store.write_bars(bars, adjustment="unadjusted", source="test")
    regular = oracles.regular_session_bars(bars)
    for day in store.sessions():
        panel = store.read_session(day)
        todays = regular[regular["ts"].dt.date == day]
        assert panel.mask.sum() == len(todays)
        assert list(panel.symbols) == sorted(todays["symbol"].unique())
        for row in todays.itertuples():
            i = list(panel.symbols).index(row.symbol)
            j = panel.minutes.get_loc(row.ts)
            assert panel.mask[i, j]
            assert (panel.open[i, j], panel.high[i, j], panel.low[i, j], panel.close[i, j]) == (
                row.open, row.high, row.low, row.close)
            assert panel.volume[i, j] == row.volume
        assert np.isnan(panel.close[~panel.mask]).all() and (panel.volume[~panel.mask] == 0).all()


def test_dense_session_shapes_and_symbol_selection(store):
    bars = pd.concat([make_bars("AAA", "2024-11-29", [0, 1, 209]), make_bars("BBB", "2024-11-29", [5, -60, 240])])
    store.write_bars(bars, adjustment="unadjusted", source="test")
    panel = store.read_session("2024-11-29")
    assert panel.shape == (2, 210)  # early close: 09:30-13:00
    assert panel.minutes[0] == pd.Timestamp("2024-11-29 09:30", tz="America/New_York")
    assert panel.mask.sum() == 4  # BBB's 08:30 and 13:30 bars are extended hours
    chosen = store.read_session("2024-11-29", symbols=["BBB", "NOPE", "AAA"])
    assert list(chosen.symbols) == ["BBB", "NOPE", "AAA"]
    assert chosen.mask.sum(axis=1).tolist() == [1, 0, 3]
    nothing = store.read_session("2024-11-29", symbols=[])
    assert nothing.shape == (0, 210) and list(nothing.symbols) == []
    extended = store.read_session("2024-11-29", extended_hours=True)
    assert extended.minutes[0] == pd.Timestamp("2024-11-29 04:00", tz="America/New_York")
    assert extended.minutes[-1] == pd.Timestamp("2024-11-29 19:59", tz="America/New_York")
    assert extended.mask.sum() == 6


def test_selecting_a_few_symbols_reads_the_same_rows_as_the_full_panel(store, monkeypatch):
    bars = pd.concat([make_bars(f"S{i:02d}", DAYS[1], list(range(-30, 240))[i % 3:], base=1 + i) for i in range(60)])
    store.write_bars(bars, adjustment="unadjusted", source="test")
    full = store.read_session(DAYS[1], extended_hours=True)
    filters_used = []
    original = integrity.pq.read_table
    monkeypatch.setattr(integrity.pq, "read_table", lambda *a, **k: filters_used.append(k["filters"]) or original(*a, **k))
    wanted = ["S41", "S07", "MISSING"]  # few enough that the reader prunes row groups by symbol
    part = store.read_session(DAYS[1], symbols=wanted, extended_hours=True)
    assert filters_used == [[("symbol", "in", wanted)]]
    for i, symbol in enumerate(wanted):
        if symbol not in full.symbols:
            assert not part.mask[i].any()
            continue
        j = list(full.symbols).index(symbol)
        assert (part.mask[i] == full.mask[j]).all() and (part.volume[i] == full.volume[j]).all()
        np.testing.assert_array_equal(part.close[i], full.close[j])


def test_rewriting_identical_bars_changes_nothing(store):
    bars = pd.concat([make_bars("AAA", d, list(range(0, 390, 7))) for d in DAYS])
    store.write_bars(bars, adjustment="split_dividend", source="test")
    manifest_before = (store.path / "manifest.json").read_text()
    report = store.write_bars(bars, adjustment="split_dividend", source="test")
    assert report.sessions_written == 0 and report.bars_unchanged == len(bars)
    assert (store.path / "manifest.json").read_text() == manifest_before


def test_writing_symbol_by_symbol_equals_one_big_write(tmp_path):
    per_symbol = {s: pd.concat([make_bars(s, d, list(range(0, 390, 3)), base=5 + i) for d in DAYS])
                  for i, s in enumerate(SYMBOLS)}
    one = Store.create(tmp_path / "one")
    one.write_bars(pd.concat(per_symbol.values()), adjustment="unadjusted", source="test")
    many = Store.create(tmp_path / "many")
    for frame in per_symbol.values():
        many.write_bars(frame, adjustment="unadjusted", source="test")
    for day in DAYS:
        a = pq.read_table(one.path / one.manifest().bars_1m[day].file)
        b = pq.read_table(many.path / many.manifest().bars_1m[day].file)
        assert a.equals(b)
    pd.testing.assert_frame_equal(one.read_daily(DAYS[0], DAYS[-1]), many.read_daily(DAYS[0], DAYS[-1]))
    pd.testing.assert_frame_equal(one.symbols().drop(columns=[]), many.symbols())


def test_conflicting_bars_are_refused_unless_replaced(store):
    bars = make_bars("AAA", DAYS[0], [0, 1, 2])
    store.write_bars(bars, adjustment="unadjusted", source="test")
    changed = bars.assign(close=bars["close"] + 0.01)
    with pytest.raises(StoreError, match="already holds different bars.*AAA"):
        store.write_bars(changed, adjustment="unadjusted", source="test")
    assert stored_bars(store, "AAA")["close"].tolist() == bars["close"].tolist()
    report = store.write_bars(changed.iloc[:2], adjustment="unadjusted", source="test", replace=True)
    assert report.symbols_replaced == 1
    assert stored_bars(store, "AAA")["close"].tolist() == changed["close"].iloc[:2].tolist()
    daily = store.read_daily(DAYS[0], DAYS[0])
    assert daily["bars"].tolist() == [2] and daily["close"].tolist() == [changed["close"].iloc[1]]
    symbols = store.symbols().set_index("symbol")
    assert symbols.loc["AAA", "bars"] == 2 and symbols.loc["AAA", "sessions"] == 1


def test_symbols_table_tracks_sessions_and_bars(store):
    store.write_bars(make_bars("AAA", DAYS[1], [0, 1]), adjustment="unadjusted", source="vendor-x",
                     attributes={"AAA": {"delisted": "true"}})
    store.write_bars(pd.concat([make_bars("AAA", DAYS[0], [0]), make_bars("AAA", DAYS[2], [-10, 5])]),
                     adjustment="unadjusted", source="vendor-x")
    row = store.symbols().set_index("symbol").loc["AAA"]
    assert (row["first_session"], row["last_session"]) == (pd.Timestamp(DAYS[0]).date(), pd.Timestamp(DAYS[2]).date())
    assert row["sessions"] == 3 and row["bars"] == 5
    assert json.loads(row["attributes"]) == {"delisted": "true"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.assign(ts=b["ts"].dt.tz_localize(None)), "time-zone-aware"),
        (lambda b: b.assign(ts=b["ts"] + pd.Timedelta(seconds=30)), "whole minute"),
        (lambda b: b.assign(low=b["high"] + 1), "not well-formed"),
        (lambda b: b.assign(open=0.0, low=0.0), "not well-formed"),
        (lambda b: b.assign(volume=-1), "not well-formed"),
        (lambda b: b.assign(ts=b["ts"] + pd.Timedelta(days=1)), "not NYSE sessions.*Thursday 2024-11-28"),
        (lambda b: pd.concat([b, b.iloc[:1]]), "repeat a \\(symbol, ts\\) pair"),
        (lambda b: b.drop(columns="volume"), "lack the column"),
        (lambda b: b.assign(close=np.nan), "missing value|not well-formed"),
        (lambda b: b.assign(open=np.nan), "missing value|not well-formed"),
        (lambda b: b.assign(high=np.inf), "not well-formed"),
    ],
)
def test_bad_bars_are_refused_with_a_reason_and_nothing_is_written(store, mutate, message):
    bars = make_bars("AAA", DAYS[0], [0, 1, 2])
    with pytest.raises(StoreError, match=message):
        store.write_bars(mutate(bars), adjustment="unadjusted", source="test")
    assert store.sessions() == []


def test_nan_prices_in_an_arrow_table_are_refused(store):
    bars = pa.Table.from_pandas(make_bars("AAA", DAYS[0], [0, 1]), preserve_index=False)
    bars = bars.set_column(bars.schema.get_field_index("open"), "open", pa.array([np.nan, 10.0], from_pandas=False))
    assert bars.column("open").null_count == 0  # a real NaN, not a null
    with pytest.raises(StoreError, match="not well-formed"):
        store.write_bars(bars, adjustment="unadjusted", source="test")


def test_mixing_adjustments_is_refused(store):
    store.write_bars(make_bars("AAA", DAYS[0], [0]), adjustment="split_dividend", source="test")
    with pytest.raises(StoreError, match="refusing to mix price adjustments.*AAA \\(split_dividend\\)"):
        store.write_bars(make_bars("AAA", DAYS[1], [0]), adjustment="unadjusted", source="test")
    with pytest.raises(StoreError, match="not one of"):
        store.write_bars(make_bars("BBB", DAYS[1], [0]), adjustment="adjusted-ish", source="test")


def test_a_second_writer_waits_then_gives_a_clear_error(store):
    with writer_lock(store.path):
        with pytest.raises(StoreError, match=f"pid {os.getpid()}.*wait for it to finish"):
            with writer_lock(store.path, wait_seconds=0.3):
                pass
    with writer_lock(store.path, wait_seconds=0.3):  # released: the next writer gets it at once
        pass


def test_opening_things_that_are_not_stores(tmp_path):
    with pytest.raises(StoreError, match="not a tapescan store"):
        Store(tmp_path)
    (tmp_path / "junk.txt").write_text("x")
    with pytest.raises(StoreError, match="not an empty folder"):
        Store.create(tmp_path)
    store = Store.create(tmp_path / "s")
    manifest = json.loads((store.path / "manifest.json").read_text())
    manifest["schema_version"] = 99
    (store.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="newer than this tapescan"):
        Store(store.path)


def test_reading_a_session_the_store_lacks_names_what_it_has(store):
    store.write_bars(make_bars("AAA", DAYS[0], [0]), adjustment="unadjusted", source="test")
    with pytest.raises(StoreError, match="no bars for the session 2024-12-02.*2024-11-27 to 2024-11-27"):
        store.read_session("2024-12-02")


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np, pandas as pd
    from tapescan.store import Store
    sys.path.insert(0, sys.argv[2])
    from tests.conftest import make_bars
    days = ["2024-11-27", "2024-11-29", "2024-12-02", "2024-12-03"]
    bars = pd.concat([make_bars(f"S{i:04d}", d, list(range(0, 210)), base=1 + i) for i in range(300) for d in days])
    print("ready", flush=True)
    Store(sys.argv[1]).write_bars(bars, adjustment="unadjusted", source="test", replace=True)
    print("done", flush=True)
    """
)


def snapshot(store: Store) -> dict:
    """Everything a reader can see, as comparable values."""
    manifest = store.manifest()
    sessions = {day: pq.read_table(store.path / entry.file).to_pandas() for day, entry in manifest.bars_1m.items()}
    return {
        "sessions": sessions,
        "daily": store.read_daily("2024-01-01", "2024-12-31"),
        "symbols": store.symbols(),
    }


def assert_same(a: dict, b: dict) -> None:
    assert a["sessions"].keys() == b["sessions"].keys()
    for day in a["sessions"]:
        pd.testing.assert_frame_equal(a["sessions"][day], b["sessions"][day])
    pd.testing.assert_frame_equal(a["daily"], b["daily"])
    pd.testing.assert_frame_equal(a["symbols"], b["symbols"])


def run_writer(path: Path, kill_after: float | None) -> float:
    """Run the writer in a process; SIGKILL it `kill_after` seconds into its write. Returns the write's seconds."""
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(Path(__file__).parents[1])],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    started = time.monotonic()
    if kill_after is None:
        assert process.wait(timeout=120) == 0
    else:
        time.sleep(kill_after)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    return time.monotonic() - started


@pytest.mark.slow
def test_a_writer_killed_mid_write_leaves_the_previous_store_intact(tmp_path):
    base = Store.create(tmp_path / "base")
    base.write_bars(make_bars("S0001", "2024-11-27", [0, 1, 2], base=99.0), adjustment="unadjusted", source="test")
    before = snapshot(base)
    finished = tmp_path / "finished"
    shutil.copytree(base.path, finished)
    write_seconds = run_writer(finished, kill_after=None)
    after = snapshot(Store(finished))
    outcomes = set()
    for fraction in (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95):
        victim = tmp_path / f"killed-{fraction}"
        shutil.copytree(base.path, victim)
        run_writer(victim, kill_after=fraction * write_seconds)
        state = snapshot(Store(victim))
        matches_after = state["sessions"].keys() == after["sessions"].keys() and len(state["daily"]) == len(after["daily"])
        assert_same(state, after if matches_after else before)
        outcomes.add("after" if matches_after else "before")
        # the next writer removes what the killed one left behind and then succeeds
        run_writer(victim, kill_after=None)
        assert_same(snapshot(Store(victim)), after)
        live = Store(victim).manifest().files()
        on_disk = {p.relative_to(victim).as_posix() for p in victim.rglob("*.parquet")}
        assert on_disk == live
    assert "before" in outcomes  # at least one kill really landed mid-write


def test_an_extended_panel_widens_to_a_bar_in_the_middle_of_the_file(store):
    """docs/STORE.md "Readers": extended-hours panels span 04:00-20:00 ET, widened to cover every stored bar, also
    one of a symbol in the middle of the (symbol, ts)-sorted file, not only the file's first or last row."""
    late = make_bars("BBB", "2024-01-03", [0, 1], start="21:30")
    early = make_bars("BBB", "2024-01-03", [0], start="03:15")
    bars = pd.concat([make_bars(symbol, "2024-01-03", [0, 1, 2]) for symbol in ("AAA", "BBB", "CCC")] + [late, early])
    store.write_bars(bars, adjustment="unadjusted", source="test")
    panel = store.read_session("2024-01-03", extended_hours=True)
    assert panel.minutes[0] == pd.Timestamp("2024-01-03 03:15", tz="America/New_York")
    assert panel.minutes[-1] == pd.Timestamp("2024-01-03 21:31", tz="America/New_York")
    row = list(panel.symbols).index("BBB")
    assert panel.mask[row].sum() == 3 + 2 + 1 and panel.mask.sum() == 9 + 3
