"""Benchmark: tapescan's CPU analytics against idiomatic polars, DuckDB and pandas code for the same definitions.

Measures, in one run on one machine, on a synthetic market (default 2,000 symbols x 60 sessions):
  1. daily values of one session (docs/spec/metrics.md "Daily values"): `daily_values(panel)` vs a group-by on the
     session's long-form regular-session bars.
  2. cumulative intraday metrics of one session (session volume, high, low, last price and bar count at every
     minute): `cumulative_intraday(panel)` vs cumulative window functions over symbol.
  3. 5-minute bars of one session (docs/spec/metrics.md "Derived bars"): `derived_panel(panel, 5)` vs a group-by on
     (symbol, minute bucket).
  4. trailing metrics (days = 20) over all sessions: `trailing_metrics(daily_matrix(...), 20)` vs rolling
     windows over the daily values (undefined when any session of the window is missing).
Every peer reads its input (the same Parquet partition / daily values) into its own frame once, outside the
timing; tapescan's input is the dense panel / daily matrix already built. Results are checked equal
(relative 1e-9, NaN/null positions equal). Reported: median seconds, peer / tapescan ratios, tapescan's
bytes (inputs read + outputs written) per second as a share of the measured memory bandwidth, the first-call
(numba compile or cache load) time, and the peak RSS of computing all four over N and 2N sessions.
With --gpu, the same four metrics again on the GPU from a panel built on the device (see `gpu_section`).

Run: `.venv/bin/python bench/bench_analytics.py` (defaults 2,000 symbols x 60 sessions, repeat 3);
develop with `--symbols 200 --sessions 25`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import market_parser, memory_bandwidth_gbs, timed

from tapescan import calendar
from tapescan.analytics import (
    TRAILING_FIELDS,
    cumulative_intraday,
    daily_matrix,
    daily_values,
    derived_panel,
    trailing_metrics,
)
from tapescan.store import Store
from tapescan.synth import write_synthetic_market

RTOL = 1e-9
WINDOW = 20
BUCKET = 5
FIELDS = ["open", "high", "low", "close", "volume"]
DAILY_OUT = ["open", "high", "low", "close", "volume", "vwap", "bars"]
CUM_OUT = ["volume", "high", "low", "last", "bars"]
BAR_OUT = ["open", "high", "low", "close", "volume", "bars"]
METRICS = ("daily values", "cumulative intraday", f"{BUCKET}-minute bars", f"trailing metrics ({WINDOW} days)")


# --------------------------------------------------------------------------------------------- data


def market_store(symbols: int, sessions: int, start: str) -> tuple[Store, list[dt.date]]:
    """The cached synthetic store (built once into a .partial folder, then renamed, so a cache is complete)."""
    days = calendar.sessions(start, "2030-12-31")["date"].tolist()[:sessions]
    final = Path(f"~/.cache/tapescan/bench/analytics-{symbols}x{sessions}").expanduser()
    if start != "2024-01-02":
        final = final.with_name(f"{final.name}-{start}")
    if not final.exists():
        partial = final.with_name(final.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        started = time.perf_counter()
        write_synthetic_market(Store.create(partial), symbols, days[0], days[-1], seed=1)
        partial.rename(final)
        print(f"built {final} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return Store(final), days


def session_file(store: Store, day: dt.date) -> Path:
    return store.path / store.manifest().bars_1m[day.isoformat()].file


# ------------------------------------------------------------------------------------------ compare


def compare(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> str:
    """'equal (n defined values)' or a description of the first difference (relative 1e-9; NaN positions must match)."""
    compared = 0
    for name, mine in ours.items():
        a = np.asarray(mine, dtype=np.float64)
        b = np.asarray(theirs[name], dtype=np.float64)
        if a.shape != b.shape:
            return f"{name}: shape {a.shape} vs {b.shape}"
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        if (nan_a != nan_b).any():
            return (f"{name}: undefined at {int(nan_a.sum())} vs {int(nan_b.sum())} places "
                    f"({int((nan_a != nan_b).sum())} differ)")
        both = ~nan_a
        close = np.isclose(a[both], b[both], rtol=RTOL, atol=0.0)
        if not close.all():
            worst = np.max(np.abs(a[both] - b[both]) / np.maximum(np.abs(a[both]), 1e-300))
            return f"{name}: {int((~close).sum())} values differ (max relative {worst:.1e})"
        compared += int(both.sum())
    return f"equal ({compared:,} defined values)"


def long_columns(frame, names: list[str], order: list[str]) -> dict[str, np.ndarray]:
    """A peer result (polars / pandas / numpy dict) sorted by `order`, as numpy columns (null -> NaN)."""
    import polars as pl

    if isinstance(frame, dict):
        frame = pl.DataFrame(frame)
    elif isinstance(frame, pd.DataFrame):
        frame = pl.from_pandas(frame.reset_index())
    frame = frame.sort(order)
    return {n: frame[n].cast(pl.Float64).to_numpy() for n in names}


# ------------------------------------------------------------------------------------------- peers
# The long-form session frames are sorted by (symbol, ts), as the store writes them; polars and pandas
# "first"/"last"/cumulative code relies on that order, DuckDB (no order guarantee) uses arg_min/arg_max
# and ORDER BY ts in its windows. Sorting the results for the comparison is outside the timing.


def polars_daily(bars):
    import polars as pl

    typical = (pl.col("high") + pl.col("low") + pl.col("close")) / 3 * pl.col("volume")
    return bars.group_by("symbol").agg(
        pl.col("open").first(), pl.col("high").max(), pl.col("low").min(), pl.col("close").last(),
        pl.col("volume").sum(), (typical.sum() / pl.col("volume").sum()).alias("vwap"), pl.len().alias("bars"))


def duckdb_daily(con):
    return con.execute(
        "SELECT symbol, arg_min(open, ts) AS open, max(high) AS high, min(low) AS low, arg_max(close, ts) AS close, "
        "sum(volume)::BIGINT AS volume, sum((high + low + close) / 3 * volume) / sum(volume) AS vwap, "
        "count(*) AS bars FROM bars GROUP BY symbol").fetchnumpy()


def pandas_daily(bars: pd.DataFrame):
    grouped = bars.assign(typical=(bars["high"] + bars["low"] + bars["close"]) / 3 * bars["volume"]).groupby(
        "symbol", sort=False)
    out = grouped.agg(open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last"),
                      volume=("volume", "sum"), typical=("typical", "sum"), bars=("open", "size"))
    out["vwap"] = out["typical"] / out["volume"]
    return out


def polars_cumulative(bars):
    import polars as pl

    return bars.select(
        "symbol", "ts",
        pl.col("volume").cum_sum().over("symbol"), pl.col("high").cum_max().over("symbol"),
        pl.col("low").cum_min().over("symbol"), pl.col("close").forward_fill().over("symbol").alias("last"),
        pl.col("close").cum_count().over("symbol").alias("bars"))


def duckdb_cumulative(con):
    return con.execute(
        "SELECT symbol, ts, sum(volume) OVER w::BIGINT AS volume, max(high) OVER w AS high, min(low) OVER w AS low, "
        "last_value(close IGNORE NULLS) OVER w AS last, count(*) OVER w AS bars FROM bars "
        "WINDOW w AS (PARTITION BY symbol ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    ).fetchnumpy()


def pandas_cumulative(bars: pd.DataFrame):
    grouped = bars.groupby("symbol", sort=False)
    return pd.DataFrame({
        "symbol": bars["symbol"], "ts": bars["ts"], "volume": grouped["volume"].cumsum(),
        "high": grouped["high"].cummax(), "low": grouped["low"].cummin(), "last": grouped["close"].ffill(),
        "bars": grouped.cumcount() + 1})


def polars_bars(bars, open_ns: int):
    import polars as pl

    bucket = (pl.col("ts").dt.epoch("ns") - open_ns) // (BUCKET * 60_000_000_000)
    return bars.group_by("symbol", bucket.alias("bucket")).agg(
        pl.col("open").first(), pl.col("high").max(), pl.col("low").min(), pl.col("close").last(),
        pl.col("volume").sum(), pl.len().alias("bars"))


def duckdb_bars(con, open_ns: int):
    return con.execute(
        f"SELECT symbol, (epoch_ns(ts) - {open_ns}) // {BUCKET * 60_000_000_000} AS bucket, "
        "arg_min(open, ts) AS open, max(high) AS high, min(low) AS low, arg_max(close, ts) AS close, "
        "sum(volume)::BIGINT AS volume, count(*) AS bars FROM bars GROUP BY ALL").fetchnumpy()


def pandas_bars(bars: pd.DataFrame, open_ns: int):
    bucket = (bars["ts"].astype("int64") - open_ns) // (BUCKET * 60_000_000_000)
    return bars.groupby(["symbol", bucket.rename("bucket")], sort=False).agg(
        open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last"),
        volume=("volume", "sum"), bars=("open", "size"))


def polars_trailing(daily, sessions):
    """Long form over the full (symbol x calendar session) grid; rolling_* count nulls against min_samples
    (= window), so a window with a missing session is null; shift(1) excludes D itself."""
    import polars as pl

    grid = (daily.select("symbol").unique().join(sessions, how="cross")
            .join(daily, on=["symbol", "date"], how="left").sort("symbol", "date"))
    grid = grid.with_columns(ret=(pl.col("close") / pl.col("close").shift(1) - 1).over("symbol"))
    bench = grid.filter(pl.col("symbol") == "SPY").select("date", bret="ret")
    grid = grid.join(bench, on="date", how="left")

    def trailing(expr):
        return expr.shift(1).over("symbol")

    std = trailing(pl.col("ret").rolling_std(WINDOW))
    bench_var = trailing(pl.col("bret").rolling_var(WINDOW))
    pair = pl.col("ret") + 0 * pl.col("bret")  # null where either return is missing
    cov = trailing(pl.rolling_cov(pair, pl.col("bret"), window_size=WINDOW))
    corr = trailing(pl.rolling_corr(pair, pl.col("bret"), window_size=WINDOW))
    return grid.select(
        "symbol", "date",
        trailing(pl.col("volume").rolling_mean(WINDOW)).alias("avg_volume"),
        trailing(pl.col("close").rolling_mean(WINDOW)).alias("avg_price"),
        pl.when(std > 0).then(100 * std).alias("std_pct"),
        pl.when(bench_var > 0).then(cov / bench_var).alias("beta"),
        pl.when((bench_var > 0) & (std > 0)).then(corr).alias("correlation"),
        trailing(pl.col("high").rolling_max(WINDOW)).alias("hist_high"),
        trailing(pl.col("low").rolling_min(WINDOW)).alias("hist_low"))


def duckdb_trailing(con):
    w = WINDOW
    return con.execute(f"""
        WITH grid AS (
            SELECT s.date, y.symbol, d.close, d.volume, d.high, d.low
            FROM sessions s CROSS JOIN (SELECT DISTINCT symbol FROM daily) y
            LEFT JOIN daily d ON d.date = s.date AND d.symbol = y.symbol),
        r AS (SELECT *, close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS ret FROM grid),
        rb AS (SELECT r.*, b.ret AS bret FROM r LEFT JOIN (SELECT date, ret FROM r WHERE symbol = 'SPY') b
               ON b.date = r.date),
        agg AS (
            SELECT symbol, date,
                count(close) OVER w AS n_close, count(ret) OVER w AS n_ret, count(ret * bret) OVER w AS n_pair,
                avg(volume) OVER w AS avg_volume, avg(close) OVER w AS avg_price,
                max(high) OVER w AS hist_high, min(low) OVER w AS hist_low,
                stddev_samp(ret) OVER w AS sd, var_samp(bret) OVER w AS bvar,
                covar_samp(ret, bret) OVER w AS cov, corr(ret, bret) OVER w AS corr
            FROM rb WINDOW w AS (PARTITION BY symbol ORDER BY date ROWS BETWEEN {w} PRECEDING AND 1 PRECEDING))
        SELECT symbol, date,
            CASE WHEN n_close = {w} THEN avg_volume END AS avg_volume,
            CASE WHEN n_close = {w} THEN avg_price END AS avg_price,
            CASE WHEN n_ret = {w} AND sd > 0 THEN 100 * sd END AS std_pct,
            CASE WHEN n_pair = {w} AND bvar > 0 THEN cov / bvar END AS beta,
            CASE WHEN n_pair = {w} AND bvar > 0 AND sd > 0 THEN corr END AS correlation,
            CASE WHEN n_close = {w} THEN hist_high END AS hist_high,
            CASE WHEN n_close = {w} THEN hist_low END AS hist_low
        FROM agg""").fetchnumpy()


def pandas_trailing(daily: pd.DataFrame, sessions: pd.DatetimeIndex):
    """Wide [session x symbol] frames; rolling(min_periods = window) is NaN when any session is missing."""
    wide = {f: daily.pivot(index="date", columns="symbol", values=f).reindex(sessions)
            for f in ("close", "volume", "high", "low")}
    ret = wide["close"] / wide["close"].shift(1) - 1
    bret = ret["SPY"]
    std = ret.rolling(WINDOW).std().shift(1)
    bench_var = bret.rolling(WINDOW).var().shift(1)
    cov = ret.rolling(WINDOW).cov(bret).shift(1)
    corr = ret.rolling(WINDOW).corr(bret).shift(1)
    positive = np.broadcast_to(bench_var.to_numpy()[:, None] > 0, ret.shape)
    return {
        "avg_volume": wide["volume"].rolling(WINDOW).mean().shift(1),
        "avg_price": wide["close"].rolling(WINDOW).mean().shift(1),
        "std_pct": (100 * std).where(std > 0),
        "beta": cov.div(bench_var, axis=0).where(positive),
        "correlation": corr.where(positive & (std > 0).to_numpy()),
        "hist_high": wide["high"].rolling(WINDOW).max().shift(1),
        "hist_low": wide["low"].rolling(WINDOW).min().shift(1),
    }


# ------------------------------------------------------------------------------------------ memory

MEMORY_PROBE = """
import sys
sys.path.insert(0, sys.argv[4])
from tapescan.analytics import cumulative_intraday, daily_matrix, daily_values, derived_panel, trailing_metrics
from tapescan.store import Store
store, count, window = Store(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
days = store.sessions()[:count]
for day in days:
    panel = store.read_session(day)
    daily_values(panel, "cpu"); cumulative_intraday(panel, "cpu"); derived_panel(panel, 5, "cpu")
    del panel
trailing_metrics(daily_matrix(store.read_daily(days[0], days[-1]), days[0], days[-1]), window, "SPY", "cpu")
# VmHWM is this process's own peak (ru_maxrss would include the parent's, inherited across exec).
print(int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))) / 1024)
"""


def peak_rss_mb(store: Store, sessions: int) -> float:
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(store.path), str(sessions), str(WINDOW),
                           str(Path(__file__).resolve().parent)], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------------------------------------- main


def versions() -> dict[str, str]:
    import duckdb
    import numba
    import polars as pl

    return {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
            "pandas": pd.__version__, "polars": pl.__version__, "duckdb": duckdb.__version__}


def main() -> None:
    parser = market_parser(__doc__.splitlines()[0], symbols=2_000, sessions=60, start="2024-01-02")
    parser.add_argument("--gpu", action="store_true",
                        help="Also run the GPU path (needs a usable GPU, or NUMBA_ENABLE_CUDASIM=1 to try the code).")
    args = parser.parse_args()

    import duckdb
    import polars as pl

    store, days = market_store(args.symbols, args.sessions, args.start)
    results: dict[str, object] = {
        "symbols": args.symbols, "sessions": len(days), "repeat": args.repeat,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}", "versions": versions(),
        "memory_bandwidth_gbs": memory_bandwidth_gbs(),
    }
    day = days[len(days) // 2]
    path = session_file(store, day)
    panel = store.read_session(day)
    open_ns = panel.minutes[0].value
    columns = ["symbol", "ts", *FIELDS, "extended"]
    pl_bars = pl.read_parquet(path, columns=columns).filter(~pl.col("extended")).drop("extended")
    pd_bars = pd.read_parquet(path, columns=columns)
    pd_bars = pd_bars[~pd_bars["extended"]].drop(columns="extended").reset_index(drop=True)
    pd_bars["symbol"] = pd_bars["symbol"].astype(str)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE bars AS SELECT {', '.join(columns[:-1])} FROM read_parquet('{path}') WHERE NOT extended")
    daily = store.read_daily(days[0], days[-1])
    session_index = pd.DatetimeIndex(
        [pd.Timestamp(d) for d in calendar.sessions(days[0], days[-1])["date"]]).as_unit("ns")
    pd_daily = daily.assign(date=pd.to_datetime(daily["date"]).astype("datetime64[ns]"))
    pd_daily = pd_daily[["date", "symbol", "close", "volume", "high", "low"]]
    pl_daily = pl.from_pandas(pd_daily)
    pl_sessions = pl.DataFrame({"date": session_index.to_numpy()})
    con.register("daily_view", pd_daily)
    con.execute("CREATE TABLE daily AS SELECT * FROM daily_view")
    con.register("sessions_view", pd.DataFrame({"date": session_index}))
    con.execute("CREATE TABLE sessions AS SELECT * FROM sessions_view")
    matrix = daily_matrix(daily, days[0], days[-1])
    results["bars_in_session"] = int(panel.mask.sum())
    results["panel_shape"] = list(panel.shape)

    mask = panel.mask
    s, m = panel.shape
    n_days, n_sym = matrix.close.shape
    tapescan = {
        METRICS[0]: (lambda: daily_values(panel, "cpu"), (4 * 8 + 8 + 1) * s * m + 7 * 8 * s),
        METRICS[1]: (lambda: cumulative_intraday(panel, "cpu"), (4 * 8 + 8 + 1) * s * m + (4 * 8 + 4) * s * m),
        METRICS[2]: (lambda: derived_panel(panel, BUCKET, "cpu"),
                     (4 * 8 + 8 + 1) * s * m + (5 * 8 + 4 + 1) * s * -(-m // BUCKET)),
        METRICS[3]: (lambda: trailing_metrics(daily_matrix(daily, days[0], days[-1]), WINDOW, "SPY", "cpu"),
                     (4 * 8 + 1) * n_days * n_sym + 9 * n_days + len(TRAILING_FIELDS) * 8 * n_days * n_sym),
    }
    peers = {
        METRICS[0]: {"polars": lambda: polars_daily(pl_bars), "DuckDB": lambda: duckdb_daily(con),
                     "pandas": lambda: pandas_daily(pd_bars)},
        METRICS[1]: {"polars": lambda: polars_cumulative(pl_bars), "DuckDB": lambda: duckdb_cumulative(con),
                     "pandas": lambda: pandas_cumulative(pd_bars)},
        METRICS[2]: {"polars": lambda: polars_bars(pl_bars, open_ns), "DuckDB": lambda: duckdb_bars(con, open_ns),
                     "pandas": lambda: pandas_bars(pd_bars, open_ns)},
        METRICS[3]: {"polars": lambda: polars_trailing(pl_daily, pl_sessions), "DuckDB": lambda: duckdb_trailing(con),
                     "pandas": lambda: pandas_trailing(pd_daily, session_index)},
    }

    def ours_as_long(metric: str, out) -> dict[str, np.ndarray]:
        """tapescan's result in the peers' row order (symbol, then time), only where a bar exists."""
        if metric == METRICS[0]:
            return {n: out[n].to_numpy() for n in DAILY_OUT}
        if metric == METRICS[1]:
            return {n: getattr(out, n)[mask] for n in CUM_OUT}
        if metric == METRICS[2]:
            keep = out.mask
            return {"open": out.open[keep], "high": out.high[keep], "low": out.low[keep], "close": out.close[keep],
                    "volume": out.volume[keep], "bars": derived_counts(keep)}
        return {n: out[n].to_numpy() for n in TRAILING_FIELDS}

    def derived_counts(keep: np.ndarray) -> np.ndarray:
        counts = np.add.reduceat(mask.astype(np.int64), np.arange(0, m, BUCKET), axis=1)
        return counts[keep]

    def peer_as_long(metric: str, out) -> dict[str, np.ndarray]:
        if metric == METRICS[0]:
            return long_columns(out, DAILY_OUT, ["symbol"])
        if metric == METRICS[1]:
            return long_columns(out, CUM_OUT, ["symbol", "ts"])
        if metric == METRICS[2]:
            return long_columns(out, BAR_OUT, ["symbol", "bucket"])
        if isinstance(out, dict) and isinstance(next(iter(out.values())), pd.DataFrame):
            return {n: frame.reindex(columns=matrix.symbols).to_numpy() for n, frame in out.items()}
        long = long_columns(out, list(TRAILING_FIELDS), ["symbol", "date"])
        return {n: v.reshape(n_sym, n_days).T for n, v in long.items()}

    rows = {}
    for metric, (fn, nbytes) in tapescan.items():
        started = time.perf_counter()
        fn()
        first_call = time.perf_counter() - started
        seconds, out = timed(fn, args.repeat)
        ours = ours_as_long(metric, out)
        row = {"tapescan_s": seconds, "first_call_s": first_call, "bytes": nbytes,
               "bandwidth_share": nbytes / seconds / 1e9 / results["memory_bandwidth_gbs"], "peers": {}}
        for name, peer in peers[metric].items():
            peer_seconds, peer_out = timed(peer, args.repeat)
            row["peers"][name] = {"s": peer_seconds, "ratio": peer_seconds / seconds,
                                  "result": compare(ours, peer_as_long(metric, peer_out))}
        rows[metric] = row
        print(f"{metric}: done", file=sys.stderr)
    results["metrics"] = rows
    kernel_only = timed(lambda: trailing_metrics(matrix, WINDOW, "SPY", "cpu"), args.repeat)[0]
    results["trailing_without_daily_matrix_s"] = kernel_only
    trailing_row = rows[METRICS[3]]
    trailing_row["bandwidth_share"] = trailing_row["bytes"] / kernel_only / 1e9 / results["memory_bandwidth_gbs"]
    trailing_row["bandwidth_seconds"] = kernel_only
    if args.gpu:
        results["gpu"] = gpu_section(store, day, panel, matrix, rows, args.repeat)
    half = max(len(days) // 2, WINDOW + 2)
    results["peak_rss_mb"] = {f"{count} sessions": peak_rss_mb(store, count) for count in (half, len(days))}
    results["peak_rss_this_process_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


def gpu_section(store: Store, day: dt.date, panel, matrix, cpu_rows: dict, repeat: int) -> dict:
    """The same four metrics on the GPU, from a panel built on the device and kept resident: seconds
    (results copied back included), ratios to tapescan CPU and polars from this run, exact equality with the
    CPU results, the store-to-device load time, and the share of the GPU's measured memory bandwidth."""
    from numba import cuda

    from tapescan.gpu.panels import load_session

    def loaded():
        device = load_session(store, day)
        cuda.synchronize()
        return device

    load_s, device = timed(loaded, repeat)
    host_load_s = timed(lambda: store.read_session(day), repeat)[0]
    runs = {
        METRICS[0]: (lambda: daily_values(device, "gpu"), lambda: daily_values(panel, "cpu"), DAILY_OUT),
        METRICS[1]: (lambda: cumulative_intraday(device, "gpu"), lambda: cumulative_intraday(panel, "cpu"), CUM_OUT),
        METRICS[2]: (lambda: derived_panel(device, BUCKET, "gpu"), lambda: derived_panel(panel, BUCKET, "cpu"),
                     ["open", "high", "low", "close", "volume", "mask"]),
        METRICS[3]: (lambda: trailing_metrics(matrix, WINDOW, "SPY", "gpu"),
                     lambda: trailing_metrics(matrix, WINDOW, "SPY", "cpu"), list(TRAILING_FIELDS)),
    }
    bandwidth = gpu_bandwidth_gbs()
    rows = {}
    for metric, (on_gpu, on_cpu, fields) in runs.items():
        started = time.perf_counter()
        on_gpu()
        first_call = time.perf_counter() - started
        seconds, got = timed(on_gpu, repeat)
        want = on_cpu()
        identical = all(np.array_equal(np.asarray(field_of(got, f)), np.asarray(field_of(want, f)), equal_nan=True)
                        for f in fields)
        cpu_row = cpu_rows[metric]
        rows[metric] = {"gpu_s": seconds, "first_call_s": first_call, "identical_to_cpu": identical,
                        "cpu_over_gpu": cpu_row["tapescan_s"] / seconds,
                        "polars_over_gpu": cpu_row["peers"]["polars"]["s"] / seconds,
                        "bandwidth_share": cpu_row["bytes"] / seconds / 1e9 / bandwidth}
    return {"device": gpu_name(), "bandwidth_gbs": bandwidth, "load_s": load_s, "host_load_s": host_load_s,
            "device_panel_mb": device.nbytes / 1e6, "metrics": rows}


