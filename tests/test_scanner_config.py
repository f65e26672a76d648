"""The scanner config: the client's object as written, defaults, warnings, and an error for every bad input."""

from __future__ import annotations

import datetime
import importlib.resources
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tapescan.errors import TapescanError
from tapescan.scanner import ScannerConfig, ScannerConfigError, load_scanner_config, scanner_config_error

# Copied verbatim from the client's notes (shared/client-notes.txt), trailing comma included.
CLIENT_SNIPPET = """\
  "market_scanner_config": {
    "start_time": "9:30",
    "end_time": "15:00",
    "symbols": ["AAPL", "MSFT", "AMZN", "TSLA", "NVDA"],
    "symbols_group": ["SP500", "NASDAQ100"],
    "exclude_symbols": ["AAPL", "MSFT"],
    "average_volume": {
      "min": 1000000,
      "max": 10000000,
      "days": 10
    },
    "average_price": {
      "min": 100,
      "max": 1000,
      "days": 10
    },
    "standard_deviation": {
      "min": 1,
      "max": 10,
      "days": 10
    },
    "beta": {
      "min": 1,
      "max": 10,
      "days": 10
    },
    "correlation": {
      "min": 1,
      "max": 10,
      "days": 10
    },
    "current_price_change_percentage": {
      "min": 1,
      "max": 10
    },
    "today_price_range_percentage": {
      "min": 1,
      "max": 10
    }
  },
"""

WRAPPED_TEXT = "{" + CLIENT_SNIPPET.strip().rstrip(",") + "}"
BARE_TEXT = CLIENT_SNIPPET.strip().rstrip(",").split(":", 1)[1]

CORRELATION_WARNING = (
    "correlation min 1 / max 10: a correlation never exceeds 1, so this reduces to correlation = 1 exactly "
    "(perfectly correlated symbols only)."
)


def _load(tmp_path: Path, data: Any, name: str = "scan.json") -> ScannerConfig:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return load_scanner_config(path)


# ---------------------------------------------------------------------------------------------- the client's object


@pytest.mark.parametrize("text", [BARE_TEXT, WRAPPED_TEXT], ids=["bare", "wrapped"])
def test_client_block_loads_from_json_text(text: str) -> None:
    config = ScannerConfig.model_validate_json(text)
    assert config.start_time == datetime.time(9, 30)
    assert config.end_time == datetime.time(15, 0)
    assert config.symbols == ["AAPL", "MSFT", "AMZN", "TSLA", "NVDA"]
    assert config.symbols_group == ["SP500", "NASDAQ100"]
    assert config.exclude_symbols == ["AAPL", "MSFT"]
    assert config.filters() == {
        "avg_volume": (1_000_000, 10_000_000, 10),
        "avg_price": (100, 1000, 10),
        "std_pct": (1, 10, 10),
        "beta": (1, 10, 10),
        "correlation": (1, 10, 10),
        "change_pct": (1, 10, None),
        "range_pct": (1, 10, None),
    }
    assert config.warnings() == [CORRELATION_WARNING]


def test_client_block_loads_from_python_objects_bare_and_wrapped() -> None:
    wrapped = json.loads(WRAPPED_TEXT)
    assert ScannerConfig.model_validate(wrapped) == ScannerConfig.model_validate(wrapped["market_scanner_config"])


def test_client_block_defaults() -> None:
    config = ScannerConfig.model_validate_json(BARE_TEXT)
    assert (config.benchmark, config.interval_minutes, config.point_in_time) == ("SPY", 1, False)
    assert config.relative_volume is None


def test_empty_config_is_the_whole_session_with_no_filter() -> None:
    config = ScannerConfig.model_validate({})
    assert (config.start_time, config.end_time) == (datetime.time(9, 30), datetime.time(16, 0))
    assert config.filters() == {} and config.warnings() == []


def test_values_are_normalised() -> None:
    config = ScannerConfig.model_validate(
        {"start_time": "09:30", "end_time": " 9:45 ", "symbols": [" aapl", "brk.b "], "symbols_group": ["sp500"],
         "exclude_symbols": ["tsla"], "benchmark": "qqq", "beta": {"max": 2}, "interval_minutes": 5.0}
    )
    assert config.end_time == datetime.time(9, 45)
    assert config.symbols == ["AAPL", "BRK.B"] and config.exclude_symbols == ["TSLA"]
    assert config.symbols_group == ["SP500"] and config.benchmark == "QQQ"
    assert config.filters() == {"beta": (None, 2, 10)}
    assert config.interval_minutes == 5


