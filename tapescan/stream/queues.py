"""Input queues: one per (symbol, stream type), held as one time-ordered table per type.

A stream type is one of `1m`, `1s` (bars), `quote`, `tick`; derived bars never enter a queue. Each item has
an event time (when it is delivered: a bar's available time, start + its length; a quote's or tick's own
time), a stamp (a bar's start; the event time otherwise), the symbol's row and its values. The queue of one
(symbol, type) is the rows of that symbol in the type's table: one table per type keeps every pop a slice
(all the items of one event time at once, for all symbols) instead of a Python loop per item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tapescan.calendar import NS_PER_MINUTE, NS_PER_SECOND

#: The values each stream type carries, in column order.
VALUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "1m": ("open", "high", "low", "close", "volume"),
    "1s": ("open", "high", "low", "close", "volume"),
    "quote": ("bid", "ask", "bid_size", "ask_size"),
    "tick": ("price", "size"),
}
#: Length of a bar of each bar type, in ns (its event time is stamp + length).
BAR_NS = {"1m": NS_PER_MINUTE, "1s": NS_PER_SECOND}
NONE = np.iinfo(np.int64).min  # "no time": an empty queue's oldest and newest


@dataclass(frozen=True)
class Items:
    """Items of one stream type: event time and stamp (ns since the epoch), symbol row, values [n x columns]."""

    kind: str
    time: np.ndarray
    stamp: np.ndarray
    symbol: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def empty(cls, kind: str) -> Items:
        return cls(kind, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32),
                   np.empty((0, len(VALUE_COLUMNS[kind]))))

    def take(self, index: np.ndarray | slice) -> Items:
        return Items(self.kind, self.time[index], self.stamp[index], self.symbol[index], self.values[index])


def _ordered(items: Items) -> bool:
    """Already ordered by (event time, symbol)? (A source building items time-major skips the sort.)"""
    step, symbol_step = np.diff(items.time), np.diff(items.symbol)
    return bool(np.all((step > 0) | ((step == 0) & (symbol_step > 0))))


class InputQueue:
    """The queues of one stream type for every symbol, as one table ordered by (event time, symbol)."""

    def __init__(self, kind: str, symbols: int) -> None:
        self.kind = kind
        self.symbols = symbols
        self._items = Items.empty(kind)
        self._next = 0

    def load(self, items: Items) -> None:
        """Add items (any order); what is still queued and the new items are merged by (event time, symbol)."""
        if self._next < len(self._items):
            pending = self._items.take(slice(self._next, None))
            items = Items(self.kind, *(np.concatenate([getattr(pending, f), getattr(items, f)])
                                       for f in ("time", "stamp", "symbol", "values")))
        if not _ordered(items):
            items = items.take(np.lexsort((items.symbol, items.time)))
        self._items, self._next = items, 0

    def grow(self) -> None:
        """One more symbol (row) from now on."""
        self.symbols += 1

    def clear(self) -> None:
        self._items, self._next = Items.empty(self.kind), 0

    def next_time(self) -> int | None:
        """The oldest queued event time, or None when every symbol's queue is empty."""
        return int(self._items.time[self._next]) if self._next < len(self._items) else None

    def pop_through(self, instant: int) -> Items:
        """Every queued item with event time <= instant (stale ones included), oldest first."""
        end = int(np.searchsorted(self._items.time, instant, side="right"))
        taken = self._items.take(slice(self._next, max(end, self._next)))
        self._next = max(end, self._next)
        return taken

    def __len__(self) -> int:
        return len(self._items) - self._next

    def per_symbol(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each symbol: queued item count, oldest and newest event time (NONE when empty)."""
        time = self._items.time[self._next:]
        symbol = self._items.symbol[self._next:]
        size = np.bincount(symbol, minlength=self.symbols)
        oldest = np.full(self.symbols, NONE)
        newest = np.full(self.symbols, NONE)
        if len(time):
            first = np.unique(symbol, return_index=True)
            oldest[first[0]] = time[first[1]]
            last = np.unique(symbol[::-1], return_index=True)
            newest[last[0]] = time[len(time) - 1 - last[1]]
        return size, oldest, newest
