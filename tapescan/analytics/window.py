"""A rolling window of session panels kept in memory, on the GPU when the backend is the GPU.

A sweep moves day after day and every day needs the trailing N sessions (time-of-day volume, for one). The
window keeps the panels it has read, up to `capacity` of them, and forgets the earliest session first (not
the least recently used one: a sweep forward reads today before its trailing sessions, and would then
evict today); sweeping forward therefore reads each session from the store once, and on the GPU each panel is
built on the device once and stays there. All panels share one row order (`symbols`), so that sessions can
be compared row for row.

Device memory: a panel takes 41 bytes per (symbol, minute); 10,000 symbols x 390 minutes is 160 MB, so
a window of 20 sessions holds 3.2 GB.
"""

from __future__ import annotations

import datetime as dt

from tapescan import calendar
from tapescan.analytics.drivers import Backend, compute_for
from tapescan.analytics.placement import AnyPanel
from tapescan.errors import TapescanError
from tapescan.store import Store


class SessionWindow:
    """The panels of up to `capacity` sessions, the latest ones read, resident where the backend computes."""

    def __init__(self, store: Store, capacity: int, symbols: list[str] | None = None,
                 backend: Backend = "auto") -> None:
        if capacity < 1:
            raise TapescanError(f"a session window holds at least 1 session (got {capacity}).")
        self.store = store
        self.capacity = capacity
        self.symbols = list(store.symbols()["symbol"]) if symbols is None else [s.upper() for s in symbols]
        self.compute = compute_for(backend)
        self.reads = 0  # sessions read from the store so far
        self._panels: dict[dt.date, AnyPanel] = {}

    def hold_at_least(self, sessions: int) -> None:
        """Grow the window to hold `sessions` sessions (it never shrinks): a caller that needs N sessions at
        once sizes it so that moving forward reads each session once."""
        self.capacity = max(self.capacity, sessions)

    @property
    def resident(self) -> list[dt.date]:
        """The sessions held now, earliest first."""
        return sorted(self._panels)

    def panel(self, day: calendar.DateLike) -> AnyPanel:
        """The session's panel (rows: `symbols`), read from the store only when it is not resident."""
        day = calendar.to_date(day)
        if day not in self._panels:
            self._panels[day] = self._read(day)
            self.reads += 1
            while len(self._panels) > self.capacity:
                del self._panels[min(d for d in self._panels if d != day)]
        return self._panels[day]

    def _read(self, day: dt.date) -> AnyPanel:
        if self.compute.on_gpu:
            from tapescan.gpu.panels import load_session

            return load_session(self.store, day, self.symbols)
        return self.store.read_session(day, self.symbols)
