"""The system manager: one per run. It owns the state (running / paused / stopped), the mode (backtest /
live) and the one clock of the run, the Data Manager, the stream coordinator and its session_data, the data-upkeep thread, the error flag
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

from tapescan import calendar
from tapescan.analytics.drivers import Backend, compute_for
from tapescan.clock import Clock, LiveClock, RealTime, ReplayClock, TimeProvider
from tapescan.data_manager import DataManager
from tapescan.errors import TapescanError
from tapescan.store import Store
from tapescan.stream.config import ReplayConfig, streams_for
from tapescan.stream.coordinator import StreamCoordinator
from tapescan.stream.live import LiveSource
from tapescan.stream.messages import AddSymbol, Advance, Stop
from tapescan.stream.readonly import ReadOnly
from tapescan.stream.session_data import SessionData
from tapescan.stream.snapshot import SnapshotWriter
from tapescan.stream.sources import StoreSource
from tapescan.stream.timing import PAUSE_POLL_SECONDS
from tapescan.stream.upkeep import DataUpkeep
from tapescan.tickers import clean_ticker, name_symbols

#: How long an interrupted join waits for the threads to stop and clean up before it gives up on them.
STOP_GRACE_SECONDS = 10.0


class SystemState(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class SystemManager:
    """One run: a replay (backtest) of the store's sessions from `start` to `end`, or, with `live`, today's
    session from a live source (mode "live"; the store then serves the history and the gap fills).

    The run has one clock (`clock`), which the Data Manager, the coordinator and pacing all read: a replay's is
    a `ReplayClock` that the coordinator advances, a live run's the `LiveClock` of the source's feed. `time`
    is the wall time both measure pacing and timeouts on (a `FakeTime` in tests)."""

    def __init__(self, store: Store, config: ReplayConfig, start: calendar.DateLike, end: calendar.DateLike,
                 source: StoreSource | None = None, snapshot_dir: Path | None = None,
                 time: TimeProvider | None = None, backend: Backend = "auto", live: LiveSource | None = None) -> None:
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
        wall = time or RealTime()
        self.clock: Clock = LiveClock(live.now, wall) if live is not None else \
            ReplayClock(calendar.session_bounds(self.days[0])[0], wall)
        self.state = SystemState.STOPPED
        backend = compute_for(backend)  # resolved once for the Data Manager and the upkeep thread
        # The Data Manager only reads session_data: it gets the coordinator's object, not a fresh view per call.
        self.data_manager = DataManager(store, self.clock, backend, lambda: self.coordinator.session_data)
        self.coordinator = StreamCoordinator(self, config, self.clock, lambda message: self.upkeep.inbox.put(message),
                                             live)
        self.upkeep = DataUpkeep(config, source or StoreSource(store), self.days, self.coordinator.inbox.put,
                                 self.fail, backend, stream_items=live is None)
        self.snapshots = SnapshotWriter(snapshot_dir, config) if snapshot_dir is not None else None
        self.sessions_done: list[dt.date] = []
        self._consumers: list[Callable[[ReadOnly, Advance], None]] = []
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._resumed = threading.Event()
        self._thread = threading.Thread(target=self._main, name="tapescan-coordinator", daemon=True)
        self._finished = threading.Event()  # set as the coordinator thread's last act

    @property
    def session_data(self) -> ReadOnly | None:
        """The run's session_data, read-only (the coordinator thread is its only writer)."""
        data = self.coordinator.session_data
        return None if data is None else ReadOnly(data)

    @property
    def stream_coordinator_timer_expired(self) -> bool:
        """The error flag: a session ended by the timeout (its data stopped before the window's end)."""
        return self.coordinator.timer_expired

    @property
    def running(self) -> bool:
        return self.state is SystemState.RUNNING

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # --- control (any thread) ---------------------------------------------------------------------------

    def subscribe(self, consumer: Callable[[ReadOnly, Advance], None]) -> None:
        """Call `consumer(session_data, advance)` on the coordinator thread after every clock advance, with a
        read-only view of session_data."""
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

    def wait_while_paused(self) -> float:
        """Block while paused (until resumed or stopped); the wall seconds spent paused."""
        if self.state is not SystemState.PAUSED:
            return 0.0
        paused_at = self.clock.monotonic()
        while not self._resumed.wait(PAUSE_POLL_SECONDS):
            if self.stopping:
                break
        return self.clock.monotonic() - paused_at

    @property
    def mode(self) -> str:
        """"backtest" or "live", as the run's clock says."""
        return self.clock.mode

    def on_session_start(self, data: SessionData) -> None:
        if self.snapshots is not None:
            self.snapshots.open(data, self.coordinator.roster)

    def on_advance(self, advance: Advance) -> None:
        data = self.session_data
        for consumer in self._consumers:
            consumer(data, advance)
        self._snapshot(advance.clock)

    def on_session_end(self, data: SessionData, instant: int) -> None:
        self._snapshot(instant)
        if self.snapshots is not None:
            self.snapshots.close()
        self.sessions_done.append(data.date)

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

