"""Benchmark: `tapescan ingest` of a FirstRateData-style corpus against plain CSV parsers on the same files.

Measures, in one run on one machine, on the same files (bench/firstrate_corpus.py: one text file per symbol
generated from the synthetic market, ~1 GB by default, cached under ~/.cache/tapescan/bench/):
  1. pyarrow.csv `read_csv` of every file, column types given (timestamp, float64 x 4, int64): file after file
     with use_threads=True, and the files spread over N threads and over N warm worker processes. The best
     of these is the reference "raw parse rate". Parse only: the tables are dropped, nothing is stored.
  2. polars `read_csv` of every file (schema given, datetime parsed with its format), and one `scan_csv` over
     all files.
  3. pandas `read_csv` of every file, engine="pyarrow" and the default C engine (names, dtypes, datetime).
  4. `tapescan ingest firstrate` into a fresh store in a temporary folder on the corpus's disk, run through
     the CLI as a user runs it, in a fresh process tree: wall time, rows/s, MB/s and the ratio to the
     reference; the ingest's own report (<store>/reports/*.json) must count every corpus row as stored and
     none rejected.
  5. Bounded memory: the same ingest of a corpus of half the bytes (half the sessions, same symbols); peak
     memory must not grow with the corpus. Reported as the largest single process (ru_maxrss of the
     children) and the whole process tree (sum of PSS over the CLI and its workers, sampled every 0.2 s).

All timings are wall clock, median of --repeat (parsers) or --ingest-repeat runs, with the files in the page
cache (they are read once before the first timing): parse and ingest rates, not disk rates. MB = 10^6 bytes
of corpus text.

Run: `.venv/bin/python bench/bench_ingest.py` (1 GB; `--bytes 100000000` for a quick run).
Compile time: the ingest's compiled parser (numba, cache=True) is compiled on its first use after an install
or an edit of tapescan/ingest/fastparse.py (about 2 s, once); run the benchmark a second time for a figure
without it. On Linux the ingest forks its workers, which inherit the loaded parser and calendar.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import memory_bandwidth_gbs, timed
from firstrate_corpus import CorpusInfo, generation_seconds, write_corpus

COLUMNS = ("ts", "open", "high", "low", "close", "volume")
REFERENCE_PREFIX = "pyarrow.csv"  # the best pyarrow.csv variant is the reference rate
CACHE = Path("~/.cache/tapescan/bench")



# ------------------------------------------------------------------------------------------------ peers


def _pyarrow_options(use_threads: bool) -> tuple[pcsv.ReadOptions, pcsv.ConvertOptions]:
    types = {"ts": pa.timestamp("ns"), **{name: pa.float64() for name in COLUMNS[1:5]}, "volume": pa.int64()}
    return (pcsv.ReadOptions(column_names=list(COLUMNS), use_threads=use_threads),
            pcsv.ConvertOptions(column_types=types))


def pyarrow_rows(paths: list[str], use_threads: bool = True) -> int:
    """pyarrow.csv.read_csv of each file in turn; the number of rows read."""
    read_options, convert_options = _pyarrow_options(use_threads)
    return sum(pcsv.read_csv(p, read_options=read_options, convert_options=convert_options).num_rows
               for p in paths)


def pyarrow_threads(paths: list[str], workers: int) -> int:
    """The files spread over `workers` threads, each file parsed single-threaded."""
    chunks = [paths[i::workers] for i in range(workers)]
    with cf.ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(lambda chunk: pyarrow_rows(chunk, use_threads=False), chunks))


def pyarrow_processes(pool: cf.ProcessPoolExecutor, paths: list[str], workers: int) -> int:
    """The files spread over a warm pool of `workers` processes, each file parsed with use_threads=True."""
    chunk = max(1, len(paths) // (workers * 8))
    batches = [paths[i:i + chunk] for i in range(0, len(paths), chunk)]
    return sum(pool.map(pyarrow_rows, batches))


def _polars_schema_and_ts():
    """Read the datetime as text, then parse it with its format: 3.6x faster than a Datetime in the schema."""
    import polars as pl

    schema = {"ts": pl.String, **{name: pl.Float64 for name in COLUMNS[1:5]}, "volume": pl.Int64}
    return schema, pl.col("ts").str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="ns")


def polars_rows(paths: list[str]) -> int:
    import polars as pl

    schema, ts = _polars_schema_and_ts()
    return sum(pl.read_csv(p, has_header=False, schema=schema).with_columns(ts).height for p in paths)


def polars_scan_rows(paths: list[str]) -> int:
    import polars as pl

    schema, ts = _polars_schema_and_ts()
    return pl.scan_csv(paths, has_header=False, schema=schema).with_columns(ts).collect().height


def pandas_rows(paths: list[str], engine: str) -> int:
    import pandas as pd

    # The fastest spelling of each engine on these files: dtypes given to the pyarrow engine are applied by
    # pandas after the read (3x slower; pyarrow infers the same float64/int64 here), and the C engine is
    # faster with its inferred ISO format than with an explicit date_format.
    dtypes = None if engine == "pyarrow" else {**{name: "float64" for name in COLUMNS[1:5]}, "volume": "int64"}
    return sum(len(pd.read_csv(p, engine=engine, header=None, names=list(COLUMNS), dtype=dtypes,
                               parse_dates=["ts"])) for p in paths)


# ------------------------------------------------------------------------------------------------ tapescan

# Runs the CLI as its child and reports on stdout, as JSON, the wall time and the peak memory of the CLI
# and its workers. A fresh small process, so that ru_maxrss of its children does not start at the peak of
# this (large) benchmark process; the process tree's total PSS is sampled, since ru_maxrss is a maximum over
# single processes, not a sum.
LAUNCHER = r"""
import json, os, resource, subprocess, sys, threading, time

