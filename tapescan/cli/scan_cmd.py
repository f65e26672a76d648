"""`tapescan scan` (one moment) and `tapescan sweep` (every scan time of every session in a range)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import typer

from tapescan import calendar
from tapescan.cli.context import options, progress_bar, say
from tapescan.cli.output import check_output_path, check_stream_output_path, emit_frame, frame_stream
from tapescan.cli.store_options import STORE_OPTION
from tapescan.scanner import Diagnostic, ScannerConfig, known_groups, load_scanner_config
from tapescan.scanner.diagnostics import DiagnosticHandler
from tapescan.scanner.engine import SCAN_SCHEMA, iter_sweep
from tapescan.scanner.engine import scan as scan_at
from tapescan.scanner.funnel import scan_and_explain
from tapescan.store import Store

CONFIG_ARGUMENT = typer.Argument(..., help="Scanner config: .json, .yaml/.yml or .toml (market_scanner_config).")


def _config(ctx: typer.Context, path: Path, store: Store) -> ScannerConfig:
    """The config, with the store's own groups known; its warnings are printed once."""
    config = load_scanner_config(path, groups=known_groups(store.path))
    for warning in config.warnings():
        say(ctx, warning, "warning")
    return config


def _diagnostic_printer(ctx: typer.Context) -> DiagnosticHandler:
    """An on_diagnostic handler that prints each diagnostic on stderr: "warning: ..." or "note: ..."."""
    def show(diagnostic: Diagnostic) -> None:
        say(ctx, diagnostic.message, diagnostic.level)
    return show


def _funnel_text(funnel: pd.DataFrame, date: str, at: str) -> str:
    """The funnel as a plain text table (never wrapped, so that it reads the same in a pipe or a log)."""
    table = funnel.astype({"undefined": "object"}).fillna("").to_string(index=False)
    return (f"Filter funnel on {date} at {at} ET: symbols left after each step, filters in the config's order "
            f"(undefined: symbols entering a filter with no value for it, which fail it)\n{table}")


def scan(
    ctx: typer.Context,
    config: Path = CONFIG_ARGUMENT,
    store: Path = STORE_OPTION,
    date: str = typer.Option(..., "--date", metavar="DATE", help="Session to scan, YYYY-MM-DD."),
    at: str = typer.Option(..., "--time", metavar="HH:MM", help="Moment to scan, HH:MM in ET (09:30-16:00)."),
    output: Path | None = typer.Option(None, "--output", metavar="FILE", help="Write to a .csv, .parquet or .json file."),
    explain_funnel: bool = typer.Option(False, "--explain", help="Also print on stderr how many symbols are left "
                                                                 "after each filter, in the config's order."),
) -> None:
    """The symbols that pass every filter of CONFIG as of one moment, with their metrics, sorted by symbol."""
    check_output_path(output)
    handle = Store(store)
    settings = _config(ctx, config, handle)
    backend = options(ctx).backend
    if explain_funnel:
        hits, funnel = scan_and_explain(handle, settings, date, at, backend, on_diagnostic=_diagnostic_printer(ctx))
        typer.echo(_funnel_text(funnel, date, at), err=True)
    else:
        hits = scan_at(handle, settings, date, at, backend, on_diagnostic=_diagnostic_printer(ctx))
    hint = "" if len(hits) or explain_funnel else "; add --explain to see which filter removes them"
    say(ctx, f"{len(hits)} symbol(s) pass every filter on {date} at {at} ET{hint}.")
    emit_frame(hits, output, title=f"scan {date} {at}")


def sweep(
    ctx: typer.Context,
    config: Path = CONFIG_ARGUMENT,
    store: Path = STORE_OPTION,
    start: str = typer.Option(..., "--start", metavar="DATE", help="First session, YYYY-MM-DD."),
    end: str = typer.Option(..., "--end", metavar="DATE", help="Last session, YYYY-MM-DD."),
    output: Path = typer.Option(..., "--output", metavar="FILE", help="Write the hits to a .parquet or .csv file."),
    first_hit: bool = typer.Option(False, "--first-hit", help="Report each (session, symbol) only at its first hit."),
) -> None:
    """Scan every session from START to END at every time of CONFIG's window; writes the hits to OUTPUT."""
    check_stream_output_path(output)
    handle = Store(store)
    settings = _config(ctx, config, handle)
    first, last = calendar.to_date(start), calendar.to_date(end)
    sessions = [day for day in handle.sessions() if first <= day <= last]
    started, hits, per_session = time.perf_counter(), 0, []
    with progress_bar(ctx, "sweeping", total=len(sessions), unit="sessions") as advance, \
            frame_stream(output, SCAN_SCHEMA) as write:
        for day, frame in iter_sweep(handle, settings, start, end, first_hit, options(ctx).backend,
                                     on_diagnostic=_diagnostic_printer(ctx)):
            write(frame)
            hits += len(frame)
            per_session.append((day, len(frame)))
            advance(1)
    seconds = time.perf_counter() - started
    hint = "" if hits or not sessions else (f"; `tapescan scan {config} --store {store} --date {sessions[-1]} "
                                            "--time HH:MM --explain` shows which filter removes them")
    say(ctx, f"{hits:,} hits in {len(per_session)} sessions ({len(per_session) / max(seconds, 1e-9):.1f} sessions/s)"
             f" written to {output}{hint}.")
