"""Benchmark: a scanner sweep (docs/spec/metrics.md "Scanner semantics") by tapescan against the same sweep in idiomatic
polars and in idiomatic DuckDB SQL.

Measures, in one run on one machine, on the cached synthetic market of bench_analytics.py (default 2,000
symbols x 60 sessions from 2024-01-02): one sweep of the whole store universe over every session of the store
at every minute from 09:30 to 15:00 (331 scan times a session, fewer after an early close), with all eight
filter blocks of :data:`CONFIG` (each metric with its own 10-session window, benchmark SPY). Every session of
the store is swept, the first ones too: their trailing windows reach before the store's first session, so
their trailing metrics are undefined and they have no hits (docs/spec/metrics.md: undefined fails a filter).

Every tool reads the store's Parquet files inside its timing (tapescan through its Store, the peers the
bars_1m partitions and the daily-values files directly), and returns the hits with every metric as a frame.
The peers implement docs/spec/metrics.md on their own (the NYSE calendar from tapescan.calendar is their only input
besides the files): see `polars_sweep` and `duckdb_sweep`. Their hits are checked equal to tapescan's, row for
row on (date, time, symbol) and value for value (relative 1e-9, undefined positions equal).

Then warm (skip with --no-warm): tapescan from its panel cache (`Store.build_cache` over the range, cleared
afterwards), polars from one DataFrame per partition and DuckDB from one in-memory table per partition, each
loaded before its timing: every tool's best equivalent of sessions already decoded, as in a parameter search that
sweeps the same range again and again.

Reported: median seconds (tapescan's first call, numba compile or cache load, timed on its own), peer /
tapescan ratios, sessions per second, tapescan's share of the measured memory bandwidth, and the peak RSS of a
fresh process sweeping the first half and all of the store's sessions (flat means the sweep streams).
With --backend gpu, tapescan's sweep runs on the GPU (the peers stay on the CPU).

Run: `.venv/bin/python bench/bench_scanner.py` (defaults 2,000 symbols x 60 sessions, repeat 3);
develop with `--symbols 200 --sessions 25 --repeat 1`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from bench_analytics import compare, market_store, session_file, versions
from common import market_parser, memory_bandwidth_gbs, timed

from tapescan import calendar
from tapescan.scanner.config import DEFAULT_DAYS, ScannerConfig
from tapescan.scanner.engine import SCAN_COLUMNS, sweep
from tapescan.store import Store

#: The swept config. Bounds tuned on the default market: from each metric's distribution over all defined cells
#: (a pass-everything sweep of 200 x 25), each block keeps 10-90 % of the cells (relative_volume >= 1.5 the
#: fewest, ~12 %), together about 0.4 % of all (session, time, symbol) cells: ~158,000 hits at 2,000 x 60 x 331.
CONFIG = {
    "start_time": "09:30", "end_time": "15:00", "interval_minutes": 1, "benchmark": "SPY",
    "average_volume": {"min": 500_000, "days": 10},
    "average_price": {"min": 5, "max": 500, "days": 10},
    "standard_deviation": {"min": 1, "max": 5, "days": 10},
    "beta": {"min": 0.5, "max": 2, "days": 10},
    "correlation": {"min": 0.3, "max": 0.95, "days": 10},
    "relative_volume": {"min": 1.5, "days": 10},
    "current_price_change_percentage": {"min": 1, "max": 10},
    "today_price_range_percentage": {"min": 2, "max": 8},
}
TRAILING = ("avg_volume", "avg_price", "std_pct", "beta", "correlation")
METRICS = SCAN_COLUMNS[3:]
KEYS = ["date", "time", "symbol"]
MINUTE_NS = 60_000_000_000
BAR_BYTES = 5 * 8 + 4  # per stored bar, what a cold sweep decodes and scans: high, low, close, volume, ts; symbol code
HIT_BYTES = 4 + 8 + 8 + 10 * 8  # per hit: date, time and symbol (string views), ten metrics


# ------------------------------------------------------------------------------------------ shared


def window(config: ScannerConfig, metric: str) -> int:
    """The window (sessions) of a trailing metric or of rel_volume."""
    bounds = config.filters().get(metric)
    return bounds.days if bounds is not None and bounds.days else DEFAULT_DAYS


def scan_minutes(config: ScannerConfig) -> np.ndarray:
    """The scan times of a full session as minutes after 09:30 (the clock minute k is 09:30 + k)."""
    def minute(t: dt.time) -> int:
        return t.hour * 60 + t.minute - 570

    return np.arange(minute(config.start_time), minute(config.end_time) + 1, config.interval_minutes)


def session_frame(days: list[dt.date], look_back: int) -> pd.DataFrame:
    """Calendar sessions from `look_back` sessions before days[0] to days[-1]: date, idx (consecutive),
    open_ns and last_k (the last scan minute allowed: the close, as minutes after the open)."""
    first = calendar.sessions_before(days[0], look_back)[0] if look_back else days[0]
    table = calendar.session_table(first, days[-1])
    return pd.DataFrame({"date": table.index.date, "idx": np.arange(len(table)), "open_ns": table["open_ns"].to_numpy(),
                         "last_k": (table["close_ns"] - table["open_ns"]).to_numpy() // MINUTE_NS})


def daily_files(store: Store, first: dt.date, last: dt.date) -> list[str]:
    months = store.manifest().daily
    return [str(store.path / months[m].file) for m in sorted(months)
            if first.strftime("%Y-%m") <= m <= last.strftime("%Y-%m")]


def look_back(config: ScannerConfig) -> int:
    """Sessions before the first scanned one that any metric needs (a return needs the session before)."""
    return max(window(config, m) for m in (*TRAILING, "rel_volume")) + 1


# -------------------------------------------------------------------------------------------- polars
# Session by session: each session's bars are read, cumulated per symbol in time order (they are stored
# sorted by (symbol, ts)) and placed on one fixed [universe symbol x scan minute] grid (symbol an Enum of the
# store's symbols) with an as-of join on the bar's available minute. The grid is the same every session, so
# the last N sessions' clock volumes are kept as aligned columns and the time-of-day average is a horizontal
# mean (String symbols and a group-by over the N stacked sessions made the whole sweep 10x slower).
# Trailing metrics and prev_close come from one frame over the whole range, built first.


def polars_trailing(daily, sessions, config: ScannerConfig):
    """Per (symbol, date): prev_close and the five trailing metrics, over the full symbol x calendar-session
    grid; rolling_* with min_samples = window is null when any session of the window is missing; shift(1)
    excludes D itself."""
    import polars as pl

    grid = (daily.select("symbol").unique().join(sessions, how="cross")
            .join(daily, on=["symbol", "date"], how="left").sort("symbol", "date"))
    grid = grid.with_columns(ret=(pl.col("close") / pl.col("close").shift(1) - 1).over("symbol"))
    bench = grid.filter(pl.col("symbol") == config.benchmark).select("date", bret="ret")
    grid = grid.join(bench, on="date", how="left")

    def trailing(expr):
        return expr.shift(1).over("symbol")

    n_std, n_beta, n_corr = (window(config, m) for m in ("std_pct", "beta", "correlation"))
    pair = pl.col("ret") + 0 * pl.col("bret")  # null where either return is missing
    std = trailing(pl.col("ret").rolling_std(n_std))
    std_corr = trailing(pl.col("ret").rolling_std(n_corr))
    var_beta = trailing(pl.col("bret").rolling_var(n_beta))
    var_corr = trailing(pl.col("bret").rolling_var(n_corr))
    cov = trailing(pl.rolling_cov(pair, pl.col("bret"), window_size=n_beta))
    corr = trailing(pl.rolling_corr(pair, pl.col("bret"), window_size=n_corr))
    return grid.select(
        "symbol", "date",
        pl.col("close").shift(1).over("symbol").alias("prev_close"),
        trailing(pl.col("volume").rolling_mean(window(config, "avg_volume"))).alias("avg_volume"),
        trailing(pl.col("close").rolling_mean(window(config, "avg_price"))).alias("avg_price"),
        pl.when(std > 0).then(100 * std).alias("std_pct"),
        pl.when(var_beta > 0).then(cov / var_beta).alias("beta"),
        pl.when((var_corr > 0) & (std_corr > 0)).then(corr).alias("correlation"))


def polars_as_of(session, open_ns: int, grid):
    """One session (a LazyFrame of its partition) on the [universe symbol x scan minute] grid (same rows, same
    order, every session): price, session volume, high and low of the bars visible at 09:30 + k (bar minute m is
    visible from k = m + 1), null with none; and `traded`, whether the symbol has a regular bar that session."""
    import polars as pl

    bars = (session.filter(~pl.col("extended"))
            .select(pl.col("symbol").cast(grid["symbol"].dtype),
                    k=(pl.col("ts").dt.epoch("ns") - open_ns) // MINUTE_NS + 1,
                    price=pl.col("close"), session_volume=pl.col("volume").cum_sum().over("symbol"),
                    high=pl.col("high").cum_max().over("symbol"), low=pl.col("low").cum_min().over("symbol"))
            .collect())
    at = grid.join_asof(bars, on="k", by="symbol", strategy="backward", check_sortedness=False)
    return at.with_columns(traded=pl.col("symbol").is_in(bars["symbol"].unique().implode()))


def polars_clock(at):
    """A session's clock volume on the grid: its cumulative volume (0 before its first bar), null when the
    symbol has no bar that session."""
    import polars as pl

    return at.select(pl.when("traded").then(pl.col("session_volume").fill_null(0))).to_series()


def polars_tod(clock: dict, past: list[dt.date], rows: int):
    """tod_avg_volume on the grid: the mean of the window's clock volumes, null unless the symbol is present
    on every session of the window (and the store holds them all)."""
    import polars as pl

    if not all(d in clock for d in past):
        return pl.repeat(None, rows, dtype=pl.Float64, eager=True)
    window = pl.DataFrame({str(d): clock[d] for d in past})
    return window.select(pl.when(pl.all_horizontal(pl.all().is_not_null())).then(pl.mean_horizontal(pl.all())))\
        .to_series()


def polars_filter(config: ScannerConfig):
    import polars as pl

    keep = pl.lit(True)
    for metric, bounds in config.filters().items():
        keep &= pl.col(metric).is_not_null()
        if bounds.min is not None:
            keep &= pl.col(metric) >= bounds.min
        if bounds.max is not None:
            keep &= pl.col(metric) <= bounds.max
    return keep


@dataclass(frozen=True)
class PolarsWarm:
    """polars' best equivalent of a warm panel cache: every partition the sweep reads, already in memory."""

    bars: dict  # session -> polars DataFrame of its partition
    daily: object  # polars DataFrame of the daily values

    @classmethod
    def load(cls, store: Store, days: list[dt.date], config: ScannerConfig) -> PolarsWarm:
        import polars as pl

        first = calendar.sessions_before(days[0], look_back(config))[0]
        needed = [d for d in store.sessions() if first <= d <= days[-1]]
        return cls({d: pl.read_parquet(session_file(store, d)) for d in needed},
                   pl.read_parquet(daily_files(store, first, days[-1])))


