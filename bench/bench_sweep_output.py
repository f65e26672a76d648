"""Benchmark: a sweep written to a file as users run it, `tapescan sweep ... --output` to .csv and to .parquet,
against a standalone polars program that computes the same sweep and writes the same file.

Measures, on the cached synthetic market of bench_analytics.py (default 1,000 symbols x 31 sessions from
2024-01-02), the whole process of each (interpreter start, imports, numba cache load, reading the store,
the sweep, writing the file; numba's cache warmed by one untimed run first), wall seconds as a median of
--repeat rounds whose order alternates, and the peak RSS of each process (its own, from wait4). The config
(:data:`CONFIG`) keeps about 5 % of all (session, time, symbol) cells: 556,726 hits at the defaults (94 MB of
CSV), so the output's text is a large part of the work.

polars runs bench_scanner.py's `polars_sweep` (imported, not copied) in a process of its own (this script with
--polars-child), then `write_csv` / `write_parquet`. Both programs' files are checked to hold the same rows:
read back, sorted by (date, time, symbol) and compared value for value (relative 1e-9, undefined positions
equal); the CSV files' lines are also compared as text after sorting (polars formats some floats otherwise,
e.g. `0.00001` and `1.5e-7` where Python writes `1e-05` and `1.5e-07`, NaN as `NaN`, and polars' arithmetic
differs from tapescan's in the last bits of some values: the lines that differ are counted, and among the rows
that are bit for bit equal, those whose
text differs).

Also measured, in this process on the same hits: the CSV text alone, written session by session as the sweep
writes it, by tapescan's writer (tapescan/csvtext.py), by the pandas path it replaced (`iso_text(frame).to_csv`,
kept here only as a comparison figure; the two files must be byte-identical), by pyarrow.csv's CSVWriter
(Arrow's own CSV writer) and by polars' write_csv, medians of --repeat; whether each wrote the same bytes as
pandas is reported (Arrow quotes every string and writes `1` for 1.0; polars differs on the values above).

Run: `.venv/bin/python bench/bench_sweep_output.py` (about two minutes on 2 cores); develop with
`--symbols 200 --sessions 15 --repeat 1`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_analytics import compare, market_store, versions
from common import market_parser, timed

from tapescan.csvtext import header_text, write_csv
from tapescan.frames import iso_text
from tapescan.scanner.config import ScannerConfig
from tapescan.scanner.engine import SCAN_COLUMNS, iter_sweep
from tapescan.store import Store

#: The swept config: every minute 09:30-15:00, a trailing average price of 5-500 and a move of 3 % or more.
CONFIG = {
    "start_time": "09:30", "end_time": "15:00", "interval_minutes": 1, "benchmark": "SPY",
    "average_price": {"min": 5, "max": 500, "days": 10},
    "current_price_change_percentage": {"min": 3},
}
KEYS = ["date", "time", "symbol"]
METRICS = SCAN_COLUMNS[3:]


def polars_child(store_path: str, first: str, last: str, output: str) -> None:
    """The polars program: the sweep of bench_scanner.py, then the file (its type from the suffix)."""
    from bench_scanner import polars_sweep

    store = Store(store_path)
    days = [d for d in store.sessions() if dt.date.fromisoformat(first) <= d <= dt.date.fromisoformat(last)]
    hits = polars_sweep(store, days, ScannerConfig.model_validate(CONFIG))
    if output.endswith(".csv"):
        hits.write_csv(output)
    else:
        hits.write_parquet(output)


def run_process(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of a fresh process running `command`, which must succeed."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{process.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def commands(store: Store, first: dt.date, last: dt.date, config: Path, folder: Path) -> dict[str, list[str]]:
    """The four whole-process runs: tapescan and polars, each to .csv and .parquet."""
    span = ["--start", first.isoformat(), "--end", last.isoformat()]
    runs = {}
    for suffix in ("csv", "parquet"):
        runs[f"tapescan {suffix}"] = [sys.executable, "-m", "tapescan.cli.main", "--quiet", "sweep", str(config),
                                      "--store", str(store.path), *span, "--output", str(folder / f"tapescan.{suffix}")]
        runs[f"polars {suffix}"] = [sys.executable, __file__, "--polars-child", str(store.path), first.isoformat(),
                                    last.isoformat(), str(folder / f"polars.{suffix}")]
    return runs


def measure_processes(runs: dict[str, list[str]], repeat: int) -> dict[str, dict[str, float]]:
    """Median seconds and the largest peak RSS of each run, over `repeat` rounds in alternating order, after one
    untimed tapescan run (which fills numba's on-disk cache, as any user's first sweep does once)."""
    run_process(runs["tapescan parquet"])
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    rss: dict[str, float] = dict.fromkeys(runs, 0.0)
    for round_ in range(repeat):
        for name in (list(runs) if round_ % 2 == 0 else list(reversed(runs))):
            took, peak = run_process(runs[name])
            seconds[name].append(took)
            rss[name] = max(rss[name], peak)
            print(f"{name}: {took:.2f} s, peak RSS {peak:.0f} MB", file=sys.stderr)
    return {name: {"s": float(pd.Series(times).median()), "peak_rss_mb": rss[name]} for name, times in seconds.items()}


def read_hits(path: Path) -> pd.DataFrame:
    """A sweep's file as a frame sorted by (date, time, symbol): dates as text, volumes as floats."""
    frame = pd.read_csv(path, dtype={"date": str, "time": str, "symbol": str}, keep_default_na=False,
                        na_values=[""]) if path.suffix == ".csv" else pd.read_parquet(path)
    frame["date"] = frame["date"].astype(str)
    return frame.astype({"session_volume": "float64"}).sort_values(KEYS, ignore_index=True)


