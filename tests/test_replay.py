"""The stream coordinator's behaviour: session_data against the store and the oracles, gap fills by the
data-upkeep thread, the trailing history, pacing and the session timeout on an injected clock (no
sleeping), pause / resume / stop, and errors in either thread reported without a hang."""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import pandas as pd
import pytest

from tapescan.analytics import derived_panel
from tapescan.errors import TapescanError
from tapescan.store import Store
from tapescan.stream import FakeTime, ReplayConfig, StoreSource, SystemManager, SystemState
from tapescan.stream.queues import Items
from tests import oracles
from tests.conftest import make_bars

SYMBOLS = ["AAPL", "SPY", "ZZIPO", "ZZDLST"]


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Store:
    from tapescan.synth import write_synthetic_market

    store = Store.create(tmp_path_factory.mktemp("replay") / "store")
    write_synthetic_market(store, 12, "2024-11-22", "2024-12-03", seed=8)
    return store


def replay(store: Store, config: ReplayConfig, start: str, end: str, **options) -> SystemManager:
    system = SystemManager(store, config, start, end, time=options.pop("time", FakeTime()), **options)
    system.run()
    return system


def test_session_data_holds_every_window_bar_and_derived_bars_equal_the_oracle(market):
    config = ReplayConfig(symbols=SYMBOLS, derived_intervals=[5, 15], start_time="09:45", end_time="15:30")
    seen: list[int] = []
    system = SystemManager(market, config, "2024-11-29", "2024-11-29", time=FakeTime())
    system.subscribe(lambda data, advance: seen.append(int(data.mask.sum())))
    system.run()
    data = system.session_data
    panel = market.read_session("2024-11-29", SYMBOLS)
    window = (panel.minutes >= data.start) & (panel.minutes < data.end)
    np.testing.assert_array_equal(data.mask, panel.mask[:, window])
    np.testing.assert_array_equal(data.session_volume, panel.volume[:, window].sum(axis=1))
    assert seen == sorted(seen) and seen[-1] == panel.mask[:, window].sum()
    assert data.end == pd.Timestamp("2024-11-29 13:00", tz="America/New_York")  # the early close
    bars = pd.concat([market.read_bars(s, "2024-11-29", "2024-11-29").assign(symbol=s) for s in SYMBOLS])
    bars = bars[(bars["ts"] >= data.start) & (bars["ts"] < data.end)]
    for k in (5, 15):
        expected = oracles.derived_bars(bars, k)  # buckets from the open: the window starts on a 5/15 boundary
        derived = data.derived[k]
        assert derived.done.all()
        assert int((derived.bars > 0).sum()) == len(expected)
        got = {(config.symbols[r], int(b)): derived.volume[r, b] for r, b in zip(*np.nonzero(derived.bars > 0))}
        for row in expected.itertuples():
            bucket = (row.ts - data.start) // pd.Timedelta(minutes=k)
            assert got[(row.symbol, bucket)] == row.volume
    assert not system.stream_coordinator_timer_expired


class LossySource(StoreSource):
    """The store's bars, with every seventh 1-minute bar lost from the stream (the store still has them)."""

    def session_items(self, *args, **kwargs) -> dict[str, Items]:
        items = super().session_items(*args, **kwargs)
        kept = np.flatnonzero(np.arange(len(items["1m"])) % 7 != 3)
        return {**items, "1m": items["1m"].take(kept)}


def test_the_upkeep_thread_fills_bars_lost_from_the_stream(market):
    config = ReplayConfig(symbols=SYMBOLS, derived_intervals=[5])
    system = replay(market, config, "2024-12-02", "2024-12-02", source=LossySource(market))
    data = system.session_data
    panel = market.read_session("2024-12-02", SYMBOLS)
    np.testing.assert_array_equal(data.mask[:, :-1], panel.mask[:, :-1])  # all but the last minute's check
    expected = derived_panel(panel, 5, backend="cpu")
    done = data.derived[5].done
    np.testing.assert_array_equal(data.derived[5].volume[:, done], expected.volume[:, done])
    full = panel.mask.all(axis=1)
    assert (data.bar_quality(data.end.value)[full] >= 100 * (389 / 390)).all()


def test_the_trailing_history_rolls_from_session_to_session(market):
    config = ReplayConfig(symbols=["AAPL", "SPY"], derived_intervals=[], historical_bars_trailing_days=2,
                          historical_bars_types=[1, 5])
    histories = {}
    system = SystemManager(market, config, "2024-11-26", "2024-11-29", time=FakeTime())
    system.subscribe(lambda data, advance: histories.setdefault(data.date, data.history))
    system.run()
    for day, history in histories.items():
        before = [d for d in market.sessions() if d < day][-2:]
        for k, frames in history.items():
            assert len(frames) == 2
            for frame, past in zip(frames, before):
                panel = market.read_session(past, ["AAPL", "SPY"])
                bars = panel if k == 1 else derived_panel(panel, k, backend="cpu")
                assert len(frame) == bars.mask.sum() and frame["volume"].sum() == bars.volume.sum()


