"""The main coordinator thread: moves queued items into session_data in time order, one clock advance per
distinct event time, and runs the session lifecycle.

Concurrency, by construction: this thread is the only writer of session_data, the queues and the clock. The
data-upkeep thread sends it messages (a session's items, gap fills) through `inbox`; it applies them between
two advances. Consumers are called on this thread right after an advance, so they always read a consistent
session_data. Nothing else is shared.

An advance: the clock moves to the oldest queued event time t (speed 0: at once; speed x: when x times the
elapsed wall time reaches it; an item already behind the paced clock is delivered at once, the client's
fast-forward); every item with event time <= t of every symbol moves, by type in STREAM_TYPES order (1m,
1s, quote, tick), then derived buckets that have ended are completed. The session ends when every queue is
empty: normally when the clock is within a minute of the window's end, else after `session_timeout_seconds`
without new data, with `stream_coordinator_timer_expired` set. The clock then stays where the last item put
it, session_ended is set (one more snapshot row), and the next session starts at its start time.
"""

from __future__ import annotations

import datetime as dt
import queue
from collections.abc import Callable
from typing import Protocol

import numpy as np
import pandas as pd

from tapescan.calendar import NS_PER_MINUTE
from tapescan.clock import Clock
from tapescan.stream.config import STREAM_TYPES, ReplayConfig, Roster
from tapescan.stream.live import LiveSource
from tapescan.stream.messages import (
    AddSymbol,
    Advance,
    Fill,
    GapCheck,
    JoinRequest,
    LiveItems,
    SessionEnded,
    SessionLoad,
    SymbolJoined,
)
from tapescan.stream.queues import InputQueue
from tapescan.stream.readonly import ReadOnly
from tapescan.stream.session_data import SessionData
from tapescan.stream.timing import Pacing, Pausable

POLL_SECONDS = 0.02


class CoordinatorHost(Pausable, Protocol):
    """What the coordinator needs of the run that hosts it (the system manager): whether it is running or
    stopping, a wait while it is paused, and the session lifecycle to report to."""

    @property
    def running(self) -> bool: ...

    def on_session_start(self, data: SessionData) -> None: ...

    def on_advance(self, advance: Advance) -> None: ...

    def on_session_end(self, data: SessionData, instant: int) -> None: ...