def same_rows(ours: Path, theirs: Path) -> str:
    """Whether two sweep files hold the same rows: keys equal, metrics equal (relative 1e-9)."""
    mine, other = read_hits(ours), read_hits(theirs)
    if len(mine) != len(other) or not mine[KEYS].equals(other[KEYS]):
        return f"DIFFERENT rows: {len(mine):,} vs {len(other):,}"
    return f"same rows ({len(mine):,}), values {compare(mine[METRICS], other[METRICS])}"


def same_lines(ours: Path, theirs: Path) -> str:
    """How the two CSV files compare as text, rows sorted by (date, time, symbol): lines that differ, and among
    the rows whose values are bit for bit equal (so that only the formatting can differ), lines that differ."""
    mine, other = read_hits(ours), read_hits(theirs)
    bitwise = np.ones(len(mine), dtype=bool)
    for metric in METRICS:
        a, b = mine[metric].to_numpy(dtype=float), other[metric].to_numpy(dtype=float)
        bitwise &= (a == b) | (np.isnan(a) & np.isnan(b))
    texts = [path.read_text().splitlines() for path in (ours, theirs)]
    order = "same row order" if [t.split(",", 3)[:3] for t in texts[0]] == [t.split(",", 3)[:3] for t in texts[1]] \
        else "row order differs"
    lines = [sorted(text[1:], key=lambda line: line.split(",", 3)[:3]) for text in texts]
    differ = np.array([a != b for a, b in zip(*lines, strict=True)], dtype=bool)
    return (f"{order}; header {'equal' if texts[0][0] == texts[1][0] else 'DIFFERENT'}; after sorting, "
            f"{int(differ.sum()):,} of {len(differ):,} lines differ as text; {int((~bitwise).sum()):,} rows hold a "
            f"value that differs in its last bits (equal within 1e-9); of the {int(bitwise.sum()):,} bit-identical "
            f"rows, {int((differ & bitwise).sum()):,} lines differ (number formatting)")


def old_pandas_csv(frames: list[pd.DataFrame], path: Path) -> None:
    """The CSV path tapescan used before csvtext (comparison figure only): pandas text per session."""
    with open(path, "w", encoding="utf-8", newline="") as text:
        text.write(",".join(SCAN_COLUMNS) + "\n")
        for frame in frames:
            iso_text(frame).to_csv(text, header=False, index=False)


