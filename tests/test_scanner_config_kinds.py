"""A config of the wrong kind is named as such: a scanner config given to `tapescan replay`, a replay config
given to `scan` / `sweep` (or to their Python functions); and the Python scan and sweep take a config as a
ScannerConfig, a plain dict or a file's path."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import tapescan
from tapescan import ScannerConfig
from tapescan.scanner import ScannerConfigError
from tapescan.scanner.config import SCANNER_KIND
from tapescan.stream import ReplayConfig, ReplayConfigError, load_replay_config
from tapescan.stream.config import REPLAY_KIND
from tests.cli_process import scan_and_sweep
from tests.cli_process import tapescan as run_tapescan

SCANNER = {"market_scanner_config": {"symbols": ["AAPL", "SPY"], "average_volume": {"min": 1, "days": 3}}}
BARE_SCANNER = SCANNER["market_scanner_config"]
REPLAY = {"symbols": ["AAPL", "SPY"], "derived_intervals": [5], "historical_bars_trailing_days": 2}


def one_paragraph(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("document", [SCANNER, BARE_SCANNER], ids=["wrapped", "bare"])
def test_replay_names_a_scanner_config_and_shows_a_replay_config(scanner_store, tmp_path, document):
    store, _ = scanner_store
    path = tmp_path / "scan.json"
    path.write_text(json.dumps(document))
    result = run_tapescan("replay", str(path), "--store", str(store.path), "--start", "2024-12-02", "--end",
                          "2024-12-02")
    message = one_paragraph(result.stderr)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"Replay config {path} looks like a scanner config (market_scanner_config)" in message
    assert '{"symbols": ["AAPL", "SPY"], "derived_intervals": [5]' in message
    assert f"tapescan scan {path} --store" in message
    assert "Extra inputs" not in message and "Field required" not in message


def test_scan_and_sweep_name_a_replay_config_and_show_a_scanner_config(scanner_store, tmp_path):
    store, _ = scanner_store
    path = tmp_path / "replay.yaml"
    path.write_text("symbols: [AAPL, SPY]\nderived_intervals: [5]\nspeed: 0\n")
    for result in scan_and_sweep(str(path), str(store.path), str(tmp_path / "hits.csv"), "2024-12-02"):
        message = one_paragraph(result.stderr)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert f"Scanner config {path} looks like a replay config" in message
        assert '{"market_scanner_config": {' in message and f"tapescan replay {path} --store" in message
        assert message.count("start_time") == 0  # not the list of every scanner key


def test_a_real_mistake_still_gets_its_field_errors(tmp_path):
    path = tmp_path / "replay.json"
    path.write_text(json.dumps({"symbols": ["AAPL"], "derived_interval": [5]}))
    with pytest.raises(ReplayConfigError, match="derived_interval") as caught:
        load_replay_config(path)
    assert "looks like" not in str(caught.value)


def test_replay_config_mistakes_are_said_in_plain_words(tmp_path):
    """Not pydantic's raw text: an unknown key gets the nearest real one, a missing key says it is required,
    a bad value says why without pydantic's "Value error," prefix."""
    path = tmp_path / "replay.json"
    path.write_text(json.dumps({"stream": ["1m"], "derived_intervals": [1]}))
    with pytest.raises(ReplayConfigError) as caught:
        load_replay_config(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"Replay config {path} has 3 problems:"
    assert "  symbols: missing; this key is required" in lines
    assert "  stream: unknown key; did you mean 'streams'?" in lines
    assert "  derived_intervals: derived bars span at least 2 minutes (1-minute bars are the 1m input stream)" in lines
    assert not any(raw in str(caught.value) for raw in ("Extra inputs", "Field required", "Value error"))


def test_python_scan_and_sweep_take_a_dict_or_a_path_like_a_scanner_config(scanner_store, tmp_path):
    store, _ = scanner_store
    expected = tapescan.scan(store, ScannerConfig.model_validate(SCANNER), "2024-12-02", "11:00", backend="cpu")
    path = tmp_path / "scan.json"
    path.write_text(json.dumps(SCANNER))
    assert len(expected) == 2
    for config in (SCANNER, BARE_SCANNER, path, str(path)):
        pd.testing.assert_frame_equal(tapescan.scan(store, config, "2024-12-02", "11:00", backend="cpu"), expected)
    swept = tapescan.sweep(store, BARE_SCANNER, "2024-12-02", "2024-12-02", backend="cpu")
    assert set(swept["symbol"]) == {"AAPL", "SPY"}


def test_python_scan_says_what_to_pass(scanner_store):
    store, _ = scanner_store
    with pytest.raises(ScannerConfigError, match="looks like a replay config"):
        tapescan.scan(store, REPLAY, "2024-12-02", "11:00", backend="cpu")
    with pytest.raises(ScannerConfigError, match=r"market_scanner_config\.beta\.days"):
        tapescan.sweep(store, {"beta": {"days": 0}}, "2024-12-02", "2024-12-02", backend="cpu")
    with pytest.raises(ScannerConfigError, match="a scanner config must be a ScannerConfig, its object as a dict"):
        tapescan.scan(store, 42, "2024-12-02", "11:00", backend="cpu")


def test_the_examples_in_the_messages_are_valid_configs_of_their_kind():
    assert ScannerConfig.model_validate_json(SCANNER_KIND.example).filters()
    assert ReplayConfig.model_validate_json(REPLAY_KIND.example).symbols == ["AAPL", "SPY"]
