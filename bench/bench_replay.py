"""Benchmark: data-driven replay into session_data (issue: the stream coordinator).

Replays the first N sessions (default 5) of the cached synthetic market (default 2,000 symbols, built by
bench_analytics.market_store) with 1-minute bars, 5-minute derived bars and the session statistics, snapshots
off, no consumer: the coordinator thread moves every bar of every symbol into session_data, the data-upkeep
thread prefetches the next session and answers the gap checks. Reported: bars moved per second of wall
time for the whole run (the first session's read included) and per second of the coordinator's streaming
alone, clock advances per second, and the peak RSS. The goal: 2 million bars/s on the 2-core machine.

Run: `.venv/bin/python bench/bench_replay.py` (or `make bench-replay`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
from bench_analytics import market_store

from tapescan.stream import ReplayConfig, SystemManager


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=2_000)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    store, days = market_store(args.symbols, 60, "2024-01-02")
    symbols = list(store.symbols()["symbol"])
    config = ReplayConfig(symbols=symbols, derived_intervals=[5])
    runs = []
    for _ in range(args.repeat):
        system = SystemManager(store, config, days[0], days[args.sessions - 1], backend="cpu")
        streaming = []
        system.subscribe(lambda data, advance, marks=streaming: marks.append(time.perf_counter())
                         if len(marks) == 0 else None)
        started = time.perf_counter()
        system.run()
        ended = time.perf_counter()
        runs.append((ended - started, ended - streaming[0], system.coordinator.items_moved,
                     system.coordinator.advances))
    total, streaming, bars, advances = (float(np.median([r[i] for r in runs])) for i in range(4))
    print(f"## Replay (data-driven, CPU): {args.symbols:,} symbols x {args.sessions} sessions — {dt.date.today()}\n")
    print(f"Command: `{Path(sys.executable).name} {' '.join(sys.argv)}`  \nMachine: {platform.machine()}, "
          f"{os.cpu_count()} cores; median of {args.repeat} runs; 1-minute bars with 5-minute derived bars and "
          "session statistics, snapshots off.\n")
    print("| bars into session_data | clock advances | run s | bars/s (run) | streaming s | bars/s (streaming) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {bars:,.0f} | {advances:,.0f} | {total:.2f} | {bars / total:,.0f} | {streaming:.2f} | "
          f"{bars / streaming:,.0f} |")
    print(f"\nStreaming = from the first clock advance to the end (the first session's read and the threads' start "
          f"excluded). Peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB.")


if __name__ == "__main__":
    main()