def test_filters_follow_metrics_order_with_intraday_blocks_without_days() -> None:
    blocks = {key: {"min": 1, "max": 2} for key in ("today_price_range_percentage", "current_price_change_percentage")}
    blocks |= {key: {"min": 1, "max": 2, "days": 5} for key in (
        "relative_volume", "correlation", "beta", "standard_deviation", "average_price", "average_volume")}
    filters = ScannerConfig.model_validate(blocks).filters()
    assert list(filters) == [
        "avg_volume", "avg_price", "std_pct", "beta", "correlation", "rel_volume", "change_pct", "range_pct",
    ]
    assert filters["rel_volume"].days == 5 and filters["range_pct"].days is None


def test_time_equal_bounds_are_allowed() -> None:
    config = ScannerConfig.model_validate({"start_time": "16:00", "end_time": "16:00", "beta": {"min": 1, "max": 1}})
    assert config.start_time == config.end_time and config.filters()["beta"] == (1, 1, 10)


def test_packaged_example_loads_without_warnings() -> None:
    example = importlib.resources.files("tapescan") / "data" / "examples" / "market_scanner_config.json"
    config = load_scanner_config(Path(str(example)))
    assert config.warnings() == []
    assert len(config.filters()) == 8


# ---------------------------------------------------------------------------------------------- warnings


@pytest.mark.parametrize(
    ("key", "bounds", "expected"),
    [
        ("correlation", {"min": 2}, "correlation min 2: a correlation never exceeds 1, so this filter rejects every "
         "symbol."),
        ("correlation", {"max": -1.5}, "correlation max -1.5: a correlation is never below -1, so this filter "
         "rejects every symbol."),
        ("correlation", {"min": 0.5, "max": 1}, "correlation min 0.5 / max 1: a correlation never exceeds 1, so max "
         "is no bound; this reduces to correlation >= 0.5."),
        ("correlation", {"min": -1, "max": 0.2}, "correlation min -1 / max 0.2: a correlation is never below -1, so "
         "min is no bound; this reduces to correlation <= 0.2."),
        ("correlation", {"min": -3, "max": 3}, "correlation min -3 / max 3: a correlation is never below -1 and never "
         "exceeds 1, so min and max are no bounds; this filter passes every symbol whose correlation is defined."),
        ("correlation", {"min": 1}, "correlation min 1: a correlation never exceeds 1, so this reduces to correlation "
         "= 1 exactly (perfectly correlated symbols only)."),
        ("average_volume", {"min": 0, "max": 500000}, "average_volume min 0 / max 500000: an average volume is never "
         "below 0, so min is no bound; this reduces to average_volume <= 500000."),
        ("average_price", {"min": -5}, "average_price min -5: an average price is never below 0, so min is no bound; "
         "this filter passes every symbol whose average_price is defined."),
        ("standard_deviation", {"min": 0, "max": 3}, "standard_deviation min 0 / max 3: a standard deviation is never "
         "below 0, so min is no bound; this reduces to standard_deviation <= 3."),
        ("relative_volume", {"min": -1, "max": 2}, "relative_volume min -1 / max 2: a relative volume is never below "
         "0, so min is no bound; this reduces to relative_volume <= 2."),
        ("today_price_range_percentage", {"min": -2, "max": 4}, "today_price_range_percentage min -2 / max 4: a price "
         "range is never below 0, so min is no bound; this reduces to today_price_range_percentage <= 4."),
    ],
)
def test_bounds_that_cannot_bind_warn_with_what_remains(key: str, bounds: dict[str, float], expected: str) -> None:
    assert ScannerConfig.model_validate({key: bounds}).warnings() == [expected]


@pytest.mark.parametrize(
    ("key", "bounds"),
    [
        ("beta", {"min": -3, "max": 10}),
        ("current_price_change_percentage", {"min": -50, "max": -1}),
        ("correlation", {"min": -0.99, "max": 0.99}),
        ("average_volume", {"min": 1, "max": 1e12}),
        ("today_price_range_percentage", {"min": 0.5}),
    ],
)
def test_bounds_that_can_bind_do_not_warn(key: str, bounds: dict[str, float]) -> None:
    assert ScannerConfig.model_validate({key: bounds}).warnings() == []


