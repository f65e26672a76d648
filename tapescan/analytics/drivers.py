"""The backend resolved once: an object holding one target's drivers, CPU or GPU.

`compute_for("auto" | "cpu" | "gpu" | None)` resolves the backend (tapescan.backend.resolve_backend, with its
reasons and errors) into :data:`CPU` or :data:`GPU`; given one of those, it hands it back, so a loop resolves
once and passes the object down. Each method runs one kernel family on a host or a device panel (moved to
where the target computes, tapescan.analytics.placement) or on host arrays, and returns host arrays in the
layout the analytics layer uses. The CPU drivers (tapescan/cpu_fallback) and the GPU drivers (tapescan/gpu)
have the same functions; the GPU package is imported on first use, so importing tapescan never imports
numba.cuda.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Literal, Union

import numpy as np

from tapescan.analytics.placement import AnyPanel, on_device, on_host
from tapescan.backend import resolve_backend
from tapescan.kernels.scan import ScanGrid, TodSum
from tapescan.store.session_bars import SessionBars


@dataclass(frozen=True)
class Drivers:
    """The drivers of one target: `package` holds its modules (session, scan, trailing, tod)."""

    name: Literal["cpu", "gpu"]
    package: str

    @property
    def on_gpu(self) -> bool:
        return self.name == "gpu"

    def place(self, panel: AnyPanel) -> AnyPanel:
        """The panel where this target computes: device arrays on the GPU, host arrays on the CPU."""
        return on_device(panel) if self.on_gpu else on_host(panel)

    def place_keeping_stored_bars(self, panel: AnyPanel) -> AnyPanel:
        """As `place`, but stored bars (SessionBars) stay as they are on the CPU, whose scan and clock-volume
        drivers walk them where they lie."""
        return panel if isinstance(panel, SessionBars) and not self.on_gpu else self.place(panel)

    def _family(self, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{name}")

    def cumulate_sessions(self, panel: AnyPanel) -> tuple[np.ndarray, ...]:
        """Session volume, high, low, last close and bar count as of each minute, [symbol x minute] each."""
        return self._family("session").cumulate_sessions(self.place(panel))

    def daily_values(self, panel: AnyPanel) -> np.ndarray:
        """Daily values of every symbol, [DAILY_FIELDS x symbol]."""
        return self._family("session").daily_values(self.place(panel))

    def derived_bars(self, panel: AnyPanel, steps: int) -> tuple[np.ndarray, ...]:
        """Open, high, low, close, volume and bar count of buckets of `steps` panel steps, [symbol x bucket] each."""
        return self._family("session").derived_bars(self.place(panel), steps)

    def scan_panel(self, panel: AnyPanel, grid: ScanGrid, eligible: np.ndarray, prev_close: np.ndarray,
                   tod: TodSum, bounds: np.ndarray, first_hit: bool) -> tuple[np.ndarray, ...]:
        """The scan kernel over a panel (host inputs, tapescan/kernels/scan.py): passed [symbol x time], values
        [VALUE_FIELDS x symbol x time], clock_volume [symbol x clock minute], traded [symbol]."""
        return self._family("scan").scan_panel(self.place_keeping_stored_bars(panel), grid, eligible, prev_close, tod, bounds,
                                               first_hit)

    def trailing_metrics(self, close: np.ndarray, volume: np.ndarray, high: np.ndarray, low: np.ndarray,
                         present: np.ndarray, bench_close: np.ndarray, bench_present: np.ndarray,
                         days: int) -> np.ndarray:
        """Trailing-window metrics of [session x symbol] host arrays, [TRAILING_FIELDS x session x symbol]."""
        return self._family("trailing").trailing_metrics(close, volume, high, low, present, bench_close,
                                                         bench_present, days)

    def clock_volume(self, panel: AnyPanel, clock_visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative volume at each clock minute (clock_visible[c]: the panel's minutes ended by then),
        [symbol x clock minute], and which symbols have any bar, [symbol]."""
        return self._family("tod").clock_volume(self.place_keeping_stored_bars(panel), clock_visible)

    def tod_average_volume(self, history: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Mean clock volume of history [session x symbol x clock minute] with presence [session x symbol],
        [symbol x clock minute]."""
        return self._family("tod").tod_average_volume(history, present)


    def per_symbol_session(self, *arrays: object) -> None:
        """The simulator over one session for lanes with accounts of their own (tapescan/kernels/lane.py); host
        arrays in the order of tapescan.cpu_fallback.backtest.per_symbol_session, lane state updated in place."""
        self._family("backtest").per_symbol_session(*arrays)

CPU = Drivers("cpu", "tapescan.cpu_fallback")
GPU = Drivers("gpu", "tapescan.gpu")
#: What analytics functions accept as `backend`: a name to resolve (None reads $TAPESCAN_BACKEND) or a resolved one.
Backend = Union[str, Drivers, None]


def compute_for(backend: Backend = "auto") -> Drivers:
    """The drivers `backend` resolves to (a resolved one is handed back as it is)."""
    if isinstance(backend, Drivers):
        return backend
    return GPU if resolve_backend(backend).name == "gpu" else CPU
