"""Wall time for pacing and timeouts, injectable: `RealTime` in use, `FakeTime` in tests (no sleeping)."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class TimeProvider(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealTime:
    """The machine's monotonic clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class FakeTime:
    """A clock that moves only when someone sleeps on it: pacing and timeouts are tested without waiting."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept = 0.0  # total seconds slept, for tests

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)
            self.slept += max(0.0, seconds)
        time.sleep(0)  # let other threads run
