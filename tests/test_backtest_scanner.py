"""Strategy `scanner` (docs/spec/backtest.md): each session's first hit of the scanner config enters at the
symbol's last bar visible at the scan time T; the accounts are the scanner's universe.

The expected trades come from the oracle simulator (tests/oracle_backtest.py) fed with entry signals built here
from a first-hit sweep and the stored bars, by the spec's rule, independently of tapescan's signal placing.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

import tapescan
from tapescan import calendar
from tapescan.synth import write_synthetic_market
from tests.oracle_backtest import oracle_simulate
from tests.test_backtest_oracle import assert_agrees

START, END = "2024-03-06", "2024-03-12"
SCANNER = {"start_time": "09:35", "end_time": "15:00", "symbols": ["AAPL", "MSFT", "NVDA", "AMZN", "TSLA"],
           "current_price_change_percentage": {"min": 0.3}}
FLAT = {"fill": "next_open", "slippage_pct": 0.01, "fee_per_order": 1.0, "value": 10000.0, "stop_loss_pct": 0.5,
        "take_profit_pct": 1.0}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = tapescan.Store.create(tmp_path_factory.mktemp("scanner-strategy") / "store")
    write_synthetic_market(store, 30, "2024-02-01", END, seed=11)
    return store


def _signals_from_hits(bars: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    """long_entry at each hit's signal bar: the symbol's last bar that has ended by T (start <= T - 1 minute)."""
    entry = np.zeros(len(bars), dtype=bool)
    for hit in hits.itertuples():
        moment = pd.Timestamp(datetime.datetime.combine(hit.date, datetime.time.fromisoformat(hit.time)),
                              tz=calendar.ET)
        ended = bars.index[(bars["symbol"] == hit.symbol) & (bars["ts"].dt.date == hit.date)
                           & (bars["ts"] <= moment - pd.Timedelta(minutes=1))]
        if len(ended):
            entry[bars.index.get_loc(ended[-1])] = True
    false = np.zeros(len(bars), dtype=bool)
    return pd.DataFrame({"long_entry": entry, "long_exit": false, "short_entry": false, "short_exit": false})


def test_scanner_strategy_trades_the_first_hits_and_accounts_its_universe(store):
    days = list(calendar.sessions(START, END)["date"])
    hits = tapescan.sweep(store, {"market_scanner_config": SCANNER}, START, END, first_hit=True)
    assert len(hits) >= 5
    frames = []
    for symbol in SCANNER["symbols"]:
        one = store.read_bars(symbol, START, END)
        frames.append(one.assign(symbol=symbol)[["symbol", "ts", "open", "high", "low", "close", "volume"]])
    bars = pd.concat(frames, ignore_index=True)
    bars["ts"] = bars["ts"].dt.tz_convert(calendar.ET)
    oracle = oracle_simulate(bars, _signals_from_hits(bars, hits), FLAT, days, days)

    strategy = {"strategy": "scanner", "scanner": SCANNER, "execution": {"fill": "next_open", "slippage_pct": 0.01,
                "fee_per_order": 1.0}, "size": {"value": 10000.0},
                "stops": {"stop_loss_pct": 0.5, "take_profit_pct": 1.0}}
    result = tapescan.backtest(strategy, store, START, END, backend="cpu")
    assert len(result.trades) >= 5
    assert set(result.symbol_stats.index) == set(SCANNER["symbols"])  # the scanner's universe, not the store's
    assert_agrees(result, oracle)
