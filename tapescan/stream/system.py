"""The system manager: one per run. It owns the state (running / paused / stopped), the mode (backtest /
live), the Data Manager, the stream coordinator and its session_data, the data-upkeep thread, the error flag
`stream_coordinator_timer_expired`, the snapshot writer and the consumers. There are no module-level
globals: "singleton" means one per run, reachable as `system_manager.session_data`.

Threads: `start()` launches the main coordinator thread and the data-upkeep thread; `pause()`, `resume()`
and `stop()` may be called from any thread; `join()` waits for the end and re-raises an error from either
thread (an error stops the run: never a hang).
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from tapescan import calendar
from tapescan.data_manager import DataManager, FeedClock, ReplayClock
from tapescan.errors import TapescanError
from tapescan.scanner.groups import clean_ticker
from tapescan.store import Store
from tapescan.stream.config import ReplayConfig, streams_for
from tapescan.stream.coordinator import Advance, StreamCoordinator
from tapescan.stream.live import LiveSource
from tapescan.stream.messages import AddSymbol, Stop
from tapescan.stream.session_data import SessionData
from tapescan.stream.snapshot import SnapshotWriter
from tapescan.stream.sources import StoreSource
from tapescan.stream.timing import RealTime, TimeProvider
from tapescan.stream.upkeep import DataUpkeep

PAUSE_POLL_SECONDS = 0.02
#: How long an interrupted join waits for the threads to stop and clean up before it gives up on them.
STOP_GRACE_SECONDS = 10.0


class SystemState(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class Pacing:
    """When an item is due: at once when speed is 0; else when `speed` x the wall time elapsed since the
    session started (pauses excluded) reaches its distance from the session start."""

    def __init__(self, speed: float, time: TimeProvider, clock_start: int) -> None:
        self.speed, self.time = speed, time
        self.clock_start = clock_start
        self.wall_start = time.monotonic()

    def shift(self, seconds: float) -> None:
        """A pause of `seconds`: everything is due that much later."""
        self.wall_start += seconds

    def wait_until(self, instant: int, system: SystemManager) -> None:
        if self.speed <= 0:
            return
        while not system.stopping:
            due = self.wall_start + (instant - self.clock_start) / 1e9 / self.speed
            remaining = due - self.time.monotonic()
            if remaining <= 0:
                return  # due, or behind the paced clock (stale): delivered at once
            self.time.sleep(min(remaining, PAUSE_POLL_SECONDS))
            system.wait_while_paused(self)


class SystemManager:
    """One run: a replay (backtest) of the store's sessions from `start` to `end`, or, with `live`, today's
    session from a live source (mode "live"; the store then serves the history and the gap fills)."""

    def __init__(self, store: Store, config: ReplayConfig, start: calendar.DateLike, end: calendar.DateLike,
                 source: StoreSource | None = None, snapshot_dir: Path | None = None,
                 time: TimeProvider | None = None, backend: str = "auto", live: LiveSource | None = None) -> None:
        first, last = calendar.to_date(start), calendar.to_date(end)
        self.days = [d for d in store.sessions() if first <= d <= last] if live is None else [live.day]
        if not self.days:
            raise TapescanError(f"the store holds no session from {first} to {last}; pick a stored range.")
        #: Configured symbols with no bar in the replayed sessions (they stay empty); none in live mode.
        self.symbols_without_data = [] if live is not None else symbols_without_data(store, config.symbols, self.days)
        if len(self.symbols_without_data) == len(config.symbols):
            raise TapescanError(
                f"no symbol of the replay config has bars in the store from {self.days[0]} to {self.days[-1]} "
                f"({name_symbols(config.symbols)}); every session would only wait out the session timeout. "
                "Check the symbols (`tapescan info STORE --all-symbols` lists them) or pick a range they cover.")
        self.store, self.config, self.live = store, config, live
        self.time = time or RealTime()
        self.state = SystemState.STOPPED
        self.stream_coordinator_timer_expired = False
        # a replay moves its clock itself; a live run reads its feed's clock
        self.replay_clock = ReplayClock(calendar.session_bounds(self.days[0])[0]) if live is None else None
        self.data_manager = DataManager(store, self.replay_clock or FeedClock(live.now), backend)
        self.coordinator = StreamCoordinator(self)
        self.upkeep = DataUpkeep(config, source or StoreSource(store), self.days, self.coordinator.inbox.put,
                                 self.fail, backend, stream_items=live is None)
        self.snapshots = SnapshotWriter(snapshot_dir, config) if snapshot_dir is not None else None
        self.sessions_done: list[dt.date] = []
        self._consumers: list[Callable[[SessionData, Advance], None]] = []
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._resumed = threading.Event()
        self._thread = threading.Thread(target=self._main, name="tapescan-coordinator", daemon=True)
        self._finished = threading.Event()  # set as the coordinator thread's last act

    @property
    def session_data(self) -> SessionData | None:
        return self.coordinator.session_data

    @property
    def running(self) -> bool:
        return self.state is SystemState.RUNNING

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # --- control (any thread) ---------------------------------------------------------------------------

    def subscribe(self, consumer: Callable[[SessionData, Advance], None]) -> None:
        """Call `consumer(session_data, advance)` on the coordinator thread after every clock advance."""
        self._consumers.append(consumer)

    def add_symbol(self, symbol: str, streams: Sequence[str] = ("1m",)) -> None:
        """Start streaming `symbol` now (any thread): its stream starts at once and the upkeep thread backfills
        its 1-minute bars from the session start, its derived bars and its trailing history. It is in the
        snapshot files from the next session on. A `symbol` that cannot be a ticker is a TapescanError."""
        try:
            ticker = clean_ticker(symbol)
        except ValueError as error:
            raise TapescanError(f"add_symbol: {error}") from None
        self.coordinator.inbox.put(AddSymbol(ticker, streams_for(self.config, tuple(streams))))

    def start(self) -> None:
        self.state = SystemState.RUNNING
        self._resumed.set()
        self.upkeep.start()
        self._thread.start()

    def pause(self) -> None:
        if self.state is SystemState.RUNNING:
            self.state = SystemState.PAUSED
            self._resumed.clear()

    def resume(self) -> None:
        if self.state is SystemState.PAUSED:
            self.state = SystemState.RUNNING
            self._resumed.set()

    def stop(self) -> None:
        self._stop.set()
        self._resumed.set()

    def fail(self, error: BaseException) -> None:
        """An error in either thread: remember the first one and stop the run."""
        if self._error is None:
            self._error = error
        self.stop()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the run to end; re-raise the error that stopped it, if any. Interrupted while waiting
        (Ctrl-C), it stops the run and lets the threads clean up (no partial snapshot file) before it re-raises."""
        try:  # an Event, not Thread.join: CPython marks a thread stopped when an exception interrupts its join
            finished = self._finished.wait(timeout)
        except BaseException:
            self.stop()
            self._finished.wait(STOP_GRACE_SECONDS)
            raise
        if not finished:
            raise TapescanError("the replay did not finish in time; stop() it or give it longer.")
        if self._error is not None:
            raise self._error

    def run(self) -> None:
        """start() and join(): the whole replay, on the coordinator thread."""
        self.start()
        self.join()

    # --- called on the coordinator thread ---------------------------------------------------------------

    def pacing(self, clock_start: int) -> Pacing:
        return Pacing(self.config.speed, self.time, clock_start)

    def wait_while_paused(self, pacing: Pacing | None) -> None:
        if self.state is not SystemState.PAUSED:
            return
        paused_at = self.time.monotonic()
        while not self._resumed.wait(PAUSE_POLL_SECONDS):
            if self.stopping:
                return
        if pacing is not None:
            pacing.shift(self.time.monotonic() - paused_at)

    @property
    def mode(self) -> str:
        """"backtest" or "live", as the Data Manager's clock says."""
        return self.data_manager.mode

    def on_session_start(self, data: SessionData) -> None:
        self._follow(data.start)
        if self.snapshots is not None:
            self.snapshots.open(data, self.coordinator.roster)

    def on_advance(self, advance: Advance) -> None:
        data = self.coordinator.session_data
        self._follow(_timestamp(advance.clock))
        for consumer in self._consumers:
            consumer(data, advance)
        self._snapshot(advance.clock)

    def on_session_end(self, data: SessionData, clock: int) -> None:
        self._snapshot(clock)
        if self.snapshots is not None:
            self.snapshots.close()
        self.sessions_done.append(data.date)

    def _follow(self, instant: pd.Timestamp) -> None:
        """A replay's clock follows the coordinator's; a live run's reads the feed, so there is nothing to set."""
        if self.replay_clock is not None:
            self.replay_clock.set(instant)

    def _snapshot(self, clock: int) -> None:
        if self.snapshots is not None:
            self.snapshots.row(clock, self.state.value, self.mode, self.coordinator.session_data,
                               self.coordinator.queues)

    def _main(self) -> None:
        try:
            self.coordinator.run()
        except BaseException as error:
            self.fail(error)
        finally:
            if self.snapshots is not None:  # a session cut short by an error or stop() leaves no file
                self.snapshots.abandon()
            self.upkeep.inbox.put(Stop())
            self.state = SystemState.STOPPED
            self._finished.set()


def symbols_without_data(store: Store, symbols: Sequence[str], days: Sequence[dt.date]) -> list[str]:
    """The symbols of `symbols` without a bar in the sessions `days[0]` to `days[-1]` (read from the daily table,
    which is small), in their order: the ones a replay of those days would leave empty."""
    present = set(store.read_daily(days[0], days[-1], list(symbols))["symbol"])
    return [symbol for symbol in symbols if symbol not in present]


def name_symbols(symbols: Sequence[str], most: int = 10) -> str:
    """Up to `most` symbols, comma-separated, then how many more there are."""
    named = ", ".join(symbols[:most])
    return named if len(symbols) <= most else f"{named} and {len(symbols) - most} more"


def _timestamp(ns: int) -> pd.Timestamp:
    return pd.Timestamp(ns, tz="UTC").tz_convert(calendar.ET)
