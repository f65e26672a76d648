"""`tapescan bars SYMBOL`: the 1-minute (or derived k-minute) bars of one symbol over a date range."""

from __future__ import annotations

from pathlib import Path

import typer

from tapescan.analytics.bars import parse_interval, symbol_bars
from tapescan.cli.context import options, say
from tapescan.cli.output import check_output_path, emit_frame
from tapescan.cli.store_options import STORE_OPTION, require_symbols, warn_no_rows
from tapescan.errors import TapescanError
from tapescan.store import Store

COLUMNS = ["ts", "open", "high", "low", "close", "volume"]


def bars(
    ctx: typer.Context,
    symbol: str = typer.Argument(..., help="Ticker, e.g. AAPL."),
    store: Path = STORE_OPTION,
    start: str = typer.Option(..., "--start", metavar="DATE", help="First session, YYYY-MM-DD."),
    end: str = typer.Option(..., "--end", metavar="DATE", help="Last session, YYYY-MM-DD."),
    interval: str = typer.Option("1m", "--interval", metavar="LENGTH", help="Bar length: 1m, or derived bars such as 5m, 15m, 1h."),
    extended_hours: bool = typer.Option(False, "--extended-hours", help="Include pre- and post-market bars (1m only)."),
    output: Path | None = typer.Option(None, "--output", metavar="FILE", help="Write to a .csv, .parquet or .json file."),
) -> None:
    """Print or save the bars of SYMBOL: ts (bar start, ET), open, high, low, close, volume."""
    check_output_path(output)
    handle = Store(store)
    symbol = symbol.upper()
    require_symbols(handle, [symbol])
    minutes = parse_interval(interval)
    if minutes == 1:
        frame = handle.read_bars(symbol, start, end, extended_hours=extended_hours)[COLUMNS]
    elif extended_hours:
        raise TapescanError("derived bars are built from the regular session; drop --extended-hours or use 1m.")
    else:
        frame = symbol_bars(handle, symbol, start, end, minutes, backend=options(ctx).backend)[COLUMNS]
    if frame.empty:
        warn_no_rows(ctx, handle, f"bars for {symbol}", start, end, [symbol])
    else:
        say(ctx, f"{symbol}: {len(frame):,} {minutes}-minute bars from {start} to {end}.")
    emit_frame(frame, output, title=f"{symbol} {minutes}-minute bars")