def test_clock_driven_replay_is_paced_on_the_injected_clock(market):
    clock = FakeTime()
    config = ReplayConfig(symbols=["SPY"], derived_intervals=[], speed=60, start_time="10:00", end_time="11:00")
    system = replay(market, config, "2024-12-02", "2024-12-02", time=clock)
    assert system.coordinator.advances == 60
    assert clock.slept == pytest.approx(60.0, abs=0.1)  # an hour of session at 60x: a minute of wall time
    fast = FakeTime()
    replay(market, config.model_copy(update={"speed": 0.0}), "2024-12-02", "2024-12-02", time=fast)
    assert fast.slept == 0


def test_data_that_ends_early_expires_the_timeout_and_the_next_session_still_runs(tmp_path):
    store = Store.create(tmp_path / "store")
    bars = pd.concat([make_bars("EARLY", "2024-12-02", list(range(0, 120))),
                      make_bars("EARLY", "2024-12-03", list(range(0, 390)))])
    store.write_bars(bars, adjustment="unadjusted", source="test")
    clock = FakeTime()
    config = ReplayConfig(symbols=["EARLY"], derived_intervals=[], session_timeout_seconds=45)
    system = replay(store, config, "2024-12-02", "2024-12-03", time=clock)
    assert system.stream_coordinator_timer_expired
    assert clock.slept == pytest.approx(45, abs=0.1)
    assert system.sessions_done == [dt.date(2024, 12, 2), dt.date(2024, 12, 3)]


def test_pause_resume_and_stop(market):
    config = ReplayConfig(symbols=["SPY"], derived_intervals=[])
    system = SystemManager(market, config, "2024-12-02", "2024-12-03", time=FakeTime())
    counts: list[int] = []
    paused = threading.Event()

    def consumer(data, advance) -> None:
        counts.append(system.coordinator.advances)
        if len(counts) == 10:
            system.pause()
            paused.set()
        if len(counts) == 500:
            system.stop()

    system.subscribe(consumer)
    system.start()
    try:
        assert paused.wait(60)
        # Real time, while paused: an unpaused coordinator (FakeTime, no pacing) makes hundreds of advances in
        # this, so a pause that does nothing fails here; a pause that holds makes none.
        time.sleep(0.3)
        assert len(counts) == 10 and system.state is SystemState.PAUSED
    finally:
        system.resume()  # on failure too: the run goes on to its stop instead of hanging paused
    system.join(60)
    assert len(counts) == 500 and counts == list(range(1, 501)) and system.sessions_done == [dt.date(2024, 12, 2)]


@pytest.mark.parametrize("where", ["consumer", "upkeep"])
def test_an_error_in_either_thread_stops_the_run_and_is_reported(market, tmp_path, where):
    class BrokenSource(StoreSource):
        def session_items(self, panel, *args, **kwargs):
            if panel.date == dt.date(2024, 12, 3):
                raise RuntimeError("the feed broke")
            return super().session_items(panel, *args, **kwargs)

    config = ReplayConfig(symbols=["SPY"], derived_intervals=[])
    system = SystemManager(market, config, "2024-12-02", "2024-12-03", source=BrokenSource(market),
                           snapshot_dir=tmp_path / "snaps", time=FakeTime())
    if where == "consumer":
        def consumer(data, advance) -> None:
            if data.mask.sum() == 100:
                raise ValueError("a strategy failed")
        system.subscribe(consumer)
    with pytest.raises((ValueError, RuntimeError), match="a strategy failed|the feed broke"):
        system.start()
        system.join(timeout=60)
    assert [p.name for p in (tmp_path / "snaps").iterdir() if p.name.startswith(".")] == []


