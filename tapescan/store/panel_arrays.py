"""The arrays of empty panels, fresh or recycled.

A loop that reads session after session (a sweep) would otherwise allocate some 30 MB of new panel per
2,000-symbol session and drop it a moment later; the kernel zero-fills each fresh page on first touch, which
cost more than placing the session's bars (bench/RESULTS.md: 13.6 -> 6.7 ms a session with recycled arrays).
Such a loop hands each panel back to a :class:`PanelArrays` once nothing refers to it, and the next reads
refill those arrays instead.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import numpy as np

from tapescan.store.schema import PRICE_FIELDS

#: A panel's arrays by name: open (absent when the read leaves it out), high, low, close, volume, mask.
Arrays = dict[str, np.ndarray]


def _names(without_open: bool) -> frozenset[str]:
    """The arrays a panel holds: every price (the open left out with `without_open`), volume and mask."""
    return frozenset(name for name in (*PRICE_FIELDS, "volume", "mask") if not (without_open and name == "open"))


def empty_arrays(shape: tuple[int, int], without_open: bool = False) -> Arrays:
    """New arrays of an empty panel: NaN prices, volume 0, mask False (no open with `without_open`)."""
    arrays = {name: np.full(shape, np.nan) for name in PRICE_FIELDS if not (without_open and name == "open")}
    return {**arrays, "volume": np.zeros(shape, dtype=np.int64), "mask": np.zeros(shape, dtype=bool)}


def clear(arrays: Arrays) -> Arrays:
    """`arrays` emptied in place (NaN prices, volume 0, mask False)."""
    for name, array in arrays.items():
        array.fill(False if name == "mask" else 0 if name == "volume" else np.nan)
    return arrays


class PanelArrays:
    """Arrays of panels handed back, to empty and reuse for the next panels of the same shape (thread-safe:
    reads run on reader threads)."""

    def __init__(self) -> None:
        self._free: defaultdict[tuple[tuple[int, int], frozenset[str]], list[Arrays]] = defaultdict(list)
        self._lock = threading.Lock()

    def take(self, shape: tuple[int, int], without_open: bool = False) -> Arrays:
        """The arrays of an empty panel of `shape`: recycled when some were handed back, else new."""
        with self._lock:
            free = self._free[(shape, _names(without_open))]
            arrays = free.pop() if free else None
        return empty_arrays(shape, without_open) if arrays is None else clear(arrays)

    def give_back(self, arrays: Arrays) -> None:
        """Reuse a panel's `arrays` (`SessionPanel.arrays()`) for later panels: the caller keeps no reference to
        the panel or its arrays. Views (a cached panel's, into its file's bytes) are left alone."""
        shapes = {array.shape for array in arrays.values()}
        if len(shapes) != 1 or any(array.base is not None for array in arrays.values()):
            return
        with self._lock:
            self._free[(shapes.pop(), frozenset(arrays))].append(arrays)
