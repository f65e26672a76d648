"""`tapescan synth STORE`: write a seeded synthetic market straight into a store."""

from __future__ import annotations

from pathlib import Path

import typer

from tapescan import calendar
from tapescan.cli.context import progress_bar, say
from tapescan.store import Store
from tapescan.synth import write_synthetic_market

DEFAULT_START = "2024-01-02"
DEFAULT_END = "2024-03-28"


def synth(
    ctx: typer.Context,
    store: Path = typer.Argument(..., help="Store folder (created when missing)."),
    symbols: int = typer.Option(500, "--symbols", min=1, help="Number of symbols (SPY first, then real tickers, then synthetic ones)."),
    start: str = typer.Option(DEFAULT_START, "--start", metavar="DATE", help="First date, YYYY-MM-DD."),
    end: str = typer.Option(DEFAULT_END, "--end", metavar="DATE", help="Last date, YYYY-MM-DD."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same arguments always give the same market."),
    extended_hours: bool = typer.Option(False, "--extended-hours", help="Also write pre- and post-market bars."),
) -> None:
    """Write a synthetic market (one-factor returns, U-shaped volume, gaps, a listing and a delisting)."""
    days = calendar.sessions(start, end)["date"].tolist()
    target = Store.create(store)
    with progress_bar(ctx, "synthesizing sessions", total=len(days)) as advance:
        totals = write_synthetic_market(
            target, symbols, start, end, seed=seed, extended_hours=extended_hours, on_session=lambda day, bars: advance(1)
        )
    say(
        ctx,
        f"{store}: {totals.sessions_written} session(s) written, {totals.bars_written:,} bars "
        f"({totals.bars_unchanged:,} already there), {symbols} symbols, {days[0]} to {days[-1]}.",
    )
