"""Where a replay's input items come from, one session at a time.

`StoreSource` reads 1-minute bars from the store. The store holds no 1-second bars, quotes or ticks, so a
config that asks for them needs another source: `SyntheticStreams` derives them, deterministically, from each
1-minute bar (three 1-second bars, a quote at each of their end instants, so that quotes and 1-second bars
share event times, and two trades), for tests, benchmarks and demonstrations.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from tapescan.calendar import NS_PER_SECOND
from tapescan.errors import TapescanError
from tapescan.store import SessionPanel, Store
from tapescan.stream.queues import BAR_NS, Items


class StoreSource:
    """1-minute bars from the store (the session window's regular-session bars)."""

    provides = ("1m",)

    def __init__(self, store: Store) -> None:
        self.store = store

    def panel(self, day: dt.date, symbols: list[str]) -> SessionPanel:
        return self.store.read_session(day, symbols)

    def session_items(self, panel: SessionPanel, symbols: list[str], streams: dict[str, tuple[str, ...]],
                      start: pd.Timestamp, end: pd.Timestamp) -> dict[str, Items]:
        """The items of every (symbol, stream) of the session `panel` holds (its rows: `symbols`), with
        stamps from `start` and event times up to `end`."""
        wanted = {kind for kinds in streams.values() for kind in kinds}
        missing = sorted(wanted - set(self.provides))
        if missing:
            raise TapescanError(f"the store holds 1-minute bars only; no source for {', '.join(missing)} streams. "
                                "Ask for streams [\"1m\"] (or feed the others from a live source).")
        return {kind: self._items(kind, panel, symbols, streams, start, end) for kind in sorted(wanted)}

    def _items(self, kind: str, panel: SessionPanel, symbols: list[str], streams: dict[str, tuple[str, ...]],
               start: pd.Timestamp, end: pd.Timestamp) -> Items:
        wanted = np.array([kind in streams[s] for s in symbols], dtype=bool)
        cols, rows = np.nonzero((panel.mask & wanted[:, None]).T)  # time-major: the queue's order, no sort
        stamp = panel.minutes.asi8[cols]
        values = np.column_stack([panel.open[rows, cols], panel.high[rows, cols], panel.low[rows, cols],
                                  panel.close[rows, cols], panel.volume[rows, cols].astype(np.float64)])
        items = Items("1m", stamp + BAR_NS["1m"], stamp, rows.astype(np.int32), values)
        return _inside(items, start, end)


def _inside(items: Items, start: pd.Timestamp, end: pd.Timestamp) -> Items:
    """The items delivered inside the window: stamp >= start and event time <= end."""
    keep = (items.stamp >= start.value) & (items.time <= end.value)
    return items.take(np.flatnonzero(keep))


class SyntheticStreams(StoreSource):
    """The store's 1-minute bars plus 1-second bars, quotes and ticks derived from each of them."""

    provides = ("1m", "1s", "quote", "tick")

    def _items(self, kind: str, panel: SessionPanel, symbols: list[str], streams: dict[str, tuple[str, ...]],
               start: pd.Timestamp, end: pd.Timestamp) -> Items:
        if kind == "1m":
            return super()._items(kind, panel, symbols, streams, start, end)
        wanted = np.array([kind in streams[s] for s in symbols], dtype=bool)
        rows, cols = np.nonzero(panel.mask & wanted[:, None])
        minute = panel.minutes.asi8[cols]
        o, h, lo, c = panel.open[rows, cols], panel.high[rows, cols], panel.low[rows, cols], panel.close[rows, cols]
        v = panel.volume[rows, cols].astype(np.float64)
        seconds = (0, 29, 58)  # 1-second bars [0, 1), [29, 30), [58, 59): one opens, one spans, one closes
        if kind == "1s":
            parts = [(o, o, o, o), (o, h, lo, c), (c, c, c, c)]
            stamps = [minute + s * NS_PER_SECOND for s in seconds]
            items = [Items("1s", st + BAR_NS["1s"], st, rows.astype(np.int32),
                           np.column_stack([*p, np.floor(v / 3)])) for st, p in zip(stamps, parts)]
        elif kind == "quote":
            times = [minute + (s + 1) * NS_PER_SECOND for s in seconds]  # the 1-second bars' event times
            items = [Items("quote", t, t, rows.astype(np.int32),
                           np.column_stack([c - 0.01, c + 0.01, np.full(len(c), 100.0), np.full(len(c), 200.0)]))
                     for t in times]
        else:
            times = [minute + 10_250_000_000, minute + 45_500_000_000]  # trades at 10.25 s and 45.5 s
            items = [Items("tick", t, t, rows.astype(np.int32), np.column_stack([p, np.floor(v / 4)]))
                     for t, p in zip(times, (o, c))]
        merged = Items(kind, *(np.concatenate([getattr(i, f) for i in items]) for f in ("time", "stamp", "symbol",
                                                                                         "values")))
        return _inside(merged, start, end)
