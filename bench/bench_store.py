"""Benchmark: synthesize and store 10,000 symbols, read sessions back as dense arrays, pick row-group sizes.

Measures, in one run on one machine:
  1. `synthesize` of one full session (10,000 symbols) — generation only.
  2. `Store.write_bars` of that session (sort, validate, daily values, Parquet, commit).
  3. `Store.read_session` (all symbols, dense [symbol x minute] arrays + mask) against the same result built
     by pandas, polars and DuckDB from the same Parquet file, and pyarrow's raw read (no densifying) as floor.
  4. Row-group sizes: for each candidate, a full-session dense read and a one-symbol read across all sessions.
  5. Memory bandwidth (numpy copy of 1 GiB), to put the dense read in proportion.
  6. Peak memory of writing a synthetic market into a store as the date range doubles (it must stay flat).
  7. The cost of verification (docs/STORE.md "Integrity"): a session file and one symbol over all sessions read
     as before the integrity issue (plain pyarrow) and as the store reads them (file checks + page checksums),
     and `Store.verify` quick and deep.

Run: `make bench` (or `.venv/bin/python bench/bench_store.py --symbols 10000 --sessions 10`).
Compile time: none here (no numba kernels on these paths).
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from common import market_parser, memory_bandwidth_gbs, timed

from tapescan import calendar
from tapescan.store import Store, integrity, writer
from tapescan.store.reader import PANEL_FIELDS
from tapescan.synth import synthesize

ROW_GROUP_CANDIDATES = (16_384, 65_536, 262_144, 1_048_576)
MEMORY_SESSION_COUNTS = (5, 10, 20, 40)  # the range doubles each time; peak memory must not




def scatter(rows: np.ndarray, cols: np.ndarray, columns: dict[str, np.ndarray], minutes: int) -> dict[str, np.ndarray]:
    """Put long-format values into [symbol x minute] arrays (the last step every peer needs too)."""
    n_rows = int(rows.max()) + 1 if len(rows) else 0
    out = {}
    for name, values in columns.items():
        grid = np.full((n_rows, minutes), np.nan)
        grid[rows, cols] = values
        out[name] = grid
    return out


FIELDS = ("open", "high", "low", "close", "volume")


def peer_pandas(path: Path, first_ns: int, minutes: int):
    """Idiomatic pandas: read, filter, pivot to wide."""
    import pandas as pd

    frame = pd.read_parquet(path, columns=["symbol", "ts", *FIELDS, "extended"])
    frame = frame[~frame["extended"]]
    frame["minute"] = (frame["ts"].astype("int64") - first_ns) // 60_000_000_000
    wide = frame.pivot(index="symbol", columns="minute", values=list(FIELDS))
    return {name: wide[name].reindex(columns=range(minutes)).to_numpy() for name in FIELDS}


def peer_polars(path: Path, first_ns: int, minutes: int):
    """Idiomatic polars: row (dense rank of symbol) and minute computed in polars, then one scatter."""
    import polars as pl

    frame = (
        pl.read_parquet(path, columns=["symbol", "ts", *FIELDS, "extended"])
        .filter(~pl.col("extended"))
        .select(
            (pl.col("symbol").rank("dense") - 1).alias("row"),
            ((pl.col("ts").dt.epoch("ns") - first_ns) // 60_000_000_000).alias("minute"),
            *FIELDS,
        )
    )
    return scatter(frame["row"].to_numpy(), frame["minute"].to_numpy(), {n: frame[n].to_numpy() for n in FIELDS}, minutes)


def peer_duckdb(path: Path, first_ns: int, minutes: int):
    """Idiomatic DuckDB: row and minute computed in SQL, then one scatter."""
    import duckdb

    result = duckdb.connect().execute(
        f"SELECT dense_rank() OVER (ORDER BY symbol) - 1 AS row, (epoch_ns(ts) - {first_ns}) // 60000000000 AS minute, "
        f"{', '.join(FIELDS)} FROM read_parquet('{path}') WHERE NOT extended"
    ).fetchnumpy()
    return scatter(result["row"], result["minute"], {n: result[n] for n in FIELDS}, minutes)


SYNTH_MEMORY_PROBE = """
import sys, tempfile
from tapescan.store import Store
from tapescan.synth import write_synthetic_market
symbols, start, end = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with tempfile.TemporaryDirectory() as folder:
    write_synthetic_market(Store.create(folder + "/s"), symbols, start, end)