# ---------------------------------------------------------------------------------------------- errors

BAD_CONFIGS = [
    ({"average_volume": {"min": 500, "max": 100}}, "average_volume", "min (500) is above max (100)"),
    ({"beta": {"days": 0}}, "beta.days", "days must be a whole number of sessions, at least 1 (got 0)"),
    ({"correlation": {"days": -3}}, "correlation.days", "at least 1 (got -3)"),
    ({"average_price": {"days": 2.5}}, "average_price.days", "at least 1 (got 2.5)"),
    ({"standard_deviation": {"days": True}}, "standard_deviation.days", "at least 1 (got true)"),
    ({"start_time": "8:00"}, "start_time", "start_time 08:00 is outside the regular session 09:30-16:00"),
    ({"end_time": "16:30"}, "end_time", "end_time 16:30 is outside the regular session 09:30-16:00"),
    ({"start_time": "25:99"}, "start_time", "'25:99' is not a time of day"),
    ({"start_time": 570}, "start_time", "put the time in quotes"),
    ({"start_time": "15:00", "end_time": "10:00"}, "end_time", "start_time 15:00 is after end_time 10:00"),
    ({"symbols_group": ["SP500", "SP600"]}, "symbols_group[1]",
     "unknown group 'SP600'; known groups: NASDAQ100, SP500"),
    ({"averge_volume": {"min": 1}}, "averge_volume", "unknown key; did you mean 'average_volume'?"),
    ({"beta": {"min": 1, "dasy": 5}}, "beta.dasy", "unknown key; did you mean 'days'?"),
    ({"current_price_change_percentage": {"min": 1, "days": 5}}, "current_price_change_percentage.days",
     "days does not apply here"),
    ({"today_price_range_percentage": {"days": 5}}, "today_price_range_percentage.days", "days does not apply here"),
    ({"average_price": {"min": "abc"}}, "average_price.min",
     "min must be a number, or null for no bound (got the text 'abc')"),
    ({"beta": {"max": True}}, "beta.max", "max must be a number, or null for no bound (got true)"),
    ({"relative_volume": {"min": float("nan")}}, "relative_volume.min", "min must be a finite number"),
    ({"correlation": [0, 1]}, "correlation", "must be an object of keys and values"),
    ({"symbols": "AAPL"}, "symbols", "must be a list"),
    ({"symbols": ["AAPL", ""]}, "symbols[1]", "a ticker cannot be empty"),
    ({"exclude_symbols": ["BRK B"]}, "exclude_symbols[0]", "'BRK B' is not a ticker"),
    ({"interval_minutes": 0}, "interval_minutes",
     "interval_minutes must be a whole number of minutes, at least 1 (got 0)"),
    ({"interval_minutes": "5"}, "interval_minutes", "(got the text '5')"),
    ({"benchmark": ""}, "benchmark", "a ticker cannot be empty"),
    ({"point_in_time": "yes"}, "point_in_time", "point_in_time must be true or false"),
    ({"market_scanner_config": {}, "symbols": []}, "", "may hold nothing else; move or remove 'symbols'"),
    ([1, 2], "", "must be an object of keys and values"),
]


@pytest.mark.parametrize(("data", "field", "phrase"), BAD_CONFIGS)
def test_bad_config_file_names_file_field_and_problem(
    tmp_path: Path, data: Any, field: str, phrase: str
) -> None:
    with pytest.raises(TapescanError) as caught:
        _load(tmp_path, data)
    message = str(caught.value)
    assert isinstance(caught.value, ScannerConfigError)
    assert str(tmp_path / "scan.json") in message
    dotted = "market_scanner_config" + ("" if not field or field.startswith("[") else ".") + field
    assert f"{dotted}: " in message and phrase in message
    assert "http" not in message and "Traceback" not in message


