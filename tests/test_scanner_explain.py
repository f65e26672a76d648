"""The filter funnel (`tapescan.scanner.explain`, `tapescan scan --explain`): per filter, in the config's order,
the symbols left and those entering it with an undefined value, checked against the oracle scanner
(tests/oracle_scanner.py); its last count is the scan's."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from tapescan import ScannerConfig, scan
from tapescan.scanner import FUNNEL_COLUMNS, explain, group_members
from tapescan.scanner.config import KEY_OF_METRIC
from tests.cli_process import tapescan
from tests.oracle_scanner import Market, passes, symbol_row, universe
from tests.scanner_agreement import FILTERED

# Every store symbol; bounds that each remove a few symbols at 2024-12-02 11:00.
TIGHT = {"average_volume": {"min": 1000000, "max": 50000000, "days": 5}, "average_price": {"max": 300, "days": 4},
         "standard_deviation": {"min": 1.5, "days": 5}, "beta": {"min": 0.5, "days": 5},
         "correlation": {"min": 0.3, "days": 5}, "relative_volume": {"max": 1.5, "days": 3},
         "current_price_change_percentage": {"min": 0}, "today_price_range_percentage": {"min": 1.2}}
CASES = [(FILTERED, dt.date(2024, 11, 29), dt.time(10, 0)), (FILTERED, dt.date(2024, 12, 2), dt.time(11, 0)),
         (FILTERED, dt.date(2024, 11, 19), dt.time(9, 30)), (FILTERED, dt.date(2024, 12, 2), dt.time(15, 0)),
         (TIGHT, dt.date(2024, 12, 2), dt.time(11, 0)), (TIGHT, dt.date(2024, 11, 29), dt.time(12, 30))]


def asked(config: ScannerConfig, day: dt.date, store_symbols: list[str]) -> set[str]:
    """The universe as the config writes it (docs/spec/metrics.md "Scanner semantics"), held by the store or not."""
    if not config.symbols and not config.symbols_group:
        return set(store_symbols) - set(config.exclude_symbols)
    as_of = day if config.point_in_time else None
    groups = (group_members(group, as_of=as_of) for group in config.symbols_group)
    return set(config.symbols).union(*groups) - set(config.exclude_symbols)


def oracle_funnel(market: dict, store_root, config: ScannerConfig, day: dt.date, clock: dt.time) -> list[tuple]:
    """(step, undefined, left) per filter of config.filters(), from the oracle's rows: the symbols passing the
    first k filters, and how many of those passing k - 1 have no value for the k-th."""
    prices = Market(market["bars"])
    rows = [symbol_row(prices, config, day, clock, symbol)
            for symbol in universe(config, day, market["symbols"], store_root)]
    out = []
    for metric, bounds in config.filters().items():
        undefined = sum(pd.isna(row[metric]) for row in rows)
        rows = [row for row in rows if passes(row[metric], bounds.min, bounds.max)]
        out.append((KEY_OF_METRIC[metric], undefined, len(rows)))
    return out


@pytest.mark.parametrize(("document", "day", "clock"), CASES)
def test_the_funnel_agrees_with_the_oracle_and_ends_at_the_scans_count(scanner_store, document, day, clock):
    store, market = scanner_store
    config = ScannerConfig.model_validate(document)
    funnel = explain(store, config, day, clock, backend="cpu", on_diagnostic=lambda d: None)
    assert list(funnel.columns) == FUNNEL_COLUMNS
    assert list(funnel["step"]) == ["universe", "in store", *(KEY_OF_METRIC[m] for m in config.filters())]
    in_store = universe(config, day, market["symbols"], store.path)
    assert list(funnel["left"][:2]) == [len(asked(config, day, market["symbols"])), len(in_store)]
    got = list(zip(funnel["step"][2:], funnel["undefined"][2:], funnel["left"][2:]))
    assert got == oracle_funnel(market, store.path, config, day, clock)
    assert funnel["left"].iloc[-1] == len(scan(store, config, day, clock, backend="cpu", on_diagnostic=lambda d: None))


def test_the_funnel_narrows_step_by_step_and_shows_where_a_scan_empties(scanner_store):
    store, _ = scanner_store
    config = {"symbols": ["SPY", "AAPL", "MSFT", "NVDA"], "average_volume": {"min": 1, "days": 3},
              "current_price_change_percentage": {"min": 1000}}
    funnel = explain(store, config, "2024-12-02", "11:00", backend="cpu")
    assert list(funnel["left"]) == [4, 4, 4, 0]
    assert list(funnel["bound"][2:]) == ["avg_volume >= 1 (3 sessions)", "change_pct >= 1000"]
    assert funnel["undefined"].isna().tolist() == [True, True, False, False]


def test_scan_explain_prints_the_funnel_on_stderr_and_the_hits_on_stdout(scanner_store, tmp_path):
    store, _ = scanner_store
    path = tmp_path / "scan.json"
    path.write_text(json.dumps({"symbols": ["SPY", "AAPL"], "average_price": {"min": 1, "max": 100000, "days": 3},
                                "beta": {"min": 50}}))
    result = tapescan("scan", str(path), "--store", str(store.path), "--date", "2024-12-02", "--time", "11:00",
                      "--explain")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("date,time,symbol") and len(result.stdout.splitlines()) == 1
    lines = {line.split()[0]: line.split() for line in result.stderr.splitlines() if line.strip()}
    assert lines["universe"][-1] == "2" and lines["in"][-1] == "2"
    assert lines["average_price"][-1] == "2" and lines["beta"][-1] == "0"
    assert "1 <= avg_price <= 100000 (3 sessions)" in result.stderr and "beta >= 50 (10 sessions)" in result.stderr


def test_a_scan_that_finds_nothing_points_to_explain(scanner_store, tmp_path):
    store, _ = scanner_store
    path = tmp_path / "scan.json"
    path.write_text(json.dumps({"symbols": ["SPY"], "beta": {"min": 50}}))
    result = tapescan("scan", str(path), "--store", str(store.path), "--date", "2024-12-02", "--time", "11:00")
    assert result.returncode == 0 and "--explain" in result.stderr
