"""Helpers every benchmark script shares: timing and the machine's measured memory bandwidth."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall seconds of `repeat` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def memory_bandwidth_gbs() -> float:
    """Copy bandwidth (bytes read + written per second) of a 1 GiB numpy copy, best of 5."""
    source = np.ones(1 << 27)  # 1 GiB of float64
    target = np.empty_like(source)
    best = min(timed(lambda: np.copyto(target, source), 1)[0] for _ in range(5))
    return 2 * source.nbytes / best / 1e9
