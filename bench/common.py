"""Helpers every benchmark script shares: timing, the machine's measured memory bandwidth, common options."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

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


def market_parser(description: str, symbols: int, sessions: int, start: str) -> argparse.ArgumentParser:
    """The options every benchmark on a synthetic market takes: its size and start, repeats, a JSON copy."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--symbols", type=int, default=symbols)
    parser.add_argument("--sessions", type=int, default=sessions)
    parser.add_argument("--start", default=start)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="Also write the results as JSON to this file.")
    return parser