def field_of(result, name: str):
    """A field of any analytics result (a DataFrame column, a dataclass attribute, or a dict entry)."""
    if isinstance(result, pd.DataFrame):
        return result[name].to_numpy(dtype=np.float64)
    if isinstance(result, dict):
        return result[name].to_numpy(dtype=np.float64)
    return getattr(result, name)


def gpu_name() -> str:
    from numba import cuda

    name = getattr(cuda.get_current_device(), "name", "the numba CUDA simulator (timings mean nothing)")
    return name.decode() if isinstance(name, bytes) else str(name)


def gpu_bandwidth_gbs() -> float:
    """Device-to-device copy bandwidth (bytes read + written per second) of 1 GiB, best of 5 (64 MiB under the
    simulator, where the figure means nothing)."""
    from numba import config, cuda

    count = (1 << 23) if config.ENABLE_CUDASIM else (1 << 27)
    source, target = cuda.device_array(count), cuda.device_array(count)

    def copy():
        target.copy_to_device(source)
        cuda.synchronize()

    best = min(timed(copy, 1)[0] for _ in range(5))
    return 2 * source.nbytes / best / 1e9


def report(results: dict) -> None:
    """Print the results as Markdown, ready for bench/RESULTS.md."""
    bandwidth = results["memory_bandwidth_gbs"]
    print(f"## Analytics (CPU): {results['symbols']:,} symbols x {results['sessions']} sessions — {dt.date.today()}")
    print(f"\nCommand: `{results['command']}`  \nMachine: {results['machine']}  \n"
          f"Versions: {', '.join(f'{k} {v}' for k, v in results['versions'].items())}  \n"
          f"Measured memory bandwidth (numpy copy): {bandwidth:.1f} GB/s; median of {results['repeat']} runs; "
          f"one session = {results['bars_in_session']:,} regular bars, panel {results['panel_shape'][0]:,} x "
          f"{results['panel_shape'][1]} minutes.\n")
    print("| metric | tapescan s | polars s (x) | DuckDB s (x) | pandas s (x) | tapescan GB/s (% of bandwidth) |"
          " first call s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for metric, row in results["metrics"].items():
        cells = [f"{p['s']:.4f} ({p['ratio']:.1f}x)" for p in row["peers"].values()]
        rate = row["bytes"] / row.get("bandwidth_seconds", row["tapescan_s"]) / 1e9
        print(f"| {metric} | {row['tapescan_s']:.4f} | {' | '.join(cells)} | {rate:.2f} "
              f"({100 * row['bandwidth_share']:.1f} %) | {row['first_call_s']:.2f} |")
    print("\n(x) = peer seconds / tapescan seconds. First call = numba compile or load from its cache.")
    print("\nResults against tapescan (relative 1e-9, undefined positions equal):\n")
    for metric, row in results["metrics"].items():
        print(f"- {metric}: " + "; ".join(f"{name} {p['result']}" for name, p in row["peers"].items()))
    print("\nNotes: one session (the middle one) for the per-session metrics; tapescan reads the dense panel "
          "already read, peers the session's regular-session long-form bars already in their frame. Cumulative "
          "intraday: peers give long form (one row per bar), tapescan every minute, so they are compared only at "
          "minutes where a bar exists. Result sorting for the comparison is outside the timing. Trailing peers "
          "build the full symbol x calendar-session grid inside the timing (needed for the missing-session rule).")
    print(f"\nTrailing: tapescan's seconds include `daily_matrix` (pivot of the daily rows to [session x symbol]), "
          f"as the peers' include building their grid; `trailing_metrics` alone on the built matrix: "
          f"{results['trailing_without_daily_matrix_s']:.4f} s; its GB/s column is that call's: the kernel's input "
          "and output arrays over that time (low, as each window is recomputed: O(sessions x days) reads).")
    print("\nPeak RSS of computing all four metrics (session by session), one fresh process per range:")
    for label, megabytes in results["peak_rss_mb"].items():
        print(f"- {label}: {megabytes:.0f} MB")
    print(f"\npeak RSS of this benchmark process: {results['peak_rss_this_process_mb']:.0f} MB")
    if "gpu" in results:
        report_gpu(results["gpu"])


def report_gpu(gpu: dict) -> None:
    print(f"\n### The same metrics on the GPU: {gpu['device']}\n")
    print(f"Measured device memory bandwidth (device-to-device copy): {gpu['bandwidth_gbs']:.0f} GB/s. The session's "
          f"panel is built on the device from the store once ({gpu['load_s']:.4f} s, {gpu['device_panel_mb']:.1f} MB "
          f"on the device; the host reader takes {gpu['host_load_s']:.4f} s) and stays resident; each GPU time "
          "includes copying its results back to the host.\n")
    print("| metric | GPU s | CPU / GPU | polars / GPU | GPU GB/s share of bandwidth | identical to CPU "
          "| first call s |")
    print("| --- | ---: | ---: | ---: | ---: | :---: | ---: |")
    for metric, row in gpu["metrics"].items():
        print(f"| {metric} | {row['gpu_s']:.5f} | {row['cpu_over_gpu']:.1f}x | {row['polars_over_gpu']:.1f}x | "
              f"{100 * row['bandwidth_share']:.1f} % | {'yes' if row['identical_to_cpu'] else 'NO'} | "
              f"{row['first_call_s']:.2f} |")


if __name__ == "__main__":
    main()