@pytest.mark.parametrize(
    ("data", "field", "phrase"), [case for case in BAD_CONFIGS if isinstance(case[0], dict) and case[1]]
)
def test_bad_wrapped_config_gives_the_same_error(data: Any, field: str, phrase: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ScannerConfig.model_validate({"market_scanner_config": data})
    message = str(scanner_config_error(caught.value))
    assert message.startswith("The scanner config has a problem:")
    assert f"market_scanner_config.{field}: " in message and phrase in message


def test_every_problem_is_listed_one_per_line(tmp_path: Path) -> None:
    with pytest.raises(ScannerConfigError) as caught:
        _load(tmp_path, {"start_time": "8:00", "beta": {"days": 0}, "averge_volume": {}})
    lines = str(caught.value).splitlines()
    assert lines[0] == f"Scanner config {tmp_path / 'scan.json'} has 3 problems:"
    assert len(lines) == 5 and "docs/SCANNER.md" in lines[-1]


def test_validation_context_adds_user_groups(tmp_path: Path) -> None:
    config = ScannerConfig.model_validate({"symbols_group": ["tech", "SP500"]}, context={"groups": ["TECH"]})
    assert config.symbols_group == ["TECH", "SP500"]
    with pytest.raises(ValidationError):
        ScannerConfig.model_validate({"symbols_group": ["tech"]})
    path = tmp_path / "scan.json"
    path.write_text(json.dumps({"symbols_group": ["BANKS"]}), encoding="utf-8")
    with pytest.raises(ScannerConfigError, match="unknown group 'BANKS'; known groups: NASDAQ100, SP500, TECH"):
        load_scanner_config(path, groups=["TECH"])


# ---------------------------------------------------------------------------------------------- file formats

YAML_CONFIG = """\
market_scanner_config:
  start_time: "9:30"
  end_time: "15:00"
  symbols: [AAPL, MSFT]
  symbols_group: [SP500]
  beta: {min: 1, max: 10, days: 10}
  current_price_change_percentage:
    min: 1
    max: 10
"""

TOML_CONFIG = """\
[market_scanner_config]
start_time = 09:30:00
end_time = "15:00"
symbols = ["AAPL", "MSFT"]
symbols_group = ["SP500"]

[market_scanner_config.beta]
min = 1
max = 10
days = 10

[market_scanner_config.current_price_change_percentage]
min = 1
max = 10
"""


@pytest.mark.parametrize(
    ("name", "text"), [("scan.yaml", YAML_CONFIG), ("scan.YML", YAML_CONFIG), ("scan.toml", TOML_CONFIG)]
)
def test_yaml_and_toml_files_load_like_json(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    expected = {
        "start_time": "9:30", "end_time": "15:00", "symbols": ["AAPL", "MSFT"], "symbols_group": ["SP500"],
        "beta": {"min": 1, "max": 10, "days": 10}, "current_price_change_percentage": {"min": 1, "max": 10},
    }
    assert load_scanner_config(tmp_path / name) == ScannerConfig.model_validate(expected)


@pytest.mark.parametrize(
    ("name", "text", "phrases"),
    [
        ("bad.json", '{"start_time": "9:30",\n  "end_time" "15:00"}', ["is not valid JSON", "line 2"]),
        ("bad.json", "", ["is not valid JSON", "line 1"]),
        ("bad.yaml", "start_time: \"9:30\"\nsymbols: [AAPL, MSFT\n", ["is not valid YAML", "line 3"]),
        ("bad.yml", "start_time: 9:30\n", ["start_time", "put the time in quotes"]),
        ("bad.toml", 'start_time = "9:30"\nend_time = \n', ["is not valid TOML", "line 2"]),
        ("bad.toml", "start_time = 08:00:00\n", ["start_time 08:00 is outside the regular session"]),
        ("empty.yaml", "# nothing here\n", ["is empty"]),
        ("scan.ini", "[scanner]\n", ["cannot read a .ini file", ".json, .yaml, .yml or .toml"]),
        ("scan", "{}", ["cannot read a extension-less file", ".json, .yaml, .yml or .toml"]),
    ],
)
def test_unreadable_files_name_the_file_and_the_place(tmp_path: Path, name: str, text: str, phrases: list[str]) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScannerConfigError) as caught:
        load_scanner_config(path)
    message = str(caught.value)
    assert str(path) in message
    for phrase in phrases:
        assert phrase in message


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ScannerConfigError, match="missing.json cannot be read"):
        load_scanner_config(tmp_path / "missing.json")
    (tmp_path / "latin.json").write_bytes(b'{"symbols": ["\xe9"]}')
    with pytest.raises(ScannerConfigError, match="latin.json is not UTF-8 text"):
        load_scanner_config(tmp_path / "latin.json")
