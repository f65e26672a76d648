"""`tapescan daily`: daily values (open, high, low, close, volume, vwap, bars) per symbol and session."""

from __future__ import annotations

from pathlib import Path

import typer

from tapescan.cli.context import say
from tapescan.cli.output import check_output_path, emit_frame
from tapescan.cli.store_options import STORE_OPTION, parse_symbols, require_symbols, warn_no_rows
from tapescan.store import Store

COLUMNS = ["date", "symbol", "open", "high", "low", "close", "volume", "vwap", "bars"]


def daily(
    ctx: typer.Context,
    store: Path = STORE_OPTION,
    start: str = typer.Option(..., "--start", metavar="DATE", help="First session, YYYY-MM-DD."),
    end: str = typer.Option(..., "--end", metavar="DATE", help="Last session, YYYY-MM-DD."),
    symbols: list[str] | None = typer.Option(None, "--symbols", metavar="A,B,...", help="Only these symbols (repeat or comma-separate)."),
    output: Path | None = typer.Option(None, "--output", metavar="FILE", help="Write to a .csv, .parquet or .json file."),
) -> None:
    """Print or save daily values from regular-session bars: date, symbol, open, high, low, close, volume, vwap, bars."""
    check_output_path(output)
    handle, wanted = Store(store), parse_symbols(symbols)
    if wanted is not None:
        require_symbols(handle, wanted)
    frame = handle.read_daily(start, end, wanted)[COLUMNS]
    if frame.empty:
        warn_no_rows(ctx, handle, "daily values", start, end, wanted)
    else:
        say(ctx, f"{len(frame):,} daily rows ({frame['symbol'].nunique()} symbols) from {start} to {end}.")
    emit_frame(frame, output, title="daily values")