log_path, command = sys.argv[1], sys.argv[2:]

def tree_memory(root):
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    pss = rss = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
        except OSError:
            pass
    return pss, rss, len(tree)

with open(log_path, "wb") as log:
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    peak = {"pss": 0, "rss": 0, "processes": 0}
    done = threading.Event()

    def sample():
        while not done.wait(0.2):
            pss, rss, count = tree_memory(child.pid)
            peak["pss"], peak["rss"] = max(peak["pss"], pss), max(peak["rss"], rss)
            peak["processes"] = max(peak["processes"], count)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    returncode = child.wait()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
print(json.dumps({
    "returncode": returncode,
    "wall_s": wall,
    "max_process_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "tree_peak_pss_mb": peak["pss"] / 1024,
    "tree_peak_rss_mb": peak["rss"] / 1024,
    "tree_max_processes": peak["processes"],
}))
"""


def tapescan_executable() -> Path:
    return Path(sys.executable).with_name("tapescan")


def ingest_command(corpus: Path, store: Path, workers: int) -> list[str]:
    return [str(tapescan_executable()), "--quiet", "ingest", "firstrate", str(corpus),
            "--store", str(store), "--workers", str(workers)]


def read_ingest_report(store: Path) -> dict | None:
    """The newest JSON report the ingest wrote into the store, or None."""
    reports = sorted((store / "reports").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(reports[-1].read_text()) if reports else None


def run_ingest(info: CorpusInfo, workers: int) -> dict:
    """One `tapescan ingest` of the corpus into a fresh store next to it; wall time, memory and its report."""
    work = Path(tempfile.mkdtemp(prefix="tapescan-bench-ingest-", dir=info.folder.parent))
    try:
        store, log = work / "store", work / "ingest.log"
        command = ingest_command(info.folder, store, workers)
        done = subprocess.run([sys.executable, "-c", LAUNCHER, str(log), *command],
                              capture_output=True, text=True, check=True)
        result = json.loads(done.stdout)
        result["command"] = command
        if result["returncode"] != 0:
            raise SystemExit(f"tapescan ingest failed ({result['returncode']}):\n{log.read_text()[-4000:]}")
        report = read_ingest_report(store)
        result["report_total"] = None if report is None else report.get("total")
        result["store_bytes"] = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_report(result: dict, info: CorpusInfo) -> list[str]:
    """What is wrong with the ingest's own counts (empty when every corpus row was stored)."""
    total = result.get("report_total")
    if total is None:
        return ["no <store>/reports/*.json with a 'total' was found"]
    problems = []
    if total.get("rows_stored") != info.rows:
        problems.append(f"rows_stored {total.get('rows_stored')} != corpus rows {info.rows}")
    if total.get("rows_rejected") != 0:
        problems.append(f"rows_rejected {total.get('rows_rejected')} != 0")
    if total.get("rows_read") not in (None, info.rows):
        problems.append(f"rows_read {total.get('rows_read')} != corpus rows {info.rows}")
    return problems


# ------------------------------------------------------------------------------------------------ main


