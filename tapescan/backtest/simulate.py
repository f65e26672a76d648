"""`tapescan.simulate`: signals you computed in Python, through the same simulator as `tapescan backtest`.

The bars (a long DataFrame: symbol, ts, open, high, low, close, volume) are placed into one session panel at a
time, the signals into int8 bits beside them (tapescan/kernels/signals.py), and the panels go through
:class:`~tapescan.backtest.simulator.Simulator` in session order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.analytics.bars import BAR_COLUMNS
from tapescan.analytics.drivers import Backend
from tapescan.backtest.config import settings_from_flat
from tapescan.backtest.results import BacktestResult
from tapescan.backtest.settings import RunSettings
from tapescan.backtest.simulator import Simulator, finish, range_days, schedule
from tapescan.backtest.sources import PlacedBars, signal_bits
from tapescan.calendar import ET, NS_PER_MINUTE
from tapescan.errors import TapescanError
from tapescan.kernels.lane import GIVEN_SIGNALS

#: The symbol of a bars frame without a `symbol` column.
ONE_SYMBOL = "SYMBOL"
SignalLike = np.ndarray | pd.Series | list | None


class SimulateInputError(TapescanError):
    """Bars or signals that simulate() cannot use."""


def _signal(values: SignalLike, name: str, rows: int) -> np.ndarray:
    """A boolean signal aligned to the bars' rows (None: never)."""
    if values is None:
        return np.zeros(rows, dtype=bool)
    array = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values)
    if array.shape != (rows,):
        raise SimulateInputError(f"{name} has shape {array.shape}; give one value per bar ({rows} bars).")
    if array.dtype != bool:
        if array.dtype.kind not in "iuf" or not np.isin(array[~pd.isna(array)], (0, 1)).all():
            raise SimulateInputError(f"{name} holds {array.dtype} values; give true/false per bar.")
        array = np.nan_to_num(array.astype(np.float64)).astype(bool)
    return array


def _bars(bars: pd.DataFrame) -> pd.DataFrame:
    """The bars checked, with `symbol` (str), `ts` (ET) and their row order kept in `row`."""
    if not isinstance(bars, pd.DataFrame):
        raise SimulateInputError(f"bars must be a pandas DataFrame with columns {', '.join(BAR_COLUMNS)}; got "
                                 f"{type(bars).__name__}.")
    missing = [name for name in BAR_COLUMNS if name not in bars.columns]
    if missing:
        raise SimulateInputError(f"bars lack the column(s) {', '.join(missing)}; give symbol (optional), "
                                 f"{', '.join(BAR_COLUMNS)}.")
    symbols = bars["symbol"].astype(str).to_numpy() if "symbol" in bars.columns else ONE_SYMBOL
    frame = pd.DataFrame({"symbol": symbols}, index=pd.RangeIndex(len(bars)))
    ts = pd.to_datetime(bars["ts"]).reset_index(drop=True)
    if ts.dt.tz is None:
        raise SimulateInputError("bars.ts has no time zone; give tz-aware bar starts (e.g. "
                                 "ts.dt.tz_localize('America/New_York')).")
    frame["ts"] = ts.dt.tz_convert(ET).dt.as_unit("ns")
    for name in BAR_COLUMNS[1:]:
        frame[name] = pd.to_numeric(bars[name]).to_numpy(dtype=np.float64)
    frame["row"] = np.arange(len(frame))
    if frame[list(BAR_COLUMNS[1:])].isna().to_numpy().any():
        raise SimulateInputError("bars hold missing prices or volumes; drop those bars (absent minutes are simply "
                                 "not in the frame).")
    duplicated = frame.duplicated(["symbol", "ts"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise SimulateInputError(f"bars hold {first['symbol']} at {first['ts']} more than once; one bar per "
                                 "symbol and minute.")
    return frame


def _sessions(frame: pd.DataFrame) -> pd.Series:
    """Each bar's session date, checked to be a regular-session minute of an NYSE session."""
    dates = frame["ts"].dt.date
    ns = frame["ts"].astype("int64").to_numpy()
    if (ns % NS_PER_MINUTE).any():
        raise SimulateInputError("bars.ts holds stamps off the minute; give 1-minute bar starts.")
    return dates


def simulate(bars: pd.DataFrame, long_entry: SignalLike, long_exit: SignalLike = None,
             short_entry: SignalLike = None, short_exit: SignalLike = None, *, rank: SignalLike = None,
             start: calendar.DateLike | None = None, end: calendar.DateLike | None = None, backend: Backend = "auto",
             **settings: Any) -> BacktestResult:
    """Run signals computed in Python through the simulator of docs/spec/backtest.md.

    `bars`: regular-session 1-minute bars, columns symbol (optional: one symbol), ts (tz-aware bar start), open,
    high, low, close, volume. The signals: booleans aligned to the rows of `bars` (None: never); `rank`: the
    value `shared` accounts rank entries by. `settings`: the strategy file's keys, flat (fill="close",
    shares=100, stop_loss_pct=2.0, mode="shared", ...; tapescan.backtest.config.FLAT_KEYS). The range is
    [start, end] (default: the bars' first and last sessions); bars of the `warmup_sessions` sessions before it
    only warm up; other bars outside it and extended-hours bars are not used.
    """
    config = settings_from_flat(**settings)
    run = RunSettings.of(config)
    frame = _bars(bars)
    rows = len(frame)
    bits = signal_bits(*(_signal(values, name, rows) for values, name in (
        (long_entry, "long_entry"), (long_exit, "long_exit"), (short_entry, "short_entry"),
        (short_exit, "short_exit"))))
    rank_values = np.full(rows, np.nan) if rank is None else np.asarray(rank, dtype=np.float64)
    if rank_values.shape != (rows,):
        raise SimulateInputError(f"rank has shape {rank_values.shape}; give one value per bar ({rows} bars).")
    frame["date"] = _sessions(frame)
    warmup, sessions = range_days(frame["date"].min() if start is None else start,
                                  frame["date"].max() if end is None else end, run.warmup_sessions)
    symbols = np.array(sorted(frame["symbol"].unique()), dtype=object)
    in_range = frame[(frame["date"] >= sessions[0]) & (frame["date"] <= sessions[-1])]
    accounted = np.isin(symbols, in_range["symbol"].unique())
    placed = PlacedBars(frame, bits, rank_values, symbols)
    simulator = Simulator(symbols, accounted, run, GIVEN_SIGNALS, np.zeros(1), backend)
    for day, trading, last in schedule(warmup, sessions):
        open_, high, low, close, volume, mask, given, ranks = placed.session(day)
        simulator.run_session(day, open_, high, low, close, volume, mask, given, ranks, trading, last)
    return finish(simulator, config)
