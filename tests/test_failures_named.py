"""Every failure named, none called a bug (issue #12): calendar-sized scanner settings, a replay speed that would
never advance, replay symbols that are not tickers or have no data."""

from __future__ import annotations

import pytest

from tapescan.errors import TapescanError
from tapescan.scanner.config import ScannerConfigError, as_scanner_config
from tapescan.store import Store
from tapescan.stream import ReplayConfig, SystemManager
from tests.cli_process import tapescan


@pytest.mark.parametrize(("block", "field", "problem"), [
    ({"beta": {"days": 1_000_000}}, "beta.days", "days must be at most 10000 sessions"),
    ({"interval_minutes": 391}, "interval_minutes", "interval_minutes must be at most 390 minutes"),
])
def test_windows_and_steps_beyond_any_calendar_are_refused_when_the_config_is_read(block, field, problem):
    with pytest.raises(ScannerConfigError, match=f"market_scanner_config.{field}: {problem}"):
        as_scanner_config(block)


def test_the_largest_window_and_step_are_accepted():
    config = as_scanner_config({"beta": {"days": 10_000}, "interval_minutes": 390})
    assert (config.beta.days, config.interval_minutes) == (10_000, 390)


@pytest.mark.parametrize("speed", [float("nan"), float("inf"), -1.0])
def test_a_replay_speed_that_cannot_pace_is_refused(speed):
    with pytest.raises(ValueError, match="speed must be 0 .data-driven. or a finite number above 0"):
        ReplayConfig(symbols=["SPY"], speed=speed)


@pytest.mark.parametrize("speed", ["nan", "-1", "inf"])
def test_the_speed_flag_names_itself(tmp_path, speed):
    config = tmp_path / "replay.json"
    config.write_text('{"symbols": ["SPY"]}\n')
    done = tapescan("replay", str(config), "--store", str(tmp_path / "store"), "--start", "2024-12-02", "--end",
                    "2024-12-02", f"--speed={speed}", timeout=60)
    assert done.returncode == 2 and "Invalid value for '--speed'" in done.stderr, done.stderr


@pytest.mark.parametrize("symbol", ["../../etc/x", "AAPL;rm -rf", "BRK B"])
def test_replay_symbols_are_tickers(symbol):
    with pytest.raises(ValueError, match="is not a ticker"):
        ReplayConfig(symbols=[symbol])


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    root = tmp_path_factory.mktemp("named") / "store"
    assert tapescan("synth", str(root), "--symbols", "3", "--start", "2024-12-02", "--end", "2024-12-03").returncode == 0
    return Store(root)


def test_a_replay_where_no_symbol_has_data_is_refused_at_construction(store):
    with pytest.raises(TapescanError, match=r"no symbol of the replay config has bars .* \(ZZZZ, QQQQ\)"):
        SystemManager(store, ReplayConfig(symbols=["ZZZZ", "QQQQ"]), "2024-12-02", "2024-12-03")


def test_symbols_without_data_are_named_and_the_others_replayed(store, tmp_path):
    config = tmp_path / "replay.json"
    config.write_text('{"symbols": ["SPY", "ZZZZ"], "derived_intervals": []}\n')
    done = tapescan("replay", str(config), "--store", str(store.path), "--start", "2024-12-02", "--end", "2024-12-03",
                    timeout=120)
    assert done.returncode == 0, done.stderr
    assert "warning: no bars from 2024-12-02 to 2024-12-03 for ZZZZ (left empty in session_data)." in done.stderr
    assert "timeout expired" not in done.stderr
