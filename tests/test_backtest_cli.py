"""`tapescan backtest STRATEGY --store --start --end [--output DIR] [--format csv|parquet] [--report FILE.html]`
(docs/spec/interfaces.md), run as a user's shell runs it: the statistics printed, the files written equal to what
`tapescan.backtest` returns for the same file, the strategy file's warnings as whole lines, and every bad input
refused with exit status 2, a message naming what to fix, no traceback and nothing written."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pandas as pd
import pytest

import tapescan
from tapescan.backtest.config import load_strategy_config
from tapescan.scanner import ScanWarning
from tapescan.store import Store
from tapescan.synth import write_synthetic_market
from tests.cli_process import tapescan as run

START, END = "2024-12-02", "2024-12-04"
EXAMPLES = Path(__file__).resolve().parents[1] / "tapescan" / "data" / "examples" / "strategies"
STRATEGY = """\
strategy: sma_cross
params: {fast: 3, slow: 12}
direction: both
execution: {slippage_pct: 0.01, fee_per_order: 1.0}
size: {value: 5000}
stops: {stop_loss_pct: 0.3, take_profit_pct: 0.6}
"""
#: A warning longer than any terminal line: it must reach a pipe whole.
WARNED = STRATEGY.replace("stops: {", "account: {max_positions: 3}\nstops: {")
TIMEOUT = 600
STATS = ("total_return_pct", "cagr_pct", "sharpe", "sortino", "max_drawdown_pct", "calmar", "trades",
         "win_rate_pct", "profit_factor", "expectancy", "exposure_pct")


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> tuple[Path, Path]:
    """A three-session synthetic store of four symbols, and an sma_cross strategy file beside it."""
    if not hasattr(tapescan, "backtest"):
        pytest.skip("tapescan.backtest has not landed yet")
    root = tmp_path_factory.mktemp("backtest_cli")
    store = Store.create(root / "store")
    write_synthetic_market(store, 4, START, END, seed=1)
    strategy = root / "sma.yaml"
    strategy.write_text(STRATEGY)
    return store.path, strategy


@pytest.fixture(scope="module")
def expected(market):
    """What the Python API gives for the same file and range: the CLI's files must hold exactly this."""
    store, strategy = market
    return tapescan.backtest(load_strategy_config(strategy), Store(store), START, END, backend="cpu")


def backtest(market, *args: str, quiet: bool = False):
    store, strategy = market
    return run("--backend", "cpu", *(["--quiet"] if quiet else []), "backtest", str(strategy), "--store", str(store), "--start", START, "--end", END,
               *args, timeout=TIMEOUT)


def refused(result, *said: str) -> str:
    """The one-paragraph error of a refused command, checked for status 2 and no traceback."""
    message = " ".join(result.stderr.split())
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    for words in said:
        assert words in message, message
    return message


