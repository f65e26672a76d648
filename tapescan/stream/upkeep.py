"""The data-upkeep thread: prefetches sessions, keeps the trailing history, fills gaps in the 1-minute bars.

It never touches session_data or the queues. It answers the coordinator's requests (tapescan/stream/messages)
with messages the coordinator applies on its own thread, so the two threads share no mutable state:

- before a session: its input items (read from the source) and its trailing historical bars, prepared while
  the previous session is still streaming (prefetch) and sent when that one ends;
- once per minute of session time: the 1-minute bars that session_data lacks and the source has (a gap
  fill); a bar still missing is asked for again at the next minute, until the session ends.

Historical bars of k minutes (historical_bars_types) for the N sessions before the current one come from the
store through the analytics layer (`derived_panel`); when a session ends the window rolls: the oldest
session is dropped and the finished one appended.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import queue
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.analytics.bars import counted_buckets, derived_panel, panel_frame
from tapescan.analytics.drivers import Backend, compute_for
from tapescan.store import SessionPanel
from tapescan.stream.config import ReplayConfig, Roster
from tapescan.stream.messages import Fill, GapCheck, JoinRequest, SessionEnded, SessionLoad, Stop, SymbolJoined
from tapescan.stream.queues import BAR_NS, Items
from tapescan.stream.session_data import SessionData
from tapescan.stream.sources import StoreSource


class DataUpkeep:
    """The second thread of a run; `inbox` takes the coordinator's requests, `send` delivers its answers."""

    def __init__(self, config: ReplayConfig, source: StoreSource, days: list[dt.date], send: Callable[[object], None],
                 fail: Callable[[BaseException], None], backend: Backend = "auto", stream_items: bool = True) -> None:
        self.config, self.source, self.days, self.send, self.fail = config, source, days, send, fail
        self.compute, self.stream_items = compute_for(backend), stream_items
        self.inbox: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="tapescan-data-upkeep", daemon=True)
        self._panels: dict[dt.date, SessionPanel] = {}
        self._history: dict[int, list[pd.DataFrame]] = {}
        self.roster = Roster.from_config(config)  # this thread's copy, kept in step by JoinRequests
        self._next = 0  # index in `days` of the session to prepare next

    def start(self) -> None:
        self.thread.start()

    # --- the thread ------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            prepared = self._prepare()
            self.send(prepared)
            prepared = self._prepare()
            for request in self._requests():
                if isinstance(request, Stop):
                    return
                if isinstance(request, GapCheck):
                    self._answer_gaps(request)
                elif isinstance(request, JoinRequest):
                    self._join(request)
                elif isinstance(request, SessionEnded):
                    self._roll_history(request.day)
                    if prepared is not None and prepared.rows != len(self.roster.symbols):
                        prepared = self._load(prepared.day)  # a symbol joined since: prepare it again
                    self.send(SessionLoad(None, {}, {}, 0) if prepared is None else
                              dataclasses.replace(prepared, history=self._history_copy()))
                    prepared = self._prepare()
                else:
                    raise TypeError(f"the data-upkeep thread got a request of unknown type "
                                    f"{type(request).__name__}: {request!r}")
        except BaseException as error:  # reported, and the run stops: never a silent dead thread
            self.fail(error)

    def _requests(self) -> Iterator[object]:
        """The inbox's requests in order, except that of consecutive gap checks only the newest is answered
        (it holds every gap still open), so that a busy coordinator's stale checks never delay a session end."""
        while True:
            batch = [self.inbox.get()]
            while True:
                try:
                    batch.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            for request, following in zip(batch, [*batch[1:], None]):
                if not (isinstance(request, GapCheck) and isinstance(following, GapCheck)):
                    yield request

    # --- sessions --------------------------------------------------------------------------------------

    def _prepare(self) -> SessionLoad | None:
        """The next session's items and history (prefetch), or None after the last session."""
        if self._next >= len(self.days):
            return None
        self._next += 1
        return self._load(self.days[self._next - 1])

    def _load(self, day: dt.date) -> SessionLoad:
        """`day`'s items for every symbol of the roster, and the history window."""
        symbols = list(self.roster.symbols)
        window = SessionData.for_session(day, self.config.start_time, self.config.end_time, symbols, [])
        items, derived = {}, {}
        if self.stream_items or day in self.source.store.sessions():  # live: the store may hold none of today
            panel = self._panels[day] = self.source.panel(day, symbols)
            if self.stream_items:
                items = self.source.session_items(panel, symbols, self.roster.streams, window.start, window.end)
                derived = {k: counted_buckets(panel, k, self.compute) for k in self.config.derived_intervals}
        for old in [d for d in self._panels if d < day - dt.timedelta(days=10)]:
            del self._panels[old]
        if not self._history:
            self._history = self._trailing(day, symbols)
        return SessionLoad(day, items, self._history_copy(), len(symbols), derived)

    def _join(self, request: JoinRequest) -> None:
        """A symbol added mid-session: its stream from the join on, its 1-minute bars before, its history; and
        from now on it is in every session prepared and in the gap fills."""
        self.roster.add(request.symbol, request.streams)
        window = SessionData.for_session(request.day, self.config.start_time, self.config.end_time,
                                         [request.symbol], [])
        items, backfill = {}, Items.empty("1m")
        if request.day in self.source.store.sessions():
            panel = self.source.panel(request.day, [request.symbol])
            fed = self.source.session_items(panel, [request.symbol], {request.symbol: request.streams}, window.start,
                                            window.end)
            for kind, part in fed.items():
                part = Items(kind, part.time, part.stamp, np.full(len(part), request.row, np.int32), part.values)
                later = part.time > request.clock
                items[kind] = part.take(np.flatnonzero(later))
                if kind == "1m":
                    backfill = part.take(np.flatnonzero(~later))
            self._panels[request.day] = self.source.panel(request.day, list(self.roster.symbols))
        history = self._trailing(request.day, [request.symbol])
        for k, frames in history.items():
            self._history[k] = [pd.concat([old, new], ignore_index=True)
                                for old, new in zip(self._history.get(k, []), frames)] or frames
        self.send(SymbolJoined(request.day, items, backfill, history))

    def _history_copy(self) -> dict[int, list[pd.DataFrame]]:
        """The history window as it stands (the lists are copied: the window keeps rolling here)."""
        return {k: list(v) for k, v in self._history.items()}

    def _trailing(self, day: dt.date, symbols: list[str]) -> dict[int, list[pd.DataFrame]]:
        """k-minute bars of `symbols` over the N sessions before `day`, for every k of historical_bars_types."""
        stored = set(self.source.store.sessions())
        days = [d for d in calendar.sessions_before(day, self.config.historical_bars_trailing_days) if d in stored]
        return {k: [self._bars(self.source.panel(d, symbols), k) for d in days]
                for k in self.config.historical_bars_types}

    def _bars(self, panel: SessionPanel, minutes: int) -> pd.DataFrame:
        bars = panel if minutes == 1 else derived_panel(panel, minutes, self.compute)
        return panel_frame(bars)

    def _roll_history(self, finished: dt.date) -> None:
        """Drop the oldest session of each history window and append the session that just ended."""
        if not self.config.historical_bars_trailing_days or finished not in self._panels:
            return
        for k, sessions in self._history.items():
            sessions.append(self._bars(self._panels[finished], k))
            del sessions[: max(0, len(sessions) - self.config.historical_bars_trailing_days)]

    # --- gaps ------------------------------------------------------------------------------------------

    def _answer_gaps(self, request: GapCheck) -> None:
        """The bars the source has for cells session_data lacks (as of the request's clock)."""
        panel = self._panels.get(request.day)
        if panel is None or panel.shape[0] != request.missing.shape[0]:  # none, or from before a symbol joined
            return
        offset = int((request.start - panel.minutes[0].value) // BAR_NS["1m"])
        width = request.missing.shape[1]
        if offset < 0 or offset + width > panel.shape[1]:
            return
        found = request.missing & panel.mask[:, offset:offset + width]
        rows, cols = np.nonzero(found)
        if not len(rows):
            return
        cols = cols + offset
        stamp = panel.minutes.asi8[cols]
        values = np.column_stack([panel.open[rows, cols], panel.high[rows, cols], panel.low[rows, cols],
                                  panel.close[rows, cols], panel.volume[rows, cols].astype(np.float64)])
        self.send(Fill(request.day, Items("1m", stamp + BAR_NS["1m"], stamp, rows.astype(np.int32), values)))
