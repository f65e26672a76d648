"""tapescan: scan and backtest years of 1-minute US stock bars for thousands of symbols, on GPU or CPU.

The public API, re-exported explicitly:

- :class:`Store` — the Parquet store (write bars, read sessions as dense arrays, bars, daily values).
- :class:`SessionPanel` — one session as [symbol x minute] arrays plus a presence mask.
- :func:`store_info`, :func:`symbol_coverage` — what a store holds (:class:`StoreInfo`), never reading the bars.
- :mod:`calendar` — NYSE sessions, early closes, holidays (pandas-market-calendars).
- :func:`resolve_backend` — which compute backend (cpu / gpu) runs, and why.
- :func:`synthesize` — the seeded synthetic market.
- :class:`DataManager` — bars and metrics as of a clock's now (:class:`ReplayClock`, :class:`LiveClock`).
- :class:`ScannerConfig`, :func:`load_scanner_config`, :func:`scan`, :func:`sweep`, :func:`explain` — the scanner
  (:class:`Diagnostic` / :class:`ScanWarning`: why a scan finds little or nothing).
- :func:`backtest`, :func:`simulate`, :class:`StrategyConfig`, :func:`load_strategy_config`,
  :class:`BacktestResult` — the backtest (docs/BACKTEST.md); :mod:`indicators` — the streaming indicators.
"""

from tapescan.kernel_cache import ensure_kernel_cache
from tapescan.omp_policy import let_idle_threads_sleep

ensure_kernel_cache()  # before any module below defines a cached kernel
let_idle_threads_sleep()  # before numba loads OpenMP

from tapescan import calendar, indicators
from tapescan.backend import resolve_backend
from tapescan.backtest.config import StrategyConfig, load_strategy_config
from tapescan.backtest.engine import backtest
from tapescan.backtest.results import BacktestResult
from tapescan.backtest.simulate import simulate
from tapescan.clock import LiveClock, ReplayClock
from tapescan.data_manager import DataManager
from tapescan.errors import BackendError, CalendarError, StoreError, TapescanError
from tapescan.scanner import Diagnostic, ScannerConfig, ScanWarning, explain, load_scanner_config, scan, sweep
from tapescan.store import SessionPanel, Store, StoreInfo, WriteReport, store_info, symbol_coverage
from tapescan.synth import synthesize

__version__ = "0.1.0"

__all__ = [
    "BacktestResult",
    "BackendError",
    "CalendarError",
    "DataManager",
    "Diagnostic",
    "LiveClock",
    "ReplayClock",
    "ScanWarning",
    "ScannerConfig",
    "SessionPanel",
    "Store",
    "StoreError",
    "StoreInfo",
    "StrategyConfig",
    "TapescanError",
    "WriteReport",
    "__version__",
    "backtest",
    "calendar",
    "explain",
    "indicators",
    "load_scanner_config",
    "load_strategy_config",
    "resolve_backend",
    "scan",
    "simulate",
    "store_info",
    "sweep",
    "symbol_coverage",
    "synthesize",
]