def size_label(n_bytes: int) -> str:
    for unit, scale in (("g", 10**9), ("m", 10**6), ("k", 10**3)):
        if n_bytes >= scale and n_bytes % scale == 0:
            return f"{n_bytes // scale}{unit}"
    return str(n_bytes)


def machine() -> dict:
    import pandas
    import polars

    import tapescan

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"cpu": model, "cpu_count": os.cpu_count(), "ram_gb": round(mem_kb / 1024**2, 1),
            "python": platform.python_version(), "pyarrow": pa.__version__, "polars": polars.__version__,
            "pandas": pandas.__version__, "tapescan": getattr(tapescan, "__version__", "?")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bytes", type=int, default=1_000_000_000, help="Corpus size to aim for.")
    parser.add_argument("--corpus", type=Path, help="Corpus folder (default ~/.cache/tapescan/bench/firstrate-1g "
                        "for 1 GB, firstrate-<size> otherwise); generated there unless already complete.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="Workers for ingest and parallel peers.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per parser (median).")
    parser.add_argument("--ingest-repeat", type=int, default=1, help="Runs of tapescan ingest (median).")
    parser.add_argument("--peers-only", action="store_true", help="Skip tapescan ingest.")
    parser.add_argument("--json", type=Path, help="Also write the results as JSON to this file.")
    args = parser.parse_args()

    folder = (args.corpus or CACHE / f"firstrate-{size_label(args.bytes)}").expanduser()
    half_folder = folder.with_name(folder.name + "-half")
    started = time.perf_counter()
    info = write_corpus(folder, args.bytes, args.seed)
    results: dict[str, object] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "workers": args.workers,
        "corpus": corpus_summary(info, time.perf_counter() - started),
        "memory_bandwidth_gbs": memory_bandwidth_gbs(),
    }
    paths = [str(p) for p in info.files]
    for path in info.files:  # into the page cache, so that no tool pays for the first read
        path.read_bytes()

    tools: dict[str, float | str] = {}
    rows_seen: dict[str, int] = {}

    def measure(name: str, fn: Callable[[], int]) -> None:
        try:
            seconds, rows = timed(fn, args.repeat)
        except ImportError as error:
            tools[name] = f"not installed ({error.name})"
            return
        tools[name], rows_seen[name] = seconds, rows
        print(f"{name}: {seconds:.2f} s", file=sys.stderr, flush=True)

    measure("pyarrow.csv read_csv, file after file (use_threads=True)", lambda: pyarrow_rows(paths))
    measure(f"pyarrow.csv read_csv, files over {args.workers} threads", lambda: pyarrow_threads(paths, args.workers))
    with cf.ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_noop_wait, range(args.workers)))  # start the workers and import pyarrow: not timed
        measure(f"pyarrow.csv read_csv, files over {args.workers} warm processes",
                lambda: pyarrow_processes(pool, paths, args.workers))
    measure("polars read_csv, file after file", lambda: polars_rows(paths))
    measure("polars scan_csv of all files, one collect", lambda: polars_scan_rows(paths))
    measure("pandas read_csv engine=pyarrow, file after file", lambda: pandas_rows(paths, "pyarrow"))
    measure("pandas read_csv engine=c, file after file", lambda: pandas_rows(paths, "c"))
    wrong = {name: rows for name, rows in rows_seen.items() if rows != info.rows}
    if wrong:
        raise SystemExit(f"row counts differ from the corpus ({info.rows:,}): {wrong}")
    results["parsers_s"] = tools
    results["reference"] = min((n for n, s in tools.items() if n.startswith(REFERENCE_PREFIX)
                                and not isinstance(s, str)), key=lambda n: tools[n])

    problems: list[str] = []
    if not args.peers_only:
        half = write_corpus(half_folder, args.bytes // 2, args.seed)
        results["half_corpus"] = corpus_summary(half, None)
        runs = [run_ingest(info, args.workers) for _ in range(args.ingest_repeat)]
        for run in runs:
            problems += check_report(run, info)
        best = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2] if runs else None
        results["tapescan"] = {**best, "wall_s": statistics.median(r["wall_s"] for r in runs),
                               "runs_s": [r["wall_s"] for r in runs]}
        half_run = run_ingest(half, args.workers)
        problems += [f"half corpus: {p}" for p in check_report(half_run, half)]
        results["tapescan_half"] = half_run
        results["problems"] = problems

    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    if problems:
        raise SystemExit("ingest report check failed: " + "; ".join(problems))


def _noop_wait(_: int) -> None:
    time.sleep(0.2)  # long enough that every worker gets one