def polars_sweep(store: Store, days: list[dt.date], config: ScannerConfig, warm: PolarsWarm | None = None):
    """The sweep in polars (see the comment above polars_trailing): hits with every metric, by (date, time,
    symbol). From the store's files, or with `warm` from frames already in memory."""
    import polars as pl

    sessions = pl.from_pandas(session_frame(days, look_back(config)))

    def session(day: dt.date):
        return warm.bars[day].lazy() if warm else pl.scan_parquet(session_file(store, day))

    daily = ((warm.daily.lazy() if warm else pl.scan_parquet(daily_files(store, sessions["date"][0], days[-1])))
             .filter(pl.col("date") >= sessions["date"][0], pl.col("date") <= days[-1])
             .select("date", "symbol", "close", "volume").collect())
    universe = pl.Enum(daily["symbol"].unique().sort())  # every symbol of the store
    trailing = (polars_trailing(daily, sessions.select("date"), config)
                .with_columns(pl.col("symbol").cast(universe)).partition_by("date", as_dict=True))
    grid = pl.DataFrame({"symbol": universe.categories.cast(universe)}).join(
        pl.DataFrame({"k": scan_minutes(config)}), how="cross")
    bounds = {row["date"]: row for row in sessions.iter_rows(named=True)}
    stored, n_tod = set(store.sessions()), window(config, "rel_volume")
    clock: dict[dt.date, pl.Series] = {}
    keep, hits = polars_filter(config), []
    for day in days:
        past = calendar.sessions_before(day, n_tod)
        for d in [d for d in past if d in stored and d not in clock]:  # window sessions before the range
            clock[d] = polars_clock(polars_as_of(session(d), bounds[d]["open_ns"], grid))
        for d in [d for d in clock if d < past[0]]:
            del clock[d]
        at = polars_as_of(session(day), bounds[day]["open_ns"], grid)
        scanned = (at.with_columns(tod_avg=polars_tod(clock, past, len(grid)))
                   .filter(pl.col("k") <= bounds[day]["last_k"])
                   .join(trailing[(day,)], on="symbol", how="left")
                   .select(
                       pl.lit(day).alias("date"), "k", pl.col("symbol").cast(pl.String), "price",
                       change_pct=100 * (pl.col("price") / pl.col("prev_close") - 1),
                       range_pct=100 * (pl.col("high") - pl.col("low")) / pl.col("low"),
                       session_volume="session_volume", avg_volume="avg_volume", avg_price="avg_price",
                       std_pct="std_pct", beta="beta", correlation="correlation",
                       rel_volume=pl.when(pl.col("tod_avg") > 0).then(pl.col("session_volume") / pl.col("tod_avg")))
                   .filter(keep))
        hits.append(scanned)
        clock[day] = polars_clock(at)
    minute = 570 + pl.col("k")
    clock_time = pl.format("{}:{}", (minute // 60).cast(pl.String).str.zfill(2),
                           (minute % 60).cast(pl.String).str.zfill(2))
    return pl.concat(hits).sort("date", "k", "symbol").select("date", clock_time.alias("time"), *SCAN_COLUMNS[2:])


# -------------------------------------------------------------------------------------------- DuckDB
# SQL, session by session on one connection (one query over the whole range, with the time-of-day average
# as a RANGE window over calendar sessions on the 40 M-row [date x symbol x minute] grid, was slower and
# peaked at 13 GB at 2,000 x 60): the trailing metrics and prev_close first, as ROWS windows over the full
# symbol x calendar-session grid, into a table; then per session the bars joined onto the [symbol x scan
# minute] grid and running windows over it, the time-of-day average as a GROUP BY over the last N
# sessions' clock volumes (kept in a table), and the filters in the WHERE clause.


def duckdb_trailing_sql(daily: str, sessions: pd.DataFrame, last: dt.date, config: ScannerConfig) -> str:
    """Per (date, symbol): prev_close and the five trailing metrics (NULL unless every session of the window,
    and of the benchmark's, is present: counted in the window)."""
    n = {m: window(config, m) for m in TRAILING}
    first = sessions["date"][0]

    def over(metric: str) -> str:
        return f"(PARTITION BY symbol ORDER BY idx ROWS BETWEEN {n[metric]} PRECEDING AND 1 PRECEDING)"

    return f"""
    WITH daily AS (
        SELECT date, symbol, close, volume FROM {daily}
        WHERE date BETWEEN DATE '{first}' AND DATE '{last}'),
    dgrid AS (
        SELECT s.date, s.idx, y.symbol, d.close, d.volume
        FROM sessions s CROSS JOIN (SELECT DISTINCT symbol FROM daily) y
        LEFT JOIN daily d ON d.date = s.date AND d.symbol = y.symbol),
    r AS (SELECT *, lag(close) OVER (PARTITION BY symbol ORDER BY idx) AS prev_close,
                 close / lag(close) OVER (PARTITION BY symbol ORDER BY idx) - 1 AS ret FROM dgrid),
    rb AS (SELECT r.*, b.ret AS bret FROM r LEFT JOIN (SELECT date, ret FROM r WHERE symbol = '{config.benchmark}') b
           ON b.date = r.date)
    SELECT date, symbol, prev_close,
        CASE WHEN count(close) OVER wv = {n['avg_volume']} THEN avg(volume) OVER wv END AS avg_volume,
        CASE WHEN count(close) OVER wp = {n['avg_price']} THEN avg(close) OVER wp END AS avg_price,
        CASE WHEN count(ret) OVER ws = {n['std_pct']} AND stddev_samp(ret) OVER ws > 0
             THEN 100 * stddev_samp(ret) OVER ws END AS std_pct,
        CASE WHEN count(ret * bret) OVER wb = {n['beta']} AND var_samp(bret) OVER wb > 0
             THEN covar_samp(ret, bret) OVER wb / var_samp(bret) OVER wb END AS beta,
        CASE WHEN count(ret * bret) OVER wc = {n['correlation']} AND var_samp(bret) OVER wc > 0
                  AND stddev_samp(ret) OVER wc > 0 THEN corr(ret, bret) OVER wc END AS correlation
    FROM rb WINDOW wv AS {over('avg_volume')}, wp AS {over('avg_price')}, ws AS {over('std_pct')},
                   wb AS {over('beta')}, wc AS {over('correlation')}"""


def duckdb_visible(con, bars: str, open_ns: int) -> None:
    """Table `visible`: one session (`bars`: its partition, a read_parquet call or a table) on the [traded symbol x
    scan minute] grid: price, session volume, high and low of the bars visible at 09:30 + k (bar minute m is
    visible from k = m + 1), NULL with none. (A LEFT
    JOIN of the bars onto the grid and running windows over it; cumulative windows over the bars and an ASOF
    JOIN onto the grid give the same, 35 % slower.)"""
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE visible AS
    WITH bars AS (
        SELECT symbol, (epoch_ns(ts) - {open_ns}) // {MINUTE_NS} + 1 AS k, close, high, low, volume
        FROM {bars} WHERE NOT extended),
    grid AS (SELECT p.symbol, m.k FROM (SELECT DISTINCT symbol FROM bars) p CROSS JOIN minutes m)
    SELECT g.symbol, g.k, last_value(b.close IGNORE NULLS) OVER w AS price,
        (sum(b.volume) OVER w)::BIGINT AS session_volume, max(b.high) OVER w AS high, min(b.low) OVER w AS low
    FROM grid g LEFT JOIN bars b ON b.symbol = g.symbol AND b.k = g.k
    WINDOW w AS (PARTITION BY g.symbol ORDER BY g.k ROWS UNBOUNDED PRECEDING)""")


def duckdb_where(config: ScannerConfig) -> str:
    terms = []
    for metric, bounds in config.filters().items():
        terms.append(f"{metric} IS NOT NULL")
        if bounds.min is not None:
            terms.append(f"{metric} >= {bounds.min!r}")
        if bounds.max is not None:
            terms.append(f"{metric} <= {bounds.max!r}")
    return " AND ".join(terms) or "TRUE"


def duckdb_warm(store: Store, days: list[dt.date], config: ScannerConfig):
    """DuckDB's best equivalent of a warm panel cache: a connection holding every partition the sweep reads as
    an in-memory table (`bars_YYYYMMDD`, `daily_all`)."""
    import duckdb

    con = duckdb.connect()
    first = calendar.sessions_before(days[0], look_back(config))[0]
    for d in [d for d in store.sessions() if first <= d <= days[-1]]:
        con.execute(f"CREATE TABLE bars_{d:%Y%m%d} AS SELECT * FROM read_parquet('{session_file(store, d)}')")
    con.execute(f"CREATE TABLE daily_all AS SELECT * FROM read_parquet({daily_files(store, first, days[-1])!r})")
    return con


def duckdb_sweep(store: Store, days: list[dt.date], config: ScannerConfig, warm=None):
    """The sweep in DuckDB SQL (see the comment above duckdb_trailing_sql): hits with every metric, by (date,
    time, symbol). From the store's files, or with `warm` (duckdb_warm's connection) from in-memory tables."""
    import duckdb

    sessions = session_frame(days, look_back(config))
    bounds = {row.date: row for row in sessions.itertuples()}
    stored, n_tod = set(store.sessions()), window(config, "rel_volume")
    con = warm or duckdb.connect()

    def bars(day: dt.date) -> str:
        return f"bars_{day:%Y%m%d}" if warm else f"read_parquet('{session_file(store, day)}')"

    daily = "daily_all" if warm else f"read_parquet({daily_files(store, sessions['date'][0], days[-1])!r})"
    con.register("sessions", pa.Table.from_pandas(sessions, preserve_index=False))
    con.register("minutes", pd.DataFrame({"k": scan_minutes(config)}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE windowed AS {duckdb_trailing_sql(daily, sessions, days[-1], config)}")
    con.execute("CREATE OR REPLACE TEMP TABLE clock (date DATE, symbol VARCHAR, k BIGINT, clock_volume BIGINT)")
    con.execute("CREATE OR REPLACE TEMP TABLE hits (date DATE, k BIGINT, symbol VARCHAR, price DOUBLE, change_pct DOUBLE, "
                "range_pct DOUBLE, session_volume BIGINT, avg_volume DOUBLE, avg_price DOUBLE, std_pct DOUBLE, "
                "beta DOUBLE, correlation DOUBLE, rel_volume DOUBLE)")
    remember = "INSERT INTO clock SELECT DATE '{}', symbol, k, coalesce(session_volume, 0) FROM visible"
    for day in days:
        past = calendar.sessions_before(day, n_tod)
        held = {d for (d,) in con.execute("SELECT DISTINCT date FROM clock").fetchall()}
        for d in [d for d in past if d in stored and d not in held]:  # window sessions before the range
            duckdb_visible(con, bars(d), bounds[d].open_ns)
            con.execute(remember.format(d))
        con.execute(f"DELETE FROM clock WHERE date < DATE '{past[0]}'")
        duckdb_visible(con, bars(day), bounds[day].open_ns)
        con.execute(f"""
        INSERT INTO hits
        WITH tod AS (
            SELECT symbol, k, avg(clock_volume) AS tod_avg FROM clock
            WHERE date BETWEEN DATE '{past[0]}' AND DATE '{past[-1]}' GROUP BY symbol, k HAVING count(*) = {n_tod}),
        scanned AS (
            SELECT DATE '{day}' AS date, v.k, v.symbol, v.price, 100 * (v.price / d.prev_close - 1) AS change_pct,
                100 * (v.high - v.low) / v.low AS range_pct, v.session_volume, d.avg_volume, d.avg_price,
                d.std_pct, d.beta, d.correlation,
                CASE WHEN t.tod_avg > 0 THEN v.session_volume / t.tod_avg END AS rel_volume
            FROM visible v LEFT JOIN tod t ON t.symbol = v.symbol AND t.k = v.k
            LEFT JOIN windowed d ON d.date = DATE '{day}' AND d.symbol = v.symbol
            WHERE v.k <= {bounds[day].last_k})
        SELECT * FROM scanned WHERE {duckdb_where(config)}""")
        con.execute(remember.format(day))
    return con.sql(f"SELECT date, printf('%02d:%02d', (570 + k) // 60, (570 + k) % 60) AS time, "
                   f"{', '.join(SCAN_COLUMNS[2:])} FROM hits ORDER BY date, k, symbol").pl()


# ------------------------------------------------------------------------------------------ compare


def compare_hits(ours: pd.DataFrame, theirs) -> str:
    """'same hits (n), equal (...)' or the first difference: in the (date, time, symbol) rows, then in values."""
    import polars as pl

    mine = pl.from_pandas(ours).with_columns(pl.col("session_volume").cast(pl.Float64)).sort(KEYS)
    other = theirs.with_columns(pl.col("date").cast(pl.Date), pl.col("session_volume").cast(pl.Float64)).sort(KEYS)
    missing = mine.select(KEYS).join(other.select(KEYS), on=KEYS, how="anti")
    extra = other.select(KEYS).join(mine.select(KEYS), on=KEYS, how="anti")
    if len(missing) or len(extra):
        first = pl.concat([missing.with_columns(side=pl.lit("tapescan only")),
                           extra.with_columns(side=pl.lit("peer only"))]).sort(KEYS).row(0)
        return (f"DIFFERENT hits: {len(mine):,} vs {len(other):,} ({len(missing):,} tapescan only, {len(extra):,} "
                f"peer only); first: {first[3]} {first[0]} {first[1]} {first[2]}")

    def columns(frame) -> dict[str, np.ndarray]:
        return {m: frame[m].cast(pl.Float64).fill_null(np.nan).to_numpy() for m in METRICS}

    return f"same hits ({len(mine):,}), values {compare(columns(mine), columns(other))}"


# ------------------------------------------------------------------------------------------ memory

MEMORY_PROBE = """
import sys
import json
from tapescan.scanner.config import ScannerConfig
from tapescan.scanner.engine import sweep
from tapescan.store import Store
store, count, backend, config = Store(sys.argv[1]), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
days = store.sessions()[:count]
hits = sweep(store, ScannerConfig.model_validate(config), days[0], days[-1], backend=backend)
# VmHWM is this process's own peak (ru_maxrss would include the parent's, inherited across exec).
print(len(hits), int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))) / 1024)
"""


def peak_rss(store: Store, sessions: int, backend: str) -> tuple[float, int]:
    """(peak RSS in MB, hits) of a fresh process sweeping the store's first `sessions` sessions."""
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(store.path), str(sessions), backend,
                           json.dumps(CONFIG)], capture_output=True, text=True, check=True)
    hits, megabytes = done.stdout.strip().splitlines()[-1].split()
    return float(megabytes), int(hits)


