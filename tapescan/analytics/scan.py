"""A session scanned at many moments at once (docs/spec/metrics.md "Scanner semantics"), on either backend.

`scan_cells` runs the scan kernel (tapescan/kernels/scan.py) over a panel: for every symbol and every scan
time, whether it passes the intraday filters (and is eligible: in the universe, passing the trailing
filters), with its intraday values where it does; and every symbol's cumulative volume at every clock
minute (09:31-16:00), which the next sessions' rel_volume averages. `TodWindow` holds those clock volumes
for the N sessions before the one being scanned, as a running sum.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tapescan.analytics.drivers import Backend, compute_for
from tapescan.analytics.placement import AnyPanel
from tapescan.analytics.volume import CLOCK_MINUTES, bars_ended, clock_minutes, clock_ns
from tapescan.kernels.scan import ScanGrid, TodSum


@dataclass(frozen=True)
class ScanCells:
    """A session scanned: passed [symbol x time]; values [field x symbol x time] (VALUE_FIELDS), meaningful
    where passed; clock_volume [symbol x 390]; traded [symbol]: any bar this session."""

    passed: np.ndarray
    values: np.ndarray
    clock_volume: np.ndarray
    traded: np.ndarray


class TodWindow:
    """The clock volumes of the N sessions before a session, summed: tod_avg_volume(N) = sum / N, defined
    for a symbol present on all N (docs/spec/metrics.md); kept as a running sum while a sweep moves forward."""

    def __init__(self, symbols: int, sessions: int) -> None:
        self.sessions = sessions
        self.days: list[dt.date] = []
        self.total = np.zeros((symbols, CLOCK_MINUTES), dtype=np.int64)
        self.present = np.zeros(symbols, dtype=np.int64)
        self._held: dict[dt.date, tuple[np.ndarray, np.ndarray]] = {}

    def holds(self, day: dt.date) -> bool:
        return day in self._held

    def add(self, day: dt.date, clock_volume: np.ndarray, traded: np.ndarray) -> None:
        """Keep `day`'s clock volume until the window moves past it."""
        self._held[day] = (clock_volume, traded)

    def move_to(self, days: list[dt.date]) -> None:
        """Make the window the sessions `days` (each added before); a step forward costs one add and one drop."""
        if days == self.days:
            return
        if self.days and days[:-1] == self.days[1:]:
            self._apply(self.days[0], -1)
            self._apply(days[-1], +1)
        else:
            self.total[:] = 0
            self.present[:] = 0
            for day in days:
                self._apply(day, +1)
        self.days = list(days)
        for day in [d for d in self._held if d < days[0]]:
            del self._held[day]

    def _apply(self, day: dt.date, sign: int) -> None:
        volume, traded = self._held[day]
        operation = np.add if sign > 0 else np.subtract
        operation(self.total, volume, out=self.total)
        operation(self.present, traded, out=self.present)

    def defined(self) -> np.ndarray:
        """Symbols present on every session of the window."""
        return self.present == self.sessions


def scan_cells(panel: AnyPanel, times: pd.DatetimeIndex, eligible: np.ndarray, prev_close: np.ndarray,
               tod: TodWindow | None, bounds: np.ndarray, first_hit: bool, backend: Backend = "auto") -> ScanCells:
    """Scan `panel` at `times` (ET, ascending); `bounds` [INTRADAY_FILTERS x BOUND_COLUMNS] = (active, min, max)
    of change_pct, range_pct and rel_volume (tapescan/kernels/scan.py); `tod` None means rel_volume is undefined
    for every symbol."""
    symbols = panel.shape[0]
    visible = bars_ended(panel.minutes, times)
    clock_visible = bars_ended(panel.minutes, clock_ns(panel.date))
    clock = clock_minutes(panel.date, times)
    if tod is None:
        window = TodSum(np.zeros((symbols, CLOCK_MINUTES), np.int64), np.zeros(symbols, bool), 1)
    else:
        window = TodSum(tod.total, tod.defined(), tod.sessions)
    return ScanCells(*compute_for(backend).scan_panel(
        panel, ScanGrid(visible, clock, clock_visible), np.ascontiguousarray(eligible),
        np.ascontiguousarray(prev_close), window, np.ascontiguousarray(bounds, dtype=np.float64), first_hit))
