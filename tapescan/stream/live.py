"""Live mode: a `LiveSource` feeds the coordinator's queues as items arrive; `ReplayAsLive` plays a stored
session at wall-clock pace as such a feed, to test live mode end to end.

A live source runs its own thread and hands items to the coordinator as `LiveItems` messages (the coordinator
stays the only writer of its queues) and gets a read-only view of session_data. Its `now()` is the feed's time,
which the run's `LiveClock` reads: in live mode the session ends when it passes the window's end.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

from tapescan.clock import TimeProvider
from tapescan.store import Store
from tapescan.stream.messages import LiveItems
from tapescan.stream.queues import Items
from tapescan.stream.readonly import ReadOnly
from tapescan.stream.sources import StoreSource

POLL_SECONDS = 0.01


class LiveSource(Protocol):
    """A feed of items for today's session."""

    day: dt.date

    def start(self, window: ReadOnly, streams: dict[str, tuple[str, ...]],
              deliver: Callable[[LiveItems], None]) -> None: ...

    def now(self) -> int: ...

    def delivered_through(self, instant: int) -> bool:
        """Everything with event time <= instant has been handed over (a vendor feed: its clock passed it)."""
        ...

    def stop(self) -> None: ...


class ReplayAsLive:
    """One stored session delivered item by item when `speed` x the elapsed wall time reaches each event time
    (the session starting at the window's start when `start` is called)."""

    def __init__(self, store: Store, day: dt.date, time: TimeProvider, speed: float = 1.0,
                 source: StoreSource | None = None) -> None:
        self.store, self.day, self.time, self.speed = store, day, time, speed
        self.source = source or StoreSource(store)
        self._origin: tuple[float, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._delivered = np.iinfo(np.int64).min  # the latest event time handed over

    def now(self) -> int:
        """The feed's time (ns): the window's start plus speed x the wall time since `start`."""
        if self._origin is None:
            return np.iinfo(np.int64).min
        wall, clock = self._origin
        return clock + int((self.time.monotonic() - wall) * self.speed * 1e9)

    def start(self, window: ReadOnly, streams: dict[str, tuple[str, ...]],
              deliver: Callable[[LiveItems], None]) -> None:
        panel = self.source.panel(self.day, window.symbols)
        items = self.source.session_items(panel, window.symbols, streams, window.start, window.end)
        self._origin = (self.time.monotonic(), window.start.value)
        self._thread = threading.Thread(target=self._play, args=(items, deliver), name="tapescan-live-feed",
                                        daemon=True)
        self._thread.start()

    def _play(self, items: dict[str, Items], deliver: Callable[[LiveItems], None]) -> None:
        times = np.unique(np.concatenate([i.time for i in items.values()])) if items else []
        for instant in times:
            while self.now() < instant:
                if self._stop.is_set():
                    return
                self.time.sleep(POLL_SECONDS)
            deliver(LiveItems({kind: i.take(slice(np.searchsorted(i.time, instant, "left"),
                                                  np.searchsorted(i.time, instant, "right")))
                               for kind, i in items.items()}))
            self._delivered = int(instant)
        self._delivered = np.iinfo(np.int64).max  # the whole session is handed over

    def delivered_through(self, instant: int) -> bool:
        return self._delivered >= instant

    def stop(self) -> None:
        self._stop.set()
