"""`tapescan scan` and `tapescan sweep` as a user meets them: outputs, streaming files, first-hit mode, the
agreement of a scan with the sweep at the same moment, and clean errors for bad configs and arguments."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from tapescan import ScannerConfig, scan, sweep
from tapescan.cli.main import app
from tapescan.scanner import SCAN_COLUMNS
from tapescan.store import Store
from tapescan.synth import write_synthetic_market
from tests.cli_process import scan_and_sweep, tapescan

runner = CliRunner()
CONFIG = {"market_scanner_config": {
    "start_time": "10:00", "end_time": "10:20", "interval_minutes": 5,
    "average_volume": {"min": 1, "days": 3}, "current_price_change_percentage": {"min": -50, "max": 50},
    "relative_volume": {"min": 0.2, "days": 3}}}


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Store:
    store = Store.create(tmp_path_factory.mktemp("scan") / "store")
    write_synthetic_market(store, 15, "2024-11-20", "2024-12-03", seed=4)
    return store


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG))
    return path


def invoke(*args: str):
    return runner.invoke(app, ["--quiet", "--backend", "cpu", *args])


def test_sweep_writes_parquet_and_csv_equal_to_the_python_sweep(market, config_file, tmp_path):
    expected = sweep(market, ScannerConfig.model_validate(CONFIG), "2024-11-26", "2024-12-02", backend="cpu")
    assert len(expected) > 0 and set(expected["time"]) <= {"10:00", "10:05", "10:10", "10:15", "10:20"}
    for name in ("hits.parquet", "hits.csv"):
        result = invoke("sweep", str(config_file), "--store", str(market.path), "--start", "2024-11-26", "--end",
                        "2024-12-02", "--output", str(tmp_path / name))
        assert result.exit_code == 0, result.output
    parquet = pd.read_parquet(tmp_path / "hits.parquet")
    csv = pd.read_csv(tmp_path / "hits.csv")
    assert list(parquet.columns) == list(csv.columns) == SCAN_COLUMNS
    assert len(parquet) == len(csv) == len(expected)
    assert list(csv["symbol"]) == list(expected["symbol"]) and list(csv["date"]) == [str(d) for d in expected["date"]]
    pd.testing.assert_series_equal(parquet["price"], expected["price"], check_names=False)


def test_first_hit_keeps_the_earliest_time_of_each_session_and_symbol(market):
    config = ScannerConfig.model_validate(CONFIG)
    every = sweep(market, config, "2024-11-26", "2024-12-03", backend="cpu")
    first = sweep(market, config, "2024-11-26", "2024-12-03", first_hit=True, backend="cpu")
    earliest = every.groupby(["date", "symbol"], as_index=False)["time"].min()
    merged = first.merge(earliest, on=["date", "symbol"], suffixes=("", "_earliest"))
    assert len(first) == len(earliest) == len(merged) and (merged["time"] == merged["time_earliest"]).all()
    assert list(first.columns) == SCAN_COLUMNS


def test_a_scan_equals_the_sweep_at_that_moment(market):
    config = ScannerConfig.model_validate(CONFIG)
    swept = sweep(market, config, "2024-11-29", "2024-11-29", backend="cpu")
    at = swept[swept["time"] == "10:10"].reset_index(drop=True)
    pd.testing.assert_frame_equal(scan(market, config, "2024-11-29", "10:10", backend="cpu"), at)


def test_scan_prints_a_table_or_writes_a_file(market, config_file, tmp_path):
    out = tmp_path / "scan.json"
    result = invoke("scan", str(config_file), "--store", str(market.path), "--date", "2024-12-02", "--time", "10:30",
                    "--output", str(out))
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    assert rows and list(rows[0]) == SCAN_COLUMNS and rows[0]["time"] == "10:30"


@pytest.mark.parametrize(("args", "message"), [
    (["--date", "2024-11-28", "--time", "10:00"], "not a trading session"),
    (["--date", "2024-12-02", "--time", "17:00"], "09:30 to 16:00"),
    (["--date", "2024-12-02", "--time", "ten"], "HH:MM"),
    (["--date", "2025-06-02", "--time", "10:00"], "holds no bars for 2025-06-02"),
])
def test_bad_scan_arguments_are_refused_in_plain_words(market, config_file, args, message):
    result = tapescan("scan", str(config_file), "--store", str(market.path), *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("config", "field"), [
    ({"averge_volume": {"min": 1}}, "market_scanner_config.averge_volume"),
    ({"beta": {"min": 3, "max": 1}}, "market_scanner_config.beta"),
    ({"start_time": "8:00"}, "market_scanner_config.start_time"),
    ({"symbols_group": ["SP600"]}, "market_scanner_config.symbols_group[0]"),
    ({"correlation": {"days": 0}}, "market_scanner_config.correlation.days"),
])
def test_a_bad_config_stops_scan_and_sweep_naming_the_field(market, tmp_path, config, field):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    for result in scan_and_sweep(str(path), str(market.path), str(tmp_path / "out.csv"), "2024-12-02"):
        assert result.returncode == 2 and field in result.stderr and "Traceback" not in result.stderr
        assert str(path) in " ".join(result.stderr.split())
    assert not (tmp_path / "out.csv").exists()


def test_a_user_group_in_the_store_is_a_known_group(market, tmp_path):
    (market.path / "groups").mkdir(exist_ok=True)
    (market.path / "groups" / "watch.txt").write_text("# my list\nSPY\nNVDA\n")
    path = tmp_path / "watch.json"
    path.write_text(json.dumps({"symbols_group": ["watch"]}))
    result = invoke("scan", str(path), "--store", str(market.path), "--date", "2024-12-02", "--time", "11:00",
                    "--output", str(tmp_path / "watch.csv"))
    assert result.exit_code == 0, result.output
    assert sorted(pd.read_csv(tmp_path / "watch.csv")["symbol"]) == ["NVDA", "SPY"]


def test_sweep_refuses_an_output_it_cannot_stream(market, config_file, tmp_path):
    result = tapescan("sweep", str(config_file), "--store", str(market.path), "--start", "2024-12-02", "--end",
                      "2024-12-02", "--output", str(tmp_path / "hits.json"))
    assert result.returncode == 2 and ".parquet or .csv" in " ".join(result.stderr.split())
