"""A scan or sweep that finds nothing says why (tapescan.scanner.diagnostics): a benchmark the store lacks, a
trailing window longer than the store's history, a universe the store does not hold, a range without
sessions, a 09:30 scan with intraday filters. Warnings when the cause empties the result, notes when it only
narrows it; from Python (a handler, or the warnings module) and from `tapescan scan` / `tapescan sweep`."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import pytest

from tapescan import scan, sweep
from tapescan.scanner import Diagnostic, ScanWarning
from tests.cli_process import scan_and_sweep

BETA_ON_QQQ = {"symbols": ["AAPL", "MSFT"], "benchmark": "QQQ", "beta": {"min": 0.5, "days": 5}}
LONG_WINDOW = {"average_volume": {"min": 1, "days": 30}}
NOT_HELD = {"symbols": ["NOPE", "NADA"]}


def collect(run, *args, **options) -> tuple[object, list[Diagnostic]]:
    """`run`'s result and the diagnostics it reported."""
    said: list[Diagnostic] = []
    return run(*args, backend="cpu", on_diagnostic=said.append, **options), said


def warnings_of(said: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in said if d.level == "warning"]


def test_a_benchmark_the_store_lacks_empties_a_beta_filter_and_says_so(scanner_store):
    store, _ = scanner_store
    hits, said = collect(scan, store, BETA_ON_QQQ, "2024-12-02", "11:00")
    assert hits.empty and [d.field for d in said] == ["benchmark"] and said[0].level == "warning"
    assert "benchmark QQQ is not in the store" in said[0].message and "beta filter" in said[0].message
    swept, said = collect(sweep, store, BETA_ON_QQQ, "2024-12-02", "2024-12-03")
    assert swept.empty and [d.field for d in warnings_of(said)] == ["benchmark"]


def test_without_a_beta_or_correlation_filter_a_missing_benchmark_is_only_a_note(scanner_store):
    store, _ = scanner_store
    hits, said = collect(scan, store, {"symbols": ["AAPL"], "benchmark": "QQQ"}, "2024-12-02", "11:00")
    assert len(hits) == 1 and hits["beta"].isna().all()
    assert [(d.level, d.field) for d in said] == [("note", "benchmark")]


def test_a_window_longer_than_the_stores_history_names_the_field_and_the_first_usable_session(scanner_store):
    store, market = scanner_store
    hits, said = collect(scan, store, LONG_WINDOW, "2024-12-02", "11:00")
    assert hits.empty and [(d.level, d.field) for d in said] == [("warning", "average_volume.days")]
    assert "30 sessions before" in said[0].message and f"starts on {market['sessions'][0]}" in said[0].message
    assert "No stored session has enough history" in said[0].message
    _, said = collect(scan, store, {"standard_deviation": {"min": 0, "days": 5}}, "2024-11-07", "11:00")
    assert [(d.level, d.field) for d in said] == [("warning", "standard_deviation.days")]
    assert "The first session with enough history is 2024-11-11" in said[0].message


def test_a_sweep_partly_before_the_history_gets_a_note_and_wholly_before_it_a_warning(scanner_store):
    store, _ = scanner_store
    config = {"start_time": "11:00", "end_time": "11:00", "average_price": {"min": 0, "days": 5}}
    swept, said = collect(sweep, store, config, "2024-11-01", "2024-11-12")
    assert [(d.level, d.field) for d in said] == [("note", "average_price.days")]
    assert "on 5 of the 8 sessions scanned (2024-11-01 to 2024-11-07)" in said[0].message
    assert sorted(set(swept["date"])) == [dt.date(2024, 11, 8), dt.date(2024, 11, 11), dt.date(2024, 11, 12)]
    swept, said = collect(sweep, store, config, "2024-11-01", "2024-11-07")
    assert swept.empty and [(d.level, d.field) for d in said] == [("warning", "average_price.days")]
    assert "on all 5 sessions scanned" in said[0].message


def test_a_universe_the_store_lacks_entirely_warns_and_partly_notes(scanner_store):
    store, _ = scanner_store
    hits, said = collect(scan, store, NOT_HELD, "2024-12-02", "11:00")
    assert hits.empty and [d.level for d in said] == ["warning"]
    assert "none of the 2 universe symbol(s) (NADA, NOPE) is in the store" in said[0].message
    hits, said = collect(scan, store, {"symbols": ["NOPE", "AAPL"]}, "2024-12-02", "11:00")
    assert list(hits["symbol"]) == ["AAPL"] and [d.level for d in said] == ["note"] and "NOPE" in said[0].message
    swept, said = collect(sweep, store, NOT_HELD, "2024-12-02", "2024-12-03")
    assert swept.empty and [d.level for d in said] == ["warning"]


def test_a_sweep_over_a_range_without_sessions_and_a_scan_at_the_open_say_why(scanner_store):
    store, _ = scanner_store
    _, said = collect(sweep, store, {}, "2025-01-06", "2025-01-10")
    assert [(d.level, d.field) for d in said] == [("warning", "start, end")]
    assert "holds no session from 2025-01-06 to 2025-01-10" in said[0].message
    _, said = collect(scan, store, {"current_price_change_percentage": {"min": -50}}, "2024-12-02", "09:30")
    assert [(d.level, d.field) for d in said] == [("warning", "current_price_change_percentage")]


def test_without_a_handler_warnings_are_python_warnings_and_notes_are_silent(scanner_store):
    store, _ = scanner_store
    with pytest.warns(ScanWarning, match="benchmark QQQ is not in the store"):
        scan(store, BETA_ON_QQQ, "2024-12-02", "11:00", backend="cpu")
    with pytest.warns(ScanWarning, match="average_volume needs the 30 sessions"):
        sweep(store, LONG_WINDOW, "2024-12-02", "2024-12-02", backend="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan(store, {"symbols": ["NOPE", "AAPL"]}, "2024-12-02", "11:00", backend="cpu")


@pytest.mark.parametrize(("config", "phrase"), [
    (BETA_ON_QQQ, "benchmark QQQ is not in the store"),
    (LONG_WINDOW, "average_volume needs the 30 sessions before each"),
    (NOT_HELD, "none of the 2 universe symbol(s)"),
])
def test_scan_and_sweep_print_each_warning_once(scanner_store, tmp_path, config, phrase):
    store, _ = scanner_store
    path = tmp_path / "scan.json"
    path.write_text(json.dumps(config))
    for result in scan_and_sweep(str(path), str(store.path), str(tmp_path / "hits.csv"), "2024-12-02",
                                 end="2024-12-03", at="11:00"):
        assert result.returncode == 0, result.stderr
        assert result.stderr.count("warning:") == 1 and phrase in " ".join(result.stderr.split())
