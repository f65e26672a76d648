"""`tapescan demo`: build the embedded synthetic market once and show what it holds."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import typer
from rich.markup import escape

from tapescan import calendar
from tapescan import demo as demo_market
from tapescan.backtest.engine import backtest as run_backtest
from tapescan.cli.backtest_cmd import stats_frame
from tapescan.cli.context import options, progress_bar, say, stdout_console
from tapescan.cli.output import show_frame
from tapescan.scanner import ScannerConfig
from tapescan.scanner.engine import scan, sweep
from tapescan.store import Store


def demo(
    ctx: typer.Context,
    directory: Path | None = typer.Option(None, "--dir", metavar="DIR", help="Where to build the demo store (default: a cache folder)."),
) -> None:
    """Build a synthetic market (300 symbols, Sep-Dec 2024), show what it holds, run the client's scanner and
    backtest it."""
    path = directory or demo_market.default_demo_dir()
    started = time.perf_counter()
    total = len(calendar.sessions(demo_market.DEMO_START, demo_market.DEMO_END))
    with progress_bar(ctx, "building the demo market", total=total) as advance:
        built = demo_market.build_demo_market(path, on_session=lambda day, bars: advance(1))
    say(ctx, f"{'built' if built else 'reusing'} the demo market in {path} ({time.perf_counter() - started:.1f} s)")
    store = Store(path)
    summary = demo_market.summarize(store)
    first, last = summary.sessions[0], summary.sessions[-1]
    out = stdout_console()
    out.print(f"[bold]Store[/] {escape(str(path))} (synthetic market, seed {demo_market.DEMO_SEED}: real tickers, made-up prices)", highlight=False)
    out.print(
        f"  {len(summary.sessions)} sessions ({first} to {last}), {summary.symbols} symbols, "
        f"{summary.bars:,} one-minute bars, {summary.disk_bytes / 1e6:.1f} MB on disk",
        highlight=False,
    )
    out.print("[bold]Calendar[/] holidays and early closes in the range (NYSE)", highlight=False)
    show_frame(demo_market.calendar_facts(first, last))
    out.print(f"[bold]Most active symbols[/] on {last} (daily values from regular-session bars)", highlight=False)
    show_frame(demo_market.most_active(store, last))
    config_path = _scanner(ctx, store, summary.sessions)
    swept = summary.sessions[-demo_market.DEMO_SWEEP_SESSIONS]
    strategy_path = _backtest(ctx, store, swept, last)
    out.print(escape(f"Next: tapescan bars AAPL --store {path} --start {last} --end {last}"), highlight=False)
    out.print(escape(f"      tapescan scan {config_path} --store {path} --date {last} --time 10:00 --explain"),
              highlight=False)
    out.print(escape(f"      tapescan sweep {config_path} --store {path} --start {swept} --end {last} "
                     "--output hits.parquet"), highlight=False)
    out.print(escape(f"      tapescan backtest {strategy_path} --store {path} --start {swept} --end {last} "
                     "--output backtest --report backtest.html"), highlight=False)


def _scanner(ctx: typer.Context, store: Store, sessions: list) -> Path:
    """Run the client's scanner config (as the demo adjusts it) at one moment and over the last month; returns
    where the demo's config was saved."""
    out = stdout_console()
    client = ScannerConfig.model_validate(demo_market.client_config_document())
    out.print("[bold]Scanner[/] the client's market_scanner_config, as written, loads with these warnings:",
              highlight=False)
    for warning in client.warnings():
        out.print(escape(f"  - {warning}"), highlight=False)
    config, config_path, notes = demo_market.demo_config(store.path)
    out.print("  so the demo changes only this (every other bound is the client's):", highlight=False)
    for note in notes:
        out.print(escape(f"  - {note}"), highlight=False)
    backend = options(ctx).backend
    day, moment = sessions[-1], demo_market.DEMO_SCAN_TIME
    hits = scan(store, config, day, moment, backend)
    out.print(f"[bold]Scan[/] {day} at {moment:%H:%M} ET: {len(hits)} symbol(s) pass every filter "
              f"(universe: the 5 symbols + SP500 + NASDAQ100 - AAPL, MSFT, as held by the demo store)", highlight=False)
    show_frame(hits.round(3))
    days = sessions[-demo_market.DEMO_SWEEP_SESSIONS:]
    started = time.perf_counter()
    swept = sweep(store, config, days[0], days[-1], first_hit=True, backend=backend)
    seconds = time.perf_counter() - started
    per_session = swept.groupby("date").agg(hits=("symbol", "size"), first_time=("time", "min"),
                                            last_time=("time", "max")).reset_index()
    out.print(f"[bold]Sweep[/] {days[0]} to {days[-1]}, every minute {config.start_time:%H:%M}-"
              f"{config.end_time:%H:%M} ET (never past an early close), first hit per symbol and session: "
              f"{len(swept)} hits in {len(days)} sessions, {seconds:.1f} s", highlight=False)
    show_frame(per_session)
    return config_path


def _backtest(ctx: typer.Context, store: Store, first: dt.date, last: dt.date) -> Path:
    """Backtest the client's scanner (strategy: scanner, as the demo adjusts it) from `first` to `last` and print
    the statistics; returns where the demo's strategy file was saved."""
    out = stdout_console()
    config, strategy_path = demo_market.demo_strategy(store.path)
    started = time.perf_counter()
    result = run_backtest(config, store, first, last, backend=options(ctx).backend)
    seconds = time.perf_counter() - started
    rejected = int((result.orders["status"] == "rejected").sum())
    stops = config.stops
    out.print(f"[bold]Backtest[/] the scanner's first hit per symbol and session, {first} to {last}: "
              f"${config.size.value:,.0f} a position at the next bar's open, out at a {stops.stop_loss_pct:g}% stop "
              f"loss, a {stops.take_profit_pct:g}% take profit or the close; {len(result.trades)} trades, "
              f"{len(result.orders)} orders ({rejected} rejected), {seconds:.1f} s", highlight=False)
    show_frame(stats_frame(result.stats))
    return strategy_path