def test_prints_the_statistics_and_writes_what_the_api_returns(market, expected, tmp_path):
    out, report = tmp_path / "run", tmp_path / "report.html"
    result = backtest(market, "--output", str(out), "--report", str(report))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()  # stdout is a pipe here: CSV that scripts can read
    assert lines[0] == "statistic,value"
    shown = dict(line.split(",") for line in lines[1:])
    assert tuple(shown) == STATS
    for name in STATS:
        value = expected.stats[name]
        assert (shown[name] == "") if math.isnan(value) else math.isclose(float(shown[name]), value, abs_tol=1e-4)
    rejected = int((expected.orders["status"] == "rejected").sum())
    assert f"{len(expected.trades):,} trades, {len(expected.orders):,} orders ({rejected:,} rejected) in 3 sessions" \
        in result.stderr
    assert len(expected.trades) > 0  # the market must exercise the outputs
    assert sorted(p.name for p in out.iterdir()) == ["equity.csv", "orders.csv", "stats.json", "trades.csv"]
    trades = pd.read_csv(out / "trades.csv")
    assert len(trades) == len(expected.trades) and list(trades.columns) == list(expected.trades.columns)
    assert trades["pnl"].tolist() == pytest.approx(expected.trades["pnl"].tolist(), rel=1e-12)
    assert len(pd.read_csv(out / "orders.csv")) == len(expected.orders)
    assert len(pd.read_csv(out / "equity.csv")) == len(expected.equity) == 3
    stats = json.loads((out / "stats.json").read_text())
    assert stats == json.loads(json.dumps(expected.stats_document()))
    page = report.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html") and "</html>" in page
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_parquet_output_holds_the_same_tables(market, expected, tmp_path):
    result = backtest(market, "--output", str(tmp_path / "run"), "--format", "parquet", quiet=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # --quiet: results only
    for name in ("trades", "orders", "equity"):
        table = pd.read_parquet(tmp_path / "run" / f"{name}.parquet")
        pd.testing.assert_frame_equal(table.reset_index(drop=True), getattr(expected, name).reset_index(drop=True),
                                      check_dtype=False)


def test_the_strategy_files_warnings_are_whole_lines_in_a_pipe(market, tmp_path):
    store, _ = market
    strategy = tmp_path / "warned.yaml"
    strategy.write_text(WARNED)
    warning = load_strategy_config(strategy).warnings()[0]
    assert len(warning) > 80
    result = run("--backend", "cpu", "backtest", str(strategy), "--store", str(store), "--start", START, "--end", END,
                 timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert f"warning: {warning}" in result.stderr.splitlines()


@pytest.mark.parametrize(("document", "said"), [
    ("strategy: sma_cross\nexecution: {fill: open}\n", ["has a problem:", "execution.fill: must be one of"]),
    ("strategy: sma_cross\nparams: {fast: [3, 5]}\n", ["has parameter grids: params.fast (2 values)",
                                                        "tapescan optimize"]),
    ('{"market_scanner_config": {"symbols": ["SPY"]}}', ["looks like a scanner config", "tapescan scan"]),
    ("strategy: sma_cross\nparams: {fast: 3\n", ["is not valid YAML: line 3"]),
])
def test_a_bad_strategy_file_is_named_with_its_problem(market, tmp_path, document, said):
    store, _ = market
    strategy = tmp_path / ("bad.json" if document.startswith("{") else "bad.yaml")
    strategy.write_text(document)
    result = run("backtest", str(strategy), "--store", str(store), "--start", START, "--end", END,
                 "--output", str(tmp_path / "out"), timeout=TIMEOUT)
    refused(result, f"error: Strategy file {strategy}", *said)
    assert not (tmp_path / "out").exists()


def test_outputs_that_cannot_be_written_are_refused_before_any_work(market, tmp_path):
    store, strategy = market
    inside = refused(backtest(market, "--output", str(store / "results")), "inside the tapescan store")
    assert "--output" in inside and not (store / "results").exists()
    refused(backtest(market, "--report", str(store / "report.html")), "--report", "inside the tapescan store")
    (tmp_path / "taken").write_text("")
    refused(backtest(market, "--output", str(tmp_path / "taken")), "is a file; give a folder")
    refused(backtest(market, "--format", "parquet"), "--format says how --output DIR is written")
    refused(backtest(market, "--report", str(tmp_path / "report.pdf")), "give a name ending in .html")
    assert not (tmp_path / "report.pdf").exists()


def test_a_bad_command_line_is_a_usage_error(market, tmp_path):
    result = backtest(market, "--format", "xml")
    assert result.returncode == 2 and "Usage: tapescan backtest" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run("backtest", str(market[1]), "--store", str(tmp_path / "nowhere"), "--start", START, "--end", END,
                  timeout=TIMEOUT)
    refused(missing, "error:", str(tmp_path / "nowhere"))


def test_the_scanners_warnings_reach_a_pipe_as_warning_lines(market):
    """strategy: scanner on a store too short for its trailing windows finds no hit, and says why (once)."""
    store, _ = market
    result = run("--backend", "cpu", "backtest", str(EXAMPLES / "shared_scanner.yaml"), "--store", str(store),
                 "--start", START, "--end", END, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("warning: no symbol can pass")]
    assert len(lines) == 1 and "the store lacks sessions that the trailing windows need" in lines[0]
    assert "ScanWarning" not in result.stderr and "0 trades, 0 orders" in result.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.*") if p.suffix in (".yaml", ".toml")))
def test_every_example_runs(market, name):
    store, _ = market
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScanWarning)  # the scanner examples need more history than this store has
        result = tapescan.backtest(EXAMPLES / name, Store(store), START, END, backend="cpu")
    assert list(result.stats) == list(STATS) and result.stats["trades"] == len(result.trades)
    assert len(result.equity) == 3