# -------------------------------------------------------------------------------------------- main


def measure_tools(store: Store, days: list[dt.date], config: ScannerConfig, args) -> dict:
    """Every tool's median seconds and result check, from the store's files (tapescan without its panel cache),
    then warm: tapescan from its panel cache, the peers from frames or tables already in memory. tapescan's
    first call is timed on its own."""
    label = f"tapescan {args.backend.upper()}"
    cold = Store(store.path, use_cache=False)
    started = time.perf_counter()
    sweep(cold, config, days[0], days[-1], backend=args.backend)
    first_call = time.perf_counter() - started
    seconds, ours = timed(lambda: sweep(cold, config, days[0], days[-1], backend=args.backend), args.repeat)
    print(f"{label}: {seconds:.2f} s, {len(ours):,} hits", file=sys.stderr)
    rows = {label: {"s": seconds, "result": f"{len(ours):,} hits", "repeat": args.repeat}}
    warm_rows = {}
    if args.warm:
        warm_rows[label] = tapescan_warm(store, days, config, args, ours)
    peers = {"polars": (polars_sweep, PolarsWarm.load), "DuckDB": (duckdb_sweep, duckdb_warm)}
    for name, (peer, load_warm) in peers.items():
        if args.peers and name.lower() not in args.peers:
            continue
        repeat = args.peer_repeat or args.repeat
        peer_seconds, theirs = timed(lambda: peer(store, days, config), repeat)
        rows[name] = {"s": peer_seconds, "result": compare_hits(ours, theirs), "repeat": repeat}
        print(f"{name}: {peer_seconds:.2f} s, {rows[name]['result']}", file=sys.stderr)
        if args.warm:
            warm = load_warm(store, days, config)
            peer_seconds, theirs = timed(lambda: peer(store, days, config, warm), repeat)
            warm_rows[name] = {"s": peer_seconds, "result": compare_hits(ours, theirs), "repeat": repeat}
            print(f"{name} warm: {peer_seconds:.2f} s, {warm_rows[name]['result']}", file=sys.stderr)
            del warm
    return {"tools": rows, "warm": warm_rows, "first_call_s": first_call, "hits": len(ours), "label": label,
            "hits_per_session": ours.groupby("date").size()}


