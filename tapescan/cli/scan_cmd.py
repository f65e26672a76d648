"""`tapescan scan` (one moment) and `tapescan sweep` (every scan time of every session in a range)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from tapescan import calendar
from tapescan.cli.context import options, progress_bar, say
from tapescan.cli.output import STREAM_SUFFIXES, check_output_path, emit_frame, frame_stream
from tapescan.cli.store_options import STORE_OPTION
from tapescan.errors import TapescanError
from tapescan.scanner import ScannerConfig, known_groups, load_scanner_config
from tapescan.scanner.engine import SCAN_SCHEMA, iter_sweep
from tapescan.scanner.engine import scan as scan_at
from tapescan.store import Store

CONFIG_ARGUMENT = typer.Argument(..., help="Scanner config: .json, .yaml/.yml or .toml (market_scanner_config).")


def _config(ctx: typer.Context, path: Path, store: Store) -> ScannerConfig:
    """The config, with the store's own groups known; its warnings are printed once."""
    config = load_scanner_config(path, groups=known_groups(store.path))
    for warning in config.warnings():
        say(ctx, f"[yellow]warning:[/] {warning}")
    return config


def _warn_missing(ctx: typer.Context, symbols: list[str]) -> None:
    shown = ", ".join(symbols[:12]) + (f" and {len(symbols) - 12} more" if len(symbols) > 12 else "")
    say(ctx, f"[yellow]warning:[/] the store has no bars for {len(symbols)} universe symbol(s), left out: {shown}.")


def scan(
    ctx: typer.Context,
    config: Path = CONFIG_ARGUMENT,
    store: Path = STORE_OPTION,
    date: str = typer.Option(..., "--date", help="Session to scan, YYYY-MM-DD."),
    at: str = typer.Option(..., "--time", help="Moment to scan, HH:MM in ET (09:30-16:00)."),
    output: Path | None = typer.Option(None, "--output", help="Write to a .csv, .parquet or .json file."),
) -> None:
    """The symbols that pass every filter of CONFIG as of one moment, with their metrics, sorted by symbol."""
    check_output_path(output)
    handle = Store(store)
    settings = _config(ctx, config, handle)
    hits = scan_at(handle, settings, date, at, options(ctx).backend, on_missing=lambda s: _warn_missing(ctx, s))
    say(ctx, f"{len(hits)} symbol(s) pass every filter on {date} at {at} ET.")
    emit_frame(hits, output, title=f"scan {date} {at}")


def sweep(
    ctx: typer.Context,
    config: Path = CONFIG_ARGUMENT,
    store: Path = STORE_OPTION,
    start: str = typer.Option(..., "--start", help="First session, YYYY-MM-DD."),
    end: str = typer.Option(..., "--end", help="Last session, YYYY-MM-DD."),
    output: Path = typer.Option(..., "--output", help="Write the hits to a .parquet or .csv file."),
    first_hit: bool = typer.Option(False, "--first-hit", help="Report each (session, symbol) only at its first hit."),
) -> None:
    """Scan every session from START to END at every time of CONFIG's window; writes the hits to OUTPUT."""
    if output.suffix.lower() not in STREAM_SUFFIXES:
        raise TapescanError(f"--output {output}: a sweep is written as it runs; use a name ending in .parquet or "
                            ".csv.")
    handle = Store(store)
    settings = _config(ctx, config, handle)
    first, last = calendar.to_date(start), calendar.to_date(end)
    sessions = [day for day in handle.sessions() if first <= day <= last]
    started, hits, per_session = time.perf_counter(), 0, []
    with progress_bar(ctx, "sweeping", total=len(sessions), unit="sessions") as advance, \
            frame_stream(output, SCAN_SCHEMA) as write:
        for day, frame in iter_sweep(handle, settings, start, end, first_hit, options(ctx).backend,
                                     on_missing=lambda symbols: _warn_missing(ctx, symbols)):
            write(frame)
            hits += len(frame)
            per_session.append((day, len(frame)))
            advance(1)
    seconds = time.perf_counter() - started
    say(ctx, f"{hits:,} hits in {len(per_session)} sessions ({len(per_session) / max(seconds, 1e-9):.1f} sessions/s)"
             f" written to {output}.")