class StreamCoordinator:
    """Owns the queues and session_data and advances the run's clock; `run` is the main coordinator thread's
    body. It takes messages through `inbox`, sends the upkeep thread its requests through `send` (its outbox),
    and reports to its `host`."""

    def __init__(self, host: CoordinatorHost, config: ReplayConfig, clock: Clock, send: Callable[[object], None],
                 live: LiveSource | None = None) -> None:
        self.host, self.config, self.clock, self.send, self.live = host, config, clock, send, live
        self.roster = Roster.from_config(config)
        self.inbox: queue.Queue = queue.Queue()
        self.queues = {kind: InputQueue(kind, len(self.roster.symbols)) for kind in STREAM_TYPES}
        self._streams_1m = np.array(["1m" in self.roster.streams[s] for s in self.roster.symbols], dtype=bool)
        #: The event time (ns) of the last advance: session_data holds every item up to it. A replay's clock
        #: is advanced to it; a live clock (the feed's) runs ahead of it.
        self.instant = 0
        self.session_data: SessionData | None = None
        #: Set when a session ended by the timeout: its data stopped before the window's end.
        self.timer_expired = False
        self.advances = 0
        self.items_moved = 0
        self._checked_minute = 0

    # --- the thread ------------------------------------------------------------------------------------

    def run(self) -> None:
        while not self.host.stopping:
            load = self._wait_for(SessionLoad)
            if load is None or load.day is None:
                return
            self._start_session(load)
            if self.live is not None:
                self._stream_live()
            else:
                self._stream_session()
            if self.host.stopping:
                return
            self._end_session()

    def _wait_for(self, kind: type) -> object | None:
        """Apply messages until one of `kind` arrives (None if the run stops first)."""
        while not self.host.stopping:
            try:
                message = self.inbox.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if isinstance(message, kind):
                return message
            self._apply(message)
        return None

    def _apply(self, message: object) -> None:
        """Apply one message; a Fill or SymbolJoined of another session than the current one is stale and
        dropped. A message of any other type is a bug: TypeError naming it."""
        if isinstance(message, Fill):
            if self._current(message.day):
                self.session_data.refill_minute_bars(message.items)
        elif isinstance(message, AddSymbol):
            self._add_symbol(message)
        elif isinstance(message, SymbolJoined):
            if self._current(message.day):
                self._joined(message)
        elif isinstance(message, LiveItems):
            for kind, items in message.items.items():
                if kind in self.queues and len(items):
                    self.queues[kind].load(items)
        elif isinstance(message, SessionLoad):  # arrives early only if a session had no data at all
            self.inbox.put(message)
        else:
            raise TypeError(f"the coordinator got a message of unknown type {type(message).__name__}: {message!r}")

    def _current(self, day: dt.date) -> bool:
        return self.session_data is not None and day == self.session_data.date

    def _add_symbol(self, message: AddSymbol) -> None:
        """A symbol added mid-session gets a row at once; the upkeep thread sends its stream and backfill."""
        if message.symbol in self.roster.symbols or self.session_data is None:
            return
        row = self.roster.add(message.symbol, message.streams)
        self._streams_1m = np.append(self._streams_1m, "1m" in message.streams)
        self.session_data.add_symbol(message.symbol)
        for q in self.queues.values():
            q.grow()
        self.send(JoinRequest(message.symbol, message.streams, row, self.session_data.date, self.instant))

    def _joined(self, message: SymbolJoined) -> None:
        data = self.session_data
        for kind, items in message.items.items():
            self.queues[kind].load(items)
        if len(message.backfill):
            data.refill_minute_bars(message.backfill)
        for k, frames in message.history.items():
            sessions = data.history.setdefault(k, [])
            data.history[k] = [pd.concat([old, new], ignore_index=True) for old, new in zip(sessions, frames)] \
                if len(sessions) == len(frames) else list(frames)

    def _drain(self) -> None:
        """Apply every message already waiting (gap fills), without blocking."""
        while True:
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(message, SessionLoad):
                self.inbox.put(message)
                return
            self._apply(message)

    # --- a session -------------------------------------------------------------------------------------

    def _start_session(self, load: SessionLoad) -> None:
        config = self.config
        data = SessionData.for_session(load.day, config.start_time, config.end_time, self.roster.symbols,
                                       config.derived_intervals)
        data.history = load.history
        if load.rows == len(self.roster.symbols):
            data.prefetched = load.derived
        for kind, items in load.items.items():
            self.queues[kind].clear()
            self.queues[kind].load(items)
        self.session_data = data
        self.instant = data.start.value
        self.clock.advance_to(self.instant)
        self._checked_minute = 0
        self.host.on_session_start(data)

    def _next_time(self) -> int | None:
        times = [t for t in (q.next_time() for q in self.queues.values()) if t is not None]
        return min(times) if times else None

    def _stream_session(self) -> None:
        data = self.session_data
        pacing = Pacing(self.config.speed, self.clock, self.instant)
        while not self.host.stopping:
            pacing.shift(self.host.wait_while_paused())
            self._drain()
            upcoming = self._next_time()
            if upcoming is None:
                if self.instant >= data.end.value - NS_PER_MINUTE or not self._wait_for_data():
                    return
                continue
            pacing.wait_until(upcoming, self.host)
            self._advance(max(upcoming, self.instant))

    def _stream_live(self) -> None:
        """Live mode: deliver items as soon as they arrive, in time order (a late item is delivered at once and
        never moves the clock back); the session ends when the live clock has passed the window's end and the
        source has handed over everything up to it. The source gets a read-only view of session_data."""
        data, live, clock = self.session_data, self.live, self.clock
        live.start(ReadOnly(data), dict(self.roster.streams), self.inbox.put)
        try:
            while not self.host.stopping:
                self.host.wait_while_paused()
                self._drain()
                upcoming = self._next_time()
                if upcoming is not None and upcoming <= clock.now_ns():
                    self._advance(max(upcoming, self.instant))
                elif upcoming is None and clock.now_ns() > data.end.value and live.delivered_through(data.end.value):
                    self._drain()  # what the source handed over just before it said so
                    if self._next_time() is None:
                        return
                else:
                    clock.sleep(POLL_SECONDS)
        finally:
            live.stop()

    def _wait_for_data(self) -> bool:
        """Every queue is empty before the window's end: wait up to the timeout (counted while running) for
        new data; False (and the error flag set) when it expires."""
        waited, clock = 0.0, self.clock
        while not self.host.stopping:
            if self._next_time() is not None:
                return True
            started = clock.monotonic()
            clock.sleep(POLL_SECONDS)
            self._drain()
            if self.host.running:
                waited += clock.monotonic() - started
            if waited >= self.config.session_timeout_seconds:
                self.timer_expired = True
                return False
        return False

    def _advance(self, instant: int) -> None:
        data = self.session_data
        data.begin_advance()
        delivered = []
        for kind in STREAM_TYPES:
            if kind in self.queues:
                items = self.queues[kind].pop_through(instant)
                if len(items):
                    (data.add_minute_bars if kind == "1m" else data.add_streamed)(items)
                    delivered.append((kind, items))
                    self.items_moved += len(items)
        self.instant = instant
        self.clock.advance_to(instant)
        data.complete_buckets(instant)
        self.advances += 1
        self._check_gaps()
        self.host.on_advance(Advance(instant, delivered))

    def _check_gaps(self) -> None:
        """Once per minute of session time, tell the upkeep thread which 1-minute bars are missing."""
        data = self.session_data
        minute = int((self.instant - data.start.value) // NS_PER_MINUTE)
        if minute <= self._checked_minute:
            return
        self._checked_minute = minute
        missing = data.missing_minutes(self.instant) & self._streams_1m[:, None]  # only symbols streaming 1m bars
        if missing.any():
            self.send(GapCheck(data.date, data.start.value, missing))

    def _end_session(self) -> None:
        data = self.session_data
        data.session_ended = True
        self.host.on_session_end(data, self.instant)
        self.send(SessionEnded(data.date))