def corpus_summary(info: CorpusInfo, seconds: float | None) -> dict:
    return {"folder": str(info.folder), "files": len(info.files), "bytes": info.total_bytes, "rows": info.rows,
            "symbols": info.symbols, "sessions": info.sessions, "first_session": str(info.first_session),
            "last_session": str(info.last_session), "generation_s": generation_seconds(info),
            "ready_s": seconds}


def report(results: dict) -> None:
    """Print the results as Markdown, ready for bench/RESULTS.md."""
    corpus, m = results["corpus"], results["machine"]
    n_bytes, rows = corpus["bytes"], corpus["rows"]
    print(f"## Ingest: FirstRateData-style {size_label_approx(n_bytes)} corpus — {results['date']}\n")
    print(f"Command: `{results['command']}`")
    print(f"Machine: {m['cpu']}, {m['cpu_count']} CPUs, {m['ram_gb']} GB RAM; Python {m['python']}, "
          f"pyarrow {m['pyarrow']}, polars {m['polars']}, pandas {m['pandas']}, tapescan {m['tapescan']}.")
    print(f"Data: {corpus['files']:,} files (one per symbol), {n_bytes:,} bytes, {rows:,} rows: the synthetic "
          f"market with extended hours, {corpus['sessions']} sessions {corpus['first_session']} to "
          f"{corpus['last_session']}, generated in {corpus['generation_s']:.1f} s by bench/firstrate_corpus.py. "
          "Files in the page cache; wall clock, median of the runs.\n")
    reference = results["reference"]
    ref_rate = n_bytes / results["parsers_s"][reference]
    bandwidth = results["memory_bandwidth_gbs"] * 1e9
    print(f"Reference raw parse rate ({reference}): **{ref_rate / 1e6:.0f} MB/s**. Measured memory bandwidth "
          f"(numpy copy of 1 GiB, bytes read + written): {bandwidth / 1e9:.1f} GB/s; text parsing is compute-bound, "
          "so the input rate is a small fraction of it for every tool.\n")
    print("| tool | seconds | MB/s | M rows/s | x reference rate | input rate, % of bandwidth |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    lines = []
    if "tapescan" in results:
        lines.append((f"**tapescan ingest firstrate** (--workers {results['workers']}, end to end into a new store)",
                      results["tapescan"]["wall_s"]))
    lines += list(results["parsers_s"].items())
    for name, seconds in lines:
        if isinstance(seconds, str):
            print(f"| {name} | {seconds} | | | | |")
            continue
        rate = n_bytes / seconds
        print(f"| {name} | {seconds:.2f} | {rate / 1e6:.0f} | {rows / seconds / 1e6:.2f} | {rate / ref_rate:.2f} "
              f"| {100 * rate / bandwidth:.2f} % |")
    if "tapescan" not in results:
        print("\ntapescan ingest: not run (--peers-only)")
        return
    full, half = results["tapescan"], results["tapescan_half"]
    half_corpus = results["half_corpus"]
    print(f"\nStore written: {full['store_bytes'] / 1e6:,.0f} MB. Ingest report totals: {full['report_total']}")
    print("\nPeak memory of `tapescan ingest` (largest single process = ru_maxrss of the children; process "
          "tree = CLI + workers, sum of PSS sampled every 0.2 s):")
    for label, run, c in (("full corpus", full, corpus), ("half corpus", half, half_corpus)):
        sessions = f"{c['sessions']} session{'s' if c['sessions'] != 1 else ''}"
        print(f"- {label} ({c['bytes'] / 1e6:,.0f} MB, {sessions}, {c['rows']:,} rows, "
              f"{run['wall_s']:.1f} s): largest process {run['max_process_rss_mb']:.0f} MB, "
              f"process tree {run['tree_peak_pss_mb']:.0f} MB PSS ({run['tree_peak_rss_mb']:.0f} MB RSS, "
              f"up to {run['tree_max_processes']} processes)")
    print(f"- full / half: {full['tree_peak_pss_mb'] / max(half['tree_peak_pss_mb'], 1e-9):.2f}x the tree's "
          f"memory for {n_bytes / half_corpus['bytes']:.2f}x the bytes")
    for problem in results.get("problems", []):
        print(f"\n**CHECK FAILED:** {problem}")


def size_label_approx(n_bytes: int) -> str:
    return f"{round(n_bytes / 1e9, 1):g} GB" if n_bytes >= 5e8 else f"{n_bytes / 1e6:.0f} MB"


if __name__ == "__main__":
    main()
