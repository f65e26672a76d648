"""`tapescan demo`: build the embedded synthetic market once and show what it holds."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from tapescan import calendar
from tapescan import demo as demo_market
from tapescan.cli.context import progress_bar, say, stdout_console
from tapescan.cli.output import show_frame
from tapescan.store import Store


def demo(
    ctx: typer.Context,
    directory: Path | None = typer.Option(None, "--dir", help="Where to build the demo store (default: a cache folder)."),
) -> None:
    """Build a synthetic market (300 symbols, Sep-Dec 2024) and show the store, the calendar and the busiest symbols."""
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
    out.print(f"[bold]Store[/] {path} (synthetic market, seed {demo_market.DEMO_SEED}: real tickers, made-up prices)", highlight=False)
    out.print(
        f"  {len(summary.sessions)} sessions ({first} to {last}), {summary.symbols} symbols, "
        f"{summary.bars:,} one-minute bars, {summary.disk_bytes / 1e6:.1f} MB on disk",
        highlight=False,
    )
    out.print("[bold]Calendar[/] holidays and early closes in the range (NYSE)", highlight=False)
    show_frame(demo_market.calendar_facts(first, last))
    out.print(f"[bold]Most active symbols[/] on {last} (daily values from regular-session bars)", highlight=False)
    show_frame(demo_market.most_active(store, last))
    out.print(f"Next: tapescan bars AAPL --store {path} --start {last} --end {last}", highlight=False)
