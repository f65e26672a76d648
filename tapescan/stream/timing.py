"""Pacing: when a replayed item is due on the run's clock (`speed` x wall time), pauses excluded."""

from __future__ import annotations

from typing import Protocol

from tapescan.clock import Clock

#: How often a paced wait looks for a pause or a stop (seconds).
PAUSE_POLL_SECONDS = 0.02


class Pausable(Protocol):
    """A run that can be paused or stopped while something waits on it."""

    @property
    def stopping(self) -> bool: ...

    def wait_while_paused(self) -> float:
        """Block while the run is paused; the wall seconds spent paused (0 when it was not)."""
        ...


class Pacing:
    """When an item is due: at once when speed is 0; else when `speed` x the wall time elapsed since the
    session started (pauses excluded) reaches its distance from the session start."""

    def __init__(self, speed: float, clock: Clock, clock_start: int) -> None:
        self.speed, self.clock = speed, clock
        self.clock_start = clock_start
        self.wall_start = clock.monotonic()

    def shift(self, seconds: float) -> None:
        """A pause of `seconds`: everything is due that much later."""
        self.wall_start += seconds

    def wait_until(self, instant: int, run: Pausable) -> None:
        """Wait (on the clock's wall time) until the item of event time `instant` is due, or the run stops."""
        if self.speed <= 0:
            return
        while not run.stopping:
            due = self.wall_start + (instant - self.clock_start) / 1e9 / self.speed
            remaining = due - self.clock.monotonic()
            if remaining <= 0:
                return  # due, or behind the paced clock (stale): delivered at once
            self.clock.sleep(min(remaining, PAUSE_POLL_SECONDS))
            self.shift(run.wait_while_paused())