def measure_writers(frames: list[pd.DataFrame], folder: Path, repeat: int) -> dict[str, dict[str, object]]:
    """Seconds to write the sweep's hits (already in memory, one frame per session) as CSV, per writer."""
    import polars as pl
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def ours(path: Path) -> None:
        with open(path, "wb") as sink:
            sink.write(header_text(SCAN_COLUMNS))
            for frame in frames:
                write_csv(frame, sink, header=False)

    tables = [pa.Table.from_pandas(frame, preserve_index=False) for frame in frames]
    polars_frames = [pl.from_arrow(table) for table in tables]

    def arrow(path: Path) -> None:
        with pacsv.CSVWriter(path, tables[0].schema) as writer:
            for table in tables:
                writer.write_table(table)

    def polars(path: Path) -> None:
        with open(path, "wb") as sink:
            for i, frame in enumerate(polars_frames):
                frame.write_csv(sink, include_header=i == 0)

    writers = {"tapescan csvtext": ours, "pandas (old path)": lambda path: old_pandas_csv(frames, path),
               "pyarrow.csv": arrow, "polars": polars}
    results: dict[str, dict[str, object]] = {}
    for name, write in writers.items():
        path = folder / f"alone-{name.split()[0]}.csv"
        seconds, _ = timed(lambda write=write, path=path: write(path), repeat)
        results[name] = {"s": seconds, "bytes": path.stat().st_size}
        print(f"CSV alone, {name}: {seconds:.2f} s", file=sys.stderr)
    oracle = (folder / "alone-pandas.csv").read_bytes()
    for name, row in results.items():
        row["identical_to_pandas"] = (folder / f"alone-{name.split()[0]}.csv").read_bytes() == oracle
    if not results["tapescan csvtext"]["identical_to_pandas"]:
        raise SystemExit("tapescan's CSV text differs from the pandas text it replaced")
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--polars-child":
        polars_child(*sys.argv[2:6])
        return
    parser = market_parser(__doc__.splitlines()[0], symbols=1_000, sessions=31, start="2024-01-02")
    args = parser.parse_args()
    store, days = market_store(args.symbols, args.sessions, args.start)
    stored = [d for d in store.sessions() if d in set(days)]
    first, last = stored[0], stored[-1]
    config = ScannerConfig.model_validate(CONFIG)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-output-") as tmp:
        folder = Path(tmp)
        config_file = folder / "scanner.json"
        config_file.write_text(json.dumps({"market_scanner_config": CONFIG}))
        processes = measure_processes(commands(store, first, last, config_file, folder), args.repeat)
        checks = {suffix: same_rows(folder / f"tapescan.{suffix}", folder / f"polars.{suffix}")
                  for suffix in ("csv", "parquet")}
        checks["csv text"] = same_lines(folder / "tapescan.csv", folder / "polars.csv")
        frames = [frame for _, frame in iter_sweep(store, config, first, last, False, "cpu")]
        hits = sum(len(frame) for frame in frames)
        writers = measure_writers(frames, folder, args.repeat)
        csv_bytes = (folder / "tapescan.csv").stat().st_size
    results = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "versions": versions(),
               "cpus": os.cpu_count(), "symbols": args.symbols, "sessions": len(stored), "hits": hits,
               "csv_bytes": csv_bytes, "processes": processes, "checks": checks, "csv_alone": writers}
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


def report(results: dict) -> None:
    """The figures as a Markdown table."""
    processes = results["processes"]
    print(f"\nsweep of {results['symbols']:,} symbols x {results['sessions']} sessions, {results['hits']:,} hits "
          f"(CSV {results['csv_bytes'] / 1e6:.1f} MB), whole processes, median of the rounds; "
          f"{results['cpus']} CPUs, {results['versions']}\n")
    print("| output | tapescan s | polars s | polars / tapescan | tapescan peak RSS MB | polars peak RSS MB | files |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for suffix in ("csv", "parquet"):
        ours, theirs = processes[f"tapescan {suffix}"], processes[f"polars {suffix}"]
        print(f"| .{suffix} | {ours['s']:.2f} | {theirs['s']:.2f} | {theirs['s'] / ours['s']:.2f}x | "
              f"{ours['peak_rss_mb']:.0f} | {theirs['peak_rss_mb']:.0f} | {results['checks'][suffix]} |")
    print(f"\nCSV text of the two files: {results['checks']['csv text']}\n")
    writers = results["csv_alone"]
    ours = writers["tapescan csvtext"]["s"]
    print("| CSV text alone (hits in memory) | seconds | vs tapescan csvtext | same bytes as pandas |")
    print("|---|---:|---:|---|")
    for name, row in writers.items():
        same = "(the reference)" if name.startswith("pandas") else "yes" if row["identical_to_pandas"] else "no"
        print(f"| {name} | {row['s']:.2f} | {row['s'] / ours:.2f}x | {same} |")


if __name__ == "__main__":
    main()