def test_live_mode_streams_a_feed_as_it_arrives_and_ends_when_the_live_clock_passes_the_end(market, tmp_path):
    from tapescan.clock import LiveClock, RealTime
    from tapescan.stream.live import ReplayAsLive

    day = dt.date(2024, 12, 3)
    config = ReplayConfig(symbols=["SPY", "AAPL"], derived_intervals=[5], start_time="10:00", end_time="10:10")
    feed = ReplayAsLive(market, day, RealTime(), speed=1200)  # ten minutes of session in half a second
    clocks: list[int] = []
    readings: list[tuple[int, ...]] = []  # the feed's now, the Data Manager's, the run's, the feed's again
    system = SystemManager(market, config, day, day, live=feed, snapshot_dir=tmp_path, time=RealTime())

    def consumer(data, advance) -> None:
        clocks.append(advance.clock)
        readings.append((feed.now(), system.data_manager.now().value, system.clock.now_ns(), feed.now()))

    system.subscribe(consumer)
    system.run()
    assert system.mode == "live" and system.data_manager.mode == "live" and system.sessions_done == [day]
    # one clock, the feed's, read by the system, the coordinator and the Data Manager alike
    assert isinstance(system.clock, LiveClock)
    assert system.data_manager.clock is system.clock and system.coordinator.clock is system.clock
    assert readings and all(before <= dm <= run <= after for before, dm, run, after in readings)
    data = system.session_data
    panel = market.read_session(day, ["SPY", "AAPL"])
    window = (panel.minutes >= data.start) & (panel.minutes < data.end)
    np.testing.assert_array_equal(data.mask, panel.mask[:, window])
    assert clocks == sorted(clocks) and data.derived[5].done.all()
    snapshot = pd.read_csv(tmp_path / "2024-12-03.csv")
    assert set(snapshot["system_mode"]) == {"live"} and snapshot["session_ended"].iloc[-1]


