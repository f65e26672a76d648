"""Reading the next item on a thread while the caller works on the current one (pyarrow's Parquet decoding
releases the GIL, so the read overlaps the kernels): the session loops of a sweep and a backtest."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Read = TypeVar("Read")


def read_ahead(items: Sequence[Item], read: Callable[[Item], Read]) -> Iterator[tuple[Item, Read]]:
    """(item, read(item)) for each item in order, read(next item) running on one thread meanwhile."""
    if not items:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tapescan-read") as reader:
        upcoming: Future | None = reader.submit(read, items[0])
        for i, item in enumerate(items):
            ready = [upcoming.result()]
            upcoming = reader.submit(read, items[i + 1]) if i + 1 < len(items) else None
            # Handed over without a local name, so that this frame keeps no reference to it while the caller
            # works: only the next item's read is held here.
            yield item, ready.pop()
