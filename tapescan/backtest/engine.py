"""`tapescan.backtest`: a strategy file over a stored date range, session by session.

The universe's sessions are read one at a time (the next one read on a thread while the simulator runs the
current one), from `warmup_sessions` sessions before `start` to `end`, and go through one
:class:`~tapescan.backtest.simulator.Simulator`; memory holds one session panel, the lanes' state and the records.
Where the signals come from depends on the strategy: a built-in one runs inside the kernels; `scanner` turns
each session's first hits of a sweep into entry signals (tapescan.backtest.sources); a Python function gets
each symbol's bars of the whole run and returns its signals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from tapescan import calendar
from tapescan.analytics.drivers import Backend, compute_for
from tapescan.backtest import sources
from tapescan.backtest.config import SCANNER_STRATEGY, StrategyConfig, StrategyLike, as_strategy_config
from tapescan.backtest.custom import is_function_reference
from tapescan.backtest.results import BacktestResult
from tapescan.backtest.settings import RunSettings
from tapescan.backtest.simulator import Simulator, finish, range_days, schedule
from tapescan.errors import TapescanError
from tapescan.kernels.lane import GIVEN_SIGNALS
from tapescan.kernels.strategies import strategy_kind, strategy_params
from tapescan.readahead import read_ahead
from tapescan.scanner.config import ScannerConfig
from tapescan.scanner.groups import known_groups
from tapescan.scanner.universe import resolve_universe
from tapescan.store import SessionPanel, Store

#: progress(sessions done, sessions in all) after each session (warm-up included).
Progress = Callable[[int, int], None]


def run_sessions(start: calendar.DateLike, end: calendar.DateLike, warmup: int,
                 stored: set[dt.date]) -> tuple[list[dt.date], list[dt.date]]:
    """(warm-up sessions, sessions of the range) for a run over [start, end] of a store holding `stored`."""
    warm, sessions = range_days(start, end, warmup)
    if not any(day in stored for day in sessions):
        span = f"{min(stored)} to {max(stored)}" if stored else "no sessions yet"
        raise TapescanError(f"the store holds no session from {sessions[0]} to {sessions[-1]} (it holds {span}); "
                            "pick a range inside it.")
    return warm, sessions


def _universe(config: StrategyConfig, store: Store, sessions: list[dt.date]) -> np.ndarray:
    """The lanes' symbols, sorted: the scanner config's universe for strategy `scanner`, else the strategy file's
    (the scanner's rule: symbols + groups - excluded; empty: every stored symbol)."""
    if config.strategy == SCANNER_STRATEGY:
        scanner = config.scanner
    else:
        universe = config.universe
        scanner = ScannerConfig.model_validate(
            {"symbols": universe.symbols, "symbols_group": universe.symbols_group,
             "exclude_symbols": universe.exclude_symbols}, context={"groups": known_groups(store.path)})
    return np.asarray(resolve_universe(scanner, store, sessions).rows, dtype=object)


def _accounted(store: Store, symbols: np.ndarray, sessions: list[dt.date]) -> np.ndarray:
    """Which symbols have a bar in a session of the range (their daily values say so without reading bars)."""
    daily = store.read_daily(sessions[0], sessions[-1], symbols=list(symbols))
    return np.isin(symbols, daily["symbol"].unique())


def _panels(store: Store, days: list[dt.date], symbols: list[str], stored: set[dt.date]
            ) -> Iterator[tuple[dt.date, SessionPanel | None]]:
    """Each day's panel of `symbols` (None for a session the store does not hold), the next read ahead."""
    return read_ahead(days, lambda day: store.read_session(day, symbols) if day in stored else None)


def _empty_panel(day: dt.date, symbols: np.ndarray) -> tuple[np.ndarray, ...]:
    """A session the store does not hold: no bar for anyone."""
    shape = (len(symbols), len(calendar.session_minutes(day)))
    nan = np.full(shape, np.nan)
    return nan, nan, nan, nan, np.zeros(shape), np.zeros(shape, dtype=bool)


def backtest(strategy: StrategyLike, store: Store | str | Path, start: calendar.DateLike, end: calendar.DateLike,
             backend: Backend = "auto", progress: Progress | None = None) -> BacktestResult:
    """Run a strategy file (docs/spec/backtest.md) over the stored sessions of [start, end].

    `strategy`: a StrategyConfig, its object as a dict, or a strategy file's path. Returns trades, orders, equity
    per session, statistics and a report (:class:`~tapescan.backtest.results.BacktestResult`).
    """
    store = store if isinstance(store, Store) else Store(store)
    config = as_strategy_config(strategy, known_groups(store.path))
    run = RunSettings.of(config)
    stored = set(store.sessions())
    warmup, sessions = run_sessions(start, end, run.warmup_sessions, stored)
    drivers = compute_for(backend)
    symbols = _universe(config, store, sessions)
    if not len(symbols):
        raise TapescanError("the strategy's universe holds no stored symbol; check universe.symbols and "
                            "universe.symbols_group against `tapescan info`.")
    accounted = _accounted(store, symbols, sessions)
    days = [*warmup, *sessions]
    if config.strategy == SCANNER_STRATEGY:
        signals = sources.ScannerSignals(store, config, sessions, symbols, drivers)
        simulator = Simulator(symbols, accounted, run, GIVEN_SIGNALS, np.zeros(1), drivers)
    elif is_function_reference(config.strategy):
        signals = sources.FunctionSignals(store, config, days, symbols, stored)
        simulator = Simulator(symbols, accounted, run, GIVEN_SIGNALS, np.zeros(1), drivers)
    else:
        signals = None
        kind = strategy_kind(config.strategy)
        simulator = Simulator(symbols, accounted, run, kind, strategy_params(config.strategy, config.params),
                              drivers)
    plan = schedule(warmup, sessions)
    for done, ((day, trading, last), (_, panel)) in enumerate(zip(plan, _panels(store, days, list(symbols),
                                                                                 stored)), 1):
        arrays = _empty_panel(day, symbols) if panel is None else (
            panel.open, panel.high, panel.low, panel.close, panel.volume.astype(np.float64), panel.mask)
        given, rank = (None, None) if signals is None else signals.session(day, arrays[-1])
        simulator.run_session(day, *arrays, given=given, rank=rank, trading=trading, last=last)
        if progress is not None:
            progress(done, len(plan))
    return finish(simulator, config)
