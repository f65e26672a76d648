"""`tapescan bars SYMBOL`: the 1-minute bars of one symbol over a date range."""

from __future__ import annotations

from pathlib import Path

import typer

from tapescan.cli.context import say
from tapescan.cli.output import check_output_path, emit_frame
from tapescan.cli.store_options import STORE_OPTION, require_symbol
from tapescan.store import Store

COLUMNS = ["ts", "open", "high", "low", "close", "volume"]


def bars(
    ctx: typer.Context,
    symbol: str = typer.Argument(..., help="Ticker, e.g. AAPL."),
    store: Path = STORE_OPTION,
    start: str = typer.Option(..., "--start", help="First session, YYYY-MM-DD."),
    end: str = typer.Option(..., "--end", help="Last session, YYYY-MM-DD."),
    extended_hours: bool = typer.Option(False, "--extended-hours", help="Include pre- and post-market bars."),
    output: Path | None = typer.Option(None, "--output", help="Write to a .csv, .parquet or .json file."),
) -> None:
    """Print or save the 1-minute bars of SYMBOL: ts (bar start, ET), open, high, low, close, volume."""
    check_output_path(output)
    handle = Store(store)
    symbol = symbol.upper()
    require_symbol(handle, symbol)
    frame = handle.read_bars(symbol, start, end, extended_hours=extended_hours)[COLUMNS]
    say(ctx, f"{symbol}: {len(frame):,} bars from {start} to {end}.")
    emit_frame(frame, output, title=f"{symbol} 1-minute bars")