def tapescan_warm(store: Store, days: list[dt.date], config: ScannerConfig, args, ours: pd.DataFrame) -> dict:
    """tapescan's sweep with every session in its panel cache (built for the run, then cleared, so the store is
    left as it was found): seconds, the build's seconds and size, and whether the hits equal the cold sweep's."""
    first = calendar.sessions_before(days[0], look_back(config))[0]
    started = time.perf_counter()
    built = store.build_cache(first, days[-1], max_bytes=2**40)
    build_seconds = time.perf_counter() - started
    try:
        seconds, hits = timed(lambda: sweep(store, config, days[0], days[-1], backend=args.backend), args.repeat)
    finally:
        store.cache.clear()
    same = "same hits and values as without the cache" if hits.equals(ours) else "DIFFERENT from the cold sweep!"
    print(f"tapescan warm: {seconds:.2f} s, {same}", file=sys.stderr)
    return {"s": seconds, "result": same, "repeat": args.repeat, "build_s": build_seconds,
            "cache_bytes": built.info.size}


def main() -> None:
    parser = market_parser(__doc__.splitlines()[0], symbols=2_000, sessions=60, start="2024-01-02")
    parser.add_argument("--peer-repeat", type=int, help="Repeats of each peer (default: --repeat).")
    parser.add_argument("--peers", nargs="*", choices=["polars", "duckdb"], help="Only these peers (default: both).")
    parser.add_argument("--backend", choices=["cpu", "gpu"], default="cpu", help="tapescan's backend (peers: CPU).")
    parser.add_argument("--no-warm", dest="warm", action="store_false",
                        help="Skip the warm runs (tapescan's panel cache, the peers' in-memory frames).")
    args = parser.parse_args()

    store, days = market_store(args.symbols, args.sessions, args.start)
    stored = set(store.sessions())
    days = [d for d in days if d in stored]
    config = ScannerConfig.model_validate(CONFIG)
    results: dict[str, object] = {
        "symbols": args.symbols, "sessions": len(days), "first": days[0], "last": days[-1],
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}", "versions": versions(),
        "memory_bandwidth_gbs": memory_bandwidth_gbs(), "backend": args.backend,
        "scan_times": int(sum(np.count_nonzero(scan_minutes(config) <= last_k)
                              for last_k in session_frame(days, 0)["last_k"])),
        "bars": sum(store.manifest().bars_1m[day.isoformat()].rows for day in days),  # stored bars swept
    }
    results["load_before"] = os.getloadavg()[0]
    results.update(measure_tools(store, days, config, args))
    results["load_after"] = os.getloadavg()[0]
    seconds = results["tools"][results["label"]]["s"]
    touched = results["bars"] * BAR_BYTES + results["hits"] * HIT_BYTES
    results["bytes"] = touched
    results["bandwidth_share"] = touched / seconds / 1e9 / results["memory_bandwidth_gbs"]
    half = len(days) // 2
    results["peak_rss"] = {count: peak_rss(store, count, args.backend) for count in (half, len(days))}
    results["peak_rss_this_process_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(results, config)
    if args.json:
        results.pop("hits_per_session")
        args.json.write_text(json.dumps(results, indent=1, default=str))


def print_table(rows: dict, label: str, sessions: int, first: str, last: str, cell) -> None:
    """One Markdown table of tools (seconds, ratio to tapescan, sessions/s, `cell(row)`), then the best peer's
    ratio."""
    base = rows[label]["s"]
    print(f"| {first} | seconds | peer / tapescan | sessions/s | {last} |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, row in rows.items():
        ratio = "—" if name == label else f"{row['s'] / base:.1f}x"
        print(f"| {name} | {row['s']:.2f} | {ratio} | {sessions / row['s']:.1f} | {cell(row)} |")
    peers = [row["s"] for name, row in rows.items() if name != label]
    if peers:
        print(f"\nBest peer / tapescan: {min(peers) / base:.1f}x.")


def report(results: dict, config: ScannerConfig) -> None:
    """Print the results as Markdown, ready for bench/RESULTS.md."""
    sessions, label = results["sessions"], results["label"]
    tools, base = results["tools"], results["tools"][label]["s"]
    print(f"## Scanner sweep ({label.split()[-1]}): {results['symbols']:,} symbols x {sessions} sessions x every "
          f"minute {config.start_time:%H:%M}-{config.end_time:%H:%M} — {dt.date.today()}")
    print(f"\nCommand: `{results['command']}`  \nMachine: {results['machine']} (1-minute load average "
          f"{results['load_before']:.1f} before the timings, {results['load_after']:.1f} after)  \n"
          f"Versions: {', '.join(f'{k} {v}' for k, v in results['versions'].items())}  \n"
          f"Sessions {results['first']} to {results['last']} (every session of the store), "
          f"{results['scan_times']:,} scan times, {results['symbols']:,} symbols (the whole store universe): "
          f"{results['scan_times'] * results['symbols']:,} (session, time, symbol) cells; "
          f"{results['hits']:,} hits.\n")
    print("Config (docs/spec/metrics.md \"Scanner semantics\"; every trailing block and relative_volume over 10 sessions):\n")
    print("```json\n" + json.dumps(CONFIG) + "\n```\n")
    print_table(tools, label, sessions, "tool", "runs (median)", lambda row: row["repeat"])
    print("(Goal: at least 5x.)")
    warm = results["warm"]
    if warm:
        ours = warm[label]
        print(f"\nWarm (every session already decoded: tapescan from its panel cache, built in {ours['build_s']:.1f} s "
              f"into {ours['cache_bytes'] / 1e9:.2f} GB; polars from one DataFrame per partition, DuckDB from one "
              "in-memory table per partition, all loaded before the timing):\n")
        print_table(warm, label, sessions, "tool, warm", "result", lambda row: row["result"])
    print("\nResults against tapescan (rows on (date, time, symbol); values relative 1e-9, undefined positions "
          "equal):\n")
    for name, row in tools.items():
        if name != label:
            print(f"- {name}: {row['result']}")
    per_session = results["hits_per_session"]
    print(f"\nHits per session with any: {len(per_session)} sessions, min {per_session.min():,}, median "
          f"{int(per_session.median()):,}, max {per_session.max():,} (the first sessions have none: their "
          "10-session windows, 11 for the standard deviation's returns, reach before the store).")
    print(f"\nFirst call (numba compile or cache load, in this process): {results['first_call_s']:.2f} s, against "
          f"{base:.2f} s for each later call (the timed ones).")
    print("\nEvery tool reads the store's Parquet files inside its timing: tapescan through its Store "
          "(`read_for_scan`, `read_daily`), polars (`scan_parquet`) and DuckDB (`read_parquet`) the bars_1m "
          "partitions and daily-values files directly. All three go session by session (the trailing metrics "
          "of the whole range first), carrying the last 10 sessions' clock volumes for the time-of-day average, "
          "and compute every metric at every (time, symbol) before filtering; the peers get the NYSE session "
          "bounds (tapescan.calendar) as a table. How: the comments in bench/bench_scanner.py.")
    print("\nPeak RSS of a fresh process running tapescan's sweep (VmHWM):\n")
    for count, (megabytes, hits) in results["peak_rss"].items():
        same = "" if count != sessions or hits == results["hits"] else " — NOT the timed sweep's count!"
        print(f"- first {count} sessions: {megabytes:.0f} MB ({hits:,} hits{same})")
    bandwidth, share = results["memory_bandwidth_gbs"], results["bandwidth_share"]
    of_what = (f"{100 * share:.1f} % of the measured {bandwidth:.1f} GB/s (numpy copy)" if results["backend"] == "cpu"
               else "the host's copy bandwidth does not apply (bench_analytics.py --gpu measures the device's)")
    print(f"\nMemory bandwidth: {results['bytes'] / 1e9:.2f} GB touched / {base:.2f} s = "
          f"{results['bytes'] / base / 1e9:.2f} GB/s; {of_what}. Bytes = {results['bars']:,} stored bars x {BAR_BYTES} B "
          "(the decoded columns the scan walks: high, low, close, volume, ts, symbol code) + hits x "
          f"{HIT_BYTES} B (the output rows); a floor: intermediates ([symbol x time] results, the Parquet pages "
          "before decoding) are not counted.")
    print(f"\npeak RSS of this benchmark process: {results['peak_rss_this_process_mb']:.0f} MB")


if __name__ == "__main__":
    main()
