"""`bars` and `daily` say why a result is empty, and name unknown symbols with close matches."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from tapescan.cli.main import app
from tapescan.store import Store
from tests.cli_process import tapescan
from tests.conftest import make_bars

runner = CliRunner()


def flat(text: str) -> str:
    """`text` with every run of white space as one blank (messages may be wrapped anywhere)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def hint_store(tmp_path_factory) -> Store:
    """SPY on 2024-12-02 to 2024-12-05; AAPL on 2024-12-03 and 2024-12-04 only."""
    store = Store.create(tmp_path_factory.mktemp("hints") / "store")
    days = {"SPY": ["2024-12-02", "2024-12-03", "2024-12-04", "2024-12-05"], "AAPL": ["2024-12-03", "2024-12-04"]}
    bars = pd.concat([make_bars(symbol, day, [0, 1]) for symbol, dates in days.items() for day in dates])
    store.write_bars(bars, adjustment="split_dividend", source="test")
    return store


def run(store: Store, *args: str):
    result = runner.invoke(app, [args[0], "--store", str(store.path), *args[1:]])
    assert result.exit_code == 0, result.output
    return result


def test_bars_before_the_store_says_what_it_holds(hint_store):
    result = run(hint_store, "bars", "AAPL", "--start", "2023-01-03", "--end", "2023-01-05")
    assert result.stdout.splitlines() == ["ts,open,high,low,close,volume"]
    assert ("warning: no bars for AAPL from 2023-01-03 to 2023-01-05: the store holds sessions 2024-12-02 to "
            "2024-12-05 (AAPL from 2024-12-03 to 2024-12-04).") in flat(result.stderr)


def test_derived_bars_outside_the_symbols_range_say_so_too(hint_store):
    result = run(hint_store, "bars", "aapl", "--start", "2024-12-05", "--end", "2024-12-05", "--interval", "5m")
    assert "(AAPL from 2024-12-03 to 2024-12-04)" in flat(result.stderr)


def test_daily_empty_range_gets_the_stores_range_and_each_symbols(hint_store):
    result = run(hint_store, "daily", "--start", "2024-11-01", "--end", "2024-11-29", "--symbols", "SPY,aapl")
    assert result.stdout.splitlines() == ["date,symbol,open,high,low,close,volume,vwap,bars"]
    assert ("no daily values from 2024-11-01 to 2024-11-29: the store holds sessions 2024-12-02 to 2024-12-05 "
            "(SPY from 2024-12-02 to 2024-12-05; AAPL from 2024-12-03 to 2024-12-04).") in flat(result.stderr)


def test_a_range_without_a_session_says_so(hint_store):
    result = run(hint_store, "daily", "--start", "2024-11-28", "--end", "2024-11-28")  # Thanksgiving
    assert "no daily values from 2024-11-28 to 2024-11-28: there is no NYSE session in that range" in flat(
        result.stderr)


def test_quiet_leaves_only_the_result(hint_store):
    result = runner.invoke(app, ["--quiet", "bars", "AAPL", "--store", str(hint_store.path), "--start", "2023-01-03",
                                 "--end", "2023-01-05"])
    assert result.exit_code == 0 and result.stderr == ""


def test_a_result_with_rows_gets_no_warning(hint_store):
    result = run(hint_store, "daily", "--start", "2024-12-02", "--end", "2024-12-02")
    assert "warning" not in result.stderr and len(result.stdout.splitlines()) == 2


@pytest.mark.parametrize(("symbols", "message"), [
    ("APPL", "has no symbol APPL. Did you mean AAPL?"),
    ("SPY,APPL,SPYY", "has no symbol APPL, SPYY. Did you mean AAPL (for APPL); SPY (for SPYY)?"),
])
def test_daily_names_unknown_symbols_with_close_matches(hint_store, symbols, message):
    result = tapescan("daily", "--store", str(hint_store.path), "--start", "2024-12-02", "--end", "2024-12-05",
                      "--symbols", symbols)
    assert result.returncode == 2 and result.stdout == ""
    assert message in flat(result.stderr) and "Traceback" not in result.stderr