# VmHWM is this process's own peak (ru_maxrss would include the parent's peak, inherited across exec).
peak_kb = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(int(peak_kb) / 1024)
"""


def synth_peak_rss_mb(symbols: int, start: dt.date, end: dt.date) -> float:
    """Peak RSS (MB) of a fresh process that writes the synthetic market for [start, end] into a store."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", SYNTH_MEMORY_PROBE, str(symbols), str(start), str(end)],
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def verification_cost(store: Store, day: dt.date, symbol: str, repeat: int) -> dict[str, float]:
    """Seconds of the store's verified reads against the same reads unverified (plain pyarrow, as before)."""
    manifest = store.manifest()
    entry = manifest.bars_1m[day.isoformat()]
    entries = [manifest.bars_1m[key] for key in sorted(manifest.bars_1m)]
    paths = [str(store.path / e.file) for e in entries]
    session = {"columns": ["symbol", "ts", *PANEL_FIELDS], "read_dictionary": ["symbol"]}  # what a session read takes
    one = {"columns": ["ts", "open", "high", "low", "close", "volume"],
           "filter": (pc.field("symbol") == symbol) & ~pc.field("extended")}
    runs = {
        "session file, unverified": lambda: pq.read_table(store.path / entry.file, **session),
        "session file, verified": lambda: integrity.read_table(store.path, entry, **session),
        "one symbol, all sessions, unverified": lambda: ds.dataset(paths).to_table(**one),
        "one symbol, all sessions, verified": lambda: integrity.read_files(store.path, entries, **one),
        "Store.read_session": lambda: store.read_session(day),
        "Store.verify()": lambda: store.verify(),
        "Store.verify(deep=True)": lambda: store.verify(deep=True),
    }
    return {name: timed(fn, repeat)[0] for name, fn in runs.items()}


