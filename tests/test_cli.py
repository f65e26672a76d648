"""The command line as a user meets it: help, the store commands, clean errors, atomic outputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from tapescan.cli.main import app
from tapescan.store import Store
from tapescan.synth import synthesize
from tests.cli_process import tapescan

runner = CliRunner()


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> Store:
    path = tmp_path_factory.mktemp("cli") / "store"
    result = runner.invoke(app, ["--quiet", "synth", str(path), "--symbols", "12", "--start", "2024-11-25", "--end", "2024-12-03"])
    assert result.exit_code == 0, result.output
    return Store(path)


def test_help_lists_exactly_the_working_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    commands = typer.main.get_command(app).commands
    assert sorted(commands) == ["backtest", "bars", "cache", "calendar", "daily", "demo", "doctor", "info", "ingest",
                                "replay", "scan", "sweep", "synth", "verify"]
    for command in commands:
        assert command in result.output


def test_synth_writes_the_same_market_as_the_library(small_store):
    assert small_store.sessions() == [pd.Timestamp(d).date() for d in
                                      ["2024-11-25", "2024-11-26", "2024-11-27", "2024-11-29", "2024-12-02", "2024-12-03"]]
    day, expected = list(synthesize(12, "2024-11-25", "2024-12-03"))[3]
    got = small_store.read_bars("SPY", day, day)
    want = expected.to_pandas().query("symbol == 'SPY'").drop(columns="symbol").reset_index(drop=True)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)


def test_synth_again_is_a_no_op(small_store):
    before = (small_store.path / "manifest.json").read_text()
    result = runner.invoke(app, ["synth", str(small_store.path), "--symbols", "12", "--start", "2024-11-25", "--end", "2024-12-03"])
    assert result.exit_code == 0
    assert "0 session(s) written" in result.output
    assert (small_store.path / "manifest.json").read_text() == before


def test_bars_csv_has_the_promised_columns_and_iso_timestamps(small_store, tmp_path):
    out = tmp_path / "aapl.csv"
    result = runner.invoke(app, ["bars", "aapl", "--store", str(small_store.path), "--start", "2024-11-29",
                                 "--end", "2024-11-29", "--output", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["ts", "open", "high", "low", "close", "volume"]
    assert frame["ts"].iloc[0] == "2024-11-29T09:30:00-05:00"
    assert frame["ts"].iloc[-1] <= "2024-11-29T12:59:00-05:00"  # early close


def test_bars_with_extended_hours_adds_pre_and_post_market(tmp_path):
    path = tmp_path / "ext"
    made = runner.invoke(app, ["--quiet", "synth", str(path), "--symbols", "3", "--start", "2024-12-02",
                               "--end", "2024-12-02", "--extended-hours"])
    assert made.exit_code == 0, made.output
    regular, extended = (tmp_path / "regular.parquet"), (tmp_path / "extended.parquet")
    args = ["bars", "SPY", "--store", str(path), "--start", "2024-12-02", "--end", "2024-12-02"]
    assert runner.invoke(app, [*args, "--output", str(regular)]).exit_code == 0
    assert runner.invoke(app, [*args, "--extended-hours", "--output", str(extended)]).exit_code == 0
    regular, extended = pd.read_parquet(regular), pd.read_parquet(extended)
    assert len(regular) == 390
    clock = extended["ts"].dt.strftime("%H:%M")
    assert (clock < "09:30").any() and (clock >= "16:00").any()
    assert len(extended) == 390 + int(((clock < "09:30") | (clock >= "16:00")).sum())


def test_daily_json_and_symbol_filter(small_store, tmp_path):
    out = tmp_path / "daily.json"
    result = runner.invoke(app, ["daily", "--store", str(small_store.path), "--start", "2024-11-25", "--end", "2024-12-03",
                                 "--symbols", "SPY,msft", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    assert {row["symbol"] for row in rows} == {"SPY", "MSFT"}
    assert len(rows) == 12
    assert list(rows[0]) == ["date", "symbol", "open", "high", "low", "close", "volume", "vwap", "bars"]
    assert rows[0]["date"] == "2024-11-25"


def test_daily_prints_csv_into_a_pipe(small_store):
    result = tapescan("daily", "--store", str(small_store.path), "--start", "2024-11-29", "--end", "2024-11-29")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "date,symbol,open,high,low,close,volume,vwap,bars"
    assert len(lines) == 1 + 12


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bars", "AAPL", "--store", "/nonexistent/store", "--start", "2024-01-02", "--end", "2024-01-03"], "not a tapescan store"),
        (["daily", "--store", "{store}", "--start", "2024-13-01", "--end", "2024-12-01"], "2024-13-01"),
        (["bars", "APPL", "--store", "{store}", "--start", "2024-11-25", "--end", "2024-11-26"], "Did you mean AAPL"),
        (["bars", "AAPL", "--store", "{store}", "--start", "2024-11-25", "--end", "2024-11-26", "--output", "x.xlsx"], "unknown file type"),
        (["daily", "--store", "{store}", "--start", "2024-12-03", "--end", "2024-11-25"], "after the end date"),
        (["--backend", "gpu", "doctor"], "GPU"),
    ],
)
def test_bad_input_gives_one_clear_message_and_no_traceback(small_store, args, message):
    result = tapescan(*[a.replace("{store}", str(small_store.path)) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_debug_shows_the_traceback(small_store):
    result = tapescan("--debug", "bars", "AAPL", "--store", "/nonexistent/store", "--start", "2024-01-02", "--end", "2024-01-03")
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_a_failed_command_leaves_no_output_file(small_store, tmp_path):
    out = tmp_path / "never.csv"
    result = tapescan("bars", "NOPE", "--store", str(small_store.path), "--start", "2024-11-25", "--end", "2024-11-26",
                      "--output", str(out))
    assert result.returncode == 2
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_demo_builds_once_and_shows_the_market(tmp_path):
    first = tapescan("demo", "--dir", str(tmp_path / "demo"))
    assert first.returncode == 0, first.stderr
    assert "built the demo market" in first.stderr
    assert "84 sessions (2024-09-03 to 2024-12-31), 300 symbols" in first.stdout
    assert "holiday: Thanksgiving Day" in first.stdout and "2024-11-29,early close at 13:00 ET" in first.stdout
    assert "SPY" in first.stdout
    assert "correlation min 1 / max 10: a correlation never exceeds 1" in first.stdout
    from tapescan import Store, load_scanner_config, scan

    store = Store(tmp_path / "demo")
    config = load_scanner_config(store.path / "demo_scanner_config.json")
    hits = scan(store, config, "2024-12-31", "11:00", backend="cpu")
    assert f"Scan 2024-12-31 at 11:00 ET: {len(hits)} symbol(s) pass every filter" in first.stdout
    assert len(hits) > 0 and all(f"2024-12-31,11:00,{symbol}," in first.stdout for symbol in hits["symbol"])
    assert "first hit per symbol and session" in first.stdout
    again = tapescan("demo", "--dir", str(tmp_path / "demo"))
    assert again.returncode == 0 and "reusing the demo market" in again.stderr