def test_the_replay_command_writes_a_snapshot_per_session_and_refuses_a_bad_config(market, tmp_path):
    from typer.testing import CliRunner

    from tapescan.cli.main import app
    from tests.cli_process import tapescan

    config = tmp_path / "replay.yaml"
    config.write_text("symbols: [SPY, AAPL]\nderived_intervals: [5]\nstart_time: '10:00'\nend_time: '10:30'\n")
    result = CliRunner().invoke(app, ["--quiet", "replay", str(config), "--store", str(market.path), "--start",
                                      "2024-11-29", "--end", "2024-12-02", "--snapshot", str(tmp_path / "snaps")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["2024-11-29.csv", "2024-12-02.csv"]
    frame = pd.read_csv(tmp_path / "snaps" / "2024-12-02.csv")
    assert frame["timestamp"].iloc[-1] == "2024-12-02T10:30:00-05:00" and frame["SPY_5m_bars"].iloc[-1] == 6
    config.write_text("symbols: [SPY]\nderived_intervals: [1]\n")
    failed = tapescan("replay", str(config), "--store", str(market.path), "--start", "2024-12-02", "--end",
                      "2024-12-02")
    assert failed.returncode == 2 and "derived_intervals" in failed.stderr and "Traceback" not in failed.stderr


def test_a_symbol_added_mid_session_streams_at_once_and_is_backfilled(market, tmp_path):
    config = ReplayConfig(symbols=["SPY"], derived_intervals=[5], historical_bars_trailing_days=1,
                          historical_bars_types=[5])
    system = SystemManager(market, config, "2024-12-02", "2024-12-03", snapshot_dir=tmp_path, time=FakeTime())
    joined_at: list[int] = []

    def consumer(data, advance) -> None:
        if data.date == dt.date(2024, 12, 2) and int(data.mask.sum()) == 120 and not joined_at:
            joined_at.append(advance.clock)
            system.add_symbol("aapl")

    system.subscribe(consumer)
    system.run()
    data = system.session_data  # the second session: AAPL is part of it from the start
    assert data.symbols == ["SPY", "AAPL"] and data.date == dt.date(2024, 12, 3)
    panel = market.read_session("2024-12-03", ["SPY", "AAPL"])
    np.testing.assert_array_equal(data.mask, panel.mask)
    assert {len(f["symbol"].unique()) for f in data.history[5]} == {2}
    first = pd.read_csv(tmp_path / "2024-12-02.csv")
    second = pd.read_csv(tmp_path / "2024-12-03.csv")
    assert "AAPL_volume" not in first.columns and "AAPL_volume" in second.columns
    assert int(first["active_symbols"].iloc[-1]) == 2
    assert second["AAPL_1m_bars"].iloc[-1] == panel.mask[1].sum()


def test_a_joined_symbol_holds_the_whole_session_by_its_end(market):
    config = ReplayConfig(symbols=["SPY"], derived_intervals=[5])
    system = SystemManager(market, config, "2024-12-02", "2024-12-02", time=FakeTime())
    finals = {}

    def consumer(data, advance) -> None:
        if int(data.mask[0].sum()) == 200 and len(data.symbols) == 1:
            system.add_symbol("NVDA", ["1m"])
        finals["data"] = data

    system.subscribe(consumer)
    system.run()
    data = finals["data"]
    panel = market.read_session("2024-12-02", ["SPY", "NVDA"])
    np.testing.assert_array_equal(data.mask, panel.mask)
    np.testing.assert_array_equal(data.session_volume, panel.volume.sum(axis=1))
    expected = derived_panel(panel, 5, backend="cpu")
    np.testing.assert_array_equal(data.derived[5].volume, expected.volume)


@pytest.mark.parametrize("symbol", ["../../etc/x", "AAPL;rm -rf", ""])
def test_a_symbol_added_mid_session_is_checked_as_a_ticker(market, symbol):
    system = SystemManager(market, ReplayConfig(symbols=["SPY"]), "2024-12-02", "2024-12-02", time=FakeTime())
    with pytest.raises(TapescanError, match="add_symbol"):
        system.add_symbol(symbol)


def test_a_replay_runs_on_one_clock_that_the_coordinator_advances(market):
    from tapescan.clock import ReplayClock

    config = ReplayConfig(symbols=["SPY"], derived_intervals=[], start_time="10:00", end_time="10:30")
    system = SystemManager(market, config, "2024-12-02", "2024-12-02", time=FakeTime())
    readings: list[tuple[int, int, int]] = []
    system.subscribe(lambda data, advance: readings.append(
        (advance.clock, system.clock.now_ns(), system.data_manager.now().value)))
    system.run()
    assert isinstance(system.clock, ReplayClock) and system.mode == system.data_manager.mode == "backtest"
    assert system.data_manager.clock is system.clock and system.coordinator.clock is system.clock
    assert len(readings) == 30 and all(advance == run == dm for advance, run, dm in readings)


@pytest.mark.parametrize("thread", ["coordinator", "upkeep"])
def test_a_message_of_unknown_type_stops_the_run_naming_it(market, thread):
    class Stray:
        pass

    system = SystemManager(market, ReplayConfig(symbols=["SPY"]), "2024-12-02", "2024-12-02", time=FakeTime())

    def consumer(data, advance) -> None:
        if system.coordinator.advances == 5:
            (system.coordinator if thread == "coordinator" else system.upkeep).inbox.put(Stray())

    system.subscribe(consumer)
    with pytest.raises(TypeError, match="unknown type Stray"):
        system.start()
        system.join(timeout=60)


def test_messages_are_immutable_their_arrays_read_only():
    from tapescan.stream.messages import Advance, Fill, GapCheck

    items = Items("1m", np.array([60_000_000_000]), np.array([0]), np.array([0], np.int32), np.ones((1, 5)))
    for message, array in ((Fill(dt.date(2024, 12, 2), items), items.values),
                           (Advance(1, [("1m", items)]), items.time),
                           (GapCheck(dt.date(2024, 12, 2), 0, np.zeros((1, 3), bool)), None)):
        array = message.missing if array is None else array
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1
        with pytest.raises(AttributeError):
            message.day = None


def test_consumers_and_live_sources_get_a_read_only_view_while_the_coordinator_writes(market):
    from tapescan.stream.live import ReplayAsLive

    views = []

    class Watched(ReplayAsLive):
        def start(self, window, streams, deliver) -> None:
            views.append(window)
            super().start(window, streams, deliver)

    day = dt.date(2024, 12, 3)
    config = ReplayConfig(symbols=["SPY"], derived_intervals=[5], start_time="10:00", end_time="10:05")
    checked: list[int] = []

    def consumer(data, advance) -> None:
        views.append(data)
        checked.append(int(data.mask.sum()))

    system = SystemManager(market, config, day, day, live=Watched(market, day, FakeTime(), speed=1e6),
                           time=FakeTime())
    system.subscribe(consumer)
    system.run()
    assert len(views) > 2 and checked == sorted(checked) and checked[-1] == 5  # the owner kept writing
    for view in (views[0], views[-1]):
        for array in (view.mask, view.volume, view.session_volume, view.derived[5].volume, view.updated["1m"]):
            with pytest.raises(ValueError, match="read-only"):
                array[0] = 0
        with pytest.raises(AttributeError):
            view.session_ended = True
        with pytest.raises(AttributeError, match="read-only"):
            view.add_minute_bars
        view.symbols.append("NVDA")  # a copy
    assert system.session_data.symbols == ["SPY"] and system.session_data.mask.sum() == 5
    assert system.session_data.bar_quality(system.coordinator.instant)[0] == 100


def test_the_data_manager_of_a_run_serves_today_from_session_data(market):
    config = ReplayConfig(symbols=["SPY", "AAPL"], derived_intervals=[])
    system = SystemManager(market, config, "2024-12-02", "2024-12-02", source=LossySource(market), time=FakeTime())
    answers: list[tuple] = []

    def consumer(data, advance) -> None:
        held = data.mask[1]
        expected = (int(data.session_volume[1]), float(data.close[1][held][-1])) if held.any() else (None, None)
        dm = system.data_manager
        answers.append(((dm.session_volume("aapl"), dm.last_price("AAPL")), expected))

    system.subscribe(consumer)
    system.run()
    assert len(answers) > 300 and all(got == expected for got, expected in answers)  # lost bars included
