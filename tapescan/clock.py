"""One clock per run: the only notion of "now" that the Data Manager, the system, the coordinator and pacing read.

A `Clock` says what instant it is (`now_ns`, `now`; its `mode` says whether that is replayed or real time) and
measures wall time for pacing and timeouts (`monotonic`, `sleep`), as nautilus_trader's clocks do:

- `ReplayClock` (backtest, nautilus's TestClock): its instant moves only when the replay's coordinator (or a
  test) advances it;
- `LiveClock` (live): its instant is the live feed's time, or the machine's when there is no feed.

Wall time comes from a `TimeProvider`, injectable: `RealTime` in use, `FakeTime` in tests (nothing sleeps).
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable
from typing import Protocol

import pandas as pd

from tapescan import calendar
from tapescan.errors import TapescanError


class TimeProvider(Protocol):
    """Wall time: a monotonic reading in seconds, and a way to wait."""

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


class Clock(Protocol):
    """What everything of a run reads for "now" and for wall time."""

    mode: str  # "backtest" (a replayed instant) or "live" (real time)

    def now_ns(self) -> int:
        """The current instant, ns since the epoch (UTC)."""
        ...

    def now(self) -> pd.Timestamp:
        """The current instant in ET."""
        ...

    def advance_to(self, instant: int) -> None:
        """The run has delivered every event up to `instant` (ns): a replay clock moves there; a live clock
        keeps its feed's time."""
        ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class _WallTimed(abc.ABC):
    """What both clocks share: the instant in ET from `now_ns`, wall time from a TimeProvider."""

    def __init__(self, wall: TimeProvider | None) -> None:
        self.wall = wall or RealTime()

    @abc.abstractmethod
    def now_ns(self) -> int: ...

    def now(self) -> pd.Timestamp:
        return pd.Timestamp(self.now_ns(), tz="UTC").tz_convert(calendar.ET)

    def monotonic(self) -> float:
        return self.wall.monotonic()

    def sleep(self, seconds: float) -> None:
        self.wall.sleep(seconds)


class ReplayClock(_WallTimed):
    """Backtest mode: an instant that only the replay (or a caller) sets and advances."""

    mode = "backtest"

    def __init__(self, start: pd.Timestamp | str, wall: TimeProvider | None = None) -> None:
        super().__init__(wall)
        self._ns = _aware(start).value

    def now_ns(self) -> int:
        return self._ns

    def advance_to(self, instant: int) -> None:
        self._ns = int(instant)

    def set(self, instant: pd.Timestamp | str) -> None:
        """Move to `instant` (time-zone aware)."""
        self._ns = _aware(instant).value

    def advance(self, minutes: float = 1) -> None:
        self._ns += pd.Timedelta(minutes=minutes).value


class LiveClock(_WallTimed):
    """Live mode: the feed's time (`feed`: int ns since the epoch, UTC), or the machine's without a feed."""

    mode = "live"

    def __init__(self, feed: Callable[[], int] | None = None, wall: TimeProvider | None = None) -> None:
        super().__init__(wall)
        self._feed = feed or time.time_ns

    def now_ns(self) -> int:
        return int(self._feed())

    def advance_to(self, instant: int) -> None:
        """Nothing to do: live time is the feed's, whatever has been delivered."""


def _aware(instant: pd.Timestamp | str) -> pd.Timestamp:
    stamp = pd.Timestamp(instant)
    if stamp.tzinfo is None:
        raise TapescanError(f"{instant!r} has no time zone; give one, e.g. '2024-12-02 10:00-05:00'.")
    return stamp.tz_convert(calendar.ET)