def main() -> None:
    parser = market_parser(__doc__.splitlines()[0], symbols=10_000, sessions=10, start="2024-03-01")
    args = parser.parse_args()

    days = [d for d in calendar.sessions(args.start, "2030-12-31")["date"][: args.sessions]]
    results: dict[str, object] = {"symbols": args.symbols, "sessions": len(days)}
    results["memory_bandwidth_gbs"] = memory_bandwidth_gbs()

    generate = lambda: next(iter(synthesize(args.symbols, days[0], days[0], seed=1)))[1]
    results["synth_one_session_s"], first_table = timed(generate, args.repeat)
    memory_days = calendar.sessions(args.start, "2030-12-31")["date"].tolist()
    results["synth_peak_rss_mb"] = {
        f"{count} sessions": synth_peak_rss_mb(2_000, memory_days[0], memory_days[count - 1])
        for count in MEMORY_SESSION_COUNTS
    }
    results["bars_per_session"] = first_table.num_rows

    work = Path(tempfile.mkdtemp(prefix="tapescan-bench-"))
    try:
        stores = {}
        for rows in ROW_GROUP_CANDIDATES:
            writer.BAR_ROW_GROUP_ROWS = rows
            stores[rows] = Store.create(work / f"rg{rows}")
        write_seconds: dict[int, list[float]] = {rows: [] for rows in ROW_GROUP_CANDIDATES}
        for _, table in synthesize(args.symbols, days[0], days[-1], seed=1):
            for rows, store in stores.items():
                writer.BAR_ROW_GROUP_ROWS = rows
                started = time.perf_counter()
                store.write_bars(table, adjustment="unadjusted", source="bench")
                write_seconds[rows].append(time.perf_counter() - started)
        writer.BAR_ROW_GROUP_ROWS = 262_144

        probe_day = days[0]
        symbols = stores[ROW_GROUP_CANDIDATES[0]].symbols()["symbol"].tolist()
        one_symbol = symbols[len(symbols) // 2]
        row_groups = {}
        for rows, store in stores.items():
            path = store.path / store.manifest().bars_1m[probe_day.isoformat()].file
            dense, panel = timed(lambda: store.read_session(probe_day), args.repeat)
            single, frame = timed(lambda: store.read_bars(one_symbol, days[0], days[-1]), args.repeat)
            row_groups[rows] = {
                "write_session_s": statistics.median(write_seconds[rows]),
                "dense_read_s": dense,
                "one_symbol_all_sessions_s": single,
                "file_mb": path.stat().st_size / 1e6,
                "row_groups_per_file": pq.ParquetFile(path).num_row_groups,
            }
        results["row_groups"] = row_groups

        store = stores[262_144]
        path = store.path / store.manifest().bars_1m[probe_day.isoformat()].file
        open_ts, close_ts = calendar.session_bounds(probe_day)
        minutes = int((close_ts - open_ts).total_seconds() // 60)
        peers = {
            "tapescan Store.read_session": lambda: store.read_session(probe_day),
            "pyarrow read_table (no densify)": lambda: pq.read_table(path),
            "pandas read_parquet + pivot": lambda: peer_pandas(path, open_ts.value, minutes),
            "polars read_parquet + scatter": lambda: peer_polars(path, open_ts.value, minutes),
            "duckdb read_parquet + scatter": lambda: peer_duckdb(path, open_ts.value, minutes),
        }
        dense_seconds = {}
        for name, fn in peers.items():
            try:
                dense_seconds[name] = timed(fn, args.repeat)[0]
            except ImportError as error:
                dense_seconds[name] = f"not installed ({error.name})"
        results["dense_read_s"] = dense_seconds
        panel = store.read_session(probe_day)
        dense_bytes = sum(a.nbytes for a in (panel.open, panel.high, panel.low, panel.close, panel.volume, panel.mask))
        results["dense_bytes"] = dense_bytes
        results["verification_s"] = verification_cost(store, probe_day, one_symbol, args.repeat)
        results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


def report(results: dict) -> None:
    """Print the results as Markdown, ready for bench/RESULTS.md."""
    bandwidth = results["memory_bandwidth_gbs"]
    print(f"## Store benchmark ({results['symbols']:,} symbols, {results['sessions']} sessions, "
          f"{results['bars_per_session']:,} bars in the first session), {dt.date.today()}")
    print(f"\nMeasured memory bandwidth (numpy copy): {bandwidth:.1f} GB/s\n")
    print(f"- synthesize one session: {results['synth_one_session_s']:.2f} s "
          f"({results['bars_per_session'] / results['synth_one_session_s'] / 1e6:.1f} M bars/s)")
    print("\n| dense read of one session | seconds | tapescan is x faster | dense output GB/s (% of bandwidth) |")
    print("| --- | ---: | ---: | ---: |")
    ours = results["dense_read_s"]["tapescan Store.read_session"]
    for name, seconds in results["dense_read_s"].items():
        if isinstance(seconds, str):
            print(f"| {name} | {seconds} | | |")
            continue
        rate = results["dense_bytes"] / seconds / 1e9
        print(f"| {name} | {seconds:.3f} | {seconds / ours:.2f} | {rate:.2f} ({100 * rate / bandwidth:.1f} %) |")
    print("\n| row group rows | write session s | dense read s | one symbol, all sessions s | file MB | groups/file |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for rows, r in results["row_groups"].items():
        print(f"| {rows:,} | {r['write_session_s']:.2f} | {r['dense_read_s']:.3f} | "
              f"{r['one_symbol_all_sessions_s']:.3f} | {r['file_mb']:.1f} | {r['row_groups_per_file']} |")
    print("\nPeak RSS of writing a 2,000-symbol synthetic market into a new store, one process per range:")
    for label, megabytes in results["synth_peak_rss_mb"].items():
        print(f"- {label}: {megabytes:.0f} MB")
    print(f"\npeak RSS of this benchmark process: {results['peak_rss_mb']:.0f} MB")
    report_verification(results["verification_s"])


def report_verification(seconds: dict[str, float]) -> None:
    """The verification cost table: each verified read against its unverified twin."""
    print("\n| read | unverified s | verified s | verified / unverified |")
    print("| --- | ---: | ---: | ---: |")
    for read in ("session file", "one symbol, all sessions"):
        plain, checked = seconds[f"{read}, unverified"], seconds[f"{read}, verified"]
        print(f"| {read} | {plain:.3f} | {checked:.3f} | {checked / plain:.2f} |")
    for name in ("Store.read_session", "Store.verify()", "Store.verify(deep=True)"):
        print(f"- {name}: {seconds[name]:.3f} s")


if __name__ == "__main__":
    main()
