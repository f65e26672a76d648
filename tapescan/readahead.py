"""Reading the next items on threads while the caller works on the current one (pyarrow's Parquet decoding and
tapescan's placing kernel release the GIL, so the reads overlap the kernels): the session loops of a sweep and a
backtest."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Read = TypeVar("Read")

#: Reads in flight while the caller works: two, so that on two cores a session's decode can use the core the
#: caller's kernels leave idle between them (measured in bench/RESULTS.md "Scanner sweep").
READS_AHEAD = 2


def read_ahead(items: Sequence[Item], read: Callable[[Item], Read],
               depth: int = READS_AHEAD) -> Iterator[tuple[Item, Read]]:
    """(item, read(item)) for each item in order, the reads of the next `depth` items running on threads
    meanwhile."""
    if not items:
        return
    with ThreadPoolExecutor(max_workers=depth, thread_name_prefix="tapescan-read") as reader:
        pending = deque(reader.submit(read, item) for item in items[:depth])
        for i, item in enumerate(items):
            ready = [pending.popleft().result()]
            if i + depth < len(items):
                pending.append(reader.submit(read, items[i + depth]))
            # Handed over without a local name, so that this frame keeps no reference to it while the caller
            # works: only the reads in flight are held here.
            yield item, ready.pop()
